"""Tests for tfpgan.quality_report: the summary table shared by quality.md, the console and the experiment."""

from tfpgan import quality_report

ACCURACY = {"accuracy": 0.85, "majority_rate": 0.5, "evaluated_on": "the held-out real folds [1]", "images": 40,
            "meaningful": True}
FULL = {
    "swd": {"overall": {"synthetic_vs_real": {"average": 116.349}, "real_vs_real_noise_floor": {"average": 23.251},
                        "ratio_to_floor": 5.004}},
    "fid_kid": {"domain": {"overall": {"fid": 3.0649, "kid": {"mean": 0.01472, "std": 0.00968}},
                           "real_baseline": {"fid": 1.2, "kid": {"mean": 0.00051, "std": 0.0001}},
                           "classifier_accuracy": ACCURACY},
                "inception": {"overall": {"fid": 41.5}}},
    "memorization": {"flagged_ids": ["synthetic/cyst/000003"], "synthetic_images": 300,
                     "expected_fraction_flagged": 0.0476},
}
SWD_ONLY = {"swd": {"overall": {"skipped": "needs at least 2 real and 1 synthetic image"}}}
HEADER = ("| fold | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) | SWD ÷ floor (± noise) | "
          "domain FID (real baseline) | domain KID (real baseline) | domain classifier accuracy | "
          "inception FID (real baseline) | "
          "inception KID (real baseline) | memorized without copying (expected) | memorized (flagged / synthetic) |")
FULL_ROW = ("| 116.3 | 23.3 | 5.00 | 3.06 (real 1.20) | 0.0147 ± 0.0097 (real 0.0005) | 0.850 (majority 0.500) | "
            "41.50 (real n/a) | n/a (real n/a) | 4.8% | 1 / 300 |")


def test_summary_table_has_a_column_per_number_any_report_holds():
    assert quality_report.summary_table([("0", FULL), ("1", SWD_ONLY)]) == [
        HEADER,
        "|---" * 11 + "|",
        "| 0 " + FULL_ROW,
        "| 1 | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |",
    ]


def test_summary_table_leaves_out_metrics_no_report_holds():
    assert quality_report.summary_table([("0", SWD_ONLY), ("1", {})], label="set") == [
        "| set | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) | SWD ÷ floor (± noise) |",
        "|---|---|---|---|",
        "| 0 | n/a | n/a | n/a |", "| 1 | n/a | n/a | n/a |"]


def test_console_summary_is_the_table_of_one_report():
    assert quality_report.summary_text(FULL).splitlines() == [
        HEADER.replace("| fold |", "| class |"), "|---" * 11 + "|", "| overall " + FULL_ROW]


def test_a_meaningless_feature_space_and_an_unreliable_fid_are_marked_in_the_table():
    section = {"overall": {"fid": None, "fid_unreliable": "imaginary part", "kid": {"mean": 0.02, "std": 0.01}},
               "real_baseline": {"skipped": "no held-out real folds"},
               "classifier_accuracy": {**ACCURACY, "accuracy": 0.5, "meaningful": False}}
    row = quality_report.summary_table([("0", {"fid_kid": {"domain": section}})])[2]
    assert row == ("| 0 | meaningless: unreliable (real n/a) | meaningless: 0.0200 ± 0.0100 (real n/a) | "
                   "0.500 (majority 0.500): FID/KID meaningless |")

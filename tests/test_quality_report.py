"""Tests for tfpgan.quality_report: the summary table shared by quality.md, the console and the experiment."""

from tfpgan import quality_report

ACCURACY = {"balanced_accuracy": 0.85, "chance": 0.5, "permutation_p": 0.0005, "permutations": 2000,
            "evaluated_on": "the held-out real folds [1]", "images": 40, "meaningful": True}
FULL = {
    "swd": {"overall": {"synthetic_vs_real": {"average": 116.349}, "real_vs_real_noise_floor": {"average": 23.251},
                        "ratio_to_floor": 5.004}},
    "fid_kid": {"domain": {"overall": {"fid": 3.0649, "kid": {"mean": 0.01472, "std": 0.00968},
                                       "synthetic_images": 300},
                           "real_baseline": {"fid": 1.2, "kid": {"mean": 0.00051, "std": 0.0001},
                                             "synthetic_images": 300},
                           "classifier_accuracy": ACCURACY},
                "inception": {"overall": {"fid": 41.5}}},
    "memorization": {"flagged_ids": ["synthetic/cyst/000003"], "synthetic_images": 300,
                     "expected_fraction_flagged": 0.0476},
}
SWD_ONLY = {"swd": {"overall": {"skipped": "needs at least 2 real and 1 synthetic image"}}}
HEADER = ("| fold | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) | SWD ÷ floor (± noise) | "
          "domain FID (real baseline, N each) | domain KID (real baseline, N each) | "
          "domain classifier balanced accuracy | inception FID (real baseline, N each) | "
          "inception KID (real baseline, N each) | memorized without copying (expected) | "
          "memorized (flagged / synthetic) |")
FULL_ROW = ("| 116.3 | 23.3 | 5.00 | 3.06 (real 1.20, N 300) | 0.0147 ± 0.0097 (real 0.0005, N 300) | "
            "0.850 (chance 0.500, permutation p 0.0005) | 41.50 (real n/a) | n/a (real n/a) | 4.8% | 1 / 300 |")


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
               "classifier_accuracy": {**ACCURACY, "balanced_accuracy": 0.55, "permutation_p": 0.1,
                                       "meaningful": False}}
    row = quality_report.summary_table([("0", {"fid_kid": {"domain": section}})])[2]
    assert row == ("| 0 | meaningless: unreliable (real n/a) | meaningless: 0.0200 ± 0.0100 (real n/a) | "
                   "0.550 (chance 0.500, permutation p 0.1): FID/KID meaningless |")


def test_a_synthetic_fid_or_kid_below_its_real_baseline_points_to_the_memorization_audit():
    section = {**FULL["fid_kid"]["domain"], "real_baseline": {"fid": 4.0, "kid": {"mean": 0.001, "std": 0.0},
                                                              "synthetic_images": 300}}
    row = quality_report.summary_table([("0", {"fid_kid": {"domain": section}})])[2]
    assert row.startswith("| 0 | 3.06 (real 4.00, N 300); below the real baseline: see the memorization audit | "
                          "0.0147 ± 0.0097 (real 0.0010, N 300) | ")  # KID is above its baseline: no pointer
    markdown = quality_report.quality_markdown({
        "real": {"name": "elpv", "dataset": "d", "train_folds": [1, 2], "training_images": 9, "resolution": 16,
                 "channels": 1, "fingerprint": "f" * 64},
        "synthetic": {"source": "", "images": 300, "per_class": {"a": 300}},
        "overall_sample": {"description": "all"},
        "fid_kid": {"domain": {"feature_space": "domain space", "per_class": {},
                               "overall": {**section["overall"], "real_images": 9},
                               "real_baseline": {**section["real_baseline"], "real_images": 9}}}})
    assert ("**The synthetic FID is below its real baseline: the feature network was trained on the training "
            "images, so copies of them score below new real images; see the memorization audit.**") in markdown
    assert "cut (seeded, per class) to the same N" in markdown

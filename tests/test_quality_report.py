"""Tests for tfpgan.quality_report: the summary table shared by quality.md, the console and the experiment."""

from tfpgan import quality_report

FULL = {
    "swd": {"overall": {"synthetic_vs_real": {"average": 116.349}, "real_vs_real_noise_floor": {"average": 23.251}}},
    "fid_kid": {"domain": {"overall": {"fid": 3.0649, "kid": {"mean": 0.01472, "std": 0.00968}}},
                "inception": {"overall": {"fid": 41.5}}},
    "memorization": {"flagged_ids": ["synthetic/cyst/000003"], "synthetic_images": 300},
}
SWD_ONLY = {"swd": {"overall": {"skipped": "needs at least 2 real and 1 synthetic image"}}}
HEADER = ("| fold | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) | domain FID | domain KID | "
          "inception FID | inception KID | memorized (flagged / synthetic) |")


def test_summary_table_has_a_column_per_number_any_report_holds():
    assert quality_report.summary_table([("0", FULL), ("1", SWD_ONLY)]) == [
        HEADER,
        "|---|---|---|---|---|---|---|---|",
        "| 0 | 116.3 | 23.3 | 3.06 | 0.0147 ± 0.0097 | 41.50 | n/a | 1 / 300 |",
        "| 1 | n/a | n/a | n/a | n/a | n/a | n/a | n/a |",
    ]


def test_summary_table_leaves_out_metrics_no_report_holds():
    assert quality_report.summary_table([("0", SWD_ONLY), ("1", {})], label="set") == [
        "| set | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) |", "|---|---|---|",
        "| 0 | n/a | n/a |", "| 1 | n/a | n/a |"]


def test_console_summary_is_the_table_of_one_report():
    assert quality_report.summary_text(FULL).splitlines() == [
        HEADER.replace("| fold |", "| class |"), "|---|---|---|---|---|---|---|---|",
        "| overall | 116.3 | 23.3 | 3.06 | 0.0147 ± 0.0097 | 41.50 | n/a | 1 / 300 |"]

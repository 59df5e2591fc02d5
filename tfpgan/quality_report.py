"""The quality audit rendered: quality.json, quality.md, closest_pairs.png, and the summary table.

`summary_table` is the one table of headline numbers (SWD beside its noise floor, FID/KID per feature space,
memorized images), one row per audit: quality.md, the console summary of tools.measure_quality and the per-fold
table of the experiment's report.md all use it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from tfpgan import synthesis
from tfpgan.atomic import atomic_directory, write_json, write_text
from tfpgan.metrics.memorization import save_closest_pairs_png
from tfpgan.quality import QualityResult
from tfpgan.run_folder import CLOSEST_PAIRS_PNG, QUALITY_JSON, QUALITY_MARKDOWN

logger = logging.getLogger(__name__)

FLAGGED_LISTED_IN_MARKDOWN = 50


def write_quality_report(result: QualityResult, output_dir: str, overwrite: bool = False) -> None:
    """Writes OUTPUT/quality.json, quality.md and (with memorization) closest_pairs.png.

    The folder is replaced as a whole, atomically: an interrupted write leaves the old one.
    """
    with atomic_directory(output_dir, overwrite) as staging:
        write_json(os.path.join(staging, QUALITY_JSON), result.report)
        write_text(os.path.join(staging, QUALITY_MARKDOWN), quality_markdown(result.report))
        if result.closest_pairs is not None:
            pairs = result.report["memorization"]["closest_pairs"]
            save_closest_pairs_png(os.path.join(staging, CLOSEST_PAIRS_PNG), result.closest_pairs.synthetic,
                                   result.closest_pairs.training,
                                   [p["synthetic_id"].removeprefix(f"{synthesis.ID_PREFIX}/") for p in pairs],
                                   [p["training_id"] for p in pairs], [p["ssim"] for p in pairs])
    logger.info("wrote %s", output_dir)


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mean_std(value: dict | None, digits: int = 3, missing: str = "—") -> str:
    return missing if value is None else f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}"


def _headline(report: dict) -> dict[str, str]:
    """{column: cell}: the headline numbers of a quality report, for the metrics it holds."""
    cells = {}
    if "swd" in report:
        overall = report["swd"]["overall"]
        cells["SWD x1e3 (synthetic vs real)"] = _number(overall.get("synthetic_vs_real", {}).get("average"), 1)
        cells["SWD floor (real vs real)"] = _number(overall.get("real_vs_real_noise_floor", {}).get("average"), 1)
    for space, section in report.get("fid_kid", {}).items():
        cells[f"{space} FID"] = _number(section["overall"].get("fid"), 2)
        cells[f"{space} KID"] = _mean_std(section["overall"].get("kid"), 4, missing="n/a")
    if "memorization" in report:
        memorization = report["memorization"]
        cells["memorized (flagged / synthetic)"] = (f"{len(memorization['flagged_ids'])} / "
                                                    f"{memorization['synthetic_images']}")
    return cells


def summary_table(rows: Sequence[tuple[str, dict]], label: str = "fold") -> list[str]:
    """Markdown lines: a row per (name, quality report), a column per headline number that any report holds
    (SWD x1e3 and its real-vs-real floor, FID and KID per feature space, memorized images); n/a where missing."""
    headlines = [(name, _headline(report)) for name, report in rows]
    columns = list(dict.fromkeys(column for _, cells in headlines for column in cells))
    return ["| " + " | ".join([label, *columns]) + " |", "|---" * (len(columns) + 1) + "|",
            *("| " + " | ".join([name, *(cells.get(column, "n/a") for column in columns)]) + " |"
              for name, cells in headlines)]


def summary_text(report: dict) -> str:
    """The console summary of a quality report: its summary table."""
    return "\n".join(summary_table([("overall", report)], label="class"))


def _rows(section: dict, cells) -> list[str]:
    """Markdown rows 'overall' (when present) then one per class; skipped entries show their reason."""
    entries = ([("overall", section["overall"])] if "overall" in section else []) + list(section["per_class"].items())
    return [f"| {name} | " + (" | ".join(cells(entry)) if "skipped" not in entry else f"skipped: {entry['skipped']}")
            + " |" for name, entry in entries]


def _swd_markdown(section: dict) -> list[str]:
    levels = list(section["overall"].get("synthetic_vs_real", {}).get("levels", {}))
    header = ["images real/synthetic", *(f"{level}px" for level in levels), "average"]

    def cells(entry: dict) -> list[str]:
        synthetic, floor = entry["synthetic_vs_real"], entry["real_vs_real_noise_floor"]
        return [f"{entry['real_images']}/{entry['synthetic_images']}",
                *(f"{synthetic['levels'][level]:.2f} ({floor['levels'][level]:.2f})" for level in levels),
                f"**{synthetic['average']:.2f}** ({floor['average']:.2f})"]

    return ["## Sliced Wasserstein distance (x1e3, lower is better)", "",
            "Synthetic vs real training images; in parentheses the real-vs-real noise floor (two disjoint "
            "halves of the real training images): values near it are as close as sampling noise allows.", "",
            "| class | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|", *_rows(section, cells), ""]


def _msssim_markdown(section: dict) -> list[str]:
    def cells(entry: dict) -> list[str]:
        synthetic, real = entry["synthetic"], entry["real"]
        difference = "—" if synthetic is None or real is None else f"{synthetic['mean'] - real['mean']:+.3f}"
        return [_mean_std(synthetic), _mean_std(real), difference]

    return ["## MS-SSIM diversity (within each class; lower is more diverse)", "",
            f"{section['scales']} scale(s) at this resolution, up to {section['pairs_per_class']} random pairs per "
            "class. Synthetic far above real suggests mode collapse.", "",
            "| class | synthetic | real | synthetic − real |", "|---|---|---|---|", *_rows(section, cells), ""]


def _fid_kid_markdown(space: str, section: dict) -> list[str]:
    def cells(entry: dict) -> list[str]:
        return [f"{entry['real_images']}/{entry['synthetic_images']}",
                f"{entry['fid']:.3f}" if "fid" in entry else "—",
                _mean_std(entry.get("kid"), digits=4)]

    return [f"## FID / KID ({space} features, lower is better)", "",
            f"FID and KID are computed in the {section['feature_space']}.", "",
            "| class | images real/synthetic | FID | KID (mean ± std) |", "|---|---|---|---|",
            *_rows(section, cells), ""]


def _memorization_markdown(section: dict) -> list[str]:
    flagged = section["flagged"]
    lines = ["## Memorization (nearest training image by SSIM)", "",
             f"Threshold SSIM {section['threshold']:.4f}: only {section['percentile']:g}% of the "
             f"{section['heldout_images']} held-out real images (folds {section['heldout_folds']}) are closer than "
             f"this to a training image. Flagged: {len(flagged)} of {section['synthetic_images']} synthetic images "
             f"({100 * section['fraction_flagged']:.1f}%; about {section['percentile']:g}% is expected when "
             "nothing is copied).", ""]
    if flagged:
        lines += ["| synthetic id | nearest training id | SSIM |", "|---|---|---|"]
        lines += [f"| {f['synthetic_id']} | {f['training_id']} | {f['ssim']:.4f} |"
                  for f in flagged[:FLAGGED_LISTED_IN_MARKDOWN]]
        if len(flagged) > FLAGGED_LISTED_IN_MARKDOWN:
            lines.append(f"\n... and {len(flagged) - FLAGGED_LISTED_IN_MARKDOWN} more (see {QUALITY_JSON}).")
        lines.append("")
    return lines + [f"The {len(section['closest_pairs'])} synthetic images nearest to a training image, each beside "
                    f"it ({QUALITY_JSON} closest_pairs):", "", f"![closest pairs]({CLOSEST_PAIRS_PNG})", ""]


def quality_markdown(report: dict) -> str:
    """quality.md: the summary table, then the report's sections as Markdown tables."""
    real, synthetic = report["real"], report["synthetic"]
    lines = ["# Synthetic image quality", "",
             f"Real: {real['name']} ({real['dataset']}), training folds {real['train_folds']}, "
             f"{real['training_images']} images, {real['resolution']}x{real['resolution']}x{real['channels']}, "
             f"fingerprint {real['fingerprint'][:12]}...", "",
             f"Synthetic: {synthetic['source'] or 'images in memory'}, {synthetic['images']} images "
             f"({', '.join(f'{name} {count}' for name, count in synthetic['per_class'].items())}).", "",
             summary_text(report), ""]
    if "swd" in report:
        lines += _swd_markdown(report["swd"])
    if "msssim" in report:
        lines += _msssim_markdown(report["msssim"])
    for space, section in report.get("fid_kid", {}).items():
        lines += _fid_kid_markdown(space, section)
    if "memorization" in report:
        lines += _memorization_markdown(report["memorization"])
    return "\n".join(lines)

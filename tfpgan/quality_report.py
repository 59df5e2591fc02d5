"""The quality audit rendered: quality.json, quality.md, closest_pairs.png, and the summary table.

`summary_table` is the one table of headline numbers (SWD beside its noise floor and their ratio, FID/KID per
feature space beside their real-vs-real baseline at the same N, the feature classifier's held-out balanced accuracy
with its permutation p, memorized images), one row per audit: quality.md, the console summary of
tools.measure_quality and the per-fold table of the experiment's report.md all use it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from tfpgan import synthesis
from tfpgan.atomic import atomic_directory, write_json, write_text
from tfpgan.metrics.fid_kid import BELOW_BASELINE, below_baseline
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


def _ratio(entry: dict) -> str:
    """SWD ÷ floor ± the floor's relative spread over the random splits (when the report has it)."""
    value, error = entry.get("ratio_to_floor"), entry.get("ratio_noise")
    if value is None:
        return "n/a"
    return f"{value:.2f}" if error is None else f"{value:.2f} ± {error:.2f}"


def _fid(entry: dict) -> str:
    if entry.get("fid_unreliable"):
        return "unreliable"
    return _number(entry.get("fid"), 2)


def _kid(entry: dict) -> str:
    return _mean_std(entry.get("kid"), 4, missing="n/a")


def _baseline_kid(entry: dict) -> str:
    return _number(entry["kid"]["mean"], 4) if "kid" in entry else "n/a"


def _distances(entry: dict) -> dict[str, float | None]:
    """{'FID': value, 'KID': mean} of a quality report's FID/KID entry (None where absent)."""
    return {"FID": entry.get("fid"), "KID": (entry.get("kid") or {}).get("mean")}


def _accuracy(accuracy: dict) -> str:
    if "balanced_accuracy" not in accuracy:  # an audit written before the permutation test
        return "n/a"
    cell = (f"{accuracy['balanced_accuracy']:.3f} (chance {accuracy['chance']:.3f}, permutation p "
            f"{accuracy['permutation_p']:.3g})")
    return cell if accuracy["meaningful"] else f"{cell}: FID/KID meaningless"


def _headline(report: dict) -> dict[str, str]:
    """{column: cell}: the headline numbers of a quality report, for the metrics it holds."""
    cells = {}
    if "swd" in report:
        overall = report["swd"]["overall"]
        cells["SWD x1e3 (synthetic vs real)"] = _number(overall.get("synthetic_vs_real", {}).get("average"), 1)
        cells["SWD floor (real vs real)"] = _number(overall.get("real_vs_real_noise_floor", {}).get("average"), 1)
        cells["SWD ÷ floor (± noise)"] = _ratio(overall)
    for space, section in report.get("fid_kid", {}).items():
        overall, baseline = section["overall"], section.get("real_baseline", {})
        meaningless = not section.get("classifier_accuracy", {}).get("meaningful", True)
        size = f", N {overall['synthetic_images']}" if "synthetic_images" in overall else ""
        below = below_baseline(_distances(overall), _distances(baseline))
        for metric, value, real in (("FID", _fid, _fid), ("KID", _kid, _baseline_kid)):
            cell = f"{value(overall)} (real {real(baseline)}{size})" + (
                "; below the real baseline: see the memorization audit" if metric in below else "")
            cells[f"{space} {metric} (real baseline, N each)"] = f"meaningless: {cell}" if meaningless else cell
        if "classifier_accuracy" in section:
            cells[f"{space} classifier balanced accuracy"] = _accuracy(section["classifier_accuracy"])
    if "memorization" in report:
        memorization = report["memorization"]
        expected = memorization.get("expected_fraction_flagged")  # absent from older reports
        cells["memorized without copying (expected)"] = "n/a" if expected is None else _percent(expected)
        cells["memorized (flagged / synthetic)"] = (f"{len(memorization['flagged_ids'])} / "
                                                    f"{memorization['synthetic_images']}")
    return cells


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def summary_table(rows: Sequence[tuple[str | tuple[str, ...], dict]],
                  label: str | tuple[str, ...] = "fold") -> list[str]:
    """Markdown lines: a row per (name, quality report), a column per headline number that any report holds
    (SWD x1e3, its real-vs-real floor and their ratio; FID and KID per feature space with the real-vs-real
    baseline and N (images on each side) in parentheses, a pointer to the memorization audit when below it,
    "meaningless" when the feature classifier's balanced accuracy does not beat chance by a permutation test; that
    classifier's held-out balanced accuracy; memorized images with the rate expected without copying); n/a where
    missing. A row's name and the label may be tuples: several leading columns (e.g. generator, fold)."""
    labels = (label,) if isinstance(label, str) else tuple(label)
    headlines = [((name,) if isinstance(name, str) else tuple(name), _headline(report)) for name, report in rows]
    columns = list(dict.fromkeys(column for _, cells in headlines for column in cells))
    return ["| " + " | ".join([*labels, *columns]) + " |", "|---" * (len(columns) + len(labels)) + "|",
            *("| " + " | ".join([*names, *(cells.get(column, "n/a") for column in columns)]) + " |"
              for names, cells in headlines)]


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
    header = ["images real/synthetic", "compared (each vs reference)", *(f"{level}px" for level in levels),
              "average", "÷ floor"]

    def cells(entry: dict) -> list[str]:
        synthetic, floor = entry["synthetic_vs_real"], entry["real_vs_real_noise_floor"]
        compared = entry["compared_images"]
        sizes = (f"{compared['real']} real, {compared['synthetic']} synthetic vs {entry['reference_images']}"
                 + ("" if entry["same_sizes"] else " (fewer synthetic: ratio biased upwards)"))
        return [f"{entry['real_images']}/{entry['synthetic_images']}", sizes,
                *(f"{synthetic['levels'][level]:.2f} ({floor['levels'][level]:.2f})" for level in levels),
                f"**{synthetic['average']:.2f}** ({floor['average']:.2f})", f"**{_ratio(entry)}**"]

    repeats = section["overall"].get("repeats", "several")
    return ["## Sliced Wasserstein distance (x1e3, lower is better)", "",
            "Half of the real training images (per class) is the reference; in parentheses the noise floor, the "
            "other half of the real images against it, beside a synthetic sample of that half's size and class "
            f"counts; averaged over {repeats} random splits. A generator as good as fresh real images has a ratio "
            "÷ floor near 1; a ratio of 2 means twice as far as sampling noise alone. After ± the floor's relative "
            "standard deviation over the splits: how far a perfect generator's ratio scatters around 1 (which "
            "images are drawn moves SWD a lot; averaging more splits, --swd_repeats, steadies the floor but not "
            "the draw of one synthetic set).", "",
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
        fid = f"{entry['fid']:.3f}" if entry.get("fid") is not None else "—"
        if entry.get("fid_unreliable"):
            fid = f"unreliable: {entry['fid_unreliable']}"
        return [f"{entry['real_images']}/{entry['synthetic_images']}", fid, _mean_std(entry.get("kid"), digits=4)]

    lines = [f"## FID / KID ({space} features, lower is better)", "",
             f"FID and KID are computed in the {section['feature_space']}. The real baseline compares held-out real "
             "images (in the training class mix) with the training images: what a generator as good as new real "
             "images would get. FID falls with the number of images, so the overall synthetic sample and the "
             "held-out images are cut (seeded, per class) to the same N: the smaller of the two.", ""]
    accuracy = section.get("classifier_accuracy")
    if accuracy is not None and "balanced_accuracy" in accuracy:
        lines += [f"Feature classifier balanced accuracy on {accuracy['evaluated_on']} ({accuracy['images']} "
                  f"images): {accuracy['balanced_accuracy']:.3f}, chance {accuracy['chance']:.3f}, label-permutation "
                  f"p = {accuracy['permutation_p']:.3g} ({accuracy['permutations']} permutations)"
                  + ("." if accuracy["meaningful"] else
                     ". **Not better than chance: FID/KID in this feature space are meaningless.**"), ""]
    below = below_baseline(_distances(section["overall"]), _distances(section.get("real_baseline", {})))
    if below:
        lines += [f"**The synthetic {' and '.join(below)} {'is' if len(below) == 1 else 'are'} {BELOW_BASELINE}.**",
                  ""]
    rows = [("real baseline", section["real_baseline"])] if "real_baseline" in section else []
    return lines + ["| class | images real/synthetic | FID | KID (mean ± std) |", "|---|---|---|---|",
                    *_rows(section, cells),
                    *(f"| {name} | " + (" | ".join(cells(entry)) if "skipped" not in entry else
                                         f"skipped: {entry['skipped']}") + " |" for name, entry in rows), ""]


def _memorization_markdown(section: dict) -> list[str]:
    flagged = section["flagged"]
    lines = ["## Memorization (nearest training image by SSIM)", "",
             f"Threshold SSIM {section['threshold']:.4f}: only {section['percentile']:g}% of the "
             f"{section['heldout_images']} held-out real images (folds {section['heldout_folds']}) are closer than "
             f"this to a training image. Flagged: {len(flagged)} of {section['synthetic_images']} synthetic images "
             f"({_percent(section['fraction_flagged'])}; about {_percent(section['expected_fraction_flagged'])} "
             "is expected when nothing is copied: (k + 1) / (n + 1) for n held-out images, k of them above the "
             f"threshold, which exceeds {section['percentile']:g}% when the held-out set is small).", ""]
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
             f"Overall values use {report['overall_sample']['description']}.", "",
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

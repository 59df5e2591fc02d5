"""The data card of a synthetic dataset folder: DATACARD.md and datacard.json beside its dataset.json.

A card says what a synthetic set is and how far to trust it: the generator that made it (architecture, kimg,
loss and augmentation when its tfpgan.json records them, export path, tfpgan version), the real dataset it learned
from (name, fingerprint, source, licence), the folds and ids it was trained on and those excluded, the images per
class, the quality audit's summary (SWD against its floor, FID/KID against the real baseline, MS-SSIM against real,
the feature classifier's accuracy, memorization) and its intended use. `tfpgan.synthesis.synthesize` writes it
without a quality summary; `write_datacard(folder, quality_result)` adds one later (tools.measure_quality on the
folder, or the experiment after its audit). Both files are written atomically.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import tfpgan
from tfpgan.atomic import write_json, write_text
from tfpgan.data.dataset_info import DATACARD_FILES, INFO_FILE, DatasetInfo, read_info
from tfpgan.data.sources import known_licence
from tfpgan.errors import DataError
from tfpgan.metrics.fid_kid import BELOW_BASELINE, below_baseline

logger = logging.getLogger(__name__)

DATACARD_JSON, DATACARD_MARKDOWN = DATACARD_FILES
UNKNOWN_LICENCE = "unknown — state your data's licence"
GENERATOR_PREFIX = "generator:"  # the source spec tfpgan.synthesis records: generator:EXPORT_DIR
INTENDED_USE = (
    "Research only: augmenting the training data of classifiers for the real dataset's task, and studying "
    "generative models.",
    "Not for diagnosis and not for clinical use: these images were made by a generator, not taken from patients, "
    "and no image shows a real finding.",
    "Synthetic images may still reveal training patients (near-copies of training images): read the memorization "
    "result before sharing them, and share them only where the real data's licence allows.",
)
EXCLUDED_IDS_LISTED = 20


def is_synthetic_set(directory: str) -> bool:
    """Whether `directory` is a dataset folder whose dataset.json records the generator that made it."""
    try:
        return bool(read_info(directory).extra.get("generator"))
    except DataError:
        return False


def write_datacard(synthetic_dir: str, quality_result=None) -> dict[str, Any]:
    """Writes (or rewrites) DATACARD.md and datacard.json in `synthetic_dir` and returns the card.

    `quality_result`: a `tfpgan.quality.QualityResult` of this set; None keeps the quality summary of an
    existing card (if any). A folder that records no generator is refused (DataError).
    """
    info = read_info(synthetic_dir)
    if not info.extra.get("generator"):
        raise DataError(f"{synthetic_dir}: its {INFO_FILE} records no generator (not made by tools.synthesize): "
                        "no data card")
    if quality_result is not None:
        quality = quality_summary(quality_result.report)
    else:
        quality = read_datacard(synthetic_dir).get("quality")
    card = build_card(info, quality)
    write_json(os.path.join(synthetic_dir, DATACARD_JSON), card)
    write_text(os.path.join(synthetic_dir, DATACARD_MARKDOWN), datacard_markdown(card))
    logger.info("wrote the data card of %s", synthetic_dir)
    return card


def read_datacard(synthetic_dir: str) -> dict[str, Any]:
    """The folder's datacard.json; {} when there is none (or it cannot be read)."""
    try:
        with open(os.path.join(synthetic_dir, DATACARD_JSON), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def build_card(info: DatasetInfo, quality: dict | None) -> dict[str, Any]:
    """The content of datacard.json for the synthetic set `info` and a `quality_summary` (or None)."""
    metadata = info.extra["generator"]
    return {
        "format_version": 1,
        "synthetic": {"name": info.name, "fingerprint": info.fingerprint, "images": info.num_examples,
                      "per_class": dict(info.counts), "resolution": info.resolution, "channels": info.channels,
                      "synthesis": info.extra.get("synthesis")},
        "generator": {
            "export": info.source.removeprefix(GENERATOR_PREFIX),
            **{key: metadata.get(key) for key in ("architecture", "conditioning", "loss", "augment", "augment_p",
                                                  "kimg", "resolution", "latent_size", "seed")},
            "tfpgan_version": metadata.get("tfpgan_version"),
        },
        "real_dataset": real_dataset(metadata),
        "training_data": {"trained_on_folds": metadata.get("trained_on_folds"),
                          "test_fold": metadata.get("test_fold"),
                          "excluded_ids": list(metadata.get("excluded_ids") or [])},
        "quality": quality,
        "intended_use": list(INTENDED_USE),
        "card_written_by": f"tfpgan {tfpgan.__version__}",
    }


def real_dataset(metadata: dict) -> dict[str, Any]:
    """Name, fingerprint, path, source and licence of the real dataset a generator's tfpgan.json names.

    Source and licence come from that dataset's dataset.json when it is still there with the same fingerprint;
    the licence is its recorded "licence", else the built-in source's, else UNKNOWN_LICENCE.
    """
    path = metadata.get("dataset")
    entry = {"name": metadata.get("dataset_name"), "fingerprint": metadata.get("dataset_fingerprint"), "path": path,
             "source": None, "licence": UNKNOWN_LICENCE}
    try:
        info = read_info(path) if path else None
    except DataError as error:
        logger.warning("data card: cannot read the real dataset: %s", error)
        info = None
    if info is None or info.fingerprint != metadata.get("dataset_fingerprint"):
        entry["source"] = f"unknown (the real dataset is not at {path} with the fingerprint the generator recorded)"
        return entry
    with open(os.path.join(path, INFO_FILE), encoding="utf-8") as handle:
        recorded = json.load(handle).get("licence")
    entry.update(source=info.source, licence=recorded or known_licence(info.source) or UNKNOWN_LICENCE)
    return entry


def quality_summary(report: dict) -> dict[str, Any]:
    """The headline numbers of a quality report (quality.json) a data card shows."""
    summary: dict[str, Any] = {"train_folds": report["real"]["train_folds"],
                               "heldout_folds": report["real"]["heldout_folds"],
                               "audited_images": report["synthetic"]["images"],
                               "overall_sample": report.get("overall_sample", {}).get("description")}
    if "swd" in report:
        entries = {"overall": report["swd"]["overall"], **report["swd"]["per_class"]}
        summary["swd"] = {name: None if "skipped" in entry else {
            "synthetic_vs_real": entry["synthetic_vs_real"]["average"],
            "real_vs_real_noise_floor": entry["real_vs_real_noise_floor"]["average"],
            "ratio_to_floor": entry["ratio_to_floor"], "ratio_noise": entry.get("ratio_noise")}
            for name, entry in entries.items()}
    if "fid_kid" in report:
        summary["fid_kid"] = {space: {
            "overall": _fid_kid(section["overall"]), "real_baseline": _fid_kid(section.get("real_baseline", {})),
            "classifier_accuracy": section.get("classifier_accuracy")} for space, section in report["fid_kid"].items()}
    if "msssim" in report:
        summary["msssim"] = {name: {side: None if entry[side] is None else entry[side]["mean"]
                                    for side in ("synthetic", "real")}
                             for name, entry in report["msssim"]["per_class"].items()}
    if "memorization" in report:
        memorization = report["memorization"]
        summary["memorization"] = {key: memorization[key] for key in (
            "synthetic_images", "heldout_images", "percentile", "threshold", "fraction_flagged",
            "expected_fraction_flagged")}
        summary["memorization"]["flagged"] = len(memorization["flagged_ids"])
    return summary


def _fid_kid(entry: dict) -> dict | None:
    if not entry or "skipped" in entry:
        return None
    return {"fid": entry.get("fid"), "kid": entry.get("kid", {}).get("mean"), "images": entry["synthetic_images"]}


def _value(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def datacard_markdown(card: dict[str, Any]) -> str:
    """DATACARD.md: the card as a page a reader of the synthetic set sees first."""
    synthetic, generator, real, training = (card[k] for k in ("synthetic", "generator", "real_dataset",
                                                              "training_data"))
    excluded = training["excluded_ids"]
    lines = [f"# Data card: {synthetic['name']} (synthetic images)", "",
             "**Intended use.** " + " ".join(card["intended_use"]), "",
             "## Contents", "",
             f"{synthetic['images']} synthetic images, {synthetic['resolution']}x{synthetic['resolution']}x"
             f"{synthetic['channels']}, fingerprint {synthetic['fingerprint'][:12]}...; synthesis "
             f"{json.dumps(synthetic['synthesis'])}.", "",
             "| class | images |", "|---|---|",
             *(f"| {name} | {count} |" for name, count in synthetic["per_class"].items()), "",
             "## Generator", "",
             *(f"- {key.replace('_', ' ')}: {_describe(value)}" for key, value in generator.items()), "",
             "## Real data it learned from", "",
             f"- dataset: {real['name']} at {real['path']} (fingerprint {str(real['fingerprint'])[:12]}...)",
             f"- source: {real['source']}",
             f"- licence: {real['licence']}",
             f"- trained on folds {training['trained_on_folds']} (test fold {training['test_fold']}); "
             f"{len(excluded)} id(s) excluded from its training"
             + (f": {', '.join(excluded[:EXCLUDED_IDS_LISTED])}" if excluded else "")
             + (f", ... ({DATACARD_JSON} lists all)" if len(excluded) > EXCLUDED_IDS_LISTED else ""), ""]
    return "\n".join(lines + _quality_markdown(card["quality"]) + [f"_Written by {card['card_written_by']}._", ""])


def _describe(value: Any) -> str:
    return "not recorded" if value is None else value if isinstance(value, str) else json.dumps(value)


def _quality_markdown(quality: dict | None) -> list[str]:
    lines = ["## Quality", ""]
    if quality is None:
        return lines + ["Not audited yet: run tools.measure_quality on this folder (it updates this card).", ""]
    lines += [f"Audited {quality['audited_images']} images against the real training folds "
              f"{quality['train_folds']} (held out: {quality['heldout_folds']}); overall values use "
              f"{quality['overall_sample']}.", ""]
    if "swd" in quality:
        lines += ["SWD x1e3 against real training images beside the real-vs-real floor (ratio near 1: as close as "
                  "sampling noise allows):", "", "| class | SWD | floor | ÷ floor |", "|---|---|---|---|",
                  *(f"| {name} | " + ("skipped |  |  |" if entry is None else
                                       f"{entry['synthetic_vs_real']:.2f} | {entry['real_vs_real_noise_floor']:.2f} | "
                                       f"{_value(entry['ratio_to_floor'], 2)} ± "
                                       f"{_value(entry['ratio_noise'], 2)} |")
                    for name, entry in quality["swd"].items()), ""]
    for space, section in quality.get("fid_kid", {}).items():
        overall, baseline, accuracy = section["overall"] or {}, section["real_baseline"] or {}, section[
            "classifier_accuracy"]
        sizes = f" (N = {overall.get('images', 'n/a')} synthetic, {baseline.get('images', 'no')} held-out images)"
        line = (f"{space} features{sizes}: FID {_value(overall.get('fid'), 3)} (real baseline "
                f"{_value(baseline.get('fid'), 3)}), KID {_value(overall.get('kid'), 4)} (real baseline "
                f"{_value(baseline.get('kid'), 4)})")
        if accuracy is not None and "balanced_accuracy" in accuracy:
            line += (f"; feature classifier balanced accuracy {accuracy['balanced_accuracy']:.3f} on "
                     f"{accuracy['evaluated_on']} (chance {accuracy['chance']:.3f}, label-permutation p "
                     f"{accuracy['permutation_p']:.3g})"
                     + ("" if accuracy["meaningful"] else ": **not better than chance, so these FID/KID values are "
                                                         "meaningless**"))
        below = below_baseline(*({"FID": entry.get("fid"), "KID": entry.get("kid")} for entry in (overall, baseline)))
        if below:
            line += f". The synthetic {' and '.join(below)} {'is' if len(below) == 1 else 'are'} {BELOW_BASELINE}"
        lines += [line + ".", ""]
    if "msssim" in quality:
        lines += ["MS-SSIM diversity within each class (synthetic far above real suggests mode collapse): "
                  + "; ".join(f"{name} {_value(entry['synthetic'], 3)} vs real {_value(entry['real'], 3)}"
                              for name, entry in quality["msssim"].items()) + ".", ""]
    if "memorization" in quality:
        memorization = quality["memorization"]
        lines += [f"Memorization: {memorization['flagged']} of {memorization['synthetic_images']} synthetic images "
                  f"({100 * memorization['fraction_flagged']:.1f}%) are closer to a training image (SSIM above "
                  f"{memorization['threshold']:.4f}) than all but {memorization['percentile']:g}% of the "
                  f"{memorization['heldout_images']} held-out real images; about "
                  f"{100 * memorization['expected_fraction_flagged']:.1f}% is expected without copying. Flagged "
                  "images may show training patients.", ""]
    return lines

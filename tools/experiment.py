"""The paper's experiment as one command: per fold, train the GAN on the training folds, export it, synthesize
class-balanced images, audit them, then evaluate the classifier under every augmentation regime.

  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart

OUTPUT/dataset (built unless --dataset names an existing one), OUTPUT/gan/foldK (training runs with exports),
OUTPUT/synthetic/foldK, OUTPUT/quality/foldK, OUTPUT/evaluation (report.json, report.md, PNGs) and
OUTPUT/report.md (everything in one page). Re-running skips finished steps and resumes unfinished ones.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
from absl import flags, logging

from tfpgan import cli
from tfpgan.data.dataset_info import is_power_of_two, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import TfpganError
from tfpgan.evaluation import REGIMES
from tfpgan.train import config_from_flags, define_flags as define_training_flags, run_training
from tfpgan.training.trainer import TrainingInterrupted
from tools import evaluate_classifier, measure_quality

flags.DEFINE_string("output", None, "Experiment folder (created; re-run the same command to resume).")
flags.DEFINE_string("source", "elpv", "Source of the dataset when it must be built (see tools.build_dataset).")
flags.DEFINE_integer("dataset_resolution", 64, "Stored resolution of a dataset built by the experiment.")
flags.DEFINE_integer("dataset_folds", 3, "Cross-validation folds of a dataset built by the experiment.", lower_bound=2)
flags.DEFINE_enum("synthesis_mode", "balance_to", ["balance_to", "per_class"],
                  "balance_to: top every class up to --synthesis_count real + synthetic; per_class: "
                  "--synthesis_count synthetic images per class.")
flags.DEFINE_integer("synthesis_count", 1000, "N of --synthesis_mode.", lower_bound=1)
flags.DEFINE_bool("quality", True, "Audit each fold's synthetic images (tools.measure_quality) into the report.")
flags.DEFINE_integer("quality_max_images", 0, "Audit a seeded random sample of at most this many synthetic images "
                     "per fold (0 = all); the memorization search costs synthetic x training SSIMs.", lower_bound=0)
define_training_flags()
evaluate_classifier.define_flags(skip=("dataset", "output", "synthetic", "overwrite"))
measure_quality.define_flags()
flags.register_validator("dataset_resolution", lambda r: is_power_of_two(r) and 4 <= r <= 1024,
                         "--dataset_resolution must be a power of two in 4..1024")
flags.register_validator("output", lambda o: o is None or not os.path.isfile(o),
                         "--output must be a folder path, not a file")
FLAGS = flags.FLAGS
FLAGS.set_default("regimes", list(REGIMES))  # the experiment compares every regime unless told otherwise


def ensure_dataset(output: str) -> str:
    """The --dataset folder if it exists, else build one (at --dataset or OUTPUT/dataset) from --source."""
    from tfpgan.data.build import BuildOptions, build_dataset
    from tfpgan.data.sources import open_source

    path = FLAGS.dataset or os.path.join(output, "dataset")
    if os.path.exists(path):
        read_info(path)
        logging.info("dataset: reusing %s", path)
        return path
    logging.info("dataset: building %s from %s", path, FLAGS.source)
    options = BuildOptions(resolution=FLAGS.dataset_resolution, folds=FLAGS.dataset_folds, seed=FLAGS.seed)
    build_dataset(open_source(FLAGS.source), path, options)
    return path


def run_fold(dataset: str, output: str, fold: int) -> None:
    """GAN -> export -> synthetic set -> quality audit for one held-out fold; each step skipped when done."""
    from tfpgan import quality, synthesis

    logdir = os.path.join(output, "gan", f"fold{fold}")
    logging.info("fold %d: GAN training in %s", fold, logdir)
    summary = run_training(config_from_flags(FLAGS, dataset=dataset, logdir=logdir, test_fold=fold, export=True))
    synthetic = os.path.join(output, "synthetic", f"fold{fold}")
    if os.path.exists(synthetic):
        logging.info("fold %d: synthetic set %s exists, skipped", fold, synthetic)
    else:
        synthesis.synthesize(summary["export"], synthetic, FLAGS.synthesis_mode, FLAGS.synthesis_count,
                             seed=FLAGS.seed + fold)
    audit = os.path.join(output, "quality", f"fold{fold}")
    if not FLAGS.quality:
        return
    if os.path.exists(audit):
        logging.info("fold %d: quality audit %s exists, skipped", fold, audit)
        return
    info = read_info(dataset)
    train_folds = [f for f in range(info.folds) if f != fold]
    images = quality.load_synthetic_dataset(synthetic, info)
    if FLAGS.quality_max_images and len(images.ids) > FLAGS.quality_max_images:
        keep = np.sort(np.random.default_rng(FLAGS.seed + fold).choice(len(images.ids), FLAGS.quality_max_images,
                                                                        replace=False))
        images = quality.LabeledImages(images.images[keep], images.labels[keep], [images.ids[i] for i in keep])
        logging.info("fold %d: auditing a random sample of %d synthetic images", fold, len(keep))
    result = quality.measure_quality(dataset, train_folds, images, measure_quality.options_from_flags(FLAGS),
                                     f"dataset {synthetic}")
    quality.write_quality_report(result, audit)


def quality_table(output: str, folds: list[int]) -> list[str]:
    """Markdown rows: per fold, SWD vs its real-vs-real floor, memorization flags, domain FID/KID."""
    rows = ["| fold | SWD x1e3 (synthetic vs real) | SWD floor (real vs real) | domain FID | domain KID | "
            "memorized (flagged / synthetic) |", "|---|---|---|---|---|---|"]
    for fold in folds:
        path = os.path.join(output, "quality", f"fold{fold}", "quality.json")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
        swd = report.get("swd", {}).get("overall", {})
        fid_kid = report.get("fid_kid", {}).get("domain", {}).get("overall", {})
        memo = report.get("memorization", {})

        def number(value, digits=1):
            return "n/a" if value is None else f"{value:.{digits}f}"

        kid = fid_kid.get("kid")
        kid_text = "n/a" if not kid else f"{kid['mean']:.4f} ± {kid['std']:.4f}"
        rows.append(
            f"| {fold} | {number(swd.get('synthetic_vs_real', {}).get('average'))} | "
            f"{number(swd.get('real_vs_real_noise_floor', {}).get('average'))} | {number(fid_kid.get('fid'), 2)} | "
            f"{kid_text} | "
            f"{len(memo.get('flagged_ids', []))} / {memo.get('synthetic_images', 'n/a')} |")
    return rows


def write_summary(output: str, folds: list[int]) -> str:
    """OUTPUT/report.md: the evaluation report followed by the per-fold quality table."""
    from tfpgan.atomic import write_text

    with open(os.path.join(output, "evaluation", "report.md"), encoding="utf-8") as handle:
        evaluation = handle.read().replace("](", "](evaluation/")
    lines = [evaluation.rstrip(), ""]
    if FLAGS.quality:
        lines += ["## Synthetic-image quality per fold (details: quality/foldK/quality.md)", "",
                  *quality_table(output, folds), "",
                  "SWD: sliced Wasserstein distance x1e3 averaged over Laplacian levels (lower is closer); the floor "
                  "is two disjoint halves of the real training images. FID/KID use the penultimate features of a "
                  "classifier trained on the real training folds (a domain feature space, not Inception)."]
    path = os.path.join(output, "report.md")
    write_text(path, "\n".join(lines) + "\n")
    return path


def main(argv):
    del argv
    from tfpgan.evaluation import parse_folds, run_evaluation
    from tfpgan.report import format_table

    if not FLAGS.output:
        raise TfpganError("--output is required")
    output = FLAGS.output
    os.makedirs(output, exist_ok=True)
    dataset = ensure_dataset(output)
    info = read_info(dataset)
    if FLAGS.resolution not in (0, info.resolution):
        raise TfpganError(f"--resolution={FLAGS.resolution} differs from the dataset's {info.resolution}: the "
                          "synthetic images must match the classifier's input (use --dataset_resolution)")
    folds = list(check_folds(info, parse_folds(FLAGS.folds), dataset))
    try:
        for fold in folds:
            run_fold(dataset, output, fold)
    except TrainingInterrupted as stopped:
        print(f"{stopped}\nrun the same experiment command to resume", file=sys.stderr)
        return 130
    report = run_evaluation(evaluate_classifier.options_from_flags(
        FLAGS, dataset=dataset, output=os.path.join(output, "evaluation"),
        synthetic=os.path.join(output, "synthetic", "fold{fold}"), overwrite=False))
    print(format_table(report))
    print(f"report: {write_summary(output, folds)}")
    return 0


if __name__ == "__main__":
    cli.run(main)

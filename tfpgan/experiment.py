"""The paper's experiment: per fold, train the GAN on the training folds, export it, synthesize class-balanced
images, audit them; then evaluate the classifier under every regime and write one report.

OUTPUT/dataset (built unless --dataset names an existing one), OUTPUT/gan/foldK (GAN runs with exports),
OUTPUT/synthetic/foldK, OUTPUT/quality/foldK, OUTPUT/evaluation and OUTPUT/report.md. Every step that finished
is skipped when the experiment runs again, and an interrupted GAN run resumes from its checkpoint.

Folds can run on several hosts at once into one shared OUTPUT (--folds=K on each): each writes only its folds'
files, the dataset is built once (under OUTPUT/.lock; the others wait and reuse it), and every run ends by merging
the report of all finished folds under the same lock, so the last one to finish reports them all;
--report_only merges again at any time and names the folds still missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os

import numpy as np

from tfpgan import run_folder
from tfpgan.atomic import write_text
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import TfpganError
from tfpgan.options import BuildOptions, EvaluationOptions, ExperimentOptions, TrainOptions
from tfpgan.training.schedule import build_phases, describe_schedule

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"  # in OUTPUT: held while the dataset is built and while the report is merged


def gan_options(options: ExperimentOptions, dataset: str, fold: int) -> TrainOptions:
    """The GAN run of test fold `fold`."""
    return options.train.replace(dataset=dataset, logdir=run_folder.fold_dir(options.output, run_folder.GAN_DIR, fold),
                                 test_fold=fold, export=True)


def describe(options: ExperimentOptions) -> str:
    """What --dry_run prints: the resolved options and each fold's GAN schedule."""
    train = options.train
    resolution = train.resolution or options.dataset_resolution
    phases = build_phases(train.start_resolution, resolution, train.kimg_per_phase, train.kimg_per_transition,
                          train.total_kimg)
    return (f"{options.to_json()}GAN schedule of every fold ({resolution}x{resolution}):\n"
            f"{describe_schedule(phases, train.batch_per_resolution)}\n"
            "global batch = batch/replica x replicas; kimg counts global images")


@contextlib.contextmanager
def locked(options: ExperimentOptions):
    """Hold the exclusive lock OUTPUT/.lock for the block: runs on other hosts sharing OUTPUT wait for it."""
    with open(os.path.join(options.output, LOCK_FILE), "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as error:  # a file system without locks
            logger.warning("cannot lock %s (%s): runs sharing this folder may race", handle.name, error)
        yield


def ensure_dataset(options: ExperimentOptions) -> DatasetInfo:
    """The --dataset folder if it exists, else one built at --dataset or OUTPUT/dataset from --source (by one run:
    others started at the same time wait for it, then reuse it)."""
    from tfpgan.data.build import build_dataset
    from tfpgan.data.sources import open_source

    path = options.dataset_dir
    with locked(options):
        if os.path.exists(path):
            logger.info("dataset: reusing %s", path)
            return read_info(path)
        logger.info("dataset: building %s from %s", path, options.source)
        build = BuildOptions(resolution=options.dataset_resolution, folds=options.dataset_folds,
                             seed=options.train.seed)
        return build_dataset(open_source(options.source), path, build)


def run_fold(options: ExperimentOptions, info: DatasetInfo, fold: int, strategy=None) -> None:
    """GAN -> export -> synthetic set -> quality audit for one held-out fold; each finished step skipped.

    strategy: the GAN's (see run_experiment); a multi-worker strategy's other workers only train the GAN.
    """
    from tfpgan import quality, quality_report, synthesis
    from tfpgan.training.trainer import is_chief, train_until_stopped

    dataset, gan = options.dataset_dir, gan_options(options, options.dataset_dir, fold)
    logger.info("fold %d: GAN training in %s", fold, gan.logdir)
    summary = train_until_stopped(gan, strategy)
    if not is_chief(strategy):
        return
    synthetic = run_folder.fold_dir(options.output, run_folder.SYNTHETIC_DIR, fold)
    if os.path.exists(synthetic):
        logger.info("fold %d: synthetic set %s exists, skipped", fold, synthetic)
    else:
        synthesis.synthesize(summary["export"], synthetic, options.synthesis_mode, options.synthesis_count,
                             seed=options.train.seed + fold)
    train_folds = info.training_folds(fold)
    save_samples(options, info, train_folds, fold, synthetic)
    audit = run_folder.fold_dir(options.output, run_folder.QUALITY_DIR, fold)
    if not options.quality:
        return
    if os.path.exists(audit):
        logger.info("fold %d: quality audit %s exists, skipped", fold, audit)
        return
    images = quality.load_synthetic_dataset(synthetic, info)
    if options.quality_max_images and len(images.ids) > options.quality_max_images:
        keep = np.sort(np.random.default_rng(options.train.seed + fold).choice(
            len(images.ids), options.quality_max_images, replace=False))
        images = images.subset(keep)
        logger.info("fold %d: auditing a random sample of %d synthetic images", fold, len(keep))
    result = quality.measure_quality(dataset, train_folds, images, options.audit, f"dataset {synthetic}")
    quality_report.write_quality_report(result, audit)


def save_samples(options: ExperimentOptions, info: DatasetInfo, train_folds: list[int], fold: int,
                 synthetic: str) -> None:
    """OUTPUT/samples/foldK.png: per class, synthetic images of fold K's generator beside real training images."""
    from tfpgan.training import summaries

    count = run_folder.SAMPLES_PER_CLASS
    fakes = summaries.to_uint8(summaries.class_samples(synthetic, None, count))
    reals = summaries.to_uint8(summaries.class_samples(options.dataset_dir, train_folds, count))
    grid = summaries.labeled_grid(fakes, reals, info.classes, f"synthetic (fold {fold} generator)",
                                  f"real training images (folds {', '.join(map(str, train_folds))})")
    path = run_folder.samples_png(options.output, fold)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    summaries.save_png(path, grid)


def quality_table(output: str, folds: list[int]) -> list[str]:
    """Markdown lines: `quality_report.summary_table` of the folds whose quality audit exists."""
    from tfpgan.quality_report import summary_table

    rows = []
    for fold in folds:
        path = os.path.join(run_folder.fold_dir(output, run_folder.QUALITY_DIR, fold), run_folder.QUALITY_JSON)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                rows.append((str(fold), json.load(handle)))
    return summary_table(rows)


def write_summary(options: ExperimentOptions, folds: list[int]) -> str:
    """OUTPUT/report.md: the evaluation report followed by the per-fold quality table."""
    output = options.output
    evaluation_dir = os.path.join(output, run_folder.EVALUATION_DIR)
    with open(os.path.join(evaluation_dir, run_folder.REPORT_MARKDOWN), encoding="utf-8") as handle:
        evaluation = handle.read().replace("](", f"]({run_folder.EVALUATION_DIR}/")
    lines = [evaluation.rstrip(), "", "## Synthetic beside real images per fold", "",
             "Left: images of the fold's generator (black tiles: a class it was not asked for); right: real images "
             "of the folds it was trained on. One row per class.", ""]
    lines += [f"![fold {fold}]({os.path.relpath(run_folder.samples_png(output, fold), output)})" for fold in folds
              if os.path.isfile(run_folder.samples_png(output, fold))]
    lines.append("")
    if options.quality:
        lines += ["## Synthetic-image quality per fold (details: quality/foldK/quality.md)", "",
                  *quality_table(output, folds), "",
                  "SWD: sliced Wasserstein distance x1e3 averaged over Laplacian levels (lower is closer); the floor "
                  "is two disjoint halves of the real training images. FID/KID use the penultimate features of a "
                  "classifier trained on the real training folds (a domain feature space, not Inception)."]
    path = os.path.join(output, run_folder.REPORT_MARKDOWN)
    write_text(path, "\n".join(lines) + "\n")
    return path


def evaluation_options(options: ExperimentOptions) -> EvaluationOptions:
    """The evaluation of the experiment's folds: real dataset, OUTPUT/evaluation, the folds' synthetic sets."""
    return options.evaluation.replace(
        dataset=options.dataset_dir, output=os.path.join(options.output, run_folder.EVALUATION_DIR),
        synthetic=run_folder.fold_dir(options.output, run_folder.SYNTHETIC_DIR, run_folder.FOLD_PLACEHOLDER),
        overwrite=False)


def merge(options: ExperimentOptions) -> tuple[dict, str]:
    """The evaluation report and OUTPUT/report.md of every finished fold (report["missing_folds"]: the others)."""
    from tfpgan.evaluation import merge_report

    with locked(options):
        report = merge_report(evaluation_options(options))
        return report, write_summary(options, report["folds"])


def run_experiment(options: ExperimentOptions, strategy=None) -> tuple[dict, str] | None:
    """Every step of the experiment's folds (resuming finished ones), then the merged report of every finished
    fold; returns it and OUTPUT/report.md (None on a multi-worker strategy's other workers, which only train).

    strategy: the GANs' tf.distribute strategy, made first thing in the process (default: from --strategy).
    Raises TrainingInterrupted when a GAN run is stopped by SIGINT/SIGTERM (after its checkpoint).
    """
    from tfpgan.evaluation import train_runs
    from tfpgan.training.trainer import is_chief

    if options.report_only:
        if not os.path.isdir(options.output):
            raise TfpganError(f"{options.output}: no such experiment folder, nothing to report")
        return merge(options)
    os.makedirs(options.output, exist_ok=True)
    info = ensure_dataset(options)
    if options.train.resolution not in (0, info.resolution):
        raise TfpganError(f"--resolution={options.train.resolution} (from the command line or a --flagfile) differs "
                          f"from the dataset's {info.resolution}: the synthetic images must match the classifier's "
                          f"input; pass --resolution={info.resolution} after the --flagfile, or build the dataset at "
                          f"--dataset_resolution={options.train.resolution}")
    for fold in check_folds(info, options.evaluation.folds, options.dataset_dir):
        run_fold(options, info, fold, strategy)
    if not is_chief(strategy):
        return None
    train_runs(evaluation_options(options))
    return merge(options)

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
from tfpgan.data.dataset_info import INFO_FILE, DatasetInfo, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import TfpganError
from tfpgan.options import (
    BuildOptions,
    EvaluationOptions,
    ExperimentOptions,
    TrainOptions,
    format_gan_overrides,
    uses_synthetic,
)
from tfpgan.training.schedule import describe_schedule, phases_for

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"  # in OUTPUT: held while the dataset is built and while the report is merged
PARTITION_SEED_STRIDE = 1000  # partition P's folds are assigned with the dataset's build seed + STRIDE x P


def partition_options(options: ExperimentOptions, partition: int) -> ExperimentOptions:
    """Partition 0: the experiment as given. Partition P > 0: the same experiment in OUTPUT/partitionP, on a
    dataset built there from the experiment's dataset folder with its folds assigned anew."""
    if partition == 0:
        return options
    return options.replace(output=run_folder.partition_dir(options.output, partition), dataset=None,
                           source=f"dataset:{options.dataset_dir}", partition=partition)


def partitions(options: ExperimentOptions) -> list[ExperimentOptions]:
    return [partition_options(options, partition) for partition in range(options.partitions)]


def fold_label(options: ExperimentOptions, fold: int) -> str:
    """'fold K', or 'partition P fold K' for P > 0 (logs and the report's figure titles)."""
    return f"partition {options.partition} fold {fold}" if options.partition else f"fold {fold}"


def generator_runs(options: ExperimentOptions) -> dict[str, TrainOptions]:
    """Name -> training options of each generator trained per fold: the --generators, else one unnamed ('')
    generator of the training flags; --gan_overrides applied to each."""
    return options.gan_runs()


def step_dir(options: ExperimentOptions, step: str, name: str, fold: int | str) -> str:
    """OUTPUT/STEP/foldK of generator `name` ('' = the only one), OUTPUT/STEP/NAME/foldK of a named one."""
    return run_folder.fold_dir(options.output, os.path.join(step, name), fold)


def gan_options(options: ExperimentOptions, name: str, fold: int) -> TrainOptions:
    """Generator `name`'s run of test fold `fold`: trained without fold `fold` and its classifier-validation images."""
    return generator_runs(options)[name].replace(
        dataset=options.dataset_dir, logdir=step_dir(options, run_folder.GAN_DIR, name, fold), test_fold=fold,
        export=True, exclude_ids=run_folder.validation_ids_file(options.output, fold))


def write_validation_ids(options: ExperimentOptions, fold: int) -> None:
    """OUTPUT/validation/foldK.txt: the classifier-validation images of test fold K, fixed before its GAN trains so
    that the GAN never sees them (the evaluation refuses a synthetic set whose generator did).

    Never rewritten once a GAN of the fold has started: a --validation_fraction or --classifier_seed that chooses
    other images is refused in one line naming the fold's folders to delete.
    """
    from tfpgan.data.pipeline import read_ids
    from tfpgan.validation import validation_ids, write_ids

    training = options.evaluation.training
    path = run_folder.validation_ids_file(options.output, fold)
    ids = validation_ids(options.dataset_dir, fold, training.validation_fraction, training.seed)
    names = list(generator_runs(options))
    started = any(os.path.isfile(os.path.join(step_dir(options, run_folder.GAN_DIR, name, fold),
                                              run_folder.CONFIG_FILE)) for name in names)
    if not (started and os.path.isfile(path)):
        write_ids(path, ids)
        return
    listed = read_ids(path)
    if listed != ids:
        folders = [folder for name in names for folder in (step_dir(options, step, name, fold) for step in (
            run_folder.GAN_DIR, run_folder.SYNTHETIC_DIR, run_folder.QUALITY_DIR)) if os.path.exists(folder)]
        raise TfpganError(f"{path}: fold {fold}'s GAN has started without the {len(listed)} validation images listed "
                          f"there; --validation_fraction={training.validation_fraction:g} --classifier_seed="
                          f"{training.seed} choose other ones ({len(ids)}): rerun with the values it started with, or "
                          f"delete {' '.join(folders)} to redo fold {fold} with the new ones")


def describe(options: ExperimentOptions) -> str:
    """What --dry_run prints: the resolved options, the plan (partitions, GAN and classifier runs) and each
    generator's GAN schedule (the same for every fold)."""
    lines = [options.to_json().rstrip(), *describe_plan(options)]
    if options.gan_overrides:
        lines.append(f"--gan_overrides applied to every GAN: {format_gan_overrides(options.gan_overrides)}")
    for name, train in generator_runs(options).items():
        resolution = train.resolution or options.dataset_resolution
        phases = phases_for(train, resolution)
        lines += [f"GAN schedule of every fold{f' of generator {name}' if name else ''} ({resolution}x{resolution}):",
                  describe_schedule(phases, train.batch_per_resolution)]
    return "\n".join(lines + ["global batch = batch/replica x replicas; kimg counts global images"])


def describe_plan(options: ExperimentOptions) -> list[str]:
    """Where each partition runs, and how many GAN and classifier runs the experiment means."""
    info_file = os.path.join(options.dataset_dir, INFO_FILE)
    folds = read_info(options.dataset_dir).folds if os.path.isfile(info_file) else options.dataset_folds
    test_folds = len(options.evaluation.folds) if options.evaluation.folds is not None else folds
    lines = [f"partition 0: {options.output} on {options.dataset_dir}"]
    lines += [f"partition {part.partition}: {part.output} on {part.dataset_dir} (the same images, folds assigned anew "
              f"with the build seed + {PARTITION_SEED_STRIDE * part.partition})" for part in partitions(options)[1:]]
    generators, seeds = len(generator_runs(options)), options.evaluation.seeds
    regimes = len(evaluation_options(options).regimes)
    sweep = len(sweep_evaluation_options(options).regimes) if options.synthesis_counts else 0
    units = options.partitions * test_folds
    classifier_runs = units * (regimes + sweep) * seeds
    lines.append(f"plan: {options.partitions} partition(s) x {test_folds} test fold(s) x {generators} generator(s) = "
                 f"{units * generators} GAN run(s); {units} x {regimes + sweep} regime(s) x {seeds} seed(s) = "
                 f"{classifier_runs} classifier run(s); the report tests J = {units} paired fold results "
                 f"({units - 1} degrees of freedom; seeds are averaged within a fold)")
    return lines


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
    os.makedirs(options.output, exist_ok=True)
    with locked(options):
        if os.path.exists(path):
            logger.info("dataset: reusing %s", path)
            return read_info(path)
        if options.partition:
            base = read_info(options.source.partition(":")[2])
            build = BuildOptions(resolution=base.resolution, channels=base.channels, folds=base.folds,
                                 seed=base.seed + PARTITION_SEED_STRIDE * options.partition)
        else:
            build = BuildOptions(resolution=options.dataset_resolution, folds=options.dataset_folds,
                                 seed=options.train.seed)
        logger.info("dataset: building %s from %s (fold seed %d)", path, options.source, build.seed)
        return build_dataset(open_source(options.source), path, build)


def run_fold(options: ExperimentOptions, info: DatasetInfo, fold: int, strategy=None) -> None:
    """Per generator: GAN -> export -> synthetic set -> quality audit for one held-out fold; finished steps skipped.

    strategy: the GANs' (see run_experiment); a multi-worker strategy's other workers only train the GANs.
    """
    from tfpgan.training.trainer import is_chief, train_until_stopped

    write_validation_ids(options, fold)  # on every worker: each reads its own copy (atomic, identical content)
    for name in generator_runs(options):
        gan = gan_options(options, name, fold)
        logger.info("%s: GAN %straining in %s (without the validation images listed in %s)",
                    fold_label(options, fold), f"{name} " if name else "", gan.logdir, gan.exclude_ids)
        export = train_until_stopped(gan, strategy)["export"]
        if is_chief(strategy):
            synthesize_and_audit(options, info, fold, name, export)


def synthesize_and_audit(options: ExperimentOptions, info: DatasetInfo, fold: int, name: str, export: str) -> None:
    """Generator `name`'s synthetic set of fold `fold`, its sample grid, quality audit and data card."""
    from tfpgan import datacard, quality, quality_report, synthesis

    synthetic = step_dir(options, run_folder.SYNTHETIC_DIR, name, fold)
    if os.path.exists(synthetic):
        logger.info("fold %d: synthetic set %s exists, skipped", fold, synthetic)
    else:
        synthesis.synthesize(export, synthetic, options.synthesis_mode, options.synthesis_count,
                             seed=options.train.seed + fold)
    train_folds = info.training_folds(fold)
    save_samples(options, info, train_folds, fold, name, export)
    audit = step_dir(options, run_folder.QUALITY_DIR, name, fold)
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
    result = quality.measure_quality(options.dataset_dir, train_folds, images, options.audit, f"dataset {synthetic}")
    quality_report.write_quality_report(result, audit)
    datacard.write_datacard(synthetic, result)


def save_samples(options: ExperimentOptions, info: DatasetInfo, train_folds: list[int], fold: int, name: str,
                 export: str) -> None:
    """OUTPUT/samples/[NAME/]foldK.png: per class, images drawn from fold K's exported generator (every class,
    whether or not the synthetic set needed it; the first ones are the set's own) beside real training images."""
    from tfpgan import synthesis
    from tfpgan.training import summaries

    count = run_folder.SAMPLES_PER_CLASS
    metadata = synthesis.read_generator_metadata(export)
    images, _, _ = synthesis.sample(export, metadata, dict.fromkeys(metadata["classes"], count),
                                    seed=options.train.seed + fold, batch_size=64)
    fakes = images.reshape(len(metadata["classes"]), count, *images.shape[1:])  # its classes are the dataset's
    reals = summaries.to_uint8(summaries.class_samples(options.dataset_dir, train_folds, count))
    title = f"generated (fold {fold} generator {name})" if name else f"generated (fold {fold} generator)"
    grid = summaries.labeled_grid(fakes, reals, info.classes, title,
                                  f"real training images (folds {', '.join(map(str, train_folds))})")
    path = run_folder.samples_png(options.output, fold, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    summaries.save_png(path, grid)


def quality_table(options: ExperimentOptions, folds: list[int]) -> list[str]:
    """Markdown lines: `quality_report.summary_table` of every partition's and generator's folds whose quality audit
    exists (with a partition column under --partitions, a generator column under --generators)."""
    from tfpgan.quality_report import summary_table

    rows = []
    for part in partitions(options):
        for name in generator_runs(options):
            for fold in folds:
                path = os.path.join(step_dir(part, run_folder.QUALITY_DIR, name, fold), run_folder.QUALITY_JSON)
                if os.path.isfile(path):
                    with open(path, encoding="utf-8") as handle:
                        key = (*([str(part.partition)] if options.partitions > 1 else []), *([name] if name else []),
                               str(fold))
                        rows.append((key, json.load(handle)))
    label = (*(["partition"] if options.partitions > 1 else []), *(["generator"] if options.generator_options else []),
             "fold")
    return summary_table(rows, label)


def write_summary(options: ExperimentOptions, folds: list[int]) -> str:
    """OUTPUT/report.md: the evaluation report followed by the per-fold quality table."""
    output = options.output
    evaluation_dir = os.path.join(output, run_folder.EVALUATION_DIR)
    with open(os.path.join(evaluation_dir, run_folder.REPORT_MARKDOWN), encoding="utf-8") as handle:
        evaluation = handle.read().replace("](", f"]({run_folder.EVALUATION_DIR}/")
    lines = [evaluation.rstrip(), "", "## Synthetic beside real images per fold", "",
             "Left: images drawn from the fold's generator for every class, also a class the synthetic set did not "
             "need; right: real images of the folds it was trained on. One row per class.", ""]
    samples = {f"{name} {fold_label(part, fold)}".strip(): run_folder.samples_png(part.output, fold, name)
               for part in partitions(options) for name in generator_runs(options) for fold in folds}
    lines += [f"![{title}]({os.path.relpath(path, output)})" for title, path in samples.items() if os.path.isfile(path)]
    lines.append("")
    if options.quality:
        lines += ["## Synthetic-image quality per fold (details: quality/foldK/quality.md)", "",
                  *quality_table(options, folds), "",
                  "SWD ÷ floor: the sliced Wasserstein distance (x1e3, averaged over Laplacian levels) of a "
                  "synthetic sample to half of the real training images, divided by that of the other half (the "
                  "real-vs-real floor, same number of images); about 1 (within ± its noise) is as close as sampling "
                  "allows. Overall figures use a synthetic sample with the real class mix. FID/KID use the "
                  "penultimate features of a classifier trained on the real training folds (a domain feature space, "
                  "not Inception; its held-out balanced accuracy and label-permutation p are shown), beside the same "
                  "distance of held-out real images (real baseline), N images on each side; a synthetic value below "
                  "its real baseline points to the memorization audit (the feature network was trained on the "
                  "training images, so copies of them score below new real images)."]
    sweep_table = os.path.join(output, run_folder.SWEEP_DIR, run_folder.SWEEP_MARKDOWN)
    if os.path.isfile(sweep_table):
        with open(sweep_table, encoding="utf-8") as handle:
            lines += ["", "## The synthetic-count curve (details: sweep/evaluation/report.md)", "",
                      f"![sweep]({run_folder.SWEEP_DIR}/{run_folder.SWEEP_PNG})", "", handle.read().rstrip()]
    path = os.path.join(output, run_folder.REPORT_MARKDOWN)
    write_text(path, "\n".join(lines) + "\n")
    return path


def evaluation_options(options: ExperimentOptions) -> EvaluationOptions:
    """The evaluation of the experiment's folds: real dataset, OUTPUT/evaluation, the folds' synthetic sets. With
    --generators, every synthetic regime is evaluated once per generator NAME as REGIME[NAME]."""
    patterns = {name: step_dir(options, run_folder.SYNTHETIC_DIR, name, run_folder.FOLD_PLACEHOLDER)
                for name in generator_runs(options)}
    named = [name for name in patterns if name]
    regimes = tuple(variant for regime in options.evaluation.regimes for variant in (
        [f"{regime}[{name}]" for name in named] if named and uses_synthetic(regime) else [regime]))
    return options.evaluation.replace(
        dataset=options.dataset_dir, output=os.path.join(options.output, run_folder.EVALUATION_DIR),
        regimes=regimes, synthetic=next(iter(patterns.values())),
        synthetic_sets={name: patterns[name] for name in named}, overwrite=False, partition=options.partition)


def sweep_points(counts: tuple[int, ...]) -> list[tuple[int, str, str]]:
    """(synthetic images per class, synthetic regime, oversample regime) per level of --synthesis_counts."""
    return [(n, "none", "none") if n == 0 else (n, f"synthetic[n{n}]", f"oversample[n{n}]") for n in sorted(counts)]


def sweep_evaluation_options(options: ExperimentOptions) -> EvaluationOptions:
    """The evaluation of the synthetic-count curve into OUTPUT/sweep/evaluation: one named set per level."""
    points = sweep_points(options.synthesis_counts)
    return evaluation_options(options).replace(
        output=os.path.join(options.output, run_folder.SWEEP_DIR, run_folder.EVALUATION_DIR),
        regimes=tuple(dict.fromkeys(regime for _, *regimes in points for regime in regimes)),
        synthetic_sets={f"n{n}": run_folder.sweep_synthetic_dir(options.output, n, run_folder.FOLD_PLACEHOLDER)
                        for n, *_ in points if n})


def synthesize_sweep(options: ExperimentOptions, fold: int) -> None:
    """Fold K's synthetic set of every sweep level: N per class from its GAN (the first of --generators); existing
    sets are kept."""
    from tfpgan import synthesis

    export = run_folder.export_dir(step_dir(options, run_folder.GAN_DIR, next(iter(generator_runs(options))), fold))
    for count in sorted(n for n in options.synthesis_counts if n):
        directory = run_folder.sweep_synthetic_dir(options.output, count, fold)
        if not os.path.exists(directory):
            synthesis.synthesize(export, directory, "per_class", count, seed=options.train.seed + fold)


def merge(options: ExperimentOptions) -> tuple[dict, str]:
    """The evaluation report (and the sweep's, with --synthesis_counts) and OUTPUT/report.md of every finished fold
    (report["missing_folds"]: the others)."""
    from tfpgan import sweep
    from tfpgan.evaluation import merge_report

    others = partitions(options)[1:]
    with locked(options):
        report = merge_report(evaluation_options(options), [evaluation_options(part) for part in others])
        if options.synthesis_counts:
            sweep_report = merge_report(sweep_evaluation_options(options),
                                        [sweep_evaluation_options(part) for part in others])
            sweep.write_sweep(sweep_report, sweep_points(options.synthesis_counts),
                              os.path.join(options.output, run_folder.SWEEP_DIR))
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
    for part in partitions(options):  # partition 0 first: the others are built from its dataset
        info = ensure_dataset(part)
        for name, train in generator_runs(part).items():
            if train.resolution not in (0, info.resolution):
                where = f"generator {name}'s flagfile" if name else "the command line or a --flagfile"
                raise TfpganError(f"--resolution={train.resolution} (from {where}) differs from the dataset's "
                                  f"{info.resolution}: the synthetic images must match the classifier's input; pass "
                                  f"--resolution={info.resolution}, or build the dataset at "
                                  f"--dataset_resolution={train.resolution}")
        for fold in check_folds(info, options.evaluation.folds, part.dataset_dir):
            run_fold(part, info, fold, strategy)
    if not is_chief(strategy):
        return None
    for part in partitions(options):
        train_runs(evaluation_options(part))
        if options.synthesis_counts:
            for fold in check_folds(read_info(part.dataset_dir), options.evaluation.folds, part.dataset_dir):
                synthesize_sweep(part, fold)
            train_runs(sweep_evaluation_options(part))
    return merge(options)

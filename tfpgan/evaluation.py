"""k-fold evaluation of a classifier under training regimes.

For every selected test fold k, every regime and every seed repeat r, a fresh classifier trains on the other folds:

* ``none``: the real training images as they are;
* ``classic``: classic augmentation (rotation, flips, translation, zoom) applied on the fly;
* ``synthetic``: the real training images plus every image of a synthetic dataset folder;
* ``classic+synthetic``: both, the classic augmentation applied to real and synthetic images;
* ``oversample`` / ``classic+oversample``: the real training images resampled per class to exactly the counts
  the synthetic regime reaches (same class mix, same set size), or to the largest class's count without a set.

Regimes using a set take ``--synthetic``, or a named set of ``--synthetic_sets`` as in ``synthetic[NAME]``.

Training is equal across the regimes of a fold: an epoch is ceil(N / batch) steps with N the largest regime's
training set, every regime gets the same step budget, and stops early (never before ``min_steps``) once the
validation loss has not improved for ``patience`` epochs; the best-validation-loss weights are kept. The
validation split (`tfpgan.validation`: stratified, grouped by patient) is carved from the real training folds
once per fold, and every regime of (fold, repeat) starts from the same seed (same initial weights and batch
order), which makes the comparison between regimes a paired one.

A synthetic set is refused unless its ``dataset.json`` proves it leak-free: ``extra["generator"]`` must name the
real dataset's fingerprint and the folds the generator was trained on, which must exclude the test fold, and the
generator must have left out (``excluded_ids``) every validation image of the fold it would otherwise have seen.

Every finished run writes ``OUTPUT/runs/REGIME/foldK/seedR/result.json`` atomically, with the settings it was
made with; a later call skips finished runs (and refuses ones made with other settings), so an interrupted
evaluation resumes where it stopped and regimes, folds or repeats can be added later. Folds can also be evaluated
by separate processes (hosts) into one folder; ``merge_report`` then reports every finished one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.utils.class_weight import compute_class_weight

from tfpgan import report
from tfpgan.atomic import write_json
from tfpgan.data.augment import make_augmenter
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import DataError, TfpganError
from tfpgan.labeled import ExampleRecord, LabeledArrays, load_arrays, read_records
from tfpgan.metrics.classification import classification_metrics
from tfpgan.models.classifiers import build_classifier
from tfpgan.options import (
    ClassicAugmentation,
    ClassifierTraining,
    EvaluationOptions,
    uses_classic,
    uses_oversample,
    uses_synthetic,
)
from tfpgan.run_folder import BEST_WEIGHTS_FILE, FOLD_PLACEHOLDER, RESULT_FILE, RUNS_DIR, TENSORBOARD_DIR
from tfpgan.validation import fold_seed, validation_records

logger = logging.getLogger(__name__)

OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}
GENERATOR_KEYS = ("trained_on_folds", "dataset_fingerprint")
REPEAT_SEED_STRIDE = 1000


class LeakageError(TfpganError):
    """A synthetic set cannot be shown to be free of test-fold or validation images."""


def synthetic_dir(pattern: str, fold: int) -> str:
    """The synthetic set for test fold ``fold``: ``{fold}`` in ``pattern`` replaced by the index."""
    return pattern.replace(FOLD_PLACEHOLDER, str(fold))


def run_seed(seed: int, fold: int, repeat: int) -> int:
    """The seed of repeat ``repeat`` on test fold ``fold``: the same for all regimes (paired comparison)."""
    return fold_seed(seed, fold) + REPEAT_SEED_STRIDE * repeat


def check_leakage(synthetic: DatasetInfo, where: str, real: DatasetInfo, test_fold: int,
                  validation: Mapping[str, int] | None = None) -> None:
    """Raise LeakageError unless the synthetic set's generator provably never saw ``test_fold`` nor, when
    ``validation`` (id -> fold of the fold's validation images) is given, any of those images."""
    generator = synthetic.extra.get("generator")
    if not isinstance(generator, dict) or any(key not in generator for key in GENERATOR_KEYS):
        raise LeakageError(
            f"{where}: no generator metadata (extra.generator with {' and '.join(GENERATOR_KEYS)}) in its "
            f"dataset.json, so it cannot be shown to be free of test fold {test_fold}; make it with tools.synthesize"
        )
    trained_on = generator["trained_on_folds"]
    if not isinstance(trained_on, list) or not all(isinstance(f, int) and not isinstance(f, bool) for f in trained_on):
        raise LeakageError(f"{where}: generator trained_on_folds must be a list of fold indices; got {trained_on!r}")
    if not real.fingerprint:
        raise LeakageError(f"the real dataset {real.name!r} has no fingerprint; rebuild it with tools.build_dataset")
    if generator["dataset_fingerprint"] != real.fingerprint:
        raise LeakageError(
            f"{where}: its generator was trained on another dataset, {generator.get('dataset', '(path not recorded)')} "
            f"(fingerprint {str(generator['dataset_fingerprint'])[:12]}..., this dataset {real.name!r} has "
            f"{real.fingerprint[:12]}...)"
        )
    if test_fold in trained_on:
        raise LeakageError(
            f"{where}: its generator was trained on folds {trained_on}, which include test fold {test_fold}; "
            f"use a generator trained without fold {test_fold} (e.g. --synthetic=.../fold{FOLD_PLACEHOLDER}/...)"
        )
    excluded = set(generator.get("excluded_ids") or ())
    seen = sorted(i for i, fold in (validation or {}).items() if fold in trained_on and i not in excluded)
    if seen:
        raise LeakageError(
            f"{where}: its generator trained on {len(seen)} of the {len(validation)} validation images of test fold "
            f"{test_fold} (e.g. {seen[0]!r}), which choose the classifier's best epoch; write the split with "
            f"`python -m tools.split_validation --test_fold={test_fold}` (same --validation_fraction and "
            "--classifier_seed as this evaluation) and train the fold's GAN with `tools.train --exclude_ids=FILE`"
        )


def check_synthetic_set(directory: str, real: DatasetInfo, test_fold: int,
                        validation: Mapping[str, int] | None = None) -> DatasetInfo:
    """Read a synthetic dataset folder and check it may serve as training data for ``test_fold``.

    validation: id -> fold of the fold's validation images (the generator must have excluded those it could see).
    Raises LeakageError (see check_leakage) or DataError when its classes or channels differ from
    the real dataset's or its resolution is lower.
    """
    synthetic = read_info(directory)
    check_leakage(synthetic, directory, real, test_fold, validation)
    if synthetic.classes != real.classes:
        raise DataError(f"{directory}: classes {synthetic.classes} differ from the real dataset's {real.classes}")
    if synthetic.channels != real.channels:
        raise DataError(f"{directory}: {synthetic.channels} channel(s); the real dataset has {real.channels}")
    if synthetic.resolution < real.resolution:
        raise DataError(f"{directory}: resolution {synthetic.resolution} is below the real dataset's "
                        f"{real.resolution}; synthesize at {real.resolution} or more")
    return synthetic


# --- the plan of a fold: validation split, training-set sizes, step budget ----------------------------------------


@dataclasses.dataclass(frozen=True)
class FoldPlan:
    """What every run of a test fold shares: the validation split, the synthetic sets and the step budget.

    validation: id -> fold of the validation images. real_counts: real training images per class (validation
    left out). synthetic: checked synthetic set per pattern. class_counts: per regime, the training images per
    class. steps_per_epoch: ceil(largest regime's training set / batch). max_steps: the budget of
    every run (--classifier_steps, else max(epochs x steps_per_epoch, min_steps)).
    """

    fold: int
    validation: dict[str, int]
    real_counts: tuple[int, ...]
    synthetic: dict[str, DatasetInfo]
    class_counts: dict[str, tuple[int, ...]]
    steps_per_epoch: int
    max_steps: int

    @property
    def schedule(self) -> dict[str, int]:
        return {"steps_per_epoch": self.steps_per_epoch, "max_steps": self.max_steps}


def regime_class_counts(regime: str, real_counts: Sequence[int], synthetic: DatasetInfo | None,
                        classes: Sequence[str]) -> tuple[int, ...]:
    """Training images per class of ``regime``: real (+ synthetic), or the oversampling targets."""
    real_counts = np.asarray(real_counts)
    added = np.array([synthetic.counts.get(name, 0) for name in classes]) if synthetic is not None else 0
    if uses_synthetic(regime) or (uses_oversample(regime) and synthetic is not None):
        counts = real_counts + added
    elif uses_oversample(regime):
        counts = np.full_like(real_counts, real_counts.max())
    else:
        counts = real_counts
    return tuple(int(n) for n in counts)


def plan_fold(options: EvaluationOptions, real: DatasetInfo, records: Sequence[ExampleRecord], fold: int,
              synthetic: Mapping[str, DatasetInfo] | None = None) -> FoldPlan:
    """The plan of test fold ``fold``; its synthetic sets are checked (leakage included) unless given."""
    training = options.training
    validation = {r.id: r.fold for r in validation_records(records, fold, training.validation_fraction, training.seed)}
    real_counts = np.zeros(real.num_classes, np.int64)
    for record in records:
        if record.fold != fold and record.id not in validation:
            real_counts[record.label] += 1
    if synthetic is None:
        patterns = {options.synthetic_pattern(regime) for regime in options.regimes} - {None}
        synthetic = {p: check_synthetic_set(synthetic_dir(p, fold), real, fold, validation) for p in sorted(patterns)}
    class_counts = {}
    for regime in options.regimes:
        pattern = options.synthetic_pattern(regime)
        class_counts[regime] = regime_class_counts(regime, real_counts, synthetic.get(pattern), real.classes)
        empty = [name for name, n, target in zip(real.classes, real_counts, class_counts[regime]) if target and not n]
        if uses_oversample(regime) and empty:
            raise DataError(f"test fold {fold}: regime {regime} cannot oversample class {empty[0]}: it has no real "
                            "training image outside the validation split")
    steps_per_epoch = math.ceil(max(sum(counts) for counts in class_counts.values()) / training.batch_size)
    return FoldPlan(fold, validation, tuple(int(n) for n in real_counts), dict(synthetic), class_counts,
                    steps_per_epoch, training.steps or max(training.epochs * steps_per_epoch, training.min_steps))


# --- one classifier run ---------------------------------------------------------------------------------------------


def training_dataset(examples: LabeledArrays, batch_size: int, seed: int,
                     augmentation: ClassicAugmentation | None) -> tf.data.Dataset:
    """Endless shuffled batches (a new permutation every pass), classic-augmented in the graph when asked."""
    dataset = tf.data.Dataset.from_tensor_slices((examples.images, examples.labels))
    dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)
    if augmentation is not None:
        dataset = dataset.map(make_augmenter(augmentation, seed))  # sequential: reproducible random draws
    return dataset.prefetch(tf.data.AUTOTUNE)


class BestValidation(keras.callbacks.Callback):
    """Counts optimizer steps and stops at ``max_steps``; saves the weights at every new best validation loss to
    ``path``; stops early once the best is ``patience`` epochs old, never before ``min_steps`` steps."""

    def __init__(self, path: str, max_steps: int, patience: int, min_steps: int) -> None:
        super().__init__()
        self.path, self.max_steps, self.patience, self.min_steps = path, max_steps, patience, min_steps
        self.steps = self.epochs = self.best_epoch = self.best_step = 0
        self.best_loss = math.inf
        self.stopped_early = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps += 1
        if self.steps >= self.max_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs = epoch + 1
        loss = (logs or {}).get("val_loss", math.nan)
        if math.isfinite(loss) and loss < self.best_loss:
            self.best_loss, self.best_epoch, self.best_step = float(loss), self.epochs, self.steps
            self.model.save_weights(self.path)
        elif (self.min_steps <= self.steps < self.max_steps and self.epochs - self.best_epoch >= self.patience):
            self.stopped_early = True
            self.model.stop_training = True

    def record(self) -> dict[str, Any]:
        return {"steps": self.steps, "max_steps": self.max_steps, "best_epoch": self.best_epoch,
                "best_step": self.best_step, "stopped_early": self.stopped_early, "best_val_loss": self.best_loss}


def _progress_logger(label: str, epochs: int) -> keras.callbacks.Callback:
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logger.info(
        "%s epoch %d/%d: loss %.4f, accuracy %.3f, val loss %.4f, val accuracy %.3f", label, epoch + 1, epochs,
        logs["loss"], logs["accuracy"], logs["val_loss"], logs["val_accuracy"]))


def class_weights(labels: np.ndarray, weighting: str) -> dict[int, float] | None:
    """Keras class_weight: None, or sklearn's 'balanced' weights of the labels present."""
    if weighting == "none":
        return None
    present = np.unique(labels)
    return {int(c): float(w) for c, w in zip(present, compute_class_weight(weighting, classes=present, y=labels))}


def train_and_test(train: LabeledArrays, validation: LabeledArrays, test: LabeledArrays, class_names: Sequence[str],
                   training: ClassifierTraining, augmentation: ClassicAugmentation | None, seed: int,
                   schedule: Mapping[str, int], run_directory: str, tensorboard_dir: str,
                   label: str) -> dict[str, Any]:
    """Train one classifier for at most ``schedule["max_steps"]`` steps (epochs of ``schedule["steps_per_epoch"]``),
    keep its best-validation-loss weights and score it on ``test``.

    Writes ``run_directory/best.weights.h5`` and TensorBoard logs (both folders are emptied first).
    Returns classification_metrics of the test set (``metrics``), the per-example ``y_true``,
    ``y_prob``, ``ids`` and a ``training`` record (steps, best epoch and step, early stop, seed).
    """
    keras.utils.set_random_seed(seed)
    model = build_classifier(training.classifier, train.images.shape[1:], len(class_names), training.weights)
    model.compile(optimizer=OPTIMIZERS[training.optimizer](learning_rate=training.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for leftovers in (run_directory, tensorboard_dir):  # of an interrupted attempt
        shutil.rmtree(leftovers, ignore_errors=True)
    os.makedirs(run_directory)
    steps_per_epoch, max_steps = schedule["steps_per_epoch"], schedule["max_steps"]
    epochs = math.ceil(max_steps / steps_per_epoch)
    best = BestValidation(os.path.join(run_directory, BEST_WEIGHTS_FILE), max_steps, training.patience,
                          training.min_steps)
    model.fit(
        training_dataset(train, training.batch_size, seed, augmentation),
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=(validation.images, validation.labels),
        class_weight=class_weights(train.labels, training.class_weighting),
        callbacks=[best, keras.callbacks.TensorBoard(tensorboard_dir, write_graph=False),
                   _progress_logger(label, epochs)],
        shuffle=False,  # the dataset reshuffles itself, reproducibly
        verbose=0,
    )
    if not best.best_epoch:
        raise TfpganError(f"{label}: the validation loss was never finite (try a lower learning rate)")
    model.load_weights(best.path)
    y_prob = model.predict(test.images, batch_size=training.batch_size, verbose=0)
    return {
        "metrics": classification_metrics(test.labels, y_prob, class_names),
        "y_true": test.labels.tolist(),
        "y_prob": y_prob.tolist(),
        "ids": list(test.ids),
        "training": {**best.record(), "steps_per_epoch": steps_per_epoch, "seed": seed,
                     "class_weighting": training.class_weighting},
    }


def regime_training_set(regime: str, plan: FoldPlan, train: LabeledArrays, synthetic: LabeledArrays | None,
                        seed: int) -> LabeledArrays:
    """The training set of ``regime``: the real images, plus ``synthetic``, or oversampled to the plan's counts."""
    if uses_synthetic(regime):
        return LabeledArrays.concatenate([train, synthetic])
    if uses_oversample(regime):
        return train.oversampled(dict(enumerate(plan.class_counts[regime])), seed)
    return train


# --- settings, result files, resuming ---------------------------------------------------------------------------


def _json_normalized(content: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(content))


def run_settings(options: EvaluationOptions, real: DatasetInfo, regime: str, plan: FoldPlan) -> dict[str, Any]:
    """What a finished run of ``regime`` must have been made with to be reused on resumption."""
    settings = {"dataset_fingerprint": real.fingerprint, "training": dataclasses.asdict(options.training),
                "schedule": plan.schedule}
    if uses_classic(regime):
        settings["augmentation"] = dataclasses.asdict(options.augmentation)
    pattern = options.synthetic_pattern(regime)
    if pattern is not None:
        settings["synthetic_fingerprint"] = plan.synthetic[pattern].fingerprint
    return _json_normalized(settings)


def _report_settings(options: EvaluationOptions, real: DatasetInfo) -> dict[str, Any]:
    settings = {
        "dataset": {"path": options.dataset, "name": real.name, "fingerprint": real.fingerprint,
                    "resolution": real.resolution, "channels": real.channels, "folds": real.folds},
        "training": dataclasses.asdict(options.training),
        "seeds": options.seeds,
    }
    if any(uses_classic(regime) for regime in options.regimes):
        settings["augmentation"] = dataclasses.asdict(options.augmentation)
    if any(options.synthetic_pattern(regime) for regime in options.regimes):
        settings["synthetic"] = options.synthetic
        settings["synthetic_sets"] = dict(options.synthetic_sets)
    return _json_normalized(settings)


def _check_classifier(training: ClassifierTraining, real: DatasetInfo) -> None:
    """Build the classifier once, so that a wrong architecture or weights file fails before any training."""
    try:
        build_classifier(training.classifier, (real.resolution, real.resolution, real.channels),
                         real.num_classes, training.weights)
    except (ValueError, OSError) as error:
        raise TfpganError(f"classifier {training.classifier}: {error}") from None
    keras.backend.clear_session()


def _prepare_output(output: str, overwrite: bool) -> None:
    """Create the report folder (emptied first with ``overwrite``); refuse a folder holding something else."""
    if overwrite and os.path.isdir(output):
        shutil.rmtree(output)
    runs = os.path.join(output, RUNS_DIR)
    if os.path.exists(output) and not os.path.isdir(runs) and (not os.path.isdir(output) or os.listdir(output)):
        raise TfpganError(f"{output} exists and is not an evaluation report folder; choose another --output "
                          "(or pass --overwrite to replace it)")
    os.makedirs(runs, exist_ok=True)


def run_dir(output: str, regime: str, fold: int, seed: int = 0) -> str:
    """Where the run of ``regime`` on test fold ``fold``, repeat ``seed``, keeps its result and best weights."""
    return os.path.join(output, RUNS_DIR, regime, f"fold{fold}", f"seed{seed}")


RunKey = tuple[str, int, int]  # (regime, fold, repeat)


def _result_path(output: str, key: RunKey) -> str:
    return os.path.join(run_dir(output, *key), RESULT_FILE)


def _read_result(output: str, key: RunKey) -> dict[str, Any]:
    with open(_result_path(output, key), encoding="utf-8") as handle:
        return json.load(handle)


def _finished_runs(output: str, expected: dict[RunKey, dict[str, Any]]) -> set[RunKey]:
    """The runs with a result made with the expected settings; TfpganError if one was made with others."""
    finished, changed, differing = set(), [], set()
    for key, settings in expected.items():
        if not os.path.isfile(_result_path(output, key)):
            continue
        recorded = _read_result(output, key).get("settings", {})
        keys = {name for name in settings.keys() | recorded.keys() if settings.get(name) != recorded.get(name)}
        if keys:
            changed.append("{}/fold{}/seed{}".format(*key))
            differing |= keys
        else:
            finished.add(key)
    if changed:
        raise TfpganError(f"{output}: {len(changed)} finished run(s) ({', '.join(changed)}) were made with other "
                          f"{', '.join(sorted(differing))} settings; pass --overwrite to start fresh or choose "
                          "another --output (--classifier_steps fixes the step budget when added regimes change "
                          "the largest training set)")
    return finished


def _expected_runs(options: EvaluationOptions, real: DatasetInfo, plan: FoldPlan) -> dict[RunKey, dict[str, Any]]:
    return {(regime, plan.fold, repeat): run_settings(options, real, regime, plan)
            for repeat in range(options.seeds) for regime in options.regimes}


def _run_fold(options: EvaluationOptions, real: DatasetInfo, plan: FoldPlan, pending: Sequence[RunKey],
              real_folds: dict[int, LabeledArrays], expected: dict[RunKey, dict[str, Any]]) -> None:
    """Train and test the ``pending`` runs of one test fold: one validation split; per repeat, one seed."""
    fold = plan.fold
    real_train = LabeledArrays.concatenate([examples for f, examples in real_folds.items() if f != fold])
    validation_ids = sorted(plan.validation)
    validation = real_train.select_ids(validation_ids)
    train = real_train.subset([i for i, example_id in enumerate(real_train.ids) if example_id not in plan.validation])
    test = real_folds[fold]
    synthetic = {pattern: load_arrays(synthetic_dir(pattern, fold), resolution=real.resolution)
                 for pattern in sorted({options.synthetic_pattern(regime) for regime, _, _ in pending
                                        if uses_synthetic(regime)})}
    for key in pending:
        regime, _, repeat = key
        seed = run_seed(options.training.seed, fold, repeat)
        label = f"fold {fold} seed {repeat} {regime}"
        pattern = options.synthetic_pattern(regime)
        added = synthetic.get(pattern) if uses_synthetic(regime) else None
        examples = regime_training_set(regime, plan, train, added, seed)
        logger.info("%s: training on %d images (%d real, %d synthetic), %d validation, %d test, %d steps at most",
                    label, len(examples), len(train), 0 if added is None else len(added), len(validation), len(test),
                    plan.max_steps)
        result = train_and_test(
            examples, validation, test, real.classes, options.training,
            options.augmentation if uses_classic(regime) else None, seed, plan.schedule, run_dir(options.output, *key),
            os.path.join(options.output, TENSORBOARD_DIR, regime, f"fold{fold}", f"seed{repeat}"), label)
        result["training"].update(
            images=len(examples), real_images=len(train), synthetic_images=0 if added is None else len(added),
            synthetic=None if pattern is None else synthetic_dir(pattern, fold),
            class_counts=dict(zip(real.classes, examples.class_counts(real.num_classes).tolist())),
            train_ids=list(train.ids), validation_ids=validation_ids)
        write_json(_result_path(options.output, key),
                   {"regime": regime, "partition": options.partition, "fold": fold, "seed": repeat,
                    "settings": expected[key], **result})
        logger.info("%s: test accuracy %.3f after %d steps", label, result["metrics"]["accuracy"],
                    result["training"]["steps"])
        keras.backend.clear_session()


def train_runs(options: EvaluationOptions) -> tuple[DatasetInfo, list[int]]:
    """Train and test every (regime, fold, repeat) of ``options.folds`` not yet finished; returns (dataset, folds).

    Everything that can be checked (dataset, folds, validation splits, synthetic sets and their leakage,
    classifier, report folder, settings of finished runs) is checked before the first training starts.
    """
    real = read_info(options.dataset)
    folds = check_folds(real, options.folds, options.dataset)
    records = read_records(options.dataset)
    plans = {fold: plan_fold(options, real, records, fold) for fold in folds}
    _check_classifier(options.training, real)
    expected = {key: value for plan in plans.values() for key, value in _expected_runs(options, real, plan).items()}
    _prepare_output(options.output, options.overwrite)
    finished = _finished_runs(options.output, expected)
    for key in sorted(finished, key=lambda k: (k[1], k[2])):
        logger.info("fold %d seed %d %s: finished earlier, skipping (%s)", key[1], key[2], key[0],
                    run_dir(options.output, *key))
    pending = [key for key in expected if key not in finished]
    real_folds = {f: load_arrays(options.dataset, [f]) for f in range(real.folds)} if pending else {}
    for fold in folds:
        fold_pending = sorted((key for key in pending if key[1] == fold), key=lambda k: k[2])
        if fold_pending:
            _run_fold(options, real, plans[fold], fold_pending, real_folds, expected)
    return real, list(folds)


def _read_results(options: EvaluationOptions, folds: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    """Every regime's results of ``folds``, each naming ``options.partition``."""
    return {regime: [{**_read_result(options.output, (regime, fold, repeat)), "partition": options.partition}
                     for fold in folds for repeat in range(options.seeds)] for regime in options.regimes}


def _write_report(options: EvaluationOptions, real: DatasetInfo, folds: Sequence[int],
                  missing: Sequence[int] = ()) -> dict[str, Any]:
    return report.write_report(options.output, _read_results(options, folds), real.classes,
                               _report_settings(options, real), missing)


def run_evaluation(options: EvaluationOptions) -> dict[str, Any]:
    """Train and test every (regime, fold, repeat) not yet finished (``train_runs``), then (re)write the report
    of ``options.folds``. Returns the report (the content of report.json)."""
    real, folds = train_runs(options)
    return _write_report(options, real, folds)


def _fold_finished(options: EvaluationOptions, real: DatasetInfo, records: Sequence[ExampleRecord],
                   fold: int) -> bool:
    """Whether every run of test fold ``fold`` has a result made with the expected settings."""
    synthetic = {}
    for pattern in {options.synthetic_pattern(regime) for regime in options.regimes} - {None}:
        directory = synthetic_dir(pattern, fold)
        if not os.path.isdir(directory):
            return False
        synthetic[pattern] = read_info(directory)
    expected = _expected_runs(options, real, plan_fold(options, real, records, fold, synthetic))
    return len(_finished_runs(options.output, expected)) == len(expected)


def merge_report(options: EvaluationOptions, partitions: Sequence[EvaluationOptions] = ()) -> dict[str, Any]:
    """(Re)write the report, into ``options.output``, of every fold whose runs have all finished (runs made on other
    hosts included), of ``options`` and of the further re-partitioned evaluations ``partitions`` (each with its own
    dataset, same classes and fold count); report.json's ``missing_folds`` lists the others (as "partition P fold
    K" for P > 0). Trains nothing."""
    results: dict[str, list[dict[str, Any]]] = {regime: [] for regime in options.regimes}
    missing: list[int | str] = []
    settings: dict[str, Any] = {}
    for part in (options, *partitions):
        real = read_info(part.dataset)
        records = read_records(part.dataset)
        finished = [fold for fold in range(real.folds) if _fold_finished(part, real, records, fold)]
        missing += [fold if not part.partition else f"partition {part.partition} fold {fold}"
                    for fold in range(real.folds) if fold not in finished]
        for regime, regime_results in _read_results(part, finished).items():
            results[regime] += regime_results
        if part is options:
            settings, classes = _report_settings(part, real), real.classes
        else:
            settings.setdefault("partitions", []).append(
                {"partition": part.partition, **_report_settings(part, real)["dataset"]})
    if not any(results.values()):
        raise TfpganError(f"{options.output}: no fold has finished all of its evaluation runs yet: nothing to report")
    return report.write_report(options.output, results, classes, settings, missing)

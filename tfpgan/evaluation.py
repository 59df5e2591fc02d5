"""k-fold evaluation of a classifier under augmentation regimes.

For every selected test fold k and every regime, a fresh classifier trains on the other folds:

* ``none``: the real training images as they are;
* ``classic``: classic augmentation (rotation, flips, translation, zoom) applied on the fly;
* ``synthetic``: the real training images plus every image of a synthetic dataset folder;
* ``classic+synthetic``: both, the classic augmentation applied to real and synthetic images.

The checkpoint with the lowest validation loss is kept; the validation split is stratified and
carved from the real training folds only, so it is identical for every regime of a fold. Every
regime of a fold also starts from the same seed (same initial weights), which makes the
comparison between regimes a paired one.

A synthetic set is refused unless its ``dataset.json`` proves it leak-free: ``extra["generator"]``
must name the real dataset's fingerprint and the folds the generator was trained on, and those
must exclude the test fold.

Every finished run writes ``OUTPUT/runs/REGIME/foldK/result.json`` atomically, with the settings it
was made with; a later call skips finished runs (and refuses ones made with other settings), so an
interrupted evaluation resumes where it stopped and regimes or folds can be added later. Folds can also
be evaluated by separate processes (hosts) into one folder; ``merge_report`` then reports every finished one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from tfpgan import report
from tfpgan.atomic import write_json
from tfpgan.data.augment import make_augmenter
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import DataError, TfpganError
from tfpgan.labeled import LabeledArrays, load_arrays
from tfpgan.metrics.classification import classification_metrics
from tfpgan.models.classifiers import build_classifier
from tfpgan.options import ClassicAugmentation, ClassifierTraining, EvaluationOptions, uses_classic, uses_synthetic
from tfpgan.run_folder import BEST_WEIGHTS_FILE, FOLD_PLACEHOLDER, RESULT_FILE, RUNS_DIR, TENSORBOARD_DIR

logger = logging.getLogger(__name__)

OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}
GENERATOR_KEYS = ("trained_on_folds", "dataset_fingerprint")


class LeakageError(TfpganError):
    """A synthetic set cannot be shown to be free of test-fold images."""


def synthetic_dir(pattern: str, fold: int) -> str:
    """The synthetic set for test fold ``fold``: ``{fold}`` in ``pattern`` replaced by the index."""
    return pattern.replace(FOLD_PLACEHOLDER, str(fold))


def fold_seed(seed: int, fold: int) -> int:
    """The seed of every run on test fold ``fold``: the same for all regimes (paired comparison)."""
    return seed + fold


def check_leakage(synthetic: DatasetInfo, where: str, real: DatasetInfo, test_fold: int) -> None:
    """Raise LeakageError unless the synthetic set's generator provably never saw ``test_fold``."""
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


def check_synthetic_set(directory: str, real: DatasetInfo, test_fold: int) -> DatasetInfo:
    """Read a synthetic dataset folder and check it may serve as training data for ``test_fold``.

    Raises LeakageError (see check_leakage) or DataError when its classes or channels differ from
    the real dataset's or its resolution is lower.
    """
    synthetic = read_info(directory)
    check_leakage(synthetic, directory, real, test_fold)
    if synthetic.classes != real.classes:
        raise DataError(f"{directory}: classes {synthetic.classes} differ from the real dataset's {real.classes}")
    if synthetic.channels != real.channels:
        raise DataError(f"{directory}: {synthetic.channels} channel(s); the real dataset has {real.channels}")
    if synthetic.resolution < real.resolution:
        raise DataError(f"{directory}: resolution {synthetic.resolution} is below the real dataset's "
                        f"{real.resolution}; synthesize at {real.resolution} or more")
    return synthetic


def split_validation(examples: LabeledArrays, fraction: float, seed: int) -> tuple[LabeledArrays, LabeledArrays]:
    """(training, validation): a stratified split with at least one validation image per class."""
    num_classes = len(np.unique(examples.labels))
    size = max(num_classes, round(fraction * len(examples)))
    try:
        train_index, validation_index = train_test_split(
            np.arange(len(examples)), test_size=size, stratify=examples.labels, random_state=seed)
    except ValueError as error:
        raise DataError(f"cannot carve a stratified validation split of {size} from {len(examples)} "
                        f"training images: {error}") from None
    return examples.subset(np.sort(train_index)), examples.subset(np.sort(validation_index))


def _training_dataset(examples: LabeledArrays, batch_size: int, seed: int,
                      augmentation: ClassicAugmentation | None) -> tf.data.Dataset:
    """Shuffled batches, reshuffled every epoch, classic-augmented in the graph when asked."""
    dataset = tf.data.Dataset.from_tensor_slices((examples.images, examples.labels))
    dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augmentation is not None:
        dataset = dataset.map(make_augmenter(augmentation, seed))  # sequential: reproducible random draws
    return dataset.prefetch(tf.data.AUTOTUNE)


def _progress_logger(label: str, epochs: int) -> keras.callbacks.Callback:
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logger.info(
        "%s epoch %d/%d: loss %.4f, accuracy %.3f, val loss %.4f, val accuracy %.3f", label, epoch + 1, epochs,
        logs["loss"], logs["accuracy"], logs["val_loss"], logs["val_accuracy"]))


def train_and_test(train: LabeledArrays, validation: LabeledArrays, test: LabeledArrays, class_names: Sequence[str],
                   training: ClassifierTraining, augmentation: ClassicAugmentation | None, seed: int,
                   run_directory: str, tensorboard_dir: str, label: str) -> dict[str, Any]:
    """Train one classifier, keep its best-validation-loss weights and score it on ``test``.

    Writes ``run_directory/best.weights.h5`` and TensorBoard logs (both folders are emptied first).
    Returns classification_metrics of the test set (``metrics``), the per-example ``y_true``,
    ``y_prob``, ``ids`` and a ``training`` record.
    """
    keras.utils.set_random_seed(seed)
    model = build_classifier(training.classifier, train.images.shape[1:], len(class_names), training.weights)
    model.compile(optimizer=OPTIMIZERS[training.optimizer](learning_rate=training.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for leftovers in (run_directory, tensorboard_dir):  # of an interrupted attempt
        shutil.rmtree(leftovers, ignore_errors=True)
    os.makedirs(run_directory)
    best_weights = os.path.join(run_directory, BEST_WEIGHTS_FILE)
    history = model.fit(
        _training_dataset(train, training.batch_size, seed, augmentation),
        epochs=training.epochs,
        validation_data=(validation.images, validation.labels),
        callbacks=[
            keras.callbacks.ModelCheckpoint(best_weights, monitor="val_loss", save_best_only=True,
                                            save_weights_only=True),
            keras.callbacks.TensorBoard(tensorboard_dir, write_graph=False),
            _progress_logger(label, training.epochs),
        ],
        shuffle=False,  # the dataset reshuffles itself, reproducibly
        verbose=0,
    )
    if not os.path.isfile(best_weights):
        raise TfpganError(f"{label}: the validation loss was never finite (try a lower learning rate)")
    model.load_weights(best_weights)
    y_prob = model.predict(test.images, batch_size=training.batch_size, verbose=0)
    val_losses = history.history["val_loss"]
    return {
        "metrics": classification_metrics(test.labels, y_prob, class_names),
        "y_true": test.labels.tolist(),
        "y_prob": y_prob.tolist(),
        "ids": list(test.ids),
        "training": {
            "images": len(train),
            "validation_images": len(validation),
            "best_epoch": int(np.nanargmin(val_losses)) + 1,
            "best_val_loss": float(np.nanmin(val_losses)),
            "seed": seed,
        },
    }


def _json_normalized(content: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(content))


def run_settings(options: EvaluationOptions, real: DatasetInfo, regime: str,
                 synthetic: DatasetInfo | None) -> dict[str, Any]:
    """What a finished run of ``regime`` must have been made with to be reused on resumption."""
    settings = {"dataset_fingerprint": real.fingerprint, "training": dataclasses.asdict(options.training)}
    if uses_classic(regime):
        settings["augmentation"] = dataclasses.asdict(options.augmentation)
    if uses_synthetic(regime):
        settings["synthetic_fingerprint"] = synthetic.fingerprint
    return _json_normalized(settings)


def _report_settings(options: EvaluationOptions, real: DatasetInfo) -> dict[str, Any]:
    settings = {
        "dataset": {"path": options.dataset, "name": real.name, "fingerprint": real.fingerprint,
                    "resolution": real.resolution, "channels": real.channels, "folds": real.folds},
        "training": dataclasses.asdict(options.training),
    }
    if any(uses_classic(regime) for regime in options.regimes):
        settings["augmentation"] = dataclasses.asdict(options.augmentation)
    if any(uses_synthetic(regime) for regime in options.regimes):
        settings["synthetic"] = options.synthetic
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


def run_dir(output: str, regime: str, fold: int) -> str:
    """Where the run of ``regime`` on test fold ``fold`` keeps its result and best weights."""
    return os.path.join(output, RUNS_DIR, regime, f"fold{fold}")


def _result_path(output: str, regime: str, fold: int) -> str:
    return os.path.join(run_dir(output, regime, fold), RESULT_FILE)


def _read_result(output: str, regime: str, fold: int) -> dict[str, Any]:
    with open(_result_path(output, regime, fold), encoding="utf-8") as handle:
        return json.load(handle)


def _finished_runs(output: str, expected: dict[tuple[str, int], dict[str, Any]]) -> set[tuple[str, int]]:
    """The runs with a result made with the expected settings; TfpganError if one was made with others."""
    finished, changed, differing = set(), [], set()
    for (regime, fold), settings in expected.items():
        if not os.path.isfile(_result_path(output, regime, fold)):
            continue
        recorded = _read_result(output, regime, fold).get("settings", {})
        keys = {key for key in settings.keys() | recorded.keys() if settings.get(key) != recorded.get(key)}
        if keys:
            changed.append(f"{regime}/fold{fold}")
            differing |= keys
        else:
            finished.add((regime, fold))
    if changed:
        raise TfpganError(f"{output}: {len(changed)} finished run(s) ({', '.join(changed)}) were made with other "
                          f"{', '.join(sorted(differing))} settings; pass --overwrite to start fresh or choose "
                          "another --output")
    return finished


def _run_fold(options: EvaluationOptions, real: DatasetInfo, fold: int, regimes: Sequence[str],
              real_folds: dict[int, LabeledArrays], synthetic_set: str | None,
              expected: dict[tuple[str, int], dict[str, Any]]) -> None:
    """Train and test ``regimes`` on test fold ``fold``, all from the same seed and validation split."""
    seed = fold_seed(options.training.seed, fold)
    real_train = LabeledArrays.concatenate([examples for f, examples in real_folds.items() if f != fold])
    train, validation = split_validation(real_train, options.training.validation_fraction, seed)
    test = real_folds[fold]
    synthetic = None
    if any(uses_synthetic(regime) for regime in regimes):
        synthetic = load_arrays(synthetic_set, resolution=real.resolution)
    for regime in regimes:
        label = f"fold {fold} {regime}"
        added = synthetic if uses_synthetic(regime) else None
        logger.info("%s: training on %d real + %d synthetic images, %d validation, %d test", label,
                    len(train), 0 if added is None else len(added), len(validation), len(test))
        result = train_and_test(
            train if added is None else LabeledArrays.concatenate([train, added]), validation, test, real.classes,
            options.training, options.augmentation if uses_classic(regime) else None, seed,
            run_dir(options.output, regime, fold),
            os.path.join(options.output, TENSORBOARD_DIR, regime, f"fold{fold}"), label)
        result["training"].update(real_images=len(train), synthetic_images=0 if added is None else len(added),
                                  synthetic=None if added is None else synthetic_set)
        write_json(_result_path(options.output, regime, fold),
                   {"regime": regime, "fold": fold, "settings": expected[(regime, fold)], **result})
        logger.info("%s: test accuracy %.3f", label, result["metrics"]["accuracy"])
        keras.backend.clear_session()


def train_runs(options: EvaluationOptions) -> tuple[DatasetInfo, list[int]]:
    """Train and test every (regime, fold) of ``options.folds`` not yet finished; returns (dataset, folds).

    Everything that can be checked (dataset, folds, synthetic sets and their leakage, classifier,
    report folder, settings of finished runs) is checked before the first training starts.
    """
    real = read_info(options.dataset)
    folds = check_folds(real, options.folds, options.dataset)
    synthetic_sets, synthetic_infos = {}, {}
    if any(uses_synthetic(regime) for regime in options.regimes):
        for fold in folds:
            synthetic_sets[fold] = synthetic_dir(options.synthetic, fold)
            synthetic_infos[fold] = check_synthetic_set(synthetic_sets[fold], real, fold)
    _check_classifier(options.training, real)
    expected = {(regime, fold): run_settings(options, real, regime, synthetic_infos.get(fold))
                for fold in folds for regime in options.regimes}
    _prepare_output(options.output, options.overwrite)
    finished = _finished_runs(options.output, expected)
    for regime, fold in expected:
        if (regime, fold) in finished:
            logger.info("fold %d %s: finished earlier, skipping (%s)", fold, regime,
                        run_dir(options.output, regime, fold))
    pending_folds = sorted({fold for regime, fold in expected if (regime, fold) not in finished})
    real_folds = {f: load_arrays(options.dataset, [f]) for f in range(real.folds)} if pending_folds else {}
    for fold in pending_folds:
        regimes = [regime for regime in options.regimes if (regime, fold) not in finished]
        _run_fold(options, real, fold, regimes, real_folds, synthetic_sets.get(fold), expected)
    return real, list(folds)


def _write_report(options: EvaluationOptions, real: DatasetInfo, folds: Sequence[int],
                  missing: Sequence[int] = ()) -> dict[str, Any]:
    results = {regime: [_read_result(options.output, regime, fold) for fold in folds] for regime in options.regimes}
    return report.write_report(options.output, results, real.classes, _report_settings(options, real), missing)


def run_evaluation(options: EvaluationOptions) -> dict[str, Any]:
    """Train and test every (regime, fold) not yet finished (``train_runs``), then (re)write the report of
    ``options.folds``. Returns the report (the content of report.json)."""
    real, folds = train_runs(options)
    return _write_report(options, real, folds)


def _fold_finished(options: EvaluationOptions, real: DatasetInfo, fold: int) -> bool:
    """Whether every regime of test fold ``fold`` has a result made with the expected settings."""
    synthetic = None
    if any(uses_synthetic(regime) for regime in options.regimes):
        directory = synthetic_dir(options.synthetic, fold)
        if not os.path.isdir(directory):
            return False
        synthetic = read_info(directory)
    expected = {(regime, fold): run_settings(options, real, regime, synthetic) for regime in options.regimes}
    return len(_finished_runs(options.output, expected)) == len(expected)


def merge_report(options: EvaluationOptions) -> dict[str, Any]:
    """(Re)write the report of every fold of the dataset whose regimes have all finished (runs made on other
    hosts included); report.json's ``missing_folds`` lists the others. Trains nothing."""
    real = read_info(options.dataset)
    folds = range(real.folds)
    finished = [fold for fold in folds if _fold_finished(options, real, fold)]
    if not finished:
        raise TfpganError(f"{options.output}: no fold has finished all of its evaluation runs yet: nothing to report")
    return _write_report(options, real, finished, [fold for fold in folds if fold not in finished])

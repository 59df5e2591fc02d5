"""Tests for tfpgan.evaluation: leakage guard, regimes, equal training, validation split, seeds, resume."""

import dataclasses
import json
import logging
import math
import os
import re
import shutil
from collections import Counter

import keras
import numpy as np
import pytest

from tfpgan import evaluation, run_folder
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import INFO_FILE, read_info
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError, TfpganError
from tfpgan.evaluation import LeakageError, check_synthetic_set, merge_report, plan_fold, run_evaluation
from tfpgan.labeled import LabeledArrays, read_records
from tfpgan.options import (
    BuildOptions,
    ClassicAugmentation,
    ClassifierTraining,
    EvaluationOptions,
    OptionsError,
    parse_folds,
    parse_named_paths,
)
from tfpgan.validation import validation_ids

CLASSES = ("benign", "malignant")
REAL_COUNTS = (32, 16)  # two images per patient
SYNTHETIC_COUNTS = (4, 12)
SIZE = 8
BATCH = 16
FAST = ClassifierTraining(classifier="cnn", epochs=2, batch_size=BATCH, seed=3, validation_fraction=0.25,
                          min_steps=0)
BUDGET = 5  # --classifier_steps of the whole evaluations: it ends within their second epoch


def _source(counts, size, seed, classes=CLASSES, prefix="", grouped=True):
    """Noise images; the second class is brighter, so a classifier can tell them apart."""
    rng = np.random.default_rng(seed)
    items = []
    for label, (name, count) in enumerate(zip(classes, counts)):
        for i in range(count):
            pixels = (rng.integers(0, 128, (size, size, 1)) + 100 * label).astype(np.uint8)
            items.append(Item(f"{prefix}{name}/{i:03d}", label, lambda pixels=pixels: pixels,
                              group=f"{name}-patient{i // 2}" if grouped else ""))
    return Source("memory", tuple(classes), items)


def build_real_dataset(path, size=SIZE):
    """48 images of 2 classes (32 + 16, two per patient) in 2 folds."""
    return build_dataset(_source(REAL_COUNTS, size, seed=0), str(path), BuildOptions(resolution=size, folds=2))


def validation_of(dataset, fold, training=FAST):
    """id -> fold of the validation images of test fold `fold`."""
    folds = {r.id: r.fold for r in read_records(dataset)}
    return {i: folds[i] for i in validation_ids(dataset, fold, training.validation_fraction, training.seed)}


def generator_metadata(real, trained_on_folds, excluded_ids=None, **changes):
    """extra["generator"] as tools.synthesize records it (excluded_ids: None records no such key)."""
    test_folds = [fold for fold in range(real.folds) if fold not in trained_on_folds]
    metadata = {"trained_on_folds": trained_on_folds, "dataset_fingerprint": real.fingerprint,
                "test_fold": test_folds[0] if len(test_folds) == 1 else -1, **changes}
    if excluded_ids is not None:
        metadata["excluded_ids"] = list(excluded_ids)
    return metadata


def build_synthetic_set(path, generator, size=SIZE, classes=CLASSES, counts=SYNTHETIC_COUNTS, seed=7):
    """A dataset folder standing in for tools.synthesize output; generator=None records no metadata."""
    build_dataset(_source(counts, size, seed=seed, classes=classes, prefix="synthetic/", grouped=False), str(path),
                  BuildOptions(resolution=size, folds=1 if min(counts) < 2 else 2))
    info_path = os.path.join(path, INFO_FILE)
    with open(info_path, encoding="utf-8") as handle:
        info = json.load(handle)
    if generator is not None:
        info["extra"]["generator"] = generator
    with open(info_path, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
    return str(path)


def fold_synthetic_set(path, dataset, info, fold, **kwargs):
    """The synthetic set of a well-made GAN for test fold `fold`: trained on the other fold, validation excluded."""
    metadata = generator_metadata(info, [1 - fold], excluded_ids=validation_of(dataset, fold))
    return build_synthetic_set(path, metadata, **kwargs)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    return str(root / "lesions8"), build_real_dataset(root / "lesions8")


# --- leakage guard -------------------------------------------------------------------------------------------


def test_accepts_a_generator_trained_without_the_test_fold(real, tmp_path):
    _, info = real
    synthetic = build_synthetic_set(tmp_path / "synthetic", generator_metadata(info, [1]))
    assert check_synthetic_set(synthetic, info, test_fold=0).num_examples == sum(SYNTHETIC_COUNTS)


def test_refuses_a_generator_trained_on_the_test_fold(real, tmp_path):
    _, info = real
    synthetic = build_synthetic_set(tmp_path / "synthetic", generator_metadata(info, [1]))
    with pytest.raises(LeakageError, match=r"trained on folds \[1\], which include test fold 1"):
        check_synthetic_set(synthetic, info, test_fold=1)


def test_refuses_a_generator_of_another_dataset(real, tmp_path):
    _, info = real
    metadata = generator_metadata(info, [1], dataset_fingerprint="f" * 64, dataset="/data/other64")
    synthetic = build_synthetic_set(tmp_path / "synthetic", metadata)
    with pytest.raises(LeakageError, match="trained on another dataset, /data/other64 "):
        check_synthetic_set(synthetic, info, test_fold=0)


@pytest.mark.parametrize("left_out", ["generator", "trained_on_folds", "dataset_fingerprint"])
def test_refuses_a_set_without_generator_metadata(real, tmp_path, left_out):
    _, info = real
    metadata = {k: v for k, v in generator_metadata(info, [1]).items() if k != left_out}
    synthetic = build_synthetic_set(tmp_path / "synthetic", None if left_out == "generator" else metadata)
    with pytest.raises(LeakageError, match="no generator metadata"):
        check_synthetic_set(synthetic, info, test_fold=0)


def test_refuses_a_set_of_lower_resolution_or_other_classes(real, tmp_path):
    _, info = real
    small = build_synthetic_set(tmp_path / "small", generator_metadata(info, [1]), size=4)
    with pytest.raises(DataError, match="resolution 4 is below the real dataset's 8"):
        check_synthetic_set(small, info, test_fold=0)
    other = build_synthetic_set(tmp_path / "other", generator_metadata(info, [1]), classes=("cyst", "malignant"))
    with pytest.raises(DataError, match="classes"):
        check_synthetic_set(other, info, test_fold=0)


def test_refuses_a_generator_that_saw_validation_images(real, tmp_path):
    dataset, info = real
    validation = validation_of(dataset, 0)
    ids = sorted(validation)
    assert len(ids) >= 2 and set(validation.values()) == {1}
    unexcluded = build_synthetic_set(tmp_path / "none", generator_metadata(info, [1]))
    with pytest.raises(LeakageError, match=rf"trained on {len(ids)} of the {len(ids)} validation images of test fold "
                                           rf"0 \(e.g. '{re.escape(ids[0])}'\).*tools.split_validation.*--exclude_ids"):
        check_synthetic_set(unexcluded, info, 0, validation)
    partly = build_synthetic_set(tmp_path / "partly", generator_metadata(info, [1], excluded_ids=ids[1:]))
    with pytest.raises(LeakageError, match=rf"trained on 1 of the {len(ids)} validation images"):
        check_synthetic_set(partly, info, 0, validation)
    whole = build_synthetic_set(tmp_path / "whole", generator_metadata(info, [1], excluded_ids=ids))
    assert check_synthetic_set(whole, info, 0, validation).num_examples == sum(SYNTHETIC_COUNTS)


def test_a_leaky_set_stops_the_evaluation_before_any_work(real, tmp_path):
    dataset, info = real
    synthetic = fold_synthetic_set(tmp_path / "synthetic", dataset, info, 0)  # for fold 0 only
    options = EvaluationOptions(dataset, str(tmp_path / "report"), regimes=("none", "synthetic"),
                                synthetic=synthetic, training=FAST)
    with pytest.raises(LeakageError, match="test fold 1"):
        run_evaluation(options)
    unexcluded = build_synthetic_set(tmp_path / "unexcluded", generator_metadata(info, [1]))
    with pytest.raises(LeakageError, match="validation images of test fold 0"):
        run_evaluation(dataclasses.replace(options, synthetic=unexcluded, folds=(0,)))
    assert not os.path.exists(tmp_path / "report")


# --- options -------------------------------------------------------------------------------------------------


def test_options_are_validated():
    assert parse_folds("all") is None and parse_folds("0,2") == (0, 2)
    assert evaluation.synthetic_dir("gan/fold{fold}/synthetic", 3) == "gan/fold3/synthetic"
    for text in ("-1", "0,0", "one"):
        with pytest.raises(OptionsError, match=f"folds must be 'all' or .*fold indices like '0,2', got '{text}'"):
            parse_folds(text)
    with pytest.raises(OptionsError, match=re.escape("--regimes must be one of none, classic, synthetic, "
                                                     "classic+synthetic, oversample, classic+oversample (")):
        EvaluationOptions("data", "out", regimes=("none", "gan"))
    with pytest.raises(OptionsError, match="--synthetic is needed by regime synthetic"):
        EvaluationOptions("data", "out", regimes=("synthetic",))
    nothing = ClassicAugmentation(rotation_degrees=0, horizontal_flip=False, vertical_flip=False,
                                  translate_pixels=0, zoom=0)
    with pytest.raises(OptionsError, match="--regimes has classic regimes but every classic augmentation is switched"):
        EvaluationOptions("data", "out", regimes=("classic",), augmentation=nothing)
    with pytest.raises(ValueError, match=re.escape("--validation_fraction must be in (0, 1), got 0.0")):
        ClassifierTraining(validation_fraction=0.0)
    with pytest.raises(OptionsError, match="--class_weighting must be one of none, balanced, got 'inverse'"):
        ClassifierTraining(class_weighting="inverse")


def test_named_synthetic_sets_and_regime_names():
    sets = parse_named_paths("big:runs/fold{fold}/big, small:s/{fold}")
    assert sets == {"big": "runs/fold{fold}/big", "small": "s/{fold}"}
    regimes = ("none", "oversample", "synthetic[big]", "classic+oversample[small]", "classic+synthetic")
    options = EvaluationOptions("data", "out", regimes=regimes, synthetic="d/{fold}", synthetic_sets=sets)
    assert [options.synthetic_pattern(r) for r in options.regimes] == [None, "d/{fold}", "runs/fold{fold}/big",
                                                                       "s/{fold}", "d/{fold}"]
    assert EvaluationOptions("data", "out", regimes=("oversample",)).synthetic_pattern("oversample") is None
    with pytest.raises(OptionsError, match=r"--synthetic_sets has no set 'huge' \(regime synthetic\[huge\]\); known "
                                           "sets: big, small"):
        EvaluationOptions("data", "out", regimes=("synthetic[huge]",), synthetic_sets=sets)
    with pytest.raises(OptionsError, match=r"--regimes names a synthetic set in 'classic\[big\]', but classic uses"):
        EvaluationOptions("data", "out", regimes=("classic[big]",), synthetic_sets=sets)
    for text, message in (("big", "NAME:PATH"), ("a b:x", "NAME:PATH"), ("a:x,a:y", "'a' is named twice")):
        with pytest.raises(OptionsError, match=message):
            parse_named_paths(text)


# --- the plan of a fold: class counts and equal steps ---------------------------------------------------------


def test_plan_gives_oversampling_the_synthetic_counts_and_every_regime_one_step_budget(real, tmp_path):
    dataset, info = real
    fold_synthetic_set(tmp_path / "small0", dataset, info, 0)
    fold_synthetic_set(tmp_path / "big0", dataset, info, 0, counts=(40, 50), seed=9)
    options = EvaluationOptions(dataset, str(tmp_path / "out"), training=FAST, synthetic=str(tmp_path / "small{fold}"),
                                synthetic_sets={"big": str(tmp_path / "big{fold}")},
                                regimes=("none", "synthetic", "oversample", "oversample[big]", "classic+oversample"))
    plan = plan_fold(options, info, read_records(dataset), 0)

    fold1 = Counter(r.label for r in read_records(dataset) if r.fold == 1 and r.id not in plan.validation)
    real_counts = (fold1[0], fold1[1])
    assert plan.real_counts == real_counts and real_counts[0] > real_counts[1]
    assert plan.class_counts["none"] == real_counts
    synthetic = (real_counts[0] + 4, real_counts[1] + 12)
    assert plan.class_counts["synthetic"] == plan.class_counts["oversample"] == synthetic
    assert plan.class_counts["classic+oversample"] == synthetic
    assert plan.class_counts["oversample[big]"] == (real_counts[0] + 40, real_counts[1] + 50)
    assert plan.steps_per_epoch == math.ceil((sum(real_counts) + 90) / BATCH)  # the largest regime's set
    assert plan.max_steps == FAST.epochs * plan.steps_per_epoch
    budget = dataclasses.replace(options, training=dataclasses.replace(FAST, steps=7))
    assert plan_fold(budget, info, read_records(dataset), 0).max_steps == 7
    floor = dataclasses.replace(options, training=dataclasses.replace(FAST, min_steps=plan.max_steps + 3))
    assert plan_fold(floor, info, read_records(dataset), 0).max_steps == plan.max_steps + 3  # at least min_steps
    without_set = dataclasses.replace(options, regimes=("none", "oversample"), synthetic=None)
    balanced = plan_fold(without_set, info, read_records(dataset), 0)
    assert balanced.class_counts["oversample"] == (real_counts[0], real_counts[0])
    assert balanced.steps_per_epoch == math.ceil(2 * real_counts[0] / BATCH)


# --- one classifier run: batches, budget, early stopping, class weights -----------------------------------------


def test_training_dataset_shows_every_example_once_per_pass_reshuffled():
    examples = LabeledArrays(np.arange(12, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32),
                             np.arange(12) % 3, [str(i) for i in range(12)])
    batches = list(evaluation.training_dataset(examples, 4, seed=1, augmentation=None).take(6).as_numpy_iterator())
    seen = np.concatenate([images[:, 0, 0, 0] for images, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    assert sorted(seen[:12].tolist()) == sorted(seen[12:].tolist()) == list(range(12))
    assert seen[:12].tolist() != seen[12:].tolist()
    np.testing.assert_array_equal(labels, seen.astype(int) % 3)


def _tiny_model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_best_validation_stops_early_and_keeps_the_best_weights(tmp_path):
    model = _tiny_model()
    best = evaluation.BestValidation(str(tmp_path / "best.weights.h5"), max_steps=100, patience=2, min_steps=0)
    best.set_model(model)
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.8, 0.9]):
        if model.stop_training:
            break
        model.layers[0].kernel.assign([[float(epoch)]])
        for _ in range(3):
            best.on_train_batch_end(0)
        best.on_epoch_end(epoch, {"val_loss": loss})
    assert model.stop_training and best.stopped_early
    assert best.record() == {"steps": 12, "max_steps": 100, "best_epoch": 2, "best_step": 6, "stopped_early": True,
                             "best_val_loss": 0.5}
    model.load_weights(best.path)
    assert float(model.layers[0].kernel.numpy()[0, 0]) == 1.0  # the weights of epoch 2


def test_best_validation_never_stops_early_below_min_steps_and_stops_at_the_budget(tmp_path):
    model = _tiny_model()
    best = evaluation.BestValidation(str(tmp_path / "best.weights.h5"), max_steps=10, patience=1, min_steps=8)
    best.set_model(model)
    for epoch, (steps, loss) in enumerate([(1, 1.0), (3, 2.0), (3, 2.0), (1, 2.0)]):
        assert not model.stop_training  # epochs 2 and 3 are past the patience, but below 8 steps
        for _ in range(steps):
            best.on_train_batch_end(0)
        best.on_epoch_end(epoch, {"val_loss": loss})
    assert model.stop_training and best.stopped_early and (best.steps, best.best_epoch, best.best_step) == (8, 1, 1)

    budget = evaluation.BestValidation(str(tmp_path / "other.weights.h5"), max_steps=5, patience=1, min_steps=0)
    budget.set_model(_tiny_model())
    stops = []
    for _ in range(5):
        budget.on_train_batch_end(0)
        stops.append(budget.model.stop_training)
    assert stops == [False] * 4 + [True]
    budget.on_epoch_end(0, {"val_loss": 1.0})
    assert not budget.stopped_early and budget.best_step == 5 and os.path.isfile(budget.path)


def test_balanced_class_weights():
    assert evaluation.class_weights(np.array([0, 0, 0, 1]), "none") is None
    assert evaluation.class_weights(np.array([0, 0, 0, 1]), "balanced") == pytest.approx({0: 4 / 6, 1: 2.0})


# --- whole evaluations: what reached the classifier, validation, seeds, resume ---------------------------------


@pytest.fixture(scope="module")
def evaluated(real, tmp_path_factory):
    """none, synthetic and oversample on both folds, with a spy on every training set and its batches."""
    dataset, info = real
    root = tmp_path_factory.mktemp("evaluation")
    for fold in range(info.folds):
        fold_synthetic_set(root / f"gan{fold}" / "synthetic", dataset, info, fold)
    options = EvaluationOptions(dataset, str(root / "report"), regimes=("none", "synthetic", "oversample"),
                                synthetic=str(root / "gan{fold}" / "synthetic"),
                                training=dataclasses.replace(FAST, steps=BUDGET))
    calls = []
    original = evaluation.training_dataset

    def spy(examples, batch_size, seed, augmentation):
        """Records the training set and whether a pass over a twin of the dataset shows exactly its images."""
        twin = original(examples, batch_size, seed, augmentation)
        seen = np.concatenate([images for images, _ in twin.take(math.ceil(len(examples) / batch_size))
                               .as_numpy_iterator()])[:len(examples)]
        calls.append({"ids": list(examples.ids), "counts": examples.class_counts(2).tolist(), "seed": seed,
                      "one_pass_is_the_set": sorted(map(bytes, seen)) == sorted(map(bytes, examples.images))})
        return original(examples, batch_size, seed, augmentation)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "training_dataset", spy)
        report = run_evaluation(options)
    runs = [(regime, fold) for fold in range(2) for regime in options.regimes]  # in training order
    assert len(calls) == len(runs)
    return options, report, dict(zip(runs, calls))


def _result(options, regime, fold, seed=0):
    with open(os.path.join(evaluation.run_dir(options.output, regime, fold, seed), run_folder.RESULT_FILE)) as handle:
        return json.load(handle)


def test_validation_split_is_disjoint_grouped_and_shared_by_every_regime(evaluated, real):
    options, _, _ = evaluated
    dataset, _ = real
    records = {r.id: r for r in read_records(dataset)}
    for fold in (0, 1):
        results = [_result(options, regime, fold) for regime in options.regimes]
        validation = results[0]["training"]["validation_ids"]
        assert validation == validation_ids(dataset, fold, FAST.validation_fraction, FAST.seed)
        for result in results:
            train, test = set(result["training"]["train_ids"]), set(result["ids"])
            assert result["training"]["validation_ids"] == validation
            assert not train & set(validation) and not test & set(validation) and not train & test
            assert train | set(validation) == {i for i, r in records.items() if r.fold != fold}
            assert test == {i for i, r in records.items() if r.fold == fold}
            assert not {records[i].group for i in validation} & {records[i].group for i in train}


def test_synthetic_images_reach_the_classifier_batches(evaluated):
    options, _, calls = evaluated
    for fold in (0, 1):
        synthetic_ids = {r.id for r in read_records(options.synthetic.replace("{fold}", str(fold)))}
        train_ids = _result(options, "none", fold)["training"]["train_ids"]
        none, synthetic = calls[("none", fold)], calls[("synthetic", fold)]
        assert none["ids"] == train_ids and not synthetic_ids & set(none["ids"])
        assert set(synthetic["ids"]) == set(train_ids) | synthetic_ids
        assert synthetic["counts"] == [a + b for a, b in zip(none["counts"], SYNTHETIC_COUNTS)]
        assert all(call["one_pass_is_the_set"] for call in (none, synthetic))
        training = _result(options, "synthetic", fold)["training"]
        assert training["synthetic_images"] == sum(SYNTHETIC_COUNTS) and training["images"] == len(synthetic["ids"])
        assert training["class_counts"] == dict(zip(CLASSES, synthetic["counts"]))


def test_oversample_reaches_exactly_the_synthetic_regime_counts_with_real_images(evaluated):
    options, _, calls = evaluated
    for fold in (0, 1):
        train_ids = _result(options, "none", fold)["training"]["train_ids"]
        oversample, synthetic = calls[("oversample", fold)], calls[("synthetic", fold)]
        assert oversample["counts"] == synthetic["counts"] and oversample["one_pass_is_the_set"]
        assert set(oversample["ids"]) == set(train_ids)  # only real images, every one at least once
        result = _result(options, "oversample", fold)["training"]
        assert result["class_counts"] == dict(zip(CLASSES, synthetic["counts"])) and result["synthetic_images"] == 0


def test_every_regime_trains_the_same_steps_from_the_same_seed(evaluated):
    options, _, calls = evaluated
    for fold in (0, 1):
        largest = len(calls[("synthetic", fold)]["ids"])
        per_epoch = math.ceil(largest / BATCH)
        for regime in options.regimes:
            result = _result(options, regime, fold)
            training = result["training"]
            assert (result["regime"], result["fold"], result["seed"]) == (regime, fold, 0)
            assert training["steps_per_epoch"] == per_epoch and BUDGET % per_epoch and BUDGET // per_epoch == 1
            assert training["steps"] == training["max_steps"] == BUDGET  # stopped within the second epoch
            assert not training["stopped_early"] and training["best_step"] in (per_epoch, BUDGET)
            assert training["best_epoch"] == training["best_step"] // per_epoch + (training["best_step"] == BUDGET)
            assert training["seed"] == calls[(regime, fold)]["seed"] == FAST.seed + fold
            assert os.path.isfile(os.path.join(evaluation.run_dir(options.output, regime, fold), "best.weights.h5"))


def test_each_run_tests_its_fold(evaluated, real):
    options, report, _ = evaluated
    for fold in (0, 1):
        for regime in options.regimes:
            result = _result(options, regime, fold)
            y_true = [CLASSES.index(i.split("/")[0]) for i in result["ids"]]  # the ids name the class
            predicted = np.argmax(result["y_prob"], axis=1)
            assert result["y_true"] == y_true and result["ids"] == sorted(result["ids"])
            confusion = np.zeros((len(CLASSES), len(CLASSES)), int)
            np.add.at(confusion, (y_true, predicted), 1)
            assert result["metrics"]["confusion_matrix"] == confusion.tolist()
    assert report["folds"] == [0, 1] and os.path.isfile(os.path.join(options.output, "report.md"))


def test_other_settings_are_refused_without_overwrite(evaluated, tmp_path):
    options, _, _ = evaluated
    changed = dataclasses.replace(options, training=dataclasses.replace(options.training, steps=BUDGET + 1))
    with pytest.raises(TfpganError, match=r"6 finished run\(s\) \(none/fold0/seed0, .*\) were made with other "
                                          "schedule, training settings"):
        run_evaluation(changed)
    dataset, info = options.dataset, read_info(options.dataset)
    for fold in (0, 1):
        fold_synthetic_set(tmp_path / f"big{fold}", dataset, info, fold, counts=(30, 30))
    bigger = dataclasses.replace(options, synthetic_sets={"big": str(tmp_path / "big{fold}")},
                                 regimes=(*options.regimes, "synthetic[big]"))
    with pytest.raises(TfpganError, match="other schedule settings.*--classifier_steps"):
        run_evaluation(bigger)


def test_more_seeds_resume_finished_runs_and_pair_regimes(evaluated, caplog):
    options, _, _ = evaluated
    more = dataclasses.replace(options, seeds=2, folds=(0,), regimes=("none", "oversample"))  # same schedule
    before = {regime: os.stat(os.path.join(evaluation.run_dir(options.output, regime, 0), "result.json")).st_mtime_ns
              for regime in options.regimes}
    with caplog.at_level(logging.INFO, logger="tfpgan.evaluation"):
        run_evaluation(more)
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert len(skipped) == 2 and all("fold 0 seed 0" in message for message in skipped)
    for regime in more.regimes:
        assert os.stat(os.path.join(evaluation.run_dir(options.output, regime, 0), "result.json")).st_mtime_ns \
            == before[regime]
        second = _result(options, regime, 0, seed=1)
        assert second["seed"] == 1 and second["training"]["seed"] == FAST.seed + 1000  # paired across regimes
        assert second["training"]["validation_ids"] == _result(options, regime, 0)["training"]["validation_ids"]
    assert _result(options, "none", 0, 1)["y_prob"] != _result(options, "none", 0, 0)["y_prob"]
    merged = merge_report(dataclasses.replace(options, folds=None))  # fold 1 has no seed 1 under seeds=1: complete
    assert merged["folds"] == [0, 1]
    merged = merge_report(dataclasses.replace(more, folds=None))
    assert merged["folds"] == [0] and merged["missing_folds"] == [1]


def test_overwrite_starts_fresh_and_a_seed_reproduces_its_run(evaluated, tmp_path):
    options, _, _ = evaluated
    copy = str(tmp_path / "report")
    shutil.copytree(options.output, copy)
    fresh = dataclasses.replace(options, output=copy, regimes=("oversample",), folds=(0,), overwrite=True)
    run_evaluation(fresh)
    assert os.listdir(os.path.join(copy, "runs")) == ["oversample"]
    assert os.listdir(os.path.join(copy, "runs", "oversample")) == ["fold0"]
    # oversample alone reaches the synthetic regime's set size, so the schedule and the seed are as before
    np.testing.assert_allclose(_result(fresh, "oversample", 0)["y_prob"], _result(options, "oversample", 0)["y_prob"],
                               atol=1e-5)

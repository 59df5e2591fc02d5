"""Tests for tfpgan.evaluation: leakage guard, {fold} synthetic sets, training runs, resume and overwrite."""

import dataclasses
import json
import logging
import os
import re
import shutil

import numpy as np
import pytest

from tfpgan import evaluation, run_folder
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import INFO_FILE
from tfpgan.data.pipeline import load
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError, TfpganError
from tfpgan.evaluation import LeakageError, check_synthetic_set, run_evaluation
from tfpgan.options import (
    BuildOptions,
    ClassicAugmentation,
    ClassifierTraining,
    EvaluationOptions,
    OptionsError,
    parse_folds,
)

CLASSES = ("benign", "malignant")
REAL_PER_CLASS = 24
SYNTHETIC_PER_CLASS = 8
FAST = ClassifierTraining(classifier="cnn", epochs=1, batch_size=64, seed=3)


def _source(per_class, size, seed, classes=CLASSES):
    """Noise images; the second class is brighter, so a classifier can tell them apart."""
    rng = np.random.default_rng(seed)
    items = []
    for label, name in enumerate(classes):
        for i in range(per_class):
            pixels = (rng.integers(0, 128, (size, size, 1)) + 100 * label).astype(np.uint8)
            items.append(Item(f"{name}/{seed}-{i:03d}", label, lambda pixels=pixels: pixels))
    return Source("memory", tuple(classes), items)


def build_real_dataset(path, size=16):
    """48 images of 2 classes in 2 folds."""
    return build_dataset(_source(REAL_PER_CLASS, size, seed=0), str(path), BuildOptions(resolution=size, folds=2))


def generator_metadata(real, trained_on_folds, **changes):
    """extra["generator"] as tools.synthesize records it."""
    test_folds = [fold for fold in range(real.folds) if fold not in trained_on_folds]
    return {"trained_on_folds": trained_on_folds, "dataset_fingerprint": real.fingerprint,
            "test_fold": test_folds[0] if len(test_folds) == 1 else -1, **changes}


def build_synthetic_set(path, generator, size=32, classes=CLASSES):
    """A dataset folder standing in for tools.synthesize output; generator=None records no metadata."""
    build_dataset(_source(SYNTHETIC_PER_CLASS, size, seed=7, classes=classes), str(path),
                  BuildOptions(resolution=size, folds=2))
    info_path = os.path.join(path, INFO_FILE)
    with open(info_path, encoding="utf-8") as handle:
        info = json.load(handle)
    if generator is not None:
        info["extra"]["generator"] = generator
    with open(info_path, "w", encoding="utf-8") as handle:
        json.dump(info, handle)
    return str(path)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    return str(root / "lesions16"), build_real_dataset(root / "lesions16")


# --- leakage guard -------------------------------------------------------------------------------------------


def test_accepts_a_generator_trained_without_the_test_fold(real, tmp_path):
    _, info = real
    synthetic = build_synthetic_set(tmp_path / "synthetic", generator_metadata(info, [1]))
    assert check_synthetic_set(synthetic, info, test_fold=0).num_examples == 2 * SYNTHETIC_PER_CLASS


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
    small = build_synthetic_set(tmp_path / "small", generator_metadata(info, [1]), size=8)
    with pytest.raises(DataError, match="resolution 8 is below the real dataset's 16"):
        check_synthetic_set(small, info, test_fold=0)
    other = build_synthetic_set(tmp_path / "other", generator_metadata(info, [1]), classes=("cyst", "malignant"))
    with pytest.raises(DataError, match="classes"):
        check_synthetic_set(other, info, test_fold=0)


def test_a_leaky_set_stops_the_evaluation_before_any_work(real, tmp_path):
    dataset, info = real
    synthetic = build_synthetic_set(tmp_path / "synthetic", generator_metadata(info, [1]))  # for fold 0 only
    options = EvaluationOptions(dataset, str(tmp_path / "report"), regimes=("none", "synthetic"),
                                synthetic=synthetic, training=FAST)
    with pytest.raises(LeakageError, match="test fold 1"):
        run_evaluation(options)
    assert not os.path.exists(tmp_path / "report")


# --- options -------------------------------------------------------------------------------------------------


def test_options_are_validated():
    assert parse_folds("all") is None and parse_folds("0,2") == (0, 2)
    assert evaluation.synthetic_dir("gan/fold{fold}/synthetic", 3) == "gan/fold3/synthetic"
    for text in ("-1", "0,0", "one"):
        with pytest.raises(OptionsError, match=f"folds must be 'all' or .*fold indices like '0,2', got '{text}'"):
            parse_folds(text)
    with pytest.raises(OptionsError, match=re.escape("--regimes must be one of none, classic, synthetic, "
                                                     "classic+synthetic, got 'gan'")):
        EvaluationOptions("data", "out", regimes=("none", "gan"))
    with pytest.raises(OptionsError, match="--synthetic is needed by the synthetic regimes"):
        EvaluationOptions("data", "out", regimes=("synthetic",))
    nothing = ClassicAugmentation(rotation_degrees=0, horizontal_flip=False, vertical_flip=False,
                                  translate_pixels=0, zoom=0)
    with pytest.raises(OptionsError, match="--regimes has classic regimes but every classic augmentation is switched"):
        EvaluationOptions("data", "out", regimes=("classic",), augmentation=nothing)
    with pytest.raises(ValueError, match=re.escape("--validation_fraction must be in (0, 1), got 0.0")):
        ClassifierTraining(validation_fraction=0.0)


# --- training runs, resume, overwrite ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated(real, tmp_path_factory):
    """none and synthetic on both folds; the synthetic sets come from a {fold} pattern, one per fold."""
    dataset, info = real
    root = tmp_path_factory.mktemp("evaluation")
    for fold in range(info.folds):
        build_synthetic_set(root / f"gan{fold}" / "synthetic", generator_metadata(info, [1 - fold]))
    options = EvaluationOptions(dataset, str(root / "report"), regimes=("none", "synthetic"),
                                synthetic=str(root / "gan{fold}" / "synthetic"), training=FAST)
    return options, run_evaluation(options)


def _result(options, regime, fold):
    with open(os.path.join(evaluation.run_dir(options.output, regime, fold), run_folder.RESULT_FILE)) as handle:
        return json.load(handle)


def _fold_ids(dataset, fold):
    """The ids of a fold's images, read straight from the pipeline, sorted."""
    return sorted(i.decode() for _, _, ids in load(dataset, folds=[fold], batch_size=64, with_ids=True)
                  .as_numpy_iterator() for i in ids)


def test_each_run_tests_its_fold_with_the_fold_synthetic_set(evaluated, real):
    options, _ = evaluated
    dataset, _ = real
    for fold in (0, 1):
        test_ids = _fold_ids(dataset, fold)
        for regime in ("none", "synthetic"):
            result = _result(options, regime, fold)
            assert result["ids"] == test_ids and len(test_ids) == REAL_PER_CLASS
            y_true = [CLASSES.index(i.split("/")[0]) for i in test_ids]  # the ids name the class
            predicted = np.argmax(result["y_prob"], axis=1)
            assert result["y_true"] == y_true
            confusion = np.zeros((len(CLASSES), len(CLASSES)), int)
            np.add.at(confusion, (y_true, predicted), 1)
            assert result["metrics"]["confusion_matrix"] == confusion.tolist()
            assert result["metrics"]["accuracy"] == pytest.approx(np.mean(predicted == y_true))
            training = result["training"]
            assert training["real_images"] + training["validation_images"] == REAL_PER_CLASS
            assert training["validation_images"] == 2  # 10%, at least one per class, real images only
            assert training["seed"] == FAST.seed + fold  # same seed for every regime of a fold
            assert os.path.isfile(os.path.join(evaluation.run_dir(options.output, regime, fold), "best.weights.h5"))
            assert os.listdir(os.path.join(options.output, "tensorboard", regime, f"fold{fold}", "validation"))
        synthetic = _result(options, "synthetic", fold)["training"]
        assert synthetic["synthetic_images"] == 2 * SYNTHETIC_PER_CLASS
        assert synthetic["synthetic"] == options.synthetic.replace("{fold}", str(fold))
        assert _result(options, "none", fold)["training"]["synthetic_images"] == 0


def test_report_covers_every_run(evaluated):
    options, report = evaluated
    assert report["folds"] == [0, 1]
    for regime in ("none", "synthetic"):
        folds = [_result(options, regime, fold)["metrics"]["confusion_matrix"] for fold in (0, 1)]
        pooled = report["regimes"][regime]["pooled"]
        np.testing.assert_array_equal(pooled["confusion_matrix"], np.sum(folds, axis=0))
        assert pooled["n"] == 2 * REAL_PER_CLASS
    assert [(c["treatment"], c["baseline"]) for c in report["comparisons"]] == [("synthetic", "none")]
    assert os.path.isfile(os.path.join(options.output, "report.md"))


def test_other_settings_are_refused_without_overwrite(evaluated):
    options, _ = evaluated
    changed = dataclasses.replace(options, training=dataclasses.replace(FAST, epochs=2))
    runs = r"\(none/fold0, synthetic/fold0, none/fold1, synthetic/fold1\)"
    with pytest.raises(TfpganError, match=rf"4 finished run\(s\) {runs} were made with other training settings"):
        run_evaluation(changed)


def test_resume_skips_finished_runs_and_rewrites_the_report(evaluated, caplog):
    options, _ = evaluated
    paths = {(r, f): os.path.join(evaluation.run_dir(options.output, r, f), run_folder.RESULT_FILE)
             for r in ("none", "synthetic") for f in (0, 1)}
    before = {key: os.stat(path).st_mtime_ns for key, path in paths.items()}
    os.remove(paths[("synthetic", 1)])
    os.remove(os.path.join(options.output, "report.json"))
    with caplog.at_level(logging.INFO, logger="tfpgan.evaluation"):
        report = run_evaluation(options)
    for key, path in paths.items():
        assert (os.stat(path).st_mtime_ns == before[key]) == (key != ("synthetic", 1))
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert len(skipped) == 3 and not any("fold 1 synthetic" in message for message in skipped)
    assert os.path.isfile(os.path.join(options.output, "report.json"))
    assert report["regimes"]["synthetic"]["pooled"]["n"] == 2 * REAL_PER_CLASS


def test_overwrite_starts_fresh_and_a_fold_seed_reproduces_its_run(evaluated, tmp_path):
    options, _ = evaluated
    copy = str(tmp_path / "report")
    shutil.copytree(options.output, copy)
    fresh = dataclasses.replace(options, output=copy, regimes=("none",), folds=(0,), overwrite=True,
                                training=dataclasses.replace(FAST, epochs=2))
    run_evaluation(fresh)
    assert sorted(os.listdir(os.path.join(copy, "runs"))) == ["none"]
    assert os.listdir(os.path.join(copy, "runs", "none")) == ["fold0"]
    again = dataclasses.replace(fresh, output=str(tmp_path / "again"), overwrite=False)
    run_evaluation(again)
    np.testing.assert_allclose(_result(again, "none", 0)["y_prob"], _result(fresh, "none", 0)["y_prob"], atol=1e-5)

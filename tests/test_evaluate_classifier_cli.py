"""Tests for tools/evaluate_classifier.py: the flags, and the binary end to end in a subprocess."""

import json
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from test_evaluation import build_real_dataset
from tfpgan.evaluation import ClassifierTraining
from tools import evaluate_classifier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tools.evaluate_classifier", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _parse(*args, skip=()):
    values = flags.FlagValues()
    evaluate_classifier.define_flags(values, skip=skip)
    values(["evaluate_classifier", *args])
    return values


def test_flags_become_options(tmp_path):
    values = _parse(f"--dataset={tmp_path}", "--output=out", "--regimes=classic,classic+synthetic",
                    "--synthetic=gan/fold{fold}", "--folds=1", "--classifier=resnet18", "--classifier_epochs=3",
                    "--classifier_optimizer=adam", "--classifier_learning_rate=0.01", "--noclassic_vertical_flip",
                    "--classic_rotation_degrees=90", "--classic_zoom=0")
    options = evaluate_classifier.options_from_flags(values)
    assert options.regimes == ("classic", "classic+synthetic") and options.folds == (1,)
    assert options.synthetic == "gan/fold{fold}" and options.output == "out"
    assert options.training == ClassifierTraining(classifier="resnet18", epochs=3, optimizer="adam",
                                                  learning_rate=0.01)
    assert options.augmentation.rotation_range == (0.0, 90.0)
    assert not options.augmentation.vertical_flip and options.augmentation.horizontal_flip
    assert options.augmentation.zoom == 0


def test_skipped_flags_are_left_to_the_caller_and_overridden():
    shared = ("dataset", "output", "synthetic", "overwrite")
    values = _parse("--regimes=none,synthetic", "--classifier_epochs=2", skip=shared)
    assert not any(name in values for name in shared)
    options = evaluate_classifier.options_from_flags(values, dataset="data", output="out",
                                                     synthetic="gan/fold{fold}", overwrite=False)
    assert (options.dataset, options.output, options.synthetic) == ("data", "out", "gan/fold{fold}")
    assert options.regimes == ("none", "synthetic") and options.training.epochs == 2
    with pytest.raises(TypeError, match="unknown override"):
        evaluate_classifier.options_from_flags(values, dataset="data", output="out", epochs=3)


@pytest.mark.parametrize("bad, message", [
    ("--regimes=none,gan", "--regimes must be distinct names"),
    ("--folds=0,x", "--folds must be 'all'"),
    ("--classifier_learning_rate=0", "--classifier_learning_rate must be > 0"),
    ("--validation_fraction=1", "--validation_fraction must lie in (0, 1)"),
    ("--classic_zoom=1.5", "--classic_zoom must lie in [0, 1)"),
    ("--regimes=synthetic", "the synthetic regimes need --synthetic"),
])
def test_bad_flag_values_are_refused(tmp_path, bad, message):
    with pytest.raises(flags.IllegalFlagValueError, match=re.escape(message)):
        _parse(f"--dataset={tmp_path}", "--output=out", bad)


def test_classic_regime_needs_some_classic_augmentation(tmp_path):
    off = ["--classic_rotation_degrees=0", "--noclassic_horizontal_flip", "--noclassic_vertical_flip",
           "--classic_translate_pixels=0", "--classic_zoom=0"]
    with pytest.raises(flags.IllegalFlagValueError, match="at least one classic augmentation"):
        _parse(f"--dataset={tmp_path}", "--output=out", "--regimes=none,classic", *off)
    assert _parse(f"--dataset={tmp_path}", "--output=out", "--regimes=none", *off).regimes == ["none"]


def test_end_to_end_writes_the_report_and_prints_the_table(tmp_path):
    build_real_dataset(tmp_path / "lesions16")
    output = tmp_path / "report"
    completed = _run(f"--dataset={tmp_path / 'lesions16'}", f"--output={output}", "--regimes=none,classic",
                     "--classifier=cnn", "--classifier_epochs=1", "--classifier_batch_size=32",
                     "--classic_rotation_degrees=0", "--classic_zoom=0", "--classic_translate_pixels=0")  # flips
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output / "report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert list(report["regimes"]) == ["none", "classic"] and report["folds"] == [0, 1]
    assert [(c["treatment"], c["baseline"]) for c in report["comparisons"]] == [("classic", "none")]
    for name in ("report.md", "confusion_none.png", "roc_none.png", "confusion_classic.png", "roc_classic.png"):
        assert os.path.getsize(output / name) > 0
    assert "| none |" in completed.stdout and "| classic |" in completed.stdout
    assert "± = sample std over 2 folds" in completed.stdout
    assert "fold 1 classic epoch 1/1: loss" in completed.stderr  # per-epoch progress


def test_bad_flag_fails_with_one_clear_line(tmp_path):
    completed = _run(f"--dataset={tmp_path}", f"--output={tmp_path / 'report'}", "--regimes=none,bogus")
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert len([line for line in completed.stderr.splitlines() if "--regimes" in line]) == 1
    assert not os.path.exists(tmp_path / "report")

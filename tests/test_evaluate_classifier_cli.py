"""tools/evaluate_classifier.py end to end in a subprocess (its flags: test_flags.py)."""

import json
import os
import subprocess
import sys

import pytest

from test_evaluation import build_real_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tools.evaluate_classifier", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def test_end_to_end_writes_the_report_and_prints_the_table(tmp_path):
    build_real_dataset(tmp_path / "lesions8")
    output = tmp_path / "report"
    completed = _run(f"--dataset={tmp_path / 'lesions8'}", f"--output={output}", "--regimes=none,classic+oversample",
                     "--classifier=cnn", "--classifier_steps=3", "--classifier_min_steps=0", "--classifier_patience=1",
                     "--classifier_batch_size=32", "--validation_fraction=0.25", "--class_weighting=balanced",
                     "--classic_rotation_degrees=0", "--classic_zoom=0", "--classic_translate_pixels=0")  # flips
    assert completed.returncode == 0, completed.stderr[-3000:]
    with open(output / "report.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert list(report["regimes"]) == ["none", "classic+oversample"] and report["folds"] == [0, 1]
    for name in ("report.md", "confusion_none.png", "roc_none.png"):
        assert os.path.getsize(output / name) > 0
    with open(output / "runs" / "classic+oversample" / "fold1" / "seed0" / "result.json", encoding="utf-8") as handle:
        training = json.load(handle)["training"]
    assert training["class_weighting"] == "balanced" and training["max_steps"] == 3
    counts = list(training["class_counts"].values())
    assert counts[0] == counts[1] > 0  # no synthetic set: every class oversampled to the largest one
    assert "none" in completed.stdout and "classic+oversample" in completed.stdout
    assert "fold 1 seed 0 classic+oversample epoch 1/" in completed.stderr  # per-epoch progress


@pytest.mark.parametrize("flag", ["--regimes=none,bogus", "--synthetic_sets=nocolon"])
def test_bad_flag_fails_with_one_clear_line(tmp_path, flag):
    completed = _run(f"--dataset={tmp_path}", f"--output={tmp_path / 'report'}", flag)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    name = flag.split("=")[0]
    assert len([line for line in completed.stderr.splitlines() if name in line]) == 1
    assert not os.path.exists(tmp_path / "report")

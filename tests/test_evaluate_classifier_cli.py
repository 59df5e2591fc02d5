"""tools/evaluate_classifier.py end to end in a subprocess (its flags: test_flags.py)."""

import json
import os
import subprocess
import sys

from test_evaluation import build_real_dataset

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tools.evaluate_classifier", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


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

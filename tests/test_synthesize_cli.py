"""Tests for the tools.synthesize binary, end to end in subprocesses."""

import json
import os
import subprocess
import sys

import pytest

from tfpgan.data.dataset_info import read_info
from tfpgan.data.pipeline import load

from test_synthesis import REAL_COUNTS, export_tiny_generator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI_ERRORS = {
    "two modes": (["--per_class=2", "--counts=cyst:1"], "--per_class or --balance_to or --counts: give exactly one"),
    "no mode": ([], "--per_class or --balance_to or --counts: give exactly one"),
    "bad counts": (["--counts=cyst:many"], "--counts must be class:n"),
    "negative count": (["--counts=cyst:-1"], "--counts must be class:n"),
    "repeated class": (["--counts=cyst:1,cyst:2"], "--counts names class 'cyst' twice"),
    "unknown class": (["--counts=cyst:1, tumour:3"], "unknown class(es) tumour"),
    "zero per_class": (["--per_class=0"], "--per_class must be > 0, got 0"),
    "no generator": (["--per_class=2", "--generator=/nonexistent/generator"], "--generator must be an existing folder"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run the binary once per case, all at the same time: {case: (returncode, stdout, stderr)}."""
    tmp = tmp_path_factory.mktemp("cli")
    export_dir, _ = export_tiny_generator(str(tmp))
    commands = {"ok": ["--balance_to=4", "--png", "--seed=3", "--batch_size=2", f"--output={tmp / 'ok'}"]}
    commands.update({case: [*args, f"--output={tmp / 'bad'}"] for case, (args, _) in CLI_ERRORS.items()})
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    processes = {case: subprocess.Popen([sys.executable, "-m", "tools.synthesize", f"--generator={export_dir}", *args],
                                        cwd=REPO, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for case, args in commands.items()}
    outputs = {case: process.communicate(timeout=180) for case, process in processes.items()}
    return tmp, export_dir, {case: (processes[case].returncode, *output) for case, output in outputs.items()}


def test_cli_writes_a_balanced_synthetic_dataset(runs):
    tmp, export_dir, results = runs
    returncode, stdout, stderr = results["ok"]
    output = tmp / "ok"

    assert returncode == 0, stderr
    info = read_info(str(output))
    fold_counts = json.load(open(tmp / "real" / "dataset.json"))["fold_counts"]
    real = {name: fold_counts[0][c] for c, name in enumerate(sorted(REAL_COUNTS))}
    assert info.counts == {name: max(0, 4 - real[name]) for name in real}
    assert f"wrote {output}: {info.num_examples} synthetic images, 8x8x1, seed 3" in stdout
    for name in info.classes:
        assert any(line.split()[:2] == [name, str(info.counts[name])] for line in stdout.splitlines()), name
    assert info.extra["synthesis"]["mode"] == "balance_to" and info.extra["synthesis"]["seed"] == 3
    assert info.extra["generator"]["trained_on_folds"] == [0]
    assert len(list(load(str(output)).as_numpy_iterator())) == info.num_examples
    assert len(list((output / "png").rglob("*.png"))) == info.num_examples
    assert stderr.count("synthesized ") == -(-info.num_examples // 2)  # one progress line per batch
    assert f"data card: {output / 'DATACARD.md'}" in stdout
    assert json.load(open(output / "datacard.json"))["synthetic"]["per_class"] == info.counts


@pytest.mark.parametrize("case", sorted(CLI_ERRORS))
def test_cli_bad_input_is_one_clear_line(runs, case):
    tmp, _, results = runs
    returncode, stdout, stderr = results[case]

    assert returncode != 0 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "FATAL"))]
    assert len(errors) == 1 and CLI_ERRORS[case][1] in errors[0], stderr
    assert not os.path.exists(tmp / "bad")

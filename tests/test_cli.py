"""Tests for tfpgan.cli: one-line errors (a full disk included), --help exits 0, a quiet TensorFlow start-up."""

import errno
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tfpgan import cli
from tfpgan.errors import DataError

import datagen

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE = ("cuInit", "Could not find cuda drivers", "oneDNN", "remapper failed", "absl::InitializeLog",
         "cpu_feature_guard", "TF_ENABLE_ONEDNN_OPTS")


def _run(monkeypatch, capsys, error):
    """cli.run over a main that raises `error`: (exit code, stderr)."""
    def main(argv):
        raise error

    monkeypatch.setattr(cli.app, "run", lambda guarded, flags_parser: sys.exit(guarded(["tool"])))
    with pytest.raises(SystemExit) as exit:
        cli.run(main)
    return exit.value.code, capsys.readouterr().err


def _wrapped_disk_full():
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError as error:
        raise DataError(f"cannot write /data/out: {error}") from None


def _raise(function):
    try:
        function()
    except Exception as error:
        return error


@pytest.mark.parametrize("error, detail", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/out/data-00000-of-00001.tfrecord"),
     "while writing /data/out/data-00000-of-00001.tfrecord"),
    (tf.errors.ResourceExhaustedError(None, None, "/data/out/x.tfrecord; No space left on device\n\tnode stuff"),
     "(/data/out/x.tfrecord; No space left on device)"),
    (_raise(_wrapped_disk_full), "(cannot write /data/out: [Errno 28] No space left on device)"),
])
def test_a_full_disk_is_one_error_line(monkeypatch, capsys, error, detail):
    code, stderr = _run(monkeypatch, capsys, error)
    assert code == 2
    assert stderr == f"error: disk full {detail}: free space and run the same command again\n"


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    assert _run(monkeypatch, capsys, DataError("a.png: cannot read image")) == (
        2, "error: a.png: cannot read image\n")
    with pytest.raises(OSError, match="Permission denied"):
        _run(monkeypatch, capsys, OSError(errno.EACCES, "Permission denied"))


@pytest.mark.parametrize("argv, verbosity", [
    (["tool"], 0), (["tool", "--verbosity=1"], 1), (["tool", "-v", "2"], 2), (["tool", "--v=1", "-v=0"], 0),
    (["tool", "--verbosity", "x"], 0), (["tool", "--", "-v=1"], 0),
])
def test_requested_verbosity(argv, verbosity):
    assert cli.requested_verbosity(argv) == verbosity


@pytest.fixture(scope="module")
def tool_runs(tmp_path_factory):
    """tools.build_dataset run as a user would (no TF_CPP_MIN_LOG_LEVEL): a small build, --help, a build with -v 1."""
    tmp = tmp_path_factory.mktemp("cli")
    datagen.write_folder_source(str(tmp / "source"), {"a": 3, "b": 3})
    commands = {
        "build": [f"--source=folder:{tmp / 'source'}", f"--output={tmp / 'out'}", "--resolution=8", "--folds=2"],
        "help": ["--help"],
        "verbose": [f"--source=folder:{tmp / 'source'}", f"--output={tmp / 'verbose'}", "--resolution=8",
                    "--folds=2", "-v", "1"],
    }
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    processes = {key: subprocess.Popen([sys.executable, "-m", "tools.build_dataset", *args], cwd=REPO, env=env,
                                       text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for key, args in commands.items()}
    return {key: (process.wait(timeout=300), *process.communicate()) for key, process in processes.items()}


def _noise(stderr):
    return [line for line in stderr.splitlines() if any(word in line for word in NOISE)]


def test_tensorflow_start_up_lines_are_hidden(tool_runs):
    for key in ("build", "help"):
        code, stdout, stderr = tool_runs[key]
        assert code == 0, stderr
        assert _noise(stderr) == [], stderr
    assert "wrote" in tool_runs["build"][1] and "--output" in tool_runs["help"][1]


def test_verbosity_shows_them(tool_runs):
    code, _, stderr = tool_runs["verbose"]
    assert code == 0 and _noise(stderr), stderr


@pytest.mark.parametrize("tool", ["train", "experiment", "evaluate_classifier", "measure_quality", "synthesize",
                                  "build_dataset", "export", "benchmark"])
def test_a_mistyped_flag_is_one_line_before_tensorflow_loads(tool):
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", f"tools.{tool}", "--fold=3"], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
    lines = [line for line in completed.stderr.splitlines() if not line.startswith("import time:")]
    assert completed.returncode == 2
    assert lines == ["error: Unknown command line flag 'fold'" + lines[0].split("'fold'", 1)[1]] and len(lines) == 1
    assert " tensorflow" not in completed.stderr  # parsed and refused before TensorFlow was imported


def test_helpshort_lists_the_binarys_key_flags():
    completed = subprocess.run([sys.executable, "-m", "tools.experiment", "--helpshort"], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    for name in ("--output", "--dataset", "--folds", "--regimes", "--kimg_per_phase", "--deterministic", "--dry_run"):
        assert f"  {name}:" in completed.stdout or f"  --[no]{name[2:]}:" in completed.stdout, name
    assert "--adam_beta2" not in completed.stdout  # the rest is in --helpfull

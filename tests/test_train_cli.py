"""Tests for the training binary `python -m tools.train`: flagfiles, flag errors, SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest_plugins = ("gan_fixtures",)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 180


def _train(*args, timeout=TIMEOUT):
    return subprocess.run([sys.executable, "-m", "tools.train", *args], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=timeout)


def _assert_one_clear_error(result, text):
    """Non-zero exit, no traceback, and exactly one stderr line (the error) mentioning `text`."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if text in line]
    assert len(lines) == 1, result.stderr


def _flagfile(path, *lines):
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return f"--flagfile={path}"


@pytest.mark.parametrize("flag, message", [
    ("--resolution=48", "--resolution must be 0 or a power of two in 4..1024, got 48"),
    ("--kimg_per_phase=-3", "--kimg_per_phase must be > 0, got -3.0"),
    ("--batch_per_resolution=oops", "expected RESOLUTION:VALUE pairs like '4:128,8:64', got 'oops'"),
    ("--conditioning=foo", "value should be one of <acgan|none|per_class>"),
    ("--loss=hinge", "value should be one of <wgan_gp|ns_r1>"),
    ("--augment=translation,rotate", "--augment must be distinct names among translation, cutout, brightness"),
    ("--augment_p=1.5", "--augment_p must be 'auto' or a number in [0, 1], got '1.5'"),
    ("--augment_p=auto", "--augment_p auto needs --augment (the operations it adapts)"),
])
def test_a_bad_flag_value_fails_with_one_clear_line(flag, message, tmp_path):
    result = _train(flag, f"--dataset={tmp_path}", f"--logdir={tmp_path / 'run'}")
    _assert_one_clear_error(result, message)
    assert not os.path.exists(tmp_path / "run")


def test_flags_of_a_flagfile_are_read_and_later_flags_override_them(tmp_path):
    flagfile = _flagfile(tmp_path / "bad.cfg", "# a comment", "--resolution=48")
    _assert_one_clear_error(_train(flagfile, "--dataset=d", "--logdir=x"), "--resolution must be 0 or a power of two")
    # the override fixes the value; the run then stops at the missing --dataset
    _assert_one_clear_error(_train(flagfile, "--resolution=16", "--logdir=x"), "error: --dataset is required")


def test_a_missing_dataset_flag_fails_with_one_clear_line(tmp_path):
    _assert_one_clear_error(_train(f"--logdir={tmp_path}"), "error: --dataset is required")


def test_a_dataset_that_does_not_exist_fails_with_one_clear_line(tmp_path):
    result = _train(f"--dataset={tmp_path / 'nowhere'}", f"--logdir={tmp_path / 'run'}")
    assert result.returncode == 2
    _assert_one_clear_error(result, f"error: {tmp_path / 'nowhere'}: dataset folder not found")


def test_sigterm_saves_a_checkpoint_and_exits_saying_how_to_resume(gan_dataset, tmp_path):
    logdir = tmp_path / "run"
    flagfile = _flagfile(tmp_path / "run.cfg", f"--dataset={gan_dataset}", f"--logdir={logdir}", "--resolution=4",
                         "--kimg_per_phase=100", "--batch_per_resolution=4:8", "--latent_size=4", "--fmap_base=64",
                         "--fmap_max=16", "--seed=3", "--tick_kimg=0.008", "--image_every_kimg=0",
                         "--checkpoint_every_kimg=0", "--noexport")
    process = subprocess.Popen([sys.executable, "-m", "tools.train", flagfile, "--latent_size=8"], cwd=REPOSITORY,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(logdir / "config.json") and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before SIGTERM"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "run the same command to resume" in stderr
    assert os.listdir(logdir / "checkpoints")
    with open(logdir / "config.json", encoding="utf-8") as handle:
        config = json.load(handle)
    assert (config["latent_size"], config["seed"], config["resolution"]) == (8, 3, 4)  # override, flagfile, flagfile


def test_dry_run_prints_the_options_and_the_schedule_and_writes_nothing(gan_dataset, tmp_path):
    result = _train("--flagfile=flags/quickstart.cfg", f"--dataset={gan_dataset}", f"--logdir={tmp_path / 'run'}",
                    "--resolution=16", "--start_resolution=8", "--dry_run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"kimg_per_phase": 15.0' in result.stdout and '"resolution": 16' in result.stdout
    assert '"loss": "wgan_gp"' in result.stdout and '"augment_p": "auto"' in result.stdout
    schedule = [line.split() for line in result.stdout.splitlines() if line.strip().endswith(("stable", "fade-in"))]
    assert schedule == [["0", "0.0-15.0", "8x8", "16", "stable"], ["1", "15.0-30.0", "16x16", "16", "fade-in"],
                        ["2", "30.0-45.0", "16x16", "16", "stable"]]
    assert not os.path.exists(tmp_path / "run")


def test_a_flagfile_resolution_above_the_datasets_says_how_to_override_it(gan_dataset, tmp_path):
    result = _train("--flagfile=flags/quickstart.cfg", f"--dataset={gan_dataset}", f"--logdir={tmp_path / 'run'}")
    _assert_one_clear_error(result, "--resolution=32 (from the command line or a --flagfile) is above the dataset's "
                                    "16: pass --resolution=16 (after any --flagfile)")


def test_a_missing_exclude_ids_file_fails_with_one_clear_line(gan_dataset, tmp_path):
    result = _train(f"--dataset={gan_dataset}", f"--logdir={tmp_path / 'run'}", "--resolution=4",
                    "--start_resolution=4", f"--exclude_ids={tmp_path / 'ids.txt'}")
    _assert_one_clear_error(result, "no such id file")

"""Tests for tfpgan.atomic: atomic output folders that never replace what they may not, and sweep what killed
runs left behind."""

import fcntl
import logging
import os

import pytest

from tfpgan.atomic import atomic_directory, check_writable_destination
from tfpgan.errors import TfpganError

import datagen


def _foreign(path):
    return "" if os.listdir(path) == ["ours.txt"] else "it holds other files"


def test_a_folder_that_appeared_meanwhile_is_not_replaced(tmp_path):
    path = str(tmp_path / "out")
    with pytest.raises(TfpganError, match=f"^{path} appeared while this run was writing it; it was left as it is"):
        with atomic_directory(path) as staging:
            datagen.write_text(os.path.join(staging, "ours.txt"))
            datagen.write_text(os.path.join(path, "theirs.txt"))  # another process, during the build
    assert os.listdir(tmp_path) == ["out"] and os.listdir(path) == ["theirs.txt"]


def test_an_empty_folder_that_appeared_meanwhile_is_not_replaced_either(tmp_path):
    path = str(tmp_path / "out")
    with pytest.raises(TfpganError, match="appeared while"):
        with atomic_directory(path):
            os.mkdir(path)
    assert os.listdir(tmp_path) == ["out"] and os.listdir(path) == []


def test_overwrite_checks_the_folder_again_at_the_final_rename(tmp_path):
    path = str(tmp_path / "out")
    datagen.write_text(os.path.join(path, "ours.txt"))
    with pytest.raises(TfpganError, match=r"is not a folder tfpgan wrote \(it holds other files\)"):
        with atomic_directory(path, overwrite=True, foreign=_foreign) as staging:
            datagen.write_text(os.path.join(staging, "new.txt"))
            datagen.write_text(os.path.join(path, "important.txt"))  # written during the build
    assert sorted(os.listdir(path)) == ["important.txt", "ours.txt"] and os.listdir(tmp_path) == ["out"]
    with atomic_directory(path, overwrite=True) as staging:  # without a foreign check, overwrite replaces it
        datagen.write_text(os.path.join(staging, "new.txt"))
    assert os.listdir(path) == ["new.txt"] and os.listdir(tmp_path) == ["out"]


def test_check_writable_destination(tmp_path):
    path = str(tmp_path / "out")
    check_writable_destination(path, overwrite=False)
    datagen.write_text(os.path.join(path, "ours.txt"))
    with pytest.raises(TfpganError, match="already exists"):
        check_writable_destination(path, overwrite=False, foreign=_foreign)
    check_writable_destination(path, overwrite=True, foreign=_foreign)
    datagen.write_text(os.path.join(path, "other.txt"))
    with pytest.raises(TfpganError, match="remove or rename it yourself"):
        check_writable_destination(path, overwrite=True, foreign=_foreign)


def test_stale_temporary_folders_are_swept_but_running_ones_kept(tmp_path, caplog):
    stale, running = tmp_path / ".out.tmp-stale000", tmp_path / ".out.tmp-running0"
    other = tmp_path / ".other.tmp-stale000"
    for folder in (stale, running, other):
        datagen.write_text(str(folder / "data.tfrecord"))
    lock = os.open(running, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a build of the same output, still running
    try:
        with caplog.at_level(logging.WARNING), atomic_directory(str(tmp_path / "out")) as staging:
            datagen.write_text(os.path.join(staging, "new.txt"))
    finally:
        os.close(lock)
    assert sorted(os.listdir(tmp_path)) == [".other.tmp-stale000", ".out.tmp-running0", "out"]
    assert [r.getMessage() for r in caplog.records] == [f"removing {stale}, left behind by an interrupted run"]

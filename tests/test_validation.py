"""Tests for tfpgan.validation and tools/split_validation.py: the per-fold, patient-grouped validation split."""

import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from tfpgan.data.build import build_dataset
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError
from tfpgan.labeled import read_records
from tfpgan.options import BuildOptions
from tfpgan.validation import choose_validation, group_keys, validation_ids

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def grouped_source(per_class=(24, 12), images_per_patient=3):
    """Two classes, each patient (group) with `images_per_patient` images of one class, some without a group."""
    items = []
    for label, count in enumerate(per_class):
        for i in range(count):
            group = "" if i % 8 == 7 else f"c{label}-p{i // images_per_patient}"
            items.append(Item(f"c{label}/{i:03d}", label, lambda: np.zeros((4, 4, 1), np.uint8), group=group))
    return Source("memory", ("c0", "c1"), items)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("validation") / "grouped")
    build_dataset(grouped_source(), path, BuildOptions(resolution=4, folds=3))
    return path


def test_choose_validation_is_stratified_grouped_and_seeded():
    labels = np.repeat([0, 1, 2], [30, 20, 10])
    groups = [f"p{i // 2}" for i in range(60)]  # two images per patient, one class each

    chosen = choose_validation(labels, groups, 0.2, seed=5)

    chosen_groups = {groups[i] for i in chosen}
    rest_groups = {groups[i] for i in range(60) if i not in set(chosen.tolist())}
    assert not chosen_groups & rest_groups
    assert sorted(Counter(labels[chosen].tolist()).items()) == [(0, 6), (1, 4), (2, 2)]  # 20 % of each class
    assert chosen.tolist() == sorted(chosen.tolist())
    assert choose_validation(labels, groups, 0.2, seed=5).tolist() == chosen.tolist()
    assert choose_validation(labels, groups, 0.2, seed=6).tolist() != chosen.tolist()


def test_choose_validation_refuses_impossible_splits():
    with pytest.raises(DataError, match="a validation fraction of 0.1 needs at least 10 patient groups in the "
                                        "training folds, found 4"):
        choose_validation(np.array([0, 0, 1, 1]), ["a", "b", "c", "d"], 0.1, seed=0)
    with pytest.raises(DataError, match="class 1 has images of 1 patient group"):
        choose_validation(np.array([0, 0, 0, 1, 1]), ["a", "b", "c", "d", "d"], 0.5, seed=0)


def test_group_keys_make_ungrouped_examples_their_own_group():
    assert group_keys(["x", "y", "z"], ["p", "", "p"]) == ["p", "\0y", "p"]


def test_validation_ids_come_from_the_training_folds_and_keep_patients_whole(dataset):
    records = {r.id: r for r in read_records(dataset)}
    for fold in range(3):
        ids = validation_ids(dataset, fold, 0.25, seed=3)
        assert ids == sorted(ids) and ids == validation_ids(dataset, fold, 0.25, seed=3)
        assert all(records[i].fold != fold for i in ids)  # never a test image
        assert {records[i].label for i in ids} == {0, 1}  # every class
        training = [r for r in records.values() if r.fold != fold and r.id not in ids]
        assert {records[i].group for i in ids if records[i].group} & {r.group for r in training} == set()
        assert 0.15 < len(ids) / (len(ids) + len(training)) < 0.35
    assert validation_ids(dataset, 0, 0.25, seed=4) != validation_ids(dataset, 0, 0.25, seed=3)
    with pytest.raises(DataError, match="has folds 0..2, not test fold 3"):
        validation_ids(dataset, 3, 0.25, seed=3)


def test_split_validation_tool_writes_the_ids(dataset, tmp_path):
    output = tmp_path / "ids" / "fold1.txt"
    completed = subprocess.run(
        [sys.executable, "-m", "tools.split_validation", f"--dataset={dataset}", "--test_fold=1",
         "--validation_fraction=0.25", "--classifier_seed=3", f"--output={output}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert output.read_text().splitlines() == validation_ids(dataset, 1, 0.25, seed=3)
    assert f"validation ids of test fold 1: {output}" in completed.stdout

"""Tests for tfpgan.data.folds: stratified, group-separated, seeded, order-independent cross-validation folds."""

import logging

import numpy as np
import pytest

from tfpgan.data.folds import assign_folds, check_assignment
from tfpgan.errors import DataError

UNBALANCED = np.repeat([0, 1, 2], [53, 64, 17])
CLASSES = ("benign", "malignant", "normal")


def _ids(count):
    return [f"img{i:04d}.png" for i in range(count)]


def _assign(labels, groups, num_folds, seed, ids=None):
    ids = _ids(len(labels)) if ids is None else ids
    return assign_folds(ids, np.asarray(labels), groups, num_folds, seed, CLASSES)


def _per_class_counts(labels, folds, num_folds):
    return np.array([[np.sum((folds == f) & (labels == c)) for c in np.unique(labels)] for f in range(num_folds)])


@pytest.mark.parametrize("num_folds", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 7])
def test_folds_are_stratified(num_folds, seed):
    folds = _assign(UNBALANCED, [""] * len(UNBALANCED), num_folds, seed)
    assert folds.shape == UNBALANCED.shape
    assert set(folds) == set(range(num_folds))
    counts = _per_class_counts(UNBALANCED, folds, num_folds)
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all(), counts


def test_groups_never_span_two_folds():
    rng = np.random.default_rng(0)
    groups = [f"patient{p}" for p in rng.integers(0, 30, size=120)]
    labels = np.array([int(g[len("patient"):]) % 3 for g in groups])  # each patient has one diagnosis
    folds = _assign(labels, groups, 3, seed=1)
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1, group
    counts = _per_class_counts(labels, folds, 3)
    assert (counts > 0).all(), counts  # still every class in every fold


def test_examples_without_a_group_are_placed_on_their_own():
    groups = ["p1"] * 6 + [""] * 6
    labels = np.array([0, 0, 0, 1, 1, 1] * 2)
    folds = _assign(labels, groups, 2, seed=0)
    assert len(set(folds[:6])) == 1
    assert set(folds[6:]) == {0, 1}  # "" is not one big group


def test_folds_are_deterministic_for_a_seed():
    groups = [f"g{i // 3}" for i in range(len(UNBALANCED))]
    for group_list in ([""] * len(UNBALANCED), groups):
        first = _assign(UNBALANCED, group_list, 4, seed=3)
        np.testing.assert_array_equal(first, _assign(UNBALANCED, group_list, 4, seed=3))
        assert not np.array_equal(first, _assign(UNBALANCED, group_list, 4, seed=4))


def test_grouped_folds_change_with_the_seed():
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 6, size=40)  # 40 patients with 1-5 images each, one diagnosis per patient
    groups = [f"patient{p}" for p, size in enumerate(sizes) for _ in range(size)]
    labels = np.array([p % 2 for p, size in enumerate(sizes) for _ in range(size)])
    partitions = {tuple(_assign(labels, groups, 3, seed)) for seed in range(5)}
    assert len(partitions) == 5


@pytest.mark.parametrize("grouped", [False, True])
def test_folds_do_not_depend_on_the_order_of_the_examples(grouped):
    ids = _ids(len(UNBALANCED))
    groups = [f"g{i // 3}" if grouped else "" for i in range(len(UNBALANCED))]
    folds = _assign(UNBALANCED, groups, 3, seed=2, ids=ids)
    shuffled = np.random.default_rng(0).permutation(len(ids))
    again = _assign(UNBALANCED[shuffled], [groups[i] for i in shuffled], 3, seed=2, ids=[ids[i] for i in shuffled])
    np.testing.assert_array_equal(again, folds[shuffled])


@pytest.mark.parametrize("labels, groups, num_folds, message", [
    ([0, 1, 0, 1], [""] * 4, 1, "folds must be >= 2"),
    ([0, 1], ["", ""], 3, "class benign has 1 example.s., fewer than the 3 folds .each fold needs every class.: "
                          "use 1 folds or fewer"),
    ([0, 0, 0, 0, 1, 1, 1, 2, 2], [""] * 9, 3, "class normal has 2 example.s., fewer than the 3 folds"),
    ([0, 1, 0, 1], ["a", "a", "b", "b"], 3, "^2 groups cannot be split into 3 folds .a group stays in one fold.: "
                                            "use 2 folds or fewer$"),
])
def test_impossible_splits_raise_one_clear_data_error(labels, groups, num_folds, message):
    with pytest.raises(DataError, match=message):
        _assign(labels, groups, num_folds, seed=0)


def test_a_fold_without_a_class_is_a_warning_naming_both(caplog):
    labels = np.array([0] * 6 + [1] * 2 + [2] * 6)
    groups = [f"p{i}" for i in range(6)] + ["rare"] * 2 + [f"q{i}" for i in range(6)]  # malignant: one patient
    with caplog.at_level(logging.WARNING):
        folds = _assign(labels, groups, 3, seed=0)
    fold_of_rare = folds[6]
    warned = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert warned == [f"fold {f} has no example of class malignant" for f in range(3) if f != fold_of_rare]


def test_an_empty_fold_is_an_error():
    labels = np.array([0, 1, 0, 1])
    with pytest.raises(DataError, match=r"^fold 2 has no examples \(4 examples in 3 folds\): use fewer folds$"):
        check_assignment(labels, np.array([0, 1, 1, 0]), 3, CLASSES)

"""Tests for tfpgan.data.folds: stratified, group-separated, seeded cross-validation folds."""

import numpy as np
import pytest

from tfpgan.data.folds import assign_folds
from tfpgan.errors import DataError

UNBALANCED = np.repeat([0, 1, 2], [53, 64, 17])


def _per_class_counts(labels, folds, num_folds):
    return np.array([[np.sum((folds == f) & (labels == c)) for c in np.unique(labels)] for f in range(num_folds)])


@pytest.mark.parametrize("num_folds", [2, 3, 5])
@pytest.mark.parametrize("seed", [0, 7])
def test_folds_are_stratified(num_folds, seed):
    folds = assign_folds(UNBALANCED, [""] * len(UNBALANCED), num_folds, seed)
    assert folds.shape == UNBALANCED.shape
    assert set(folds) == set(range(num_folds))
    counts = _per_class_counts(UNBALANCED, folds, num_folds)
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all(), counts


def test_groups_never_span_two_folds():
    rng = np.random.default_rng(0)
    groups = [f"patient{p}" for p in rng.integers(0, 30, size=120)]
    labels = np.array([int(g[len("patient"):]) % 3 for g in groups])  # each patient has one diagnosis
    folds = assign_folds(labels, groups, 3, seed=1)
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1, group
    counts = _per_class_counts(labels, folds, 3)
    assert (counts > 0).all(), counts  # still every class in every fold


def test_examples_without_a_group_are_placed_on_their_own():
    groups = ["p1"] * 6 + [""] * 6
    labels = np.array([0, 0, 0, 1, 1, 1] * 2)
    folds = assign_folds(labels, groups, 2, seed=0)
    assert len(set(folds[:6])) == 1
    assert set(folds[6:]) == {0, 1}  # "" is not one big group


def test_folds_are_deterministic_for_a_seed():
    groups = [f"g{i // 3}" for i in range(len(UNBALANCED))]
    for group_list in ([""] * len(UNBALANCED), groups):
        first = assign_folds(UNBALANCED, group_list, 4, seed=3)
        np.testing.assert_array_equal(first, assign_folds(UNBALANCED, group_list, 4, seed=3))
        assert not np.array_equal(first, assign_folds(UNBALANCED, group_list, 4, seed=4))


@pytest.mark.parametrize("labels, groups, num_folds, message", [
    ([0, 1, 0, 1], [""] * 4, 1, "folds must be >= 2"),
    ([0, 1], ["", ""], 3, "2 examples cannot be split into 3 folds"),
    ([0, 1, 0, 1], ["a", "a", "b", "b"], 3, "2 groups cannot be split into 3 folds"),
])
def test_impossible_splits_raise_data_error(labels, groups, num_folds, message):
    with pytest.raises(DataError, match=message):
        assign_folds(np.array(labels), groups, num_folds, seed=0)

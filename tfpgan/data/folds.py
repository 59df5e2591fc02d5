"""Cross-validation fold assignment: stratified by class, grouped by patient when groups exist."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from tfpgan.errors import DataError

logger = logging.getLogger(__name__)


def assign_folds(ids: Sequence[str], labels: np.ndarray, groups: Sequence[str], num_folds: int, seed: int,
                 classes: Sequence[str]) -> np.ndarray:
    """Return the fold index (0..num_folds-1) of every example.

    With any non-empty group, folds are group-aware: all examples of one group (patient) land in one fold, and
    examples without a group form a group each. The result depends on the examples (id, label, group) and the
    seed, not on their order. Raises DataError when the folds cannot all be filled; warns about a fold that
    lacks a class (see `check_assignment`).
    """
    labels = np.asarray(labels)
    if num_folds < 2:
        raise DataError(f"folds must be >= 2, got {num_folds}")
    order = sorted(range(len(labels)), key=lambda i: (ids[i], int(labels[i]), groups[i]))
    sorted_labels = labels[order]
    grouped = any(groups)
    group_ids = [groups[i] or f"\0{ids[i]}" for i in order]
    _check_splittable(sorted_labels, group_ids if grouped else None, num_folds, classes)
    placeholder = np.zeros(len(labels))
    with warnings.catch_warnings():  # a class with fewer groups than folds: check_assignment warns instead
        warnings.simplefilter("ignore", UserWarning)
        if grouped:
            splits = StratifiedGroupKFold(num_folds, shuffle=True, random_state=seed).split(
                placeholder, sorted_labels, group_ids)
        else:
            splits = StratifiedKFold(num_folds, shuffle=True, random_state=seed).split(placeholder, sorted_labels)
        folds = np.full(len(labels), -1, np.int64)
        for fold, (_, test_index) in enumerate(splits):
            folds[np.asarray(order)[test_index]] = fold
    check_assignment(labels, folds, num_folds, classes)
    return folds


def _check_splittable(labels: np.ndarray, group_ids: list[str] | None, num_folds: int,
                      classes: Sequence[str]) -> None:
    """Every fold can get an example: enough groups (grouped), or every class has num_folds examples."""
    if group_ids is not None:
        count = len(set(group_ids))
        if count < num_folds:
            raise DataError(f"{count} groups cannot be split into {num_folds} folds (a group stays in one fold): "
                            f"use {count} folds or fewer")
        return
    values, counts = np.unique(labels, return_counts=True)
    if counts.min() < num_folds:
        smallest = classes[values[counts.argmin()]]
        raise DataError(f"class {smallest} has {counts.min()} example(s), fewer than the {num_folds} folds (each "
                        f"fold needs every class): use {counts.min()} folds or fewer")


def check_assignment(labels: np.ndarray, folds: np.ndarray, num_folds: int, classes: Sequence[str]) -> None:
    """Raise DataError if a fold is empty; warn about each fold without a class that other folds have."""
    present = set(labels.tolist())
    for fold in range(num_folds):
        in_fold = set(labels[folds == fold].tolist())
        if not in_fold:
            raise DataError(f"fold {fold} has no examples ({len(labels)} examples in {num_folds} folds): use "
                            "fewer folds")
        missing = [classes[label] for label in sorted(present - in_fold)]
        if missing:
            logger.warning("fold %d has no example of class %s", fold, ", ".join(missing))

"""Cross-validation fold assignment: stratified by class, grouped by patient when groups exist."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from tfpgan.errors import DataError


def assign_folds(labels: np.ndarray, groups: list[str], num_folds: int, seed: int) -> np.ndarray:
    """Return the fold index (0..num_folds-1) of every example.

    With any non-empty group, folds are group-aware: all examples of one group
    (patient) land in one fold. Examples without a group form a group each.
    """
    labels = np.asarray(labels)
    if num_folds < 2:
        raise DataError(f"folds must be >= 2, got {num_folds}")
    if len(labels) < num_folds:
        raise DataError(f"{len(labels)} examples cannot be split into {num_folds} folds")
    folds = np.full(len(labels), -1, np.int64)
    placeholder = np.zeros(len(labels))
    if any(groups):
        group_ids = [g if g else f"\0example{i}" for i, g in enumerate(groups)]
        if len(set(group_ids)) < num_folds:
            raise DataError(f"{len(set(group_ids))} groups cannot be split into {num_folds} folds")
        splitter = StratifiedGroupKFold(n_splits=num_folds, shuffle=True, random_state=seed)
        splits = splitter.split(placeholder, labels, group_ids)
    else:
        splitter = StratifiedKFold(n_splits=num_folds, shuffle=True, random_state=seed)
        splits = splitter.split(placeholder, labels)
    for fold, (_, test_index) in enumerate(splits):
        folds[test_index] = fold
    return folds

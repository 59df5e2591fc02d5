"""The classifier's validation split of a test fold: stratified by class, grouped by patient, one per fold.

The split is carved from the real training folds (every fold but the test fold) and depends only on the dataset,
the test fold, the validation fraction and the classifier seed: every regime and every seed repeat of a fold
uses the same one, and a GAN trained for that fold can leave exactly these images out (`tools.split_validation`
writes them, `tools.train --exclude_ids` reads them), so nothing that selects the classifier's best epoch was
seen by the generator either.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from tfpgan.atomic import write_text
from tfpgan.data.dataset_info import read_info
from tfpgan.errors import DataError
from tfpgan.labeled import ExampleRecord, read_records


def fold_seed(seed: int, fold: int) -> int:
    """The seed of test fold ``fold``: its validation split, and the first repeat of every regime (paired)."""
    return seed + fold


def group_keys(ids: Sequence[str], groups: Sequence[str]) -> list[str]:
    """The patient group of every example; an example without a group is a group of its own."""
    return [group or f"\0{example_id}" for example_id, group in zip(ids, groups)]


def choose_validation(labels: np.ndarray, groups: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    """Sorted positions of a validation split of about ``fraction`` of the examples.

    Stratified by label and group-aware (StratifiedGroupKFold with round(1 / fraction) splits; the first split whose
    held-out part has every label, leaving every label in training too). ``groups`` are the group keys (see
    `group_keys`). DataError when no such split exists.
    """
    labels = np.asarray(labels)
    splits = max(2, round(1 / fraction))
    count = len(set(groups))
    if count < splits:
        raise DataError(f"a validation fraction of {fraction:g} needs at least {splits} patient groups in the "
                        f"training folds, found {count}: raise --validation_fraction")
    for label in np.unique(labels):
        label_groups = {group for group, other in zip(groups, labels) if other == label}
        if len(label_groups) < 2:
            raise DataError(f"class {label} has images of {len(label_groups)} patient group(s) in the training "
                            "folds; at least 2 are needed for one in training and one in validation")
    with warnings.catch_warnings():  # a class with fewer groups than splits: the loop below checks what matters
        warnings.simplefilter("ignore", UserWarning)
        folds = StratifiedGroupKFold(splits, shuffle=True, random_state=seed).split(
            np.zeros(len(labels)), labels, groups)
        for train_index, validation_index in folds:
            if set(labels[validation_index]) == set(labels) == set(labels[train_index]):
                return np.sort(validation_index)
    raise DataError(f"no stratified validation split of {fraction:g} has an image of every class in both training "
                    "and validation (too few patient groups per class): change --validation_fraction")


def validation_records(records: Sequence[ExampleRecord], test_fold: int, fraction: float,
                       seed: int) -> list[ExampleRecord]:
    """The validation examples of test fold ``test_fold`` among a dataset's ``records`` (`read_records`), sorted
    by id; seed: the classifier seed."""
    training = sorted(record for record in records if record.fold != test_fold)
    if not training:
        raise DataError(f"no training images outside test fold {test_fold}")
    keys = group_keys([r.id for r in training], [r.group for r in training])
    chosen = choose_validation(np.array([r.label for r in training]), keys, fraction, fold_seed(seed, test_fold))
    return [training[index] for index in chosen]


def validation_ids(dataset_dir: str, test_fold: int, fraction: float, seed: int) -> list[str]:
    """The ids of test fold ``test_fold``'s validation images, sorted: what its GAN must not train on."""
    info = read_info(dataset_dir)
    if not 0 <= test_fold < info.folds:
        raise DataError(f"{dataset_dir}: has folds 0..{info.folds - 1}, not test fold {test_fold}")
    return [record.id for record in validation_records(read_records(dataset_dir), test_fold, fraction, seed)]


def write_ids(path: str, ids: Sequence[str]) -> None:
    """One id per line (atomically); the format of ``tools.train --exclude_ids``."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    write_text(path, "".join(f"{example_id}\n" for example_id in ids))

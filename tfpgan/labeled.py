"""Labeled images in memory: the one type that evaluation, the quality audit and the experiment pass around."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfpgan.data import tfrecords
from tfpgan.data.dataset_info import read_info
from tfpgan.data.pipeline import load
from tfpgan.errors import DataError

RECORD_KEYS = ("id", "label", "fold", "group")


@dataclasses.dataclass(frozen=True, eq=False)
class LabeledArrays:
    """images float32 [N, H, W, C], labels int [N], ids: N strings, groups: N patient groups ('' = none).

    The value range is the producer's: `load_arrays` gives the pipeline's [-1, 1], the quality audit [0, 1].
    groups defaults to no group for every example.
    """

    images: np.ndarray
    labels: np.ndarray
    ids: list[str]
    groups: list[str] | None = None

    def __post_init__(self) -> None:
        if self.groups is None:
            object.__setattr__(self, "groups", [""] * len(self.ids))
        if not len(self.images) == len(self.labels) == len(self.ids) == len(self.groups):
            raise ValueError(f"{len(self.images)} images, {len(self.labels)} labels, {len(self.ids)} ids and "
                             f"{len(self.groups)} groups")

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledArrays:
        """The examples at integer positions `indices`, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        return LabeledArrays(self.images[indices], self.labels[indices], [self.ids[i] for i in indices],
                             [self.groups[i] for i in indices])

    def select_ids(self, ids: Sequence[str]) -> LabeledArrays:
        """The examples with these ids, in that order; DataError naming an id that is not here."""
        position = {example_id: index for index, example_id in enumerate(self.ids)}
        missing = [example_id for example_id in ids if example_id not in position]
        if missing:
            raise DataError(f"{len(missing)} id(s) not among the {len(self)} examples, e.g. {missing[0]!r}")
        return self.subset([position[example_id] for example_id in ids])

    def class_counts(self, num_classes: int) -> np.ndarray:
        """Examples per label 0..num_classes-1."""
        return np.bincount(np.asarray(self.labels, np.int64), minlength=num_classes)

    def oversampled(self, targets: Mapping[int, int], seed: int) -> LabeledArrays:
        """Exactly targets[label] examples of each label, drawn from this set (seeded), grouped by label.

        A class keeps every one of its examples once when its target allows and draws the rest with replacement;
        a target below the class's count draws without replacement. DataError when a class with a positive
        target has no example.
        """
        rng = np.random.default_rng(seed)
        chosen = []
        for label, target in sorted(targets.items()):
            members = np.flatnonzero(self.labels == label)
            if target and not len(members):
                raise DataError(f"cannot oversample label {label} to {target}: it has no training example")
            if target >= len(members):
                chosen += [members, rng.choice(members, target - len(members), replace=True)]
            else:
                chosen.append(np.sort(rng.choice(members, target, replace=False)))
        return self.subset(np.concatenate(chosen) if chosen else np.zeros(0, np.int64))

    @classmethod
    def concatenate(cls, parts: Sequence[LabeledArrays]) -> LabeledArrays:
        """The examples of every part, in order."""
        return cls(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                   [i for p in parts for i in p.ids], [g for p in parts for g in p.groups])


class ExampleRecord(NamedTuple):
    """What a dataset knows about one example besides its pixels."""

    id: str
    label: int
    fold: int
    group: str


def read_records(dataset_dir: str) -> list[ExampleRecord]:
    """Every example's id, label, fold and group (the images are not decoded), sorted by id."""
    info = read_info(dataset_dir)
    features = {key: tfrecords.FEATURES[key] for key in RECORD_KEYS}
    files = [os.path.join(dataset_dir, shard) for shard in info.shards]
    records = []
    for batch in tf.data.TFRecordDataset(files).batch(1024).map(lambda s: tf.io.parse_example(s, features)):
        values = {key: batch[key].numpy() for key in RECORD_KEYS}
        records += [ExampleRecord(values["id"][i].decode("utf-8"), int(values["label"][i]), int(values["fold"][i]),
                                  values["group"][i].decode("utf-8")) for i in range(len(values["id"]))]
    return sorted(records)


def class_counts(dataset_dir: str, folds: Sequence[int], exclude_ids: Sequence[str] = ()) -> list[int]:
    """Examples per class in `folds` of a dataset without `exclude_ids` (ids outside those folds change nothing):
    dataset.json's fold counts, less the excluded examples counted from the records."""
    info = read_info(dataset_dir)
    counts = [sum(info.fold_counts[fold][label] for fold in folds) for label in range(info.num_classes)]
    excluded = set(exclude_ids)
    for record in read_records(dataset_dir) if excluded else ():
        if record.id in excluded and record.fold in folds:
            counts[record.label] -= 1
    return counts


def load_arrays(dataset_dir: str, folds: Sequence[int] | None = None, resolution: int | None = None) -> LabeledArrays:
    """The examples of `folds` (None: all) of a dataset folder, images in [-1, 1], sorted by id (a stable order),
    with their patient groups."""
    batches = list(load(dataset_dir, folds=folds, resolution=resolution, batch_size=256, with_ids=True)
                   .as_numpy_iterator())
    if not batches:
        raise DataError(f"{dataset_dir}: no images in {'any fold' if folds is None else f'folds {list(folds)}'}")
    ids = [i.decode("utf-8") for _, _, batch_ids in batches for i in batch_ids]
    group_of = {record.id: record.group for record in read_records(dataset_dir)}
    arrays = LabeledArrays(np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), ids,
                           [group_of[i] for i in ids])
    return arrays.subset(np.argsort(ids, kind="stable"))

"""Labeled images in memory: the one type that evaluation, the quality audit and the experiment pass around."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from tfpgan.data.pipeline import load
from tfpgan.errors import DataError


@dataclasses.dataclass(frozen=True, eq=False)
class LabeledArrays:
    """images float32 [N, H, W, C], labels int [N], ids: N strings.

    The value range is the producer's: `load_arrays` gives the pipeline's [-1, 1], the quality audit [0, 1].
    """

    images: np.ndarray
    labels: np.ndarray
    ids: list[str]

    def __post_init__(self) -> None:
        if not len(self.images) == len(self.labels) == len(self.ids):
            raise ValueError(f"{len(self.images)} images, {len(self.labels)} labels and {len(self.ids)} ids")

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledArrays:
        """The examples at integer positions `indices`, in that order."""
        return LabeledArrays(self.images[indices], self.labels[indices], [self.ids[i] for i in indices])

    @classmethod
    def concatenate(cls, parts: Sequence[LabeledArrays]) -> LabeledArrays:
        """The examples of every part, in order."""
        return cls(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                   [i for p in parts for i in p.ids])


def load_arrays(dataset_dir: str, folds: Sequence[int] | None = None, resolution: int | None = None) -> LabeledArrays:
    """The examples of `folds` (None: all) of a dataset folder, images in [-1, 1], sorted by id (a stable order)."""
    batches = list(load(dataset_dir, folds=folds, resolution=resolution, batch_size=256, with_ids=True)
                   .as_numpy_iterator())
    if not batches:
        raise DataError(f"{dataset_dir}: no images in {'any fold' if folds is None else f'folds {list(folds)}'}")
    ids = [i.decode("utf-8") for _, _, batch_ids in batches for i in batch_ids]
    arrays = LabeledArrays(np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches]), ids)
    return arrays.subset(np.argsort(ids, kind="stable"))

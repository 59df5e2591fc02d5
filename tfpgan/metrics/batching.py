"""Image sets given to the metrics: one NHWC array or an iterable of NHWC batches, float32 in [0, 1]."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

ImagesOrBatches = np.ndarray | Iterable[np.ndarray]


def image_batches(images: ImagesOrBatches, batch_size: int = 64) -> Iterator[np.ndarray]:
    """Yields float32 NHWC batches: slices of an array, or the batches of an iterable as they come."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if hasattr(images, "shape"):
        for start in range(0, images.shape[0], batch_size):
            yield _as_nhwc(images[start:start + batch_size])
    else:
        for batch in images:
            yield _as_nhwc(batch)


def _as_nhwc(batch) -> np.ndarray:
    array = np.asarray(batch, dtype=np.float32)
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise ValueError(f"expected NHWC images with 1 or 3 channels, got shape {array.shape}")
    return array

"""Image grids for TensorBoard and PNG files: fixed-latent fakes per class next to real samples."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfpgan.atomic import atomic_file


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float images -> uint8."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(fakes: np.ndarray, reals: np.ndarray, min_tile: int = 64) -> np.ndarray:
    """Rows = classes; each row: the class's fakes, a gap, its reals. Inputs [K, n, H, W, C] uint8.

    Tiles are enlarged (nearest) to at least `min_tile` px so that 4x4 images stay visible. Output HxWx3 uint8.
    """
    classes, per_class, size = fakes.shape[0], fakes.shape[1], fakes.shape[2]
    scale = max(1, -(-min_tile // size))
    tile, gap = size * scale, max(2, size * scale // 4)
    grid = np.full((classes * (tile + 2), (2 * per_class) * (tile + 2) + gap, 3), 255, np.uint8)
    for row in range(classes):
        for column, image in enumerate(list(fakes[row]) + list(reals[row])):
            image = np.repeat(np.repeat(image, scale, 0), scale, 1)
            if image.shape[2] == 1:
                image = np.repeat(image, 3, 2)
            x = column * (tile + 2) + (gap if column >= per_class else 0)
            grid[row * (tile + 2) + 1: row * (tile + 2) + 1 + tile, x + 1: x + 1 + tile] = image
    return grid


def save_png(path: str, image: np.ndarray) -> None:
    """Write a uint8 HxWxC image as PNG atomically."""
    with atomic_file(path, ".png") as temporary:
        tf.io.write_file(temporary, tf.io.encode_png(image))

"""Image grids for TensorBoard and PNG files: generated images per class next to real samples, labeled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from tfpgan.atomic import atomic_file
from tfpgan.data.dataset_info import read_info
from tfpgan.data.pipeline import load


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float images -> uint8."""
    return np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def class_samples(dataset_dir: str, folds: Sequence[int] | None, per_class: int,
                  exclude_ids: Sequence[str] = ()) -> np.ndarray:
    """The first `per_class` images of every class in `folds` (stored order, `exclude_ids` left out),
    [K, n, R, R, C] in [-1, 1]; a class with fewer images is padded with black tiles."""
    info = read_info(dataset_dir)
    samples = np.full((info.num_classes, per_class, info.resolution, info.resolution, info.channels), -1.0,
                      np.float32)
    filled = [0] * info.num_classes
    for image, label in load(dataset_dir, folds=folds, batch_size=256, exclude_ids=exclude_ids).unbatch():
        label = int(label)
        if filled[label] < per_class:
            samples[label, filled[label]] = image.numpy()
            filled[label] += 1
        if min(filled) == per_class:
            break
    return samples


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


def labeled_grid(fakes: np.ndarray, reals: np.ndarray, class_names: Sequence[str], left: str, right: str,
                 min_tile: int = 64) -> np.ndarray:
    """`image_grid` with a header naming both sides (`left`, `right`) and each row's class name."""
    grid = image_grid(fakes, reals, min_tile)
    font = ImageFont.load_default(size=13)
    row_height = grid.shape[0] // len(class_names)
    label_width = max(int(font.getlength(name)) for name in class_names) + 12
    header = 18
    right_x = max(label_width + grid.shape[1] // 2 + 2, label_width + 2 + int(font.getlength(left)) + 12)
    width = max(label_width + grid.shape[1], right_x + int(font.getlength(right)) + 4)
    canvas = Image.new("RGB", (width, header + grid.shape[0]), "white")
    canvas.paste(Image.fromarray(grid), (label_width, header))
    draw = ImageDraw.Draw(canvas)
    draw.text((label_width + 2, 3), left, fill="black", font=font)
    draw.text((right_x, 3), right, fill="black", font=font)
    for row, name in enumerate(class_names):
        draw.text((4, header + row * row_height + row_height // 2 - 7), name, fill="black", font=font)
    return np.asarray(canvas)


def save_png(path: str, image: np.ndarray) -> None:
    """Write a uint8 HxWxC image as PNG atomically."""
    with atomic_file(path, ".png") as temporary:
        tf.io.write_file(temporary, tf.io.encode_png(image))

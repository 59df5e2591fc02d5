"""`preview.png`: a labeled grid with a few sample images per class."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfpgan.atomic import atomic_file  # noqa: E402


def save_preview(path: str, samples: list[list[np.ndarray]], class_names: list[str], counts: list[int],
                 title: str = "") -> None:
    """Write a grid, one row per class (label: name and count), of uint8 HxWxC samples; atomic."""
    columns = max(1, max(len(row) for row in samples))
    figure, axes = plt.subplots(len(samples), columns, figsize=(1.3 * columns + 1.6, 1.3 * len(samples) + 0.5),
                                squeeze=False)
    for row, (images, name, count) in enumerate(zip(samples, class_names, counts)):
        for column in range(columns):
            axis = axes[row][column]
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_visible(False)
            if column < len(images):
                image = images[column]
                if image.shape[-1] == 1:
                    axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
                else:
                    axis.imshow(image)
            if column == 0:
                axis.set_ylabel(f"{name}\n(n={count})", rotation=0, ha="right", va="center", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    try:
        with atomic_file(path, ".png") as temporary:
            figure.savefig(temporary, dpi=100)
    finally:
        plt.close(figure)

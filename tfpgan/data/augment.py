"""Classic image augmentation (Frid-Adar et al. 2018, GUIDE.md §2) for tf.data pipelines.

Random rotation in [0, 180] degrees, horizontal and vertical flips, translation by up to
min(4 px, 10% of the image size) and rescaling (zoom). Each part can be switched off
where it is invalid for the anatomy (e.g. no flips for left/right-specific structures).
Built from Keras preprocessing layers, which run inside the tf.data graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

FILL_MODES = ("reflect", "wrap", "constant", "nearest")

Augmenter = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


@dataclasses.dataclass(frozen=True)
class ClassicAugmentation:
    """Which classic augmentations to apply, and how strongly.

    Attributes:
      rotation_degrees: a number d rotates by a uniform angle in [0, d] degrees
        (counter-clockwise); a pair (low, high) in [low, high]; 0 disables rotation.
      horizontal_flip, vertical_flip: flip each image with probability 1/2.
      translate_pixels, translate_fraction: shift each axis by up to
        min(translate_pixels, translate_fraction * size) pixels; either 0 disables it.
      zoom: rescale by a factor in [1 - zoom, 1 + zoom] (same for both axes); 0 disables it.
      fill_mode: how pixels moved in from outside are filled, one of FILL_MODES
        ("constant" fills with 0, mid-grey in [-1, 1]).
    """

    rotation_degrees: float | tuple[float, float] = 180.0
    horizontal_flip: bool = True
    vertical_flip: bool = True
    translate_pixels: float = 4
    translate_fraction: float = 0.1
    zoom: float = 0.1
    fill_mode: str = "reflect"

    def __post_init__(self) -> None:
        low, high = self.rotation_range
        if not -360.0 <= low <= high <= 360.0:
            raise ValueError(
                f"rotation_degrees must be a number in [0, 360] or a pair low <= high in [-360, 360]; "
                f"got {self.rotation_degrees!r}."
            )
        if self.translate_pixels < 0:
            raise ValueError(f"translate_pixels must be >= 0; got {self.translate_pixels}.")
        if not 0.0 <= self.translate_fraction < 1.0:
            raise ValueError(f"translate_fraction must lie in [0, 1); got {self.translate_fraction}.")
        if not 0.0 <= self.zoom < 1.0:
            raise ValueError(f"zoom must lie in [0, 1); got {self.zoom}.")
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}; got {self.fill_mode!r}.")

    @property
    def rotation_range(self) -> tuple[float, float]:
        """The (low, high) rotation angle in degrees."""
        if isinstance(self.rotation_degrees, (tuple, list)):
            low, high = self.rotation_degrees
            return float(low), float(high)
        return 0.0, float(self.rotation_degrees)

    @property
    def rotates(self) -> bool:
        return self.rotation_range != (0.0, 0.0)

    @property
    def translates(self) -> bool:
        return self.translate_pixels > 0 and self.translate_fraction > 0

    @property
    def enabled(self) -> bool:
        """Whether any augmentation is switched on."""
        return (
            self.rotates or self.horizontal_flip or self.vertical_flip or self.translates or self.zoom > 0
        )

    def translate_factor(self, size: int) -> float:
        """The largest shift along an axis of ``size`` pixels, as a fraction of that size."""
        return min(self.translate_pixels, self.translate_fraction * size) / size


def _flip_mode(config: ClassicAugmentation) -> str | None:
    if config.horizontal_flip and config.vertical_flip:
        return "horizontal_and_vertical"
    if config.horizontal_flip:
        return "horizontal"
    if config.vertical_flip:
        return "vertical"
    return None


def _augmentation_layers(
    config: ClassicAugmentation, height: int, width: int, seed: int
) -> list[keras.layers.Layer]:
    """The Keras preprocessing layers for one image size, each with its own seed."""
    layers: list[keras.layers.Layer] = []
    flip_mode = _flip_mode(config)
    if flip_mode:
        layers.append(keras.layers.RandomFlip(flip_mode, seed=seed))
    if config.rotates:
        low, high = config.rotation_range
        layers.append(
            keras.layers.RandomRotation((low / 360.0, high / 360.0), fill_mode=config.fill_mode, seed=seed + 1)
        )
    if config.zoom > 0:
        layers.append(
            keras.layers.RandomZoom((-config.zoom, config.zoom), fill_mode=config.fill_mode, seed=seed + 2)
        )
    if config.translates:
        layers.append(
            keras.layers.RandomTranslation(
                config.translate_factor(height),
                config.translate_factor(width),
                fill_mode=config.fill_mode,
                seed=seed + 3,
            )
        )
    return layers


def make_augmenter(config: ClassicAugmentation, seed: int) -> Augmenter:
    """A ``(images, labels) -> (images, labels)`` function for ``tf.data.Dataset.map``.

    ``images`` are float32 in [-1, 1], NHWC (a batch) or HWC, with a static height and
    width; every image gets its own random transform and the result is clipped to
    [-1, 1]. The same seed gives the same sequence of transforms. With nothing enabled
    the function returns its inputs unchanged. The layers are built on first use for each
    image size, because the translation limit depends on it.
    """
    if not config.enabled:
        return lambda images, labels: (images, labels)
    layers_by_size: dict[tuple[int, int], list[keras.layers.Layer]] = {}

    def augment(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        height, width = images.shape[-3:-1]
        if height is None or width is None:
            raise ValueError(f"Augmentation needs a static image height and width; got shape {images.shape}.")
        if (height, width) not in layers_by_size:
            layers_by_size[(height, width)] = _augmentation_layers(config, height, width, seed)
        for layer in layers_by_size[(height, width)]:
            images = layer(images, training=True)
        return tf.clip_by_value(images, -1.0, 1.0), labels

    return augment

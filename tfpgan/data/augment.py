"""Classic image augmentation (Frid-Adar et al. 2018) for tf.data pipelines.

Random rotation in [0, 180] degrees, horizontal and vertical flips, translation by up to
min(4 px, 10% of the image size) and rescaling (zoom). Each part can be switched off
where it is invalid for the anatomy (e.g. no flips for left/right-specific structures).
Built from Keras preprocessing layers, which run inside the tf.data graph.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tfpgan.options import ClassicAugmentation

Augmenter = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


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

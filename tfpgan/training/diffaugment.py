"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of every image the discriminator sees.

Images are float NHWC in [-1, 1]. Every operation draws its own parameters per sample from a stateless seed [2]
and takes a `strength`: 0 is the identity, 1 the DiffAugment setting. Parameters at strength 1:

- brightness: x + U(-0.5, 0.5). DiffAugment's StyleGAN2 code adds U(-0.5, 0.5) to images in [-1, 1] too, so the
  shift is a quarter of the value range.
- saturation: around the per-pixel mean over channels, scaled by U(0, 2); the identity on one channel.
- contrast: around the per-image mean, scaled by U(0.5, 1.5).
- translation: by up to 1/8 of the size per axis, in whole pixels, zero (mid-gray) padded.
- cutout: a square of half the size at a random center set to zero (mid-gray).

`augment()` applies a policy in DiffAugment's order: colour (brightness, saturation, contrast), then translation,
then cutout, so padded and cut-out areas stay exactly zero; each operation acts on each sample with probability `p`
(ADA's policy; fixed DiffAugment is p = 1). Values are not clipped (neither are DiffAugment's), so brightness and
contrast may leave [-1, 1] by at most the amounts above. Every operation is differentiable in the images.
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5


def _per_sample(images: tf.Tensor, seed, low: float, high: float) -> tf.Tensor:
    """U(low, high) per sample, shaped [N, 1, 1, 1] in the images' dtype."""
    shape = [tf.shape(images)[0], 1, 1, 1]
    return tf.cast(tf.random.stateless_uniform(shape, seed, low, high), images.dtype)


def brightness(images: tf.Tensor, seed, strength: float = 1.0) -> tf.Tensor:
    return images + strength * _per_sample(images, seed, -0.5, 0.5)


def saturation(images: tf.Tensor, seed, strength: float = 1.0) -> tf.Tensor:
    if images.shape[-1] == 1:
        return images
    mean = tf.reduce_mean(images, axis=-1, keepdims=True)
    factor = 1.0 + strength * (_per_sample(images, seed, 0.0, 2.0) - 1.0)
    return mean + factor * (images - mean)


def contrast(images: tf.Tensor, seed, strength: float = 1.0) -> tf.Tensor:
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    factor = 1.0 + strength * (_per_sample(images, seed, 0.5, 1.5) - 1.0)
    return mean + factor * (images - mean)


def _shifts(images: tf.Tensor, seed, limit: int) -> tf.Tensor:
    """Integer shifts in [-limit, limit], [N, 2] (rows, columns)."""
    return tf.random.stateless_uniform([tf.shape(images)[0], 2], seed, -limit, limit + 1, tf.int32)


def translation(images: tf.Tensor, seed, strength: float = 1.0) -> tf.Tensor:
    height, width = images.shape[1], images.shape[2]
    limit = int(round(max(height, width) * TRANSLATION_RATIO * strength))
    if limit == 0:
        return images
    shifts = _shifts(images, seed, limit)
    padded = tf.pad(images, [[0, 0], [limit, limit], [limit, limit], [0, 0]])
    rows = tf.range(height)[None, :] + limit - shifts[:, :1]  # output row y reads input row y - shift
    columns = tf.range(width)[None, :] + limit - shifts[:, 1:]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def cutout(images: tf.Tensor, seed, strength: float = 1.0) -> tf.Tensor:
    height, width = images.shape[1], images.shape[2]
    size_y, size_x = int(round(height * CUTOUT_RATIO * strength)), int(round(width * CUTOUT_RATIO * strength))
    if size_y == 0 or size_x == 0:
        return images
    centers = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed, 0, tf.int32.max, tf.int32)
    top = centers[:, :1] % height - size_y // 2  # [N, 1]
    left = centers[:, 1:] % width - size_x // 2
    rows, columns = tf.range(height)[None, :], tf.range(width)[None, :]
    inside_rows = (rows >= top) & (rows < top + size_y)  # [N, H]
    inside_columns = (columns >= left) & (columns < left + size_x)  # [N, W]
    inside = inside_rows[:, :, None] & inside_columns[:, None, :]
    return images * tf.cast(~inside, images.dtype)[..., None]


# In the order augment() applies them: DiffAugment's colour, translation, cutout.
OPERATIONS: dict[str, Callable] = {"brightness": brightness, "saturation": saturation, "contrast": contrast,
                                   "translation": translation, "cutout": cutout}


def check_policy(policy: Sequence[str]) -> None:
    unknown = [name for name in policy if name not in OPERATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown}; choose from {sorted(OPERATIONS)}")


def augment(images: tf.Tensor, policy: Sequence[str], seed, p=1.0) -> tf.Tensor:
    """The policy's operations in the order of OPERATIONS (whatever the policy's order), each applied to each
    sample with probability `p` (a float or a scalar tensor); seed: a stateless seed [2]."""
    check_policy(policy)
    seed = tf.cast(seed, tf.int64)
    for index, name in enumerate(OPERATIONS):
        if name not in policy:
            continue
        operation_seed = tf.random.experimental.stateless_fold_in(seed, index)
        parameters, choice = tf.unstack(tf.random.experimental.stateless_split(operation_seed, 2))
        augmented = OPERATIONS[name](images, parameters)
        if isinstance(p, (int, float)) and p >= 1:
            images = augmented
            continue
        applied = _per_sample(images, choice, 0.0, 1.0) < tf.cast(p, images.dtype)
        images = tf.where(applied, augmented, images)
    return images

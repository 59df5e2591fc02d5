"""MS-SSIM between image pairs, and MS-SSIM diversity within one image set.

Standard MS-SSIM (Wang et al. 2003): 11x11 Gaussian window (sigma 1.5), k1 = 0.01,
k2 = 0.03, 5 scales weighted (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), via
`tf.image.ssim_multiscale`. Every scale must still hold the 11x11 window after the
2x average-pool downsamplings (sizes are ceil-halved), so 5 scales need a smaller side of
at least 161 px. Smaller images use as many scales as fit (the first ones, their weights
renormalized to sum 1): a 16x16 image gets 1 scale (plain SSIM), 32x32 gets 2, 64x64 3.
Scores of images of different sizes are therefore not comparable. Below 11 px: error.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

FILTER_SIZE = 11
FILTER_SIGMA = 1.5
K1 = 0.01
K2 = 0.03
SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def num_scales(height: int, width: int) -> int:
    """How many of the 5 MS-SSIM scales keep the 11x11 window inside the (ceil-halved) image."""
    scales, size = 0, min(height, width)
    while scales < len(SCALE_WEIGHTS) and size >= FILTER_SIZE:
        scales, size = scales + 1, -(-size // 2)
    if scales == 0:
        raise ValueError(f"MS-SSIM needs images of at least {FILTER_SIZE}x{FILTER_SIZE}, got {height}x{width}")
    return scales


def scale_weights(height: int, width: int) -> tuple[float, ...]:
    """The standard weights when all 5 scales fit; else those of the scales that fit, summing to 1."""
    scales = num_scales(height, width)
    if scales == len(SCALE_WEIGHTS):
        return SCALE_WEIGHTS
    weights = np.asarray(SCALE_WEIGHTS[:scales])
    return tuple(float(w) for w in weights / weights.sum())


def ms_ssim(images_a: np.ndarray, images_b: np.ndarray, max_val: float = 1.0) -> np.ndarray:
    """MS-SSIM of each pair (images_a[i], images_b[i]) of equal-shape NHWC batches: [N] float32."""
    images_a = tf.convert_to_tensor(images_a, dtype=tf.float32)
    images_b = tf.convert_to_tensor(images_b, dtype=tf.float32)
    if images_a.shape != images_b.shape or images_a.shape.rank != 4:
        raise ValueError(f"expected two NHWC batches of equal shape, got {images_a.shape} and {images_b.shape}")
    scores = tf.image.ssim_multiscale(
        images_a,
        images_b,
        max_val=max_val,
        power_factors=scale_weights(images_a.shape[1], images_a.shape[2]),
        filter_size=FILTER_SIZE,
        filter_sigma=FILTER_SIGMA,
        k1=K1,
        k2=K2,
    )
    return scores.numpy()


def sample_distinct_pairs(num_images: int, num_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `num_pairs` distinct unordered pairs (i < j) of image indices, [P, 2].

    All pairs when `num_pairs` reaches their number; otherwise a uniform random choice.
    """
    if num_images < 2:
        raise ValueError("pairs need at least 2 images")
    total = num_images * (num_images - 1) // 2
    if num_pairs >= total:
        return np.stack(np.triu_indices(num_images, k=1), axis=1)
    codes = np.empty(0, dtype=np.int64)
    while codes.size < num_pairs:
        first, second = rng.integers(0, num_images, size=(2, num_pairs))
        low, high = np.minimum(first, second), np.maximum(first, second)
        codes = np.concatenate([codes, (low * num_images + high)[low != high]])
        _, first_seen = np.unique(codes, return_index=True)
        codes = codes[np.sort(first_seen)]
    codes = codes[:num_pairs]
    return np.stack([codes // num_images, codes % num_images], axis=1)


def msssim_diversity(
    images: np.ndarray,
    num_pairs: int = 1000,
    seed: int | np.random.Generator = 0,
    batch_size: int = 64,
) -> tuple[float, float]:
    """Mean and std of MS-SSIM over random distinct pairs within ONE set (pass one class at a time).

    Higher means less diverse; a synthetic class far above its real class suggests mode collapse.
    `images` must be indexable (an array or memmap).
    """
    pairs = sample_distinct_pairs(len(images), num_pairs, np.random.default_rng(seed))
    scores = np.concatenate([
        ms_ssim(
            np.asarray(images[chunk[:, 0]], dtype=np.float32),
            np.asarray(images[chunk[:, 1]], dtype=np.float32),
        )
        for chunk in np.array_split(pairs, max(1, -(-len(pairs) // batch_size)))
    ])
    return float(scores.mean()), float(scores.std())

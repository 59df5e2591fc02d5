"""Sliced Wasserstein distance (SWD) between image sets, as in the PGGAN paper and official code.

Each image set becomes, per Laplacian-pyramid level (from full resolution down to 16x16),
a set of 7x7 patch descriptors: 128 random patches per image. Each descriptor set is
normalized per channel by its own mean and std; the distance between two sets is the mean,
over 512 random unit directions (4 repeats of 128), of the mean absolute difference of the
sorted projections. Values are reported x1e3, per level and averaged over levels.
`swd_with_floor` puts a value beside its noise floor (a disjoint real sample against the same reference).

Differences from the official code, all for inputs it did not accept: images of 16x16 or
smaller give one level (>= 7x7 needed); odd sizes are allowed (levels are ceil-halved);
sets with different descriptor counts are compared after subsampling the larger one;
a constant channel (std 0) is centred but not scaled.
"""
from __future__ import annotations

import numpy as np
import scipy.ndimage

from tfpgan.metrics.batching import ImagesOrBatches, image_batches

PATCH_SIZE = 7
PATCHES_PER_IMAGE = 128
DIRECTION_REPEATS = 4
DIRECTIONS_PER_REPEAT = 128
MIN_LEVEL_SIZE = 16
# 5-tap binomial kernel of cv2.pyrDown / pyrUp (the official code's `gaussian_filter`, separated).
_BINOMIAL_KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0


def num_pyramid_levels(height: int, width: int) -> int:
    """Levels from full size down to 16 px (halving while the smaller side stays >= 16); at least 1."""
    levels, size = 1, min(height, width)
    while size // 2 >= MIN_LEVEL_SIZE:
        levels, size = levels + 1, size // 2
    return levels


def _blur(images: np.ndarray, gain: float = 1.0) -> np.ndarray:
    kernel = _BINOMIAL_KERNEL * gain
    blurred = scipy.ndimage.convolve1d(images, kernel, axis=1, mode="mirror")
    return scipy.ndimage.convolve1d(blurred, kernel, axis=2, mode="mirror")


def _pyr_down(images: np.ndarray) -> np.ndarray:
    return _blur(images)[:, ::2, ::2]


def _pyr_up(images: np.ndarray, height: int, width: int) -> np.ndarray:
    batch, small_h, small_w, channels = images.shape
    upsampled = np.zeros((batch, 2 * small_h, 2 * small_w, channels), dtype=images.dtype)
    upsampled[:, ::2, ::2] = images
    return _blur(upsampled, gain=2.0)[:, :height, :width]


def laplacian_pyramid(images: np.ndarray, num_levels: int) -> list[np.ndarray]:
    """Band-pass levels of NHWC images, finest first; the last level is the low-pass residual."""
    pyramid = [np.asarray(images, dtype=np.float32)]
    for _ in range(1, num_levels):
        finer = pyramid[-1]
        pyramid.append(_pyr_down(finer))
        pyramid[-2] = finer - _pyr_up(pyramid[-1], finer.shape[1], finer.shape[2])
    return pyramid


def _random_patches(level: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PATCHES_PER_IMAGE random 7x7 patches per image, flattened to [N * 128, C * 49]."""
    batch, height, width, channels = level.shape
    windows = np.lib.stride_tricks.sliding_window_view(level, (PATCH_SIZE, PATCH_SIZE), axis=(1, 2))
    image_index = np.repeat(np.arange(batch), PATCHES_PER_IMAGE)
    top = rng.integers(0, height - PATCH_SIZE + 1, size=image_index.size)
    left = rng.integers(0, width - PATCH_SIZE + 1, size=image_index.size)
    return windows[image_index, top, left].reshape(image_index.size, channels * PATCH_SIZE * PATCH_SIZE)


def patch_descriptors(
    images: ImagesOrBatches, rng: np.random.Generator, batch_size: int = 64
) -> dict[int, np.ndarray]:
    """Raw (unnormalized) patch descriptors per pyramid level, keyed by the level's height.

    Streams the images: only the descriptors of all images are kept, [N * 128, C * 49] per level.
    """
    per_level: dict[int, list[np.ndarray]] = {}
    for batch in image_batches(images, batch_size):
        _, height, width, _ = batch.shape
        if min(height, width) < PATCH_SIZE:
            raise ValueError(f"SWD needs images of at least {PATCH_SIZE}x{PATCH_SIZE}, got {height}x{width}")
        for level in laplacian_pyramid(batch, num_pyramid_levels(height, width)):
            per_level.setdefault(level.shape[1], []).append(_random_patches(level, rng))
    if not per_level:
        raise ValueError("no images given to SWD")
    return {resolution: np.concatenate(parts) for resolution, parts in per_level.items()}


def _normalize(descriptors: np.ndarray, channels: int) -> np.ndarray:
    """Per-channel standardization over all descriptors and patch pixels."""
    per_channel = descriptors.reshape(descriptors.shape[0], channels, -1)
    mean = per_channel.mean(axis=(0, 2), keepdims=True)
    std = per_channel.std(axis=(0, 2), keepdims=True)
    std[std == 0] = 1.0
    return ((per_channel - mean) / std).reshape(descriptors.shape)


def sliced_wasserstein(
    descriptors_a: np.ndarray,
    descriptors_b: np.ndarray,
    rng: np.random.Generator,
    channels: int = 1,
    direction_repeats: int = DIRECTION_REPEATS,
    directions_per_repeat: int = DIRECTIONS_PER_REPEAT,
) -> float:
    """SWD (not scaled) between two raw descriptor sets of one level.

    The larger set is randomly subsampled to the size of the smaller; each set is then
    normalized per channel by its own statistics.
    """
    count = min(len(descriptors_a), len(descriptors_b))
    descriptors_a, descriptors_b = (
        _normalize(d if len(d) == count else d[rng.choice(len(d), count, replace=False)], channels)
        for d in (descriptors_a, descriptors_b)
    )
    results = []
    for _ in range(direction_repeats):
        directions = rng.standard_normal((descriptors_a.shape[1], directions_per_repeat))
        directions = (directions / np.linalg.norm(directions, axis=0, keepdims=True)).astype(np.float32)
        # Sorting contiguous rows (one per direction) is much faster than sorting columns.
        projected_a = np.sort(directions.T @ descriptors_a.T, axis=1)
        projected_b = np.sort(directions.T @ descriptors_b.T, axis=1)
        results.append(np.mean(np.abs(projected_a - projected_b)))
    return float(np.mean(results))


def swd(
    images_a: ImagesOrBatches,
    images_b: ImagesOrBatches,
    seed: int | np.random.Generator = 0,
    batch_size: int = 64,
) -> dict:
    """SWD x1e3 between two image sets: {"levels": {height: value}, "average": value}.

    Both sets must have the same image size and channels. `seed` (or a Generator) fixes the
    patch positions and projection directions.
    """
    rng = np.random.default_rng(seed)
    descriptors_a = patch_descriptors(images_a, rng, batch_size)
    descriptors_b = patch_descriptors(images_b, rng, batch_size)
    if descriptors_a.keys() != descriptors_b.keys():
        raise ValueError(f"image sizes differ: levels {sorted(descriptors_a)} vs {sorted(descriptors_b)}")
    levels = {}
    for resolution, desc_a in descriptors_a.items():
        desc_b = descriptors_b[resolution]
        if desc_a.shape[1] != desc_b.shape[1]:
            raise ValueError("image sets have different numbers of channels")
        channels = desc_a.shape[1] // (PATCH_SIZE * PATCH_SIZE)
        levels[resolution] = 1e3 * sliced_wasserstein(desc_a, desc_b, rng, channels)
    return {"levels": levels, "average": float(np.mean(list(levels.values())))}


def swd_with_floor(reference: np.ndarray, real_half: np.ndarray, synthetic: ImagesOrBatches,
                   seed: int | np.random.Generator = 0, batch_size: int = 64) -> dict:
    """SWD x1e3 of `synthetic` against the real `reference`, beside its noise floor and their ratio.

    The floor is the SWD of `real_half` (real images disjoint from `reference`) against `reference`: the value a
    perfect generator would get. Give `synthetic` as many images as `real_half` (sample sizes change SWD), so a
    sample of the real distribution has a ratio near 1. Both comparisons draw from the same seed, so they use the
    same reference patches and projection directions. Returns {"synthetic_vs_real", "real_vs_real_noise_floor"}
    (each {"levels", "average"}) and "ratio_to_floor" (the averages' ratio; None for a zero floor).
    """
    if len(real_half) < 1 or len(reference) < 1:
        raise ValueError("the noise floor needs at least 1 reference and 1 other real image")
    state = np.random.default_rng(seed).bit_generator.state
    floor = swd(reference, real_half, seed=_generator(state), batch_size=batch_size)
    distance = swd(reference, synthetic, seed=_generator(state), batch_size=batch_size)
    ratio = distance["average"] / floor["average"] if floor["average"] > 0 else None
    return {"synthetic_vs_real": distance, "real_vs_real_noise_floor": floor, "ratio_to_floor": ratio}


def _generator(state: dict) -> np.random.Generator:
    """A fresh Generator in the given bit-generator state (the same draws every time)."""
    generator = np.random.default_rng()
    generator.bit_generator.state = state
    return generator

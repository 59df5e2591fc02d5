"""Memorization audit: is a synthetic image a near-copy of a training image?

Each synthetic image is matched to its most similar training image by SSIM (the same
window and constants as `tf.image.ssim`: 11x11 Gaussian, sigma 1.5, k1 0.01, k2 0.03,
valid region, averaged over pixels and channels). The reference distribution is the same
nearest-training SSIM measured from held-out real images: a synthetic image is flagged
when its SSIM exceeds what only `percentile`% of held-out images reach.

Speed: each image's Gaussian-filtered mean and mean of squares are computed once; per
pair only the filtered cross product remains, evaluated for a batch of queries against a
chunk of references at a time. `max_size` optionally shrinks images (longer side, keeping
the aspect ratio, antialiased) before matching: SSIM values then describe the downsampled
images (use the same `max_size` for every comparison); 64-128 is plenty to find copies.
"""
from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.neighbors import NearestNeighbors

from tfpgan.atomic import atomic_file
from tfpgan.metrics.batching import ImagesOrBatches, image_batches
from tfpgan.metrics.msssim import FILTER_SIGMA, FILTER_SIZE, K1, K2

logger = logging.getLogger(__name__)
# Pair tensors are chunked to about this many elements (a few such tensors live at once).
_PAIR_ELEMENTS_PER_CHUNK = 1 << 23
# Characters per line of an image title in closest_pairs.png (longer ids wrap).
_TITLE_CHARACTERS = 26


def _gaussian_taps() -> np.ndarray:
    coords = np.arange(FILTER_SIZE, dtype=np.float32) - (FILTER_SIZE - 1) / 2.0
    taps = np.exp(-(coords**2) / (2.0 * FILTER_SIGMA**2))
    return taps / taps.sum()


_GAUSSIAN_TAPS = _gaussian_taps()


class _SsimStats(NamedTuple):
    """Channels-first images [N, C, H, W] with their Gaussian-filtered mean and mean of squares."""

    images: tf.Tensor
    mean: tf.Tensor
    mean_of_squares: tf.Tensor


def _gaussian_filter(planes: tf.Tensor) -> tf.Tensor:
    """Separable 11x11 Gaussian filter of [..., H, W] planes, valid region: [..., H - 10, W - 10]."""
    shape = tf.shape(planes)
    filtered = tf.reshape(planes, tf.concat([[-1], shape[-2:], [1]], axis=0))
    filtered = tf.nn.conv2d(filtered, _GAUSSIAN_TAPS.reshape(FILTER_SIZE, 1, 1, 1), 1, "VALID")
    filtered = tf.nn.conv2d(filtered, _GAUSSIAN_TAPS.reshape(1, FILTER_SIZE, 1, 1), 1, "VALID")
    return tf.reshape(filtered, tf.concat([shape[:-2], tf.shape(filtered)[1:3]], axis=0))


def _shrink(batch: np.ndarray, max_size: int | None) -> tf.Tensor:
    """Optionally downsized images, channels first."""
    images = tf.convert_to_tensor(batch, dtype=tf.float32)
    height, width = images.shape[1:3]
    if max_size is not None and max(height, width) > max_size:
        scale = max_size / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        images = tf.image.resize(images, size, method="bilinear", antialias=True)
    if min(images.shape[1:3]) < FILTER_SIZE:
        raise ValueError(f"SSIM needs images of at least {FILTER_SIZE}x{FILTER_SIZE}, got {images.shape[1:3]}")
    return tf.transpose(images, [0, 3, 1, 2])


def _ssim_stats(batch: np.ndarray, max_size: int | None) -> _SsimStats:
    images = _shrink(batch, max_size)
    return _SsimStats(images, _gaussian_filter(images), _gaussian_filter(tf.square(images)))


def _prepare_references(references: ImagesOrBatches, max_size: int | None, batch_size: int) -> _SsimStats:
    parts = [_ssim_stats(batch, max_size) for batch in image_batches(references, batch_size)]
    if not parts:
        raise ValueError("no reference images")
    return _SsimStats(*(tf.concat(field_parts, axis=0) for field_parts in zip(*parts)))


@tf.function(reduce_retracing=True)
def _pairwise_ssim(query: _SsimStats, refs: _SsimStats) -> tf.Tensor:
    """SSIM of every (query, reference) pair: [num_queries, num_references]."""
    cross = _gaussian_filter(query.images[:, None] * refs.images[None])
    mean_q, mean_r = query.mean[:, None], refs.mean[None]
    squares_q, squares_r = query.mean_of_squares[:, None], refs.mean_of_squares[None]
    c1, c2 = K1**2, K2**2
    luminance = (2.0 * mean_q * mean_r + c1) / (tf.square(mean_q) + tf.square(mean_r) + c1)
    contrast_structure = (2.0 * (cross - mean_q * mean_r) + c2) / (
        squares_q + squares_r - tf.square(mean_q) - tf.square(mean_r) + c2
    )
    return tf.reduce_mean(luminance * contrast_structure, axis=[2, 3, 4])


def _nearest_by_ssim(
    queries: ImagesOrBatches, refs: _SsimStats, max_size: int | None, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    best_ssim, best_index = [], []
    elements_per_ref = int(np.prod(refs.images.shape[1:]))
    for batch in image_batches(queries, batch_size):
        query = _ssim_stats(batch, max_size)
        if query.images.shape[1:] != refs.images.shape[1:]:
            raise ValueError(f"query images {query.images.shape[1:]} differ from references {refs.images.shape[1:]}")
        chunk = max(1, _PAIR_ELEMENTS_PER_CHUNK // (len(batch) * elements_per_ref))
        scores = np.concatenate([
            _pairwise_ssim(query, _SsimStats(*(field[start:start + chunk] for field in refs))).numpy()
            for start in range(0, refs.images.shape[0], chunk)
        ], axis=1)
        best_index.append(scores.argmax(axis=1))
        best_ssim.append(scores.max(axis=1))
    if not best_ssim:
        raise ValueError("no query images")
    return np.concatenate(best_ssim), np.concatenate(best_index)


def nearest_neighbours_ssim(
    queries: ImagesOrBatches,
    references: ImagesOrBatches,
    batch_size: int = 16,
    max_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each query image, the highest SSIM over all references and that reference's index.

    Queries are streamed; references are kept (as images plus two filtered maps), so pass
    `max_size` for many large references.
    """
    refs = _prepare_references(references, max_size, batch_size)
    return _nearest_by_ssim(queries, refs, max_size, batch_size)


def nearest_neighbours_features(query_feats: np.ndarray, ref_feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query feature vector, the euclidean distance to the nearest reference and its index."""
    distances, indices = NearestNeighbors(n_neighbors=1).fit(ref_feats).kneighbors(query_feats)
    return distances[:, 0], indices[:, 0]


def memorization_report(
    synthetic: ImagesOrBatches,
    training: ImagesOrBatches,
    holdout: ImagesOrBatches,
    synthetic_ids: Sequence | None = None,
    percentile: float = 1.0,
    batch_size: int = 16,
    max_size: int | None = None,
) -> dict:
    """Nearest-training SSIM of synthetic images, judged against held-out real images.

    Returns a dict with:
      synthetic_ids, nearest_training_ssim [Ns], nearest_training_index [Ns];
      holdout_nearest_ssim [Nh], holdout_nearest_index [Nh] (the baseline: real images the GAN never saw);
      percentile, threshold (the lowest baseline value with at most `percentile`% of the baseline above it);
      fraction_above_threshold (of synthetic images);
      expected_fraction_above_threshold: (k + 1) / (n + 1) for n baseline images, k of them above the threshold:
        the chance that an image exchangeable with the baseline (nothing copied) lies above it, which a small
        baseline makes larger than percentile/100;
      flagged_ids (synthetic ids above the threshold, highest SSIM first).
    `synthetic_ids` defaults to positions 0..Ns-1.
    """
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"percentile must be in [0, 100], got {percentile}")
    refs = _prepare_references(training, max_size, batch_size)
    synthetic_ssim, synthetic_index = _nearest_by_ssim(synthetic, refs, max_size, batch_size)
    holdout_ssim, holdout_index = _nearest_by_ssim(holdout, refs, max_size, batch_size)
    ids = list(range(len(synthetic_ssim))) if synthetic_ids is None else list(synthetic_ids)
    if len(ids) != len(synthetic_ssim):
        raise ValueError(f"{len(ids)} synthetic ids for {len(synthetic_ssim)} synthetic images")
    threshold = float(np.percentile(holdout_ssim, 100.0 - percentile, method="inverted_cdf"))
    above = np.flatnonzero(synthetic_ssim > threshold)
    flagged = above[np.argsort(-synthetic_ssim[above], kind="stable")]
    report = {
        "synthetic_ids": ids,
        "nearest_training_ssim": synthetic_ssim,
        "nearest_training_index": synthetic_index,
        "holdout_nearest_ssim": holdout_ssim,
        "holdout_nearest_index": holdout_index,
        "percentile": percentile,
        "threshold": threshold,
        "fraction_above_threshold": float(above.size / synthetic_ssim.size),
        "expected_fraction_above_threshold": float((np.sum(holdout_ssim > threshold) + 1) / (holdout_ssim.size + 1)),
        "flagged_ids": [ids[i] for i in flagged],
    }
    logger.info("memorization: threshold SSIM %.4f, %d of %d synthetic images above it",
                 threshold, above.size, synthetic_ssim.size)
    return report


def closest_pairs(report: dict, top_k: int) -> np.ndarray:
    """Positions of the `top_k` synthetic images of a `memorization_report` nearest to a training image, nearest
    first (ties in input order, as in flagged_ids)."""
    return np.argsort(-np.asarray(report["nearest_training_ssim"]), kind="stable")[:top_k]


def save_closest_pairs_png(path: str, synthetic: Sequence[np.ndarray], training: Sequence[np.ndarray],
                           synthetic_ids: Sequence[str], training_ids: Sequence[str], ssim: Sequence[float]) -> None:
    """PNG with one row per pair: synthetic image i (titled by its id) beside its nearest training image (its id),
    the row titled by their SSIM. Images in [0, 1]; written atomically (temporary file, then rename)."""
    titles = [[_wrap(str(image_id)) for image_id in ids] for ids in zip(synthetic_ids, training_ids)]
    lines = max(title.count("\n") for pair in titles for title in pair)
    row_height = 2.4 + 0.12 * lines
    figure = Figure(figsize=(4.2, 0.3 + row_height * len(titles)), layout="constrained")
    FigureCanvasAgg(figure)
    header, *rows = figure.subfigures(len(titles) + 1, 1, height_ratios=[0.3] + [row_height] * len(titles))
    header.suptitle("left: synthetic image, right: its nearest training image", fontsize=8)
    for row, images, pair, value in zip(rows, zip(synthetic, training), titles, ssim):
        row.suptitle(f"SSIM {value:.3f}", fontsize=8, fontweight="bold")
        for axis, image, title in zip(row.subplots(1, 2), images, pair):
            _show(axis, image, "\n" * (lines - title.count("\n")) + title)  # same title height: same image size
    with atomic_file(path, ".png") as temporary:
        figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")


def _wrap(text: str) -> str:
    """Lines of at most _TITLE_CHARACTERS, broken after a '/' where possible."""
    lines = [""]
    for part in re.findall(r"[^/]*/|[^/]+", text):
        if lines[-1] and len(lines[-1]) + len(part) > _TITLE_CHARACTERS:
            lines.append("")
        lines[-1] += part
    return "\n".join(chunk for line in lines for chunk in textwrap.wrap(line, _TITLE_CHARACTERS))


def _show(axis, image: np.ndarray, title: str) -> None:
    image = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if image.shape[-1] == 1:
        axis.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        axis.imshow(image)
    axis.set_title(title, fontsize=7)
    axis.axis("off")

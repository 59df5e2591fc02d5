"""Fréchet and kernel distances between feature sets, and the feature extractors behind them.

Inception features mean little on grayscale medical images (and the weights cannot be
downloaded here), so the default feature space is the penultimate layer of a classifier
trained on the real data: a *domain* FID/KID, not comparable with published Inception FIDs.
An InceptionV3 weights file the user already has can be used instead.

Images follow the metrics convention: float32 NHWC in [0, 1], 1 or 3 channels, given as
one array or as an iterable of batches (see `tfpgan.metrics.batching`).
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping

import keras
import numpy as np
import scipy.linalg
import tensorflow as tf

from tfpgan.metrics.batching import ImagesOrBatches, image_batches

logger = logging.getLogger(__name__)

FeatureExtractor = Callable[[np.ndarray], np.ndarray]

INCEPTION_SIZE = 299
# Largest imaginary part of sqrtm(cov_a cov_b), relative to its largest real entry, that counts as rounding noise.
IMAGINARY_TOLERANCE = 1e-3


# Why a synthetic FID/KID below its real baseline (held-out real images) calls for the memorization audit.
BELOW_BASELINE = ("below its real baseline: the feature network was trained on the training images, so copies of "
                  "them score below new real images; see the memorization audit")


def below_baseline(synthetic: Mapping[str, float | None], real: Mapping[str, float | None]) -> list[str]:
    """The metric names (e.g. 'FID', 'KID') whose synthetic distance is below the real baseline's, both known."""
    return [name for name, value in synthetic.items()
            if value is not None and real.get(name) is not None and value < real[name]]


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two [N, D] feature sets (FID on those features)."""
    mean_a, cov_a = _mean_and_covariance(feats_a)
    mean_b, cov_b = _mean_and_covariance(feats_b)
    cov_sqrt = _sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(cov_sqrt)):
        # Singular product (fewer samples than dimensions): regularize, as the reference FID code does.
        offset = np.eye(cov_a.shape[0]) * 1e-6
        cov_sqrt = _sqrtm((cov_a + offset) @ (cov_b + offset))
    mean_diff = mean_a - mean_b
    distance = mean_diff @ mean_diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(_real_part(cov_sqrt))
    return float(distance)


class UnreliableFid(ArithmeticError):
    """The matrix square root of the covariance product is far from real: the FID would be a made-up number."""


def _real_part(root: np.ndarray) -> np.ndarray:
    """The real part of sqrtm's result, refused (UnreliableFid) when the imaginary part is not negligible."""
    if not np.iscomplexobj(root):
        return root
    imaginary, scale = np.max(np.abs(root.imag)), max(1.0, float(np.max(np.abs(root.real))))
    if imaginary > IMAGINARY_TOLERANCE * scale:
        raise UnreliableFid(f"the covariance square root has an imaginary part of {imaginary:.3g} (relative "
                            f"{imaginary / scale:.3g} > {IMAGINARY_TOLERANCE:g}): too few images for the feature "
                            "dimension, the FID is not reliable")
    return root.real


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """scipy's matrix square root, its LinAlgWarning (a near-singular product) turned into a logged note."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(matrix)
    for warning in caught:
        logger.info("FID: %s (covariances of few images in many dimensions; the value is less reliable)",
                    warning.message)
    return root


def _mean_and_covariance(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] < 2:
        raise ValueError(f"expected [N >= 2, D] features, got shape {feats.shape}")
    return feats.mean(axis=0), np.atleast_2d(np.cov(feats, rowvar=False))


def kernel_inception_distance(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """KID: mean and std over random subsets of the unbiased MMD² with kernel (x·y/d + 1)³.

    `subset_size` is clipped to the smaller set; subsets are drawn without replacement.
    """
    feats_a = np.asarray(feats_a, dtype=np.float64)
    feats_b = np.asarray(feats_b, dtype=np.float64)
    if feats_a.ndim != 2 or feats_b.ndim != 2 or feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"expected [N, D] features of equal D, got {feats_a.shape} and {feats_b.shape}")
    size = min(subset_size, feats_a.shape[0], feats_b.shape[0])
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    mmds = [
        _unbiased_mmd2(
            feats_a[rng.choice(feats_a.shape[0], size, replace=False)],
            feats_b[rng.choice(feats_b.shape[0], size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(mmds)), float(np.std(mmds))


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² between two equal-size samples (diagonals of K_xx and K_yy excluded)."""
    m, dim = x.shape

    def kernel(u, v):
        return (u @ v.T / dim + 1.0) ** 3

    k_xx, k_yy = kernel(x, x), kernel(y, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * kernel(x, y).mean())


def penultimate_feature_extractor(model: keras.Model) -> FeatureExtractor:
    """Features = the input of the model's last Dense layer (the one producing class scores).

    Works for functional and Sequential classifiers. Images are resized to the model's input
    size and gray is replicated when the model wants 3 channels; Dropout is inactive.
    """
    last_dense = next((layer for layer in reversed(model.layers) if isinstance(layer, keras.layers.Dense)), None)
    if last_dense is None:
        raise ValueError(f"model {model.name!r} has no Dense layer")
    feature_model = keras.Model(model.inputs, last_dense.input, name=f"{model.name}_penultimate")
    _, height, width, channels = model.inputs[0].shape

    def extract(images: np.ndarray) -> np.ndarray:
        inputs = _fit_to_input(images, height, width, channels)
        return keras.ops.convert_to_numpy(feature_model(inputs, training=False))

    return extract


def inception_feature_extractor(weights_path: str) -> FeatureExtractor:
    """2048-d pooled InceptionV3 features from a local weights file (no download ever happens).

    `weights_path`: Keras weights for `InceptionV3(include_top=False)` (e.g. the official
    `*_notop.h5` file, or a `.weights.h5` saved from such a model). Images are resized to
    299x299, gray is replicated to RGB, and [0, 1] is mapped to InceptionV3's [-1, 1].
    """
    if not os.path.isfile(weights_path):
        raise FileNotFoundError(f"InceptionV3 weights file not found: {weights_path}")
    inception = keras.applications.InceptionV3(
        include_top=False,
        pooling="avg",
        weights=weights_path,
        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
    )

    def extract(images: np.ndarray) -> np.ndarray:
        inputs = _fit_to_input(images, INCEPTION_SIZE, INCEPTION_SIZE, 3)
        inputs = keras.applications.inception_v3.preprocess_input(inputs * 255.0)
        return keras.ops.convert_to_numpy(inception(inputs, training=False))

    return extract


def _fit_to_input(images: np.ndarray, height: int | None, width: int | None, channels: int | None) -> tf.Tensor:
    """Bilinear (antialiased) resize to a model's fixed input size; gray replicated to 3 channels."""
    images = tf.convert_to_tensor(images, dtype=tf.float32)
    if height is not None and width is not None and tuple(images.shape[1:3]) != (height, width):
        images = tf.image.resize(images, (height, width), method="bilinear", antialias=True)
    if channels == 3 and images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    return images


def extract_features(extractor: FeatureExtractor, images: ImagesOrBatches, batch_size: int = 64) -> np.ndarray:
    """Runs `extractor` batch by batch and returns all features as one [N, D] float32 array."""
    features = [np.asarray(extractor(batch), dtype=np.float32) for batch in image_batches(images, batch_size)]
    if not features:
        raise ValueError("no images to extract features from")
    return np.concatenate(features, axis=0)

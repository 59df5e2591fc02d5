"""Tests for the memorization audit (tfpgan.metrics.memorization)."""
import os

import matplotlib.image
import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf

from tfpgan.metrics import memorization


def smooth_images(count: int, size: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((count, size, size, channels))
    fields = scipy.ndimage.gaussian_filter(noise, sigma=(0, 1.5, 1.5, 0))
    fields = (fields - fields.min()) / (fields.max() - fields.min())
    return fields.astype(np.float32)


def brute_force_nearest(queries: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.array([
        tf.image.ssim(np.repeat(query[None], len(references), axis=0), references, max_val=1.0).numpy()
        for query in queries
    ])
    return scores.max(axis=1), scores.argmax(axis=1)


@pytest.mark.parametrize("channels", [1, 3])
def test_nearest_ssim_matches_tensorflow_ssim(channels, monkeypatch):
    queries, references = smooth_images(5, 16, channels), smooth_images(9, 16, channels, seed=1)
    expected_ssim, expected_index = brute_force_nearest(queries, references)
    monkeypatch.setattr(memorization, "_PAIR_ELEMENTS_PER_CHUNK", 2 * 16 * 16 * channels * 3)

    best_ssim, best_index = memorization.nearest_neighbours_ssim(queries, references, batch_size=2)

    np.testing.assert_allclose(best_ssim, expected_ssim, atol=1e-5)
    np.testing.assert_array_equal(best_index, expected_index)


def test_nearest_ssim_finds_copies_after_downsampling():
    references = smooth_images(10, 32)
    queries = references[[7, 2]]
    best_ssim, best_index = memorization.nearest_neighbours_ssim(queries, iter([references[:6], references[6:]]),
                                                                 max_size=16)
    np.testing.assert_allclose(best_ssim, 1.0, atol=1e-5)
    np.testing.assert_array_equal(best_index, [7, 2])


def test_nearest_features_is_euclidean():
    rng = np.random.default_rng(0)
    queries, references = rng.standard_normal((6, 4)), rng.standard_normal((15, 4))
    distances, indices = memorization.nearest_neighbours_features(queries, references)
    all_distances = np.linalg.norm(queries[:, None] - references[None], axis=-1)
    np.testing.assert_array_equal(indices, all_distances.argmin(axis=1))
    np.testing.assert_allclose(distances, all_distances.min(axis=1))


@pytest.fixture(name="audit")
def fixture_audit():
    """Training, holdout and synthetic sets; synthetic holds one exact and one near copy of training images."""
    training = smooth_images(40, 16, seed=0)
    holdout = smooth_images(60, 16, seed=1)
    synthetic = smooth_images(8, 16, seed=2)
    synthetic[3] = training[11]
    synthetic[6] = np.clip(training[25] + 0.02 * np.random.default_rng(3).standard_normal((16, 16, 1)), 0, 1)
    ids = [f"syn_{i}" for i in range(len(synthetic))]
    report = memorization.memorization_report(synthetic, training, holdout, synthetic_ids=ids, percentile=1.0)
    return synthetic, training, report


def test_report_flags_the_copies_and_not_the_fresh_samples(audit):
    _, _, report = audit
    assert report["flagged_ids"] == ["syn_3", "syn_6"]
    assert report["nearest_training_index"][3] == 11 and report["nearest_training_index"][6] == 25
    assert report["nearest_training_ssim"][3] == pytest.approx(1.0, abs=1e-5)
    assert report["fraction_above_threshold"] == pytest.approx(2 / 8)


def test_report_threshold_comes_from_the_holdout_baseline(audit):
    _, _, report = audit
    baseline = report["holdout_nearest_ssim"]
    assert baseline.shape == (60,) and report["holdout_nearest_index"].shape == (60,)
    assert np.mean(baseline > report["threshold"]) <= 0.01 + 1e-9
    assert report["threshold"] < report["nearest_training_ssim"][6]
    # 60 baseline images, 1 %: the threshold is their maximum, none above it; a non-copy exceeds it with chance 1/61
    assert report["threshold"] == baseline.max()
    assert report["expected_fraction_above_threshold"] == pytest.approx(1 / 61)


def test_the_expected_rate_is_rank_based_for_a_larger_percentile():
    baseline_images = smooth_images(19, 16, seed=1)
    report = memorization.memorization_report(smooth_images(4, 16, seed=2), smooth_images(10, 16, seed=0),
                                              baseline_images, percentile=10.0)
    # 19 baseline values: the 90th percentile (inverted cdf) is the 18th smallest, one value lies above it
    assert np.sum(report["holdout_nearest_ssim"] > report["threshold"]) == 1
    assert report["expected_fraction_above_threshold"] == pytest.approx(2 / 20)


def test_report_needs_one_id_per_synthetic_image():
    images = smooth_images(4, 16)
    with pytest.raises(ValueError, match="ids"):
        memorization.memorization_report(images, images, images, synthetic_ids=["a"])


def test_closest_pairs_are_the_highest_nearest_training_ssims(audit):
    _, _, report = audit
    closest = memorization.closest_pairs(report, top_k=3)
    ssim = report["nearest_training_ssim"]
    assert closest[:2].tolist() == [3, 6]  # the exact copy, then the near copy
    assert len(closest) == 3 and ssim[closest[2]] == np.max(np.delete(ssim, [3, 6]))


def test_closest_pairs_png_shows_each_pair_in_a_row(audit, tmp_path):
    synthetic, training, report = audit
    closest = memorization.closest_pairs(report, top_k=3)
    nearest = report["nearest_training_index"][closest]
    training_ids = [f"metastasis/patient_{i:03d}/slice_0042_lesion_crop.png" for i in range(len(training))]
    path = tmp_path / "closest.png"

    memorization.save_closest_pairs_png(str(path), synthetic[closest], training[nearest],
                                        [report["synthetic_ids"][i] for i in closest],
                                        [training_ids[i] for i in nearest], report["nearest_training_ssim"][closest])

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = matplotlib.image.imread(str(path))
    assert picture.ndim == 3 and picture.shape[0] > 1.5 * picture.shape[1]  # three rows of two images
    assert os.listdir(tmp_path) == ["closest.png"]

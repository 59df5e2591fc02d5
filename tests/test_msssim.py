"""Tests for MS-SSIM and MS-SSIM diversity (tfpgan.metrics.msssim)."""
import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf

from tfpgan.metrics import msssim


def smooth_images(count: int, size: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((count, size, size, channels))
    fields = scipy.ndimage.gaussian_filter(noise, sigma=(0, 2.0, 2.0, 0))
    fields = (fields - fields.min()) / (fields.max() - fields.min())
    return fields.astype(np.float32)


@pytest.mark.parametrize("size, scales", [(11, 1), (16, 1), (21, 2), (32, 2), (64, 3), (160, 4), (161, 5), (256, 5)])
def test_num_scales_keeps_the_11x11_window_inside_every_scale(size, scales):
    assert msssim.num_scales(size, size) == scales


def test_scale_weights_are_standard_or_renormalized():
    assert msssim.scale_weights(256, 256) == msssim.SCALE_WEIGHTS
    weights = msssim.scale_weights(32, 48)
    assert len(weights) == 2 and sum(weights) == pytest.approx(1.0)
    assert weights[0] / weights[1] == pytest.approx(0.0448 / 0.2856)


def test_images_below_the_window_are_rejected():
    with pytest.raises(ValueError, match="at least 11x11"):
        msssim.num_scales(8, 8)


@pytest.mark.parametrize("size, channels", [(16, 1), (32, 3)])
def test_identical_pairs_score_one_and_noise_lowers_the_score(size, channels):
    images = smooth_images(4, size, channels)
    noise = np.random.default_rng(1).standard_normal(images.shape).astype(np.float32)
    np.testing.assert_allclose(msssim.ms_ssim(images, images), 1.0, atol=1e-5)
    means = [msssim.ms_ssim(images, np.clip(images + level * noise, 0, 1)).mean() for level in (0.02, 0.1, 0.3)]
    assert means == sorted(means, reverse=True)
    assert means[-1] < 0.5


def test_single_scale_is_plain_ssim():
    images_a, images_b = smooth_images(3, 16), smooth_images(3, 16, seed=1)
    expected = tf.image.ssim(images_a, images_b, max_val=1.0).numpy()
    np.testing.assert_allclose(msssim.ms_ssim(images_a, images_b), expected, atol=1e-6)


def test_five_scales_match_tensorflow_default_ms_ssim():
    images_a, images_b = smooth_images(2, 176), smooth_images(2, 176, seed=1)
    images_b = (0.7 * images_a + 0.3 * images_b).astype(np.float32)
    expected = tf.image.ssim_multiscale(images_a, images_b, max_val=1.0).numpy()
    np.testing.assert_allclose(msssim.ms_ssim(images_a, images_b), expected, atol=1e-6)


def test_sample_distinct_pairs_are_distinct_and_ordered():
    pairs = msssim.sample_distinct_pairs(50, 300, np.random.default_rng(0))
    assert pairs.shape == (300, 2)
    assert np.all(pairs[:, 0] < pairs[:, 1]) and np.all(pairs < 50)
    assert len({tuple(p) for p in pairs}) == 300
    assert len(msssim.sample_distinct_pairs(5, 100, np.random.default_rng(0))) == 10


def test_diversity_of_identical_images_is_one_and_of_distinct_images_lower():
    images = smooth_images(12, 32)
    mean, std = msssim.msssim_diversity(np.repeat(images[:1], 12, axis=0), num_pairs=20, seed=0)
    assert mean == pytest.approx(1.0, abs=1e-5) and std == pytest.approx(0.0, abs=1e-5)
    mean, std = msssim.msssim_diversity(images, num_pairs=30, seed=0, batch_size=7)
    assert mean < 0.5 and std > 0


def test_a_collapsed_set_is_less_diverse_than_a_varied_one():
    varied = smooth_images(16, 32)
    base = np.repeat(varied[:2], 8, axis=0)
    noise = 0.03 * np.random.default_rng(2).standard_normal(base.shape).astype(np.float32)
    collapsed = np.clip(base + noise, 0, 1)
    assert msssim.msssim_diversity(collapsed, 40, seed=1)[0] > msssim.msssim_diversity(varied, 40, seed=1)[0] + 0.2

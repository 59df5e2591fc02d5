"""Tests for the sliced Wasserstein distance (tfpgan.metrics.swd)."""
import numpy as np
import pytest
import scipy.ndimage

from tfpgan.metrics import swd as swd_lib


def smooth_images(count: int, size: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Random smooth textures in [0, 1]."""
    noise = np.random.default_rng(seed).standard_normal((count, size, size, channels))
    fields = scipy.ndimage.gaussian_filter(noise, sigma=(0, 1.5, 1.5, 0))
    fields = (fields - fields.min()) / (fields.max() - fields.min())
    return fields.astype(np.float32)


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    return scipy.ndimage.gaussian_filter(images, sigma=(0, sigma, sigma, 0))


@pytest.mark.parametrize("size, levels", [(8, 1), (16, 1), (24, 1), (32, 2), (64, 3), (256, 5)])
def test_num_pyramid_levels_goes_down_to_16(size, levels):
    assert swd_lib.num_pyramid_levels(size, size) == levels


def test_laplacian_pyramid_matches_official_2d_binomial_filter():
    images = smooth_images(2, 32, channels=2)
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])[None, :, :, None] / 256.0
    coarse = scipy.ndimage.convolve(images, kernel, mode="mirror")[:, ::2, ::2]
    upsampled = np.zeros_like(images)
    upsampled[:, ::2, ::2] = coarse
    band = images - scipy.ndimage.convolve(upsampled, 4.0 * kernel, mode="mirror")

    pyramid = swd_lib.laplacian_pyramid(images, 2)

    np.testing.assert_allclose(pyramid[1], coarse, atol=1e-6)
    np.testing.assert_allclose(pyramid[0], band, atol=1e-6)


def test_patch_descriptors_are_128_7x7_patches_per_image_and_level():
    images = smooth_images(3, 32, channels=3)
    descriptors = swd_lib.patch_descriptors(images, np.random.default_rng(0))
    assert {res: d.shape for res, d in descriptors.items()} == {32: (384, 147), 16: (384, 147)}


def test_sliced_wasserstein_of_identical_descriptors_is_zero():
    descriptors = np.random.default_rng(0).standard_normal((500, 49)).astype(np.float32)
    assert swd_lib.sliced_wasserstein(descriptors, descriptors.copy(), np.random.default_rng(1)) == 0.0


def test_swd_reports_levels_and_their_average():
    result = swd_lib.swd(smooth_images(8, 32), smooth_images(8, 32, seed=1))
    assert set(result["levels"]) == {32, 16}
    assert result["average"] == pytest.approx(np.mean(list(result["levels"].values())))
    assert set(swd_lib.swd(smooth_images(4, 16), smooth_images(4, 16, seed=1))["levels"]) == {16}


def test_swd_is_small_for_the_same_distribution_and_grows_with_blur():
    real = smooth_images(48, 32)
    same = swd_lib.swd(real, real)["average"]
    fresh = swd_lib.swd(real, smooth_images(48, 32, seed=1))["average"]
    blurred = [swd_lib.swd(real, blur(real, sigma))["average"] for sigma in (1.5, 3.0, 5.0)]
    assert same < 40 and fresh < 40
    assert blurred[0] > 1.5 * max(same, fresh)
    assert blurred == sorted(blurred)


def test_swd_grows_with_added_noise():
    real = smooth_images(32, 16, channels=3)
    noise = np.random.default_rng(5).standard_normal(real.shape).astype(np.float32)
    values = [swd_lib.swd(real, real + level * noise)["average"] for level in (0.0, 0.02, 0.05, 0.2)]
    assert values == sorted(values)
    assert values[-1] > 5 * values[0]


def test_swd_ignores_a_global_intensity_change_because_each_set_is_normalized():
    real = smooth_images(16, 16)
    plain = swd_lib.swd(real, real, seed=3)["average"]
    rescaled = swd_lib.swd(real, 0.5 * real + 0.2, seed=3)["average"]
    assert rescaled == pytest.approx(plain, rel=1e-3)


def test_swd_is_reproducible_and_streams_batches():
    real, fake = smooth_images(32, 16), smooth_images(32, 16, seed=1)
    first = swd_lib.swd(real, fake, seed=7, batch_size=8)
    real_batches = [real[i:i + 8] for i in range(0, 32, 8)]
    fake_batches = (fake[i:i + 8] for i in range(0, 32, 8))
    streamed = swd_lib.swd(real_batches, fake_batches, seed=7, batch_size=8)
    assert streamed == first
    assert swd_lib.swd(real, fake, seed=8)["average"] != first["average"]


def test_swd_compares_sets_of_different_sizes_by_subsampling_the_larger():
    small, large = smooth_images(12, 32, seed=1), smooth_images(40, 32)
    matched = swd_lib.swd(large, small, seed=4)["average"]
    assert 2 * matched < swd_lib.swd(large, blur(small, 3.0), seed=4)["average"]


def test_floor_and_synthetic_comparison_share_the_reference_patches_and_directions():
    real = smooth_images(64, 16)
    reference, half = real[:32], real[32:]
    result = swd_lib.swd_with_floor(reference, half, half.copy(), seed=5)
    # the "synthetic" images are the floor half itself: identical draws, identical values, ratio exactly 1
    assert result["synthetic_vs_real"] == result["real_vs_real_noise_floor"]
    assert result["ratio_to_floor"] == 1.0


def test_a_fresh_sample_of_the_same_distribution_scores_near_the_floor():
    ratios = []
    for seed in range(3):
        real = smooth_images(64, 32, seed=seed)
        fresh = smooth_images(32, 32, seed=100 + seed)
        ratios.append(swd_lib.swd_with_floor(real[:32], real[32:], fresh, seed=seed)["ratio_to_floor"])
    blurred = swd_lib.swd_with_floor(real[:32], real[32:], blur(fresh, 2.0), seed=0)["ratio_to_floor"]
    assert 0.8 < np.mean(ratios) < 1.25
    assert blurred > 2 * max(ratios)


def test_swd_rejects_images_smaller_than_a_patch():
    with pytest.raises(ValueError, match="at least 7x7"):
        swd_lib.swd(np.zeros((2, 6, 6, 1), np.float32), np.zeros((2, 6, 6, 1), np.float32))

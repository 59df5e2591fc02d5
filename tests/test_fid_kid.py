"""Tests for FID, KID and the feature extractors (tfpgan.metrics.fid_kid)."""
import logging

import keras
import numpy as np
import pytest
import scipy.linalg

from tfpgan.metrics import fid_kid


def gaussian_features(count: int, dim: int = 8, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dim)) + shift


def test_frechet_distance_of_a_translated_set_is_the_squared_translation():
    feats = gaussian_features(200)
    offset = np.linspace(-1.0, 1.0, feats.shape[1])
    assert fid_kid.frechet_distance(feats, feats + offset) == pytest.approx(offset @ offset, rel=1e-6)
    assert fid_kid.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def features_with_moments(mean: np.ndarray, covariance: np.ndarray, count: int = 50, seed: int = 0) -> np.ndarray:
    """[count, D] features whose sample mean and (ddof 1) covariance are exactly `mean` and `covariance`."""
    raw = np.random.default_rng(seed).standard_normal((count, len(mean)))
    raw -= raw.mean(axis=0)
    whitened = raw @ np.linalg.inv(np.linalg.cholesky(np.cov(raw, rowvar=False))).T
    return whitened @ np.linalg.cholesky(covariance).T + mean


def test_frechet_distance_matches_the_closed_form_for_different_covariances():
    mean_a, mean_b = np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.0, 2.0])
    cov_a = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    cov_b = np.array([[1.0, -0.4, 0.1], [-0.4, 3.0, 0.0], [0.1, 0.0, 0.8]])
    expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2.0 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b).real))
    feats_a, feats_b = features_with_moments(mean_a, cov_a), features_with_moments(mean_b, cov_b, seed=1)
    assert fid_kid.frechet_distance(feats_a, feats_b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_diagonal_covariances_is_the_hand_formula():
    # commuting covariances: tr(A + B - 2 sqrt(AB)) = sum (sqrt(a) - sqrt(b))^2 = (2 - 1)^2 + (1 - 3)^2 = 5
    feats_a = features_with_moments(np.zeros(2), np.diag([4.0, 1.0]))
    feats_b = features_with_moments(np.array([3.0, 0.0]), np.diag([1.0, 9.0]), seed=1)
    assert fid_kid.frechet_distance(feats_a, feats_b) == pytest.approx(9.0 + 5.0, rel=1e-9)


@pytest.mark.parametrize("imaginary, refused", [(1e-9, False), (0.5, True)])
def test_a_far_from_real_covariance_root_is_refused_not_truncated(monkeypatch, imaginary, refused):
    real_root = scipy.linalg.sqrtm(np.eye(3))
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda matrix: real_root + 1j * imaginary * np.ones((3, 3)))
    feats = gaussian_features(30, dim=3)
    if refused:
        with pytest.raises(fid_kid.UnreliableFid, match="imaginary part of 0.5"):
            fid_kid.frechet_distance(feats, feats + 1.0)
    else:
        assert np.isfinite(fid_kid.frechet_distance(feats, feats + 1.0))


def test_frechet_distance_is_small_within_a_distribution_and_large_across():
    same = fid_kid.frechet_distance(gaussian_features(500), gaussian_features(500, seed=1))
    shifted = fid_kid.frechet_distance(gaussian_features(500), gaussian_features(500, shift=1.0, seed=1))
    assert same < 0.2
    assert shifted > 7.0


def test_frechet_distance_survives_more_dimensions_than_samples():
    value = fid_kid.frechet_distance(gaussian_features(10, dim=32), gaussian_features(10, dim=32, seed=1))
    assert np.isfinite(value) and value > 0


def test_a_singular_covariance_is_a_logged_note_not_a_scipy_warning(caplog, recwarn):
    constant = np.ones((20, 4))  # zero covariance: scipy's sqrtm warns that the matrix is singular
    with caplog.at_level(logging.INFO):
        value = fid_kid.frechet_distance(constant, constant + 1.0)
    assert value == pytest.approx(4.0)
    assert not [w for w in recwarn if issubclass(w.category, scipy.linalg.LinAlgWarning)]
    assert "FID: Matrix is singular" in caplog.text and "less reliable" in caplog.text


def brute_force_unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    m, dim = x.shape
    k = lambda a, b: (a @ b / dim + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_on_whole_sets_equals_the_unbiased_mmd2_definition():
    x, y = gaussian_features(12, dim=5), gaussian_features(12, dim=5, shift=0.3, seed=1)
    mean, std = fid_kid.kernel_inception_distance(x, y, num_subsets=3, subset_size=1000)
    assert mean == pytest.approx(brute_force_unbiased_mmd2(x, y), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_on_tiny_sets_is_the_hand_computed_polynomial_mmd():
    # d = 1, k(u, v) = (u v + 1)^3; x = {0, 1}, y = {1, 2}:
    # within x: k(0, 1) = 1; within y: k(1, 2) = 27; across: (k(0,1) + k(0,2) + k(1,1) + k(1,2)) / 4 = 37 / 4
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]])
    mean, std = fid_kid.kernel_inception_distance(x, y, num_subsets=2)
    assert mean == pytest.approx(1.0 + 27.0 - 2 * 37.0 / 4.0) and std == 0.0


def test_kid_is_near_zero_within_a_distribution_and_large_across():
    same_mean, same_std = fid_kid.kernel_inception_distance(
        gaussian_features(400), gaussian_features(300, seed=1), num_subsets=20, subset_size=200)
    shifted_mean, _ = fid_kid.kernel_inception_distance(
        gaussian_features(400), gaussian_features(300, shift=1.0, seed=1), num_subsets=20, subset_size=200)
    assert abs(same_mean) < 0.05 and same_std > 0
    assert shifted_mean > 20 * max(abs(same_mean), 0.01)


def test_kid_is_unbiased_where_the_biased_estimate_is_not():
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(200):
        x, y = rng.standard_normal((2, 20, 4))
        unbiased.append(fid_kid.kernel_inception_distance(x, y, num_subsets=1, seed=rng)[0])
        k = lambda a, b: (a @ b.T / 4 + 1.0) ** 3  # noqa: E731
        biased.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
    standard_error = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * standard_error
    assert np.mean(biased) > 10 * standard_error


def test_kid_clips_the_subset_size_to_the_smaller_set():
    mean, _ = fid_kid.kernel_inception_distance(gaussian_features(5), gaussian_features(50), num_subsets=4)
    assert np.isfinite(mean)


def small_classifier() -> keras.Model:
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(7, activation="relu", name="embedding")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def test_penultimate_extractor_returns_the_input_of_the_last_dense():
    model = small_classifier()
    images = np.random.default_rng(0).random((5, 16, 16, 1), dtype=np.float32)
    features = fid_kid.penultimate_feature_extractor(model)(images)
    embedding = keras.Model(model.inputs, model.get_layer("embedding").output)
    assert features.shape == (5, 7)
    np.testing.assert_allclose(features, embedding.predict(images, verbose=0), atol=1e-6)


def test_penultimate_extractor_resizes_and_works_for_sequential_models():
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Flatten(),
        keras.layers.Dense(6, activation="relu"),
        keras.layers.Dense(2),
    ])
    images = np.random.default_rng(0).random((3, 24, 24, 1), dtype=np.float32)
    assert fid_kid.penultimate_feature_extractor(model)(images).shape == (3, 6)


def test_penultimate_extractor_needs_a_dense_layer():
    inputs = keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match="no Dense"):
        fid_kid.penultimate_feature_extractor(keras.Model(inputs, keras.layers.Flatten()(inputs)))


def test_extract_features_streams_batches():
    extractor = fid_kid.penultimate_feature_extractor(small_classifier())
    images = np.random.default_rng(0).random((10, 16, 16, 1), dtype=np.float32)
    whole = fid_kid.extract_features(extractor, images, batch_size=4)
    streamed = fid_kid.extract_features(extractor, (images[i:i + 3] for i in range(0, 10, 3)))
    assert whole.shape == (10, 7) and whole.dtype == np.float32
    np.testing.assert_allclose(streamed, whole, atol=1e-6)


def test_inception_extractor_loads_a_local_weights_file(tmp_path):
    source = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None, input_shape=(299, 299, 3))
    weights_path = str(tmp_path / "inception_notop.weights.h5")
    source.save_weights(weights_path)
    images = np.random.default_rng(0).random((2, 32, 32, 1), dtype=np.float32)

    features = fid_kid.inception_feature_extractor(weights_path)(images)

    resized = keras.ops.image.resize(np.repeat(images, 3, axis=-1), (299, 299), antialias=True)
    expected = source.predict(2.0 * keras.ops.convert_to_numpy(resized) - 1.0, verbose=0)
    assert features.shape == (2, 2048)
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)


def test_inception_extractor_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError):
        fid_kid.inception_feature_extractor(str(tmp_path / "missing.h5"))

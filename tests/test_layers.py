"""Tests for tfpgan.models.layers: equalized layers, pixel norm, mbstd, resampling, fade."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpgan.models.layers import (
    Downsample2D,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStddev,
    PixelNorm,
    Upsample2D,
    WeightedSum,
)

RNG = np.random.default_rng(0)


def _randn(*shape):
    return RNG.standard_normal(shape).astype("float32")


def test_equalized_dense_scales_kernel_at_run_time():
    layer = EqualizedDense(5, gain=1.5)
    x = _randn(3, 7)
    layer.build(x.shape)
    layer.bias.assign(_randn(5))
    expected = x @ (layer.kernel.numpy() * 1.5 / math.sqrt(7)) + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_equalized_weights_start_standard_normal_and_bias_zero():
    layer = EqualizedConv2D(64, 3)
    layer.build((None, 8, 8, 64))
    kernel = layer.kernel.numpy()
    assert abs(kernel.mean()) < 0.02 and abs(kernel.std() - 1.0) < 0.02
    assert not layer.bias.numpy().any()


def test_equalized_conv_matches_same_padded_conv_with_scaled_kernel():
    layer = EqualizedConv2D(4, 3)
    x = _randn(2, 5, 5, 3)
    layer.build(x.shape)
    layer.bias.assign(_randn(4))
    scaled = layer.kernel.numpy() * math.sqrt(2.0) / math.sqrt(3 * 3 * 3)
    expected = tf.nn.conv2d(x, scaled, strides=1, padding="SAME") + layer.bias.numpy()
    out = layer(x)
    assert out.shape == (2, 5, 5, 4)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_equalized_layer_without_bias_has_only_a_kernel():
    layer = EqualizedDense(2, use_bias=False)
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == ["kernel"]


def test_equalized_conv_is_mixed_precision_safe():
    x = _randn(2, 4, 4, 3)
    full = EqualizedConv2D(4, 3, name="full")
    half = EqualizedConv2D(4, 3, dtype="mixed_float16", name="half")
    full.build(x.shape)
    half.build(x.shape)
    half.kernel.assign(full.kernel)
    out = half(x)
    assert half.kernel.dtype == "float32" and out.dtype == tf.float16
    np.testing.assert_allclose(out.numpy(), full(x).numpy(), rtol=1e-2, atol=1e-2)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = 5.0 * _randn(2, 3, 3, 8)
    out = PixelNorm()(x).numpy()
    np.testing.assert_allclose(np.mean(out**2, axis=-1), 1.0, rtol=1e-5)
    # Direction is kept: the output is a positive multiple of the input.
    np.testing.assert_allclose(out / np.linalg.norm(out, axis=-1, keepdims=True),
                               x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-5, atol=1e-6)


def _numpy_mbstd(x, group_size):
    group = min(group_size, x.shape[0])
    y = x.reshape(group, -1, *x.shape[1:])  # example i is in group i mod M, as official
    std = np.sqrt(((y - y.mean(axis=0)) ** 2).mean(axis=0) + 1e-8).mean(axis=(1, 2, 3))  # [M]
    feature = np.tile(std, group)[:, None, None, None] * np.ones((1, *x.shape[1:3], 1))
    return np.concatenate([x, feature], axis=-1)


@pytest.mark.parametrize("batch", [8, 2])
def test_minibatch_stddev_matches_official_computation(batch):
    x = _randn(batch, 3, 3, 5) * np.arange(1, batch + 1, dtype="float32")[:, None, None, None]
    out = MinibatchStddev(group_size=4)(x).numpy()
    assert out.shape == (batch, 3, 3, 6)
    np.testing.assert_allclose(out, _numpy_mbstd(x, 4), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_of_identical_examples_is_zero():
    x = np.repeat(_randn(1, 2, 2, 3), 4, axis=0)
    out = MinibatchStddev()(x).numpy()
    np.testing.assert_allclose(out[..., -1], 0.0, atol=1e-3)


def test_upsample_repeats_pixels_and_downsample_averages_blocks():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    up = Upsample2D()(x).numpy()
    assert up.shape == (1, 8, 8, 1)
    np.testing.assert_array_equal(up[0, :, :, 0], np.kron(x[0, :, :, 0], np.ones((2, 2))))
    down = Downsample2D()(x).numpy()
    np.testing.assert_array_equal(down[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_weighted_sum_blends_with_alpha():
    old, new = np.zeros((2, 3), "float32"), np.full((2, 3), 4.0, "float32")
    fade = WeightedSum()
    fade.build([old.shape, new.shape])
    assert fade.alpha.dtype == "float32" and not fade.alpha.trainable and fade.trainable_weights == []
    for alpha, expected in [(0.0, 0.0), (0.5, 2.0), (1.0, 4.0)]:
        fade.alpha.assign(alpha)
        np.testing.assert_allclose(fade([old, new]).numpy(), expected)


def test_changing_alpha_does_not_retrace():
    fade = WeightedSum()
    fade.build(None)
    old, new = tf.zeros([2]), tf.ones([2])
    blend = tf.function(lambda: fade([old, new]))
    results = []
    for alpha in (0.0, 0.25, 0.75):
        fade.alpha.assign(alpha)
        results.append(blend().numpy()[0])
    assert results == [0.0, 0.25, 0.75]
    assert blend.experimental_get_tracing_count() == 1


def test_every_layer_survives_keras_save_and_reload(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = EqualizedConv2D(6, 3, gain=1.3, name="conv")(inputs)
    x = PixelNorm(epsilon=1e-6, name="pn")(x)
    low = Upsample2D(name="up")(Downsample2D(name="down")(x))
    x = WeightedSum(name="fade")([low, x])
    x = MinibatchStddev(group_size=2, name="mbstd")(x)
    outputs = EqualizedDense(2, gain=1.0, use_bias=False, name="dense")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.get_layer("fade").alpha.assign(0.3)
    path = tmp_path / "layers.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    for name in ("conv", "pn", "up", "down", "fade", "mbstd", "dense"):
        assert reloaded.get_layer(name).get_config() == model.get_layer(name).get_config()
    assert float(reloaded.get_layer("fade").alpha.numpy()) == pytest.approx(0.3)
    x = _randn(4, 8, 8, 3)
    np.testing.assert_allclose(reloaded(x).numpy(), model(x).numpy(), rtol=1e-6)

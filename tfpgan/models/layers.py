"""Progressive-GAN building blocks (official tkarras/progressive_growing_of_gans semantics), NHWC.

Weights of the equalized layers are drawn N(0, 1) and scaled at run time by
``gain / sqrt(fan_in)``, so that Adam sees every weight at the same scale.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

_PACKAGE = "tfpgan"


def upsample2d(x):
    """Nearest-neighbour 2x upsampling of an NHWC tensor."""
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


def downsample2d(x):
    """2x2 average pooling (box filter, stride 2) of an NHWC tensor."""
    return ops.average_pool(x, pool_size=2, strides=2, padding="valid")


class _EqualizedLayer(keras.layers.Layer):
    """Shared weight creation and run-time scaling of the equalized layers."""

    def __init__(self, gain: float = math.sqrt(2.0), use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.gain = float(gain)
        self.use_bias = use_bias

    def _add_scaled_kernel(self, kernel_shape: tuple[int, ...], units: int) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=kernel_shape, initializer=keras.initializers.RandomNormal(0.0, 1.0)
        )
        self.bias = (
            self.add_weight(name="bias", shape=(units,), initializer="zeros") if self.use_bias else None
        )
        self.scale = self.gain / math.sqrt(math.prod(kernel_shape[:-1]))

    def _scaled_kernel(self):
        return self.kernel * ops.cast(self.scale, self.compute_dtype)

    def _add_bias(self, y):
        return y if self.bias is None else y + self.bias

    def get_config(self) -> dict:
        return {**super().get_config(), "gain": self.gain, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EqualizedDense(_EqualizedLayer):
    """Dense layer with equalized learning rate (input [..., fan_in] -> [..., units])."""

    def __init__(self, units: int, gain: float = math.sqrt(2.0), use_bias: bool = True, **kwargs):
        super().__init__(gain=gain, use_bias=use_bias, **kwargs)
        self.units = units

    def build(self, input_shape) -> None:
        self._add_scaled_kernel((input_shape[-1], self.units), self.units)

    def call(self, inputs):
        return self._add_bias(ops.matmul(inputs, self._scaled_kernel()))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EqualizedConv2D(_EqualizedLayer):
    """Square 2-D convolution with equalized learning rate, stride 1, 'SAME' padding, NHWC."""

    def __init__(
        self, filters: int, kernel_size: int, gain: float = math.sqrt(2.0), use_bias: bool = True, **kwargs
    ):
        super().__init__(gain=gain, use_bias=use_bias, **kwargs)
        self.filters = filters
        self.kernel_size = kernel_size

    def build(self, input_shape) -> None:
        k = self.kernel_size
        self._add_scaled_kernel((k, k, input_shape[-1], self.filters), self.filters)

    def call(self, inputs):
        return self._add_bias(ops.conv(inputs, self._scaled_kernel(), strides=1, padding="same"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PixelNorm(keras.layers.Layer):
    """Normalizes each pixel's feature vector to unit mean square: x * rsqrt(mean(x^2, C) + eps).

    Computed in float32 (eps = 1e-8 underflows in float16) and cast back.
    """

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        y = x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)
        return ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MinibatchStddev(keras.layers.Layer):
    """Appends one feature map: the stddev over a group of examples, averaged over H, W and C.

    Official semantics: group = min(group_size, batch), and the batch must be divisible
    by it; example i belongs to group i mod (batch / group). Computed in float32.
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, inputs):
        shape = tf.shape(inputs)
        group = tf.minimum(self.group_size, shape[0])
        y = tf.reshape(tf.cast(inputs, tf.float32), [group, -1, shape[1], shape[2], shape[3]])
        y = tf.sqrt(tf.reduce_mean(tf.square(y - tf.reduce_mean(y, axis=0)), axis=0) + 1e-8)
        y = tf.reduce_mean(y, axis=[1, 2, 3])[:, None, None, None]  # [M, 1, 1, 1]
        y = tf.tile(tf.cast(y, inputs.dtype), [group, shape[1], shape[2], 1])
        return tf.concat([inputs, y], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return (*input_shape[:-1], channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Upsample2D(keras.layers.Layer):
    """Nearest-neighbour 2x upsampling (NHWC)."""

    def call(self, inputs):
        return upsample2d(inputs)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Downsample2D(keras.layers.Layer):
    """2x2 average pooling (NHWC)."""

    def call(self, inputs):
        return downsample2d(inputs)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, c)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedSum(keras.layers.Layer):
    """Fade-in: ``old + alpha * (new - old)`` for inputs ``[old, new]``.

    ``alpha`` is a non-trainable float32 scalar variable (initially 1.0, created on build);
    the training loop sets it with ``layer.alpha.assign(value)``, which does not retrace
    a tf.function.
    """

    def build(self, input_shape) -> None:
        self.alpha = self.add_weight(
            name="alpha", shape=(), dtype="float32", initializer=keras.initializers.Constant(1.0), trainable=False
        )

    def call(self, inputs):
        old, new = inputs
        return old + ops.cast(self.alpha, old.dtype) * (new - old)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

"""DCGAN generator and discriminator (Radford et al. 2016, as used by Frid-Adar et al. 2018), NHWC.

One fixed resolution, no growing. G: z (+ one-hot label with AC-GAN) -> dense to a 4x4 map -> 5x5 transposed
convolutions, stride 2, batch norm + ReLU -> tanh. D: 5x5 convolutions, stride 2, leaky ReLU 0.2, batch norm from the
second layer on -> one dense score (+ class logits with AC-GAN). Feature maps follow the progressive networks' rule,
nf(stage) = min(fmap_base / 2**stage, fmap_max) with stage = log2(resolution) - 1, so fmap_base=2048, fmap_max=1024
gives Radford's 1024-512-256-128 at 4-8-16-32 px. Weights are drawn N(0, 0.02) as in the paper.

The classes are called like ``networks.Generator`` / ``networks.Discriminator`` (``resolution`` must be the
network's own, ``fading`` False) and carry an unused ``fade`` layer, so the trainer, its EMA copy, the
checkpoints and the export treat both architectures alike. Batch norm couples the examples of a batch: a
discriminator score is not a function of its image alone, which breaks the per-example assumption of gradient
penalties (WGAN-GP, R1); the non-saturating loss without a penalty is the setting DCGAN was made for.
"""
from __future__ import annotations

import math

import keras
from keras import ops

from tfpgan.models.networks import ConfiguredNetwork
from tfpgan.options import DCGAN_MIN_RESOLUTION as _MIN_RESOLUTION

_LRELU_SLOPE = 0.2
_KERNEL_SIZE = 5


def _powers_of_two(low: int, high: int) -> list[int]:
    """[low, 2 low, ..., high] for powers of two low <= high."""
    return [2**level for level in range(int(math.log2(low)), int(math.log2(high)) + 1)]


def _kernel_initializer() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(0.0, 0.02)


def _batch_norm(name: str = "bn") -> keras.layers.Layer:
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


class _DCGANNetwork(ConfiguredNetwork):
    """The phase check of G and D: one resolution, no fading."""

    def __init__(self, num_classes: int, channels: int, max_resolution: int, fmap_base: int, fmap_max: int,
                 conditioning: str, **kwargs):
        super().__init__(num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning,
                         min_resolution=_MIN_RESOLUTION, **kwargs)
        self.resolutions = [max_resolution]

    def check_phase(self, resolution: int, fading: bool) -> None:
        if resolution != self.max_resolution:
            raise ValueError(f"a DCGAN works at its resolution {self.max_resolution} only, got {resolution}")
        if fading:
            raise ValueError("a DCGAN does not grow: fading must be False")


@keras.saving.register_keras_serializable(package="tfpgan")
class DCGANGenerator(_DCGANNetwork):
    """(latents [N, latent_size], labels [N] int) -> images [N, R, R, channels] in [-1, 1] (tanh), float32."""

    def __init__(self, num_classes: int, latent_size: int = 100, channels: int = 1, max_resolution: int = 64,
                 fmap_base: int = 2048, fmap_max: int = 1024, conditioning: str = "acgan", name: str = "generator",
                 **kwargs):
        super().__init__(num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning, name=name,
                         **kwargs)
        self.latent_size = latent_size
        self.blocks = [self._project()] + [self._upsample(r) for r in _powers_of_two(8, max_resolution // 2)]
        self.to_rgb = keras.Sequential([
            keras.layers.Conv2DTranspose(channels, _KERNEL_SIZE, strides=2, padding="same",
                                         kernel_initializer=_kernel_initializer(), name="conv"),
            keras.layers.Activation("tanh"),
        ], name=f"to_rgb{max_resolution}")
        self.build()

    def _project(self) -> keras.Sequential:
        filters = self.features(4)
        return keras.Sequential([
            keras.layers.Dense(4 * 4 * filters, use_bias=False, kernel_initializer=_kernel_initializer(),
                               name="dense"),
            keras.layers.Reshape((4, 4, filters)),
            _batch_norm(),
            keras.layers.ReLU(),
        ], name="block4")

    def _upsample(self, resolution: int) -> keras.Sequential:
        return keras.Sequential([
            keras.layers.Conv2DTranspose(self.features(resolution), _KERNEL_SIZE, strides=2, padding="same",
                                         use_bias=False, kernel_initializer=_kernel_initializer(), name="conv"),
            _batch_norm(),
            keras.layers.ReLU(),
        ], name=f"block{resolution}")

    def build(self, input_shape=None) -> None:
        """Builds every weight (the inputs' shapes are fixed by the config)."""
        self.blocks[0].build((None, self.latent_size + self.num_label_outputs))
        for block, resolution in zip(self.blocks[1:] + [self.to_rgb], _powers_of_two(8, self.max_resolution)):
            block.build((None, resolution // 2, resolution // 2, self.features(resolution // 2)))
        self.fade.build(None)

    def call(self, latents, labels=None, *, resolution: int, fading: bool = False, training=None):
        """Images at the network's resolution (``resolution`` must equal it; ``fading`` must be False)."""
        self.check_phase(resolution, fading)
        x = latents
        if self.conditioning == "acgan":
            if labels is None:
                raise ValueError("an AC-GAN generator needs labels")
            x = ops.concatenate([x, ops.one_hot(labels, self.num_classes, dtype=x.dtype)], axis=-1)
        for block in self.blocks:
            x = block(x, training=training)
        return ops.cast(self.to_rgb(x, training=training), "float32")

    def get_config(self) -> dict:
        return {**super().get_config(), "latent_size": self.latent_size}


@keras.saving.register_keras_serializable(package="tfpgan")
class DCGANDiscriminator(_DCGANNetwork):
    """images [N, R, R, channels] -> (scores [N], class_logits [N, num_classes]), float32.

    ``class_logits`` has 0 columns when conditioning is "none". ``labels`` is accepted and ignored, so that
    every discriminator (the per-class one routes by them) is called the same way.
    """

    def __init__(self, num_classes: int, channels: int = 1, max_resolution: int = 64, fmap_base: int = 2048,
                 fmap_max: int = 1024, conditioning: str = "acgan", name: str = "discriminator", **kwargs):
        super().__init__(num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning, name=name,
                         **kwargs)
        self.blocks = [self._downsample(resolution, batch_norm=resolution != max_resolution)
                       for resolution in reversed(_powers_of_two(8, max_resolution))]
        self.head = keras.Sequential([
            keras.layers.Flatten(),
            keras.layers.Dense(1 + self.num_label_outputs, kernel_initializer=_kernel_initializer(), name="dense"),
        ], name="head")
        self.build()

    def _downsample(self, resolution: int, batch_norm: bool) -> keras.Sequential:
        conv = keras.layers.Conv2D(self.features(resolution // 2), _KERNEL_SIZE, strides=2, padding="same",
                                   use_bias=not batch_norm, kernel_initializer=_kernel_initializer(), name="conv")
        normalization = [_batch_norm()] if batch_norm else []
        return keras.Sequential([conv, *normalization, keras.layers.LeakyReLU(negative_slope=_LRELU_SLOPE)],
                                name=f"block{resolution}")

    def build(self, input_shape=None) -> None:
        """Builds every weight (the inputs' shapes are fixed by the config)."""
        for block, resolution in zip(self.blocks, reversed(_powers_of_two(8, self.max_resolution))):
            channels = self.channels if resolution == self.max_resolution else self.features(resolution)
            block.build((None, resolution, resolution, channels))
        self.head.build((None, 4, 4, self.features(4)))
        self.fade.build(None)

    def call(self, images, labels=None, *, resolution: int, fading: bool = False, training=None):
        """Scores and class logits (``resolution`` must be the network's; ``fading`` must be False)."""
        self.check_phase(resolution, fading)
        x = images
        for block in self.blocks:
            x = block(x, training=training)
        outputs = ops.cast(self.head(x), "float32")
        return outputs[:, 0], outputs[:, 1:]

"""Progressive generator and discriminator (official tkarras/progressive_growing_of_gans layout, NHWC).

Both networks create and build the blocks of every resolution 4..max_resolution in
their constructor, so the variable set and each variable's ``.path`` do not depend on
which resolution is called first. ``resolution`` and ``fading`` are Python values:
a tf.function traces once per phase; the fade factor is the ``fade.alpha`` variable.
"""
from __future__ import annotations

import math

import keras
from keras import ops

from tfpgan.models.layers import (
    Downsample2D,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStddev,
    PixelNorm,
    Upsample2D,
    WeightedSum,
    downsample2d,
    upsample2d,
)

CONDITIONINGS = ("acgan", "none")
_LRELU_SLOPE = 0.2


def nf(stage: int, fmap_base: int, fmap_max: int) -> int:
    """Feature maps at a stage (stage 1 is the 4x4 block): min(fmap_base // 2**stage, fmap_max)."""
    return min(fmap_base // 2**stage, fmap_max)


def fade_images(images, alpha):
    """The official fade of real images: ``lowres + alpha * (images - lowres)``.

    ``lowres`` is the 2x box-downsampled then nearest-upsampled copy of ``images``
    (NHWC). Computed as official (``images + (1 - alpha) * (lowres - images)``), so
    alpha = 1 returns the images bit for bit.
    """
    lowres = upsample2d(downsample2d(images))
    return images + (1.0 - ops.cast(alpha, images.dtype)) * (lowres - images)


def _lrelu() -> keras.layers.Layer:
    return keras.layers.LeakyReLU(negative_slope=_LRELU_SLOPE)


class ConfiguredNetwork(keras.Model):
    """What every G and D (progressive or DCGAN) holds: its configuration, the feature-map rule, the label width
    and the fade layer the trainer sets (unused by a network that does not grow)."""

    def __init__(self, num_classes: int, channels: int, max_resolution: int, fmap_base: int, fmap_max: int,
                 conditioning: str, min_resolution: int = 4, **kwargs):
        super().__init__(**kwargs)
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        if max_resolution < min_resolution or max_resolution & (max_resolution - 1):
            raise ValueError(f"max_resolution must be a power of 2 >= {min_resolution}, got {max_resolution}")
        self.num_classes = num_classes
        self.channels = channels
        self.max_resolution = max_resolution
        self.fmap_base = fmap_base
        self.fmap_max = fmap_max
        self.conditioning = conditioning
        self.fade = WeightedSum(name="fade")

    @property
    def num_label_outputs(self) -> int:
        """Label logits of D / one-hot width fed to G: num_classes for AC-GAN, else 0."""
        return self.num_classes if self.conditioning == "acgan" else 0

    def features(self, resolution: int) -> int:
        """Feature maps of the layer working at ``resolution`` (nf of its stage)."""
        return nf(int(math.log2(resolution)) - 1, self.fmap_base, self.fmap_max)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "channels": self.channels,
            "max_resolution": self.max_resolution,
            "fmap_base": self.fmap_base,
            "fmap_max": self.fmap_max,
            "conditioning": self.conditioning,
        }


class _ProgressiveNetwork(ConfiguredNetwork):
    """Resolution bookkeeping of the progressive G and D."""

    def __init__(self, num_classes: int, channels: int, max_resolution: int, fmap_base: int, fmap_max: int,
                 conditioning: str, **kwargs):
        super().__init__(num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning, **kwargs)
        self.resolutions = [2**level for level in range(2, int(math.log2(max_resolution)) + 1)]

    def level(self, resolution: int, fading: bool) -> int:
        """Index of ``resolution`` in ``self.resolutions``; validates the phase."""
        if resolution not in self.resolutions:
            raise ValueError(f"resolution must be one of {self.resolutions}, got {resolution}")
        if fading and resolution == 4:
            raise ValueError("cannot fade in the 4x4 block: there is no lower resolution")
        return self.resolutions.index(resolution)


@keras.saving.register_keras_serializable(package="tfpgan")
class Generator(_ProgressiveNetwork):
    """Progressive generator: (latents [N, latent_size], labels [N] int) -> images [N, R, R, channels].

    Output is linear (no tanh) and float32.
    """

    def __init__(
        self,
        num_classes: int,
        latent_size: int = 512,
        channels: int = 1,
        max_resolution: int = 64,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        conditioning: str = "acgan",
        name: str = "generator",
        **kwargs,
    ):
        super().__init__(
            num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning, name=name, **kwargs
        )
        self.latent_size = latent_size
        self.latent_norm = PixelNorm(name="latent_norm")
        self.blocks = [self._make_block(resolution) for resolution in self.resolutions]
        self.to_rgb = [
            EqualizedConv2D(channels, 1, gain=1.0, name=f"to_rgb{resolution}") for resolution in self.resolutions
        ]
        self.build()

    def _make_block(self, resolution: int) -> keras.Sequential:
        filters = self.features(resolution)
        if resolution == 4:
            head = [
                EqualizedDense(4 * 4 * filters, gain=math.sqrt(2.0) / 4, name="dense"),
                keras.layers.Reshape((4, 4, filters)),
            ]
        else:
            head = [Upsample2D(), EqualizedConv2D(filters, 3, name="conv0")]
        layers = head + [_lrelu(), PixelNorm(), EqualizedConv2D(filters, 3, name="conv1"), _lrelu(), PixelNorm()]
        return keras.Sequential(layers, name=f"block{resolution}")

    def build(self, input_shape=None) -> None:
        """Builds the weights of every resolution (the inputs' shapes are fixed by the config)."""
        self.latent_norm.build((None, self.latent_size))
        self.blocks[0].build((None, self.latent_size + self.num_label_outputs))
        for block, resolution in zip(self.blocks[1:], self.resolutions[1:]):
            block.build((None, resolution // 2, resolution // 2, self.features(resolution // 2)))
        for to_rgb, resolution in zip(self.to_rgb, self.resolutions):
            to_rgb.build((None, resolution, resolution, self.features(resolution)))
        image_shape = (None, self.max_resolution, self.max_resolution, self.channels)
        self.fade.build([image_shape, image_shape])

    def call(self, latents, labels=None, *, resolution: int, fading: bool = False):
        """Images at ``resolution``; when ``fading``, blended with the upsampled lower-resolution output."""
        level = self.level(resolution, fading)
        x = self.latent_norm(latents)
        if self.conditioning == "acgan":
            if labels is None:
                raise ValueError("an AC-GAN generator needs labels")
            x = ops.concatenate([x, ops.one_hot(labels, self.num_classes, dtype=x.dtype)], axis=-1)
        for block in self.blocks[: level + 1]:
            previous, x = x, block(x)
        images = self.to_rgb[level](x)
        if fading:
            images = self.fade([upsample2d(self.to_rgb[level - 1](previous)), images])
        return ops.cast(images, "float32")

    def get_config(self) -> dict:
        return {**super().get_config(), "latent_size": self.latent_size}


@keras.saving.register_keras_serializable(package="tfpgan")
class Discriminator(_ProgressiveNetwork):
    """Progressive critic: images [N, R, R, channels] -> (scores [N], class_logits [N, num_classes]), float32.

    ``class_logits`` has 0 columns when conditioning is "none". A ``mbstd_group_size``
    of 1 or less drops the minibatch-stddev feature (as official).
    """

    def __init__(
        self,
        num_classes: int,
        channels: int = 1,
        max_resolution: int = 64,
        fmap_base: int = 8192,
        fmap_max: int = 512,
        mbstd_group_size: int = 4,
        conditioning: str = "acgan",
        name: str = "discriminator",
        **kwargs,
    ):
        super().__init__(
            num_classes, channels, max_resolution, fmap_base, fmap_max, conditioning, name=name, **kwargs
        )
        self.mbstd_group_size = mbstd_group_size
        self.from_rgb = [
            keras.Sequential(
                [EqualizedConv2D(self.features(resolution), 1, name="conv"), _lrelu()],
                name=f"from_rgb{resolution}",
            )
            for resolution in self.resolutions
        ]
        self.blocks = [self._make_block(resolution) for resolution in self.resolutions]
        self.build()

    def _make_block(self, resolution: int) -> keras.Sequential:
        filters = self.features(resolution)
        if resolution == 4:
            mbstd = [MinibatchStddev(self.mbstd_group_size, name="mbstd")] if self.mbstd_group_size > 1 else []
            layers = mbstd + [
                EqualizedConv2D(filters, 3, name="conv"),
                _lrelu(),
                keras.layers.Flatten(),
                EqualizedDense(nf(0, self.fmap_base, self.fmap_max), name="dense0"),
                _lrelu(),
                EqualizedDense(1 + self.num_label_outputs, gain=1.0, name="dense1"),
            ]
        else:
            layers = [
                EqualizedConv2D(filters, 3, name="conv0"),
                _lrelu(),
                EqualizedConv2D(self.features(resolution // 2), 3, name="conv1"),
                _lrelu(),
                Downsample2D(),
            ]
        return keras.Sequential(layers, name=f"block{resolution}")

    def build(self, input_shape=None) -> None:
        """Builds the weights of every resolution (the inputs' shapes are fixed by the config)."""
        for from_rgb, block, resolution in zip(self.from_rgb, self.blocks, self.resolutions):
            from_rgb.build((None, resolution, resolution, self.channels))
            block.build((None, resolution, resolution, self.features(resolution)))
        half = self.max_resolution // 2
        features_shape = (None, half, half, self.features(half))
        self.fade.build([features_shape, features_shape])

    def call(self, images, labels=None, *, resolution: int, fading: bool = False):
        """Scores and class logits; when ``fading``, the new block is blended with the downsampled path.

        ``labels`` is accepted and ignored, so that every discriminator (the per-class one routes by them) is
        called the same way."""
        level = self.level(resolution, fading)
        x = self.blocks[level](self.from_rgb[level](images))
        if fading:
            x = self.fade([self.from_rgb[level - 1](downsample2d(images)), x])
        for block in reversed(self.blocks[:level]):
            x = block(x)
        outputs = ops.cast(x, "float32")
        return outputs[:, 0], outputs[:, 1:]

    def get_config(self) -> dict:
        return {**super().get_config(), "mbstd_group_size": self.mbstd_group_size}

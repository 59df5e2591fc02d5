"""Per-class GANs as one model: K unconditional generators (discriminators), example i routed to network labels[i].

``PerClassGenerator(make_generator, K)`` is called like a conditional generator, ``G(latents, labels, ...)``, so
the trainer, the EMA copy, the checkpoints and the SavedModel export (whose ``labels`` input then selects the
class's generator) need nothing else. ``PerClassDiscriminator(make_discriminator, K)`` is called
``D(images, labels, ...)`` and returns (scores [N], logits [N, 0]): image i is scored by discriminator labels[i].

Routing is ``tf.dynamic_partition`` / ``tf.dynamic_stitch``: network k sees only the examples of class k (its
batch norm or minibatch statistics stay within the class) and only its weights get a gradient from them. A class
without examples in the batch skips its network (``tf.cond``), since batch norm over an empty batch is NaN. The
sub-networks are named ``class0``, ``class1``, ... inside the wrapper's name, so variable paths read
``generator/class2/block8/conv/kernel``. ``fade.alpha`` reads and assigns the fade factor of all sub-networks.
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

CONDITIONING = "per_class"


class AlphaGroup:
    """The fade factors of several networks as one: ``assign`` sets them all; reading converts to the (common) value."""

    def __init__(self, variables):
        self.variables = list(variables)

    def assign(self, value) -> None:
        for variable in self.variables:
            variable.assign(value)

    def numpy(self):
        return self.variables[0].numpy()

    def __tf_tensor__(self, dtype=None, name=None):
        return tf.convert_to_tensor(self.variables[0], dtype=dtype, name=name)


class FadeGroup:
    """Stands for the ``fade`` layer of a wrapped network: its ``alpha`` is the ``AlphaGroup`` of the sub-networks."""

    def __init__(self, networks):
        self.alpha = AlphaGroup(network.fade.alpha for network in networks)


def route(labels, inputs, networks, apply: Callable, empty_output: Callable):
    """``apply(networks[k], inputs[labels == k])`` for every class k, stitched back into the order of ``inputs``.

    ``empty_output()`` stands for the output of a class with no examples (its network is not run).
    """
    labels = tf.cast(labels, tf.int32)
    count = len(networks)
    parts = tf.dynamic_partition(inputs, labels, count)
    positions = tf.dynamic_partition(tf.range(tf.shape(labels)[0]), labels, count)
    outputs = [
        tf.cond(tf.size(position) > 0, lambda network=network, part=part: apply(network, part), empty_output)
        for network, part, position in zip(networks, parts, positions)
    ]
    return tf.dynamic_stitch(positions, outputs)


class _PerClassNetwork(keras.Model):
    """Builds ``num_classes`` unconditional sub-networks named class0.. under the wrapper's name."""

    conditioning = CONDITIONING
    num_label_outputs = 0

    def __init__(self, make_network: Callable[[str], keras.Model], num_classes: int, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        with keras.name_scope(self.name):
            self.networks = [make_network(f"class{k}") for k in range(num_classes)]
        for network in self.networks:
            if network.num_label_outputs:
                raise ValueError(f"the per-class networks must be unconditional, but {network.name} has "
                                 f"conditioning {network.conditioning!r}")
        first = self.networks[0]
        self.num_classes = num_classes
        self.channels = first.channels
        self.max_resolution = first.max_resolution
        self.resolutions = list(first.resolutions)
        self.fade = FadeGroup(self.networks)
        self.built = True


class PerClassGenerator(_PerClassNetwork):
    """(latents [N, latent_size], labels [N] int) -> images [N, R, R, C]: image i from generator labels[i].

    ``make_generator(name)`` returns one unconditional generator (``networks.Generator`` or
    ``dcgan.DCGANGenerator`` with conditioning "none") named ``name``.
    """

    def __init__(self, make_generator: Callable[[str], keras.Model], num_classes: int, name: str = "generator",
                 **kwargs):
        super().__init__(make_generator, num_classes, name=name, **kwargs)
        self.latent_size = self.networks[0].latent_size

    def call(self, latents, labels=None, *, resolution: int, fading: bool = False, training=None):
        if labels is None:
            raise ValueError("a per-class generator needs labels: they select the generator")

        def generate(generator, part):
            return generator(part, resolution=resolution, fading=fading, training=training)

        def no_images():
            return tf.zeros([0, resolution, resolution, self.channels], tf.float32)

        return route(labels, latents, self.networks, generate, no_images)


class PerClassDiscriminator(_PerClassNetwork):
    """(images [N, R, R, C], labels [N] int) -> (scores [N], logits [N, 0]): image i scored by discriminator
    labels[i].

    ``make_discriminator(name)`` returns one unconditional discriminator named ``name``. Each sees a varying
    number of images per batch, so a progressive one needs ``mbstd_group_size`` 1 (no minibatch stddev).
    """

    def __init__(self, make_discriminator: Callable[[str], keras.Model], num_classes: int,
                 name: str = "discriminator", **kwargs):
        super().__init__(make_discriminator, num_classes, name=name, **kwargs)
        for network in self.networks:
            if getattr(network, "mbstd_group_size", 1) > 1:
                raise ValueError(f"{network.name}: per-class discriminators see any number of images of their "
                                 "class per batch; minibatch stddev needs mbstd_group_size 1")

    def call(self, images, labels=None, *, resolution: int, fading: bool = False, training=None):
        if labels is None:
            raise ValueError("a per-class discriminator needs labels: they select the discriminator")

        def score(discriminator, part):
            return discriminator(part, resolution=resolution, fading=fading, training=training)[0]

        def no_scores():
            return tf.zeros([0], tf.float32)

        scores = route(labels, images, self.networks, score, no_scores)
        return scores, tf.zeros([tf.shape(scores)[0], 0], tf.float32)

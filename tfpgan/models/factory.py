"""The generator and discriminator of a training run: progressive or DCGAN; AC-GAN, unconditional or per class."""
from __future__ import annotations

from typing import Callable

import keras

from tfpgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from tfpgan.models.networks import Discriminator, Generator
from tfpgan.models.per_class import CONDITIONING as PER_CLASS
from tfpgan.models.per_class import PerClassDiscriminator, PerClassGenerator
from tfpgan.options import TrainOptions

GENERATORS = {"pggan": Generator, "dcgan": DCGANGenerator}
DISCRIMINATORS = {"pggan": Discriminator, "dcgan": DCGANDiscriminator}


def build_generator(options: TrainOptions, num_classes: int, channels: int, name: str = "generator") -> keras.Model:
    """G of --architecture at --resolution; with --conditioning=per_class one unconditional G per class."""
    return _build(GENERATORS[options.architecture], PerClassGenerator, options, num_classes, name,
                  channels=channels, latent_size=options.latent_size)


def build_discriminator(options: TrainOptions, num_classes: int, channels: int,
                        name: str = "discriminator") -> keras.Model:
    """D of --architecture at --resolution; with --conditioning=per_class one unconditional D per class."""
    extra = {"mbstd_group_size": options.mbstd_group_size} if options.architecture == "pggan" else {}
    return _build(DISCRIMINATORS[options.architecture], PerClassDiscriminator, options, num_classes, name,
                  channels=channels, **extra)


def _build(network: Callable[..., keras.Model], per_class: Callable[..., keras.Model], options: TrainOptions,
           num_classes: int, name: str, **kwargs) -> keras.Model:
    def make(conditioning: str, network_name: str) -> keras.Model:
        return network(num_classes, max_resolution=options.resolution, fmap_base=options.fmap_base,
                       fmap_max=options.fmap_max, conditioning=conditioning, name=network_name, **kwargs)

    if options.conditioning == PER_CLASS:
        return per_class(lambda sub: make("none", sub), num_classes, name=name)
    return make(options.conditioning, name)

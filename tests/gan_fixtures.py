"""Shared GAN-training fixtures: a tiny 16x16 3-class dataset and a tiny TrainConfig.

Test modules load this as a plugin (`pytest_plugins = ("gan_fixtures",)`) so that the session-scoped
dataset is built once per pytest run.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tfpgan.data.build import BuildOptions, build_dataset
from tfpgan.data.sources import Item, Source
from tfpgan.training.config import TrainConfig

CLASSES = ("stripes", "columns", "checks")
PER_CLASS, RESOLUTION, FOLDS = 16, 16, 3


def class_pattern(label: int, index: int, size: int = RESOLUTION) -> np.ndarray:
    """uint8 [size, size, 1]: horizontal stripes, vertical stripes or a checkerboard, shifted per image, plus noise."""
    rows, columns = np.mgrid[0:size, 0:size]
    shift = index % 4
    pattern = [(rows + shift) // 2 % 2, (columns + shift) // 2 % 2, ((rows + shift) // 4 + columns // 4) % 2][label]
    noise = np.random.default_rng(1000 * label + index).integers(0, 40, (size, size))
    return (pattern * 200 + noise).astype(np.uint8)[:, :, None]


def tiny_source() -> Source:
    """In-memory source: PER_CLASS images of each class."""
    items = [Item(f"{CLASSES[label]}{index:02d}", label, lambda label=label, index=index: class_pattern(label, index))
             for label in range(len(CLASSES)) for index in range(PER_CLASS)]
    return Source("memory:tiny", CLASSES, items)


@pytest.fixture(scope="session")
def gan_dataset(tmp_path_factory) -> str:
    """Folder of a 16x16 1-channel 3-class dataset, 48 images in 3 folds."""
    folder = str(tmp_path_factory.mktemp("gan_data") / "tiny")
    build_dataset(tiny_source(), folder, BuildOptions(resolution=RESOLUTION, channels=1, folds=FOLDS, seed=0),
                  name="tiny")
    return folder


def tiny_config(dataset: str, logdir: str, **overrides) -> TrainConfig:
    """A 4 -> 16 run of 5 phases x 32 images at batch 8 (20 steps), ticks/images/checkpoints every 32 images."""
    config = TrainConfig(dataset=dataset, logdir=logdir, test_fold=0, resolution=16, start_resolution=4,
                         kimg_per_phase=0.032, kimg_per_transition=0.032, batch_per_resolution={4: 8},
                         latent_size=8, fmap_base=64, fmap_max=16, ema_beta=0.9, tick_kimg=0.016,
                         checkpoint_every_kimg=0.032, keep_checkpoints=2, image_every_kimg=0.032,
                         images_per_class=2, strategy="default")
    return dataclasses.replace(config, **overrides)

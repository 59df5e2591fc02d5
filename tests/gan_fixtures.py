"""Shared GAN-training fixtures: a tiny 16x16 3-class dataset, a tiny TrainOptions and one grown 4 -> 16 run.

Test modules load this as a plugin (`pytest_plugins = ("gan_fixtures",)`) so that the session-scoped
fixtures are built once per pytest run, however many modules use them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tfpgan.data.build import build_dataset
from tfpgan.data.sources import Item, Source
from tfpgan.options import BuildOptions, TrainOptions
from tfpgan.training.checkpoints import by_path
from tfpgan.training.trainer import Trainer, TrainingInterrupted

CLASSES = ("stripes", "columns", "checks")
PER_CLASS, RESOLUTION, FOLDS = 16, 16, 3
# tiny_config's 5 phases take 4 steps each: step 4 ends the 4x4 phase, step 6 is half-way through the 8x8 fade-in.
BOUNDARY_STEP, MID_FADE_STEP, TOTAL_STEPS = 4, 6, 20


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


def tiny_config(dataset: str, logdir: str, **overrides) -> TrainOptions:
    """A 4 -> 16 run of 5 phases x 32 images at batch 8 (20 steps); a tick every 2 steps, an image grid and a
    checkpoint at the end of every phase; the 2 newest checkpoints kept."""
    config = TrainOptions(dataset=dataset, logdir=logdir, test_fold=0, resolution=16, start_resolution=4,
                         kimg_per_phase=0.032, kimg_per_transition=0.032, batch_per_resolution={4: 8},
                         latent_size=8, fmap_base=64, fmap_max=16, ema_beta=0.9, tick_kimg=0.016,
                         checkpoint_every_kimg=0.032, keep_checkpoints=2, image_every_kimg=0.032,
                         images_per_class=2, strategy="default")
    return dataclasses.replace(config, **overrides)


def training_state(trainer: Trainer) -> dict[str, np.ndarray]:
    """Everything a checkpoint holds, as numpy: G, D and EMA weights, both optimizers' moments, counters."""
    state = {}
    for name, variables in (("generator", trainer.generator.variables),
                            ("discriminator", trainer.discriminator.variables),
                            ("generator_ema", trainer.generator_ema.variables)):
        state.update({f"{name}/{key}": v.numpy() for key, v in by_path(variables).items()})
    for optimizer in (trainer.g_optimizer, trainer.d_optimizer):
        state.update({key: v.numpy() for key, v in by_path(optimizer.variables, strip_prefix=False).items()})
    state.update(images_seen=trainer.images_seen.numpy(), step=trainer.step.numpy(), phase=trainer.phase_index.numpy(),
                 augment_p=trainer.augment_p.numpy())
    return state


class RecordingTrainer(Trainer):
    """A Trainer that keeps what tests inspect: its compiled steps (per resolution), the fade-in α of each step,
    each tick's losses, the state right after restoring a checkpoint."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.step_functions, self.ticks, self.alphas, self.restored_state = [], [], [], None

    def _make_step(self, resolution, global_batch):
        step_function = super()._make_step(resolution, global_batch)
        self.step_functions.append((resolution, step_function))

        def recorded(*args):  # α is set inside the step: record the one each step trained with
            step = int(self.step.numpy())
            step_function(*args)
            self.alphas.append((step, float(self.discriminator.fade.alpha.numpy())))

        return recorded

    def restore(self) -> bool:
        resumed = super().restore()
        if resumed:
            self.restored_state = training_state(self)
        return resumed

    def _tick(self, phase, values, *args):
        self.ticks.append((int(self.step.numpy()), values))
        super()._tick(phase, values, *args)


def train_until(config: TrainOptions, stop_step: int) -> tuple[RecordingTrainer, str]:
    """Train `config` (resuming its logdir) until the step counter reaches `stop_step`; returns the trainer and
    the interrupt's message. (The exception is not kept: its traceback holds the loop's dataset iterator.)"""
    trainer = RecordingTrainer(config)
    try:
        trainer.train(should_stop=lambda: int(trainer.step.numpy()) >= stop_step)
    except TrainingInterrupted as interrupt:
        return trainer, str(interrupt)
    raise AssertionError(f"training ended without reaching step {stop_step}")


@dataclasses.dataclass
class Segment:
    """One interrupted stretch of a run: the interrupt's message, the newest checkpoint and the state then."""

    message: str
    checkpoint: str
    state: dict


@dataclasses.dataclass
class GrownRun:
    """tiny_config trained 4 -> 16: interrupted at a phase boundary, interrupted mid-fade, then resumed to the end."""

    config: TrainOptions
    segments: list[Segment]
    trainer: RecordingTrainer
    summary: dict


@pytest.fixture(scope="session")
def grown_run(gan_dataset, tmp_path_factory) -> GrownRun:
    """The one full 4 -> 8 -> 16 run that the trainer and export tests inspect (stopped at steps 4 and 6)."""
    config = tiny_config(gan_dataset, str(tmp_path_factory.mktemp("grown") / "run"))
    segments = []
    for stop_step in (BOUNDARY_STEP, MID_FADE_STEP):
        trainer, message = train_until(config, stop_step)
        segments.append(Segment(message, trainer.manager.latest_checkpoint, training_state(trainer)))
    trainer = RecordingTrainer(config)
    summary = trainer.train()
    return GrownRun(config, segments, trainer, summary)

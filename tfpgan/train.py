"""Train a class-conditional progressive GAN on a dataset's training folds.

  python -m tfpgan.train --flagfile=flags/quickstart.cfg --dataset=data/elpv32 --logdir=runs/quickstart

Kill it at any moment (Ctrl-C / SIGTERM saves a checkpoint) and run the same command to continue.
Watch it with: tensorboard --logdir runs/quickstart --host 127.0.0.1 --port 6006
"""

from __future__ import annotations

import dataclasses
import sys

from absl import flags

from tfpgan import cli
from tfpgan.data.dataset_info import is_power_of_two
from tfpgan.errors import TfpganError
from tfpgan.training.config import TrainConfig
from tfpgan.training.schedule import parse_resolution_map

HELP = {
    "dataset": "Dataset folder made by tools.build_dataset.",
    "logdir": "Run folder: checkpoints, TensorBoard logs, image grids, config.json, export/.",
    "test_fold": "Held-out fold the GAN never sees (it trains on all other folds); -1 trains on every fold.",
    "resolution": "Target resolution (power of two); 0 = the dataset's resolution.",
    "start_resolution": "Resolution at which growing starts.",
    "kimg_per_phase": "Thousands of real images shown per stable phase (paper: 600).",
    "kimg_per_transition": "Thousands of real images shown per fade-in transition (paper: 600).",
    "total_kimg": "Total length; > growth length continues training at the final resolution (0 = end of growth).",
    "batch_per_resolution": "Per-replica minibatch per resolution, e.g. '4:128,8:128,16:64,32:32,64:16' "
                            "(global batch = this x replicas; unlisted resolutions take the next lower entry).",
    "latent_size": "Dimension of the latent vector z.",
    "fmap_base": "Feature maps: nf(stage) = min(fmap_base / 2**stage, fmap_max) (official 8192).",
    "fmap_max": "Upper bound on feature maps per layer (official 512).",
    "conditioning": "acgan: G gets the label, D predicts it (AC-GAN); none: unconditional.",
    "mbstd_group_size": "Minibatch-stddev group size in D's 4x4 block (must divide the per-replica batch).",
    "learning_rate": "Adam learning rate of G and D.",
    "lr_per_resolution": "Optional per-resolution learning rates, e.g. '128:1.5e-3,256:2e-3'.",
    "adam_beta1": "Adam beta1.",
    "adam_beta2": "Adam beta2.",
    "adam_epsilon": "Adam epsilon.",
    "reset_optimizer": "Reset both Adam optimizers' moments at every new resolution (official behaviour).",
    "gp_weight": "WGAN-GP gradient-penalty weight lambda.",
    "gp_target": "WGAN-GP target gradient norm.",
    "drift_weight": "Weight of the drift term D(real)^2.",
    "ac_weight": "Weight of the AC-GAN label cross-entropy.",
    "ema_beta": "Generator EMA decay (the EMA generator is exported and shown).",
    "balanced_fake_labels": "Sample fake labels uniformly over classes (else by the data's class frequencies).",
    "seed": "Seed of latents, labels, penalties and data order.",
    "strategy": "auto (MirroredStrategy over all GPUs when >1, else default), default, mirrored, multi_worker "
                "(reads TF_CONFIG).",
    "jit_compile": "XLA-compile the forward/backward passes (GPU; ~+20% on CPU).",
    "mixed_precision": "mixed_float16 with loss scaling (GPUs with tensor cores only; slower on CPU).",
    "tick_kimg": "A console line and TensorBoard scalars every this many kimg.",
    "checkpoint_every_kimg": "Save a checkpoint every this many kimg (and at the end and on SIGINT/SIGTERM).",
    "keep_checkpoints": "Number of checkpoints kept.",
    "image_every_kimg": "Image grid (EMA fakes per class next to reals) every this many kimg; 0 = never.",
    "images_per_class": "Images per class in the grid.",
    "metrics_every_kimg": "Log the SWD (x1e3, per level and average) of the EMA generator against the real "
                          "training folds to TensorBoard every this many kimg, at 16x16 and above (0 = off). Cost: "
                          "generating --metrics_images fakes plus one SWD, measured by tools.benchmark --what=metrics.",
    "metrics_images": "Images (fake and real each) per SWD measurement during training.",
    "export": "Export the EMA generator as a SavedModel to LOGDIR/export/generator at the end.",
}
MAP_FIELDS = ("batch_per_resolution", "lr_per_resolution")
REQUIRED = ("dataset", "logdir")


def define_flags() -> None:
    """Define one flag per TrainConfig field (shared with tools.experiment)."""
    defaults = TrainConfig(dataset="", logdir="")
    for field in dataclasses.fields(TrainConfig):
        name, default = field.name, getattr(defaults, field.name)
        help_text = HELP[name]
        if name in REQUIRED:
            flags.DEFINE_string(name, None, help_text)
        elif name in MAP_FIELDS:
            flags.DEFINE_string(name, ",".join(f"{k}:{v:g}" for k, v in default.items()), help_text)
        elif name == "conditioning":
            flags.DEFINE_enum(name, default, ["acgan", "none"], help_text)
        elif name == "strategy":
            flags.DEFINE_enum(name, default, ["auto", "default", "mirrored", "multi_worker"], help_text)
        elif isinstance(default, bool):
            flags.DEFINE_bool(name, default, help_text)
        elif isinstance(default, int):
            flags.DEFINE_integer(name, default, help_text)
        elif isinstance(default, float):
            flags.DEFINE_float(name, default, help_text)
    for name in MAP_FIELDS:
        flags.register_validator(name, _valid_map, f"--{name} must be RESOLUTION:VALUE pairs like '4:128,8:64'")
    for name in ("resolution", "start_resolution"):
        flags.register_validator(name, lambda r: r == 0 or (is_power_of_two(r) and 4 <= r <= 1024),
                                 f"--{name} must be a power of two in 4..1024")
    flags.register_validator("ema_beta", lambda b: 0.0 <= b < 1.0, "--ema_beta must be in [0, 1)")
    flags.register_validator("learning_rate", lambda v: v > 0, "--learning_rate must be > 0")
    flags.register_validator("test_fold", lambda v: v >= -1, "--test_fold must be -1 or a fold index")


def _valid_map(text: str) -> bool:
    try:
        parse_resolution_map(text)
    except TfpganError:
        return False
    return True


def config_from_flags(values, **overrides) -> TrainConfig:
    """TrainConfig from parsed flag values (overrides win)."""
    fields = {}
    for field in dataclasses.fields(TrainConfig):
        value = getattr(values, field.name)
        fields[field.name] = parse_resolution_map(value) if field.name in MAP_FIELDS else value
    fields.update(overrides)
    return TrainConfig(**fields)


def run_training(config: TrainConfig) -> dict:
    """Train with SIGINT/SIGTERM handled; returns the trainer's summary."""
    from tfpgan.training.interrupt import StopRequest
    from tfpgan.training.trainer import Trainer  # imports TensorFlow: not needed to parse and check flags

    trainer = Trainer(config)
    with StopRequest().installed() as stop:
        return trainer.train(should_stop=stop)


def main(argv):
    del argv
    for name in REQUIRED:
        if not getattr(flags.FLAGS, name):
            raise TfpganError(f"--{name} is required")
    from tfpgan.training.trainer import TrainingInterrupted

    try:
        summary = run_training(config_from_flags(flags.FLAGS))
    except TrainingInterrupted as stopped:
        print(stopped, file=sys.stderr)
        return 130
    print(f"training complete at kimg {summary['kimg']:.1f}; generator exported to {summary['export'] or '(off)'}")
    return 0


if __name__ == "__main__":
    define_flags()
    cli.run(main)

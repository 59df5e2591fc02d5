"""TrainConfig: every hyper-parameter of a GAN training run (the binary fills it from flags)."""

from __future__ import annotations

import dataclasses
import json
import os

from tfpgan.data.dataset_info import is_power_of_two
from tfpgan.errors import TfpganError

# Keys that fix the networks' shapes: a run may not resume with different values.
ARCHITECTURE_KEYS = ("resolution", "start_resolution", "latent_size", "fmap_base", "fmap_max", "conditioning",
                     "mbstd_group_size", "test_fold")


@dataclasses.dataclass
class TrainConfig:
    """A progressive-GAN run. Defaults follow the official implementation (GUIDE.md §3)."""

    dataset: str
    logdir: str
    test_fold: int = 0
    resolution: int = 0
    start_resolution: int = 4
    kimg_per_phase: float = 600.0
    kimg_per_transition: float = 600.0
    total_kimg: float = 0.0
    batch_per_resolution: dict = dataclasses.field(
        default_factory=lambda: {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4, 1024: 4})
    latent_size: int = 512
    fmap_base: int = 8192
    fmap_max: int = 512
    conditioning: str = "acgan"
    mbstd_group_size: int = 4
    learning_rate: float = 1e-3
    lr_per_resolution: dict = dataclasses.field(default_factory=dict)
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    adam_epsilon: float = 1e-8
    reset_optimizer: bool = True
    gp_weight: float = 10.0
    gp_target: float = 1.0
    drift_weight: float = 0.001
    ac_weight: float = 1.0
    ema_beta: float = 0.999
    balanced_fake_labels: bool = True
    seed: int = 0
    strategy: str = "auto"
    jit_compile: bool = False
    mixed_precision: bool = False
    tick_kimg: float = 1.0
    checkpoint_every_kimg: float = 10.0
    keep_checkpoints: int = 3
    image_every_kimg: float = 10.0
    images_per_class: int = 8
    metrics_every_kimg: float = 0.0
    metrics_images: int = 512
    export: bool = True

    def validate(self) -> None:
        problems = []
        for name in ("resolution", "start_resolution"):
            value = getattr(self, name)
            if value and (not is_power_of_two(value) or not 4 <= value <= 1024):
                problems.append(f"{name} must be a power of two in 4..1024, got {value}")
        if self.conditioning not in ("acgan", "none"):
            problems.append(f"conditioning must be acgan or none, got {self.conditioning!r}")
        if self.strategy not in ("auto", "default", "mirrored", "multi_worker"):
            problems.append(f"strategy must be auto, default, mirrored or multi_worker, got {self.strategy!r}")
        if not 0.0 <= self.ema_beta < 1.0:
            problems.append(f"ema_beta must be in [0, 1), got {self.ema_beta}")
        if self.latent_size < 1 or self.fmap_base < 1 or self.fmap_max < 1:
            problems.append("latent_size, fmap_base and fmap_max must be >= 1")
        if self.learning_rate <= 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.test_fold < -1:
            problems.append(f"test_fold must be -1 (train on all folds) or a fold index, got {self.test_fold}")
        if problems:
            raise TfpganError("; ".join(problems))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"


def check_resume_compatible(config: TrainConfig, path: str) -> None:
    """Refuse to resume a logdir whose config.json has different architecture keys."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle)
    changed = [f"{k}: {previous.get(k)!r} -> {getattr(config, k)!r}" for k in ARCHITECTURE_KEYS
               if k in previous and previous[k] != getattr(config, k)]
    if changed:
        raise TfpganError(f"{config.logdir} holds a run with a different architecture ({'; '.join(changed)}); "
                          "use a new --logdir")

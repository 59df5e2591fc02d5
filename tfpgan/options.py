"""Every option of every tfpgan job, as frozen dataclasses validated in one place.

Each field is declared with `option()`: its default, its help text (the flag's help), its flag name when that
differs from the field name, and the rule or the choices it must satisfy. `Options.__post_init__` checks every
field and then the cross-field rules of `check()`, raising one `OptionsError` that names the flag and the value
(`--kimg_per_phase must be > 0, got -3`). `tfpgan.flags` turns the same declarations into absl flags, so the
library, the flags and their validation cannot drift apart. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tfpgan.errors import TfpganError

CONDITIONINGS = ("acgan", "none", "per_class")
ARCHITECTURES = ("pggan", "dcgan")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
REGIMES = ("none", "classic", "synthetic", "classic+synthetic", "oversample", "classic+oversample")
CLASS_WEIGHTINGS = ("none", "balanced")
CLASSIFIERS = ("cnn", "resnet18", "vgg16", "resnet50")
FEATURE_CLASSIFIERS = ("cnn", "resnet18")
OPTIMIZERS = ("sgd", "adam")
QUALITY_METRICS = ("swd", "msssim", "fid", "kid", "memorization")
SYNTHESIS_MODES = ("per_class", "balance_to", "counts")
EXPERIMENT_SYNTHESIS_MODES = ("balance_to", "per_class")
RESIZE_MODES = ("pad", "center_crop", "stretch")
BAD_IMAGE_POLICIES = ("fail", "skip")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
MIN_RESOLUTION, MAX_RESOLUTION = 4, 1024


class OptionsError(TfpganError, ValueError):
    """An option has a value it may not have; the message names the flag and the value."""


def is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def valid_resolution(value: int) -> bool:
    """A power of two in MIN_RESOLUTION..MAX_RESOLUTION."""
    return is_power_of_two(value) and MIN_RESOLUTION <= value <= MAX_RESOLUTION


@dataclasses.dataclass(frozen=True)
class Rule:
    """`holds(value)` must be true; `text` completes "--name must be ..."."""

    text: str
    holds: Callable[[Any], bool]


POSITIVE = Rule("> 0", lambda v: v > 0)
NON_NEGATIVE = Rule(">= 0", lambda v: v >= 0)
RESOLUTION = Rule(f"a power of two in {MIN_RESOLUTION}..{MAX_RESOLUTION}", valid_resolution)
RESOLUTION_OR_ZERO = Rule(f"0 or a power of two in {MIN_RESOLUTION}..{MAX_RESOLUTION}",
                          lambda v: v == 0 or valid_resolution(v))
OPEN_FRACTION = Rule("in (0, 1)", lambda v: 0.0 < v < 1.0)
HALF_OPEN_FRACTION = Rule("in [0, 1)", lambda v: 0.0 <= v < 1.0)
PERCENT = Rule("in [0, 100]", lambda v: 0.0 <= v <= 100.0)
DISTINCT_NON_NEGATIVE = Rule("distinct integers >= 0", lambda v: len(set(v)) == len(v) and all(n >= 0 for n in v))
RESOLUTION_MAP = Rule("RESOLUTION:VALUE pairs with power-of-two resolutions and values > 0",
                      lambda m: all(valid_resolution(int(k)) and v > 0 for k, v in m.items()))


def at_least(minimum: int) -> Rule:
    return Rule(f">= {minimum}", lambda v: v >= minimum)


def parse_resolution_map(text: str) -> dict[int, float]:
    """'4:128,8:64,16:1e-3' -> {4: 128, 8: 64, 16: 0.001} (whole numbers stay integers)."""
    result = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, separator, value = part.partition(":")
        try:
            if not separator:
                raise ValueError
            number = float(value)
            result[int(key)] = int(number) if number.is_integer() else number
        except ValueError:
            raise OptionsError(f"expected RESOLUTION:VALUE pairs like '4:128,8:64', got {part!r}") from None
    return result


def format_resolution_map(mapping: Mapping[int, float]) -> str:
    return ",".join(f"{k}:{v:g}" for k, v in mapping.items())


def parse_folds(text: str) -> tuple[int, ...] | None:
    """'all' -> None; '0,2' -> (0, 2)."""
    if text.strip() == "all":
        return None
    try:
        folds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise OptionsError(f"folds must be 'all' or fold indices like '0,2', got {text!r}") from None
    if any(fold < 0 for fold in folds) or len(set(folds)) != len(folds):
        raise OptionsError(f"folds must be 'all' or distinct fold indices like '0,2', got {text!r}")
    return folds


def format_folds(folds: Sequence[int] | None) -> str:
    return "all" if folds is None else ",".join(str(f) for f in folds)


def parse_counts(text: str) -> dict[str, int]:
    """'class:n,class:n' -> {class: n}."""
    counts: dict[str, int] = {}
    for entry in text.split(","):
        name, separator, number = entry.strip().rpartition(":")
        if not separator or not name or not number.strip().isdigit():
            raise OptionsError(f"--counts must be class:n,class:n,... (n >= 0), got {entry.strip()!r}")
        if name in counts:
            raise OptionsError(f"--counts names class {name!r} twice")
        counts[name] = int(number)
    return counts


NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def parse_named_paths(text: str) -> dict[str, str]:
    """'name:path,name:path' -> {name: path}: named synthetic sets or generators (a path may hold ':')."""
    named: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, separator, path = entry.partition(":")
        if not separator or not name or not path or not set(name) <= NAME_CHARACTERS:
            raise OptionsError(f"expected NAME:PATH,NAME:PATH,... with names of letters, digits, '_', '.', '-'; got "
                               f"{entry!r}")
        if name in named:
            raise OptionsError(f"{name!r} is named twice in {text!r}")
        named[name] = path
    return named


def format_named_paths(named: Mapping[str, str]) -> str:
    return ",".join(f"{name}:{path}" for name, path in named.items())


def option(default: Any = dataclasses.MISSING, help: str = "", *, flag: str | None = None, rule: Rule | None = None,
           choices: Sequence[str] | None = None, factory: Callable[[], Any] | None = None,
           parse: Callable[[str], Any] | None = None, format: Callable[[Any], str] | None = None,
           exposed: bool = True, skip: Sequence[str] = ()) -> Any:
    """A dataclass field with what `Options` validates and `tfpgan.flags` defines.

    flag: the flag's name (default: the field's). parse/format: the field is a string flag converted by these.
    exposed=False: a library-only setting with no flag. skip: for nested options, the flags of fields that the
    owner fills in itself (they keep the template's value).
    """
    metadata = {"help": help, "flag": flag, "rule": rule, "choices": tuple(choices) if choices else None,
                "parse": parse, "format": format, "exposed": exposed, "skip": tuple(skip)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def flag_name(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or field.name


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of every options dataclass: checks each field's choices and rule, then `check()`."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_field(field, getattr(self, field.name))
        self.check()

    def check(self) -> None:
        """Rules that relate several fields (override)."""

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def _check_field(field: dataclasses.Field, value: Any) -> None:
    name = flag_name(field)
    choices, rule = field.metadata.get("choices"), field.metadata.get("rule")
    if choices:
        values = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and (not value or len(set(value)) != len(value)):
            raise OptionsError(f"--{name} must list distinct values among {', '.join(choices)}, got {value!r}")
        for item in values:
            if item not in choices:
                raise OptionsError(f"--{name} must be one of {', '.join(choices)}, got {item!r}")
    if rule is not None and value is not None:
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionsError(f"--{name} must be finite, got {value!r}")
        if not rule.holds(value):
            raise OptionsError(f"--{name} must be {rule.text}, got {value!r}")


def fail(name: str, message: str) -> None:
    """Raise the OptionsError of a cross-field rule on --name."""
    raise OptionsError(f"--{name} {message}")


# --- datasets ----------------------------------------------------------------------------------------------------


def parse_window(text: str) -> tuple[float, float]:
    """'center,width' (a DICOM window) -> floats; width > 0, both finite."""
    try:
        center, width = (float(v) for v in text.split(","))
    except ValueError:
        raise OptionsError(f"--dicom_window must be 'center,width', got {text!r}") from None
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise OptionsError(f"--dicom_window must be finite 'center,width' with width > 0, got {text!r}")
    return center, width


INTENSITY_MODES = ("auto", "dtype", "dataset", "per_image")
INTENSITY_TEXT = f"{', '.join(INTENSITY_MODES)} or a window LOW,HIGH (finite, LOW < HIGH)"


def valid_intensity(value: Any) -> bool:
    """A mode of INTENSITY_MODES or a (low, high) pair of finite numbers with low < high."""
    if isinstance(value, str):
        return value in INTENSITY_MODES
    return (isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)
            and all(math.isfinite(v) for v in value) and value[0] < value[1])


def parse_intensity(text: str) -> str | tuple[float, float]:
    """'auto', 'dtype', 'dataset', 'per_image' -> itself; 'LOW,HIGH' -> (low, high)."""
    text = text.strip()
    if text in INTENSITY_MODES:
        return text
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise OptionsError(f"--intensity must be {INTENSITY_TEXT}, got {text!r}") from None
    return low, high


def format_intensity(value: str | tuple[float, float]) -> str:
    return value if isinstance(value, str) else ",".join(f"{v:.15g}" for v in value)


@dataclasses.dataclass(frozen=True)
class BuildOptions(Options):
    """How source images become dataset examples."""

    resolution: int = option(64, "Stored resolution: a power of two in 4..1024.", rule=RESOLUTION)
    channels: int | None = option(None, "Channels stored: 1 (gray; colour images converted to luminance) or 3 "
                                  "(gray repeated); default: the data's own (a set mixing both stops).",
                                  rule=Rule("1 or 3", lambda v: v in (1, 3)))
    resize: str = option("pad", "How non-square images become square.", choices=RESIZE_MODES)
    folds: int = option(5, "Number of cross-validation folds (stratified; grouped by patient when the source has "
                        "groups); 1 puts every example in fold 0.", rule=POSITIVE)
    seed: int = option(0, "Seed of the fold split and the shard order.", rule=NON_NEGATIVE)
    on_bad_image: str = option("fail", "fail: stop at the first unreadable image; skip: warn, skip it and count it "
                               "in dataset.json.", choices=BAD_IMAGE_POLICIES)
    intensity: str | tuple[float, float] = option(
        "auto", "How pixel values become 0..255. auto: uint8 images as stored, any other type (16-bit PNG/TIFF, "
        "float or int .npy, DICOM without a window) by the min..max over all such images of the source; dataset: "
        "every image by the min..max over all images; dtype: the type's full range (uint16 0..65535; floats must "
        "lie in [0, 1]); per_image: each image's own min..max (uint8 as stored); LOW,HIGH: a fixed window, values "
        "outside it clipped. auto and dataset read the images they scale twice (once for the range). An image "
        "whose range is a single value keeps its value (its type's range).",
        rule=Rule(INTENSITY_TEXT, valid_intensity), parse=parse_intensity, format=format_intensity)


@dataclasses.dataclass(frozen=True)
class BuildJob(Options):
    """What tools.build_dataset builds, from where, to where."""

    output: str = option(help="Dataset folder to create.")
    source: str = option("elpv", "folder:DIR (one sub-folder per class), csv:FILE (columns path,label[,group]; "
                         "paths relative to the CSV), npz:FILE (MedMNIST layout, splits pooled), dataset:DIR (a "
                         "dataset folder, its pixels as stored: e.g. new folds with another --seed) or elpv "
                         "(built-in).")
    dicom_window: tuple[float, float] | None = option(None, "DICOM window 'center,width' (after rescale "
                                                      "slope/intercept); default: each file's own window.",
                                                      parse=parse_window, format=lambda w: f"{w[0]:g},{w[1]:g}")
    name: str = option("", "Dataset name (default: the output folder's name).")
    overwrite: bool = option(False, "Replace an existing output folder (only once the new one is complete).")
    build: BuildOptions = option(factory=BuildOptions)

    def check(self) -> None:
        if self.build.folds < 2:
            fail("folds", f"must be >= 2 for cross-validation, got {self.build.folds}")


# --- GAN training -------------------------------------------------------------------------------------------------

DCGAN_MIN_RESOLUTION = 8  # a DCGAN projects z to 4x4 and needs at least one stride-2 layer
# Options that fix the networks' shapes: a run may not resume with different values.
ARCHITECTURE_KEYS = ("architecture", "resolution", "start_resolution", "latent_size", "fmap_base", "fmap_max",
                     "conditioning", "mbstd_group_size", "test_fold")
# Options that fix the schedule: a resume with other values needs --allow_schedule_change.
SCHEDULE_KEYS = ("kimg_per_phase", "kimg_per_transition", "total_kimg", "batch_per_resolution")


def _default_batches() -> dict[int, float]:
    return {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4, 1024: 4}


GAN_LOSSES = ("wgan_gp", "ns_r1")
GAN_AUGMENT_SETTINGS = ("none", "diffaugment", "adaptive")
AUGMENTATIONS = ("translation", "cutout", "brightness", "contrast", "saturation")


def _is_augment_p(text: str) -> bool:
    try:
        return text == "auto" or 0.0 <= float(text) <= 1.0
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class TrainOptions(Options):
    """A progressive-GAN run. Defaults follow the official implementation (Karras et al. 2018)."""

    dataset: str = option(help="Dataset folder made by tools.build_dataset.")
    logdir: str = option(help="Run folder: checkpoints, TensorBoard logs, image grids, config.json, export/.")
    test_fold: int = option(0, "Held-out fold the GAN never sees (it trains on all other folds); -1 trains on "
                            "every fold.", rule=at_least(-1))
    architecture: str = option("pggan", "pggan: progressive GAN (Karras et al. 2018); dcgan: DCGAN (Radford et al. "
                               "2016) at --resolution only (>= 8), one phase of --kimg_per_phase.",
                               choices=ARCHITECTURES)
    resolution: int = option(0, "Target resolution (power of two); 0 = the dataset's resolution.",
                             rule=RESOLUTION_OR_ZERO)
    start_resolution: int = option(4, "Resolution at which growing starts (pggan; a dcgan starts and stays at "
                                   "--resolution).", rule=RESOLUTION)
    kimg_per_phase: float = option(600.0, "Thousands of real images shown per stable phase (paper: 600).",
                                   rule=POSITIVE)
    kimg_per_transition: float = option(600.0, "Thousands of real images shown per fade-in transition "
                                        "(paper: 600).", rule=POSITIVE)
    total_kimg: float = option(0.0, "Total length; > growth length continues training at the final resolution "
                               "(0 = end of growth).", rule=NON_NEGATIVE)
    batch_per_resolution: dict = option(
        help="Per-replica minibatch per resolution, e.g. '4:128,8:128,16:64,32:32,64:16' (global batch = this x "
             "replicas; unlisted resolutions take the next lower entry).",
        factory=_default_batches, rule=RESOLUTION_MAP, parse=parse_resolution_map, format=format_resolution_map)
    latent_size: int = option(512, "Dimension of the latent vector z.", rule=POSITIVE)
    fmap_base: int = option(8192, "Feature maps: nf(stage) = min(fmap_base / 2**stage, fmap_max) (official 8192).",
                            rule=POSITIVE)
    fmap_max: int = option(512, "Upper bound on feature maps per layer (official 512).", rule=POSITIVE)
    conditioning: str = option("acgan", "acgan: G gets the label, D predicts it (AC-GAN); none: unconditional; "
                               "per_class: one unconditional G and D per class in one run, the label picks them "
                               "(pggan needs --mbstd_group_size=1).", choices=CONDITIONINGS)
    mbstd_group_size: int = option(4, "Minibatch-stddev group size in D's 4x4 block (must divide the per-replica "
                                   "batch; pggan only).", rule=POSITIVE)
    learning_rate: float = option(1e-3, "Adam learning rate of G and D.", rule=POSITIVE)
    lr_per_resolution: dict = option(help="Optional per-resolution learning rates, e.g. '128:1.5e-3,256:2e-3'.",
                                     factory=dict, rule=RESOLUTION_MAP, parse=parse_resolution_map,
                                     format=format_resolution_map)
    adam_beta1: float = option(0.0, "Adam beta1.", rule=HALF_OPEN_FRACTION)
    adam_beta2: float = option(0.99, "Adam beta2.", rule=HALF_OPEN_FRACTION)
    adam_epsilon: float = option(1e-8, "Adam epsilon.", rule=POSITIVE)
    reset_optimizer: bool = option(True, "Reset both Adam optimizers' moments at every phase boundary: fade-in "
                                   "start and stable start (official behaviour).")
    gp_weight: float = option(10.0, "WGAN-GP gradient-penalty weight lambda.", rule=NON_NEGATIVE)
    gp_target: float = option(1.0, "WGAN-GP target gradient norm.", rule=POSITIVE)
    drift_weight: float = option(0.001, "Weight of the drift term D(real)^2.", rule=NON_NEGATIVE)
    ac_weight: float = option(1.0, "Weight of the AC-GAN label cross-entropy.", rule=NON_NEGATIVE)
    loss: str = option("wgan_gp", "wgan_gp: WGAN-GP + drift (official PGGAN); ns_r1: non-saturating logistic loss "
                       "with R1 on reals every --r1_interval steps (StyleGAN2-ADA, DiffAugment; for small data).",
                       choices=GAN_LOSSES)
    r1_gamma: float = option(10.0, "R1 weight gamma of --loss=ns_r1 (penalty gamma / 2 * |grad D(real)|^2; "
                             "DiffAugment: 10, ADA's heuristic 0.0002 * resolution^2 / batch).", rule=NON_NEGATIVE)
    r1_interval: int = option(16, "Lazy R1: computed every this many steps and scaled by it (StyleGAN2: 16).",
                              rule=POSITIVE)
    augment: tuple[str, ...] = option(
        (), "Differentiable augmentation of every image D sees (reals, fakes, penalty inputs), e.g. "
        "'translation,cutout,brightness,contrast'; saturation acts on 3 channels only; empty: none.",
        rule=Rule(f"distinct names among {', '.join(AUGMENTATIONS)}",
                  lambda v: len(set(v)) == len(v) and all(name in AUGMENTATIONS for name in v)))
    augment_p: str = option("1", "Probability of each --augment op per image: a number in [0, 1] (DiffAugment: 1) or "
                            "'auto' (ADA: adapted from the sign of D's real outputs, starting at 0).",
                            rule=Rule("'auto' or a number in [0, 1]", _is_augment_p))
    augment_target: float = option(0.6, "--augment_p=auto raises p while E[sign(D(real))] (--loss=wgan_gp: "
                                   "E[sign(D(real) - mean D(fake))]) is above this target.",
                                   rule=HALF_OPEN_FRACTION)
    augment_speed_kimg: float = option(500.0, "--augment_p=auto can move p from 0 to 1 in this many kimg.",
                                       rule=POSITIVE)
    ema_beta: float = option(0.999, "Generator EMA decay (the EMA generator is exported and shown).",
                             rule=HALF_OPEN_FRACTION)
    balanced_fake_labels: bool = option(True, "Generator step: exactly balanced fake labels in every batch (else "
                                        "sampled by the training folds' class frequencies). The discriminator step "
                                        "always uses the real minibatch's labels (official).")
    seed: int = option(0, "Seed of latents, labels, penalties, initial weights and data order.", rule=NON_NEGATIVE)
    deterministic: bool = option(False, "Reproducible to the bit on the same machine type: TensorFlow op "
                                 "determinism, fixed thread pools, every generator seeded (slower).")
    strategy: str = option("auto", "auto (MirroredStrategy over all GPUs when >1, else default), default, "
                           "mirrored, multi_worker (reads TF_CONFIG).", choices=STRATEGIES)
    jit_compile: bool = option(False, "XLA-compile the forward/backward passes (measure with tools.benchmark "
                               "--what=train: slower than plain graphs on the CPUs measured so far).")
    mixed_precision: bool = option(False, "mixed_float16 with loss scaling (GPUs with tensor cores only; slower on "
                                   "CPU).")
    tick_kimg: float = option(1.0, "A console line and TensorBoard scalars every this many kimg (0 = none).",
                              rule=NON_NEGATIVE)
    checkpoint_every_kimg: float = option(10.0, "Save a checkpoint every this many kimg (and always at the end and "
                                          "on SIGINT/SIGTERM; 0 = only then).", rule=NON_NEGATIVE)
    keep_checkpoints: int = option(3, "Number of checkpoints kept.", rule=POSITIVE)
    image_every_kimg: float = option(10.0, "Image grid (EMA fakes per class next to reals) every this many kimg; "
                                     "0 = never.", rule=NON_NEGATIVE)
    images_per_class: int = option(8, "Images per class in the grid.", rule=POSITIVE)
    metrics_every_kimg: float = option(0.0, "Log the SWD (x1e3, per level and average) of the EMA generator against "
                                       "the real training folds to TensorBoard every this many kimg, at 16x16 and "
                                       "above (0 = off).", rule=NON_NEGATIVE)
    metrics_images: int = option(512, "Images (fake and real each) per SWD measurement during training.",
                                 rule=POSITIVE)
    export: bool = option(True, "Export the EMA generator as a SavedModel to LOGDIR/export/generator at the end.")
    exclude_ids: str | None = option(None, "Text file of example ids, one per line, that the GAN never sees (its "
                                     "export's metadata lists them).")
    allow_schedule_change: bool = option(False, "Resume a run whose schedule flags (kimg per phase/transition, "
                                         "total kimg, batch sizes) differ from its config.json, moving it to the "
                                         "phase the new schedule gives its kimg.")

    def check(self) -> None:
        if self.architecture == "dcgan" and self.resolution and self.resolution < DCGAN_MIN_RESOLUTION:
            fail("resolution", f"must be >= {DCGAN_MIN_RESOLUTION} with --architecture=dcgan, got {self.resolution}")
        if self.architecture == "pggan" and self.resolution and self.start_resolution > self.resolution:
            fail("start_resolution", f"must be <= --resolution, got {self.start_resolution} > {self.resolution}")
        if self.architecture == "pggan" and self.conditioning == "per_class" and self.mbstd_group_size > 1:
            fail("mbstd_group_size", f"must be 1 with --conditioning=per_class (a class's share of the batch varies, "
                 f"minibatch stddev needs whole groups), got {self.mbstd_group_size}")
        if self.conditioning != "acgan" and self.ac_weight != 1.0:
            fail("ac_weight", f"weighs the AC-GAN label terms, which --conditioning={self.conditioning} does not have: "
                 "drop it or use --conditioning=acgan")
        if self.conditioning == "none" and not self.balanced_fake_labels:
            fail("balanced_fake_labels", "has no effect with --conditioning=none (no network reads the labels): drop "
                 "--nobalanced_fake_labels")
        if self.conditioning == "per_class" and self.jit_compile:
            fail("jit_compile", "cannot compile --conditioning=per_class (its routing of examples to the class "
                 "networks has data-dependent shapes, which XLA rejects): set --nojit_compile")
        if self.architecture == "dcgan":
            self._check_batch_norm()
        if self.augment_p == "auto" and not self.augment:
            fail("augment_p", "auto needs --augment (the operations it adapts), e.g. "
                 "--augment=translation,cutout,brightness,contrast")
        if self.augment_p != "auto" and float(self.augment_p) != 1.0 and not self.augment:
            fail("augment_p", f"{self.augment_p} needs --augment (the operations it applies with that probability), "
                 "e.g. --augment=translation,cutout,brightness,contrast")

    def _check_batch_norm(self) -> None:
        """A DCGAN's batch norm refuses averaged weights (their batch statistics are not averaged) and per-example
        gradient penalties (batch norm mixes the examples): one line naming every flag to change."""
        unsound, changes = [], []
        if self.ema_beta > 0:
            unsound.append(f"--ema_beta={self.ema_beta:g} (averaged weights with un-averaged batch statistics)")
            changes.append("--ema_beta=0")
        penalized = self.loss == "wgan_gp" or self.r1_gamma > 0
        if penalized:
            unsound.append("--loss=wgan_gp (a per-example gradient penalty)" if self.loss == "wgan_gp" else
                           f"--r1_gamma={self.r1_gamma:g} (a per-example R1 penalty)")
            changes += (["--loss=ns_r1"] if self.loss == "wgan_gp" else []) + (
                ["--r1_gamma=0"] if self.r1_gamma > 0 else [])
        if unsound:
            raise OptionsError(f"--architecture=dcgan has batch norm, unsound with {' and '.join(unsound)}: set "
                               f"{' '.join(changes)} (as flags/dcgan_quickstart.cfg does)")


@dataclasses.dataclass(frozen=True)
class ExportOptions(Options):
    """Which checkpoint of a GAN run tools.export turns into a SavedModel."""

    logdir: str = option(help="Training run folder (holds config.json and checkpoints/).")
    checkpoint: str | None = option(None, "Checkpoint prefix to export (default: the latest).")


def parse_int_list(text: str) -> tuple[int, ...]:
    """'64,128' -> (64, 128); '' -> ()."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise OptionsError(f"expected integers like '64,128', got {text!r}") from None


def parse_booleans(text: str) -> tuple[bool, ...]:
    """'false,true' -> (False, True)."""
    words = {"false": False, "0": False, "no": False, "true": True, "1": True, "yes": True}
    parts = [part.strip().lower() for part in text.split(",")]
    if not all(part in words for part in parts):
        raise OptionsError(f"expected booleans like 'false,true', got {text!r}")
    return tuple(words[part] for part in parts)


def parse_fractions(text: str) -> tuple[float, ...]:
    """'1,0.1' -> (1.0, 0.1)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise OptionsError(f"expected numbers like '1,0.1', got {text!r}") from None


def format_list(values: Sequence[Any]) -> str:
    return ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in values)


DISTINCT_BOOLEANS = Rule("one or two distinct booleans", lambda v: 0 < len(v) == len(set(v)))


@dataclasses.dataclass(frozen=True)
class BenchmarkOptions(Options):
    """What tools.benchmark measures."""

    what: str = option("pipeline", "What to measure.", choices=("pipeline", "train", "metrics", "gan_quality"))
    batch_size: int = option(64, "Batch size of the pipeline benchmark.", rule=POSITIVE)
    seconds: float = option(5.0, "Measuring time per configuration, after warm-up.", rule=Rule(">= 0.5",
                                                                                                  lambda v: v >= 0.5))
    train_flagfiles: tuple[str, ...] = option(("flags/quickstart.cfg", "flags/elpv64.cfg"),
                                              "Training flagfiles measured by --what=train.")
    resolutions: tuple[int, ...] = option(
        (), "--what=train times the stable phases at these resolutions, e.g. '64,128' (a flagfile's target "
        "resolution is raised to the largest); empty: every stable phase of each flagfile.",
        rule=Rule(f"distinct powers of two in {MIN_RESOLUTION}..{MAX_RESOLUTION}",
                  lambda v: len(set(v)) == len(v) and all(valid_resolution(r) for r in v)),
        parse=parse_int_list, format=format_list)
    mixed_precision: tuple[bool, ...] = option((False,), "--what=train measures each of these --mixed_precision "
                                               "settings, e.g. 'false,true'.", rule=DISTINCT_BOOLEANS,
                                               parse=parse_booleans, format=format_list)
    jit_compile: tuple[bool, ...] = option((False, True), "--what=train measures each of these --jit_compile "
                                           "settings, e.g. 'false,true'.", rule=DISTINCT_BOOLEANS,
                                           parse=parse_booleans, format=format_list)
    gan_flagfile: str = option("flags/quickstart.cfg", "--what=gan_quality trains this flagfile's GAN per setting.")
    gan_baseline: str | None = option("flags/quickstart_wgan15.cfg", "--what=gan_quality also trains this flagfile "
                                      "as it is, on all the training images (the row to beat); empty: none.")
    gan_losses: tuple[str, ...] = option(GAN_LOSSES, "--what=gan_quality: the --loss values compared.",
                                         choices=GAN_LOSSES)
    gan_augments: tuple[str, ...] = option(GAN_AUGMENT_SETTINGS, "--what=gan_quality: none, diffaugment "
                                           "(translation,cutout,brightness,contrast at p = 1) or adaptive (the same "
                                           "ops, --augment_p=auto).", choices=GAN_AUGMENT_SETTINGS)
    gan_subsets: tuple[float, ...] = option((1.0, 0.1), "--what=gan_quality: fractions of the training images the "
                                            "GAN sees (the rest is excluded, stratified by class).",
                                            rule=Rule("fractions in (0, 1]", lambda v: bool(v) and all(
                                                0 < f <= 1 for f in v)), parse=parse_fractions, format=format_list)
    gan_kimg_per_phase: float = option(0.0, "--what=gan_quality: kimg per phase and per transition (0 = the "
                                       "flagfile's).", rule=NON_NEGATIVE)
    gan_images: int = option(256, "--what=gan_quality: images per class on each side of SWD (floor: two disjoint real "
                             "samples of this size) and KID.", rule=POSITIVE)
    gan_seeds: tuple[int, ...] = option((0,), "--what=gan_quality trains every setting once per seed (--seed of the "
                                        "run: weights, latents, data order), e.g. '0,1,2'; several seeds add a "
                                        "mean ± sd row per setting.",
                                        rule=Rule("one or more distinct integers >= 0",
                                                  lambda v: bool(v) and DISTINCT_NON_NEGATIVE.holds(v)),
                                        parse=parse_int_list, format=format_list)


# --- classifier evaluation ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClassifierTraining(Options):
    """How each classifier is built and trained (defaults: Frid-Adar et al. 2018)."""

    classifier: str = option("cnn", "Classifier architecture (vgg16 and resnet50 need images of at least 32x32).",
                             flag="classifier", choices=CLASSIFIERS)
    weights: str | None = option(None, "Optional initial weights (*.weights.h5 of the same architecture).",
                                 flag="classifier_weights")
    epochs: int = option(50, "Maximum training epochs per run; an epoch is ceil(N / batch) steps, N the largest "
                         "training set among the evaluation's regimes for that fold, so every regime trains the same "
                         "number of steps (the best-validation-loss epoch is kept).", flag="classifier_epochs",
                         rule=POSITIVE)
    steps: int = option(0, "Step budget per run, replacing max(--classifier_epochs x steps per epoch, "
                        "--classifier_min_steps) (0 = that).", flag="classifier_steps", rule=NON_NEGATIVE)
    patience: int = option(10, "Stop early once the validation loss has not improved for this many epochs.",
                           flag="classifier_patience", rule=POSITIVE)
    min_steps: int = option(500, "Train at least this many optimizer steps (a small set's epochs are few steps) and "
                            "never stop early before them.", flag="classifier_min_steps", rule=NON_NEGATIVE)
    class_weighting: str = option("none", "balanced: weight the loss of each class by n / (classes x n_class) of "
                                  "the run's training set (sklearn's compute_class_weight).", choices=CLASS_WEIGHTINGS)
    batch_size: int = option(64, "Classifier minibatch size.", flag="classifier_batch_size", rule=POSITIVE)
    learning_rate: float = option(1e-3, "Classifier learning rate.", flag="classifier_learning_rate", rule=POSITIVE)
    optimizer: str = option("sgd", "Classifier optimizer.", flag="classifier_optimizer", choices=OPTIMIZERS)
    seed: int = option(0, "Seed of the validation split, weights and batch order; test fold k, repeat r uses "
                       "seed + k + 1000 r in every regime (paired comparison).", flag="classifier_seed",
                       rule=NON_NEGATIVE)
    validation_fraction: float = option(0.1, "Fraction of the real training folds held out (stratified by class, "
                                        "grouped by patient) to choose the best epoch; one split per test fold.",
                                        rule=OPEN_FRACTION)
    deterministic: bool = option(False, "Reproducible to the bit on the same machine type: TensorFlow op "
                                 "determinism, fixed thread pools, every generator seeded (slower).")


@dataclasses.dataclass(frozen=True)
class ClassicAugmentation(Options):
    """Which classic augmentations to apply, and how strongly (Frid-Adar et al. 2018).

    rotation_degrees: d rotates by a uniform angle in [0, d] degrees (counter-clockwise); a pair (low, high) in
    [low, high]; 0 disables it. translate: each axis shifts by up to min(translate_pixels, translate_fraction x
    size) pixels. zoom: rescale by a factor in [1 - zoom, 1 + zoom]. fill_mode: how pixels moved in from outside
    are filled ("constant" fills with 0, mid-grey in [-1, 1]).
    """

    rotation_degrees: float | tuple[float, float] = option(
        180.0, "Classic augmentation: rotate by a random angle in [0, this] degrees; 0 = off.",
        flag="classic_rotation_degrees")
    horizontal_flip: bool = option(True, "Classic augmentation: random left-right flips.",
                                   flag="classic_horizontal_flip")
    vertical_flip: bool = option(True, "Classic augmentation: random up-down flips.", flag="classic_vertical_flip")
    translate_pixels: float = option(4.0, "Classic augmentation: shift by up to min(this, "
                                     "classic_translate_fraction x size) pixels per axis; 0 = off.",
                                     flag="classic_translate_pixels", rule=NON_NEGATIVE)
    translate_fraction: float = option(0.1, "Classic augmentation: translation limit as a fraction of the image "
                                       "size, in [0, 1); 0 = off.", flag="classic_translate_fraction",
                                       rule=HALF_OPEN_FRACTION)
    zoom: float = option(0.1, "Classic augmentation: rescale by a factor in [1 - zoom, 1 + zoom], zoom in [0, 1); "
                         "0 = off.", flag="classic_zoom", rule=HALF_OPEN_FRACTION)
    fill_mode: str = option("reflect", "Classic augmentation: how pixels moved in from outside are filled.",
                            flag="classic_fill_mode", choices=FILL_MODES)

    def check(self) -> None:
        low, high = self.rotation_range
        if not -360.0 <= low <= high <= 360.0:
            fail("classic_rotation_degrees", "must be a number in [0, 360] or a pair low <= high in [-360, 360], "
                 f"got {self.rotation_degrees!r}")

    @property
    def rotation_range(self) -> tuple[float, float]:
        """The (low, high) rotation angle in degrees."""
        if isinstance(self.rotation_degrees, (tuple, list)):
            low, high = self.rotation_degrees
            return float(low), float(high)
        return 0.0, float(self.rotation_degrees)

    @property
    def rotates(self) -> bool:
        return self.rotation_range != (0.0, 0.0)

    @property
    def translates(self) -> bool:
        return self.translate_pixels > 0 and self.translate_fraction > 0

    @property
    def enabled(self) -> bool:
        """Whether any augmentation is switched on."""
        return self.rotates or self.horizontal_flip or self.vertical_flip or self.translates or self.zoom > 0

    def translate_factor(self, size: int) -> float:
        """The largest shift along an axis of `size` pixels, as a fraction of that size."""
        return min(self.translate_pixels, self.translate_fraction * size) / size


SET_REGIMES = tuple(regime for regime in REGIMES if {"synthetic", "oversample"} & set(regime.split("+")))
REGIMES_TEXT = (f"one of {', '.join(REGIMES)} ({', '.join(SET_REGIMES)} may name a set of --synthetic_sets in "
                "brackets, e.g. synthetic[big])")


def split_regime(regime: str) -> tuple[str, str | None]:
    """'oversample[big]' -> ('oversample', 'big'); 'classic' -> ('classic', None)."""
    base, bracket, rest = regime.partition("[")
    if not bracket:
        return regime, None
    if not rest.endswith("]"):
        raise OptionsError(f"--regimes must be {REGIMES_TEXT}, got {regime!r}")
    return base, rest[:-1]


def _parts(regime: str) -> list[str]:
    return split_regime(regime)[0].split("+")


def uses_synthetic(regime: str) -> bool:
    """Whether the regime adds the images of a synthetic set to the real training images."""
    return "synthetic" in _parts(regime)


def uses_oversample(regime: str) -> bool:
    """Whether the regime resamples the real training images to per-class target counts."""
    return "oversample" in _parts(regime)


def uses_classic(regime: str) -> bool:
    return "classic" in _parts(regime)


@dataclasses.dataclass(frozen=True)
class EvaluationOptions(Options):
    """One evaluation: which dataset, folds and regimes, and where the report goes."""

    dataset: str = option(help="Real dataset folder made by tools.build_dataset.")
    output: str = option(help="Report folder: report.json, report.md, figures, runs/ (finished runs, for resuming) "
                         "and tensorboard/.")
    regimes: tuple[str, ...] = option(
        ("none", "classic"), f"Comma-separated training regimes, each {REGIMES_TEXT}. oversample: the real training "
        "images resampled per class to the counts the synthetic regime reaches (real + synthetic), or to the "
        "largest class's count without a synthetic set.")
    synthetic: str | None = option(None, "Synthetic dataset folder made by tools.synthesize, for the synthetic "
                                   "regimes; '{fold}' in it is replaced by the test fold (one generator per fold).")
    synthetic_sets: dict = option(help="Named synthetic sets NAME:PATTERN,NAME:PATTERN ('{fold}' as in "
                                  "--synthetic) for regimes such as synthetic[NAME] and oversample[NAME].",
                                  factory=dict, parse=parse_named_paths, format=format_named_paths)
    folds: tuple[int, ...] | None = option(None, "Test folds to evaluate: 'all' or indices like '0,2'.",
                                           parse=parse_folds, format=format_folds)
    seeds: int = option(1, "Classifier runs per (regime, test fold), repeat r from seed --classifier_seed + fold + "
                        "1000 r, the same in every regime (paired).", rule=POSITIVE)
    training: ClassifierTraining = option(factory=ClassifierTraining)
    augmentation: ClassicAugmentation = option(factory=ClassicAugmentation)
    overwrite: bool = option(False, "Replace an existing report folder made with other settings.")
    partition: int = option(0, "Which fold assignment of the data the dataset is (recorded in every result).",
                            exposed=False)

    def check(self) -> None:
        if len(set(self.regimes)) != len(self.regimes) or not self.regimes:
            fail("regimes", f"must list distinct regimes, got {','.join(self.regimes)!r}")
        for regime in self.regimes:
            base, name = split_regime(regime)
            if base not in REGIMES:
                fail("regimes", f"must be {REGIMES_TEXT}, got {regime!r}")
            if name is not None and base not in SET_REGIMES:
                fail("regimes", f"names a synthetic set in {regime!r}, but {base} uses none")
            if name is not None and name not in self.synthetic_sets:
                known = ", ".join(self.synthetic_sets) or "none given"
                fail("synthetic_sets", f"has no set {name!r} (regime {regime}); known sets: {known}")
            if name is None and uses_synthetic(regime) and not self.synthetic:
                fail("synthetic", f"is needed by regime {regime} (a dataset folder, or a pattern with {{fold}})")
        if any(uses_classic(regime) for regime in self.regimes) and not self.augmentation.enabled:
            fail("regimes", "has classic regimes but every classic augmentation is switched off")

    def synthetic_pattern(self, regime: str) -> str | None:
        """The synthetic set (pattern with '{fold}') whose images or class counts ``regime`` uses, if any."""
        base, name = split_regime(regime)
        if name is not None:
            return self.synthetic_sets[name]
        return self.synthetic if base in SET_REGIMES else None


@dataclasses.dataclass(frozen=True)
class SplitValidationOptions(Options):
    """Which validation split tools.split_validation writes: the one the evaluation uses for that test fold."""

    dataset: str = option(help="Real dataset folder made by tools.build_dataset.")
    output: str = option(help="Text file to write: the validation ids, one per line (for tools.train "
                         "--exclude_ids).")
    test_fold: int = option(0, "Test fold whose classifier-validation split to write.", rule=NON_NEGATIVE)
    validation_fraction: float = option(0.1, "Fraction of the real training folds held out for validation (the "
                                        "evaluation's --validation_fraction).", rule=OPEN_FRACTION)
    seed: int = option(0, "The evaluation's --classifier_seed (the split is seeded by it and the test fold).",
                       flag="classifier_seed", rule=NON_NEGATIVE)


# --- quality audit -----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QualityOptions(Options):
    """Which quality metrics to compute and how."""

    metrics: tuple[str, ...] = option(QUALITY_METRICS, "Metrics to compute.", choices=QUALITY_METRICS)
    classifier: str = option("cnn", "Classifier whose penultimate layer is the domain feature space of FID/KID "
                             "(trained on the real training folds, cached in DATASET/.cache/).",
                             flag="quality_classifier", choices=FEATURE_CLASSIFIERS)
    classifier_epochs: int = option(50, "Maximum training epochs of that classifier (it stops early when the loss "
                                    "on a validation split of the training folds stops improving, and keeps its "
                                    "best epoch).", flag="quality_classifier_epochs", rule=POSITIVE)
    classifier_patience: int = option(5, "Epochs without a better validation loss before that classifier stops.",
                                      flag="quality_classifier_patience", rule=POSITIVE)
    classifier_batch_size: int = option(32, rule=POSITIVE, exposed=False)
    inception_weights: str | None = option(None, "Optional InceptionV3 no-top weights file: FID/KID are then also "
                                           "computed in Inception space (nothing is ever downloaded).")
    swd_repeats: int = option(4, "Random halvings of the real images the SWD and its floor are averaged over (the "
                              "ratio's standard error shrinks with more).", rule=at_least(2))
    msssim_pairs: int = option(1000, "Random image pairs per class for MS-SSIM diversity.", rule=POSITIVE)
    kid_subsets: int = option(100, "Random subsets averaged by KID.", rule=POSITIVE)
    kid_subset_size: int = option(1000, "Images per KID subset (clipped to the smaller set).", rule=at_least(2))
    min_images_per_class: int = option(10, rule=at_least(2), exposed=False)
    memorization_percentile: float = option(1.0, "Flag synthetic images closer to a training image than all but "
                                            "this percentage of held-out real images.", rule=PERCENT)
    memorization_max_size: int | None = option(64, rule=POSITIVE, exposed=False)
    closest_pairs: int = option(8, rule=POSITIVE, exposed=False)
    seed: int = option(0, "Seed of every random choice of the audit (and of --generator latents).",
                       flag="quality_seed", rule=NON_NEGATIVE)


@dataclasses.dataclass(frozen=True)
class AuditOptions(Options):
    """What tools.measure_quality audits: a synthetic set or a generator, against a real dataset's folds."""

    real: str = option(help="Real dataset folder (made by tools.build_dataset).")
    output: str = option(help="Report folder to write (quality.json, quality.md, closest_pairs.png).")
    folds: tuple[int, ...] | None = option(None, "Real folds that were the GAN's training set, e.g. '0,1' (the "
                                           "others are held out). Default: the generator's trained_on_folds "
                                           "(--generator, or a --synthetic set made by tools.synthesize).",
                                           parse=parse_folds, format=format_folds)
    synthetic: str | None = option(None, "Synthetic dataset folder (same format, e.g. from tools.synthesize).")
    generator: str | None = option(None, "Exported generator (SavedModel folder from tools.train or tools.export).")
    num: int | None = option(None, "With --generator: images generated per class.", rule=POSITIVE)
    overwrite: bool = option(False, "Replace an existing report folder.")
    quality: QualityOptions = option(factory=QualityOptions)

    def check(self) -> None:
        if bool(self.synthetic) == bool(self.generator):
            fail("synthetic", "or --generator: give exactly one")
        if self.generator and self.num is None:
            fail("num", "is needed with --generator (images per class)")


# --- synthesis ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SynthesisOptions(Options):
    """What to synthesize with an exported generator, and where to write it."""

    generator: str = option(help="Exported generator folder (saved_model.pb + tfpgan.json), e.g. "
                            "runs/NAME/export/generator.")
    output: str = option(help="Dataset folder to create.")
    per_class: int | None = option(None, "Synthesize N images of every class.", rule=POSITIVE)
    balance_to: int | None = option(None, "Top every class up to N images, real + synthetic; real = the images the "
                                    "generator trained on (its training folds without its excluded ids). A class "
                                    "already at N or more gets none.", rule=POSITIVE)
    counts: dict | None = option(None, "Images per class as class:n,class:n,... (class names of the generator; "
                                 "classes left out get none).", parse=parse_counts,
                                 format=lambda c: ",".join(f"{k}:{v}" for k, v in c.items()))
    seed: int = option(0, "Seed of the latents: the same seed gives the same images.", rule=NON_NEGATIVE)
    batch_size: int = option(64, "Images generated per generator call.", rule=POSITIVE)
    png: bool = option(False, "Also write one PNG per image under OUTPUT/png/CLASS/.")
    overwrite: bool = option(False, "Replace an existing output folder (only once the new one is complete).")

    def check(self) -> None:
        if sum(getattr(self, mode) is not None for mode in SYNTHESIS_MODES) != 1:
            fail("per_class", "or --balance_to or --counts: give exactly one")

    @property
    def mode(self) -> str:
        return next(mode for mode in SYNTHESIS_MODES if getattr(self, mode) is not None)

    @property
    def target(self) -> int | dict[str, int]:
        return getattr(self, self.mode)


# --- the whole experiment ----------------------------------------------------------------------------------------


# Settings every generator of an experiment's --generators takes from the experiment's own training flags.
GENERATOR_SHARED_KEYS = ("seed", "deterministic", "strategy")
# Training settings the experiment fills in for each fold's GAN run.
GAN_RUN_KEYS = ("dataset", "logdir", "test_fold", "export", "exclude_ids")
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes"), ("false", "0", "no")


def _override_value(field: dataclasses.Field, text: str) -> Any:
    """A training flag's text as the TrainOptions field's value (absl's conversions)."""
    parse, kind = field.metadata.get("parse"), str(field.type)
    if parse is not None:
        return parse(text)
    if kind.startswith("bool"):
        if text.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError
        return text.lower() in TRUE_WORDS
    if kind.startswith("tuple"):
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return int(text) if kind.startswith("int") else float(text) if kind.startswith("float") else text


def parse_gan_overrides(text: str) -> dict[str, Any]:
    """'--kimg_per_phase=1 --nojit_compile' -> {'kimg_per_phase': 1.0, 'jit_compile': False}: training flags as
    tools.train takes them (--NAME=VALUE; --NAME and --noNAME for booleans), each value checked by its rule."""
    fields = {flag_name(f): f for f in dataclasses.fields(TrainOptions) if f.metadata.get("exposed", True)}
    booleans = {name for name, f in fields.items() if str(f.type).startswith("bool")}
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise OptionsError(f"cannot split {text!r} into flags: {error}") from None
    settings: dict[str, Any] = {}
    for token in tokens:
        name, equals, value = token.removeprefix("--").partition("=")
        if not equals and name.startswith("no") and name[2:] in booleans:
            name, equals, value = name[2:], "=", "false"
        field = fields.get(name) if token.startswith("--") else None
        if field is None:
            raise OptionsError(f"{token!r} is not a training flag of tools.train (see its --helpfull)")
        if name in GAN_RUN_KEYS + GENERATOR_SHARED_KEYS:
            raise OptionsError(f"--{name} cannot be overridden: the experiment sets it for every GAN run"
                               f"{f' (pass --{name} to the experiment)' if name in GENERATOR_SHARED_KEYS else ''}")
        if not equals and name not in booleans:
            raise OptionsError(f"--{name} needs a value (--{name}=VALUE)")
        try:
            settings[field.name] = _override_value(field, value if equals else "true")
        except ValueError:
            raise OptionsError(f"--{name} cannot be {value!r}") from None
        _check_field(field, settings[field.name])
    return settings


def format_gan_overrides(settings: Mapping[str, Any]) -> str:
    """The inverse of `parse_gan_overrides`."""
    fields = {f.name: f for f in dataclasses.fields(TrainOptions)}
    texts = []
    for name, value in settings.items():
        format_value = fields[name].metadata.get("format")
        text = format_value(value) if format_value else format_list(value if isinstance(value, tuple) else [value])
        texts.append(f"--{flag_name(fields[name])}={shlex.quote(text)}")
    return " ".join(texts)


def _train_template() -> TrainOptions:
    return TrainOptions(dataset="", logdir="")


def _evaluation_template() -> EvaluationOptions:
    return EvaluationOptions(dataset="", output="", regimes=REGIMES, synthetic="{fold}")


@dataclasses.dataclass(frozen=True)
class ExperimentOptions(Options):
    """Dataset -> per fold GAN, export, synthesis, audit -> evaluation of every regime -> one report.

    `train` and `evaluation` are templates: the experiment fills in their dataset, run folders and test fold.
    """

    output: str = option(help="Experiment folder (created; re-run the same command to resume).")
    dataset: str | None = option(None, "Existing dataset folder to use; default OUTPUT/dataset, built from "
                                 "--source when missing.")
    source: str = option("elpv", "Source of the dataset when it must be built (see tools.build_dataset).")
    dataset_resolution: int = option(64, "Stored resolution of a dataset built by the experiment.", rule=RESOLUTION)
    dataset_folds: int = option(3, "Cross-validation folds of a dataset built by the experiment.", rule=at_least(2))
    synthesis_mode: str = option("balance_to", "balance_to: top every class up to --synthesis_count real + "
                                 "synthetic; per_class: --synthesis_count synthetic images per class.",
                                 choices=EXPERIMENT_SYNTHESIS_MODES)
    synthesis_count: int = option(1000, "N of --synthesis_mode.", rule=POSITIVE)
    synthesis_counts: tuple[int, ...] = option(
        (), "The synthetic-count curve, e.g. '0,250,500,1000,2000': after the report, evaluate per level N a set of N "
        "synthetic images per class from each fold's GAN (regime synthetic[nN]) beside the real images oversampled "
        "to the same counts (oversample[nN]); level 0 is the regime none. Writes OUTPUT/sweep/sweep.png and a table.",
        rule=DISTINCT_NON_NEGATIVE, parse=parse_int_list, format=format_list)
    quality: bool = option(True, "Audit each fold's synthetic images (as tools.measure_quality does) into the "
                           "report.")
    quality_max_images: int = option(0, "Audit a seeded random sample of at most this many synthetic images per "
                                     "fold (0 = all); the memorization search costs synthetic x training SSIMs.",
                                     rule=NON_NEGATIVE)
    generators: dict = option(
        help="Compare generators: NAME:FLAGFILE,... training flagfiles (e.g. 'pggan:flags/quickstart.cfg,"
             "dcgan:flags/dcgan_quickstart.cfg'); each is trained per fold on the same images (OUTPUT/gan/NAME/foldK), "
             "synthesized, audited and evaluated as synthetic[NAME] beside the other regimes, with the experiment's "
             f"{', '.join('--' + key for key in GENERATOR_SHARED_KEYS)}. Empty: one generator from the training flags.",
        factory=dict, parse=parse_named_paths, format=format_named_paths)
    generator_options: dict = option(help="Name -> TrainOptions of --generators (read from their flagfiles).",
                                     factory=dict, exposed=False)
    gan_overrides: dict = option(
        help="Training flags applied on top of every GAN's settings (each --generators flagfile, or the training "
             "flags), as tools.train takes them, e.g. '--resolution=32 --kimg_per_phase=2 --kimg_per_transition=2 "
             "--fmap_max=32 --nojit_compile': try a long configuration at a small scale before committing a GPU "
             "day. Not the settings the experiment sets itself (--seed, --deterministic, --strategy, --dataset, ...).",
        factory=dict, parse=parse_gan_overrides, format=format_gan_overrides)
    train: TrainOptions = option(factory=_train_template, skip=GAN_RUN_KEYS)
    evaluation: EvaluationOptions = option(factory=_evaluation_template,
                                           skip=("dataset", "output", "synthetic", "synthetic_sets", "overwrite"))
    audit: QualityOptions = option(factory=QualityOptions)
    partitions: int = option(
        1, "Re-partitioned cross-validation: P fold assignments of the same images (partition 0: the dataset; "
        "partition P > 0: OUTPUT/partitionP/dataset, its folds assigned anew, stratified and patient-grouped, with "
        "build seed + 1000 P), each with its own validation splits, GANs, synthetic sets and classifier runs; the "
        "report tests the P x K fold results (Bouckaert & Frank's repeated k-fold design). Classifier seeds "
        "(--seeds) on one partition are averaged within each fold: they do not add degrees of freedom.",
        rule=POSITIVE)
    partition: int = option(0, "Which partition these options run (set by the experiment).", exposed=False)
    report_only: bool = option(False, "Train nothing: merge the report (OUTPUT/evaluation/report.*, OUTPUT/report.md) "
                               "of every finished fold, e.g. of folds run on several hosts with --folds=K, and name "
                               "the folds still missing.")

    def check(self) -> None:
        if os.path.isfile(self.output):
            fail("output", f"must be a folder path, not a file, got {self.output!r}")
        if self.report_only and self.evaluation.folds is not None:
            fail("report_only", f"merges every finished fold: drop --folds={format_folds(self.evaluation.folds)}")
        try:
            self.gan_runs()
        except OptionsError as error:
            fail("gan_overrides", f"{format_gan_overrides(self.gan_overrides)!r} do not fit the training settings "
                 f"they override: {error}")

    def gan_runs(self) -> dict[str, TrainOptions]:
        """Name -> training options of each generator trained per fold, --gan_overrides applied: the --generators,
        else one unnamed ('') generator of the training flags."""
        return {name: train.replace(**self.gan_overrides)
                for name, train in (dict(self.generator_options) or {"": self.train}).items()}

    @property
    def dataset_dir(self) -> str:
        return self.dataset or os.path.join(self.output, "dataset")

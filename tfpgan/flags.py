"""absl flags made from the options dataclasses, and parsed flags made back into options.

The only module that touches absl flags. Every binary calls one `define_*_flags()` when it runs (not at import)
and one `*_options_from_flags()` in its main; a wrong value becomes one `OptionsError` line before any work.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Collection, Mapping
from typing import Any

from absl import flags

from tfpgan.options import (
    GENERATOR_SHARED_KEYS,
    AuditOptions,
    BenchmarkOptions,
    BuildJob,
    EvaluationOptions,
    ExperimentOptions,
    ExportOptions,
    Options,
    OptionsError,
    SplitValidationOptions,
    SynthesisOptions,
    TrainOptions,
    flag_name,
)

FLAGS = flags.FLAGS
# Per binary, the flags a user changes first (listed by --helpshort).
KEY_FLAGS = {
    "train": ("dataset", "logdir", "test_fold", "resolution", "architecture", "conditioning", "loss", "augment",
              "augment_p", "kimg_per_phase", "kimg_per_transition", "batch_per_resolution", "exclude_ids", "strategy",
              "deterministic", "dry_run"),
    "evaluation": ("dataset", "output", "regimes", "synthetic", "synthetic_sets", "folds", "seeds", "classifier",
                   "classifier_epochs", "classifier_steps", "classic_rotation_degrees", "deterministic"),
    "split_validation": ("dataset", "test_fold", "validation_fraction", "classifier_seed", "output"),
    "quality": ("real", "output", "synthetic", "generator", "num", "folds", "metrics"),
    "synthesis": ("generator", "output", "per_class", "balance_to", "counts", "seed", "png"),
    "build": ("source", "output", "resolution", "channels", "folds"),
    "export": ("logdir", "checkpoint"),
    "benchmark": ("what", "seconds"),
    "experiment": ("output", "dataset", "source", "dataset_resolution", "folds", "regimes", "seeds", "synthesis_count",
                   "synthesis_counts", "generators", "gan_overrides", "kimg_per_phase", "classifier_epochs",
                   "deterministic", "report_only", "dry_run"),
}


def _default(field: dataclasses.Field, template: Options | None) -> Any:
    if template is not None:
        return getattr(template, field.name)
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _exposed(options_class: type[Options], skip: Collection[str]):
    """(field, flag name) of every field backed by a flag."""
    for field in dataclasses.fields(options_class):
        name = flag_name(field)
        if field.metadata.get("exposed", True) and name not in skip:
            yield field, name


def define_options_flags(options_class: type[Options], template: Options | None = None,
                         skip: Collection[str] = (), flag_values: flags.FlagValues = FLAGS) -> None:
    """One flag per exposed field of `options_class` (recursing into nested options), defaults from `template`.

    A flag already defined (a setting shared by nested options, such as --deterministic) is defined once.
    """
    for field, name in _exposed(options_class, skip):
        default = _default(field, template)
        if isinstance(default, Options):
            define_options_flags(type(default), default, field.metadata.get("skip", ()), flag_values)
            continue
        if name in flag_values:
            continue
        help_text = field.metadata.get("help") or name
        choices, parse, kind = field.metadata.get("choices"), field.metadata.get("parse"), str(field.type)
        if parse is not None:
            text = None if default is None else field.metadata["format"](default)
            flags.DEFINE_string(name, text, help_text, flag_values=flag_values)
        elif kind.startswith("tuple"):
            flags.DEFINE_list(name, list(default), f"{help_text} Any of: {', '.join(choices)}." if choices
                              else help_text, flag_values=flag_values)
        elif choices:
            flags.DEFINE_enum(name, default, list(choices), help_text, flag_values=flag_values)
        elif kind.startswith("bool"):
            flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
        elif kind.startswith("int"):
            flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
        elif kind.startswith("float"):
            flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
        else:
            flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def options_from_flags(options_class: type[Options], values: flags.FlagValues = FLAGS,
                       template: Options | None = None, skip: Collection[str] = (),
                       overrides: Mapping[str, Any] | None = None) -> Any:
    """An `options_class` from parsed flags; `overrides` (field name -> value) win, skipped fields keep the
    template's (or the dataclass's) default. Raises OptionsError naming the flag."""
    overrides = dict(overrides or {})
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(options_class):
        name, default = flag_name(field), _default(field, template)
        if field.name in overrides:
            fields[field.name] = overrides[field.name]
        elif isinstance(default, Options):
            fields[field.name] = options_from_flags(type(default), values, default, field.metadata.get("skip", ()))
        elif field.metadata.get("exposed", True) and name not in skip:
            fields[field.name] = _flag_value(field, name, values[name].value)
        elif template is not None:
            fields[field.name] = default
    return options_class(**fields)


def _flag_value(field: dataclasses.Field, name: str, value: Any) -> Any:
    required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    if required and not value:
        raise OptionsError(f"--{name} is required")
    if value is None:
        return None
    parse = field.metadata.get("parse")
    if parse is not None:
        try:
            return parse(value)
        except OptionsError as error:  # name the flag once
            raise OptionsError(str(error) if str(error).startswith(f"--{name}") else f"--{name}: {error}") from None
    return tuple(value) if isinstance(value, list) else value


def declare_key_flags(names: Collection[str], flag_values: flags.FlagValues = FLAGS) -> None:
    """List `names` under the running binary in --helpshort (the flags a user changes first)."""
    for name in names:
        flag_values.register_key_flag_for_module(sys.argv[0], flag_values[name])


def define_dry_run_flag() -> None:
    flags.DEFINE_bool("dry_run", False, "Print the resolved options and the schedule, then exit without training.")


def define_train_flags() -> None:
    define_options_flags(TrainOptions)
    define_dry_run_flag()
    declare_key_flags(KEY_FLAGS["train"])


def train_options_from_flags(values: flags.FlagValues = FLAGS) -> TrainOptions:
    return options_from_flags(TrainOptions, values)


def define_evaluation_flags() -> None:
    define_options_flags(EvaluationOptions)
    declare_key_flags(KEY_FLAGS["evaluation"])


def evaluation_options_from_flags(values: flags.FlagValues = FLAGS) -> EvaluationOptions:
    return options_from_flags(EvaluationOptions, values)


def define_split_validation_flags() -> None:
    define_options_flags(SplitValidationOptions)
    declare_key_flags(KEY_FLAGS["split_validation"])


def split_validation_options_from_flags(values: flags.FlagValues = FLAGS) -> SplitValidationOptions:
    return options_from_flags(SplitValidationOptions, values)


def define_quality_flags() -> None:
    define_options_flags(AuditOptions)
    declare_key_flags(KEY_FLAGS["quality"])


def quality_options_from_flags(values: flags.FlagValues = FLAGS) -> AuditOptions:
    return options_from_flags(AuditOptions, values)


def define_synthesis_flags() -> None:
    define_options_flags(SynthesisOptions)
    declare_key_flags(KEY_FLAGS["synthesis"])


def synthesis_options_from_flags(values: flags.FlagValues = FLAGS) -> SynthesisOptions:
    return options_from_flags(SynthesisOptions, values)


def define_build_flags() -> None:
    define_options_flags(BuildJob)
    declare_key_flags(KEY_FLAGS["build"])


def build_job_from_flags(values: flags.FlagValues = FLAGS) -> BuildJob:
    return options_from_flags(BuildJob, values)


def define_export_flags() -> None:
    define_options_flags(ExportOptions)
    declare_key_flags(KEY_FLAGS["export"])


def export_options_from_flags(values: flags.FlagValues = FLAGS) -> ExportOptions:
    return options_from_flags(ExportOptions, values)


def define_benchmark_flags() -> None:
    define_options_flags(BenchmarkOptions)
    declare_key_flags(KEY_FLAGS["benchmark"])


def benchmark_options_from_flags(values: flags.FlagValues = FLAGS) -> BenchmarkOptions:
    return options_from_flags(BenchmarkOptions, values)


def train_options_from_flagfile(flagfile: str, **overrides) -> TrainOptions:
    """The TrainOptions a training flagfile describes (other training flags at their defaults), `overrides` winning."""
    values = flags.FlagValues()
    define_options_flags(TrainOptions, flag_values=values)
    values(["flagfile-reader", f"--flagfile={flagfile}"])
    return options_from_flags(TrainOptions, values, overrides=overrides)


def define_experiment_flags() -> None:
    define_options_flags(ExperimentOptions)
    define_dry_run_flag()
    declare_key_flags(KEY_FLAGS["experiment"])


def experiment_options_from_flags(values: flags.FlagValues = FLAGS) -> ExperimentOptions:
    """The experiment's options, with the training options of each of its --generators read from their flagfile."""
    options = options_from_flags(ExperimentOptions, values)
    shared = {key: getattr(options.train, key) for key in GENERATOR_SHARED_KEYS}
    generators = {}
    for name, flagfile in options.generators.items():
        if not os.path.isfile(flagfile):
            raise OptionsError(f"--generators: generator {name}'s flagfile {flagfile} does not exist")
        try:
            generators[name] = train_options_from_flagfile(flagfile, dataset="", logdir="", **shared)
        except (flags.Error, OptionsError) as error:
            raise OptionsError(f"--generators: generator {name}'s flagfile {flagfile}: {error}") from None
    return options.replace(generator_options=generators)

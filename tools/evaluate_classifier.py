"""Evaluate a classifier with k-fold cross-validation under augmentation regimes; write a report.

  python -m tools.evaluate_classifier --dataset=data/elpv64 --regimes=none,classic --output=reports/elpv64
  python -m tools.evaluate_classifier --dataset=data/lesions64 --regimes=classic,classic+synthetic \
      --synthetic=runs/lesions/fold{fold}/synthetic --output=reports/lesions64

For every test fold and regime a classifier trains on the other folds (plus the synthetic images of
that fold's generator) and is tested on the held-out fold. Finished runs are kept in
OUTPUT/runs/REGIME/foldK: run the same command again to resume. TensorBoard: OUTPUT/tensorboard.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from absl import flags

from tfpgan import cli
from tfpgan.data.augment import FILL_MODES, ClassicAugmentation
from tfpgan.evaluation import (OPTIMIZERS, REGIMES, ClassifierTraining, EvaluationOptions, parse_folds,
                               parse_regimes, run_evaluation, uses_classic, uses_synthetic)
from tfpgan.models.classifiers import CLASSIFIERS
from tfpgan.report import REPORT_MARKDOWN, format_table

AUGMENTATION_FLAGS = {  # flag -> ClassicAugmentation field
    "classic_rotation_degrees": "rotation_degrees",
    "classic_horizontal_flip": "horizontal_flip",
    "classic_vertical_flip": "vertical_flip",
    "classic_translate_pixels": "translate_pixels",
    "classic_translate_fraction": "translate_fraction",
    "classic_zoom": "zoom",
    "classic_fill_mode": "fill_mode",
}


def _parses(parser):
    """A validator that accepts what ``parser`` accepts without a ValueError."""

    def valid(value) -> bool:
        try:
            parser(value)
        except ValueError:
            return False
        return True

    return valid


def _augmentation(values: dict) -> ClassicAugmentation:
    return ClassicAugmentation(**{field: values[name] for name, field in AUGMENTATION_FLAGS.items()})


def define_flags(flag_values: flags.FlagValues = flags.FLAGS, skip: Collection[str] = ()) -> None:
    """Define the evaluation flags (shared with tools.experiment).

    skip: names of flags the caller defines itself with the same meaning (e.g. --dataset, defined by
    the GAN training flags in tools.experiment); their validators are left out too.
    """

    def define(kind: str, name: str, *args, **kwargs) -> None:
        if name not in skip:
            getattr(flags, f"DEFINE_{kind}")(name, *args, flag_values=flag_values, **kwargs)

    def validate(names: str | tuple[str, ...], checker, message: str) -> None:
        names = (names,) if isinstance(names, str) else names
        if skip and set(names) & set(skip):
            return
        if len(names) == 1:
            flags.register_validator(names[0], checker, message, flag_values=flag_values)
        else:
            flags.register_multi_flags_validator(names, checker, message, flag_values=flag_values)

    defaults, augmentation = ClassifierTraining(), ClassicAugmentation()
    define("string", "dataset", None, "Real dataset folder made by tools.build_dataset.", required=True)
    define("string", "output", None, "Report folder: report.json, report.md, figures, runs/ (finished runs, for "
           "resuming) and tensorboard/.", required=True)
    define("list", "regimes", ["none", "classic"], f"Comma-separated augmentation regimes among {', '.join(REGIMES)}.")
    define("string", "synthetic", None, "Synthetic dataset folder made by tools.synthesize, for the synthetic "
           "regimes; '{fold}' in it is replaced by the test fold (one generator per fold).")
    define("string", "folds", "all", "Test folds to evaluate: 'all' or indices like '0,2'.")
    define("enum", "classifier", defaults.classifier, list(CLASSIFIERS), "Classifier architecture (vgg16 and "
           "resnet50 need images of at least 32x32).")
    define("string", "classifier_weights", None, "Optional initial weights (*.weights.h5 of the same architecture).")
    define("integer", "classifier_epochs", defaults.epochs, "Training epochs per run (the best-validation-loss "
           "epoch is kept).", lower_bound=1)
    define("integer", "classifier_batch_size", defaults.batch_size, "Classifier minibatch size.", lower_bound=1)
    define("float", "classifier_learning_rate", defaults.learning_rate, "Classifier learning rate.")
    define("enum", "classifier_optimizer", defaults.optimizer, list(OPTIMIZERS), "Classifier optimizer.")
    define("integer", "classifier_seed", defaults.seed, "Seed of the validation split, weights and batch order; "
           "test fold k uses seed + k in every regime (paired comparison).", lower_bound=0)
    define("float", "validation_fraction", defaults.validation_fraction, "Fraction of the real training folds "
           "held out (stratified) to choose the best epoch.")
    define("float", "classic_rotation_degrees", augmentation.rotation_degrees, "Classic augmentation: rotate by a "
           "random angle in [0, this] degrees; 0 = off.", lower_bound=0, upper_bound=360)
    define("bool", "classic_horizontal_flip", augmentation.horizontal_flip, "Classic augmentation: random "
           "left-right flips.")
    define("bool", "classic_vertical_flip", augmentation.vertical_flip, "Classic augmentation: random up-down flips.")
    define("float", "classic_translate_pixels", augmentation.translate_pixels, "Classic augmentation: shift by up "
           "to min(this, classic_translate_fraction x size) pixels per axis; 0 = off.", lower_bound=0)
    define("float", "classic_translate_fraction", augmentation.translate_fraction, "Classic augmentation: "
           "translation limit as a fraction of the image size, in [0, 1); 0 = off.")
    define("float", "classic_zoom", augmentation.zoom, "Classic augmentation: rescale by a factor in "
           "[1 - zoom, 1 + zoom], zoom in [0, 1); 0 = off.")
    define("enum", "classic_fill_mode", augmentation.fill_mode, list(FILL_MODES), "Classic augmentation: how pixels "
           "moved in from outside the image are filled.")
    define("bool", "overwrite", False, "Delete an existing report folder and start fresh (default: resume it).")

    validate("dataset", lambda d: d is None or os.path.isdir(d),
             "--dataset must be a dataset folder made by tools.build_dataset")
    validate("output", lambda o: bool(o) and not os.path.isfile(o), "--output must be a folder path, not a file")
    validate("regimes", _parses(parse_regimes), f"--regimes must be distinct names among {', '.join(REGIMES)}")
    validate("synthetic", lambda s: s is None or bool(s.strip()), "--synthetic must not be empty")
    validate("folds", _parses(parse_folds), "--folds must be 'all' or distinct fold indices like '0,1'")
    validate("classifier_weights", lambda w: w is None or os.path.isfile(w), "--classifier_weights must be a file")
    validate("classifier_learning_rate", lambda v: v > 0, "--classifier_learning_rate must be > 0")
    validate("validation_fraction", lambda v: 0 < v < 1, "--validation_fraction must lie in (0, 1)")
    validate("classic_translate_fraction", lambda v: 0 <= v < 1, "--classic_translate_fraction must lie in [0, 1)")
    validate("classic_zoom", lambda v: 0 <= v < 1, "--classic_zoom must lie in [0, 1)")
    validate(("regimes", "synthetic"),
             lambda v: v["synthetic"] or not any(uses_synthetic(r) for r in parse_regimes(v["regimes"])),
             "the synthetic regimes need --synthetic=DIR (or a pattern with {fold})")
    validate(("regimes", *AUGMENTATION_FLAGS),
             lambda v: _augmentation(v).enabled or not any(uses_classic(r) for r in parse_regimes(v["regimes"])),
             "the classic regimes need at least one classic augmentation switched on")


def options_from_flags(values: flags.FlagValues, **overrides) -> EvaluationOptions:
    """EvaluationOptions from parsed flag values.

    overrides: EvaluationOptions fields that win over the flags; the flags behind them are not read
    (a caller such as tools.experiment may have skipped them or defined them with another meaning).
    """
    readers = {
        "dataset": lambda: values.dataset,
        "output": lambda: values.output,
        "regimes": lambda: tuple(values.regimes),
        "synthetic": lambda: values.synthetic,
        "folds": lambda: parse_folds(values.folds),
        "training": lambda: ClassifierTraining(
            classifier=values.classifier, weights=values.classifier_weights, epochs=values.classifier_epochs,
            batch_size=values.classifier_batch_size, learning_rate=values.classifier_learning_rate,
            optimizer=values.classifier_optimizer, seed=values.classifier_seed,
            validation_fraction=values.validation_fraction),
        "augmentation": lambda: _augmentation({name: getattr(values, name) for name in AUGMENTATION_FLAGS}),
        "overwrite": lambda: values.overwrite,
    }
    unknown = sorted(set(overrides) - set(readers))
    if unknown:
        raise TypeError(f"options_from_flags got unknown override(s): {', '.join(unknown)}")
    return EvaluationOptions(**{name: overrides[name] if name in overrides else read()
                                for name, read in readers.items()})


def main(argv: list[str]) -> int:
    del argv
    options = options_from_flags(flags.FLAGS)
    report = run_evaluation(options)
    print(format_table(report))
    print(f"report: {os.path.join(options.output, REPORT_MARKDOWN)}")
    return 0


if __name__ == "__main__":
    define_flags()
    cli.run(main)

r"""Audit synthetic images against the real training folds: SWD, MS-SSIM, domain FID/KID, memorization.

  python -m tools.measure_quality --real=data/elpv64 --folds=0,1 --synthetic=data/synthetic64 --output=runs/quality
  python -m tools.measure_quality --real=data/elpv64 --generator=runs/gan/export/generator --num=500 \
      --output=runs/quality

Without --folds, the folds are the generator's trained_on_folds (from --generator, or recorded by tools.synthesize
in the --synthetic set), and the real dataset must be the one it was trained on. The other folds are the held-out
baseline of the memorization audit. Writes OUTPUT/quality.json, quality.md and closest_pairs.png.
tools.experiment reuses `define_flags` and `options_from_flags` (this binary's own flags are `define_binary_flags`).
"""

from __future__ import annotations

import os

from absl import flags

from tfpgan import cli, quality, synthesis
from tfpgan.atomic import check_writable_destination
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.errors import TfpganError

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The flags of QualityOptions (named to coexist with the training and evaluation flags)."""
    flags.DEFINE_list("metrics", list(quality.METRICS), f"Metrics to compute, any of {','.join(quality.METRICS)}.")
    flags.DEFINE_enum("quality_classifier", "cnn", list(quality.FEATURE_CLASSIFIERS), "Classifier whose "
                      "penultimate layer is the domain feature space of FID/KID (trained briefly on the real "
                      "training folds, cached in DATASET/.cache/).")
    flags.DEFINE_integer("quality_classifier_epochs", 5, "Training epochs of that classifier.", lower_bound=1)
    flags.DEFINE_string("inception_weights", None, "Optional InceptionV3 no-top weights file: FID/KID are then "
                        "also computed in Inception space (nothing is ever downloaded).")
    flags.DEFINE_integer("msssim_pairs", 1000, "Random image pairs per class for MS-SSIM diversity.", lower_bound=1)
    flags.DEFINE_integer("kid_subsets", 100, "Random subsets averaged by KID.", lower_bound=1)
    flags.DEFINE_integer("kid_subset_size", 1000, "Images per KID subset (clipped to the smaller set).", lower_bound=2)
    flags.DEFINE_float("memorization_percentile", 1.0, "Flag synthetic images closer to a training image than all "
                       "but this percentage of held-out real images.", lower_bound=0.0, upper_bound=100.0)
    flags.DEFINE_integer("quality_seed", 0, "Seed of every random choice of the audit (and of --generator latents).",
                         lower_bound=0)
    flags.register_validator("metrics", lambda names: bool(names) and set(names) <= set(quality.METRICS),
                             f"--metrics must be a comma-separated subset of {','.join(quality.METRICS)}")
    flags.register_validator("inception_weights", lambda path: path is None or os.path.isfile(path),
                             "--inception_weights must be an existing file")


def options_from_flags(values) -> quality.QualityOptions:
    """QualityOptions from parsed flag values."""
    return quality.QualityOptions(
        metrics=tuple(values.metrics), classifier=values.quality_classifier,
        classifier_epochs=values.quality_classifier_epochs, inception_weights=values.inception_weights,
        msssim_pairs=values.msssim_pairs, kid_subsets=values.kid_subsets, kid_subset_size=values.kid_subset_size,
        memorization_percentile=values.memorization_percentile, seed=values.quality_seed)


def _parse_folds(text: str | None) -> list[int] | None:
    return None if text is None else [int(fold) for fold in text.split(",")]


def _valid_folds(text: str | None) -> bool:
    try:
        folds = _parse_folds(text)
    except ValueError:
        return False
    return folds is None or (bool(folds) and min(folds) >= 0)


def define_binary_flags() -> None:
    """The flags of this binary only (what tools.experiment knows by itself)."""
    flags.DEFINE_string("real", None, "Real dataset folder (made by tools.build_dataset).", required=True)
    flags.DEFINE_string("folds", None, "Real folds that were the GAN's training set, e.g. '0,1' (the others are "
                        "held out). Default: the generator's trained_on_folds (--generator, or a --synthetic set "
                        "made by tools.synthesize).")
    flags.DEFINE_string("synthetic", None, "Synthetic dataset folder (same format, e.g. from tools.synthesize).")
    flags.DEFINE_string("generator", None, "Exported generator (SavedModel folder from tools.export).")
    flags.DEFINE_integer("num", None, "With --generator: images generated per class.", lower_bound=1)
    flags.DEFINE_string("output", None, "Report folder to write (quality.json, quality.md, closest_pairs.png).",
                        required=True)
    flags.DEFINE_bool("overwrite", False, "Replace an existing report folder.")
    flags.register_validator("folds", _valid_folds, "--folds must be comma-separated fold indices like '0,1'")
    flags.register_multi_flags_validator(
        ["synthetic", "generator"], lambda values: bool(values["synthetic"]) != bool(values["generator"]),
        "give exactly one of --synthetic and --generator")
    flags.register_multi_flags_validator(
        ["generator", "num"], lambda values: not values["generator"] or values["num"] is not None,
        "--generator needs --num (images per class)")


def _synthetic_train_folds(real: DatasetInfo, folds: list[int] | None) -> list[int]:
    """--folds, or the folds of the generator a tools.synthesize set records in dataset.json extra["generator"]."""
    generator = read_info(FLAGS.synthetic).extra.get("generator")
    if generator is not None:
        return quality.resolve_train_folds(generator, real, FLAGS.synthetic, folds)
    if folds is None:
        raise TfpganError(f"{FLAGS.synthetic} does not record the real folds its generator was trained on; "
                          "pass --folds")
    return check_folds(real, folds, FLAGS.real)


def main(argv):
    del argv
    check_writable_destination(FLAGS.output, FLAGS.overwrite)
    options = options_from_flags(FLAGS)
    real = read_info(FLAGS.real)
    folds = _parse_folds(FLAGS.folds)
    if FLAGS.generator:
        metadata = synthesis.read_generator_metadata(FLAGS.generator)
        folds = quality.resolve_train_folds(metadata, real, FLAGS.generator, folds)
        quality.check_synthetic_format(real, FLAGS.generator, metadata["resolution"], metadata["channels"],
                                       metadata["classes"])
        synthetic, _ = quality.generate_images(FLAGS.generator, FLAGS.num, options.seed)
        source = f"generator {FLAGS.generator} ({FLAGS.num} per class, seed {options.seed})"
    else:
        folds = _synthetic_train_folds(real, folds)
        synthetic, source = quality.load_synthetic_dataset(FLAGS.synthetic, real), f"dataset {FLAGS.synthetic}"
    result = quality.measure_quality(FLAGS.real, folds, synthetic, options, source)
    quality.write_quality_report(result, FLAGS.output, FLAGS.overwrite)
    _print_summary(result.report)
    print(f"wrote {os.path.join(FLAGS.output, 'quality.md')}")
    return 0


def _print_summary(report: dict) -> None:
    if "swd" in report and "skipped" not in report["swd"]["overall"]:
        overall = report["swd"]["overall"]
        print(f"SWD x1e3 average: {overall['synthetic_vs_real']['average']:.2f} "
              f"(real-vs-real noise floor {overall['real_vs_real_noise_floor']['average']:.2f})")
    for space, section in report.get("fid_kid", {}).items():
        overall = section["overall"]
        if "fid" in overall:
            print(f"FID ({space} features): {overall['fid']:.3f}")
        if "kid" in overall:
            print(f"KID ({space} features): {overall['kid']['mean']:.4f} ± {overall['kid']['std']:.4f}")
    if "memorization" in report:
        memorization = report["memorization"]
        print(f"memorization: {len(memorization['flagged_ids'])} of {memorization['synthetic_images']} synthetic "
              f"images above the held-out SSIM threshold {memorization['threshold']:.4f}")


if __name__ == "__main__":
    define_flags()
    define_binary_flags()
    cli.run(main)

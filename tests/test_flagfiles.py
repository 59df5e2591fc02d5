"""Every flagfile in flags/ runs as a user would run it, shrunk to seconds: found by listing the folder, so a new
flagfile is covered without editing this file.

Which kind a flagfile is: a flagfile is a *training* flagfile when tools.train's flags parse it (every flag it sets,
through its nested --flagfile lines too, is a training flag); otherwise it is an *experiment* flagfile (it sets a
flag that only tools.experiment has, such as --regimes, --generators or --seeds), and tools.experiment's flags must
parse it.

A training flagfile runs `python -m tools.train --flagfile=FILE` with the SHRINK flags after it: a few real steps
and an export; the test then synthesizes a handful of images with the export. A training flagfile whose settings an
experiment flagfile of the folder trains as they are (as one of its --generators, or as its own training flags) is
not trained twice: its test checks, exports from and synthesizes with that experiment's GAN run instead.
An experiment flagfile is described as --dry_run describes it (as written, and with SHRINK as its
--gan_overrides), then `python -m tools.experiment --flagfile=FILE` runs end to end on a tiny source with SHRINK as
--gan_overrides and EXPERIMENT_SHRINK after it. Everything a flagfile sets that the shrink lists do not (XLA, DCGAN,
per-class, R1, augmentation, multi-phase fades, audit, ...) stays as written, which the tests check against the
runs' config.json. The commands run in subprocesses, as many at a time as there are cores (tracing and XLA
compilation are mostly single-threaded).
"""

import contextlib
import dataclasses
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from absl import flags

from tfpgan import experiment
from tfpgan import flags as tfpgan_flags
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import read_info
from tfpgan.data.sources import open_source
from tfpgan.options import (
    GAN_RUN_KEYS,
    GENERATOR_SHARED_KEYS,
    BuildOptions,
    ExperimentOptions,
    OptionsError,
    TrainOptions,
    format_gan_overrides,
    parse_gan_overrides,
)

from datagen import write_folder_source

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS_DIR = os.path.join(REPO, "flags")
# The only settings shrunk, for every flagfile (training flags; the experiment takes them as --gan_overrides):
# 16x16 (the tiny dataset's size), grown from 8x8 (one fade-in), 2 steps of 8 images per phase, tiny networks.
SHRINK = ("--resolution=16", "--start_resolution=8", "--kimg_per_phase=0.016", "--kimg_per_transition=0.016",
          "--batch_per_resolution=8:8", "--latent_size=8", "--fmap_base=64", "--fmap_max=16")
# ... and the experiment's own: its dataset (built at 16x16 from the tiny source), one fold, the headline's regimes,
# one classifier seed of a few steps, a few synthetic images per class and a small audit.
EXPERIMENT_SHRINK = ("--dataset_resolution=16", "--folds=0", "--regimes=none,oversample,synthetic", "--seeds=1",
                     "--synthesis_count=24",
                     "--classifier_epochs=1", "--classifier_min_steps=2", "--classifier_batch_size=16",
                     "--quality_classifier_epochs=1", "--msssim_pairs=10", "--kid_subsets=5", "--kid_subset_size=8",
                     "--swd_repeats=2", "--quality_max_images=12")
SHRUNK_KEYS = {flag.removeprefix("--").partition("=")[0] for flag in SHRINK}
CLASS_COUNTS = {"benign": 18, "malignant": 15}  # two classes: a per-class GAN trains two networks, not more
SYNTHESIZED_PER_CLASS = 2


def parsed(options_class, flagfile: str, *args: str) -> flags.FlagValues:
    """`flagfile` and `args` parsed by the flags of `options_class` (as its binary defines them), from the
    repository root (nested flagfiles are named relative to it)."""
    values = flags.FlagValues()
    tfpgan_flags.define_options_flags(options_class, flag_values=values)
    with contextlib.chdir(REPO):
        values(["binary", f"--flagfile={flagfile}", *args])
    return values


def is_training_flagfile(flagfile: str) -> bool:
    """The rule of the module docstring."""
    try:
        parsed(TrainOptions, flagfile)
    except flags.UnrecognizedFlagError:
        return False
    return True


FLAGFILES = sorted(os.path.join(FLAGS_DIR, name) for name in os.listdir(FLAGS_DIR))
TRAINING = [path for path in FLAGFILES if is_training_flagfile(path)]
EXPERIMENTS = [path for path in FLAGFILES if path not in TRAINING]


def experiment_options(flagfile: str, *args: str) -> ExperimentOptions:
    values = parsed(ExperimentOptions, flagfile, *args)
    with contextlib.chdir(REPO):
        return tfpgan_flags.experiment_options_from_flags(values)


def train_options(flagfile: str, *args: str) -> TrainOptions:
    return tfpgan_flags.train_options_from_flags(parsed(TrainOptions, flagfile, *args))


def as_json(options: TrainOptions) -> dict:
    return json.loads(options.to_json())


# The training settings a flagfile's run must keep as written: all but the shrunk ones and those its binary fills in.
KEPT = sorted({field.name for field in dataclasses.fields(TrainOptions)} - SHRUNK_KEYS - set(GAN_RUN_KEYS)
              - set(GENERATOR_SHARED_KEYS))


def kept(settings: dict) -> dict:
    return {key: settings[key] for key in KEPT}


def experiment_run_of(flagfile: str) -> tuple[str, str] | None:
    """(experiment flagfile, generator name) of the first experiment flagfile that trains `flagfile`'s kept settings
    as they are, or None."""
    written = kept(as_json(train_options(flagfile, "--dataset=d", "--logdir=l")))
    for path in EXPERIMENTS:
        for name, train in experiment.generator_runs(experiment_options(path, "--output=o")).items():
            if kept(as_json(train)) == written:
                return path, name
    return None


COVERED = {path: run for path in TRAINING if (run := experiment_run_of(path))}


def command(flagfile: str, folder: str, source: str) -> list[str]:
    """The command a user runs for `flagfile`, shrunk, writing under `folder`."""
    if flagfile in TRAINING:
        return ["tools.train", f"--flagfile={flagfile}", *SHRINK, f"--dataset={source}/dataset", "--test_fold=0",
                f"--logdir={folder}"]
    return ["tools.experiment", f"--flagfile={flagfile}", f"--output={folder}", f"--source=folder:{source}/images",
            f"--gan_overrides={' '.join(SHRINK)}", *EXPERIMENT_SHRINK]


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """flagfile -> (its run folder, a future of its finished command) for the flagfiles this session tests, all
    started at once on a tiny 2-class 16x16 source (PNG folder) and a dataset built from it."""
    source = tmp_path_factory.mktemp("source")
    write_folder_source(str(source / "images"), CLASS_COUNTS, size=16)
    build_dataset(open_source(f"folder:{source / 'images'}"), str(source / "dataset"),
                  BuildOptions(resolution=16, folds=3))
    tested = [getattr(item, "callspec", None) for item in request.session.items if item.module is request.module]
    selected = {callspec.params["flagfile"] for callspec in tested if callspec and "flagfile" in callspec.params}
    wanted = sorted({COVERED[path][0] if path in COVERED else path for path in selected},
                    key=lambda path: path in TRAINING)  # the experiments (the longest) first
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        started = {}
        for flagfile in wanted:
            folder = tmp_path_factory.mktemp(os.path.basename(flagfile)) / "run"
            started[flagfile] = folder, pool.submit(
                subprocess.run, [sys.executable, "-m", *command(flagfile, str(folder), str(source))], cwd=REPO,
                env=env, capture_output=True, text=True, timeout=900)
        yield started


def finished(runs, flagfile: str):
    """The run folder of `flagfile`'s command, which must have succeeded."""
    folder, future = runs[flagfile]
    result = future.result()
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def assert_kept_as_written(config: dict, written: TrainOptions) -> None:
    """Every training setting of a run's config.json but the shrunk ones and those its binary fills in is the
    flagfile's."""
    assert kept(config) == kept(as_json(written))


def test_the_folder_holds_flagfiles_of_both_kinds():
    assert all(path.endswith(".cfg") for path in FLAGFILES) and TRAINING and EXPERIMENTS
    for path in EXPERIMENTS:  # not a training flagfile with a typo: the experiment's flags read it
        parsed(ExperimentOptions, path, "--output=o")


@pytest.mark.parametrize("flagfile", TRAINING, ids=os.path.basename)
def test_training_flagfile_trains_exports_and_synthesizes(flagfile, runs, tmp_path):
    from tfpgan import synthesis

    if flagfile in COVERED:  # trained by an experiment flagfile's run
        experiment_file, name = COVERED[flagfile]
        logdir = finished(runs, experiment_file) / "gan" / name / "fold0"
    else:
        logdir = finished(runs, flagfile)

    written = train_options(flagfile, "--dataset=d", "--logdir=l")
    assert_kept_as_written(json.loads((logdir / "config.json").read_text()), written)
    export = logdir / "export" / "generator"
    metadata = synthesis.read_generator_metadata(str(export))
    assert metadata["resolution"] == 16 and metadata["kimg"] > 0
    info = synthesis.synthesize(str(export), str(tmp_path / "synthetic"), "per_class", SYNTHESIZED_PER_CLASS)
    assert info.counts == {name: SYNTHESIZED_PER_CLASS for name in CLASS_COUNTS}


@pytest.mark.parametrize("flagfile", EXPERIMENTS, ids=os.path.basename)
def test_experiment_flagfile_describes_and_runs_end_to_end(flagfile, runs):
    written = experiment_options(flagfile, "--output=o")
    description = experiment.describe(written)  # what --dry_run prints
    for name, train in experiment.generator_runs(written).items():
        resolution = train.resolution or written.dataset_resolution
        assert f"GAN schedule of every fold{f' of generator {name}' if name else ''} ({resolution}x{resolution})" \
            in description
    shrunk = experiment_options(flagfile, "--output=o", f"--gan_overrides={' '.join(SHRINK)}")
    assert f"--gan_overrides applied to every GAN: {' '.join(SHRINK)}" in experiment.describe(shrunk)

    output = finished(runs, flagfile)

    assert read_info(str(output / "dataset")).resolution == 16
    summary = (output / "report.md").read_text()
    for name, train in experiment.generator_runs(written).items():
        gan = output / "gan" / name / "fold0"
        assert_kept_as_written(json.loads((gan / "config.json").read_text()), train)
        metadata = json.loads((gan / "export" / "generator" / "tfpgan.json").read_text())
        assert (metadata["architecture"], metadata["conditioning"]) == (train.architecture, train.conditioning)
        assert read_info(str(output / "synthetic" / name / "fold0")).num_examples > 0
        assert (output / "quality" / name / "fold0" / "quality.json").is_file() == written.quality
        samples = os.path.join("samples", name, "fold0.png")
        assert (output / samples).is_file() and f"![{f'{name} ' if name else ''}fold 0]({samples})" in summary
    assert "| Regime |" in summary
    names = [name for name in experiment.generator_runs(written) if name]
    if names:  # several generators: each is a synthetic regime of one report, compared with plain rebalancing
        report = json.loads((output / "evaluation" / "report.json").read_text())
        assert list(report["regimes"]) == ["none", "oversample", *(f"synthetic[{name}]" for name in names)]
        assert [(c["treatment"], c["baseline"]) for c in report["comparisons"][:len(names)]] == [
            (f"synthetic[{name}]", "oversample") for name in names]
        assert "| generator | fold |" in summary and all(f"| {name} | 0 |" in summary for name in names)


@pytest.mark.parametrize("overrides, message", [
    ("--kimg_per_phse=1", "--gan_overrides: '--kimg_per_phse=1' is not a training flag of tools.train"),
    ("--seed=3", "--gan_overrides: --seed cannot be overridden: the experiment sets it for every GAN run (pass --seed"),
    ("--logdir=x", "--gan_overrides: --logdir cannot be overridden"),
    ("--kimg_per_phase=0", "--gan_overrides: --kimg_per_phase must be > 0, got 0.0"),
    ("--fmap_max", "--gan_overrides: --fmap_max needs a value (--fmap_max=VALUE)"),
    ("--loss=wgan_gp", "--gan_overrides '--loss=wgan_gp' do not fit the training settings they override: "
                       "--architecture=dcgan has batch norm"),  # the second generator of the file is a DCGAN
])
def test_a_bad_gan_override_is_one_options_error(overrides, message):
    with pytest.raises(OptionsError, match=re.escape(message)):
        experiment_options(os.path.join(FLAGS_DIR, "quickstart_compare.cfg"), "--output=o",
                           f"--gan_overrides={overrides}")


def test_gan_overrides_reach_every_generator_and_read_back_as_written():
    overrides = "--nojit_compile --augment= --batch_per_resolution=8:8,16:4 --augment_p=1"
    options = experiment_options(os.path.join(FLAGS_DIR, "quickstart_compare.cfg"), "--output=o",
                                 f"--gan_overrides={overrides}")
    for train in experiment.generator_runs(options).values():
        assert (train.jit_compile, train.augment, train.batch_per_resolution, train.augment_p) == (
            False, (), {8: 8, 16: 4}, "1")
    assert parse_gan_overrides(format_gan_overrides(options.gan_overrides)) == options.gan_overrides

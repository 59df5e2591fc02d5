"""Tests for tools/experiment.py: a tiny end-to-end experiment (2 folds, 16x16, a few GAN steps), its resumption,
and its refusal of bad flags, all in subprocesses."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tfpgan.data.dataset_info import read_info
from tfpgan.options import REGIMES

from datagen import write_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_COUNTS = {"cyst": 24, "metastasis": 16, "hemangioma": 20}  # unbalanced on purpose
SIZE, FOLDS = 16, 2
SYNTHETIC_PER_CLASS, AUDITED = 8, 18  # the audit samples 18 of the 24 synthetic images of a fold
TINY_EXPERIMENT = [
    f"--dataset_resolution={SIZE}", f"--dataset_folds={FOLDS}",
    # GAN: 8x8 -> 16x16, a few steps per phase, tiny networks.
    f"--resolution={SIZE}", "--start_resolution=8", "--kimg_per_phase=0.03", "--kimg_per_transition=0.03",
    "--batch_per_resolution=8:8,16:8", "--latent_size=8", "--fmap_base=64", "--fmap_max=16", "--tick_kimg=0.03",
    "--image_every_kimg=0.03", "--checkpoint_every_kimg=0.03", "--images_per_class=2",
    "--synthesis_mode=per_class", f"--synthesis_count={SYNTHETIC_PER_CLASS}",
    "--classifier_epochs=1", "--classifier_min_steps=2", "--classifier_batch_size=16",
    "--classifier_optimizer=adam",  # no --regimes: the experiment's default is every regime
    "--quality_classifier_epochs=1", "--msssim_pairs=10", "--kid_subsets=5", "--kid_subset_size=8",
    f"--quality_max_images={AUDITED}", "--deterministic",
]


def write_patterned_source(root: str) -> None:
    """root/<class>/imgNNN.png: per class a distinct stripe pattern (horizontal, vertical, checker) plus noise."""
    rows, columns = np.mgrid[:SIZE, :SIZE]
    patterns = [(rows // 2) % 2, (columns // 2) % 2, ((rows // 4) + (columns // 4)) % 2]
    rng = np.random.default_rng(0)
    for pattern, (name, count) in zip(patterns, CLASS_COUNTS.items()):
        for i in range(count):
            pixels = np.clip(pattern * 160 + 48 + rng.normal(0, 20, pattern.shape), 0, 255).astype(np.uint8)
            write_image(os.path.join(root, name, f"img{i:03d}.png"), pixels[..., None])


def run_experiment(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.experiment", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """The tiny experiment run once: (output folder, its command-line arguments, the finished process)."""
    tmp = tmp_path_factory.mktemp("experiment")
    write_patterned_source(str(tmp / "source"))
    args = [f"--source=folder:{tmp / 'source'}", f"--output={tmp / 'out'}", *TINY_EXPERIMENT]
    return tmp / "out", args, run_experiment(*args)


def test_experiment_trains_synthesizes_audits_and_reports_every_fold(experiment):
    output, _, result = experiment
    assert result.returncode == 0, result.stderr[-3000:]

    real = read_info(str(output / "dataset"))
    assert real.folds == FOLDS and real.resolution == SIZE and real.num_examples == sum(CLASS_COUNTS.values())
    for fold in range(FOLDS):
        export = output / "gan" / f"fold{fold}" / "export" / "generator"
        assert (export / "saved_model.pb").is_file()
        generator = json.loads((export / "tfpgan.json").read_text())
        assert generator["trained_on_folds"] == [f for f in range(FOLDS) if f != fold]
        assert generator["dataset_fingerprint"] == real.fingerprint
        synthetic = read_info(str(output / "synthetic" / f"fold{fold}"))
        assert synthetic.extra["generator"]["test_fold"] == fold
        assert synthetic.counts == {name: SYNTHETIC_PER_CLASS for name in real.classes}
        # the classifier's validation images of the fold were fixed first, and the GAN never saw them
        validation = (output / "validation" / f"fold{fold}.txt").read_text().split()
        assert validation and generator["excluded_ids"] == sorted(validation)
        for regime in REGIMES:
            run = json.loads((output / "evaluation" / "runs" / regime / f"fold{fold}" / "seed0" / "result.json")
                             .read_text())
            assert run["training"]["validation_ids"] == sorted(validation)
            assert not set(validation) & set(run["training"]["train_ids"])
        card = json.loads((output / "synthetic" / f"fold{fold}" / "datacard.json").read_text())
        assert card["synthetic"]["per_class"] == synthetic.counts and card["quality"]["audited_images"] == AUDITED
        assert (output / "synthetic" / f"fold{fold}" / "DATACARD.md").is_file()
        quality = json.loads((output / "quality" / f"fold{fold}" / "quality.json").read_text())
        assert {"swd", "msssim", "fid_kid", "memorization"} <= quality.keys()
        assert quality["memorization"]["synthetic_images"] == AUDITED
        assert f"fold {fold}: auditing a random sample of {AUDITED} synthetic images" in result.stderr

    report = json.loads((output / "evaluation" / "report.json").read_text())
    assert report["folds"] == list(range(FOLDS)) and list(report["regimes"]) == list(REGIMES)
    for regime in REGIMES:
        assert sorted(report["regimes"][regime]["folds"]) == [str(f) for f in range(FOLDS)]
    compared = [(c["treatment"], c["baseline"]) for c in report["comparisons"]]
    assert compared[0] == ("synthetic", "oversample")  # the headline: synthetic images vs plain rebalancing
    runs = output / "evaluation" / "runs"
    synthetic_run = json.loads((runs / "synthetic" / "fold1" / "seed0" / "result.json").read_text())
    oversample_run = json.loads((runs / "oversample" / "fold1" / "seed0" / "result.json").read_text())
    assert synthetic_run["training"]["synthetic_images"] == SYNTHETIC_PER_CLASS * len(CLASS_COUNTS)
    assert oversample_run["training"]["class_counts"] == synthetic_run["training"]["class_counts"]
    assert oversample_run["training"]["steps"] == synthetic_run["training"]["steps"]

    summary = (output / "report.md").read_text()
    assert "| Regime |" in summary and "| classic+synthetic |" in summary
    assert "## Synthetic-image quality per fold" in summary
    quality_rows = [line for line in summary.splitlines() if line.startswith(("| 0 |", "| 1 |"))]
    assert len(quality_rows) == FOLDS and all(line.endswith(f"/ {AUDITED} |") for line in quality_rows)
    assert "](evaluation/confusion_none.png)" in summary
    for fold in range(FOLDS):  # synthetic beside real images, per fold, shown in the report
        assert f"![fold {fold}](samples/fold{fold}.png)" in summary
        grid = np.asarray(Image.open(output / "samples" / f"fold{fold}.png"))
        assert grid.ndim == 3 and grid.shape[0] > len(CLASS_COUNTS) * 66 and grid.std() > 0
    assert (output / "evaluation" / "confusion_none.png").is_file()

    assert "| Regime |" in result.stdout and "| synthetic |" in result.stdout
    assert f"report: {output / 'report.md'}" in result.stdout


def test_rerun_skips_every_finished_step(experiment):
    output, args, first = experiment
    assert first.returncode == 0, first.stderr[-3000:]
    report_before = (output / "evaluation" / "report.json").read_text()
    started = time.monotonic()
    result = run_experiment(*args, timeout=120)
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stderr
    assert f"dataset: reusing {output / 'dataset'}" in log
    assert log.count("training is already complete") == FOLDS
    assert log.count("exists, skipped") == 2 * FOLDS  # synthetic set and quality audit of each fold
    assert log.count("finished earlier, skipping") == len(REGIMES) * FOLDS
    assert "| ETA" not in log  # no training tick (the sample grids are drawn from the generators)
    assert (output / "evaluation" / "report.json").read_text() == report_before
    assert "| Regime |" in result.stdout
    assert elapsed < 90


def test_the_synthetic_count_curve_reuses_each_folds_gan(experiment):
    output, args, first = experiment
    assert first.returncode == 0, first.stderr[-3000:]
    result = run_experiment(*args, "--synthesis_counts=0,4", "--regimes=none,synthetic", timeout=240)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("training is already complete") == FOLDS and "| ETA" not in result.stderr
    for fold in range(FOLDS):
        assert read_info(str(output / "sweep" / "synthetic" / "n4" / f"fold{fold}")).counts == {
            name: 4 for name in CLASS_COUNTS}
    sweep = json.loads((output / "sweep" / "evaluation" / "report.json").read_text())
    assert list(sweep["regimes"]) == ["none", "synthetic[n4]", "oversample[n4]"]
    figure = np.asarray(Image.open(output / "sweep" / "sweep.png"))
    assert figure.ndim == 3 and figure.std() > 0
    summary = (output / "report.md").read_text()
    assert "![sweep](sweep/sweep.png)" in summary and "| 4 |" in summary


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Bad command lines run at the same time: (their scratch folder, {case: (returncode, stderr)})."""
    tmp = tmp_path_factory.mktemp("refusals")
    cases = {
        "dataset_resolution": ["--dataset_resolution=48", f"--output={tmp / 'resolution'}"],
        "no output": [],
        "output is a file": [f"--output={__file__}"],
    }
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    processes = {case: subprocess.Popen([sys.executable, "-m", "tools.experiment", *args], cwd=REPO, env=env,
                                        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for case, args in cases.items()}
    stderrs = {case: process.communicate(timeout=120)[1] for case, process in processes.items()}
    return tmp, {case: (processes[case].returncode, stderr) for case, stderr in stderrs.items()}


@pytest.mark.parametrize("case, message", [
    ("dataset_resolution", "--dataset_resolution must be a power of two in 4..1024"),
    ("no output", "error: --output is required"),
    ("output is a file", "--output must be a folder path, not a file"),
])
def test_bad_command_lines_fail_with_one_clear_line(refusals, case, message):
    tmp, results = refusals
    returncode, stderr = results[case]
    assert returncode != 0
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if message in line], stderr[-2000:]
    assert not any(tmp.iterdir())  # refused before any work: nothing written


def test_dry_run_prints_the_options_and_each_folds_schedule_and_writes_nothing(tmp_path):
    result = run_experiment(f"--output={tmp_path / 'out'}", *TINY_EXPERIMENT, "--dry_run", "--partitions=2",
                            "--seeds=3", timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (f"plan: 2 partition(s) x {FOLDS} test fold(s) x 1 generator(s) = {2 * FOLDS} GAN run(s); "
            f"{2 * FOLDS} x {len(REGIMES)} regime(s) x 3 seed(s) = {2 * FOLDS * len(REGIMES) * 3} classifier "
            f"run(s); the report tests J = {2 * FOLDS} paired fold results") in result.stdout
    assert f"partition 1: {tmp_path / 'out' / 'partition1'} on {tmp_path / 'out' / 'partition1' / 'dataset'}" \
        in result.stdout
    assert '"kimg_per_phase": 0.03' in result.stdout and '"classifier_epochs": 1' in result.stdout
    assert "GAN schedule of every fold (16x16)" in result.stdout
    assert [line.split()[-1] for line in result.stdout.splitlines() if line.strip().endswith(("stable", "fade-in"))] \
        == ["stable", "fade-in", "stable"]
    assert not os.path.exists(tmp_path / "out")


def test_a_rerun_never_rewrites_the_validation_ids_of_a_fold_whose_gan_has_started(tmp_path):
    from tfpgan.data.build import build_dataset
    from tfpgan.data.sources import open_source
    from tfpgan.experiment import write_validation_ids
    from tfpgan.options import BuildOptions, ExperimentOptions

    write_patterned_source(str(tmp_path / "source"))
    output = tmp_path / "out"
    build_dataset(open_source(f"folder:{tmp_path / 'source'}"), str(output / "dataset"),
                  BuildOptions(resolution=SIZE, folds=FOLDS))
    options = ExperimentOptions(output=str(output))
    other = options.replace(evaluation=options.evaluation.replace(
        training=options.evaluation.training.replace(validation_fraction=0.3)))
    ids_file = output / "validation" / "fold0.txt"
    write_validation_ids(other, 0)
    write_validation_ids(options, 0)  # no GAN yet: the file follows the options
    listed = ids_file.read_text()
    gan = output / "gan" / "fold0"  # what an interrupted GAN run leaves
    (gan / "checkpoints").mkdir(parents=True)
    (gan / "config.json").write_text("{}")
    write_validation_ids(options, 0)  # the same images: fine
    modified = ids_file.stat().st_mtime_ns

    result = run_experiment(f"--output={output}", *TINY_EXPERIMENT, "--validation_fraction=0.3", "--folds=0",
                            timeout=120)

    assert result.returncode == 2 and "Traceback" not in result.stderr
    refusal = [line for line in result.stderr.splitlines() if "fold 0's GAN has started" in line]
    assert len(refusal) == 1, result.stderr[-2000:]
    assert "--validation_fraction=0.3 --classifier_seed=0 choose other ones" in refusal[0]
    assert refusal[0].endswith(f"or delete {gan} to redo fold 0 with the new ones")
    assert ids_file.read_text() == listed and ids_file.stat().st_mtime_ns == modified  # nothing rewritten
    assert (gan / "config.json").read_text() == "{}" and not os.listdir(gan / "checkpoints")


def test_partitions_train_their_own_gans_on_folds_assigned_anew_and_report_together(experiment):
    output, first_args, first_run = experiment  # partition 0 is the finished experiment: every step is reused
    assert first_run.returncode == 0, first_run.stderr[-3000:]
    args = [*first_args, "--partitions=2", "--folds=0", "--regimes=none,synthetic", "--noquality"]
    result = run_experiment(*args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("training is already complete") == 1  # partition 0's GAN of fold 0

    first, second = read_info(str(output / "dataset")), read_info(str(output / "partition1" / "dataset"))
    assert second.fingerprint != first.fingerprint and second.num_examples == first.num_examples
    assert second.source == f"dataset:{output / 'dataset'}" and second.seed == first.seed + 1000
    for part, info in ((output, first), (output / "partition1", second)):
        generator = json.loads((part / "gan" / "fold0" / "export" / "generator" / "tfpgan.json").read_text())
        assert generator["dataset_fingerprint"] == info.fingerprint and generator["trained_on_folds"] == [1]
        validation = (part / "validation" / "fold0.txt").read_text().split()
        assert generator["excluded_ids"] == sorted(validation)
    run = json.loads((output / "partition1" / "evaluation" / "runs" / "synthetic" / "fold0" / "seed0" /
                      "result.json").read_text())
    assert run["partition"] == 1
    report = json.loads((output / "evaluation" / "report.json").read_text())
    test = report["comparisons"][0]["metrics"]["macro/sensitivity"]
    # partition 0's two folds and partition 1's fold 0: J = 3 (partition, fold) units
    assert (test["runs"], test["df"]) == (3, 2) and report["design"]["partitions"] == [0, 1]
    assert report["missing_folds"] == ["partition 1 fold 1"]
    assert [entry["fingerprint"] for entry in report["settings"]["partitions"]] == [second.fingerprint]
    assert "partition1/0" in report["regimes"]["synthetic"]["folds"]
    summary = (output / "report.md").read_text()
    assert "**Design.** 2 × 2-fold cross-validation" in summary
    assert "![partition 1 fold 0](partition1/samples/fold0.png)" in summary

    merged = run_experiment(*[arg for arg in args if arg != "--folds=0"], "--report_only", timeout=120)
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert "missing folds (not finished yet): partition 1 fold 1" in merged.stdout
    assert json.loads((output / "evaluation" / "report.json").read_text())["comparisons"] == report["comparisons"]

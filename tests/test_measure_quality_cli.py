"""End-to-end tests of the tools.measure_quality binary (subprocesses, run concurrently: each start imports TF)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tfpgan import quality, quality_report, synthesis
from tfpgan.labeled import LabeledArrays

from test_quality import (
    CLASSES,
    SIZE,
    as_uint8,
    build_images_dataset,
    build_real_dataset,
    export_tiny_generator,
    structured_images,
    upsample,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--quality_classifier_epochs=1", "--kid_subsets=10", "--msssim_pairs=50"]


def build_synthetic_dataset(folder: str, training: LabeledArrays) -> str:
    """A 32x32 dataset folder: 8 new images per class plus an upsampled copy of training image 0, id 'planted-copy'."""
    images = [structured_images(8, 2 * SIZE, seed=70 + label, label=label) for label in range(len(CLASSES))]
    ids = [[f"synthetic/{name}/{i}" for i in range(8)] for name in CLASSES]
    label = int(training.labels[0])
    images[label] = np.concatenate([images[label], upsample(as_uint8(training.images[:1]))])
    ids[label].append("planted-copy")
    build_images_dataset(folder, images, ids, 2 * SIZE)
    return folder


@pytest.fixture(scope="module", name="runs")
def fixture_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("measure_quality")
    real = str(tmp / "real")
    info = build_real_dataset(real)
    synthetic = build_synthetic_dataset(str(tmp / "synthetic"), quality.load_labeled_images(real, [0]))
    generator, foreign = str(tmp / "generator"), str(tmp / "foreign_generator")
    export_tiny_generator(generator, info)
    shutil.copytree(generator, foreign)
    metadata_path = os.path.join(foreign, "tfpgan.json")
    metadata = json.load(open(metadata_path))
    json.dump({**metadata, "dataset_name": "other", "dataset": "/data/other", "dataset_fingerprint": "0" * 64},
              open(metadata_path, "w"))
    synthesized = str(tmp / "synthesized")
    synthesis.synthesize(generator, synthesized, "per_class", 3)
    commands = {
        "synthetic": [f"--synthetic={synthetic}", "--folds=0", *FAST],
        "synthesized": [f"--synthetic={synthesized}", "--metrics=swd"],
        "generator": [f"--generator={generator}", "--num=4", "--metrics=swd,memorization"],
        "foreign_generator": [f"--generator={foreign}", "--num=4"],
        "bad_metric": [f"--synthetic={synthetic}", "--folds=0", "--metrics=swd,inception_score"],
    }
    processes = {
        key: subprocess.Popen([sys.executable, "-m", "tools.measure_quality", f"--real={real}",
                               f"--output={tmp / 'reports' / key}", *args], cwd=REPO, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        for key, args in commands.items()
    }
    outputs = {key: process.communicate(timeout=240) for key, process in processes.items()}
    return tmp, {key: (processes[key].returncode, *output) for key, output in outputs.items()}


def report(tmp, key: str) -> dict:
    return json.load(open(tmp / "reports" / key / "quality.json"))


def test_synthetic_folder_is_audited_end_to_end(runs):
    tmp, results = runs
    returncode, stdout, stderr = results["synthetic"]
    assert returncode == 0, stderr
    content = report(tmp, "synthetic")
    assert content["memorization"]["flagged_ids"][0] == "planted-copy"
    assert content["synthetic"]["resolution"] == 2 * SIZE and content["synthetic"]["images"] == 17
    assert {"swd", "msssim", "fid_kid"} <= set(content) and content["real"]["train_folds"] == [0]
    assert "real_vs_real_noise_floor" in content["swd"]["overall"]
    assert os.path.isfile(content["fid_kid"]["domain"]["classifier_file"])
    markdown = open(tmp / "reports" / "synthetic" / "quality.md").read()
    assert "planted-copy" in markdown and "domain feature space, not Inception's" in markdown
    assert os.path.isfile(tmp / "reports" / "synthetic" / "closest_pairs.png")
    assert quality_report.summary_text(content) in stdout  # the console summary is the report's summary table
    assert "SWD: class cyst (1/2)" in stderr and "feature classifier epoch 1/1" in stderr


def test_generator_is_sampled_with_its_training_folds(runs):
    tmp, results = runs
    returncode, stdout, stderr = results["generator"]
    assert returncode == 0, stderr
    content = report(tmp, "generator")
    assert content["real"]["train_folds"] == [0] and content["real"]["heldout_folds"] == [1]
    assert content["synthetic"]["per_class"] == {name: 4 for name in CLASSES}
    assert content["synthetic"]["resolution"] == 2 * SIZE
    assert set(content) == {"real", "synthetic", "overall_sample", "options", "swd", "memorization"}
    memorization = content["memorization"]
    assert memorization["synthetic_images"] == 8 and "synthesized 8/8 images" in stderr
    closest = memorization["closest_pairs"]  # all 8 (8 pairs by default): every generated id, nearest first
    assert sorted(pair["synthetic_id"] for pair in closest) == [
        f"synthetic/{name}/{i:06d}" for name in CLASSES for i in range(4)]
    assert {pair["training_id"] for pair in closest} <= set(quality.load_labeled_images(str(tmp / "real"), [0]).ids)
    assert memorization["flagged_ids"] == [pair["synthetic_id"] for pair in closest
                                           if pair["ssim"] > memorization["threshold"]]


def test_folds_default_to_those_a_synthesized_set_records(runs):
    tmp, results = runs
    returncode, _, stderr = results["synthesized"]
    assert returncode == 0, stderr
    content = report(tmp, "synthesized")
    assert content["real"]["train_folds"] == [0] and content["synthetic"]["images"] == 3 * len(CLASSES)


def test_a_synthesized_set_gets_the_audit_in_its_data_card(runs):
    tmp, results = runs
    returncode, stdout, stderr = results["synthesized"]
    assert returncode == 0, stderr
    card = json.load(open(tmp / "synthesized" / "datacard.json"))
    swd = report(tmp, "synthesized")["swd"]["overall"]
    assert card["quality"]["swd"]["overall"]["ratio_to_floor"] == swd["ratio_to_floor"]
    assert f"updated {tmp / 'synthesized' / 'DATACARD.md'}" in stdout
    assert "Not audited yet" not in open(tmp / "synthesized" / "DATACARD.md").read()
    # a folder tools.synthesize did not make gets no card
    assert results["synthetic"][0] == 0 and not os.path.exists(tmp / "synthetic" / "datacard.json")


@pytest.mark.parametrize("key, message", [
    ("foreign_generator", "the generator was trained on dataset other at /data/other (fingerprint 000000000000...)"),
    ("bad_metric", "--metrics must be one of swd, msssim, fid, kid, memorization, got 'inception_score'"),
])
def test_errors_are_one_line_without_traceback(runs, key, message):
    tmp, results = runs
    returncode, _, stderr = results[key]
    assert returncode != 0 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "FATAL"))]
    assert len(errors) == 1 and errors[0].startswith("error: ") and message in errors[0], stderr
    assert not os.path.exists(tmp / "reports" / key)

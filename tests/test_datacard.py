"""Tests for tfpgan.datacard: the DATACARD.md / datacard.json of every synthetic set."""
import json
import os
import shutil

import numpy as np
import pytest

from tfpgan import datacard, quality, synthesis
from tfpgan.data.dataset_info import read_info
from tfpgan.errors import DataError
from tfpgan.options import QualityOptions

from test_synthesis import REAL_COUNTS, TRAINED_ON, export_tiny_generator

RECORDED = {"architecture": {"fmap_base": 32, "fmap_max": 8}, "loss": "wgan-gp", "augment": "ada",
            "excluded_ids": ["cyst/0001.png", "metastasis/0000.png"], "tfpgan_version": "0.1.0"}


@pytest.fixture(scope="module", name="setup")
def fixture_setup(tmp_path_factory):
    """(root, plain export dir, export dir whose tfpgan.json records RECORDED, real dataset dir)."""
    root = tmp_path_factory.mktemp("datacard")
    export_dir, dataset_dir = export_tiny_generator(str(root))
    recorded = str(root / "recorded_generator")
    shutil.copytree(export_dir, recorded)
    path = os.path.join(recorded, "tfpgan.json")
    json.dump({**json.load(open(path)), **RECORDED}, open(path, "w"))
    return root, export_dir, recorded, dataset_dir


def card_files(folder) -> tuple[dict, str]:
    return (json.load(open(os.path.join(folder, "datacard.json"))),
            open(os.path.join(folder, "DATACARD.md"), encoding="utf-8").read())


def test_synthesis_writes_a_card_without_quality(setup):
    root, export_dir, _, dataset_dir = setup
    output = str(root / "plain")
    info = synthesis.synthesize(export_dir, output, "per_class", 2, seed=4)

    card, markdown = card_files(output)
    real = read_info(dataset_dir)
    assert card["real_dataset"] == {"name": real.name, "fingerprint": real.fingerprint, "path": dataset_dir,
                                    "source": real.source, "licence": datacard.UNKNOWN_LICENCE}
    assert card["synthetic"]["per_class"] == info.counts == {name: 2 for name in sorted(REAL_COUNTS)}
    assert card["synthetic"]["synthesis"]["seed"] == 4 and card["synthetic"]["fingerprint"] == info.fingerprint
    assert card["generator"]["export"] == os.path.abspath(export_dir)
    assert card["generator"]["loss"] is None and card["generator"]["resolution"] == 8
    assert card["training_data"] == {"trained_on_folds": TRAINED_ON, "test_fold": 1, "excluded_ids": []}
    assert card["quality"] is None and "Not audited yet" in markdown
    assert "not for clinical use" in markdown and "may still reveal training patients" in markdown
    assert f"licence: {datacard.UNKNOWN_LICENCE}" in markdown
    assert datacard.is_synthetic_set(output) and not datacard.is_synthetic_set(dataset_dir)


def test_the_card_records_what_the_generator_metadata_holds(setup):
    root, _, recorded, _ = setup
    output = str(root / "recorded")
    synthesis.synthesize(recorded, output, "counts", {"cyst": 3})

    card, markdown = card_files(output)
    assert card["generator"]["architecture"] == RECORDED["architecture"]
    assert (card["generator"]["loss"], card["generator"]["augment"]) == ("wgan-gp", "ada")
    assert card["generator"]["tfpgan_version"] == "0.1.0"
    assert card["training_data"]["excluded_ids"] == RECORDED["excluded_ids"]
    assert "2 id(s) excluded from its training: cyst/0001.png, metastasis/0000.png" in markdown
    assert "| cyst | 3 |" in markdown and "| metastasis | 0 |" in markdown


@pytest.mark.parametrize("fields, licence", [({"source": "elpv"}, "CC BY-NC-SA 4.0"),
                                             ({"licence": "CC0 1.0"}, "CC0 1.0")])
def test_the_licence_comes_from_the_dataset_or_its_built_in_source(setup, tmp_path, fields, licence):
    _, export_dir, _, dataset_dir = setup
    copy = str(tmp_path / "real")
    shutil.copytree(dataset_dir, copy)
    info_path = os.path.join(copy, "dataset.json")
    json.dump({**json.load(open(info_path)), **fields}, open(info_path, "w"))  # shards unchanged: same fingerprint
    metadata = {**synthesis.read_generator_metadata(export_dir), "dataset": copy}
    assert datacard.real_dataset(metadata)["licence"] == licence
    moved = datacard.real_dataset({**metadata, "dataset": str(tmp_path / "gone")})
    assert moved["licence"] == datacard.UNKNOWN_LICENCE and "not at" in moved["source"]


def fake_report(real_report: dict) -> dict:
    """A measured SWD report completed with hand-made FID/KID (a meaningless feature space) and memorization."""
    return {**real_report,
            "fid_kid": {"domain": {"overall": {"fid": 4.5, "kid": {"mean": 0.03, "std": 0.01}, "synthetic_images": 6,
                                               "real_images": 9},
                                   "real_baseline": {"fid": 1.5, "kid": {"mean": 0.001, "std": 0.001},
                                                     "synthetic_images": 6, "real_images": 9},
                                   "classifier_accuracy": {"balanced_accuracy": 0.4, "chance": 0.5,
                                                           "permutation_p": 0.8, "permutations": 2000, "images": 10,
                                                           "evaluated_on": "the held-out real folds [1]",
                                                           "meaningful": False}}},
            "memorization": {"synthetic_images": 6, "heldout_images": 8, "percentile": 1.0, "threshold": 0.91,
                             "fraction_flagged": 1 / 6, "expected_fraction_flagged": 1 / 9,
                             "flagged_ids": ["synthetic/cyst/000000"]}}


def test_a_quality_result_is_added_and_kept_by_later_updates(setup):
    root, export_dir, _, dataset_dir = setup
    output = str(root / "audited")
    synthesis.synthesize(export_dir, output, "per_class", 2)
    images = quality.load_synthetic_dataset(output, read_info(dataset_dir))
    measured = quality.measure_quality(dataset_dir, TRAINED_ON, images, QualityOptions(metrics=("swd",)))
    result = quality.QualityResult(fake_report(measured.report))

    card = datacard.write_datacard(output, result)
    again = datacard.write_datacard(output)  # no result: the audit stays

    assert card_files(output)[0] == card == again
    swd = measured.report["swd"]["overall"]
    assert card["quality"]["swd"]["overall"]["ratio_to_floor"] == swd["ratio_to_floor"]
    assert card["quality"]["fid_kid"]["domain"]["real_baseline"] == {"fid": 1.5, "kid": 0.001, "images": 6}
    assert card["quality"]["memorization"]["flagged"] == 1
    markdown = card_files(output)[1]
    assert f"| overall | {swd['synthetic_vs_real']['average']:.2f} |" in markdown
    assert ("domain features (N = 6 synthetic, 6 held-out images): FID 4.500 (real baseline 1.500), KID 0.0300 "
            "(real baseline 0.0010); feature classifier balanced accuracy 0.400 on the held-out real folds [1] "
            "(chance 0.500, label-permutation p 0.8): **not better than chance, so these FID/KID values are "
            "meaningless**.") in markdown
    assert "memorization audit" not in markdown  # neither FID nor KID is below its real baseline
    assert "1 of 6 synthetic images (16.7%)" in markdown and "about 11.1% is expected" in markdown
    assert np.isfinite(card["quality"]["swd"]["overall"]["real_vs_real_noise_floor"])

    report = fake_report(measured.report)
    report["fid_kid"]["domain"]["real_baseline"]["fid"] = 9.0  # the synthetic FID 4.5 is below it
    datacard.write_datacard(output, quality.QualityResult(report))
    assert ("The synthetic FID is below its real baseline: the feature network was trained on the training images, "
            "so copies of them score below new real images; see the memorization audit.") in card_files(output)[1]


def test_a_folder_without_generator_gets_no_card(setup):
    _, _, _, dataset_dir = setup
    with pytest.raises(DataError, match="records no generator"):
        datacard.write_datacard(dataset_dir)
    assert not os.path.exists(os.path.join(dataset_dir, "datacard.json"))

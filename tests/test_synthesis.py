"""Tests for tfpgan.synthesis: counts per mode, determinism, the dataset folder it writes, PNGs and errors."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfpgan import synthesis
from tfpgan.data import tfrecords
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import read_info
from tfpgan.data.pipeline import load
from tfpgan.data.sources import open_source
from tfpgan.errors import TfpganError
from tfpgan.export import METADATA_FILE, export_generator, load_generator, read_metadata
from tfpgan.labeled import read_records
from tfpgan.models.networks import Generator
from tfpgan.options import BuildOptions

import datagen

REAL_COUNTS = {"cyst": 10, "hemangioma": 4, "metastasis": 2}
TRAINED_ON = [0]


def export_tiny_generator(root: str) -> tuple[str, str]:
    """(export dir, dataset dir): a real 2-fold unbalanced 8x8 dataset and an untrained generator exported with
    the metadata of one trained on its fold 0."""
    datagen.write_folder_source(os.path.join(root, "source"), REAL_COUNTS)
    dataset_dir = os.path.join(root, "real")
    info = build_dataset(open_source(f"folder:{os.path.join(root, 'source')}"), dataset_dir,
                         BuildOptions(resolution=8, channels=1, folds=2, seed=1))
    generator = Generator(num_classes=3, latent_size=8, channels=1, max_resolution=8, fmap_base=32, fmap_max=8)
    metadata = {"format_version": 1, "classes": info.classes, "num_classes": 3, "resolution": 8, "channels": 1,
                "latent_size": 8, "dataset": dataset_dir, "dataset_name": info.name,
                "dataset_fingerprint": info.fingerprint, "dataset_folds": 2, "trained_on_folds": TRAINED_ON,
                "test_fold": 1}
    export_dir = os.path.join(root, "generator")
    export_generator(generator, 8, metadata, export_dir)
    return export_dir, dataset_dir


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_tiny_generator(str(tmp_path_factory.mktemp("synthesis")))


def _records(dataset_dir):
    """{id: (label, uint8 image)} of every example, read straight from the shards."""
    info = read_info(dataset_dir)
    records = {}
    for shard in info.shards:
        for serialized in tf.data.TFRecordDataset(os.path.join(dataset_dir, shard)):
            example = tfrecords.parse_examples(serialized, info.resolution, info.channels)
            records[example["id"].numpy().decode()] = (int(example["label"]), example["image"].numpy())
    return records


def _expected_images(export_dir, seed, label, count):
    """What the generator makes of the documented latents, as uint8."""
    serve, metadata = load_generator(export_dir)
    latents = synthesis.class_latents(seed, label, count, metadata["latent_size"])
    images = serve(latents=tf.constant(latents), labels=tf.constant(np.full(count, label, np.int32)))["images"].numpy()
    return np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)


def test_per_class_writes_a_dataset_folder_that_load_reads(exported, tmp_path):
    export_dir, _ = exported
    output = str(tmp_path / "synthetic")

    info = synthesis.synthesize(export_dir, output, "per_class", 3, seed=7, batch_size=2)

    classes = sorted(REAL_COUNTS)
    assert info.classes == classes and info.counts == {name: 3 for name in classes}
    assert (info.folds, info.fold_counts, info.num_examples) == (1, [[3, 3, 3]], 9)
    assert (info.resolution, info.channels) == (8, 1)
    assert read_info(output) == info and os.path.isfile(os.path.join(output, "preview.png"))
    images, labels, ids = [], [], []
    for batch_images, batch_labels, batch_ids in load(output, batch_size=4, with_ids=True).as_numpy_iterator():
        images += list(batch_images)
        labels += list(batch_labels)
        ids += [i.decode() for i in batch_ids]
    assert sorted(ids) == [f"synthetic/{name}/{i:06d}" for name in classes for i in range(3)]
    for label, name in enumerate(classes):
        expected = _expected_images(export_dir, 7, label, 3).astype(np.float32) * (2 / 255) - 1
        for index in range(3):
            position = ids.index(f"synthetic/{name}/{index:06d}")
            assert labels[position] == label
            np.testing.assert_allclose(images[position], expected[index], atol=1e-6)
    assert np.ptp(np.array(images)) > 0.1


def test_metadata_records_generator_and_synthesis(exported, tmp_path):
    export_dir, _ = exported
    output = str(tmp_path / "synthetic")

    synthesis.synthesize(export_dir, output, "counts", {"metastasis": 2}, seed=3)

    fields = json.load(open(os.path.join(output, "dataset.json")))
    assert fields["extra"]["generator"] == read_metadata(export_dir)
    assert {"trained_on_folds", "test_fold", "dataset_fingerprint"} <= set(fields["extra"]["generator"])
    counts = {"cyst": 0, "hemangioma": 0, "metastasis": 2}
    assert fields["extra"]["synthesis"] == {"mode": "counts", "target": {"metastasis": 2}, "seed": 3,
                                            "counts": counts}
    assert fields["counts"] == counts and fields["source"] == f"generator:{os.path.abspath(export_dir)}"
    assert fields["name"] == "synthetic"


def test_balance_to_tops_up_the_training_folds_only(exported, tmp_path):
    export_dir, dataset_dir = exported
    fold_counts = json.load(open(os.path.join(dataset_dir, "dataset.json")))["fold_counts"]
    real = {name: sum(fold_counts[f][c] for f in TRAINED_ON) for c, name in enumerate(sorted(REAL_COUNTS))}
    assert real["cyst"] >= 4 > real["hemangioma"] > real["metastasis"]  # the test needs a class already at N

    info = synthesis.synthesize(export_dir, str(tmp_path / "balanced"), "balance_to", 4)

    assert synthesis.training_counts(read_metadata(export_dir)) == real
    assert info.counts == {name: max(0, 4 - real[name]) for name in real}
    assert info.counts["cyst"] == 0 and info.fold_counts == [list(info.counts.values())]
    assert len(list(load(str(tmp_path / "balanced")).as_numpy_iterator())) == sum(info.counts.values())


def test_balance_to_counts_only_the_real_images_the_generator_trained_on(exported, tmp_path):
    export_dir, dataset_dir = str(tmp_path / "generator"), exported[1]
    shutil.copytree(exported[0], export_dir)
    real = synthesis.training_counts(read_metadata(export_dir))
    fold_of = {r.id: (r.label, r.fold) for r in read_records(dataset_dir)}
    cyst_in_training = sorted(i for i, (label, fold) in fold_of.items() if label == 0 and fold in TRAINED_ON)
    held_out = next(i for i, (_, fold) in fold_of.items() if fold not in TRAINED_ON)
    # two training images of cyst left out of the GAN (validation images), plus an id of the test fold
    _edit_metadata(export_dir, excluded_ids=[*cyst_in_training[:2], held_out])

    info = synthesis.synthesize(export_dir, str(tmp_path / "balanced"), "balance_to", real["cyst"])

    assert synthesis.training_counts(read_metadata(export_dir)) == {**real, "cyst": real["cyst"] - 2}
    assert info.counts["cyst"] == 2  # real + synthetic reach the target exactly on the images the classifier has


def test_counts_mode_leaves_out_unnamed_classes():
    metadata = {"classes": ["a", "b", "c"]}
    assert synthesis.synthesis_counts(metadata, "counts", {"c": 5, "a": 1}) == {"a": 1, "b": 0, "c": 5}
    assert synthesis.synthesis_counts(metadata, "per_class", 2) == {"a": 2, "b": 2, "c": 2}
    with pytest.raises(TfpganError, match="unknown class.*d; the generator's classes are a, b, c"):
        synthesis.synthesis_counts(metadata, "counts", {"d": 1})
    with pytest.raises(TfpganError, match="nothing to synthesize"):
        synthesis.synthesis_counts(metadata, "counts", {"a": 0})


def test_plan_draws_each_class_from_its_own_stream():
    latents, labels, ids = synthesis.plan({"classes": ["a", "b", "c"], "latent_size": 4}, {"a": 2, "b": 0, "c": 1}, 5)

    assert labels.tolist() == [0, 0, 2] and labels.dtype == np.int32
    assert ids == ["synthetic/a/000000", "synthetic/a/000001", "synthetic/c/000000"]
    np.testing.assert_array_equal(latents[:2], np.random.default_rng([5, 0]).standard_normal((2, 4), np.float32))
    np.testing.assert_array_equal(latents[2:], np.random.default_rng([5, 2]).standard_normal((1, 4), np.float32))


def test_same_seed_same_images_other_seed_other_images(exported, tmp_path):
    export_dir, _ = exported
    runs = {name: str(tmp_path / name) for name in ("first", "again", "other", "fewer")}
    synthesis.synthesize(export_dir, runs["first"], "per_class", 3, seed=11, batch_size=4)
    synthesis.synthesize(export_dir, runs["again"], "per_class", 3, seed=11, batch_size=4)
    synthesis.synthesize(export_dir, runs["other"], "per_class", 3, seed=12, batch_size=4)
    synthesis.synthesize(export_dir, runs["fewer"], "counts", {"hemangioma": 2}, seed=11, batch_size=4)
    first, again, other, fewer = (_records(runs[name]) for name in ("first", "again", "other", "fewer"))

    assert first.keys() == again.keys() == other.keys()
    for key in first:
        np.testing.assert_array_equal(first[key][1], again[key][1])
        assert not np.array_equal(first[key][1], other[key][1]), key
    assert sorted(fewer) == ["synthetic/hemangioma/000000", "synthetic/hemangioma/000001"]
    for key in fewer:  # one latent stream per class: other classes' counts change nothing
        np.testing.assert_array_equal(fewer[key][1], first[key][1])


def test_png_files_match_the_records(exported, tmp_path):
    export_dir, _ = exported
    output = tmp_path / "with_png"

    synthesis.synthesize(export_dir, str(output), "counts", {"cyst": 2, "metastasis": 1}, png=True)

    files = sorted(str(p.relative_to(output / "png")) for p in (output / "png").rglob("*.png"))
    assert files == ["cyst/000000.png", "cyst/000001.png", "metastasis/000000.png"]
    for example_id, (_, image) in _records(str(output)).items():
        with Image.open(output / "png" / (example_id.removeprefix("synthetic/") + ".png")) as png:
            np.testing.assert_array_equal(np.asarray(png), image[:, :, 0])


def test_failed_run_leaves_nothing(exported, tmp_path, monkeypatch):
    export_dir, _ = exported
    output = tmp_path / "out"

    def broken_disk(*args):
        raise OSError("disk full")

    monkeypatch.setattr(synthesis, "write_pngs", broken_disk)
    with pytest.raises(TfpganError, match="cannot write .*disk full"):
        synthesis.synthesize(export_dir, str(output), "per_class", 1, png=True)
    assert os.listdir(tmp_path) == []


def test_existing_output_needs_overwrite(exported, tmp_path):
    export_dir, _ = exported
    output = tmp_path / "out"
    output.mkdir()
    (output / "old.txt").write_text("old")

    with pytest.raises(TfpganError, match="already exists"):
        synthesis.synthesize(export_dir, str(output), "per_class", 1)
    with pytest.raises(TfpganError, match="is not a folder tfpgan wrote"):  # --overwrite refuses it too
        synthesis.synthesize(export_dir, str(output), "per_class", 1, overwrite=True)
    assert os.listdir(output) == ["old.txt"]
    os.remove(output / "old.txt")
    synthesis.synthesize(export_dir, str(output), "per_class", 1, png=True, overwrite=True)
    synthesis.synthesize(export_dir, str(output), "per_class", 2, png=True, overwrite=True)  # its own set: replaced
    assert sorted(os.listdir(output)) == ["DATACARD.md", "data-00000-of-00001.tfrecord", "datacard.json",
                                          "dataset.json", "png", "preview.png"]


def _write_metadata(export_dir, text):
    with open(os.path.join(export_dir, METADATA_FILE), "w") as handle:
        handle.write(text)


def _edit_metadata(export_dir, **changes):
    metadata = {**read_metadata(export_dir), **changes}
    _write_metadata(export_dir, json.dumps({key: value for key, value in metadata.items() if value is not None}))


@pytest.mark.parametrize("change, message", [
    (shutil.rmtree, "generator folder not found"),
    (lambda d: os.remove(os.path.join(d, METADATA_FILE)), "no tfpgan.json"),
    (lambda d: os.remove(os.path.join(d, "saved_model.pb")), "no saved_model.pb"),
    (lambda d: _write_metadata(d, "{"), "tfpgan.json: cannot read"),
    (lambda d: _edit_metadata(d, latent_size=None), "missing key.*latent_size"),
    (lambda d: _edit_metadata(d, dataset_fingerprint="0" * 64), "changed since the generator was trained"),
    (lambda d: _edit_metadata(d, resolution=16), r"outputs \(8, 8, 1\) images, its metadata says \(16, 16, 1\)"),
])
def test_bad_generator_is_one_clear_error(exported, tmp_path, change, message):
    export_dir = str(tmp_path / "generator")
    shutil.copytree(exported[0], export_dir)
    change(export_dir)

    with pytest.raises(TfpganError, match=message):
        synthesis.synthesize(export_dir, str(tmp_path / "out"), "balance_to", 4)
    assert not os.path.exists(tmp_path / "out")


def test_balance_to_with_every_class_full_is_an_error(exported, tmp_path):
    with pytest.raises(TfpganError, match="nothing to synthesize"):
        synthesis.synthesize(exported[0], str(tmp_path / "out"), "balance_to", 1)
    assert not os.path.exists(tmp_path / "out")


def test_the_experiments_sample_grid_draws_every_class_from_the_generator(exported, tmp_path, monkeypatch):
    from tfpgan import experiment
    from tfpgan.options import ExperimentOptions
    from tfpgan.run_folder import SAMPLES_PER_CLASS
    from tfpgan.training import summaries

    export_dir, dataset_dir = exported
    options = ExperimentOptions(output=str(tmp_path / "out"), dataset=dataset_dir, synthesis_count=4, quality=False)
    grids = []
    monkeypatch.setattr(summaries, "labeled_grid", lambda fakes, *args: grids.append(fakes) or np.zeros((4, 4, 3),
                                                                                                      np.uint8))
    info = read_info(dataset_dir)
    experiment.synthesize_and_audit(options, info, 1, "", export_dir)  # test fold 1: trained on fold 0

    synthetic = read_info(str(tmp_path / "out" / "synthetic" / "fold1"))
    assert synthetic.counts["cyst"] == 0 < synthetic.counts["metastasis"]  # balance_to needed no cyst
    (fakes,) = grids
    assert fakes.shape == (3, SAMPLES_PER_CLASS, 8, 8, 1) and fakes.dtype == np.uint8
    assert (fakes.reshape(3, -1).max(axis=1) > 0).all()  # every row drawn, none a black tile row
    np.testing.assert_array_equal(fakes[2, :synthetic.counts["metastasis"]],
                                  _expected_images(export_dir, 1, 2, synthetic.counts["metastasis"]))
    assert (tmp_path / "out" / "samples" / "fold1.png").is_file()

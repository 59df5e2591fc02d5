"""Tests for tfpgan.data.build, dataset_info, preview, atomic output, and the tools.build_dataset binary."""

import hashlib
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfpgan.data import tfrecords
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import read_info
from tfpgan.data.folds import assign_folds
from tfpgan.data.sources import Item, Source, open_source
from tfpgan.errors import DataError, TfpganError
from tfpgan.options import BuildOptions, OptionsError

import datagen

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTS = {"cyst": 5, "hemangioma": 3, "metastasis": 4}
OPTIONS = BuildOptions(resolution=8, channels=1, folds=2, seed=3)


def _records(dataset_dir):
    """All examples of a dataset folder as a list of dicts of numpy values."""
    info = read_info(dataset_dir)
    files = [os.path.join(dataset_dir, s) for s in info.shards]
    parsed = tf.data.TFRecordDataset(files).map(lambda s: tfrecords.parse_examples(s, info.resolution, info.channels))
    return list(parsed.as_numpy_iterator())


def _folder(tmp_path, **kwargs):
    root = tmp_path / "source"
    return str(root), datagen.write_folder_source(str(root), COUNTS, **kwargs)


def _siblings(path):
    return sorted(os.listdir(os.path.dirname(path)))


def test_build_writes_records_description_and_preview(tmp_path):
    root, written = _folder(tmp_path)
    output = str(tmp_path / "lesions8")

    info = build_dataset(open_source(f"folder:{root}"), output, OPTIONS)

    fields = json.load(open(os.path.join(output, "dataset.json")))
    assert fields["name"] == "lesions8" and fields["source"] == f"folder:{root}"
    assert (fields["resolution"], fields["channels"], fields["folds"], fields["seed"]) == (8, 1, 2, 3)
    assert fields["classes"] == sorted(COUNTS) and fields["counts"] == COUNTS
    assert fields["num_examples"] == 12 and fields["format_version"] == 1
    labels = np.repeat([0, 1, 2], list(COUNTS.values()))
    ids = [os.path.join(name, f"img{i:03d}.png") for name, count in COUNTS.items() for i in range(count)]
    folds = assign_folds(ids, labels, [""] * 12, 2, 3, sorted(COUNTS))
    assert fields["fold_counts"] == [[int(np.sum((folds == f) & (labels == c))) for c in range(3)] for f in range(2)]
    digest = hashlib.sha256()
    for shard in fields["shards"]:
        digest.update(open(os.path.join(output, shard), "rb").read())
    assert fields["fingerprint"] == digest.hexdigest()
    assert fields["skipped"] == {"count": 0, "files": []} and fields["grouped"] is False
    assert fields["ignored_files"] == {"count": 0, "files": []}
    assert fields["intensity"] == {"mode": "auto", "low": None, "high": None}  # uint8 only: no range needed
    assert read_info(output) == info

    records = _records(output)
    assert sorted(r["id"].decode() for r in records) == sorted(written)
    for record in records:
        relative = record["id"].decode()
        np.testing.assert_array_equal(record["image"], written[relative])
        assert info.classes[record["label"]] == relative.split(os.sep)[0]

    with open(os.path.join(output, "preview.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with Image.open(os.path.join(output, "preview.png")) as preview:
        preview.verify()
        assert preview.format == "PNG" and min(preview.size) > 100
    assert _siblings(output) == ["lesions8", "source"]


def test_build_is_deterministic_for_a_seed(tmp_path):
    source = open_source(f"folder:{_folder(tmp_path)[0]}")
    first = build_dataset(source, str(tmp_path / "a"), OPTIONS)
    again = build_dataset(source, str(tmp_path / "b"), OPTIONS, name="a")
    other = build_dataset(source, str(tmp_path / "c"), BuildOptions(resolution=8, folds=2, seed=4), name="a")
    assert again == first
    assert other.fingerprint != first.fingerprint


def test_build_resizes_and_converts_channels(tmp_path):
    root, written = _folder(tmp_path, size=16, channels=3)
    output = str(tmp_path / "rgb4")
    build_dataset(open_source(f"folder:{root}"), output, BuildOptions(resolution=4, channels=3, folds=3))
    record = _records(output)[0]
    assert record["image"].shape == (4, 4, 3)
    source_mean = written[record["id"].decode()].mean(axis=(0, 1))
    np.testing.assert_allclose(record["image"].mean(axis=(0, 1)), source_mean, atol=3)


def _grouped_csv(tmp_path, images_per_patient):
    """labels.csv of 24 images, classes a/b alternating, `images_per_patient` consecutive images per patient."""
    rows = []
    for i in range(24):
        path = datagen.write_image(str(tmp_path / "img" / f"{i}.png"), datagen.random_image(i))
        rows.append({"path": os.path.relpath(path, tmp_path), "label": "ab"[i % 2],
                     "group": f"p{i // images_per_patient}"})
    return datagen.write_csv(str(tmp_path / "labels.csv"), rows, ["path", "label", "group"])


def test_build_from_csv_keeps_patients_in_one_fold(tmp_path):
    csv_path = _grouped_csv(tmp_path, 4)
    output = str(tmp_path / "out")

    info = build_dataset(open_source(f"csv:{csv_path}"), output, BuildOptions(resolution=8, folds=3))

    assert info.grouped and info.counts == {"a": 12, "b": 12}
    fold_of_group = {}
    for record in _records(output):
        group = record["group"].decode()
        assert fold_of_group.setdefault(group, record["fold"]) == record["fold"], group
    assert len(fold_of_group) == 6 and set(fold_of_group.values()) == {0, 1, 2}


def test_dataset_source_reassigns_the_folds_of_a_dataset_folder(tmp_path):
    csv_path = _grouped_csv(tmp_path, 2)
    first = str(tmp_path / "first")
    build_dataset(open_source(f"csv:{csv_path}"), first, BuildOptions(resolution=8, folds=3, seed=0))
    again = str(tmp_path / "again")
    info = build_dataset(open_source(f"dataset:{first}"), again, BuildOptions(resolution=8, folds=3, seed=1))

    before = {r["id"]: r for r in _records(first)}
    after = {r["id"]: r for r in _records(again)}
    assert before.keys() == after.keys() and info.source == f"dataset:{first}" and info.grouped
    for example_id, record in after.items():
        np.testing.assert_array_equal(record["image"], before[example_id]["image"])  # pixels as stored
        assert (record["label"], record["group"]) == (before[example_id]["label"], before[example_id]["group"])
    fold_of_group = {}
    for record in after.values():
        assert fold_of_group.setdefault(record["group"], record["fold"]) == record["fold"]  # still patient-grouped
    assert any(after[i]["fold"] != before[i]["fold"] for i in after)  # another partition
    assert info.fingerprint != read_info(first).fingerprint
    with pytest.raises(DataError, match="dataset:DIR"):
        open_source("dataset:")


def test_build_from_npz_and_attributes(tmp_path):
    images = np.stack([datagen.random_image(i, size=28)[:, :, 0] for i in range(9)])
    path = datagen.write_npz(str(tmp_path / "organ.npz"), {"train": (images[:6], np.arange(6) % 3),
                                                            "test": (images[6:], np.arange(3))})
    info = build_dataset(open_source(f"npz:{path}"), str(tmp_path / "out"), BuildOptions(resolution=4, folds=3))
    assert info.counts == {"0": 3, "1": 3, "2": 3} and info.fold_counts == [[1, 1, 1]] * 3

    source = Source("test", ("x",), [Item(f"{i}", 0, lambda: np.zeros((4, 4, 1), np.uint8),
                                           attributes={"scanner": "ab"[i % 2]}) for i in range(5)])
    info = build_dataset(source, str(tmp_path / "attributes"), BuildOptions(resolution=4, folds=2))
    assert info.attributes == {"scanner": {"a": 3, "b": 2}}
    assert json.loads(_records(str(tmp_path / "attributes"))[0]["attributes"])["scanner"] in "ab"


def test_one_fold_puts_every_example_in_fold_zero(tmp_path):
    root, _ = _folder(tmp_path)
    info = build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"), BuildOptions(resolution=8, folds=1))
    assert info.folds == 1 and info.fold_counts == [list(COUNTS.values())]
    assert {record["fold"] for record in _records(str(tmp_path / "out"))} == {0}


BAD_FILES = {
    "zero-byte": ("cyst/empty.png", lambda p: open(p, "wb").close()),
    "truncated": ("cyst/cut.png", lambda p: datagen.write_truncated(p, datagen.random_image(0, 32))),
    "text as png": ("hemangioma/text.png", datagen.write_text),
    "text as npy": ("metastasis/notes.npy", datagen.write_text),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_image_fails_naming_the_file_and_leaves_nothing(tmp_path, kind):
    root, _ = _folder(tmp_path)
    relative, write = BAD_FILES[kind]
    write(os.path.join(root, relative))
    output = str(tmp_path / "out")
    with pytest.raises(DataError, match=os.path.basename(relative)) as error:
        build_dataset(open_source(f"folder:{root}"), output, OPTIONS)
    assert "\n" not in str(error.value)
    assert _siblings(output) == ["source"]


def test_bad_images_are_skipped_with_a_warning_and_counted(tmp_path, caplog):
    root, _ = _folder(tmp_path)
    for relative, write in BAD_FILES.values():
        write(os.path.join(root, relative))
    datagen.write_text(os.path.join(root, "metastasis", "notes.txt"))
    output = str(tmp_path / "out")

    with caplog.at_level(logging.WARNING):
        info = build_dataset(open_source(f"folder:{root}"), output, BuildOptions(resolution=8, folds=2,
                                                                                on_bad_image="skip"))

    assert info.num_examples == 12 and info.counts == COUNTS
    fields = json.load(open(os.path.join(output, "dataset.json")))
    skipped = fields["skipped"]
    assert skipped["count"] == 4 and len(skipped["files"]) == 4
    assert fields["ignored_files"] == {"count": 1, "files": [os.path.join("metastasis", "notes.txt")]}
    for name in ("empty.png", "cut.png", "text.png", "notes.npy"):
        assert sum(name in line for line in skipped["files"]) == 1, name
        assert any(name in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records), name
    assert len(_records(output)) == 12


def test_class_left_without_images_is_an_error(tmp_path):
    root, _ = _folder(tmp_path)
    datagen.write_text(os.path.join(root, "unknown", "notes.png"))
    datagen.write_text(os.path.join(root, "unknown", "readme.png"))
    with pytest.raises(DataError, match="no readable images in class.*unknown"):
        build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"),
                      BuildOptions(resolution=8, folds=2, on_bad_image="skip"))


@pytest.mark.parametrize("field, value, message", [
    ("resolution", 48, "power of two"), ("resolution", 2, "power of two"), ("resolution", 2048, "power of two"),
    ("channels", 2, "--channels must be 1 or 3, got 2"), ("resize", "squash", "--resize must be one of"),
    ("folds", 0, "--folds must be > 0, got 0"), ("on_bad_image", "ignore", "--on_bad_image must be one of fail, skip"),
])
def test_invalid_build_options(field, value, message):
    with pytest.raises(OptionsError, match=message):
        BuildOptions(**{field: value})


def _item(index, fail_at=None, exception=DataError):
    def read():
        if index == fail_at:
            raise exception(f"image {index}: broken")
        return np.full((8, 8, 1), index, np.uint8)
    return Item(f"{index}.png", index % 2, read)


def _source(fail_at=None, exception=DataError):
    return Source("test", ("a", "b"), [_item(i, fail_at, exception) for i in range(10)])


@pytest.mark.parametrize("exception", [DataError, KeyboardInterrupt])
def test_failed_build_leaves_no_output_and_no_temporary_folder(tmp_path, exception):
    output = str(tmp_path / "out")
    with pytest.raises(exception):
        build_dataset(_source(fail_at=5, exception=exception), output, OPTIONS)
    assert os.listdir(tmp_path) == []


@pytest.fixture
def existing(tmp_path):
    """An existing dataset folder; returns (path, its dataset.json text)."""
    output = str(tmp_path / "out")
    build_dataset(_source(), output, OPTIONS)
    return output, open(os.path.join(output, "dataset.json")).read()


def test_existing_output_is_refused_without_overwrite(existing):
    output, description = existing
    with pytest.raises(TfpganError, match="already exists"):
        build_dataset(_source(), output, BuildOptions(resolution=4, folds=2))
    assert open(os.path.join(output, "dataset.json")).read() == description and _siblings(output) == ["out"]


def test_failed_overwrite_keeps_the_old_dataset(existing):
    output, description = existing
    with pytest.raises(DataError, match="broken"):
        build_dataset(_source(fail_at=7), output, BuildOptions(resolution=4, folds=2), overwrite=True)
    assert open(os.path.join(output, "dataset.json")).read() == description and _siblings(output) == ["out"]
    assert read_info(output).resolution == 8


def test_successful_overwrite_replaces_the_dataset(existing):
    output, _ = existing
    os.makedirs(os.path.join(output, ".cache"))  # tfpgan.quality's cache belongs to the dataset
    build_dataset(_source(), output, BuildOptions(resolution=4, folds=2), overwrite=True)
    assert read_info(output).resolution == 4
    assert not os.path.exists(os.path.join(output, ".cache")) and _siblings(output) == ["out"]


@pytest.mark.parametrize("prepare, reason", [
    (lambda d: datagen.write_text(os.path.join(d, "important.txt")), "it holds important.txt"),
    (lambda d: os.remove(os.path.join(d, "dataset.json")), "it has no readable dataset.json"),
    (lambda d: datagen.write_text(os.path.join(d, "dataset.json"), "{"), "it has no readable dataset.json"),
])
def test_overwrite_refuses_a_folder_tfpgan_did_not_write(existing, prepare, reason):
    output, _ = existing
    prepare(output)
    before = sorted(os.listdir(output))
    with pytest.raises(TfpganError, match=f"^{output} is not a folder tfpgan wrote \\({reason}\\): --overwrite does "
                                          "not replace it; remove or rename it yourself$"):
        build_dataset(_source(), output, BuildOptions(resolution=4, folds=2), overwrite=True)
    assert sorted(os.listdir(output)) == before and _siblings(output) == ["out"]


def test_overwrite_refuses_a_folder_of_user_files(tmp_path):
    output = tmp_path / "results"
    datagen.write_text(str(output / "important.txt"))
    with pytest.raises(TfpganError, match="it has no readable dataset.json"):
        build_dataset(_source(), str(output), OPTIONS, overwrite=True)
    assert os.listdir(output) == ["important.txt"]


def test_a_stale_temporary_folder_is_swept_when_the_output_is_built_again(tmp_path, caplog):
    stale = tmp_path / ".out.tmp-k1lled00"
    datagen.write_text(str(stale / "data-00000-of-00001.tfrecord"))
    with caplog.at_level(logging.WARNING):
        build_dataset(_source(), str(tmp_path / "out"), OPTIONS)
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert any(str(stale) in r.getMessage() and "interrupted" in r.getMessage() for r in caplog.records)


def test_intensity_auto_uses_the_dataset_wide_range_and_records_it(tmp_path):
    dark = np.kron([[0, 1000], [500, 1000]], np.ones((2, 2), np.uint16))[:, :, None]  # 12-bit CT in 16-bit files
    bright = np.kron([[0, 4000], [2000, 4000]], np.ones((2, 2), np.uint16))[:, :, None]
    gray = np.full((4, 4, 1), 77, np.uint8)
    arrays = [dark, bright, gray, dark, bright, gray]
    source = Source("test", ("a", "b"), [Item(f"{i}", i % 2, lambda i=i: arrays[i]) for i in range(6)])
    info = build_dataset(source, str(tmp_path / "auto"), BuildOptions(resolution=4, folds=2))
    images = {r["id"].decode(): r["image"][:, :, 0] for r in _records(str(tmp_path / "auto"))}
    assert images["0"].max() == 64 and images["1"].max() == 255  # 1000 / 4000 * 255, not stretched to 255
    assert images["2"].max() == images["2"].min() == 77  # uint8 as stored
    assert info.intensity == {"mode": "auto", "low": 0.0, "high": 4000.0}
    assert json.load(open(tmp_path / "auto" / "dataset.json"))["intensity"] == info.intensity
    info = build_dataset(source, str(tmp_path / "window"), BuildOptions(resolution=4, folds=2, intensity=(0, 2000)))
    assert info.intensity == {"mode": "window", "low": 0.0, "high": 2000.0}
    assert {r["id"].decode(): r["image"].max() for r in _records(str(tmp_path / "window"))}["0"] == 128


def test_old_descriptions_read_as_per_image_intensity(built):
    _edit_description(built, lambda fields: fields.pop("intensity"))
    assert read_info(built).intensity == {"mode": "per_image", "low": None, "high": None}


def test_folds_emptied_by_skipped_images_are_an_error(tmp_path):
    items = [Item(f"{i}", 0, lambda: np.zeros((4, 4, 1), np.uint8)) for i in range(2)]
    items.append(Item("bad", 0, lambda: np.zeros((4, 4, 4, 4), np.uint8)))  # one example per fold
    with pytest.raises(DataError, match=r"^fold \d has no examples \(2 examples in 3 folds\)"):
        build_dataset(Source("test", ("a",), items), str(tmp_path / "out"),
                      BuildOptions(resolution=4, folds=3, seed=0, on_bad_image="skip"))


def test_more_folds_than_the_smallest_class_is_one_clear_error(tmp_path):
    root, _ = _folder(tmp_path)
    with pytest.raises(DataError, match="^class hemangioma has 3 example.s., fewer than the 4 folds"):
        build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"), BuildOptions(resolution=8, folds=4))
    assert _siblings(str(tmp_path / "out")) == ["source"]


@pytest.fixture
def built(tmp_path):
    output = str(tmp_path / "out")
    build_dataset(_source(), output, OPTIONS)
    return output


def _edit_description(dataset_dir, change):
    path = os.path.join(dataset_dir, "dataset.json")
    fields = json.load(open(path))
    change(fields)
    json.dump(fields, open(path, "w"))


CORRUPTIONS = {
    "not json": (lambda d: datagen.write_text(os.path.join(d, "dataset.json"), "{resolution: 8"), "cannot read"),
    "binary": (lambda d: open(os.path.join(d, "dataset.json"), "wb").write(b"\xff\xfe\x00"), "cannot read"),
    "json list": (lambda d: datagen.write_text(os.path.join(d, "dataset.json"), "[1, 2]"), "not a JSON object"),
    "missing key": (lambda d: _edit_description(d, lambda f: f.pop("classes")), "missing key.*classes"),
    "wrong type": (lambda d: _edit_description(d, lambda f: f.update(resolution="8")), "wrong value type.*resolution"),
    "wrong element type": (lambda d: _edit_description(d, lambda f: f.update(fold_counts=[[1, "4"], [5, 5]])),
                           "wrong value type.*fold_counts"),
    "counts": (lambda d: _edit_description(d, lambda f: f["counts"].update(a=6)), "counts add up to 11"),
    "classes": (lambda d: _edit_description(d, lambda f: f.update(classes=["a", "c"])), "counts does not name"),
    "fold rows": (lambda d: _edit_description(d, lambda f: f.update(folds=3)), "one row per fold"),
    "resolution": (lambda d: _edit_description(d, lambda f: f.update(resolution=12)), "resolution 12"),
    "version": (lambda d: _edit_description(d, lambda f: f.update(format_version=9)), "format_version 9"),
    "missing shard": (lambda d: os.remove(os.path.join(d, "data-00000-of-00001.tfrecord")),
                      "shard file.*missing.*data-00000-of-00001.tfrecord"),
    "missing description": (lambda d: os.remove(os.path.join(d, "dataset.json")), "not a tfpgan dataset"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_read_info_rejects_a_broken_dataset_with_one_clear_error(built, kind):
    corrupt, message = CORRUPTIONS[kind]
    corrupt(built)
    with pytest.raises(DataError, match=message) as error:
        read_info(built)
    assert built in str(error.value) and "\n" not in str(error.value)


def test_read_info_on_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="dataset folder not found"):
        read_info(str(tmp_path / "absent"))


CLI_ERRORS = {
    "--resolution=48": "--resolution must be a power of two",
    "--source=folder:/nonexistent/tfpgan-source": "/nonexistent/tfpgan-source: source folder not found",
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Run tools.build_dataset on a tiny folder and with each bad flag, concurrently (each start imports TF)."""
    tmp = tmp_path_factory.mktemp("cli")
    root, _ = _folder(tmp)
    commands = {"ok": [f"--source=folder:{root}", f"--output={tmp / 'ok'}", "--resolution=8", "--folds=2"]}
    commands.update({flag: [f"--source=folder:{root}", f"--output={tmp / 'bad'}", "--resolution=8", flag]
                     for flag in CLI_ERRORS})
    processes = {key: subprocess.Popen([sys.executable, "-m", "tools.build_dataset", *args], cwd=REPO, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for key, args in commands.items()}
    outputs = {key: process.communicate(timeout=180) for key, process in processes.items()}
    return tmp, {key: (processes[key].returncode, *output) for key, output in outputs.items()}


def test_cli_builds_a_dataset_and_prints_a_summary(cli_runs):
    tmp, results = cli_runs
    returncode, stdout, stderr = results["ok"]
    assert returncode == 0, stderr
    assert f"wrote {tmp / 'ok'}: 12 images, 8x8x1, 2 folds" in stdout
    for name, count in COUNTS.items():
        assert any(line.split()[:2] == [name, str(count)] for line in stdout.splitlines()), name
    assert read_info(str(tmp / "ok")).counts == COUNTS


@pytest.mark.parametrize("flag", sorted(CLI_ERRORS))
def test_cli_errors_are_one_line_without_traceback(cli_runs, flag):
    tmp, results = cli_runs
    returncode, stdout, stderr = results[flag]
    assert returncode != 0 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "FATAL"))]
    assert len(errors) == 1 and CLI_ERRORS[flag] in errors[0], stderr
    assert not os.path.exists(tmp / "bad")


def test_the_same_source_builds_the_same_fingerprint_in_every_process(tmp_path):
    """Shards are byte-identical across processes (protobuf map order would otherwise follow the hash seed)."""
    datagen.write_folder_source(str(tmp_path / "source"), {"a": 3, "b": 3})
    fingerprints = []
    for seed in ("1", "2"):
        output = tmp_path / f"out{seed}"
        command = [sys.executable, "-m", "tools.build_dataset", f"--source=folder:{tmp_path / 'source'}",
                   f"--output={output}", "--resolution=8", "--folds=2"]
        completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120,
                                   env={**os.environ, "PYTHONHASHSEED": seed})
        assert completed.returncode == 0, completed.stderr[-2000:]
        fingerprints.append(read_info(str(output)).fingerprint)
    assert fingerprints[0] == fingerprints[1]

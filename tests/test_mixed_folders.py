"""Folders as users have them: mixed channel counts, palette and 16-bit PNGs, stray non-image files."""

import json
import logging
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfpgan.data import tfrecords
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import read_info
from tfpgan.data.sources import open_source
from tfpgan.errors import DataError
from tfpgan.options import BuildOptions

import datagen

GRAY = ("cls/gray0.png", "cls/gray1.png", "cls/deep.png")  # deep.png: 16-bit
COLOR = ("cls/rgb.png", "cls/palette.png")
DEEP = np.arange(64, dtype=np.uint16).reshape(8, 8, 1) * 60  # 0..3780


def _records(dataset_dir):
    """{id: stored image} of a dataset folder."""
    info = read_info(dataset_dir)
    files = [os.path.join(dataset_dir, s) for s in info.shards]
    parsed = tf.data.TFRecordDataset(files).map(lambda s: tfrecords.parse_examples(s, info.resolution, info.channels))
    return {r["id"].decode(): r["image"] for r in parsed.as_numpy_iterator()}


def _luma(rgb):
    return np.round(rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[:, :, None]


@pytest.fixture
def mixed(tmp_path):
    """A grayscale class folder with one RGB, one palette and one 16-bit PNG; returns (root, {id: RGB pixels})."""
    root = tmp_path / "source"
    for i, relative in enumerate(GRAY[:2]):
        datagen.write_image(str(root / relative), datagen.random_image(i))
    Image.fromarray(DEEP[:, :, 0]).save(root / "cls" / "deep.png")
    rgb = datagen.random_image(10, channels=3)
    datagen.write_image(str(root / "cls" / "rgb.png"), rgb)
    Image.fromarray(rgb).convert("P").save(root / "cls" / "palette.png")
    with Image.open(root / "cls" / "palette.png") as palette:
        assert palette.mode == "P"
        return str(root), {"cls/rgb.png": rgb, "cls/palette.png": np.asarray(palette.convert("RGB"))}


def test_mixed_folder_builds_as_grayscale_with_channels_1(tmp_path, mixed):
    root, color = mixed
    info = build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"),
                         BuildOptions(resolution=8, channels=1, folds=1))
    assert info.channels == read_info(str(tmp_path / "out")).channels == 1
    records = _records(str(tmp_path / "out"))
    assert sorted(records) == sorted(GRAY + COLOR) and all(r.shape == (8, 8, 1) for r in records.values())
    for relative, rgb in color.items():
        np.testing.assert_array_equal(records[relative], _luma(rgb))
    np.testing.assert_array_equal(records["cls/deep.png"], np.round(DEEP / 3780.0 * 255).astype(np.uint8))
    np.testing.assert_array_equal(records["cls/gray0.png"], datagen.random_image(0))


def test_grayscale_set_builds_with_channels_3(tmp_path):
    root = str(tmp_path / "source")
    written = datagen.write_folder_source(root, {"a": 2, "b": 2})
    info = build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"),
                         BuildOptions(resolution=8, channels=3, folds=2))
    assert info.channels == 3
    for relative, image in _records(str(tmp_path / "out")).items():
        assert image.shape == (8, 8, 3)
        np.testing.assert_array_equal(image, np.repeat(written[relative], 3, axis=2))


@pytest.mark.parametrize("channels", [1, 3])
def test_without_channels_the_data_keeps_its_own(tmp_path, channels):
    root = str(tmp_path / "source")
    datagen.write_folder_source(root, {"a": 2, "b": 2}, channels=channels)
    info = build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"), BuildOptions(resolution=4, folds=2))
    assert info.channels == channels
    assert all(r.shape == (4, 4, channels) for r in _records(str(tmp_path / "out")).values())


@pytest.mark.parametrize("on_bad_image", ["fail", "skip"])
def test_mixed_folder_without_channels_stops_naming_one_file_of_each_kind(tmp_path, mixed, on_bad_image):
    root, _ = mixed
    output = str(tmp_path / "out")
    with pytest.raises(DataError, match="mixed channel counts") as error:
        build_dataset(open_source(f"folder:{root}"), output,
                      BuildOptions(resolution=8, folds=1, on_bad_image=on_bad_image))
    message = str(error.value)
    found = re.fullmatch(r"mixed channel counts: (\S+) has (\d) channel\(s\), (\S+) has (\d); "
                         r"pass --channels=1 or --channels=3", message)
    assert found, message
    named = {int(found[2]): found[1], int(found[4]): found[3]}
    assert named[1] in GRAY and named[3] in COLOR, message
    assert not os.path.exists(output)


def test_non_image_files_are_ignored_counted_and_logged_once(tmp_path, caplog):
    root = str(tmp_path / "source")
    datagen.write_folder_source(root, {"a": 2, "b": 3})
    for name in ("notes.txt", ".DS_Store", "Thumbs.db"):
        datagen.write_text(os.path.join(root, "b", name))
    output = str(tmp_path / "out")

    with caplog.at_level(logging.WARNING):
        info = build_dataset(open_source(f"folder:{root}"), output, BuildOptions(resolution=8, folds=2))

    ignored = [os.path.join("b", n) for n in (".DS_Store", "Thumbs.db", "notes.txt")]
    assert info.counts == {"a": 2, "b": 3} and info.skipped["count"] == 0
    assert json.load(open(os.path.join(output, "dataset.json")))["ignored_files"] == {"count": 3, "files": ignored}
    warnings = [(r.levelno, r.getMessage()) for r in caplog.records if "non-image" in r.getMessage()]
    assert warnings == [(logging.WARNING, f"ignored 3 non-image file(s): {', '.join(ignored)}")]


def test_many_ignored_files_are_counted_and_listed_in_part(tmp_path, caplog):
    root = str(tmp_path / "source")
    datagen.write_folder_source(root, {"a": 1})
    for i in range(105):
        datagen.write_text(os.path.join(root, "a", f"note{i:03d}.txt"))
    with caplog.at_level(logging.WARNING):
        info = build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"), BuildOptions(resolution=8, folds=1))
    assert info.ignored_files["count"] == 105 and len(info.ignored_files["files"]) == 100
    warning, = [r.getMessage() for r in caplog.records if "non-image" in r.getMessage()]
    assert warning.startswith("ignored 105 non-image file(s): a/note000.txt, ") and warning.endswith("(95 more)")


def test_corrupt_png_is_still_an_error_naming_the_file(tmp_path):
    root = str(tmp_path / "source")
    datagen.write_folder_source(root, {"a": 2})
    datagen.write_text(os.path.join(root, "a", "broken.png"))
    with pytest.raises(DataError, match=r"broken\.png: cannot read image"):
        build_dataset(open_source(f"folder:{root}"), str(tmp_path / "out"), BuildOptions(resolution=8, folds=1))


def test_dataset_json_without_ignored_files_still_loads(tmp_path):
    root = str(tmp_path / "source")
    datagen.write_folder_source(root, {"a": 2})
    output = str(tmp_path / "out")
    build_dataset(open_source(f"folder:{root}"), output, BuildOptions(resolution=8, folds=1))
    path = os.path.join(output, "dataset.json")
    fields = json.load(open(path))
    del fields["ignored_files"]
    json.dump(fields, open(path, "w"))
    assert read_info(output).ignored_files == {"count": 0, "files": []}

"""Tests for tfpgan.data.sources: folder, CSV, NPZ (MedMNIST) and the built-in ELPV source."""

import collections
import os

import numpy as np
import pytest

from tfpgan.data.sources import ELPV_CLASSES, elpv_class, open_source
from tfpgan.errors import DataError

import datagen


def test_folder_source_reads_every_file_kind(tmp_path):
    root = tmp_path / "lesions"
    expected = {}
    for index, extension in enumerate([".png", ".jpg", ".tif", ".bmp", ".npy"]):
        relative = os.path.join("benign" if index % 2 else "malignant", f"case{index}{extension}")
        expected[relative] = datagen.write_image(str(root / relative), np.full((6, 6, 1), 40 * index, np.uint8))
    datagen.write_dicom(str(root / "benign" / "scan" / "ct.dcm"), np.array([[0, 100], [200, 300]], np.int16),
                        slope=1.0, intercept=-1000.0, window=(-850.0, 300.0))
    datagen.write_text(str(root / "benign" / ".DS_Store"))  # hidden files and folders are ignored
    datagen.write_text(str(root / "benign" / ".git" / "config.png"))
    datagen.write_text(str(root / ".hidden_class" / "x.png"))
    datagen.write_text(str(root / "malignant" / "notes.txt"))  # so are files of other kinds

    source = open_source(f"folder:{root}")

    assert source.spec == f"folder:{root}"
    assert source.classes == ("benign", "malignant")
    by_id = {item.id: item for item in source.items}
    assert sorted(by_id) == sorted([*expected, os.path.join("benign", "scan", "ct.dcm")])
    assert source.ignored == [os.path.join("benign", ".DS_Store"), os.path.join("malignant", "notes.txt")]
    for relative in expected:
        assert by_id[relative].label == source.classes.index(relative.split(os.sep)[0])
        pixels = by_id[relative].read()
        assert pixels.shape == (6, 6, 1) and pixels.dtype == np.uint8
        assert abs(int(pixels.mean()) - 40 * list(expected).index(relative)) <= 1
    # HU -1000, -900, -800, -700 in window [-1000, -700]: 0, 85, 170, 255
    dicom = by_id[os.path.join("benign", "scan", "ct.dcm")]
    np.testing.assert_array_equal(dicom.read()[:, :, 0], [[0, 85], [170, 255]])


def test_folder_source_passes_the_dicom_window(tmp_path):
    datagen.write_dicom(str(tmp_path / "a" / "ct.dcm"), np.array([[0, 100]], np.int16), window=(0.0, 1000.0))
    datagen.write_dicom(str(tmp_path / "b" / "ct.dcm"), np.array([[0, 100]], np.int16), window=(0.0, 1000.0))
    own, = [item.read() for item in open_source(f"folder:{tmp_path}").items if item.label == 0]
    windowed, = [item.read() for item in open_source(f"folder:{tmp_path}", (50.0, 100.0)).items if item.label == 0]
    np.testing.assert_array_equal(own[:, :, 0], [[128, 153]])
    np.testing.assert_array_equal(windowed[:, :, 0], [[0, 255]])


def test_folder_source_errors(tmp_path):
    with pytest.raises(DataError, match="absent: source folder not found"):
        open_source(f"folder:{tmp_path / 'absent'}")
    with pytest.raises(DataError, match="no class sub-folders"):
        open_source(f"folder:{tmp_path}")
    datagen.write_folder_source(str(tmp_path), {"cyst": 2})
    (tmp_path / "hemangioma").mkdir()
    with pytest.raises(DataError, match="hemangioma.*has no images"):
        open_source(f"folder:{tmp_path}")
    datagen.write_image(str(tmp_path / "hemangioma" / "._scan.png"), datagen.random_image(0))
    datagen.write_text(str(tmp_path / "hemangioma" / "notes.txt"))
    with pytest.raises(DataError, match="hemangioma.*has no images"):
        open_source(f"folder:{tmp_path}")


def test_folder_source_extensions_are_case_insensitive(tmp_path):
    images = ("a.PNG", "b.Jpeg", "c.TIF", "d.Bmp")
    for name in images:
        datagen.write_image(str(tmp_path / "x" / name), datagen.random_image(0))
    for name in ("e.png.bak", "Thumbs.db", "labels.csv"):
        datagen.write_text(str(tmp_path / "x" / name))
    source = open_source(f"folder:{tmp_path}")
    assert [item.id for item in source.items] == [os.path.join("x", n) for n in images]
    assert all(item.read().shape == (8, 8, 1) for item in source.items)
    assert source.ignored == [os.path.join("x", n) for n in ("Thumbs.db", "e.png.bak", "labels.csv")]


def test_csv_source_with_relative_paths_and_groups(tmp_path):
    datagen.write_folder_source(str(tmp_path / "images"), {"x": 3}, extension=".png")
    rows = [
        {"path": "images/x/img000.png", "label": "metastasis", "group": "patient1"},
        {"path": "images/x/img001.png", "label": "cyst", "group": "patient1"},
        {"path": "images/x/img002.png", "label": "metastasis", "group": ""},
    ]
    csv_path = datagen.write_csv(str(tmp_path / "labels.csv"), rows, ["label", "group", "path"])

    source = open_source(f"csv:{csv_path}")

    assert source.classes == ("cyst", "metastasis")
    assert [(i.id, i.label, i.group) for i in source.items] == [
        ("images/x/img000.png", 1, "patient1"), ("images/x/img001.png", 0, "patient1"),
        ("images/x/img002.png", 1, "")]
    np.testing.assert_array_equal(source.items[1].read(), datagen.random_image(1))


def test_csv_source_without_group_column(tmp_path):
    datagen.write_image(str(tmp_path / "a.png"), datagen.random_image(0))
    csv_path = datagen.write_csv(str(tmp_path / "labels.csv"), [{" path": "a.png", "label ": "only"}],
                                 [" path", "label "])
    item, = open_source(f"csv:{csv_path}").items
    assert (item.id, item.label, item.group) == ("a.png", 0, "")


@pytest.mark.parametrize("rows, columns, message", [
    ([{"file": "a.png", "label": "x"}], ["file", "label"], "missing column.*path"),
    ([{"path": "a.png", "class": "x"}], ["path", "class"], "missing column.*label"),
    ([{"path": "a.png", "label": "x"}, {"path": "b.png", "label": "x"}], ["path", "label"],
     "line 3: image 'b.png' not found"),
    ([{"path": "", "label": "x"}], ["path", "label"], "line 2: image '' not found"),
    ([{"path": "a.png", "label": ""}], ["path", "label"], "empty label"),
    ([], ["path", "label"], "no rows"),
])
def test_csv_source_errors_name_the_csv(tmp_path, rows, columns, message):
    datagen.write_image(str(tmp_path / "a.png"), datagen.random_image(0))
    csv_path = datagen.write_csv(str(tmp_path / "labels.csv"), rows, columns)
    with pytest.raises(DataError, match=f"labels.csv.*{message}"):
        open_source(f"csv:{csv_path}")


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match="CSV file not found"):
        open_source(f"csv:{tmp_path / 'labels.csv'}")


def test_npz_source_pools_medmnist_splits(tmp_path):
    train = datagen.random_image(1, size=4, channels=3)[None].repeat(3, axis=0)
    val = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    test = np.zeros((1, 4, 4), np.uint8)
    path = datagen.write_npz(str(tmp_path / "organ.npz"), {
        "test": (test, np.array([[0]])), "train": (train[:, :, :, 0], np.array([[2], [0], [2]])),
        "val": (val, np.array([[1], [2]]))})

    source = open_source(f"npz:{path}")

    assert source.classes == ("0", "1", "2")
    assert [(i.id, i.label) for i in source.items] == [
        ("train/0", 2), ("train/1", 0), ("train/2", 2), ("val/0", 1), ("val/1", 2), ("test/0", 0)]
    np.testing.assert_array_equal(source.items[3].read()[:, :, 0], val[0])
    np.testing.assert_array_equal(source.items[0].read(), train[0, :, :, :1])


def test_npz_source_reads_rgb(tmp_path):
    images = datagen.random_image(5, size=3, channels=3)[None]
    path = datagen.write_npz(str(tmp_path / "a.npz"), {"train": (images, np.array([0]))})
    np.testing.assert_array_equal(open_source(f"npz:{path}").items[0].read(), images[0])


def test_npz_source_errors(tmp_path):
    with pytest.raises(DataError, match="NPZ file not found"):
        open_source(f"npz:{tmp_path / 'absent.npz'}")
    datagen.write_text(str(tmp_path / "text.npz"))
    with pytest.raises(DataError, match="text.npz: cannot read NPZ"):
        open_source(f"npz:{tmp_path / 'text.npz'}")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="MedMNIST layout"):
        open_source(f"npz:{tmp_path / 'other.npz'}")
    np.savez(tmp_path / "nolabels.npz", train_images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match="no train_labels"):
        open_source(f"npz:{tmp_path / 'nolabels.npz'}")
    datagen.write_npz(str(tmp_path / "short.npz"), {"val": (np.zeros((2, 4, 4), np.uint8), np.array([0]))})
    with pytest.raises(DataError, match="val_images has 2 entries but val_labels 1"):
        open_source(f"npz:{tmp_path / 'short.npz'}")
    datagen.write_npz(str(tmp_path / "mixed.npz"), {"train": (np.zeros((1, 4, 4), np.uint8), np.array([0])),
                                                     "test": (np.zeros((1, 8, 8), np.uint8), np.array([0]))})
    with pytest.raises(DataError, match="mixed.npz: the splits' images differ in shape"):
        open_source(f"npz:{tmp_path / 'mixed.npz'}")


@pytest.mark.parametrize("spec", ["", "folder", "folder:", "csv", "npz:", "dataset:", "elpv:x", "zip:a.zip",
                                  "/data/images"])
def test_unknown_source_spec(spec):
    with pytest.raises(DataError, match="folder:DIR, csv:FILE, npz:FILE, dataset:DIR or elpv"):
        open_source(spec)


@pytest.mark.parametrize("probability, label", [(0.0, 0), (1 / 3, 1), (2 / 3, 1), (0.6666666666666666, 1),
                                                (1.0, 2)])
def test_elpv_class(probability, label):
    assert elpv_class(probability) == label


def test_builtin_elpv_source():
    source = open_source("elpv")
    assert source.classes == ELPV_CLASSES == ("functional", "possibly_defective", "defective")
    assert len(source.items) == 2624
    counts = collections.Counter(source.classes[item.label] for item in source.items)
    assert counts == {"functional": 1508, "possibly_defective": 401, "defective": 715}
    assert len({item.id for item in source.items}) == 2624
    assert {item.attributes["type"] for item in source.items} == {"mono", "poly"}
    pixels = source.items[0].read()
    assert pixels.shape == (300, 300, 1) and pixels.dtype == np.uint8

"""Tests for tfpgan.data.images: decoding every file kind, DICOM windowing, bad files, channels, squaring."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from tfpgan.data.images import convert_channels, fit_square, is_image_name, read_image, to_uint8
from tfpgan.errors import DataError
from tfpgan.options import parse_window

import datagen


@pytest.mark.parametrize("extension", [".png", ".tif", ".bmp", ".npy"])
@pytest.mark.parametrize("channels", [1, 3])
def test_lossless_formats_round_trip_exactly(tmp_path, extension, channels):
    pixels = datagen.random_image(seed=channels, size=8, channels=channels)
    path = datagen.write_image(str(tmp_path / f"image{extension}"), pixels)
    decoded = read_image(path)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, pixels)


def test_jpeg_decodes_close_to_the_original(tmp_path):
    gradient = np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8)[:, :, None] * 8
    path = datagen.write_image(str(tmp_path / "image.JPEG"), gradient)
    decoded = read_image(path)
    assert decoded.shape == (16, 16, 1)
    assert np.abs(decoded.astype(int) - gradient).max() <= 4


def test_alpha_is_dropped_and_palette_expanded(tmp_path):
    rgba = datagen.random_image(seed=3, size=4, channels=4)
    np.testing.assert_array_equal(read_image(datagen.write_image(str(tmp_path / "rgba.png"), rgba)), rgba[:, :, :3])
    palette_path = str(tmp_path / "palette.png")
    Image.fromarray(rgba[:, :, :3]).convert("P").save(palette_path)
    assert read_image(palette_path).shape == (4, 4, 3)


def test_non_uint8_arrays_are_min_max_scaled(tmp_path):
    values = np.array([[-2.0, 0.0], [2.0, 6.0]], np.float32)
    decoded = read_image(datagen.write_image(str(tmp_path / "float.npy"), values[:, :, None]))
    np.testing.assert_array_equal(decoded[:, :, 0], [[0, 64], [128, 255]])
    np.testing.assert_array_equal(to_uint8(np.full((2, 2), 7.0)), np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize("extension", [".png", ".tif"])
def test_16_bit_images_are_min_max_scaled(tmp_path, extension):
    path = str(tmp_path / f"deep{extension}")
    Image.fromarray(np.array([[0, 1000], [3000, 4000]], np.uint16)).save(path)
    np.testing.assert_array_equal(read_image(path)[:, :, 0], [[0, 64], [191, 255]])


# Stored values 0, 100, 200, -50 with slope 2, intercept -1024 are HU -1024, -824, -624, -1124.
DICOM_STORED = np.array([[0, 100], [200, -50]], np.int16)


def test_dicom_applies_rescale_and_the_files_window(tmp_path):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, slope=2.0, intercept=-1024.0,
                               window=(-800.0, 400.0))
    # Window [-1000, -600]: HU -824 -> 176/400*255 = 112.2, -624 -> 376/400*255 = 239.7, outside -> clipped.
    np.testing.assert_array_equal(read_image(path)[:, :, 0], [[0, 112], [240, 0]])


def test_explicit_window_overrides_the_files_window(tmp_path):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, slope=2.0, intercept=-1024.0,
                               window=(40.0, 400.0))
    # Window [-1200, -400]: HU -1024 -> 176/800*255 = 56.1, -824 -> 119.9, -624 -> 183.6, -1124 -> 24.2.
    np.testing.assert_array_equal(read_image(path, dicom_window=(-800.0, 800.0))[:, :, 0], [[56, 120], [184, 24]])
    assert read_image(path)[:, :, 0].max() == 0  # the file's own soft-tissue window: all these HU are below it


def test_dicom_without_window_is_min_max_scaled(tmp_path):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, slope=2.0, intercept=-1024.0)
    # HU range [-1124, -624]: -1024 -> 100/500*255 = 51, -824 -> 153.
    np.testing.assert_array_equal(read_image(path)[:, :, 0], [[51, 153], [255, 0]])


def test_monochrome1_is_inverted(tmp_path):
    normal = datagen.write_dicom(str(tmp_path / "m2.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0))
    inverted = datagen.write_dicom(str(tmp_path / "m1.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0),
                                   photometric="MONOCHROME1")
    np.testing.assert_array_equal(read_image(inverted), 255 - read_image(normal))


def test_parse_window():
    assert parse_window("40,400") == (40.0, 400.0)
    assert parse_window("-600.5, 1500") == (-600.5, 1500.0)
    for text in ("40", "a,b", "40,0", "40,-5", "1,2,3"):
        with pytest.raises(ValueError, match="window"):
            parse_window(text)


def _zero_byte(path):
    open(path, "wb").close()


BAD_FILES = {
    "empty.png": _zero_byte,
    "truncated.png": lambda p: datagen.write_truncated(p, datagen.random_image(0, 32)),
    "truncated.jpg": lambda p: datagen.write_truncated(p, datagen.random_image(0, 32)),
    "text.png": datagen.write_text,
    "text.dcm": datagen.write_text,
    "text.npy": datagen.write_text,
    "notes.txt": datagen.write_text,
    "object.npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "volume.npy": lambda p: np.save(p, np.zeros((2, 3, 4, 5), np.uint8)),
    "nan.npy": lambda p: np.save(p, np.array([[0.0, np.nan], [1.0, 2.0]])),
    "inf.npy": lambda p: np.save(p, np.array([[0.0, np.inf], [1.0, 2.0]])),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_a_data_error_naming_the_file(tmp_path, name):
    path = str(tmp_path / name)
    BAD_FILES[name](path)
    with pytest.raises(DataError, match=f"^{re.escape(path)}: ") as error:
        read_image(path)
    assert "\n" not in str(error.value)


def test_truncated_dicom_is_a_data_error(tmp_path):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), np.zeros((32, 32), np.int16))
    with open(path, "rb+") as handle:
        handle.truncate(os.path.getsize(path) - 1000)
    with pytest.raises(DataError, match="ct.dcm"):
        read_image(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_image(str(tmp_path / "absent.png"))


def test_convert_channels():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    gray = convert_channels(rgb, 1)
    assert gray.shape == (1, 4, 1) and gray.dtype == np.uint8
    np.testing.assert_array_equal(gray[0, :, 0], [76, 150, 29, 18])  # ITU-R 601 luma, rounded
    replicated = convert_channels(gray, 3)
    np.testing.assert_array_equal(replicated, np.repeat(gray, 3, axis=2))
    assert convert_channels(rgb, 3) is rgb


def test_fit_square_pad_crop_stretch():
    wide = np.full((2, 4, 1), 200, np.uint8)
    padded = fit_square(wide, 4, "pad")
    np.testing.assert_array_equal(padded[:, :, 0], [[0] * 4, [200] * 4, [200] * 4, [0] * 4])
    wide[:, 1:3] = 50
    np.testing.assert_array_equal(fit_square(wide, 2, "center_crop")[:, :, 0], [[50, 50], [50, 50]])
    stretched = fit_square(np.full((2, 6, 3), 90, np.uint8), 8, "stretch")
    assert stretched.shape == (8, 8, 3) and stretched.dtype == np.uint8
    np.testing.assert_array_equal(stretched, 90)


def test_fit_square_resizes_with_antialiasing():
    checker = (np.indices((16, 16)).sum(axis=0) % 2 * 255).astype(np.uint8)[:, :, None]
    small = fit_square(checker, 4, "pad")
    assert small.shape == (4, 4, 1)
    assert np.abs(small.astype(int) - 128).max() <= 2  # a fine checkerboard averages to mid-gray


def test_fit_square_rejects_unknown_mode():
    with pytest.raises(ValueError, match="resize mode"):
        fit_square(np.zeros((4, 4, 1), np.uint8), 4, "squash")


def test_is_image_name():
    for name in ("a.png", "B.PNG", "c.Jpeg", "d.jpg", "e.tif", "f.TIFF", "g.bmp", "h.dcm", "i.NPY", "x.y.png"):
        assert is_image_name(name), name
    for name in ("notes.txt", "labels.csv", "meta.json", ".DS_Store", "Thumbs.db", "._a.png", ".png", "a.png.bak",
                 "png", "dcm"):
        assert not is_image_name(name), name

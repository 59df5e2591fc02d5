"""Tests for tfpgan.data.images: decoding every file kind, intensity mapping, DICOM windowing, bad files, channels,
squaring."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from tfpgan.data.images import (
    Decoded,
    Intensity,
    convert_channels,
    decode_image,
    fit_square,
    is_image_name,
    read_image,
)
from tfpgan.errors import DataError
from tfpgan.options import BuildOptions, OptionsError, parse_intensity, parse_window

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


def test_non_uint8_arrays_are_min_max_scaled_per_image(tmp_path):
    values = np.array([[-2.0, 0.0], [2.0, 6.0]], np.float32)
    decoded = read_image(datagen.write_image(str(tmp_path / "float.npy"), values[:, :, None]))
    np.testing.assert_array_equal(decoded[:, :, 0], [[0, 64], [128, 255]])


@pytest.mark.parametrize("extension", [".png", ".tif"])
def test_16_bit_images_are_min_max_scaled(tmp_path, extension):
    path = str(tmp_path / f"deep{extension}")
    Image.fromarray(np.array([[0, 1000], [3000, 4000]], np.uint16)).save(path)
    np.testing.assert_array_equal(read_image(path)[:, :, 0], [[0, 64], [191, 255]])


RGB16 = np.array([[[0, 200, 400], [600, 1000, 65535]]], np.uint16)


def test_16_bit_colour_png_and_tiff_keep_16_bits(tmp_path):
    import tifffile

    png = datagen.write_png16(str(tmp_path / "deep.png"), RGB16)
    tiff = str(tmp_path / "deep.tif")
    tifffile.imwrite(tiff, RGB16, photometric="rgb")
    for path in (png, tiff):
        decoded = decode_image(path)
        assert decoded.values.dtype == np.uint16, path
        np.testing.assert_array_equal(decoded.values, RGB16)  # Pillow alone gives 0, 0, 1, 2, 3, 255
        np.testing.assert_array_equal(read_image(path, intensity=Intensity("dtype")), [[[0, 1, 2], [2, 4, 255]]])
    gray_alpha = np.stack([RGB16[:, :, 1], RGB16[:, :, 2]], axis=2)
    np.testing.assert_array_equal(decode_image(datagen.write_png16(str(tmp_path / "la.png"), gray_alpha)).values,
                                  RGB16[:, :, 1:2])


UINT16 = np.array([[0, 1000], [3000, 4095]], np.uint16)[:, :, None]


@pytest.mark.parametrize("intensity, expected", [
    (Intensity("per_image"), [[0, 62], [187, 255]]),
    (Intensity("dtype"), [[0, 4], [12, 16]]),
    (Intensity("window", 1000.0, 3000.0), [[0, 0], [255, 255]]),
    (Intensity("window", 0.0, 8190.0), [[0, 31], [93, 128]]),
    (Intensity("dataset", 0.0, 8190.0), [[0, 31], [93, 128]]),
    (Intensity("auto", 0.0, 8190.0), [[0, 31], [93, 128]]),
])
def test_intensity_modes(intensity, expected):
    np.testing.assert_array_equal(intensity.apply(Decoded(UINT16, "x.png"))[:, :, 0], expected)


def test_uint8_is_kept_except_by_dataset_and_window():
    pixels = np.array([[10, 20], [30, 40]], np.uint8)[:, :, None]
    for intensity in (Intensity("auto", 0.0, 4095.0), Intensity("dtype"), Intensity("per_image")):
        assert intensity.apply(Decoded(pixels, "x.png")) is pixels
    np.testing.assert_array_equal(Intensity("dataset", 10.0, 40.0).apply(Decoded(pixels, "x.png"))[:, :, 0],
                                  [[0, 85], [170, 255]])
    np.testing.assert_array_equal(Intensity("window", 20.0, 30.0).apply(Decoded(pixels, "x.png"))[:, :, 0],
                                  [[0, 0], [255, 255]])


@pytest.mark.parametrize("values, expected", [
    (np.full((2, 2, 1), 1000, np.uint16), 4),  # 1000 / 65535 * 255
    (np.full((2, 2, 1), 0.5, np.float32), 128),
    (np.full((2, 2, 1), 7.0), 255),  # a float beyond [0, 1] is clipped
    (np.full((2, 2, 1), -3, np.int16), 127),  # int16: -32768..32767
])
def test_constant_images_keep_their_value(values, expected):
    np.testing.assert_array_equal(Intensity("per_image").apply(Decoded(values, "x.npy")), expected)
    np.testing.assert_array_equal(Intensity("dataset", 5.0, 5.0).apply(Decoded(values, "x.npy")), expected)


def test_dtype_maps_floats_in_0_1_and_refuses_others(tmp_path):
    unit = np.array([[0.0, 0.25], [0.5, 1.0]])[:, :, None]
    np.testing.assert_array_equal(Intensity("dtype").apply(Decoded(unit, "u.npy"))[:, :, 0], [[0, 64], [128, 255]])
    with pytest.raises(DataError, match=r"^big\.npy: --intensity=dtype maps floats from \[0, 1\].*\[0, 2\]"):
        Intensity("dtype").apply(Decoded(unit * 2, "big.npy"))


def test_intensity_option():
    assert BuildOptions().intensity == "auto"
    assert parse_intensity("dataset") == "dataset" and parse_intensity(" -1000, 400 ") == (-1000.0, 400.0)
    assert Intensity.from_option((-1000.0, 400.0)) == Intensity("window", -1000.0, 400.0)
    for text in ("median", "1,2,3", "a,b", "5"):
        with pytest.raises(OptionsError, match="^--intensity must be auto, dtype, dataset, per_image or a window"):
            parse_intensity(text)
    for value in ("median", (400.0, -1000.0), (0.0, float("inf")), (1.0, 1.0)):
        with pytest.raises(OptionsError, match="^--intensity must be"):
            BuildOptions(intensity=value)


def test_jpeg_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :4] = 255  # white on the left of a wide image
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    path = str(tmp_path / "photo.jpg")
    Image.fromarray(pixels).save(path, exif=exif, quality=100)
    decoded = read_image(path)
    assert decoded.shape == (16, 8, 3)  # tall, as displayed
    assert decoded[:4].mean() > 200 and decoded[-4:].mean() < 50  # the white band is now at the top


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
    # A fixed window in HU, [-1124, -124]: -1024 -> 25.5, -824 -> 76.5, -624 -> 127.5 (rounded half to even).
    np.testing.assert_array_equal(read_image(path, intensity=Intensity("window", -1124.0, -124.0))[:, :, 0],
                                  [[26, 76], [128, 0]])


def _edit_dicom(path, change):
    import pydicom

    ds = pydicom.dcmread(path)
    change(ds)
    ds.save_as(path)
    return path


@pytest.mark.parametrize("center, width", [("", ""), (None, None), ("", 400.0), (-800.0, None)])
def test_empty_dicom_window_tags_count_as_absent(tmp_path, center, width):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0))
    _edit_dicom(path, lambda ds: (setattr(ds, "WindowCenter", center), setattr(ds, "WindowWidth", width)))
    np.testing.assert_array_equal(read_image(path)[:, :, 0], [[51, 153], [255, 0]])


@pytest.mark.parametrize("width", [0.0, -400.0])
def test_dicom_window_width_must_be_positive(tmp_path, width):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, width))
    with pytest.raises(DataError, match=f"^{re.escape(path)}: the file's DICOM window must be finite with width > 0"
                                        ".*--dicom_window"):
        read_image(path)
    assert read_image(path, dicom_window=(-800.0, 400.0)).shape == (2, 2, 1)  # the flag overrides the file


def test_dicom_without_preamble_and_meta_header_is_read(tmp_path):
    path = datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0))
    expected = read_image(path)
    import pydicom

    ds = pydicom.dcmread(path)
    ds.preamble = None
    del ds.file_meta
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    with open(path, "rb") as handle:
        assert b"DICM" not in handle.read(132)
    np.testing.assert_array_equal(read_image(path), expected)


def test_compressed_dicom_without_decoder_names_the_packages(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLosslessSV1

    def compress(ds):
        ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
        ds.PixelData = encapsulate([b"\xff\xd8 not really a jpeg \xff\xd9"])
        ds["PixelData"].VR = "OB"

    path = _edit_dicom(datagen.write_dicom(str(tmp_path / "ct.dcm"), DICOM_STORED), compress)
    with pytest.raises(DataError, match=f"^{re.escape(path)}: compressed DICOM .JPEG Lossless.*needs a decoder: "
                                        "pip install pylibjpeg pylibjpeg-libjpeg") as error:
        read_image(path)
    assert "\n" not in str(error.value)


def test_monochrome1_is_inverted(tmp_path):
    normal = datagen.write_dicom(str(tmp_path / "m2.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0))
    inverted = datagen.write_dicom(str(tmp_path / "m1.dcm"), DICOM_STORED, 2.0, -1024.0, (-800.0, 400.0),
                                   photometric="MONOCHROME1")
    np.testing.assert_array_equal(read_image(inverted), 255 - read_image(normal))
    normal = datagen.write_dicom(str(tmp_path / "m2raw.dcm"), DICOM_STORED, 2.0, -1024.0)
    inverted = datagen.write_dicom(str(tmp_path / "m1raw.dcm"), DICOM_STORED, 2.0, -1024.0, photometric="MONOCHROME1")
    window = Intensity("window", -1124.0, -124.0)  # in HU: the inversion comes after the window
    np.testing.assert_array_equal(read_image(inverted, intensity=window), 255 - read_image(normal, intensity=window))


def test_parse_window():
    assert parse_window("40,400") == (40.0, 400.0)
    assert parse_window("-600.5, 1500") == (-600.5, 1500.0)
    for text in ("40", "a,b", "40,0", "40,-5", "1,2,3", "nan,400", "40,inf"):
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

"""Decode one image file (PNG, JPEG, TIFF, BMP, DICOM, .npy), map its values to uint8, fit it to a square.

Decoding keeps the values as stored (`Decoded`: 16-bit PNG/TIFF stay uint16, .npy keeps its type, DICOM gives its
modality values unless a window applies); `Intensity` then decides how they become 0..255 (`--intensity`).
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage.transform import resize as sk_resize

from tfpgan.errors import DataError
from tfpgan.options import RESIZE_MODES

PIL_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
IMAGE_EXTENSIONS = PIL_EXTENSIONS + (".dcm", ".npy")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DICOM_DECODERS = "pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg (or python-gdcm)"
NUMERIC_KINDS = (np.bool_, np.integer, np.floating)


def is_image_name(name: str) -> bool:
    """Whether a file name is one the folder sources read: an image extension (any case), not hidden."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


@dataclasses.dataclass(frozen=True)
class Decoded:
    """An image's values as stored: HxWxC (C = 1 or 3), any numeric type, all finite.

    where: the file (for error messages). invert: lower values are brighter (DICOM MONOCHROME1); applied after
    the mapping to 0..255, so that a window in the file's units keeps its meaning.
    """

    values: np.ndarray
    where: str
    invert: bool = False


@dataclasses.dataclass(frozen=True)
class Intensity:
    """How values become 0..255: mode auto, dataset, dtype, per_image or window (see BuildOptions.intensity).

    low, high: the window, or for auto and dataset the range measured over the images `uses_range` selects.
    """

    mode: str = "per_image"
    low: float | None = None
    high: float | None = None

    @classmethod
    def from_option(cls, value: str | tuple[float, float]) -> Intensity:
        """From BuildOptions.intensity: a mode name or a (low, high) window."""
        return cls(value) if isinstance(value, str) else cls("window", float(value[0]), float(value[1]))

    def uses_range(self, values: np.ndarray) -> bool:
        """Whether these values are mapped by the range measured over the dataset."""
        return self.mode == "dataset" or (self.mode == "auto" and values.dtype != np.uint8)

    def apply(self, decoded: Decoded) -> np.ndarray:
        """uint8 HxWxC pixels."""
        bounds = self._bounds(decoded)
        pixels = decoded.values if bounds is None else scale(decoded.values, *bounds)
        return 255 - pixels if decoded.invert else pixels

    def _bounds(self, decoded: Decoded) -> tuple[float, float] | None:
        """The value range mapped to 0..255 (None: uint8 kept as it is)."""
        values = decoded.values
        if self.mode == "window" or self.uses_range(values):
            low, high = self.low, self.high
        elif values.dtype == np.uint8:
            return None
        elif self.mode == "per_image":
            low, high = float(values.min()), float(values.max())
        else:
            low, high = _dtype_bounds(decoded)
        return (low, high) if high > low else type_range(values)


def type_range(values: np.ndarray) -> tuple[float, float]:
    """The full range of the values' type: an integer type's limits; [0, 1] for floats and booleans."""
    if np.issubdtype(values.dtype, np.integer):
        limits = np.iinfo(values.dtype)
        return float(limits.min), float(limits.max)
    return 0.0, 1.0


def _dtype_bounds(decoded: Decoded) -> tuple[float, float]:
    values = decoded.values
    if np.issubdtype(values.dtype, np.floating) and (values.min() < 0.0 or values.max() > 1.0):
        raise DataError(f"{decoded.where}: --intensity=dtype maps floats from [0, 1], but the values span "
                        f"[{values.min():g}, {values.max():g}]; pass --intensity=auto, dataset, per_image or "
                        "LOW,HIGH")
    return type_range(values)


def scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map [low, high] linearly to 0..255 (values outside clipped), rounded to uint8."""
    unit = (np.asarray(values, np.float64) - low) / (high - low)
    return np.round(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def _png_bit_depth(path: str) -> int:
    """The bit depth in a PNG's header (0 when the file does not start like a PNG)."""
    with open(path, "rb") as handle:
        header = handle.read(25)
    return header[24] if len(header) == 25 and header.startswith(PNG_SIGNATURE) else 0


def _read_png16(path: str) -> np.ndarray:
    """A 16-bit PNG as uint16 (Pillow reduces 16-bit colour PNGs to 8 bits)."""
    import tensorflow as tf

    with open(path, "rb") as handle:
        return tf.io.decode_png(handle.read(), channels=0, dtype=tf.uint16).numpy()


def _read_deep_tiff(path: str) -> np.ndarray | None:
    """A colour TIFF of more than 8 bits per sample as stored (Pillow reduces it to 8 bits); None otherwise."""
    import tifffile

    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        if page.bitspersample <= 8 or page.samplesperpixel < 2:
            return None
        return np.moveaxis(page.asarray(), page.axes.index("S"), -1)


def _read_pil(path: str) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode in ("1", "CMYK", "YCbCr", "HSV", "LAB"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        return np.asarray(image)


def _read_raster(path: str, extension: str) -> np.ndarray:
    """PNG, JPEG, TIFF or BMP values as stored (16-bit colour PNG and TIFF included; EXIF orientation applied)."""
    if extension == ".png" and _png_bit_depth(path) == 16:
        return _read_png16(path)
    if extension in (".tif", ".tiff"):
        deep = _read_deep_tiff(path)
        if deep is not None:
            return deep
    return _read_pil(path)


def _first(value) -> float | None:
    """The first value of a (possibly multi-valued) DICOM element; None when absent or empty."""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue):
        value = value[0] if len(value) else None
    return None if value is None or value == "" else float(value)


def _file_window(ds, path: str) -> tuple[float, float] | None:
    """The file's own WindowCenter/WindowWidth (None when either is absent or empty)."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None:
        return None
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        raise DataError(f"{path}: the file's DICOM window must be finite with width > 0, got center {center:g}, "
                        f"width {width:g}; pass --dicom_window=center,width")
    return center, width


def _with_transfer_syntax(ds) -> None:
    """Give a file read without its meta header (no DICM preamble) the transfer syntax it was read with."""
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    if "TransferSyntaxUID" not in ds.file_meta:
        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                          ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def _dicom_values(ds, path: str) -> np.ndarray:
    """Pixel values after the modality LUT (rescale slope/intercept)."""
    from pydicom.pixels import apply_modality_lut

    _with_transfer_syntax(ds)
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        pixels = ds.pixel_array
    except RuntimeError as error:
        if syntax.is_compressed and "missing dependencies" in str(error):
            raise DataError(f"{path}: compressed DICOM ({syntax.name}) needs a decoder: {DICOM_DECODERS}") from None
        raise
    return apply_modality_lut(pixels, ds)


def _decode_dicom(path: str, window: tuple[float, float] | None) -> Decoded:
    import pydicom

    ds = pydicom.dcmread(path, force=True)
    values = _dicom_values(ds, path)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D DICOM image, got pixel array shape {values.shape}")
    window = window or _file_window(ds, path)
    if window is not None:
        center, width = window
        values = scale(values, center - width / 2.0, center + width / 2.0)
    invert = getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1"
    return dataclasses.replace(decode_array(values, path), invert=invert)


def decode_image(path: str, dicom_window: tuple[float, float] | None = None) -> Decoded:
    """Decode an image file's values as stored. Raises DataError naming the file and the problem."""
    extension = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    try:
        if extension == ".dcm":
            return _decode_dicom(path, dicom_window)
        if extension == ".npy":
            return decode_array(np.load(path, allow_pickle=False), path)
        if extension in PIL_EXTENSIONS:
            return decode_array(_read_raster(path, extension), path)
        raise ValueError(f"unsupported file type {extension!r} (expected one of {', '.join(IMAGE_EXTENSIONS)})")
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError) as error:
        raise DataError(f"{path}: cannot read image ({_first_line(error)})") from None
    except Exception as error:  # pydicom and TensorFlow raise assorted types on corrupt files
        raise DataError(f"{path}: cannot read image ({type(error).__name__}: {_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def read_image(path: str, dicom_window: tuple[float, float] | None = None,
               intensity: Intensity = Intensity()) -> np.ndarray:
    """Read an image file as uint8 HxWxC (C = 1, 3). Raises DataError naming the file and the problem."""
    return intensity.apply(decode_image(path, dicom_window))


def decode_array(pixels: np.ndarray, where: str) -> Decoded:
    """Check an array's shape and values and make it HxWxC (C = 1 or 3: alpha dropped)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or min(pixels.shape[:2]) < 1:
        raise DataError(f"{where}: expected a 2-D image with 1-4 channels, got array shape {pixels.shape}")
    if not any(np.issubdtype(pixels.dtype, kind) for kind in NUMERIC_KINDS):
        raise DataError(f"{where}: expected numeric pixel values, got type {pixels.dtype}")
    if pixels.shape[2] in (2, 4):  # drop alpha
        pixels = pixels[:, :, :-1]
    if np.issubdtype(pixels.dtype, np.floating) and not np.isfinite(pixels).all():
        raise DataError(f"{where}: pixel values are not finite")
    return Decoded(pixels, where)


def convert_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Convert uint8 HxWxC to `channels` (1: ITU-R 601 luma, 3: gray replicated)."""
    if pixels.shape[2] == channels:
        return pixels
    if channels == 3:
        return np.repeat(pixels, 3, axis=2)
    luma = pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.round(luma).astype(np.uint8)[:, :, None]


def fit_square(pixels: np.ndarray, resolution: int, mode: str) -> np.ndarray:
    """Make uint8 HxWxC square (pad with black, center-crop, or stretch) and resize to resolution."""
    height, width = pixels.shape[:2]
    if mode == "pad":
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        padded = np.zeros((side, side, pixels.shape[2]), np.uint8)
        padded[top : top + height, left : left + width] = pixels
        pixels = padded
    elif mode == "center_crop":
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        pixels = pixels[top : top + side, left : left + side]
    elif mode != "stretch":
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    if pixels.shape[:2] == (resolution, resolution):
        return pixels
    resized = sk_resize(pixels, (resolution, resolution), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(np.round(resized), 0, 255).astype(np.uint8)

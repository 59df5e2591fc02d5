"""Decode one image file (PNG, JPEG, TIFF, BMP, DICOM, .npy) and fit it to a square uint8 array."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError
from skimage.transform import resize as sk_resize

from tfpgan.errors import DataError
from tfpgan.options import RESIZE_MODES

PIL_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
IMAGE_EXTENSIONS = PIL_EXTENSIONS + (".dcm", ".npy")


def is_image_name(name: str) -> bool:
    """Whether a file name is one the folder sources read: an image extension (any case), not hidden."""
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """uint8 unchanged; any other dtype min-max scaled to 0..255 (per image)."""
    if pixels.dtype == np.uint8:
        return pixels
    pixels = np.asarray(pixels, dtype=np.float64)
    if not np.isfinite(pixels).all():
        raise ValueError("pixel values are not finite")
    low, high = pixels.min(), pixels.max()
    scaled = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
    return np.round(scaled * 255.0).astype(np.uint8)


def _read_pil(path: str) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode in ("1", "CMYK", "YCbCr", "HSV", "LAB"):
            image = image.convert("L" if image.mode == "1" else "RGB")
        return np.asarray(image)


def _read_dicom(path: str, window: tuple[float, float] | None) -> np.ndarray:
    import pydicom
    from pydicom.multival import MultiValue
    from pydicom.pixels import apply_modality_lut

    def first(value) -> float:
        return float(value[0]) if isinstance(value, MultiValue) else float(value)

    ds = pydicom.dcmread(path)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    if values.ndim != 2:
        raise ValueError(f"expected a 2-D DICOM image, got pixel array shape {values.shape}")
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        window = (first(ds.WindowCenter), first(ds.WindowWidth))
    if window is not None:
        center, width = window
        low = center - width / 2.0
        values = np.clip((values - low) / width, 0.0, 1.0) * 255.0
        values = np.round(values).astype(np.uint8)
    else:
        values = to_uint8(values)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        values = 255 - values
    return values


def read_image(path: str, dicom_window: tuple[float, float] | None = None) -> np.ndarray:
    """Read an image file as uint8 HxWxC (C = 1, 3). Raises DataError naming the file and the problem."""
    extension = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    try:
        if extension == ".dcm":
            pixels = _read_dicom(path, dicom_window)
        elif extension == ".npy":
            pixels = np.load(path, allow_pickle=False)
        elif extension in PIL_EXTENSIONS:
            pixels = _read_pil(path)
        else:
            raise ValueError(f"unsupported file type {extension!r} (expected one of {', '.join(IMAGE_EXTENSIONS)})")
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError) as error:
        raise DataError(f"{path}: cannot read image ({error})") from None
    except Exception as error:  # pydicom raises assorted types on corrupt files
        raise DataError(f"{path}: cannot read image ({type(error).__name__}: {error})") from None
    return as_hwc(pixels, path)


def as_hwc(pixels: np.ndarray, path: str) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or min(pixels.shape[:2]) < 1:
        raise DataError(f"{path}: expected a 2-D image with 1-4 channels, got array shape {pixels.shape}")
    if pixels.shape[2] in (2, 4):  # drop alpha
        pixels = pixels[:, :, :-1]
    try:
        return to_uint8(pixels)
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None


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

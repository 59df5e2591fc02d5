"""Test fixtures: write tiny image sources (PNG/JPEG/TIFF/BMP/.npy/DICOM, CSV, NPZ) into a temporary folder."""

from __future__ import annotations

import csv
import os
import struct
import zlib

import numpy as np
from PIL import Image


def random_image(seed: int, size: int = 8, channels: int = 1) -> np.ndarray:
    """A reproducible uint8 HxWxC image."""
    return np.random.default_rng(seed).integers(0, 256, size=(size, size, channels), dtype=np.uint8)


def write_image(path: str, pixels: np.ndarray) -> str:
    """Write uint8 HxWxC (C = 1, 3 or 4) pixels; the format follows the extension (.npy or anything PIL writes)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if path.endswith(".npy"):
        np.save(path, pixels)
    else:
        image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
        options = {"quality": 100} if path.lower().endswith((".jpg", ".jpeg")) else {}
        image.save(path, **options)
    return path


def write_png16(path: str, pixels: np.ndarray) -> str:
    """Write uint16 HxWxC (C = 1, 2, 3 or 4) pixels as a 16-bit PNG (Pillow cannot write 16-bit colour PNGs)."""
    height, width, channels = pixels.shape
    rows = b"".join(b"\0" + np.ascontiguousarray(row, ">u2").tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, {1: 0, 2: 4, 3: 2, 4: 6}[channels], 0, 0, 0)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))
    return path


def write_text(path: str, text: str = "not an image\n") -> str:
    """Write a text file (a stray note, or text saved under an image extension)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def write_truncated(path: str, pixels: np.ndarray, keep: float = 0.5) -> str:
    """Write a valid image file, then cut it to `keep` of its bytes."""
    write_image(path, pixels)
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: int(len(data) * keep)])
    return path


def write_dicom(path: str, stored: np.ndarray, slope: float = 1.0, intercept: float = 0.0,
                window: tuple[float, float] | None = None, photometric: str = "MONOCHROME2") -> str:
    """Write a minimal CT DICOM file from int16 HxW stored values (HU = stored * slope + intercept)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = slope, intercept, "HU"
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = np.ascontiguousarray(stored, dtype="<i2").tobytes()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_folder_source(root: str, counts: dict[str, int], size: int = 8, channels: int = 1,
                        extension: str = ".png", seed: int = 0) -> dict[str, np.ndarray]:
    """Write root/<class>/img<i><extension> for each class; return {relative path: pixels}."""
    written = {}
    for class_index, (name, count) in enumerate(counts.items()):
        for i in range(count):
            relative = os.path.join(name, f"img{i:03d}{extension}")
            pixels = random_image(seed + 1000 * class_index + i, size, channels)
            write_image(os.path.join(root, relative), pixels)
            written[relative] = pixels
    return written


def write_csv(path: str, rows: list[dict[str, str]], columns: list[str]) -> str:
    """Write a CSV with a header row."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_npz(path: str, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """Write a MedMNIST-layout archive: {split: (images, labels)} -> <split>_images, <split>_labels."""
    arrays = {}
    for split, (images, labels) in splits.items():
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez(path, **arrays)
    return path

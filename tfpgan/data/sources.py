"""Labeled image sources: `folder:DIR`, `csv:FILE`, `npz:FILE` (MedMNIST layout), `dataset:DIR` (a dataset folder
made by tfpgan, e.g. to assign its folds anew) and the built-in `elpv`."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
from typing import Callable

import numpy as np

from tfpgan.data.dataset_info import INFO_FILE, read_info
from tfpgan.data.images import Decoded, Intensity, decode_array, decode_image, is_image_name
from tfpgan.errors import DataError

ELPV_CLASSES = ("functional", "possibly_defective", "defective")
ELPV_LICENCE = "CC BY-NC-SA 4.0"
NPZ_SPLITS = ("train", "val", "test")
WARNING_LISTED = 10

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Item:
    """One labeled example; `load()` returns its values as stored: a `Decoded`, or a HxWxC array."""

    id: str
    label: int
    load: Callable[[], Decoded | np.ndarray]
    group: str = ""
    attributes: dict = dataclasses.field(default_factory=dict)

    def decode(self) -> Decoded:
        """The values as stored, HxWxC (C = 1 or 3). Raises DataError naming the file and the problem."""
        pixels = self.load()
        return pixels if isinstance(pixels, Decoded) else decode_array(pixels, self.id)

    def read(self, intensity: Intensity = Intensity()) -> np.ndarray:
        """uint8 HxWxC pixels (by default each non-uint8 image scaled to its own range)."""
        return intensity.apply(self.decode())


@dataclasses.dataclass(frozen=True)
class Source:
    """A list of items, the class names (index = label) and the non-image files left out (relative paths)."""

    spec: str
    classes: tuple[str, ...]
    items: list[Item]
    ignored: list[str] = dataclasses.field(default_factory=list)


def known_licence(spec: str) -> str | None:
    """The licence of a built-in source's images (`elpv`, also through a `dataset:DIR` made from it); None for a
    user's own data, whose licence tfpgan cannot know."""
    kind, _, location = spec.partition(":")
    if kind == "dataset" and os.path.isfile(os.path.join(location, INFO_FILE)):
        return known_licence(read_info(location).source)
    return ELPV_LICENCE if spec == "elpv" else None


def open_source(spec: str, dicom_window: tuple[float, float] | None = None) -> Source:
    """Open a source given as `folder:DIR`, `csv:FILE`, `npz:FILE`, `dataset:DIR` or `elpv`."""
    kind, _, location = spec.partition(":")
    if kind == "elpv" and not location:
        return _elpv_source(spec)
    if kind in ("folder", "csv", "npz", "dataset") and location:
        if kind == "folder":
            return _folder_source(spec, location, dicom_window)
        if kind == "csv":
            return _csv_source(spec, location, dicom_window)
        if kind == "dataset":
            return _dataset_source(spec, location)
        return _npz_source(spec, location)
    raise DataError(f"--source must be folder:DIR, csv:FILE, npz:FILE, dataset:DIR or elpv, got {spec!r}")


def _file_reader(path: str, dicom_window) -> Callable[[], Decoded]:
    return lambda: decode_image(path, dicom_window)


def _list_files(root: str, class_name: str) -> list[str]:
    """Every file under root/class_name, relative to root (sorted, hidden folders left out)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, class_name)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [os.path.relpath(os.path.join(dirpath, f), root) for f in sorted(filenames)]
    return files


def _warn_ignored(ignored: list[str]) -> None:
    if ignored:
        more = f", ... ({len(ignored) - WARNING_LISTED} more)" if len(ignored) > WARNING_LISTED else ""
        logger.warning("ignored %d non-image file(s): %s%s", len(ignored), ", ".join(ignored[:WARNING_LISTED]), more)


def _folder_source(spec: str, root: str, dicom_window) -> Source:
    if not os.path.isdir(root):
        raise DataError(f"{root}: source folder not found")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class sub-folders (expected one sub-folder of images per class)")
    items, ignored = [], []
    for label, name in enumerate(classes):
        images = []
        for relative in _list_files(root, name):
            (images if is_image_name(os.path.basename(relative)) else ignored).append(relative)
        if not images:
            raise DataError(f"{os.path.join(root, name)}: class folder '{name}' has no images")
        items += [Item(path, label, _file_reader(os.path.join(root, path), dicom_window)) for path in images]
    _warn_ignored(ignored)
    return Source(spec, tuple(classes), items, ignored)


def _csv_source(spec: str, csv_path: str, dicom_window) -> Source:
    if not os.path.isfile(csv_path):
        raise DataError(f"{csv_path}: CSV file not found")
    base = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("path", "label") if c not in columns]
        if missing:
            raise DataError(f"{csv_path}: missing column(s) {', '.join(missing)} "
                            f"(found: {', '.join(columns) or 'none'})")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    if not rows:
        raise DataError(f"{csv_path}: no rows")
    classes = tuple(sorted({row["label"] for row in rows}))
    if "" in classes:
        raise DataError(f"{csv_path}: a row has an empty label")
    items = []
    for line, row in enumerate(rows, start=2):
        path = os.path.join(base, row["path"])
        if not row["path"] or not os.path.isfile(path):
            raise DataError(f"{csv_path}, line {line}: image {row['path']!r} not found (paths are relative to the CSV)")
        items.append(Item(row["path"], classes.index(row["label"]), _file_reader(path, dicom_window),
                          row.get("group", "")))
    return Source(spec, classes, items)


def _array_reader(images: np.ndarray, index: int, where: str) -> Callable[[], Decoded]:
    return lambda: decode_array(images[index], where)


def _npz_source(spec: str, npz_path: str) -> Source:
    if not os.path.isfile(npz_path):
        raise DataError(f"{npz_path}: NPZ file not found")
    try:
        archive = np.load(npz_path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{npz_path}: cannot read NPZ ({error})") from None
    splits = [s for s in NPZ_SPLITS if f"{s}_images" in archive.files]
    if not splits:
        raise DataError(f"{npz_path}: no train_images/val_images/test_images arrays (MedMNIST layout expected)")
    images, labels, ids = [], [], []
    for split in splits:
        if f"{split}_labels" not in archive.files:
            raise DataError(f"{npz_path}: has {split}_images but no {split}_labels")
        split_images, split_labels = archive[f"{split}_images"], archive[f"{split}_labels"].reshape(-1)
        if len(split_images) != len(split_labels):
            raise DataError(f"{npz_path}: {split}_images has {len(split_images)} entries but "
                            f"{split}_labels {len(split_labels)}")
        images.append(split_images)
        labels.append(split_labels.astype(np.int64))
        ids += [f"{split}/{i}" for i in range(len(split_images))]
    try:
        images, labels = np.concatenate(images), np.concatenate(labels)
    except ValueError:
        shapes = ", ".join(f"{s}_images {archive[f'{s}_images'].shape}" for s in splits)
        raise DataError(f"{npz_path}: the splits' images differ in shape ({shapes})") from None
    classes = tuple(str(c) for c in range(int(labels.max()) + 1))
    items = [Item(ids[i], int(labels[i]), _array_reader(images, i, f"{npz_path}:{ids[i]}"))
             for i in range(len(ids))]
    return Source(spec, classes, items)


def _dataset_source(spec: str, directory: str) -> Source:
    """The examples of a dataset folder as stored (uint8 pixels, labels, ids, patient groups, attributes)."""
    import tensorflow as tf

    from tfpgan.data import tfrecords

    info = read_info(directory)
    files = [os.path.join(directory, shard) for shard in info.shards]
    items = []
    for batch in tf.data.TFRecordDataset(files).batch(256).map(
            lambda serialized: tfrecords.parse_examples(serialized, info.resolution, info.channels)):
        images = batch["image"].numpy()
        for i, (label, example_id, group, attributes) in enumerate(zip(
                batch["label"].numpy(), batch["id"].numpy(), batch["group"].numpy(), batch["attributes"].numpy())):
            example_id = example_id.decode("utf-8")
            items.append(Item(example_id, int(label), _array_reader(images, i, f"{directory}:{example_id}"),
                              group.decode("utf-8"), json.loads(attributes)))
    return Source(spec, tuple(info.classes), sorted(items, key=lambda item: item.id))


def elpv_class(probability: float) -> int:
    """ELPV defect probability -> class index: 0 functional, 1/3 and 2/3 possibly_defective, 1 defective."""
    if probability <= 0.0:
        return 0
    return 2 if probability >= 1.0 else 1


def _elpv_source(spec: str) -> Source:
    try:
        from elpv_dataset.utils import load_dataset
    except ImportError:
        raise DataError("the built-in 'elpv' source needs the elpv-dataset package "
                        "(pip install elpv-dataset)") from None
    logger.info("Loading the built-in ELPV solar-cell images (elpv-dataset package, %s)", ELPV_LICENCE)
    images, probabilities, types = load_dataset()
    items = [
        Item(f"cell{i + 1:04d}.png", elpv_class(float(p)), _array_reader(images, i, f"elpv cell{i + 1:04d}"),
             attributes={"type": str(t)})
        for i, (p, t) in enumerate(zip(probabilities, types))
    ]
    return Source(spec, ELPV_CLASSES, items)

"""Build a dataset folder (TFRecord shards + dataset.json + preview.png) from a labeled source."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import time
from collections import Counter

import numpy as np

from tfpgan.atomic import atomic_directory
from tfpgan.data import tfrecords
from tfpgan.data.dataset_info import INFO_FILE, DatasetInfo, is_power_of_two, validate
from tfpgan.data.folds import assign_folds
from tfpgan.data.images import RESIZE_MODES, convert_channels, fit_square
from tfpgan.data.preview import save_preview
from tfpgan.data.sources import Source
from tfpgan.errors import DataError

SHARD_BYTES = 64 << 20
PREVIEW_PER_CLASS = 8
BAD_IMAGE_POLICIES = ("fail", "skip")


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """How source images become dataset examples."""

    resolution: int = 64
    channels: int = 1
    resize: str = "pad"
    folds: int = 5
    seed: int = 0
    on_bad_image: str = "fail"

    def __post_init__(self):
        if not is_power_of_two(self.resolution) or not 4 <= self.resolution <= 1024:
            raise DataError(f"resolution must be a power of two in 4..1024, got {self.resolution}")
        if self.channels not in (1, 3):
            raise DataError(f"channels must be 1 or 3, got {self.channels}")
        if self.resize not in RESIZE_MODES:
            raise DataError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if self.folds < 1:
            raise DataError(f"folds must be >= 1 (1: every example in fold 0, no split), got {self.folds}")
        if self.on_bad_image not in BAD_IMAGE_POLICIES:
            raise DataError(f"on_bad_image must be fail or skip, got {self.on_bad_image!r}")


def fingerprint(directory: str, shards: list[str]) -> str:
    """sha256 over the shard files, in order: identifies the dataset's content."""
    digest = hashlib.sha256()
    for name in shards:
        with open(os.path.join(directory, name), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class _Encoder:
    """Reads, checks and encodes the source items, recording skips, counts and preview samples."""

    def __init__(self, source: Source, options: BuildOptions, folds: np.ndarray):
        self.source, self.options, self.folds = source, options, folds
        self.native_channels: tuple[int, str] | None = None
        self.skipped: list[str] = []
        self.kept: list[int] = []
        self.previews: list[list[np.ndarray]] = [[] for _ in source.classes]

    def _pixels(self, item) -> np.ndarray:
        pixels = item.read()
        if self.native_channels is None:
            self.native_channels = (pixels.shape[2], item.id)
        elif pixels.shape[2] != self.native_channels[0]:
            raise DataError(f"{item.id}: has {pixels.shape[2]} channel(s) but {self.native_channels[1]} has "
                            f"{self.native_channels[0]} (mixed channel counts)")
        return fit_square(convert_channels(pixels, self.options.channels), self.options.resolution,
                          self.options.resize)

    def __call__(self, order: np.ndarray):
        started = time.monotonic()
        for done, index in enumerate(order, start=1):
            item = self.source.items[index]
            try:
                pixels = self._pixels(item)
            except DataError as error:
                if self.options.on_bad_image == "fail":
                    raise
                logging.warning("skipping bad image: %s", error)
                self.skipped.append(str(error))
                continue
            self.kept.append(index)
            if len(self.previews[item.label]) < PREVIEW_PER_CLASS:
                self.previews[item.label].append(pixels)
            if done % 500 == 0 or done == len(order):
                logging.info("encoded %d/%d images (%.0f img/s)", done, len(order), done / (time.monotonic() - started))
            yield tfrecords.encode_example(pixels, item.label, int(self.folds[index]), item.id, item.group,
                                           item.attributes)


def build_dataset(source: Source, output: str, options: BuildOptions, overwrite: bool = False,
                  name: str = "") -> DatasetInfo:
    """Write the dataset folder atomically and return its description."""
    try:
        with atomic_directory(output, overwrite) as staging:
            return write_dataset(source, staging, options, name or os.path.basename(os.path.abspath(output)))
    except OSError as error:
        raise DataError(f"cannot write {output}: {error}") from None


def write_dataset(source: Source, directory: str, options: BuildOptions, name: str, extra: dict | None = None,
                  allow_empty_classes: bool = False) -> DatasetInfo:
    """Write shards, dataset.json (with `extra`) and preview.png into the existing, empty `directory`.

    Not atomic: `build_dataset` (or a caller adding files of its own) wraps it in `atomic_directory`.
    allow_empty_classes: keep classes without any example (counted 0) instead of failing.
    """
    labels = np.array([item.label for item in source.items])
    groups = [item.group for item in source.items]
    folds = assign_folds(labels, groups, options.folds, options.seed) if options.folds > 1 else \
        np.zeros(len(labels), np.int64)
    order = np.random.default_rng(options.seed).permutation(len(source.items))
    image_bytes = options.resolution**2 * options.channels
    num_shards = max(1, math.ceil(len(order) * image_bytes / SHARD_BYTES))
    encoder = _Encoder(source, options, folds)
    shards = tfrecords.write_shards(encoder(order), directory, num_shards)
    kept = np.array(sorted(encoder.kept), dtype=np.int64)
    empty = [class_name for label, class_name in enumerate(source.classes) if not np.any(labels[kept] == label)]
    if empty and not allow_empty_classes:
        raise DataError(f"{source.spec}: no readable images in class(es) {', '.join(empty)}")
    info = _describe(source, options, labels[kept], folds[kept], shards, encoder, name)
    info.extra = dict(extra or {})
    info.fingerprint = fingerprint(directory, shards)
    validate(info, directory)
    with open(os.path.join(directory, INFO_FILE), "w", encoding="utf-8") as handle:
        handle.write(info.to_json())
    save_preview(os.path.join(directory, "preview.png"), encoder.previews, info.classes,
                 [info.counts[c] for c in info.classes],
                 f"{info.name}: {info.num_examples} images, {options.resolution}x{options.resolution}")
    return info


def _describe(source, options, labels, folds, shards, encoder, name) -> DatasetInfo:
    classes = list(source.classes)
    fold_counts = [[int(np.sum((folds == f) & (labels == c))) for c in range(len(classes))]
                   for f in range(options.folds)]
    attributes: dict[str, dict[str, int]] = {}
    kept_items = [source.items[i] for i in encoder.kept]
    for key in sorted({k for item in kept_items for k in item.attributes}):
        attributes[key] = dict(sorted(Counter(str(item.attributes.get(key, "")) for item in kept_items).items()))
    return DatasetInfo(
        name=name,
        resolution=options.resolution,
        channels=options.channels,
        classes=classes,
        counts={c: int(np.sum(labels == i)) for i, c in enumerate(classes)},
        folds=options.folds,
        fold_counts=fold_counts,
        num_examples=int(len(labels)),
        source=source.spec,
        seed=options.seed,
        shards=shards,
        resize=options.resize,
        grouped=any(item.group for item in kept_items),
        skipped={"count": len(encoder.skipped), "files": encoder.skipped},
        attributes=attributes,
    )

"""Build a dataset folder (TFRecord shards + dataset.json + preview.png) from a labeled source."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections import Counter

import numpy as np

from tfpgan.atomic import atomic_directory
from tfpgan.data import tfrecords
from tfpgan.data.dataset_info import INFO_FILE, DatasetInfo, validate
from tfpgan.data.folds import assign_folds
from tfpgan.data.images import convert_channels, fit_square
from tfpgan.data.preview import save_preview
from tfpgan.data.sources import Source
from tfpgan.errors import DataError
from tfpgan.options import BuildOptions

SHARD_BYTES = 64 << 20
PREVIEW_PER_CLASS = 8
IGNORED_LISTED = 100

logger = logging.getLogger(__name__)


def fingerprint(directory: str, shards: list[str]) -> str:
    """sha256 over the shard files, in order: identifies the dataset's content."""
    digest = hashlib.sha256()
    for name in shards:
        with open(os.path.join(directory, name), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _first_channels(source: Source, order: np.ndarray) -> tuple[int, str]:
    """Channel count and id of the first image in `order` that reads ((1, "") when none does)."""
    for index in order:
        item = source.items[index]
        try:
            return item.read().shape[2], item.id
        except DataError:
            continue
    return 1, ""


class _Encoder:
    """Reads, checks and encodes the source items, recording skips, counts and preview samples."""

    def __init__(self, source: Source, options: BuildOptions, folds: np.ndarray, order: np.ndarray):
        self.source, self.options, self.folds, self.order = source, options, folds, order
        self.first = None if options.channels else _first_channels(source, order)
        self.channels = options.channels or self.first[0]
        self.skipped: list[str] = []
        self.kept: list[int] = []
        self.previews: list[list[np.ndarray]] = [[] for _ in source.classes]

    def _check_channels(self, pixels: np.ndarray, item) -> None:
        """Without an explicit channel count, every image must have the first image's."""
        if self.first and pixels.shape[2] != self.first[0]:
            raise DataError(f"mixed channel counts: {self.first[1]} has {self.first[0]} channel(s), {item.id} has "
                            f"{pixels.shape[2]}; pass --channels=1 or --channels=3")

    def __iter__(self):
        started = time.monotonic()
        for done, index in enumerate(self.order, start=1):
            item = self.source.items[index]
            try:
                pixels = item.read()
            except DataError as error:
                if self.options.on_bad_image == "fail":
                    raise
                logger.warning("skipping bad image: %s", error)
                self.skipped.append(str(error))
                continue
            self._check_channels(pixels, item)
            pixels = fit_square(convert_channels(pixels, self.channels), self.options.resolution, self.options.resize)
            self.kept.append(index)
            if len(self.previews[item.label]) < PREVIEW_PER_CLASS:
                self.previews[item.label].append(pixels)
            if done % 500 == 0 or done == len(self.order):
                rate = done / (time.monotonic() - started)
                logger.info("encoded %d/%d images (%.0f img/s)", done, len(self.order), rate)
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
    encoder = _Encoder(source, options, folds, order)
    image_bytes = options.resolution**2 * encoder.channels
    num_shards = max(1, math.ceil(len(order) * image_bytes / SHARD_BYTES))
    shards = tfrecords.write_shards(encoder, directory, num_shards)
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
        channels=encoder.channels,
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
        ignored_files={"count": len(source.ignored), "files": source.ignored[:IGNORED_LISTED]},
        attributes=attributes,
    )

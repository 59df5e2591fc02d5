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
from tfpgan.data.dataset_info import INFO_FILE, PREVIEW_FILE, DatasetInfo, foreign_content, validate
from tfpgan.data.folds import assign_folds, check_assignment
from tfpgan.data.images import Decoded, Intensity, convert_channels, fit_square
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
            return item.decode().values.shape[2], item.id
        except DataError:
            continue
    return 1, ""


class _Encoder:
    """Reads, checks and encodes the source items, recording skips, counts and preview samples.

    Images that the intensity mode maps by the dataset-wide range (auto: every non-uint8 image; dataset: all)
    are read twice: the first pass measures their range (one image in memory at a time) and encodes the others;
    the second pass encodes them. The intensity used is `self.intensity` once iteration ends.
    """

    def __init__(self, source: Source, options: BuildOptions, folds: np.ndarray, order: np.ndarray):
        self.source, self.options, self.folds, self.order = source, options, folds, order
        self.first = None if options.channels else _first_channels(source, order)
        self.channels = options.channels or self.first[0]
        self.intensity = Intensity.from_option(options.intensity)
        self.skipped: list[str] = []
        self.kept: list[int] = []
        self.previews: list[list[np.ndarray]] = [[] for _ in source.classes]
        self.encoded = 0

    def _check_channels(self, pixels: np.ndarray, item) -> None:
        """Without an explicit channel count, every image must have the first image's."""
        if self.first and pixels.shape[2] != self.first[0]:
            raise DataError(f"mixed channel counts: {self.first[1]} has {self.first[0]} channel(s), {item.id} has "
                            f"{pixels.shape[2]}; pass --channels=1 or --channels=3")

    def _decode(self, index: int) -> Decoded | None:
        """The item's values, or None when it is unreadable and bad images are skipped."""
        try:
            return self.source.items[index].decode()
        except DataError as error:
            if self.options.on_bad_image == "fail":
                raise
            logger.warning("skipping bad image: %s", error)
            self.skipped.append(str(error))
            return None

    def _encode(self, index: int, decoded: Decoded, started: float) -> bytes:
        item = self.source.items[index]
        self._check_channels(decoded.values, item)
        pixels = convert_channels(self.intensity.apply(decoded), self.channels)
        pixels = fit_square(pixels, self.options.resolution, self.options.resize)
        self.kept.append(index)
        if len(self.previews[item.label]) < PREVIEW_PER_CLASS:
            self.previews[item.label].append(pixels)
        self.encoded += 1
        if self.encoded % 500 == 0:
            rate = self.encoded / (time.monotonic() - started)
            logger.info("encoded %d/%d images (%.0f img/s)", self.encoded, len(self.order), rate)
        return tfrecords.encode_example(pixels, item.label, int(self.folds[index]), item.id, item.group,
                                        item.attributes)

    def __iter__(self):
        started, deferred, low, high = time.monotonic(), [], math.inf, -math.inf
        for index in self.order:
            decoded = self._decode(index)
            if decoded is None:
                continue
            if self.intensity.uses_range(decoded.values):
                deferred.append(index)
                low, high = min(low, float(decoded.values.min())), max(high, float(decoded.values.max()))
            else:
                yield self._encode(index, decoded, started)
        if deferred:
            self.intensity = dataclasses.replace(self.intensity, low=low, high=high)
            logger.info("intensity: %s range [%g, %g] of %d images; reading them again to encode them",
                        self.intensity.mode, low, high, len(deferred))
        for index in deferred:
            decoded = self._decode(index)
            if decoded is not None:
                yield self._encode(index, decoded, started)
        logger.info("encoded %d images", self.encoded)


def build_dataset(source: Source, output: str, options: BuildOptions, overwrite: bool = False,
                  name: str = "") -> DatasetInfo:
    """Write the dataset folder atomically and return its description."""
    try:
        with atomic_directory(output, overwrite, foreign_content) as staging:
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
    folds = _assign(source, labels, options)
    order = np.random.default_rng(options.seed).permutation(len(source.items))
    encoder = _Encoder(source, options, folds, order)
    image_bytes = options.resolution**2 * encoder.channels
    num_shards = max(1, math.ceil(len(order) * image_bytes / SHARD_BYTES))
    shards = tfrecords.write_shards(encoder, directory, num_shards)
    kept = np.array(sorted(encoder.kept), dtype=np.int64)
    empty = [class_name for label, class_name in enumerate(source.classes) if not np.any(labels[kept] == label)]
    if empty and not allow_empty_classes:
        raise DataError(f"{source.spec}: no readable images in class(es) {', '.join(empty)}")
    if encoder.skipped and options.folds > 1:
        check_assignment(labels[kept], folds[kept], options.folds, source.classes)
    info = _describe(source, options, labels[kept], folds[kept], shards, encoder, name)
    info.extra = dict(extra or {})
    info.fingerprint = fingerprint(directory, shards)
    validate(info, directory)
    with open(os.path.join(directory, INFO_FILE), "w", encoding="utf-8") as handle:
        handle.write(info.to_json())
    save_preview(os.path.join(directory, PREVIEW_FILE), encoder.previews, info.classes,
                 [info.counts[c] for c in info.classes],
                 f"{info.name}: {info.num_examples} images, {options.resolution}x{options.resolution}")
    return info


def _assign(source: Source, labels: np.ndarray, options: BuildOptions) -> np.ndarray:
    """The fold of every item (all 0 with one fold)."""
    if options.folds == 1:
        return np.zeros(len(labels), np.int64)
    return assign_folds([item.id for item in source.items], labels, [item.group for item in source.items],
                        options.folds, options.seed, source.classes)


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
        intensity={"mode": encoder.intensity.mode, "low": encoder.intensity.low, "high": encoder.intensity.high},
    )

"""The tf.data pipeline over a dataset folder: (image float32 in [-1, 1] NHWC, label int32)."""

from __future__ import annotations

import os
from typing import Sequence

import tensorflow as tf

from tfpgan.data import tfrecords
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.errors import DataError
from tfpgan.options import is_power_of_two

AUTOTUNE = tf.data.AUTOTUNE


def box_downsample(images: tf.Tensor, factor: int) -> tf.Tensor:
    """Average non-overlapping factor x factor blocks of [..., H, W, C] (repeated 2x2 box filtering)."""
    if factor == 1:
        return images
    shape = tf.shape(images)
    height, width, channels = images.shape[-3], images.shape[-2], images.shape[-1]
    blocks = tf.reshape(images, tf.concat([shape[:-3], [height // factor, factor, width // factor, factor,
                                                         channels]], 0))
    return tf.reduce_mean(blocks, axis=[-4, -2])


def to_model_range(images_uint8: tf.Tensor, factor: int) -> tf.Tensor:
    """uint8 -> float32 in [-1, 1], box-downsampled by `factor`."""
    images = tf.cast(images_uint8, tf.float32) * (2.0 / 255.0) - 1.0
    return box_downsample(images, factor)


def check_folds(info: DatasetInfo, folds: Sequence[int] | None, where: str) -> list[int]:
    """All folds when None; otherwise validated fold indices."""
    if folds is None:
        return list(range(info.folds))
    folds = sorted({int(f) for f in folds})
    bad = [f for f in folds if not 0 <= f < info.folds]
    if bad or not folds:
        raise DataError(f"{where}: has folds 0..{info.folds - 1}; cannot select folds {list(folds)}")
    return folds


def read_ids(path: str) -> list[str]:
    """The sorted distinct example ids of a text file, one per line (blank lines ignored); a missing or empty file
    is a DataError."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such id file (one example id per line)")
    with open(path, encoding="utf-8") as handle:
        ids = sorted({line.strip() for line in handle if line.strip()})
    if not ids:
        raise DataError(f"{path}: the id file is empty (one example id per line)")
    return ids


def load(dataset_dir: str, folds: Sequence[int] | None = None, resolution: int | None = None,
         batch_size: int | None = None, shuffle: bool = False, repeat: bool = False, balanced: bool = False,
         seed: int | None = None, drop_remainder: bool = False, shuffle_buffer: int | None = None,
         input_context: tf.distribute.InputContext | None = None, with_ids: bool = False,
         exclude_ids: Sequence[str] = ()) -> tf.data.Dataset:
    """Read a dataset folder as a tf.data.Dataset of (images, labels) (plus ids with `with_ids`).

    folds: the folds to read (None = all). resolution: any power of two <= the stored one (2x2 box
    downsampling). balanced: sample every class equally often (implies repeat). input_context: from
    `strategy.distribute_datasets_from_function`; the pipeline is then sharded by input pipeline and
    `batch_size` is the per-replica batch. Decoded images are cached in memory at the stored resolution.
    shuffle_buffer: default the number of selected examples (of each class, when balanced), so that every
    epoch is a uniform permutation; a smaller buffer saves memory but keeps the shard order partly.
    exclude_ids: examples never read (e.g. the classifier's validation images kept from the GAN).
    """
    info = read_info(dataset_dir)
    folds = check_folds(info, folds, dataset_dir)
    resolution = resolution or info.resolution
    if not is_power_of_two(resolution) or resolution > info.resolution:
        raise DataError(f"{dataset_dir}: resolution must be a power of two <= {info.resolution}, got {resolution}")
    factor = info.resolution // resolution
    files = [os.path.join(dataset_dir, s) for s in info.shards]
    dataset = tf.data.TFRecordDataset(files, num_parallel_reads=min(len(files), 4))
    if input_context is not None and input_context.num_input_pipelines > 1:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        seed = None if seed is None else seed + input_context.input_pipeline_id
    dataset = dataset.batch(256).map(lambda s: tfrecords.parse_examples(s, info.resolution, info.channels),
                                     num_parallel_calls=AUTOTUNE).unbatch()
    wanted = tf.constant(folds, tf.int32)
    dataset = dataset.filter(lambda e: tf.reduce_any(tf.equal(e["fold"], wanted)))
    if exclude_ids:
        excluded = tf.constant(sorted(exclude_ids), tf.string)
        dataset = dataset.filter(lambda e: tf.logical_not(tf.reduce_any(tf.equal(e["id"], excluded))))
    keys = ("image", "label", "id") if with_ids else ("image", "label")
    dataset = dataset.map(lambda e: tuple(e[k] for k in keys)).cache()
    counts = [sum(info.fold_counts[f][c] for f in folds) for c in range(info.num_classes)]
    if balanced:
        per_class = [(dataset.filter(lambda *e, c=c: tf.equal(e[1], c)), counts[c]) for c in range(info.num_classes)
                     if counts[c] > 0]
        per_class = [d.shuffle(shuffle_buffer or count, seed=seed).repeat() if shuffle else d.repeat()
                     for d, count in per_class]
        dataset = tf.data.Dataset.sample_from_datasets(per_class, seed=seed)
    else:
        if shuffle:
            dataset = dataset.shuffle(shuffle_buffer or max(1, sum(counts)), seed=seed,
                                      reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()

    def convert(images, *rest):
        return (to_model_range(images, factor), *rest)

    if batch_size:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(convert, num_parallel_calls=AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = seed is not None
    return dataset.with_options(options).prefetch(AUTOTUNE)

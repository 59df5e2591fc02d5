"""TFRecord encoding of dataset examples: each image once, raw uint8 at full resolution."""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "fold": tf.io.FixedLenFeature([], tf.int64),
    "id": tf.io.FixedLenFeature([], tf.string),
    "group": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "attributes": tf.io.FixedLenFeature([], tf.string, default_value="{}"),
}


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def encode_example(pixels: np.ndarray, label: int, fold: int, example_id: str, group: str = "",
                   attributes: dict | None = None) -> bytes:
    """Serialize one uint8 HxWxC image and its metadata as a tf.train.Example."""
    feature = {
        "image": _bytes(np.ascontiguousarray(pixels, np.uint8).tobytes()),
        "label": _int(int(label)),
        "fold": _int(int(fold)),
        "id": _bytes(example_id.encode("utf-8")),
        "group": _bytes(group.encode("utf-8")),
        "attributes": _bytes(json.dumps(attributes or {}, sort_keys=True).encode("utf-8")),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def parse_examples(serialized: tf.Tensor, resolution: int, channels: int) -> dict:
    """Parse a batch (or one) serialized example(s); `image` becomes uint8 [..., R, R, C]."""
    parsed = tf.io.parse_example(serialized, FEATURES)
    image = tf.io.decode_raw(parsed["image"], tf.uint8)
    parsed["image"] = tf.reshape(image, tf.concat([tf.shape(serialized), [resolution, resolution, channels]], 0))
    parsed["label"] = tf.cast(parsed["label"], tf.int32)
    parsed["fold"] = tf.cast(parsed["fold"], tf.int32)
    return parsed


def write_shards(examples, directory: str, num_shards: int, prefix: str = "data") -> list[str]:
    """Write serialized examples round-robin into `num_shards` files; return the file names."""
    names = [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    writers = [tf.io.TFRecordWriter(f"{directory}/{name}") for name in names]
    try:
        for index, serialized in enumerate(examples):
            writers[index % num_shards].write(serialized)
    finally:
        for writer in writers:
            writer.close()
    return names

"""SavedModel export of the generator (signature `serving_default`) with its `tfpgan.json` metadata, and loading."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from tfpgan import run_folder
from tfpgan.atomic import atomic_directory
from tfpgan.errors import TfpganError

METADATA_FILE = "tfpgan.json"


def export_generator(generator, resolution: int, metadata: dict, export_dir: str) -> None:
    """Write a SavedModel: inputs `latents` float32 [N, latent_size] and `labels` int32 [N], output `images`
    float32 [N, H, W, C] in [0, 1] (final resolution, α = 1); a label outside [0, num_classes) is an
    InvalidArgumentError. `metadata` goes to tfpgan.json beside saved_model.pb. Replaces `export_dir` atomically."""
    archive = keras.export.ExportArchive()
    archive.track(generator)
    num_classes = metadata["num_classes"]

    def serve(latents, labels):
        message = f"labels must be class indices in [0, {num_classes})"
        with tf.control_dependencies([tf.debugging.assert_non_negative(labels, message=message),
                                      tf.debugging.assert_less(labels, num_classes, message=message)]):
            labels = tf.identity(labels)
        images = generator(latents, labels, resolution=resolution, fading=False, training=False)
        return {"images": tf.clip_by_value((tf.cast(images, tf.float32) + 1.0) / 2.0, 0.0, 1.0)}

    archive.add_endpoint("serving_default", serve, input_signature=[
        tf.TensorSpec([None, generator.latent_size], tf.float32, name="latents"),
        tf.TensorSpec([None], tf.int32, name="labels"),
    ])
    with atomic_directory(export_dir, overwrite=True) as staging:
        archive.write_out(staging, verbose=False)
        with open(os.path.join(staging, METADATA_FILE), "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2)


def read_metadata(export_dir: str) -> dict:
    """tfpgan.json of an exported generator."""
    path = os.path.join(export_dir, METADATA_FILE)
    if not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
        inside = run_folder.export_dir(export_dir)
        if os.path.isfile(os.path.join(inside, "saved_model.pb")):
            raise TfpganError(f"{export_dir} is a training run folder: its exported generator is {inside}")
        raise TfpganError(f"{export_dir}: not a SavedModel (no saved_model.pb); export one with tools.export")
    if not os.path.isfile(path):
        raise TfpganError(f"{export_dir}: no {METADATA_FILE} (not a tfpgan generator export)")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def load_generator(export_dir: str):
    """(serving function (latents, labels) -> {'images'}, metadata)."""
    metadata = read_metadata(export_dir)
    return tf.saved_model.load(export_dir).signatures["serving_default"], metadata

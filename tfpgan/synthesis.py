"""Synthesize labeled images with an exported generator and write them as a dataset folder.

The output has the format of tools.build_dataset (TFRecord shards, dataset.json, preview.png), so every tool reads
it with `tfpgan.data.pipeline.load`. Folds mean nothing for synthetic images: the set has a single fold and every
image is in fold 0. dataset.json `extra["generator"]` is the generator's tfpgan.json (which real folds it was
trained on, the real dataset's fingerprint) and `extra["synthesis"]` says how the set was drawn. Its data card
(DATACARD.md, datacard.json: `tfpgan.datacard`) is written with it, without a quality summary yet.

Images are generated in memory (uint8, N x R x R x C bytes) before they are written.
"""

from __future__ import annotations

import functools
import logging
import os
import time

import numpy as np
import tensorflow as tf

from tfpgan.atomic import atomic_directory, check_writable_destination
from tfpgan.data.build import write_dataset
from tfpgan.data.dataset_info import DatasetInfo, foreign_content, read_info
from tfpgan.data.pipeline import check_folds
from tfpgan.data.sources import Item, Source
from tfpgan.datacard import write_datacard
from tfpgan.errors import DataError, TfpganError
from tfpgan.export import METADATA_FILE, load_generator, read_metadata
from tfpgan.labeled import class_counts
from tfpgan.options import SYNTHESIS_MODES, BuildOptions
from tfpgan.run_folder import PNG_DIR

logger = logging.getLogger(__name__)

REQUIRED_METADATA = ("classes", "resolution", "channels", "latent_size")
ID_PREFIX = "synthetic"


def read_generator_metadata(export_dir: str) -> dict:
    """The tfpgan.json of an exported generator, checked to hold what synthesis needs."""
    if not os.path.isdir(export_dir):
        raise TfpganError(f"{export_dir}: generator folder not found")
    try:
        metadata = read_metadata(export_dir)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise TfpganError(f"{os.path.join(export_dir, METADATA_FILE)}: cannot read ({error})") from None
    missing = [key for key in REQUIRED_METADATA if not isinstance(metadata, dict) or key not in metadata]
    if missing:
        raise TfpganError(f"{os.path.join(export_dir, METADATA_FILE)}: missing key(s) {', '.join(missing)}")
    classes = metadata["classes"]
    if not classes or not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise TfpganError(f"{os.path.join(export_dir, METADATA_FILE)}: classes must be a list of names")
    return metadata


def training_counts(metadata: dict) -> dict[str, int]:
    """Real images per class the generator was trained on: its training folds without its excluded ids."""
    missing = [key for key in ("dataset", "trained_on_folds", "dataset_fingerprint") if key not in metadata]
    if missing:
        raise TfpganError(f"the generator's metadata lacks {', '.join(missing)}: cannot count its training images")
    dataset = metadata["dataset"]
    try:
        info = read_info(dataset)
    except DataError as error:
        raise TfpganError(f"cannot count the generator's training images: {error}") from None
    if info.fingerprint != metadata["dataset_fingerprint"]:
        raise TfpganError(f"{dataset}: changed since the generator was trained (fingerprint "
                          f"{info.fingerprint[:12]}..., expected {str(metadata['dataset_fingerprint'])[:12]}...): "
                          f"cannot count its training images")
    if info.classes != metadata["classes"]:
        raise TfpganError(f"{dataset}: classes {info.classes} differ from the generator's {metadata['classes']}")
    folds = check_folds(info, metadata["trained_on_folds"], dataset)
    counts = class_counts(dataset, folds, metadata.get("excluded_ids") or ())
    return dict(zip(info.classes, counts))


def synthesis_counts(metadata: dict, mode: str, target: int | dict[str, int]) -> dict[str, int]:
    """Images to synthesize per class (in the generator's class order).

    per_class: `target` of every class. balance_to: `target` minus the real images of the class the generator
    trained on (`training_counts`), at least 0. counts: `target` is {class: n}; classes it leaves out get 0.
    """
    classes = metadata["classes"]
    if mode == "per_class":
        counts = {name: target for name in classes}
    elif mode == "balance_to":
        real = training_counts(metadata)
        counts = {name: max(0, target - real[name]) for name in classes}
    elif mode == "counts":
        unknown = [name for name in target if name not in classes]
        if unknown:
            raise TfpganError(f"unknown class(es) {', '.join(unknown)}; the generator's classes are "
                              f"{', '.join(classes)}")
        counts = {name: target.get(name, 0) for name in classes}
    else:
        raise ValueError(f"mode must be one of {', '.join(SYNTHESIS_MODES)}, got {mode!r}")
    if any(not isinstance(n, int) or n < 0 for n in counts.values()):
        raise ValueError(f"counts must be integers >= 0, got {counts}")
    if not sum(counts.values()):
        raise TfpganError(f"nothing to synthesize: {mode} {target} asks for 0 images of every class")
    return counts


def class_latents(seed: int, label: int, count: int, latent_size: int) -> np.ndarray:
    """float32 [count, latent_size] standard normal latents from numpy default_rng([seed, label]).

    One stream per class: a class's images do not depend on the other classes' counts, and a smaller count gives
    a prefix of a larger one.
    """
    return np.random.default_rng([seed, label]).standard_normal((count, latent_size), dtype=np.float32)


def plan(metadata: dict, counts: dict[str, int], seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(latents, int32 labels, ids) of a synthetic set with `counts[name]` images of every class of the generator.

    Classes in the generator's order, each drawn from its own `class_latents` stream; ids synthetic/CLASS/NNNNNN.
    """
    classes = metadata["classes"]
    labels = np.repeat(np.arange(len(classes), dtype=np.int32), [counts[name] for name in classes])
    latents = np.concatenate([class_latents(seed, label, counts[name], metadata["latent_size"])
                              for label, name in enumerate(classes)])
    ids = [f"{ID_PREFIX}/{name}/{index:06d}" for name in classes for index in range(counts[name])]
    return latents, labels, ids


def unit_to_uint8(images: np.ndarray) -> np.ndarray:
    """float images in [0, 1] -> uint8 (rounded, clipped)."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def generate(serve, latents: np.ndarray, labels: np.ndarray, shape: tuple[int, int, int],
             batch_size: int) -> np.ndarray:
    """uint8 [N, *shape] images of a serving function (latents, labels) -> {'images' in [0, 1]}, batch by batch."""
    images = np.empty((len(labels), *shape), np.uint8)
    started = time.monotonic()
    for start in range(0, len(labels), batch_size):
        stop = min(start + batch_size, len(labels))
        batch = serve(latents=tf.constant(latents[start:stop]), labels=tf.constant(labels[start:stop], tf.int32))
        batch = batch["images"].numpy()
        if batch.shape[1:] != shape:
            raise TfpganError(f"the generator outputs {batch.shape[1:]} images, its metadata says {shape}")
        images[start:stop] = unit_to_uint8(batch)
        logger.info("synthesized %d/%d images (%.1f img/s)", stop, len(labels),
                    stop / max(time.monotonic() - started, 1e-9))
    return images


def sample(export_dir: str, metadata: dict, counts: dict[str, int], seed: int,
           batch_size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 images, labels, ids) of the set `plan` describes, made by the generator in `export_dir`."""
    latents, labels, ids = plan(metadata, counts, seed)
    shape = (metadata["resolution"], metadata["resolution"], metadata["channels"])
    return generate(_load_serving(export_dir), latents, labels, shape, batch_size), labels, ids


def write_pngs(directory: str, images: np.ndarray, ids: list[str]) -> None:
    """One PNG per image: directory/CLASS/NNNNNN.png for the id synthetic/CLASS/NNNNNN."""
    for image, example_id in zip(images, ids):
        path = os.path.join(directory, *example_id.split("/")[1:]) + ".png"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tf.io.write_file(path, tf.io.encode_png(image))


def synthesize(export_dir: str, output: str, mode: str, target: int | dict[str, int], seed: int = 0,
               batch_size: int = 64, png: bool = False, overwrite: bool = False) -> DatasetInfo:
    """Generate the images `mode`/`target` ask for (see `synthesis_counts`) and write them to the dataset folder
    `output` atomically, with its data card (with `png`, also output/png/CLASS/NNNNNN.png). Same seed, same
    images."""
    if seed < 0 or batch_size < 1:
        raise ValueError(f"seed must be >= 0 and batch_size >= 1, got {seed} and {batch_size}")
    check_writable_destination(output, overwrite, foreign_content)
    metadata = read_generator_metadata(export_dir)
    counts = synthesis_counts(metadata, mode, target)
    logger.info("synthesizing %d images with %s: %s", sum(counts.values()), export_dir,
                ", ".join(f"{c} {n}" for c, n in counts.items()))
    options = BuildOptions(resolution=metadata["resolution"], channels=metadata["channels"], folds=1, seed=seed)
    images, labels, ids = sample(export_dir, metadata, counts, seed, batch_size)
    source = Source(f"generator:{os.path.abspath(export_dir)}", tuple(metadata["classes"]),
                    [Item(i, int(label), functools.partial(images.__getitem__, index))
                     for index, (i, label) in enumerate(zip(ids, labels))])
    extra = {"generator": metadata, "synthesis": {"mode": mode, "target": target, "seed": seed, "counts": counts}}
    try:
        with atomic_directory(output, overwrite, foreign_content) as staging:
            info = write_dataset(source, staging, options, os.path.basename(os.path.abspath(output)), extra=extra,
                                 allow_empty_classes=True)
            if png:
                write_pngs(os.path.join(staging, PNG_DIR), images, ids)
            write_datacard(staging)
    except (OSError, tf.errors.OpError) as error:
        raise DataError(f"cannot write {output}: {error}") from None
    return info


def _load_serving(export_dir: str):
    try:
        return load_generator(export_dir)[0]
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise TfpganError(f"{export_dir}: cannot load the SavedModel ({error})") from None

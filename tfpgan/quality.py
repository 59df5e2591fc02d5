"""Quality audit of synthetic images against the real training folds.

`measure_quality` compares a synthetic image set with the real images the GAN was trained on:

* **SWD** per pyramid level and averaged, overall and per class, beside its real-vs-real noise floor
  (two disjoint halves of the real training images: the value sampling noise alone gives);
* **MS-SSIM diversity** within each class, synthetic beside real;
* **FID / KID** in a *domain* feature space: the penultimate layer of a classifier trained briefly on
  the real training folds (cached under ``DATASET_DIR/.cache/``), and optionally in Inception space;
* **memorization**: each synthetic image's nearest training image by SSIM, flagged when closer than
  all but ``memorization_percentile``% of the held-out real images (the folds the GAN never saw).

The result is rendered by `tfpgan.quality_report`. Images are `LabeledArrays` in [0, 1] (the metrics convention);
the real ones come at the dataset's resolution and synthetic images at a higher resolution are box-downsampled to
it, as the pipeline does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfpgan import synthesis
from tfpgan.atomic import atomic_file
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import box_downsample, check_folds
from tfpgan.errors import DataError, TfpganError
from tfpgan.labeled import LabeledArrays, load_arrays
from tfpgan.metrics.fid_kid import (
    extract_features,
    frechet_distance,
    inception_feature_extractor,
    kernel_inception_distance,
    penultimate_feature_extractor,
)
from tfpgan.metrics.memorization import closest_pairs, memorization_report
from tfpgan.metrics.msssim import FILTER_SIZE, msssim_diversity, num_scales
from tfpgan.metrics.swd import PATCH_SIZE, swd, swd_noise_floor
from tfpgan.models.classifiers import build_classifier
from tfpgan.options import AuditOptions, QualityOptions

logger = logging.getLogger(__name__)

CACHE_DIR = ".cache"
MIN_IMAGE_SIZE = {"swd": PATCH_SIZE, "msssim": FILTER_SIZE, "memorization": FILTER_SIZE}
# Independent random streams of the stages (combined with the seed and a class index).
_SWD_STREAM, _SWD_FLOOR_STREAM, _MSSSIM_STREAM, _KID_STREAM = 1, 2, 3, 4


class ClosestPairs(NamedTuple):
    """The images of the report's memorization closest_pairs, in its order (what closest_pairs.png shows)."""

    synthetic: np.ndarray
    training: np.ndarray


@dataclasses.dataclass
class QualityResult:
    """`report`: the JSON-ready content of quality.json; `closest_pairs`: None without memorization."""

    report: dict[str, Any]
    closest_pairs: ClosestPairs | None = None


def load_labeled_images(dataset_dir: str, folds: Sequence[int] | None = None) -> LabeledArrays:
    """`load_arrays` of `folds` (None: all) with images in [0, 1]."""
    arrays = load_arrays(dataset_dir, folds)
    return dataclasses.replace(arrays, images=(arrays.images + 1.0) / 2.0)


def check_synthetic_format(real: DatasetInfo, where: str, resolution: int, channels: int,
                           classes: Sequence[str] | None = None) -> None:
    """One DataError naming every way synthetic images cannot be compared with the real dataset."""
    problems = []
    if resolution < real.resolution or resolution % real.resolution:
        problems.append(f"resolution {resolution} cannot be box-downsampled to the real {real.resolution} "
                        f"(synthesize at {real.resolution} or a multiple of it)")
    if channels != real.channels:
        problems.append(f"{channels} channel(s) where the real images have {real.channels}")
    if classes is not None and sorted(classes) != sorted(real.classes):
        problems.append(f"classes {list(classes)} differ from the real {real.classes}")
    if problems:
        raise DataError(f"{where}: cannot be compared with {real.name}: " + "; ".join(problems))


def load_synthetic_dataset(synthetic_dir: str, real: DatasetInfo) -> LabeledArrays:
    """Every image of a synthetic dataset folder (ids from the records), checked against the real dataset."""
    info = read_info(synthetic_dir)
    check_synthetic_format(real, synthetic_dir, info.resolution, info.channels, info.classes)
    logger.info("loading %d synthetic images from %s", info.num_examples, synthetic_dir)
    images = load_labeled_images(synthetic_dir)
    to_real = np.array([real.classes.index(name) for name in info.classes])  # same names, maybe another order
    return dataclasses.replace(images, labels=to_real[images.labels])


def resolve_train_folds(metadata: dict, real: DatasetInfo, where: str,
                        folds: Sequence[int] | None = None) -> list[int]:
    """The real folds that count as a generator's training set (`metadata`: its tfpgan.json; `where`: for messages).

    Without `folds`, the generator's `trained_on_folds`, valid only for the dataset it was trained on:
    a dataset with another fingerprint is refused. Given `folds` win; a mismatch is only logged.
    """
    same_dataset = metadata.get("dataset_fingerprint") == real.fingerprint
    if folds is None:
        if not same_dataset:
            fingerprint = str(metadata.get("dataset_fingerprint"))[:12]
            raise DataError(f"{where}: the generator was trained on dataset {metadata.get('dataset_name', '?')} at "
                            f"{metadata.get('dataset', '(path not recorded)')} (fingerprint {fingerprint}...), "
                            f"not on {real.name} (fingerprint {real.fingerprint[:12]}...); pass the dataset it was "
                            "trained on, or give the training folds explicitly to compare anyway")
        folds = metadata.get("trained_on_folds")
        if folds is None:
            raise DataError(f"{where}: the generator's metadata has no trained_on_folds; give the folds explicitly")
    elif not same_dataset:
        logger.warning("%s: the generator was trained on another dataset than %s (fingerprints differ)", where,
                       real.name)
    elif sorted(folds) != sorted(metadata.get("trained_on_folds", [])):
        logger.warning("folds %s differ from the generator's trained_on_folds %s", list(folds),
                       metadata.get("trained_on_folds"))
    return check_folds(real, folds, real.name)


def generate_images(export_dir: str, per_class: int, seed: int, batch_size: int = 64) -> tuple[LabeledArrays, dict]:
    """`per_class` images of every class from an exported generator, and its metadata.

    The images and ids are those `tfpgan.synthesis.synthesize` writes for mode per_class with the same seed
    (uint8-quantized as stored there, then in [0, 1]), at the generator's resolution.
    """
    metadata = synthesis.read_generator_metadata(export_dir)
    counts = synthesis.synthesis_counts(metadata, "per_class", per_class)
    logger.info("generating %d images per class with %s", per_class, export_dir)
    images, labels, ids = synthesis.sample(export_dir, metadata, counts, seed, batch_size)
    return LabeledArrays(images.astype(np.float32) / 255.0, labels, ids), metadata


def classifier_cache_path(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], classifier: str) -> str:
    """DATASET_DIR/.cache/quality-features-CLASSIFIER-foldsA-B-FINGERPRINT.keras."""
    folds = "-".join(str(f) for f in sorted(train_folds))
    name = f"quality-features-{classifier}-folds{folds}-{info.fingerprint[:16]}.keras"
    return os.path.join(real_dir, CACHE_DIR, name)


def domain_classifier(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], training: LabeledArrays,
                      options: QualityOptions) -> tuple[keras.Model, str, bool]:
    """(classifier, its cache file, whether the cache was reused): trained on the real training folds only.

    Trained for `classifier_epochs` epochs (Adam, lr 1e-3, seeded) and cached, keyed by classifier, folds
    and dataset fingerprint (not by epochs or seed: the feature space stays fixed, so FID/KID values of
    different runs remain comparable).
    """
    path = classifier_cache_path(real_dir, info, train_folds, options.classifier)
    if os.path.isfile(path):
        logger.info("feature classifier: reusing %s", path)
        return keras.saving.load_model(path, compile=False), path, True
    logger.info("feature classifier: training a %s on folds %s (%d images, %d epochs)", options.classifier,
                list(train_folds), len(training), options.classifier_epochs)
    keras.utils.set_random_seed(options.seed)
    model = build_classifier(options.classifier, training.images.shape[1:], info.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logger.info(
        "feature classifier epoch %d/%d: loss %.4f, accuracy %.3f", epoch + 1, options.classifier_epochs,
        logs["loss"], logs["accuracy"]))
    model.fit(2.0 * training.images - 1.0, training.labels, batch_size=options.classifier_batch_size,
              epochs=options.classifier_epochs, shuffle=True, callbacks=[progress], verbose=0)
    try:
        _save_model_atomically(model, path)
    except OSError as error:
        logger.warning("cannot cache the feature classifier at %s: %s", path, error)
    return model, path, False


def _save_model_atomically(model: keras.Model, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_file(path, ".keras") as temporary:
        model.save(temporary)


def _match_real_format(synthetic: LabeledArrays, real: DatasetInfo, where: str) -> LabeledArrays:
    """Checks shapes and labels; box-downsamples larger synthetic images to the real resolution."""
    images = np.asarray(synthetic.images, np.float32)
    if images.ndim != 4 or images.shape[1] != images.shape[2] or len(images) == 0:
        raise DataError(f"{where}: expected a non-empty set of square NHWC images, got shape {images.shape}")
    check_synthetic_format(real, where, images.shape[1], images.shape[3])
    labels = np.asarray(synthetic.labels)
    if labels.min() < 0 or labels.max() >= real.num_classes:
        raise DataError(f"{where}: labels must lie in 0..{real.num_classes - 1}")
    factor = images.shape[1] // real.resolution
    if factor > 1:
        logger.info("box-downsampling %d synthetic images from %d to %d", len(images), images.shape[1],
                    real.resolution)
        images = box_downsample(tf.constant(images), factor).numpy()
    return LabeledArrays(images, labels, list(synthetic.ids))


def _check_image_size(resolution: int, metrics: Sequence[str]) -> None:
    small = [m for m in metrics if resolution < MIN_IMAGE_SIZE.get(m, 0)]
    if small:
        needs = ", ".join(f"{m} needs {MIN_IMAGE_SIZE[m]}x{MIN_IMAGE_SIZE[m]}" for m in small)
        raise DataError(f"images of {resolution}x{resolution} are too small: {needs}")


def _class_images(images: LabeledArrays, label: int) -> np.ndarray:
    return images.images[images.labels == label]


def _per_class(classes: Sequence[str], stage: str, compute) -> dict[str, Any]:
    """{class name: compute(label)}, logging each class."""
    results = {}
    for label, name in enumerate(classes):
        logger.info("%s: class %s (%d/%d)", stage, name, label + 1, len(classes))
        results[name] = compute(label)
    return results


def _swd_section(real: LabeledArrays, synthetic: LabeledArrays, classes: Sequence[str], seed: int) -> dict:
    def compare(real_images: np.ndarray, synthetic_images: np.ndarray, stream: int) -> dict:
        if len(real_images) < 2 or len(synthetic_images) < 1:
            return {"skipped": "needs at least 2 real and 1 synthetic image"}
        distance = swd(synthetic_images, real_images, seed=np.random.default_rng([seed, _SWD_STREAM, stream]))
        floor = swd_noise_floor(real_images, seed=np.random.default_rng([seed, _SWD_FLOOR_STREAM, stream]))
        return {"real_images": len(real_images), "synthetic_images": len(synthetic_images),
                "synthetic_vs_real": _json_swd(distance), "real_vs_real_noise_floor": _json_swd(floor)}

    logger.info("SWD: all classes")
    return {"overall": compare(real.images, synthetic.images, 0),
            "per_class": _per_class(classes, "SWD", lambda label: compare(
                _class_images(real, label), _class_images(synthetic, label), label + 1))}


def _json_swd(result: dict) -> dict:
    return {"levels": {str(size): value for size, value in result["levels"].items()}, "average": result["average"]}


def _msssim_section(real: LabeledArrays, synthetic: LabeledArrays, classes: Sequence[str],
                    options: QualityOptions) -> dict:
    def diversity(images: np.ndarray, label: int) -> dict | None:
        if len(images) < 2:
            return None
        rng = np.random.default_rng([options.seed, _MSSSIM_STREAM, label])
        mean, std = msssim_diversity(images, options.msssim_pairs, seed=rng)
        return {"mean": mean, "std": std, "images": len(images)}

    def compare(label: int) -> dict:
        return {"synthetic": diversity(_class_images(synthetic, label), label),
                "real": diversity(_class_images(real, label), label)}

    resolution = real.images.shape[1]
    return {"scales": num_scales(resolution, resolution), "pairs_per_class": options.msssim_pairs,
            "per_class": _per_class(classes, "MS-SSIM", compare)}


def _feature_spaces(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], real: LabeledArrays,
                    options: QualityOptions) -> dict[str, tuple[Any, dict]]:
    """{space name: (feature extractor on [0, 1] images, description)}."""
    model, path, reused = domain_classifier(real_dir, info, train_folds, real, options)
    penultimate = penultimate_feature_extractor(model)
    spaces = {"domain": (lambda images: penultimate(2.0 * images - 1.0), {
        "feature_space": f"penultimate layer of a {options.classifier} classifier trained on the real folds "
                         f"{list(train_folds)}: a domain feature space, not Inception's (values are not "
                         f"comparable with published FID/KID)",
        "classifier_file": path, "classifier_reused": reused})}
    if options.inception_weights:
        spaces["inception"] = (inception_feature_extractor(options.inception_weights), {
            "feature_space": f"InceptionV3 pool features from {options.inception_weights}"})
    return spaces


def _distances(real_feats: np.ndarray, synthetic_feats: np.ndarray, options: QualityOptions, minimum: int,
               stream: int) -> dict:
    if min(len(real_feats), len(synthetic_feats)) < minimum:
        return {"skipped": f"needs at least {minimum} real and {minimum} synthetic images"}
    result: dict[str, Any] = {"real_images": len(real_feats), "synthetic_images": len(synthetic_feats)}
    if "fid" in options.metrics:
        result["fid"] = frechet_distance(real_feats, synthetic_feats)
    if "kid" in options.metrics:
        rng = np.random.default_rng([options.seed, _KID_STREAM, stream])
        mean, std = kernel_inception_distance(real_feats, synthetic_feats, options.kid_subsets,
                                              options.kid_subset_size, seed=rng)
        result["kid"] = {"mean": mean, "std": std}
    return result


def _feature_distance_section(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], real: LabeledArrays,
                              synthetic: LabeledArrays, options: QualityOptions) -> dict:
    section = {}
    for space, (extractor, description) in _feature_spaces(real_dir, info, train_folds, real, options).items():
        logger.info("FID/KID (%s features): extracting features", space)
        real_feats, synthetic_feats = extract_features(extractor, real.images), extract_features(
            extractor, synthetic.images)

        def per_class(label: int) -> dict:
            return _distances(real_feats[real.labels == label], synthetic_feats[synthetic.labels == label],
                              options, options.min_images_per_class, label + 1)

        section[space] = {**description, "overall": _distances(real_feats, synthetic_feats, options, 2, 0),
                          "per_class": _per_class(info.classes, f"FID/KID ({space})", per_class)}
    return section


def _memorization_section(real_dir: str, heldout_folds: Sequence[int], real: LabeledArrays,
                          synthetic: LabeledArrays, options: QualityOptions) -> tuple[dict, ClosestPairs]:
    logger.info("memorization: loading the held-out folds %s", list(heldout_folds))
    heldout = load_labeled_images(real_dir, heldout_folds)
    raw = memorization_report(synthetic.images, real.images, heldout.images, synthetic.ids,
                              options.memorization_percentile, max_size=options.memorization_max_size)
    nearest_index = raw["nearest_training_index"]

    def pair(index: int) -> dict:
        return {"synthetic_id": synthetic.ids[index], "training_id": real.ids[nearest_index[index]],
                "ssim": float(raw["nearest_training_ssim"][index])}

    positions = {image_id: index for index, image_id in enumerate(synthetic.ids)}
    closest = closest_pairs(raw, options.closest_pairs)
    nearest = {"synthetic": raw["nearest_training_ssim"], "heldout": raw["holdout_nearest_ssim"]}
    section = {
        "heldout_folds": list(heldout_folds), "heldout_images": len(heldout),
        "training_images": len(real), "synthetic_images": len(synthetic),
        "max_size": options.memorization_max_size, "percentile": raw["percentile"], "threshold": raw["threshold"],
        "fraction_flagged": raw["fraction_above_threshold"], "flagged_ids": raw["flagged_ids"],
        "flagged": [pair(positions[image_id]) for image_id in raw["flagged_ids"]],
        "closest_pairs": [pair(index) for index in closest],
        "nearest_training_ssim": {name: {"median": float(np.median(values)), "max": float(np.max(values))}
                                  for name, values in nearest.items()},
    }
    return section, ClosestPairs(synthetic.images[closest], real.images[nearest_index[closest]])


def measure_quality(real_dir: str, train_folds: Sequence[int], synthetic: LabeledArrays,
                    options: QualityOptions = QualityOptions(), synthetic_source: str = "") -> QualityResult:
    """Audits `synthetic` (images in [0, 1], labels, ids) against the real folds `train_folds`.

    The other folds of the dataset are the held-out baseline of the memorization audit.
    `synthetic_source` describes where the images come from, for the report.
    """
    info = read_info(real_dir)
    train_folds = check_folds(info, train_folds, real_dir)
    heldout_folds = [f for f in range(info.folds) if f not in train_folds]
    if "memorization" in options.metrics and not heldout_folds:
        raise DataError(f"{real_dir}: memorization needs a held-out fold, but folds {train_folds} are all the folds")
    _check_image_size(info.resolution, options.metrics)
    matched = _match_real_format(synthetic, info, synthetic_source or "synthetic images")
    given_resolution, synthetic = int(np.shape(synthetic.images)[1]), matched
    logger.info("loading the real training folds %s of %s", train_folds, real_dir)
    real = load_labeled_images(real_dir, train_folds)
    report: dict[str, Any] = {
        "real": {"dataset": os.path.abspath(real_dir), "name": info.name, "fingerprint": info.fingerprint,
                 "resolution": info.resolution, "channels": info.channels, "classes": info.classes,
                 "train_folds": train_folds, "heldout_folds": heldout_folds, "training_images": len(real),
                 "per_class": _counts(real.labels, info.classes)},
        "synthetic": {"source": synthetic_source, "images": len(synthetic), "resolution": given_resolution,
                      "per_class": _counts(synthetic.labels, info.classes)},
        "options": dataclasses.asdict(options),
    }
    if "swd" in options.metrics:
        report["swd"] = _swd_section(real, synthetic, info.classes, options.seed)
    if "msssim" in options.metrics:
        report["msssim"] = _msssim_section(real, synthetic, info.classes, options)
    if {"fid", "kid"} & set(options.metrics):
        report["fid_kid"] = _feature_distance_section(real_dir, info, train_folds, real, synthetic, options)
    pairs = None
    if "memorization" in options.metrics:
        report["memorization"], pairs = _memorization_section(real_dir, heldout_folds, real, synthetic, options)
    return QualityResult(json.loads(json.dumps(report)), pairs)


def _counts(labels: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    return {name: int(np.sum(labels == label)) for label, name in enumerate(classes)}


def audit(options: AuditOptions) -> QualityResult:
    """What tools.measure_quality does: audit a synthetic set (or --num images per class of a generator) against
    the real folds its generator was trained on (--folds, else the generator's recorded trained_on_folds)."""
    real = read_info(options.real)
    if options.generator:
        metadata = synthesis.read_generator_metadata(options.generator)
        folds = resolve_train_folds(metadata, real, options.generator, options.folds)
        check_synthetic_format(real, options.generator, metadata["resolution"], metadata["channels"],
                               metadata["classes"])
        synthetic, _ = generate_images(options.generator, options.num, options.quality.seed)
        source = f"generator {options.generator} ({options.num} per class, seed {options.quality.seed})"
    else:
        generator = read_info(options.synthetic).extra.get("generator")
        if generator is not None:
            folds = resolve_train_folds(generator, real, options.synthetic, options.folds)
        elif options.folds is None:
            raise TfpganError(f"{options.synthetic} does not record the real folds its generator was trained on; "
                              "pass --folds")
        else:
            folds = check_folds(real, options.folds, options.real)
        synthetic, source = load_synthetic_dataset(options.synthetic, real), f"dataset {options.synthetic}"
    return measure_quality(options.real, folds, synthetic, options.quality, source)

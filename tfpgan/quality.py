"""Quality audit of synthetic images against the real training folds.

`measure_quality` compares a synthetic image set with the real images the GAN was trained on:

* **SWD** per pyramid level and averaged, overall and per class, beside its real-vs-real noise floor and the
  ratio of the two: one half of the real training images is the reference, the other half (the floor) and a
  synthetic sample of the same size and class mix are compared with it, averaged over `swd_repeats` random
  splits, so a generator as good as a fresh real sample has a ratio near 1, give or take the floor's relative
  spread over the splits (`ratio_noise`, also reported);
* **MS-SSIM diversity** within each class, synthetic beside real;
* **FID / KID** in a *domain* feature space: the penultimate layer of a classifier trained on the real
  training folds to its best validation loss (cached under ``DATASET_DIR/.cache/``; its held-out balanced
  accuracy is reported, and a space whose balanced accuracy does not beat chance by a label-permutation test is flagged
  meaningless), beside a real-vs-real baseline (held-out real images, as many as the synthetic images compared),
  and optionally in Inception space;
* **memorization**: each synthetic image's nearest training image by SSIM, flagged when closer than
  all but ``memorization_percentile``% of the held-out real images (the folds the GAN never saw).

Overall values compare a synthetic sample with the real training class mix (`overall_sample` in the report
says which images, or why the synthetic images had to be taken as they are).

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
from sklearn.metrics import balanced_accuracy_score

from tfpgan import synthesis
from tfpgan.atomic import atomic_file
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.pipeline import box_downsample, check_folds
from tfpgan.errors import DataError, TfpganError
from tfpgan.labeled import LabeledArrays, load_arrays
from tfpgan.metrics.fid_kid import (
    UnreliableFid,
    extract_features,
    frechet_distance,
    inception_feature_extractor,
    kernel_inception_distance,
    penultimate_feature_extractor,
)
from tfpgan.metrics.memorization import closest_pairs, memorization_report
from tfpgan.metrics.msssim import FILTER_SIZE, msssim_diversity, num_scales
from tfpgan.metrics.swd import PATCH_SIZE, swd_with_floor
from tfpgan.models.classifiers import build_classifier
from tfpgan.options import AuditOptions, QualityOptions
from tfpgan.validation import choose_validation, group_keys

logger = logging.getLogger(__name__)

CACHE_DIR = ".cache"
MIN_IMAGE_SIZE = {"swd": PATCH_SIZE, "msssim": FILTER_SIZE, "memorization": FILTER_SIZE}
FEATURE_VALIDATION_FRACTION = 0.2  # of the real training folds, to stop the feature classifier early
# The feature space is meaningful when the classifier's balanced accuracy beats chance by a label-permutation test.
PERMUTATIONS, MEANINGFUL_ALPHA = 2000, 0.05
# Independent random streams of the stages (combined with the seed and a class index).
_SWD_STREAM, _MSSSIM_STREAM, _KID_STREAM, _CLASS_MIX_STREAM, _BASELINE_STREAM, _PERMUTATION_STREAM = 1, 3, 4, 5, 6, 7


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
        missing, unknown = sorted(set(real.classes) - set(classes)), sorted(set(classes) - set(real.classes))
        problems.append(f"classes {list(classes)} differ from the real {real.classes}"
                        + (f" (missing: {', '.join(missing)})" if missing else "")
                        + (f" (not in the real dataset: {', '.join(unknown)})" if unknown else ""))
    if problems:
        raise DataError(f"{where}: cannot be compared with {real.name}: " + "; ".join(problems))


def load_synthetic_dataset(synthetic_dir: str, real: DatasetInfo) -> LabeledArrays:
    """Every image of a synthetic dataset folder (ids from the records), checked against the real dataset."""
    info = read_info(synthetic_dir)
    check_synthetic_format(real, synthetic_dir, info.resolution, info.channels, info.classes)
    logger.info("loading %d synthetic images from %s", info.num_examples, synthetic_dir)
    return relabel_by_name(load_labeled_images(synthetic_dir), info.classes, real)


def relabel_by_name(images: LabeledArrays, classes: Sequence[str], real: DatasetInfo) -> LabeledArrays:
    """`images` labeled by `classes` (checked to be the real class names, maybe in another order), relabeled with
    the real dataset's label of each name."""
    to_real = np.array([real.classes.index(name) for name in classes])
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


def classifier_cache_path(real_dir: str, info: DatasetInfo, train_folds: Sequence[int],
                          options: QualityOptions) -> str:
    """DATASET_DIR/.cache/quality-features-CLASSIFIER-foldsA-B-eEPOCHS-pPATIENCE-sSEED-FINGERPRINT.keras."""
    folds = "-".join(str(f) for f in sorted(train_folds))
    name = (f"quality-features-{options.classifier}-folds{folds}-e{options.classifier_epochs}-"
            f"p{options.classifier_patience}-s{options.seed}-{info.fingerprint[:16]}.keras")
    return os.path.join(real_dir, CACHE_DIR, name)


def domain_classifier(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], training: LabeledArrays,
                      options: QualityOptions) -> tuple[keras.Model, str, dict | None]:
    """(classifier, its cache file, its training record; None when the cache was reused).

    Trained on the real training folds only (Adam, lr 1e-3, seeded) until the loss on a stratified validation
    split (`FEATURE_VALIDATION_FRACTION`) has not improved for `classifier_patience` epochs, at most
    `classifier_epochs`; the best epoch's weights are kept. Cached, keyed by classifier, folds, epochs,
    patience, seed and dataset fingerprint.
    """
    path = classifier_cache_path(real_dir, info, train_folds, options)
    if os.path.isfile(path):
        logger.info("feature classifier: reusing %s", path)
        return keras.saving.load_model(path, compile=False), path, None
    fit_set, validation = feature_validation_split(training, options.seed)
    logger.info("feature classifier: training a %s on folds %s (%d images, %d for validation, at most %d epochs)",
                options.classifier, list(train_folds), len(fit_set), len(validation), options.classifier_epochs)
    keras.utils.set_random_seed(options.seed)
    model = build_classifier(options.classifier, training.images.shape[1:], info.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logger.info(
        "feature classifier epoch %d/%d: loss %.4f, accuracy %.3f, val loss %.4f", epoch + 1,
        options.classifier_epochs, logs["loss"], logs["accuracy"], logs["val_loss"]))
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=options.classifier_patience,
                                             restore_best_weights=True)
    history = model.fit(2.0 * fit_set.images - 1.0, fit_set.labels, batch_size=options.classifier_batch_size,
                        epochs=options.classifier_epochs, validation_data=(2.0 * validation.images - 1.0,
                                                                           validation.labels),
                        shuffle=True, callbacks=[stopping, progress], verbose=0)
    losses = np.asarray(history.history["val_loss"], np.float64)
    if not np.any(np.isfinite(losses)):
        raise TfpganError("the feature classifier's validation loss was never finite")
    record = {"training_images": len(fit_set), "validation_images": len(validation), "epochs_run": len(losses),
              "max_epochs": options.classifier_epochs, "patience": options.classifier_patience,
              "best_epoch": int(np.nanargmin(losses)) + 1, "best_validation_loss": float(np.nanmin(losses))}
    try:
        _save_model_atomically(model, path)
    except OSError as error:
        logger.warning("cannot cache the feature classifier at %s: %s", path, error)
    return model, path, record


def feature_validation_split(training: LabeledArrays, seed: int) -> tuple[LabeledArrays, LabeledArrays]:
    """(fit, validation): the feature classifier's split of the training folds, stratified and patient-grouped."""
    chosen = choose_validation(training.labels, group_keys(training.ids, training.groups),
                               FEATURE_VALIDATION_FRACTION, seed)
    return training.subset(np.setdiff1d(np.arange(len(training)), chosen)), training.subset(chosen)


def classifier_accuracy(model: keras.Model, images: LabeledArrays, evaluated_on: str, seed: int) -> dict:
    """The classifier's balanced accuracy on `images` and a label-permutation test of it against chance: the true
    labels are permuted against the fixed predictions (`PERMUTATIONS` times, seeded), p = (1 + #{permuted >=
    observed}) / (1 + PERMUTATIONS). `meaningful` when p < `MEANINGFUL_ALPHA`; else its penultimate features may
    describe nothing (always guessing the largest class scores 1 / classes, however unbalanced the images)."""
    probabilities = model.predict(2.0 * images.images - 1.0, batch_size=64, verbose=0)
    predictions, labels = np.argmax(probabilities, axis=1), np.asarray(images.labels)
    observed = float(balanced_accuracy_score(labels, predictions))
    permuted = permuted_balanced_accuracies(labels, predictions, PERMUTATIONS,
                                            np.random.default_rng([seed, _PERMUTATION_STREAM]))
    p_value = (1 + int(np.sum(permuted >= observed - 1e-12))) / (1 + PERMUTATIONS)
    result = {"balanced_accuracy": observed, "chance": 1.0 / len(np.unique(labels)), "permutation_p": p_value,
              "permutations": PERMUTATIONS, "evaluated_on": evaluated_on, "images": len(images),
              "meaningful": p_value < MEANINGFUL_ALPHA}
    if not result["meaningful"]:
        logger.warning("the feature classifier's balanced accuracy %.3f on %s does not beat chance (label-"
                       "permutation p = %.3f): FID/KID in its feature space are meaningless", observed, evaluated_on,
                       p_value)
    return result


def permuted_balanced_accuracies(labels: np.ndarray, predictions: np.ndarray, count: int,
                                 rng: np.random.Generator, chunk: int = 100) -> np.ndarray:
    """The balanced accuracy of the fixed `predictions` against `count` random permutations of `labels` (each
    class keeps its size): the null distribution of the label-permutation test, `chunk` permutations at a time."""
    classes, sizes = np.unique(labels, return_counts=True)
    results = []
    for start in range(0, count, chunk):
        shuffled = rng.permuted(np.tile(labels, (min(chunk, count - start), 1)), axis=1)
        hits = shuffled == predictions
        results.append(np.mean([np.sum(hits & (shuffled == c), axis=1) / n for c, n in zip(classes, sizes)], axis=0))
    return np.concatenate(results)


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


def class_mix_counts(mix: np.ndarray, available: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Images per class in the proportions of `mix` (per-class counts), as many as `available` (per class) and
    `limit` (in all) allow, rounded by largest remainder; all zero when a class of the mix has none available."""
    weights, available = np.asarray(mix, np.float64) / np.sum(mix), np.asarray(available)
    present = weights > 0
    total = float(np.min(available[present] / weights[present]))
    if limit is not None:
        total = min(total, limit)
    exact = total * weights + 1e-9
    counts = np.floor(exact).astype(np.int64)
    remainders = np.where(counts < available, exact - counts, -1.0)
    for label in np.argsort(-remainders, kind="stable")[:int(total + 1e-9) - counts.sum()]:
        counts[label] += remainders[label] >= 0
    return counts


def class_mix_sample(labels: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of `counts[c]` random examples of every class c (drawn without replacement)."""
    chosen = [rng.choice(np.flatnonzero(labels == label), count, replace=False) for label, count in enumerate(counts)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _overall_sample(real: LabeledArrays, synthetic: LabeledArrays, classes: Sequence[str],
                    seed: int) -> tuple[np.ndarray, dict]:
    """Positions of the synthetic images the overall values use, and their description for the report."""
    real_counts, available = real.class_counts(len(classes)), synthetic.class_counts(len(classes))
    counts = class_mix_counts(real_counts, available)
    if counts.sum():
        positions = class_mix_sample(synthetic.labels, counts, np.random.default_rng([seed, _CLASS_MIX_STREAM]))
        return positions, {
            "method": "real_class_mix", "images": int(counts.sum()), "per_class": _counts(synthetic.labels[positions],
                                                                                          classes),
            "description": f"a synthetic sample of {counts.sum()} images in the class mix of the real training "
                           f"images (subsampled per class, seed {seed})"}
    lacking = [name for label, name in enumerate(classes) if real_counts[label] and not available[label]]
    return np.arange(len(synthetic)), {
        "method": "as_given", "images": len(synthetic), "per_class": _counts(synthetic.labels, classes),
        "description": f"all synthetic images as given: they lack class(es) {', '.join(lacking)}, so the overall "
                       "values compare another class mix than the real one (see the per-class values)"}


def _stratified_halves(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(reference, half): disjoint random positions, half holding floor(n / 2) of each class's n examples."""
    reference, half = [], []
    for label in np.unique(labels):
        order = rng.permutation(np.flatnonzero(labels == label))
        half.append(order[:len(order) // 2])
        reference.append(order[len(order) // 2:])
    return np.sort(np.concatenate(reference)), np.sort(np.concatenate(half))


def _swd_compare(real: LabeledArrays, synthetic: LabeledArrays, num_classes: int, seed: int, repeats: int,
                 stream: int) -> dict:
    """SWD of `synthetic` vs `real` beside its floor, averaged over `repeats` random splits of `real`: each time
    half of the real images is the reference, the other half and a synthetic sample of its class counts are
    compared with it (sample sizes change SWD, so both comparisons get the same). Which images are drawn moves
    SWD most, and one fixed synthetic set keeps its own draw in every split, so the ratio comes with
    `ratio_noise`: the floor's relative standard deviation over the splits, how far a perfect generator's
    ratio scatters around 1."""
    if len(real) < 2 or len(synthetic) < 1:
        return {"skipped": "needs at least 2 real and 1 synthetic image"}
    runs, compared = [], []
    for repeat in range(repeats):
        rng = np.random.default_rng([seed, _SWD_STREAM, stream, repeat])
        reference, half = _stratified_halves(real.labels, rng)
        if not len(half):
            return {"skipped": "needs at least 2 real images of a class"}
        counts = class_mix_counts(np.bincount(real.labels[half], minlength=num_classes),
                                  np.bincount(synthetic.labels, minlength=num_classes), limit=len(half))
        chosen = (class_mix_sample(synthetic.labels, counts, rng) if counts.sum() else
                  np.sort(rng.choice(len(synthetic), min(len(half), len(synthetic)), replace=False)))
        runs.append(swd_with_floor(real.images[reference], real.images[half], synthetic.images[chosen], seed=rng))
        compared.append(len(chosen))
    distance, floor = (_mean_swd([run[key] for run in runs]) for key in ("synthetic_vs_real",
                                                                           "real_vs_real_noise_floor"))
    floors = [run["real_vs_real_noise_floor"]["average"] for run in runs]
    return {"real_images": len(real), "synthetic_images": len(synthetic), "reference_images": len(reference),
            "compared_images": {"real": len(half), "synthetic": min(compared)},
            "same_sizes": min(compared) == len(half),
            "repeats": repeats, "synthetic_vs_real": distance, "real_vs_real_noise_floor": floor,
            "ratio_to_floor": distance["average"] / floor["average"] if floor["average"] > 0 else None,
            "ratio_noise": float(np.std(floors, ddof=1) / np.mean(floors)) if floor["average"] > 0 else None}


def _mean_swd(results: Sequence[dict]) -> dict:
    levels = {str(size): float(np.mean([r["levels"][size] for r in results])) for size in results[0]["levels"]}
    return {"levels": levels, "average": float(np.mean([r["average"] for r in results]))}


def _swd_section(real: LabeledArrays, synthetic: LabeledArrays, overall: np.ndarray, classes: Sequence[str],
                 options: QualityOptions) -> dict:
    logger.info("SWD: all classes")
    return {"overall": _swd_compare(real, synthetic.subset(overall), len(classes), options.seed, options.swd_repeats,
                                    0),
            "per_class": _per_class(classes, "SWD", lambda label: _swd_compare(
                real.subset(np.flatnonzero(real.labels == label)),
                synthetic.subset(np.flatnonzero(synthetic.labels == label)), len(classes), options.seed,
                options.swd_repeats, label + 1))}


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
                    heldout: LabeledArrays | None, options: QualityOptions) -> dict[str, tuple[Any, dict]]:
    """{space name: (feature extractor on [0, 1] images, description)}."""
    model, path, training = domain_classifier(real_dir, info, train_folds, real, options)
    if heldout is not None:
        accuracy = classifier_accuracy(model, heldout, f"the held-out real folds {heldout_folds(info, train_folds)}",
                                       options.seed)
    else:
        accuracy = classifier_accuracy(model, feature_validation_split(real, options.seed)[1],
                                       "its validation split of the training folds (no fold is held out)", options.seed)
    penultimate = penultimate_feature_extractor(model)
    spaces = {"domain": (lambda images: penultimate(2.0 * images - 1.0), {
        "feature_space": f"penultimate layer of a {options.classifier} classifier trained on the real folds "
                         f"{list(train_folds)}: a domain feature space, not Inception's (values are not "
                         f"comparable with published FID/KID)",
        "classifier_file": path, "classifier_reused": training is None, "classifier_training": training,
        "classifier_accuracy": accuracy})}
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
        try:
            result["fid"] = frechet_distance(real_feats, synthetic_feats)
        except UnreliableFid as error:
            logger.warning("FID: %s", error)
            result["fid"], result["fid_unreliable"] = None, str(error)
    if "kid" in options.metrics:
        rng = np.random.default_rng([options.seed, _KID_STREAM, stream])
        mean, std = kernel_inception_distance(real_feats, synthetic_feats, options.kid_subsets,
                                              options.kid_subset_size, seed=rng)
        result["kid"] = {"mean": mean, "std": std}
    return result


def equal_size_samples(real: LabeledArrays, heldout: LabeledArrays | None, synthetic: LabeledArrays,
                       overall: np.ndarray, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(synthetic positions, held-out positions or None) of the overall FID/KID and its real baseline, both
    compared with all training images: held-out real images in the training class mix, at most as many as the
    overall synthetic sample, and that sample cut down to as many as the held-out images, so both sides have the
    same N (FID falls with N). Each cut is a seeded subsample in the side's own class proportions."""
    if heldout is None:
        return overall, None
    rng = np.random.default_rng([seed, _BASELINE_STREAM])
    counts = class_mix_counts(real.class_counts(num_classes), heldout.class_counts(num_classes), limit=len(overall))
    chosen = class_mix_sample(heldout.labels, counts, rng) if counts.sum() else np.arange(len(heldout))
    size = min(len(overall), len(chosen))
    return _cut(overall, synthetic.labels, size, rng), _cut(chosen, heldout.labels, size, rng)


def _cut(positions: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` of `positions` (sorted), drawn per class in their own class proportions; all when they are no more."""
    if len(positions) <= size:
        return positions
    own = np.bincount(labels[positions])
    return positions[class_mix_sample(labels[positions], class_mix_counts(own, own, limit=size), rng)]


def _feature_distance_section(real_dir: str, info: DatasetInfo, train_folds: Sequence[int], real: LabeledArrays,
                              heldout: LabeledArrays | None, synthetic: LabeledArrays, overall: np.ndarray,
                              options: QualityOptions) -> dict:
    section = {}
    spaces = _feature_spaces(real_dir, info, train_folds, real, heldout, options)
    compared, baseline = equal_size_samples(real, heldout, synthetic, overall, info.num_classes, options.seed)
    for space, (extractor, description) in spaces.items():
        logger.info("FID/KID (%s features): extracting features", space)
        real_feats, synthetic_feats = (extract_features(extractor, s.images) for s in (real, synthetic))
        heldout_feats = None if heldout is None else extract_features(extractor, heldout.images)

        def per_class(label: int) -> dict:
            return _distances(real_feats[real.labels == label], synthetic_feats[synthetic.labels == label],
                              options, options.min_images_per_class, label + 1)

        section[space] = {**description, "overall": _distances(real_feats, synthetic_feats[compared], options, 2, 0),
                          "real_baseline": {"skipped": "no held-out real folds"} if baseline is None else
                          _distances(real_feats, heldout_feats[baseline], options, 2, info.num_classes + 1),
                          "per_class": _per_class(info.classes, f"FID/KID ({space})", per_class)}
    return section


def _memorization_section(heldout_folds: Sequence[int], heldout: LabeledArrays, real: LabeledArrays,
                          synthetic: LabeledArrays, options: QualityOptions) -> tuple[dict, ClosestPairs]:
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
        "fraction_flagged": raw["fraction_above_threshold"],
        "expected_fraction_flagged": raw["expected_fraction_above_threshold"], "flagged_ids": raw["flagged_ids"],
        "flagged": [pair(positions[image_id]) for image_id in raw["flagged_ids"]],
        "closest_pairs": [pair(index) for index in closest],
        "nearest_training_ssim": {name: {"median": float(np.median(values)), "max": float(np.max(values))}
                                  for name, values in nearest.items()},
    }
    return section, ClosestPairs(synthetic.images[closest], real.images[nearest_index[closest]])


def heldout_folds(info: DatasetInfo, train_folds: Sequence[int]) -> list[int]:
    """The folds of the dataset the generator never saw."""
    return [f for f in range(info.folds) if f not in train_folds]


def measure_quality(real_dir: str, train_folds: Sequence[int], synthetic: LabeledArrays,
                    options: QualityOptions = QualityOptions(), synthetic_source: str = "") -> QualityResult:
    """Audits `synthetic` (images in [0, 1], labels, ids) against the real folds `train_folds`.

    The other folds of the dataset are the held-out baseline of the memorization audit, of FID/KID and of the
    feature classifier's accuracy. `synthetic_source` describes where the images come from, for the report.
    """
    info = read_info(real_dir)
    train_folds = check_folds(info, train_folds, real_dir)
    held_out = heldout_folds(info, train_folds)
    if "memorization" in options.metrics and not held_out:
        raise DataError(f"{real_dir}: memorization needs a held-out fold, but folds {train_folds} are all the folds")
    _check_image_size(info.resolution, options.metrics)
    matched = _match_real_format(synthetic, info, synthetic_source or "synthetic images")
    given_resolution, synthetic = int(np.shape(synthetic.images)[1]), matched
    logger.info("loading the real training folds %s of %s", train_folds, real_dir)
    real = load_labeled_images(real_dir, train_folds)
    heldout = None
    if held_out and {"fid", "kid", "memorization"} & set(options.metrics):
        logger.info("loading the held-out folds %s", held_out)
        heldout = load_labeled_images(real_dir, held_out)
    overall, overall_sample = _overall_sample(real, synthetic, info.classes, options.seed)
    report: dict[str, Any] = {
        "real": {"dataset": os.path.abspath(real_dir), "name": info.name, "fingerprint": info.fingerprint,
                 "resolution": info.resolution, "channels": info.channels, "classes": info.classes,
                 "train_folds": train_folds, "heldout_folds": held_out, "training_images": len(real),
                 "per_class": _counts(real.labels, info.classes)},
        "synthetic": {"source": synthetic_source, "images": len(synthetic), "resolution": given_resolution,
                      "per_class": _counts(synthetic.labels, info.classes)},
        "overall_sample": overall_sample,
        "options": dataclasses.asdict(options),
    }
    if "swd" in options.metrics:
        report["swd"] = _swd_section(real, synthetic, overall, info.classes, options)
    if "msssim" in options.metrics:
        report["msssim"] = _msssim_section(real, synthetic, info.classes, options)
    if {"fid", "kid"} & set(options.metrics):
        report["fid_kid"] = _feature_distance_section(real_dir, info, train_folds, real, heldout, synthetic, overall,
                                                      options)
    pairs = None
    if "memorization" in options.metrics:
        report["memorization"], pairs = _memorization_section(held_out, heldout, real, synthetic, options)
    return QualityResult(json.loads(json.dumps(report)), pairs)


def _counts(labels: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    return {name: int(np.sum(labels == label)) for label, name in enumerate(classes)}


def audit(options: AuditOptions) -> QualityResult:
    """What tools.measure_quality does: audit a synthetic set (or --num images per class of a generator) against
    the real folds its generator was trained on (--folds, else the generator's recorded trained_on_folds).
    A generator's classes are matched to the real ones by name, whatever their order."""
    real = read_info(options.real)
    if options.generator:
        metadata = synthesis.read_generator_metadata(options.generator)
        folds = resolve_train_folds(metadata, real, options.generator, options.folds)
        check_synthetic_format(real, options.generator, metadata["resolution"], metadata["channels"],
                               metadata["classes"])
        generated, _ = generate_images(options.generator, options.num, options.quality.seed)
        synthetic = relabel_by_name(generated, metadata["classes"], real)
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

"""Tests for tfpgan.quality: SWD with its noise floor, the cached domain classifier, memorization, generators."""
import dataclasses
import json
import logging
import os
import re

import keras
import matplotlib.image
import numpy as np
import pytest
import scipy.ndimage

from tfpgan import quality, quality_report, synthesis
from tfpgan.data.build import build_dataset
from tfpgan.data.dataset_info import DatasetInfo, read_info
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError
from tfpgan.export import export_generator
from tfpgan.labeled import LabeledArrays
from tfpgan.models.networks import Generator
from tfpgan.options import AuditOptions, BuildOptions, OptionsError, QualityOptions

CLASSES = ("cyst", "metastasis")
SIZE = 16
PER_CLASS = 20
FAST = dict(classifier_epochs=1, kid_subsets=10, msssim_pairs=50)


def structured_images(count: int, size: int, seed: int, label: int) -> np.ndarray:
    """uint8 [count, size, size, 1] smooth random fields; the class sets the smoothness."""
    noise = np.random.default_rng(seed).standard_normal((count, size, size, 1))
    fields = scipy.ndimage.gaussian_filter(noise, sigma=(0, 1.0 + label, 1.0 + label, 0))
    low, high = fields.min(axis=(1, 2, 3), keepdims=True), fields.max(axis=(1, 2, 3), keepdims=True)
    return np.round(255 * (fields - low) / (high - low)).astype(np.uint8)


def build_images_dataset(folder: str, images_per_class: list[np.ndarray], ids_per_class: list[list[str]],
                         resolution: int) -> DatasetInfo:
    """A 2-fold dataset folder from uint8 images in memory."""
    items = [Item(image_id, label, lambda pixels=pixels: pixels)
             for label, (images, ids) in enumerate(zip(images_per_class, ids_per_class))
             for pixels, image_id in zip(images, ids)]
    return build_dataset(Source("memory", CLASSES, items), folder,
                         BuildOptions(resolution=resolution, folds=2, seed=0))


def build_real_dataset(folder: str) -> DatasetInfo:
    images = [structured_images(PER_CLASS, SIZE, seed=label, label=label) for label in range(len(CLASSES))]
    return build_images_dataset(folder, images, [[f"{name}/{i:03d}" for i in range(PER_CLASS)] for name in CLASSES],
                                SIZE)


def as_uint8(images: np.ndarray) -> np.ndarray:
    return np.round(255 * images).astype(np.uint8)


def upsample(images: np.ndarray, factor: int = 2) -> np.ndarray:
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


def export_tiny_generator(export_dir: str, info: DatasetInfo, resolution: int = 2 * SIZE, **metadata) -> None:
    generator = Generator(info.num_classes, latent_size=8, channels=info.channels, max_resolution=resolution,
                          fmap_base=64, fmap_max=16)
    export_generator(generator, resolution, {
        "classes": info.classes, "num_classes": info.num_classes, "resolution": resolution, "channels": info.channels,
        "latent_size": 8, "trained_on_folds": [0], "dataset_name": info.name, "dataset_fingerprint": info.fingerprint,
        **metadata,
    }, export_dir)


@pytest.fixture(scope="module", name="real_dir")
def fixture_real_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("quality") / "real")
    build_real_dataset(folder)
    return folder


@pytest.fixture(scope="module", name="training")
def fixture_training(real_dir):
    return quality.load_labeled_images(real_dir, [0])


def synthetic_with_planted_copy(training: LabeledArrays, copied: int) -> LabeledArrays:
    """12 new images per class at twice the real resolution, plus one exact (upsampled) copy of a training image."""
    fresh = [structured_images(12, 2 * SIZE, seed=50 + label, label=label) for label in range(len(CLASSES))]
    images = np.concatenate([*fresh, upsample(as_uint8(training.images[copied:copied + 1]))]).astype(np.float32) / 255
    labels = np.array([0] * 12 + [1] * 12 + [training.labels[copied]])
    return LabeledArrays(images, labels, [f"new{i:02d}" for i in range(24)] + ["planted-copy"])


def test_planted_copy_is_flagged_by_id_in_json_and_markdown(real_dir, training, tmp_path):
    synthetic = synthetic_with_planted_copy(training, copied=3)
    result = quality.measure_quality(real_dir, [0], synthetic, QualityOptions(metrics=("memorization",)), "test set")
    output = str(tmp_path / "report")
    quality_report.write_quality_report(result, output)

    report = json.load(open(os.path.join(output, "quality.json")))
    memorization = report["memorization"]
    assert memorization["flagged_ids"][0] == "planted-copy"
    assert memorization["flagged"][0]["training_id"] == training.ids[3]
    assert memorization["flagged"][0]["ssim"] == pytest.approx(1.0, abs=1e-5)
    closest = memorization["closest_pairs"]
    assert len(closest) == QualityOptions().closest_pairs and closest[0] == memorization["flagged"][0]
    assert [pair["ssim"] for pair in closest] == sorted((pair["ssim"] for pair in closest), reverse=True)
    assert memorization["threshold"] < 0.99 and memorization["fraction_flagged"] < 0.5
    assert memorization["heldout_folds"] == [1] and memorization["heldout_images"] == 2 * PER_CLASS - len(training.ids)
    # 20 held-out images, threshold = their maximum (percentile 1): a non-copy exceeds it with chance 1/21
    assert memorization["expected_fraction_flagged"] == pytest.approx(1 / 21)
    assert set(report) == {"real", "synthetic", "overall_sample", "options", "memorization"}
    assert report["synthetic"]["resolution"] == 2 * SIZE and report["real"]["train_folds"] == [0]
    markdown = open(os.path.join(output, "quality.md")).read()
    assert f"| planted-copy | {training.ids[3]} | 1.0000 |" in markdown
    assert f"Threshold SSIM {memorization['threshold']:.4f}" in markdown and "about 4.8% is expected" in markdown
    assert f"\n\n{quality_report.summary_text(report)}\n\n" in markdown
    flagged = len(memorization["flagged_ids"])
    assert quality_report.summary_text(report).endswith(f"| 4.8% | {flagged} / {len(synthetic)} |")
    assert matplotlib.image.imread(os.path.join(output, "closest_pairs.png")).ndim == 3
    assert sorted(os.listdir(tmp_path)) == ["report"]


@pytest.fixture(scope="module", name="large_real_dir")
def fixture_large_real_dir(tmp_path_factory):
    """80 images per class: enough for the SWD floor to be a stable yardstick."""
    folder = str(tmp_path_factory.mktemp("quality_large") / "real")
    images = [structured_images(80, SIZE, seed=10 + label, label=label) for label in range(len(CLASSES))]
    build_images_dataset(folder, images, [[f"{name}/{i:03d}" for i in range(80)] for name in CLASSES], SIZE)
    return folder


def test_a_perfect_generator_scores_at_the_swd_floor(large_real_dir):
    disjoint_real = quality.load_labeled_images(large_real_dir, [1])  # the same distribution, other images
    swd = quality.measure_quality(large_real_dir, [0], disjoint_real, QualityOptions(metrics=("swd",))).report["swd"]
    overall = swd["overall"]
    assert 0.8 < overall["ratio_to_floor"] < 1.25
    assert overall["ratio_to_floor"] == pytest.approx(overall["synthetic_vs_real"]["average"]
                                                      / overall["real_vs_real_noise_floor"]["average"])
    assert overall["same_sizes"] and overall["compared_images"] == {"real": 40, "synthetic": 40}
    assert overall["reference_images"] == 40 and overall["repeats"] == QualityOptions().swd_repeats
    assert 0 < overall["ratio_noise"] < 0.5
    for entry in swd["per_class"].values():
        assert 0.7 < entry["ratio_to_floor"] < 1.4 and entry["compared_images"] == {"real": 20, "synthetic": 20}


def test_swd_ratio_grows_for_unlike_images(real_dir, training):
    levels = np.random.default_rng(0).random((24, 1, 1, 1), dtype=np.float32)
    flat = LabeledArrays(np.broadcast_to(levels, (24, SIZE, SIZE, 1)), np.repeat([0, 1], 12),
                         [str(i) for i in range(24)])
    options = QualityOptions(metrics=("swd",))

    far = quality.measure_quality(real_dir, [0], flat, options).report
    markdown = quality_report.quality_markdown(far)

    for entry in (far["swd"]["overall"], *far["swd"]["per_class"].values()):
        assert list(entry["real_vs_real_noise_floor"]["levels"]) == [str(SIZE)]
        assert entry["ratio_to_floor"] > 1.5  # a perfect generator gives about 1 (see above)
    overall = far["swd"]["overall"]
    assert overall["ratio_to_floor"] > 2
    assert f"**{overall['ratio_to_floor']:.2f} ± {overall['ratio_noise']:.2f}**" in markdown
    assert {name: far["swd"]["per_class"][name]["real_images"] for name in CLASSES} == {
        name: int(np.sum(training.labels == label)) for label, name in enumerate(CLASSES)}


@pytest.mark.parametrize("mix, available, limit, counts", [
    ([5, 2, 1], [4, 4, 4], None, [4, 1, 1]),  # 6.4 images in all: 4.0, 1.6, 0.8 rounded by largest remainder
    ([10, 10], [20, 4], None, [4, 4]),
    ([3, 3], [50, 50], 6, [3, 3]),
    ([2, 0, 1], [0, 5, 5], None, [0, 0, 0]),  # a class of the mix is missing: no sample in that mix
])
def test_class_mix_counts(mix, available, limit, counts):
    assert quality.class_mix_counts(np.array(mix), np.array(available), limit).tolist() == counts


def test_overall_values_use_the_real_class_mix(real_dir, training):
    cysts = training.images[training.labels == 0]
    unbalanced = LabeledArrays(np.concatenate([cysts, cysts, training.images[training.labels == 1][:4]]),
                               np.array([0] * (2 * len(cysts)) + [1] * 4), [str(i) for i in range(2 * len(cysts) + 4)])
    report = quality.measure_quality(real_dir, [0], unbalanced, QualityOptions(metrics=("swd",))).report

    real_mix = report["real"]["per_class"]
    assert real_mix["cyst"] == real_mix["metastasis"]  # 1:1, so 4 of each (metastasis has only 4)
    assert report["overall_sample"]["method"] == "real_class_mix"
    assert report["overall_sample"]["per_class"] == {"cyst": 4, "metastasis": 4}
    assert report["swd"]["overall"]["compared_images"]["synthetic"] == 8
    assert "class mix of the real training images" in quality_report.quality_markdown(report)

    cysts_only = unbalanced.subset(np.flatnonzero(unbalanced.labels == 0))
    lacking = quality.measure_quality(real_dir, [0], cysts_only, QualityOptions(metrics=("swd",))).report
    assert lacking["overall_sample"]["method"] == "as_given"
    assert "lack class(es) metastasis" in lacking["overall_sample"]["description"]


def test_msssim_diversity_compares_synthetic_with_real_per_class(real_dir, training):
    collapsed = LabeledArrays(np.repeat(training.images[:1], 10, axis=0), np.zeros(10, int), list("abcdefghij"))
    section = quality.measure_quality(real_dir, [0], collapsed, QualityOptions(metrics=("msssim",))).report["msssim"]
    cyst, metastasis = section["per_class"]["cyst"], section["per_class"]["metastasis"]
    assert cyst["synthetic"]["mean"] == pytest.approx(1.0) and cyst["real"]["mean"] < 0.9
    assert metastasis["synthetic"] is None and metastasis["real"]["images"] > 1


def test_feature_classifier_is_trained_once_then_reused(tmp_path, monkeypatch):
    real_dir = str(tmp_path / "real")
    info = build_real_dataset(real_dir)
    synthetic = quality.load_labeled_images(real_dir, [1])
    options = QualityOptions(metrics=("fid", "kid"), min_images_per_class=5, **FAST)

    first = quality.measure_quality(real_dir, [0], synthetic, options).report["fid_kid"]["domain"]
    monkeypatch.setattr(quality, "build_classifier", lambda *args, **kwargs: pytest.fail("retrained"))
    second = quality.measure_quality(real_dir, [0], synthetic, options).report["fid_kid"]["domain"]

    assert (first["classifier_reused"], second["classifier_reused"]) == (False, True)
    assert first["classifier_file"] == second["classifier_file"] == quality.classifier_cache_path(
        real_dir, info, [0], options)
    assert os.listdir(os.path.join(real_dir, ".cache")) == [os.path.basename(first["classifier_file"])]
    assert info.fingerprint[:16] in first["classifier_file"]
    for other in (dict(classifier_epochs=2), dict(seed=1), dict(classifier_patience=2)):
        assert quality.classifier_cache_path(real_dir, info, [0], options.replace(**other)) != first["classifier_file"]
    assert quality.classifier_cache_path(real_dir, info, [1], options) != first["classifier_file"]
    assert "not Inception" in first["feature_space"]
    for key in ("overall", "per_class", "real_baseline", "classifier_accuracy"):
        assert first[key] == second[key]
    accuracy = first["classifier_accuracy"]
    assert accuracy["images"] == PER_CLASS and accuracy["chance"] == 0.5 and accuracy["permutations"] == 2000
    assert "held-out" in accuracy["evaluated_on"]
    assert accuracy["meaningful"] == (accuracy["permutation_p"] < 0.05)
    assert first["classifier_training"]["validation_images"] + first["classifier_training"]["training_images"] == 20
    assert first["overall"]["fid"] > 1e-4  # other images: a distance (the same images give 0, see below)
    # KID subsets are clipped to the 20 images of the smaller set: every subset is the whole set
    assert first["overall"]["kid"]["std"] == pytest.approx(0.0, abs=1e-12)
    assert set(first["per_class"]["cyst"]) == {"real_images", "synthetic_images", "fid", "kid"}
    # the synthetic images are the held-out fold: the real baseline compares exactly the same images
    assert first["real_baseline"]["fid"] == pytest.approx(first["overall"]["fid"], rel=1e-6)


def test_feature_classifier_stops_early_and_keeps_its_best_epoch(tmp_path):
    real_dir = str(tmp_path / "real")
    info = build_real_dataset(real_dir)
    training = quality.load_labeled_images(real_dir, [0])
    options = QualityOptions(classifier_epochs=8, classifier_patience=2)

    model, _, record = quality.domain_classifier(real_dir, info, [0], training, options)

    assert record["epochs_run"] == min(8, record["best_epoch"] + 2)
    _, validation = quality.feature_validation_split(training, options.seed)
    loss = keras.losses.sparse_categorical_crossentropy(validation.labels, model.predict(
        2.0 * validation.images - 1.0, verbose=0))
    assert float(np.mean(loss)) == pytest.approx(record["best_validation_loss"], rel=1e-3)


def constant_classifier() -> keras.Model:
    """Always predicts class 0: a feature space no better than guessing."""
    inputs = keras.Input((SIZE, SIZE, 1))
    features = keras.layers.Dense(4)(keras.layers.Flatten()(inputs))
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant([1.0, 0.0]))(features)
    return keras.Model(inputs, outputs)


def test_a_feature_space_no_better_than_chance_is_flagged(real_dir, training, monkeypatch, tmp_path):
    monkeypatch.setattr(quality, "domain_classifier", lambda *args: (constant_classifier(), "constant", None))
    options = QualityOptions(metrics=("fid",), min_images_per_class=PER_CLASS)
    result = quality.measure_quality(real_dir, [0], training, options)
    quality_report.write_quality_report(result, str(tmp_path / "report"))

    accuracy = result.report["fid_kid"]["domain"]["classifier_accuracy"]
    assert accuracy == {"balanced_accuracy": 0.5, "chance": 0.5, "permutation_p": 1.0, "permutations": 2000,
                        "evaluated_on": "the held-out real folds [1]", "images": PER_CLASS, "meaningful": False}
    assert json.load(open(tmp_path / "report" / "quality.json"))["fid_kid"]["domain"]["classifier_accuracy"] == accuracy
    assert "FID/KID in this feature space are meaningless" in open(tmp_path / "report" / "quality.md").read()
    row = quality_report.summary_table([("0", result.report)])[2]
    assert re.search(r"\| meaningless: -?0\.00 \(real [0-9.]+, N 20\); below the real baseline: see the memorization "
                     r"audit \|", row)  # the training images themselves: copies
    assert "| 0.500 (chance 0.500, permutation p 1): FID/KID meaningless |" in row


class FixedPredictions:
    """A stand-in classifier whose predict() gives one-hot scores of fixed predicted classes."""

    def __init__(self, predictions):
        self.predictions = np.asarray(predictions)

    def predict(self, images, **kwargs):
        return np.eye(2)[self.predictions]


def test_a_feature_space_is_meaningful_when_its_balanced_accuracy_beats_chance_by_a_permutation_test():
    labels = np.array([0] * 90 + [1] * 10)  # 90 % one class
    images = LabeledArrays(np.zeros((100, 4, 4, 1), np.float32), labels, [str(i) for i in range(100)])
    majority = np.zeros(100, int)
    majority[90] = 1  # the majority class always, one minority image right: accuracy 0.91
    assert np.mean(majority == labels) == 0.91
    guessing = quality.classifier_accuracy(FixedPredictions(majority), images, "held-out", seed=0)
    assert guessing["balanced_accuracy"] == pytest.approx(0.55) and not guessing["meaningful"]
    assert guessing["permutation_p"] == pytest.approx(0.1, abs=0.03)  # the one minority guess hits by chance
    good = labels.copy()
    good[[0, 1, 2, 3, 90, 91]] = 1 - good[[0, 1, 2, 3, 90, 91]]  # 94 % right, 8 of 10 minority images
    telling = quality.classifier_accuracy(FixedPredictions(good), images, "held-out", seed=0)
    assert telling["balanced_accuracy"] == pytest.approx((86 / 90 + 8 / 10) / 2)
    assert telling["meaningful"] and telling["permutation_p"] == pytest.approx(1 / 2001)
    assert quality.classifier_accuracy(FixedPredictions(good), images, "held-out", seed=0) == telling  # seeded


def test_fid_and_kid_compare_as_many_synthetic_as_held_out_images(real_dir, training):
    options = QualityOptions(metrics=("fid", "kid"), min_images_per_class=5, **FAST)
    heldout = quality.load_labeled_images(real_dir, [1])
    many = LabeledArrays.concatenate([training, heldout])
    few = training.subset(np.flatnonzero(training.labels == 0)[:4].tolist()
                          + np.flatnonzero(training.labels == 1)[:3].tolist())
    for synthetic in (many, few):
        overall = quality._overall_sample(training, synthetic, CLASSES, 0)[0]
        compared, baseline = quality.equal_size_samples(training, heldout, synthetic, overall, 2, 0)
        size = len(heldout) if synthetic is many else len(overall)  # the smaller side's
        assert (len(overall), size) == (40, 20) if synthetic is many else len(overall) < len(heldout)
        assert len(compared) == len(baseline) == size
        assert np.bincount(synthetic.labels[compared]).tolist() == np.bincount(heldout.labels[baseline]).tolist()
        section = quality.measure_quality(real_dir, [0], synthetic, options).report["fid_kid"]["domain"]
        assert section["overall"]["synthetic_images"] == section["real_baseline"]["synthetic_images"] == size


def test_per_class_feature_distances_need_enough_images(real_dir, training):
    options = QualityOptions(metrics=("fid",), min_images_per_class=PER_CLASS, **FAST)
    section = quality.measure_quality(real_dir, [0], training, options).report["fid_kid"]["domain"]
    assert section["overall"]["fid"] == pytest.approx(0.0, abs=1e-6)  # the training images against themselves
    assert "kid" not in section["overall"]
    assert all("skipped" in entry for entry in section["per_class"].values())
    baseline = section["real_baseline"]  # the 20 held-out images against the 20 training images
    assert (baseline["real_images"], baseline["synthetic_images"]) == (20, 20) and baseline["fid"] > 1e-4


def test_generator_folds_come_from_its_metadata_for_the_same_dataset_only(real_dir, caplog):
    info = read_info(real_dir)
    metadata = {"dataset_name": info.name, "dataset_fingerprint": info.fingerprint, "trained_on_folds": [1]}
    assert quality.resolve_train_folds(metadata, info, "gen") == [1]

    other = {**metadata, "dataset_name": "lesions", "dataset_fingerprint": "f" * 64}
    with pytest.raises(DataError, match="fingerprint") as error:
        quality.resolve_train_folds(other, info, "gen")
    assert "lesions" in str(error.value) and "\n" not in str(error.value)
    with caplog.at_level(logging.WARNING):
        assert quality.resolve_train_folds(other, info, "gen", folds=[0]) == [0]
    assert "fingerprints differ" in caplog.text


def test_incompatible_synthetic_images_give_one_error(real_dir):
    info = read_info(real_dir)
    small_rgb = LabeledArrays(np.zeros((4, SIZE // 2, SIZE // 2, 3), np.float32), np.zeros(4, int), list("abcd"))
    with pytest.raises(DataError) as error:
        quality.measure_quality(real_dir, [0], small_rgb, QualityOptions(metrics=("swd",)), "small.npz")
    message = str(error.value)
    assert message.startswith("small.npz: cannot be compared") and "resolution 8" in message
    assert "3 channel(s)" in message and "\n" not in message
    with pytest.raises(DataError, match=r"\(missing: metastasis\) \(not in the real dataset: hemangioma\)"):
        quality.check_synthetic_format(info, "synthetic", SIZE, 1, ["cyst", "hemangioma"])


def test_a_generator_with_classes_in_another_order_is_matched_by_name(real_dir, tmp_path, monkeypatch):
    info = read_info(real_dir)
    reordered = dataclasses.replace(info, classes=list(reversed(info.classes)))
    export_dir = str(tmp_path / "generator")
    export_tiny_generator(export_dir, reordered)
    audited = []
    monkeypatch.setattr(quality, "measure_quality", lambda real, folds, synthetic, *args: audited.append(synthetic))

    quality.audit(AuditOptions(real=real_dir, output=str(tmp_path / "report"), generator=export_dir, num=2))

    (synthetic,) = audited
    assert [info.classes[label] for label in synthetic.labels] == [image_id.split("/")[1] for image_id in synthetic.ids]
    assert synthetic.ids[0].startswith("synthetic/metastasis/") and synthetic.labels[0] == CLASSES.index("metastasis")

    other = str(tmp_path / "other_generator")
    export_tiny_generator(other, dataclasses.replace(info, classes=["cyst", "hemangioma"]))
    with pytest.raises(DataError, match=r"missing: metastasis.*not in the real dataset: hemangioma"):
        quality.audit(AuditOptions(real=real_dir, output=str(tmp_path / "report"), generator=other, num=2))


def test_memorization_needs_a_heldout_fold(real_dir, training):
    with pytest.raises(DataError, match="held-out"):
        quality.measure_quality(real_dir, [0, 1], training, QualityOptions(metrics=("memorization",)))


def test_generated_images_are_class_balanced_and_seeded(real_dir, tmp_path):
    export_dir = str(tmp_path / "generator")
    export_tiny_generator(export_dir, read_info(real_dir))

    images, metadata = quality.generate_images(export_dir, per_class=3, seed=5, batch_size=2)
    again, _ = quality.generate_images(export_dir, per_class=3, seed=5)
    other, _ = quality.generate_images(export_dir, per_class=3, seed=6)

    assert images.images.shape == (6, 2 * SIZE, 2 * SIZE, 1) and metadata["trained_on_folds"] == [0]
    assert images.images.min() >= 0.0 and images.images.max() <= 1.0
    assert images.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert images.ids[:2] == ["synthetic/cyst/000000", "synthetic/cyst/000001"] and len(set(images.ids)) == 6
    np.testing.assert_allclose(again.images, images.images, atol=1e-6)
    assert not np.allclose(other.images, images.images)


def test_generated_images_are_those_synthesize_writes(real_dir, tmp_path):
    info = read_info(real_dir)
    export_dir, output = str(tmp_path / "generator"), str(tmp_path / "synthesized")
    export_tiny_generator(export_dir, info)

    generated, _ = quality.generate_images(export_dir, per_class=3, seed=9, batch_size=2)
    synthesis.synthesize(export_dir, output, "per_class", 3, seed=9)
    written = quality.load_synthetic_dataset(output, info)

    assert generated.ids == written.ids == [f"synthetic/{name}/{i:06d}" for name in CLASSES for i in range(3)]
    np.testing.assert_array_equal(generated.labels, written.labels)
    np.testing.assert_array_equal(as_uint8(generated.images), as_uint8(written.images))
    assert np.ptp(generated.images) > 0.01  # not a constant image the comparison would pass trivially


def test_quality_options_errors_name_the_flag():
    with pytest.raises(OptionsError, match=re.escape("--quality_classifier_epochs must be > 0, got 0")):
        QualityOptions(classifier_epochs=0)
    with pytest.raises(OptionsError, match="--metrics must be one of swd, msssim, fid, kid, memorization"):
        QualityOptions(metrics=("swd", "inception_score"))
    with pytest.raises(ValueError, match=re.escape("--memorization_percentile must be in [0, 100], got 101")):
        QualityOptions(memorization_percentile=101)

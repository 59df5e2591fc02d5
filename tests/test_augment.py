"""Tests for tfpgan.data.augment: what each classic augmentation does to an image."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfpgan.data.augment import make_augmenter
from tfpgan.options import ClassicAugmentation

NOTHING = ClassicAugmentation(
    rotation_degrees=0.0, horizontal_flip=False, vertical_flip=False, translate_pixels=0, zoom=0.0
)


def _asymmetric_batch(copies=1, size=8):
    """Copies of an image with no rotation or mirror symmetry, values spanning [-1, 1]."""
    image = np.linspace(-1.0, 1.0, size * size, dtype=np.float32).reshape(size, size, 1)
    image[1, 2] = 1.0
    return np.repeat(image[None], copies, axis=0)


def _blob_batch(copies, size=16):
    """A bright 4x4 square centred on a dark background."""
    images = np.full((copies, size, size, 1), -1.0, dtype=np.float32)
    images[:, size // 2 - 2 : size // 2 + 2, size // 2 - 2 : size // 2 + 2] = 1.0
    return images


def _centroids(images):
    """(row, column) centre of mass of images + 1, one per image."""
    mass = images[..., 0] + 1.0
    rows, columns = np.indices(mass.shape[1:])
    total = mass.sum(axis=(1, 2))
    return np.stack([(mass * rows).sum(axis=(1, 2)) / total, (mass * columns).sum(axis=(1, 2)) / total], axis=1)


def _augment(config, images, seed=0):
    augmented, _ = make_augmenter(config, seed)(tf.constant(images), tf.zeros(len(images), tf.int32))
    return augmented.numpy()


def test_default_config_keeps_shape_dtype_range_and_labels():
    images = np.random.default_rng(0).uniform(-1, 1, size=(6, 16, 16, 3)).astype(np.float32)
    labels = tf.constant([0, 1, 2, 0, 1, 2])
    augmented, augmented_labels = make_augmenter(ClassicAugmentation(), seed=3)(tf.constant(images), labels)
    assert augmented.shape == images.shape and augmented.dtype == tf.float32
    assert -1.0 <= augmented.numpy().min() and augmented.numpy().max() <= 1.0
    assert not np.allclose(augmented.numpy(), images)
    np.testing.assert_array_equal(augmented_labels.numpy(), labels.numpy())


@pytest.mark.parametrize("degrees, quarter_turns", [((180.0, 180.0), 2), ((90.0, 90.0), 1)])
def test_fixed_rotation_matches_numpy_rotation(degrees, quarter_turns):
    config = dataclasses.replace(NOTHING, rotation_degrees=degrees)
    images = _asymmetric_batch()
    expected = np.rot90(images, quarter_turns, axes=(1, 2))  # counter-clockwise as displayed
    np.testing.assert_allclose(_augment(config, images), expected, atol=1e-4)


def test_default_rotation_angles_lie_in_zero_to_180_degrees():
    config = dataclasses.replace(NOTHING, rotation_degrees=180.0)
    assert config.rotation_range == (0.0, 180.0)
    # A blob off-centre to the right moves through the upper half-plane (counter-clockwise, rows down).
    images = np.full((64, 17, 17, 1), -1.0, dtype=np.float32)
    images[:, 7:10, 12:15] = 1.0
    row_offsets = _centroids(_augment(config, images))[:, 0] - 8.0
    assert (row_offsets <= 0.5).all()
    assert row_offsets.min() < -3.0


@pytest.mark.parametrize(
    "flip, mirror", [("horizontal_flip", lambda x: x[:, :, ::-1]), ("vertical_flip", lambda x: x[:, ::-1])]
)
def test_flips_mirror_about_half_the_images(flip, mirror):
    config = dataclasses.replace(NOTHING, **{flip: True})
    images = _asymmetric_batch(copies=32)
    augmented = _augment(config, images)
    flipped = np.array([np.allclose(out, mirror(images)[0]) for out in augmented])
    unchanged = np.array([np.allclose(out, images[0]) for out in augmented])
    assert (flipped | unchanged).all()
    assert 4 <= flipped.sum() <= 28


def test_translation_is_bounded_by_pixels_and_fraction():
    assert ClassicAugmentation().translate_factor(64) == pytest.approx(4 / 64)  # 4 px < 10% of 64
    assert ClassicAugmentation().translate_factor(16) == pytest.approx(0.1)  # 10% of 16 < 4 px
    config = dataclasses.replace(NOTHING, translate_pixels=2, translate_fraction=0.5, fill_mode="nearest")
    images = _blob_batch(copies=32)
    shifts = _centroids(_augment(config, images)) - _centroids(images)
    assert np.abs(shifts).max() <= 2.0 + 1e-3
    assert np.abs(shifts).max() > 0.5


def test_zoom_rescales_about_the_centre():
    config = dataclasses.replace(NOTHING, zoom=0.3, fill_mode="nearest")
    images = _blob_batch(copies=16)
    augmented = _augment(config, images)
    areas = (augmented + 1.0).sum(axis=(1, 2, 3)) / (images[0] + 1.0).sum()
    assert ((1 / 1.3**2 - 0.05 <= areas) & (areas <= 1 / 0.7**2 + 0.05)).all()
    assert areas.max() - areas.min() > 0.2
    np.testing.assert_allclose(_centroids(augmented), _centroids(images), atol=0.6)


def test_disabled_config_is_the_identity():
    assert not NOTHING.enabled and ClassicAugmentation().enabled
    images, labels = tf.constant(_asymmetric_batch(copies=3)), tf.constant([0, 1, 2])
    augmented, augmented_labels = make_augmenter(NOTHING, seed=0)(images, labels)
    assert augmented is images and augmented_labels is labels


def test_same_seed_same_transforms_other_seed_other_transforms():
    images = tf.constant(np.random.default_rng(1).uniform(-1, 1, size=(4, 16, 16, 1)).astype(np.float32))
    labels = tf.zeros(4, tf.int32)
    first, second, other = (make_augmenter(ClassicAugmentation(), seed) for seed in (7, 7, 8))
    for _ in range(2):  # successive batches keep agreeing
        np.testing.assert_array_equal(first(images, labels)[0].numpy(), second(images, labels)[0].numpy())
    assert not np.allclose(first(images, labels)[0].numpy(), other(images, labels)[0].numpy())


def _pipeline(seed, batch_size):
    images = np.random.default_rng(2).uniform(-1, 1, size=(8, 16, 16, 1)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(8)))
    if batch_size:
        dataset = dataset.batch(batch_size)
    return dataset.map(make_augmenter(ClassicAugmentation(), seed))


@pytest.mark.parametrize("batch_size", [4, None])
def test_works_inside_tf_data_map(batch_size):
    batches = [(x.numpy(), y.numpy()) for x, y in _pipeline(seed=5, batch_size=batch_size)]
    images = np.concatenate([x.reshape(-1, 16, 16, 1) for x, _ in batches])
    assert images.shape == (8, 16, 16, 1)
    assert -1.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(np.concatenate([np.ravel(y) for _, y in batches]), np.arange(8))
    again = np.concatenate([x.numpy().reshape(-1, 16, 16, 1) for x, _ in _pipeline(seed=5, batch_size=batch_size)])
    np.testing.assert_array_equal(images, again)
    # Each image gets its own transform, and each epoch new ones.
    assert not np.allclose(images[0], images[1])
    pipeline = _pipeline(seed=5, batch_size=batch_size)
    epochs = [np.concatenate([x.numpy().reshape(-1, 16, 16, 1) for x, _ in pipeline]) for _ in range(2)]
    assert not np.allclose(epochs[0], epochs[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rotation_degrees": -10.0}, "rotation_degrees"),
        ({"rotation_degrees": (90.0, 10.0)}, "rotation_degrees"),
        ({"translate_pixels": -1}, "translate_pixels"),
        ({"translate_fraction": 1.5}, "translate_fraction"),
        ({"zoom": 1.0}, "zoom"),
        ({"fill_mode": "mirror"}, "fill_mode"),
    ],
)
def test_invalid_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassicAugmentation(**kwargs)

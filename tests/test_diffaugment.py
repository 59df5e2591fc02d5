"""Differentiable augmentation: every operation is the identity at strength 0, keeps shapes and a bounded range,
lets gradients through, and `augment` applies each op per sample with probability p."""

import numpy as np
import pytest
import tensorflow as tf

from tfpgan.training import diffaugment

SEED = tf.constant([3, 4], tf.int64)


def images(channels: int = 3, count: int = 6, size: int = 16) -> tf.Tensor:
    return tf.constant(np.random.default_rng(channels).uniform(-1, 1, (count, size, size, channels)), tf.float32)


@pytest.mark.parametrize("name", sorted(diffaugment.OPERATIONS))
@pytest.mark.parametrize("channels", [1, 3])
def test_identity_at_strength_zero_and_shape_kept(name, channels):
    x = images(channels)
    operation = diffaugment.OPERATIONS[name]
    np.testing.assert_allclose(operation(x, SEED, 0.0).numpy(), x.numpy(), atol=1e-6)
    assert operation(x, SEED).shape == x.shape


@pytest.mark.parametrize("name", sorted(set(diffaugment.OPERATIONS) - {"saturation"}))
@pytest.mark.parametrize("channels", [1, 3])
def test_each_operation_changes_the_images_at_full_strength(name, channels):
    x = images(channels)
    assert np.abs(diffaugment.OPERATIONS[name](x, SEED).numpy() - x.numpy()).max() > 0.05


def test_saturation_changes_color_and_leaves_gray_alone():
    x = images(3)
    assert np.abs(diffaugment.saturation(x, SEED).numpy() - x.numpy()).max() > 0.05
    gray = images(1)
    np.testing.assert_array_equal(diffaugment.saturation(gray, SEED).numpy(), gray.numpy())
    # a color image with equal channels is gray too: saturation cannot change it
    equal = tf.repeat(gray, 3, axis=-1)
    np.testing.assert_allclose(diffaugment.saturation(equal, SEED).numpy(), equal.numpy(), atol=1e-6)


def test_brightness_shifts_each_image_by_one_constant_of_at_most_half():
    x = images(1, count=64)
    shift = (diffaugment.brightness(x, SEED) - x).numpy()
    per_image = shift[:, 0, 0, 0]
    np.testing.assert_allclose(shift, np.broadcast_to(per_image[:, None, None, None], shift.shape), atol=1e-6)
    assert np.abs(per_image).max() <= 0.5 and per_image.std() > 0.1  # different per sample


def test_contrast_keeps_each_images_mean_and_scales_its_spread_by_half_to_one_and_a_half():
    x = images(1, count=64)
    y = diffaugment.contrast(x, SEED).numpy()
    np.testing.assert_allclose(y.mean(axis=(1, 2, 3)), x.numpy().mean(axis=(1, 2, 3)), atol=1e-5)
    ratio = y.std(axis=(1, 2, 3)) / x.numpy().std(axis=(1, 2, 3))
    assert ratio.min() >= 0.5 - 1e-4 and ratio.max() <= 1.5 + 1e-4


def test_translation_moves_a_dot_by_at_most_an_eighth_and_pads_with_zeros():
    size, count = 16, 32
    x = np.zeros((count, size, size, 1), np.float32)
    x[:, 8, 8, 0] = 1.0
    y = diffaugment.translation(tf.constant(x), SEED).numpy()
    assert set(np.unique(y)) <= {0.0, 1.0} and (y.sum(axis=(1, 2, 3)) == 1).all()  # moved, not blurred
    rows, columns = np.nonzero(y[..., 0])[1:]
    assert np.abs(rows - 8).max() <= 2 and np.abs(columns - 8).max() <= 2
    assert len({(r, c) for r, c in zip(rows, columns)}) > 5  # per-sample shifts
    full = diffaugment.translation(tf.ones((count, size, size, 1)), SEED).numpy()
    assert set(np.unique(full)) <= {0.0, 1.0} and (full == 0).any()  # the border comes in as zeros


def test_cutout_zeroes_one_square_of_half_the_size_per_image_at_most():
    size, count = 16, 32
    y = diffaugment.cutout(tf.ones((count, size, size, 1)), SEED).numpy()[..., 0]
    zeros = (y == 0).sum(axis=(1, 2))
    assert zeros.max() == 64 and zeros.min() > 0  # clipped at the border, never bigger than 8x8
    for image in y:
        rows, columns = np.nonzero(image == 0)
        assert rows.max() - rows.min() < 8 and columns.max() - columns.min() < 8
        assert (image[rows.min():rows.max() + 1, columns.min():columns.max() + 1] == 0).all()  # one square


@pytest.mark.parametrize("name", sorted(diffaugment.OPERATIONS))
def test_gradients_flow_through_every_operation(name):
    x = images(3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.square(diffaugment.OPERATIONS[name](x, SEED)))
    gradient = tape.gradient(loss, x)
    assert gradient is not None and np.abs(gradient.numpy()).sum() > 0


def test_augment_is_reproducible_per_seed_and_differs_between_seeds():
    x, policy = images(3), ("translation", "cutout", "brightness", "contrast", "saturation")
    a, b = diffaugment.augment(x, policy, SEED), diffaugment.augment(x, policy, SEED)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert np.abs(a.numpy() - diffaugment.augment(x, policy, [5, 6]).numpy()).max() > 0.05


def test_augment_applies_each_operation_per_sample_with_probability_p():
    x = images(1, count=400, size=8)
    np.testing.assert_array_equal(diffaugment.augment(x, ("brightness",), SEED, p=0.0).numpy(), x.numpy())
    changed = np.abs(diffaugment.augment(x, ("brightness",), SEED, p=tf.constant(0.3)).numpy()
                     - x.numpy()).max(axis=(1, 2, 3)) > 0
    assert 0.2 < changed.mean() < 0.4
    assert (np.abs(diffaugment.augment(x, ("brightness",), SEED, p=1.0).numpy() - x.numpy()).max(axis=(1, 2, 3))
            > 0).mean() > 0.99


@pytest.mark.parametrize("p", [1.0, 0.6])
def test_colour_comes_first_so_padded_and_cut_out_areas_stay_exactly_zero(p):
    x = tf.constant(np.random.default_rng(0).uniform(0.2, 1.0, (32, 16, 16, 3)), tf.float32)  # no zero pixel
    policy = ("translation", "cutout", "brightness", "contrast", "saturation")
    # each op draws its parameters from its own index in OPERATIONS, whichever other ops the policy has
    blank = diffaugment.augment(tf.ones_like(x), ("translation", "cutout"), SEED, p).numpy() == 0
    augmented = diffaugment.augment(x, policy, SEED, p).numpy()
    assert blank.any() and (augmented[blank] == 0).all()
    assert (augmented[~blank] != 0).all()  # the colour ops moved every other pixel (none lands on zero here)
    assert list(diffaugment.OPERATIONS) == ["brightness", "saturation", "contrast", "translation", "cutout"]


def test_an_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation"):
        diffaugment.augment(images(1), ("rotate",), SEED)

"""Tests for tfpgan.models.dcgan: DCGAN shapes, tanh range, Radford's layer layout, batch norm, call compatibility."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from tfpgan.training.checkpoints import by_path

TINY = dict(fmap_base=64, fmap_max=16)
LATENT = 8
NUM_CLASSES = 3
LABELS = np.array([0, 1, 2, 1])
BATCH = len(LABELS)


def _generator(resolution=16, channels=1, **kwargs):
    return DCGANGenerator(NUM_CLASSES, latent_size=LATENT, channels=channels, max_resolution=resolution,
                          **{**TINY, **kwargs})


def _discriminator(resolution=16, channels=1, **kwargs):
    return DCGANDiscriminator(NUM_CLASSES, channels=channels, max_resolution=resolution, **{**TINY, **kwargs})


def _latents(seed=0, batch=BATCH):
    return np.random.default_rng(seed).standard_normal((batch, LATENT)).astype("float32")


def _images(resolution=16, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (BATCH, resolution, resolution, channels)).astype("float32")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("resolution", [8, 16, 32])
def test_shapes_and_tanh_range(resolution, channels):
    generator = _generator(resolution, channels)
    to_rgb = generator.to_rgb.layers[0]
    to_rgb.kernel.assign(to_rgb.kernel * 1000.0)  # pre-activations far outside [-1, 1]: only tanh keeps them in
    images = generator(_latents(), LABELS, resolution=resolution, training=True)
    assert images.shape == (BATCH, resolution, resolution, channels) and images.dtype == tf.float32
    largest = float(np.abs(images.numpy()).max())
    assert 0.99 < largest <= 1.0
    scores, logits = _discriminator(resolution, channels)(images, resolution=resolution, training=True)
    assert scores.shape == (BATCH,) and logits.shape == (BATCH, NUM_CLASSES)
    assert scores.dtype == tf.float32 and logits.dtype == tf.float32


def test_layers_follow_radford_with_halving_feature_maps():
    generator, discriminator = _generator(32, 3, fmap_base=64, fmap_max=32), _discriminator(32, 3, fmap_base=64,
                                                                                           fmap_max=32)
    shapes = {v.path: tuple(v.shape) for v in generator.weights + discriminator.weights}
    assert shapes["generator/block4/dense/kernel"] == (LATENT + NUM_CLASSES, 4 * 4 * 32)
    assert shapes["generator/block4/bn/gamma"] == (32,)
    assert shapes["generator/block8/conv/kernel"] == (5, 5, 16, 32)  # transposed: (k, k, out, in)
    assert shapes["generator/block16/conv/kernel"] == (5, 5, 8, 16)
    assert shapes["generator/to_rgb32/conv/kernel"] == (5, 5, 3, 8)
    assert shapes["discriminator/block32/conv/kernel"] == (5, 5, 3, 8)
    assert shapes["discriminator/block16/conv/kernel"] == (5, 5, 8, 16)
    assert shapes["discriminator/block8/conv/kernel"] == (5, 5, 16, 32)
    assert shapes["discriminator/head/dense/kernel"] == (4 * 4 * 32, 1 + NUM_CLASSES)
    batch_norms = {path.split("/")[1] for path in shapes if path.startswith("discriminator") and "/bn/" in path}
    assert batch_norms == {"block16", "block8"}  # none on the first layer
    assert not any("to_rgb32/bn" in path for path in shapes)  # none on the output layer
    assert generator.fade.alpha.path == "generator/fade/alpha"


def test_labels_condition_only_with_acgan_and_logits_follow_conditioning():
    latents, other_labels = _latents(), (LABELS + 1) % NUM_CLASSES
    acgan = _generator()
    assert not np.allclose(acgan(latents, LABELS, resolution=16).numpy(),
                           acgan(latents, other_labels, resolution=16).numpy())
    with pytest.raises(ValueError, match="labels"):
        acgan(latents, resolution=16)
    unconditional = _generator(conditioning="none")
    np.testing.assert_array_equal(unconditional(latents, LABELS, resolution=16).numpy(),
                                  unconditional(latents, other_labels, resolution=16).numpy())
    assert unconditional.num_label_outputs == 0
    scores, logits = _discriminator(conditioning="none")(_images(), LABELS, resolution=16)
    assert scores.shape == (BATCH,) and logits.shape == (BATCH, 0)


def test_batch_norm_uses_batch_statistics_only_in_training():
    generator = _generator()
    latents = _latents()
    moving_mean = generator.get_layer("block4").get_layer("bn").moving_mean
    before = moving_mean.numpy().copy()
    inference = generator(latents, LABELS, resolution=16, training=False).numpy()
    np.testing.assert_allclose(generator(latents[:1], LABELS[:1], resolution=16, training=False).numpy()[0],
                               inference[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(moving_mean.numpy(), before)
    training = generator(latents, LABELS, resolution=16, training=True).numpy()
    assert not np.allclose(generator(latents[:2], LABELS[:2], resolution=16, training=True).numpy()[0],
                           training[0], atol=1e-4)
    assert not np.allclose(moving_mean.numpy(), before)


def test_every_trainable_weight_gets_a_gradient():
    generator, discriminator = _generator(), _discriminator()
    with tf.GradientTape(persistent=True) as tape:
        scores, logits = discriminator(generator(_latents(), LABELS, resolution=16, training=True),
                                       resolution=16, training=True)
        loss = tf.reduce_mean(tf.nn.softplus(-scores)) + tf.reduce_mean(tf.square(logits))
    for model in (generator, discriminator):
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(g is not None and np.any(g.numpy() != 0) for g in grads)


def test_variable_paths_are_unique_and_shared_with_an_ema_copy():
    generator, ema = _generator(), _generator(name="generator_ema")
    paths = [v.path for v in generator.weights]
    assert len(set(paths)) == len(paths)
    assert list(by_path(generator.variables)) == list(by_path(ema.variables))
    assert [v.path for v in _generator().weights] == paths


def test_invalid_configurations_and_phases_are_rejected():
    with pytest.raises(ValueError, match="power of 2 >= 8"):
        _generator(4)
    with pytest.raises(ValueError, match="power of 2 >= 8"):
        _discriminator(24)
    with pytest.raises(ValueError, match="conditioning"):
        _generator(conditioning="per_class")
    with pytest.raises(ValueError, match="resolution 16 only, got 8"):
        _discriminator()(_images(8), resolution=8)
    with pytest.raises(ValueError, match="fading must be False"):
        _generator()(_latents(), LABELS, resolution=16, fading=True)


def test_generator_survives_keras_save_and_reload(tmp_path):
    generator = _generator(channels=3)
    generator(_latents(), LABELS, resolution=16, training=True)  # moving statistics away from their start
    path = tmp_path / "generator.keras"
    generator.save(path)
    reloaded = keras.models.load_model(path)
    assert [v.path for v in reloaded.weights] == [v.path for v in generator.weights]
    np.testing.assert_allclose(reloaded(_latents(), LABELS, resolution=16).numpy(),
                               generator(_latents(), LABELS, resolution=16).numpy(), rtol=1e-5, atol=1e-6)

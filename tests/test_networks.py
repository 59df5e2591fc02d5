"""Tests for tfpgan.models.networks: progressive G and D, fade-in, variable stability."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpgan.models.layers import downsample2d, upsample2d
from tfpgan.models.networks import Discriminator, Generator, fade_images, nf

TINY = dict(max_resolution=16, fmap_base=64, fmap_max=16)
LATENT = 8
NUM_CLASSES = 3
BATCH = 4
PHASES = [(4, False), (8, True), (8, False), (16, True), (16, False)]


def _generator(channels=1, **kwargs):
    return Generator(NUM_CLASSES, latent_size=LATENT, channels=channels, **{**TINY, **kwargs})


def _discriminator(channels=1, **kwargs):
    return Discriminator(NUM_CLASSES, channels=channels, **{**TINY, **kwargs})


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, LATENT)).astype("float32"), np.array([0, 1, 2, 1])


def _images(resolution, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, resolution, resolution, channels)).astype("float32")


def test_nf_halves_per_stage_and_is_capped():
    assert [nf(stage, 8192, 512) for stage in range(1, 9)] == [512, 512, 512, 512, 256, 128, 64, 32]
    assert [nf(stage, 64, 16) for stage in range(5)] == [16, 16, 16, 8, 4]


@pytest.mark.parametrize("channels", [1, 3])
def test_output_shapes_at_every_phase(channels):
    generator, discriminator = _generator(channels), _discriminator(channels)
    latents, labels = _inputs()
    for resolution, fading in PHASES:
        images = generator(latents, labels, resolution=resolution, fading=fading)
        assert images.shape == (BATCH, resolution, resolution, channels) and images.dtype == tf.float32
        scores, logits = discriminator(images, resolution=resolution, fading=fading)
        assert scores.shape == (BATCH,) and logits.shape == (BATCH, NUM_CLASSES)
        assert scores.dtype == tf.float32 and logits.dtype == tf.float32


def test_feature_maps_follow_official_stages():
    generator, discriminator = _generator(), _discriminator()
    shapes = {v.path: tuple(v.shape) for v in generator.weights + discriminator.weights}
    assert shapes["generator/block4/dense/kernel"] == (LATENT + NUM_CLASSES, 4 * 4 * 16)
    assert shapes["generator/block16/conv1/kernel"] == (3, 3, 8, 8)  # nf(3) = 64 // 8
    assert shapes["generator/to_rgb16/kernel"] == (1, 1, 8, 1)
    assert shapes["discriminator/from_rgb16/conv/kernel"] == (1, 1, 1, 8)
    assert shapes["discriminator/block16/conv1/kernel"] == (3, 3, 8, 16)  # nf(3) -> nf(2)
    assert shapes["discriminator/block4/conv/kernel"] == (3, 3, 16 + 1, 16)  # + mbstd feature
    assert shapes["discriminator/block4/dense1/kernel"] == (16, 1 + NUM_CLASSES)


@pytest.mark.parametrize("network", [_generator, _discriminator])
def test_variables_do_not_depend_on_first_resolution_called(network):
    def signature(model):
        return [(v.path, tuple(v.shape), v.trainable) for v in model.weights]

    latents, labels = _inputs()
    models = {}
    for first_resolution in (16, 4):
        model = network()
        before = signature(model)
        if isinstance(model, Generator):
            model(latents, labels, resolution=first_resolution, fading=False)
        else:
            model(_images(first_resolution), resolution=first_resolution, fading=False)
        assert signature(model) == before
        models[first_resolution] = signature(model)
    assert models[16] == models[4]
    assert len({path for path, _, _ in models[4]}) == len(models[4])


def test_generator_fade_blends_upsampled_lower_resolution():
    generator = _generator()
    latents, labels = _inputs()
    generator.fade.alpha.assign(0.0)
    low = generator(latents, labels, resolution=8, fading=False)
    np.testing.assert_allclose(generator(latents, labels, resolution=16, fading=True).numpy(),
                               upsample2d(low).numpy(), rtol=1e-5, atol=1e-6)
    generator.fade.alpha.assign(1.0)
    high = generator(latents, labels, resolution=16, fading=False)
    np.testing.assert_allclose(generator(latents, labels, resolution=16, fading=True).numpy(),
                               high.numpy(), rtol=1e-5, atol=1e-6)
    generator.fade.alpha.assign(0.25)
    np.testing.assert_allclose(generator(latents, labels, resolution=16, fading=True).numpy(),
                               (upsample2d(low) + 0.25 * (high - upsample2d(low))).numpy(), rtol=1e-5, atol=1e-5)


def test_discriminator_fade_blends_downsampled_path():
    discriminator = _discriminator()
    images = _images(16)
    discriminator.fade.alpha.assign(0.0)
    faded = discriminator(images, resolution=16, fading=True)
    low = discriminator(downsample2d(images), resolution=8, fading=False)
    for got, expected in zip(faded, low):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    discriminator.fade.alpha.assign(1.0)
    faded = discriminator(images, resolution=16, fading=True)
    high = discriminator(images, resolution=16, fading=False)
    for got, expected in zip(faded, high):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_alpha_change_does_not_retrace_the_models():
    generator, discriminator = _generator(), _discriminator()
    latents, labels = _inputs()

    @tf.function
    def step(latents, labels):
        return discriminator(generator(latents, labels, resolution=16, fading=True), resolution=16, fading=True)

    outputs = []
    for alpha in (0.0, 0.5, 1.0):
        generator.fade.alpha.assign(alpha)
        discriminator.fade.alpha.assign(alpha)
        outputs.append(step(latents, labels)[0].numpy())
    assert step.experimental_get_tracing_count() == 1
    assert not np.allclose(outputs[0], outputs[2])


def test_labels_condition_the_generator_only_with_acgan():
    latents, labels = _inputs()
    other_labels = (labels + 1) % NUM_CLASSES
    acgan = _generator()
    assert not np.allclose(acgan(latents, labels, resolution=8).numpy(),
                           acgan(latents, other_labels, resolution=8).numpy())
    with pytest.raises(ValueError, match="labels"):
        acgan(latents, resolution=8)
    unconditional = _generator(conditioning="none")
    np.testing.assert_array_equal(unconditional(latents, labels, resolution=8).numpy(),
                                  unconditional(latents, other_labels, resolution=8).numpy())
    scores, logits = _discriminator(conditioning="none")(_images(8), resolution=8)
    assert scores.shape == (BATCH,) and logits.shape == (BATCH, 0)


def test_invalid_configurations_and_phases_are_rejected():
    with pytest.raises(ValueError, match="conditioning"):
        _generator(conditioning="cgan")
    with pytest.raises(ValueError, match="power of 2"):
        _discriminator(max_resolution=24)
    discriminator = _discriminator()
    with pytest.raises(ValueError, match="resolution"):
        discriminator(_images(32), resolution=32)
    with pytest.raises(ValueError, match="4x4"):
        discriminator(_images(4), resolution=4, fading=True)


def test_generator_survives_keras_save_and_reload(tmp_path):
    generator = _generator(channels=3)
    generator.fade.alpha.assign(0.4)
    path = tmp_path / "generator.keras"
    generator.save(path)
    reloaded = keras.models.load_model(path)
    assert [v.path for v in reloaded.weights] == [v.path for v in generator.weights]
    latents, labels = _inputs()
    np.testing.assert_allclose(reloaded(latents, labels, resolution=16, fading=True).numpy(),
                               generator(latents, labels, resolution=16, fading=True).numpy(), rtol=1e-6)


def test_fade_images_blends_with_box_down_up_copy():
    images = _images(8, channels=3)
    blocks = images.reshape(BATCH, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    lowres = blocks.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(fade_images(images, 0.0).numpy(), lowres, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fade_images(images, tf.constant(1.0)).numpy(), images)
    np.testing.assert_allclose(fade_images(images, 0.5).numpy(), (images + lowres) / 2, rtol=1e-5, atol=1e-6)

"""Tests for tfpgan.models.per_class: routing by label, isolated gradients, fade forwarding, distribution, export."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfpgan.export import export_generator
from tfpgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from tfpgan.models.layers import upsample2d
from tfpgan.models.networks import Discriminator, Generator, fade_images
from tfpgan.models.per_class import PerClassDiscriminator, PerClassGenerator
from tfpgan.training.checkpoints import by_path

NUM_CLASSES = 3
LATENT = 8
RESOLUTION = 8
LABELS = np.array([2, 0, 2, 1, 0, 2], np.int32)
BATCH = len(LABELS)
TINY = dict(max_resolution=RESOLUTION, fmap_base=32, fmap_max=8, conditioning="none")


def _dcgan_generator(name="generator"):
    return PerClassGenerator(lambda sub: DCGANGenerator(NUM_CLASSES, latent_size=LATENT, name=sub, **TINY),
                             NUM_CLASSES, name=name)


def _dcgan_discriminator():
    return PerClassDiscriminator(lambda sub: DCGANDiscriminator(NUM_CLASSES, name=sub, **TINY), NUM_CLASSES)


def _progressive_generator():
    return PerClassGenerator(lambda sub: Generator(NUM_CLASSES, latent_size=LATENT, name=sub, **TINY), NUM_CLASSES)


def _progressive_discriminator():
    return PerClassDiscriminator(
        lambda sub: Discriminator(NUM_CLASSES, mbstd_group_size=1, name=sub, **TINY), NUM_CLASSES)


def _latents(seed=0):
    return np.random.default_rng(seed).standard_normal((BATCH, LATENT)).astype("float32")


def _images(seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (BATCH, RESOLUTION, RESOLUTION, 1)).astype("float32")


def _expected_by_class(networks, inputs, call):
    """Network k applied to the examples of class k as one batch, scattered back to their positions."""
    expected = [None] * BATCH
    for k, network in enumerate(networks):
        positions = np.flatnonzero(LABELS == k)
        for position, output in zip(positions, call(network, inputs[positions]).numpy()):
            expected[position] = output
    return np.stack(expected)


@pytest.mark.parametrize("training", [False, True])
def test_images_of_label_k_come_from_generator_k_on_the_class_batch(training):
    generator, latents = _dcgan_generator(), _latents()
    got = generator(latents, LABELS, resolution=RESOLUTION, training=training).numpy()
    # in training mode batch norm sees only the class's own examples: a one-hot select over all would not match
    expected = _expected_by_class(generator.networks, latents,
                                  lambda g, z: g(z, resolution=RESOLUTION, training=training))
    assert got.shape == (BATCH, RESOLUTION, RESOLUTION, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_image_i_is_scored_by_discriminator_of_label_i():
    discriminator, images = _dcgan_discriminator(), _images()
    scores, logits = discriminator(images, LABELS, resolution=RESOLUTION, training=True)
    expected = _expected_by_class(discriminator.networks, images,
                                  lambda d, x: d(x, resolution=RESOLUTION, training=True)[0])
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert logits.shape == (BATCH, 0)


@pytest.mark.parametrize("make", [_dcgan_generator, _progressive_generator])
def test_a_loss_on_class_k_only_moves_generator_k(make):
    generator, k = make(), 1
    with tf.GradientTape() as tape:
        images = generator(_latents(), np.full(BATCH, k, np.int32), resolution=RESOLUTION, training=True)
        loss = tf.reduce_mean(tf.square(images - 0.5))
    per_network = tape.gradient(loss, [network.trainable_variables for network in generator.networks])
    for index, grads in enumerate(per_network):
        touched = [g is not None and np.any(g.numpy() != 0) for g in grads]
        assert any(touched) == (index == k)  # (the progressive G leaves to_rgb4 unused at 8x8)


@pytest.mark.parametrize("make", [_dcgan_discriminator, _progressive_discriminator])
def test_discriminator_gradients_and_r1_stay_within_the_class(make):
    discriminator, images = make(), tf.constant(_images())
    labels = np.where(LABELS == 1, 0, LABELS)  # no image of class 1 in this batch
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(images)
            scores, _ = discriminator(images, labels, resolution=RESOLUTION, training=True)
            total = tf.reduce_sum(scores)
        r1 = tf.reduce_sum(tf.square(inner.gradient(total, images)))  # differentiated twice through the routing
    per_network = outer.gradient(r1, [network.trainable_variables for network in discriminator.networks])
    for index, grads in enumerate(per_network):
        assert all(g is None or np.all(np.isfinite(g.numpy())) for g in grads)
        touched = any(g is not None and np.any(g.numpy() != 0) for g in grads)
        assert touched == (index != 1)


def test_a_class_missing_from_the_batch_keeps_its_batch_norm_statistics():
    generator = _dcgan_generator()
    statistics = [v for v in generator.networks[1].non_trainable_variables if "moving" in v.path]
    before = [v.numpy().copy() for v in statistics]
    images = generator(_latents(), np.where(LABELS == 1, 2, LABELS), resolution=RESOLUTION, training=True)
    assert np.all(np.isfinite(images.numpy()))
    for variable, value in zip(statistics, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    moved = [v for v in generator.networks[2].non_trainable_variables if "moving_mean" in v.path]
    assert all(np.any(v.numpy() != 0) for v in moved)


def test_fade_alpha_reaches_every_sub_network_and_reads_as_a_tensor():
    generator, latents = _progressive_generator(), _latents()
    generator.fade.alpha.assign(0.0)
    assert [float(n.fade.alpha.numpy()) for n in generator.networks] == [0.0] * NUM_CLASSES
    faded = generator(latents, LABELS, resolution=RESOLUTION, fading=True).numpy()
    low = generator(latents, LABELS, resolution=RESOLUTION // 2).numpy()
    np.testing.assert_allclose(faded, upsample2d(low).numpy(), rtol=1e-5, atol=1e-6)
    generator.fade.alpha.assign(0.25)
    assert float(generator.fade.alpha.numpy()) == 0.25
    assert float(tf.convert_to_tensor(generator.fade.alpha)) == 0.25
    images = _images()

    @tf.function
    def assign_and_fade(alpha):  # as the trainer's compiled step sets alpha and fades the reals
        generator.fade.alpha.assign(alpha)
        return fade_images(images, generator.fade.alpha)

    np.testing.assert_allclose(assign_and_fade(tf.constant(0.75)).numpy(), fade_images(images, 0.75).numpy())
    assert [float(n.fade.alpha.numpy()) for n in generator.networks] == [0.75] * NUM_CLASSES


def test_variable_paths_are_unique_stable_and_shared_with_an_ema_copy():
    generator = _dcgan_generator()
    paths = [v.path for v in generator.weights]
    assert len(set(paths)) == len(paths)
    assert {path.split("/")[1] for path in paths} == {"class0", "class1", "class2"}
    assert all(path.startswith("generator/") for path in paths)
    assert [v.path for v in _dcgan_generator().weights] == paths
    assert list(by_path(generator.variables)) == list(by_path(_dcgan_generator("generator_ema").variables))
    assert len(by_path(generator.variables)) == len(paths)


def test_distributed_training_step_routes_per_replica():
    # reduced on one device: collective all-reduces of a second strategy in this process would share instance keys
    # with the trainer tests' strategies and abort them
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        generator, discriminator = _dcgan_generator(), _dcgan_discriminator()
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(generator.trainable_variables)
    latents = _latents()
    halves = [slice(0, BATCH // 2), slice(BATCH // 2, BATCH)]  # classes {0, 2} and {0, 1, 2}
    inputs = strategy.experimental_distribute_values_from_function(
        lambda context: (latents[halves[context.replica_id_in_sync_group]],
                         LABELS[halves[context.replica_id_in_sync_group]]))
    expected = [generator(latents[half], LABELS[half], resolution=RESOLUTION, training=True).numpy()
                for half in halves]
    before = [v.numpy().copy() for v in generator.networks[1].trainable_variables]

    def replica_step(latents, labels):
        with tf.GradientTape() as tape:
            images = generator(latents, labels, resolution=RESOLUTION, training=True)
            scores, _ = discriminator(images, labels, resolution=RESOLUTION, training=True)
            loss = tf.nn.compute_average_loss(tf.nn.softplus(-scores), global_batch_size=BATCH)
        grads = tape.gradient(loss, generator.trainable_variables)  # None for a class absent from this replica
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, generator.trainable_variables)]
        optimizer.apply_gradients(zip(grads, generator.trainable_variables))  # the same all-reduce on every replica
        return images

    images = tf.function(lambda inputs: strategy.run(replica_step, args=inputs))(inputs)
    for got, want in zip(strategy.experimental_local_results(images), expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    after = [v.numpy() for v in generator.networks[1].trainable_variables]
    assert all(np.any(a != b) for a, b in zip(after, before))  # class 1's only image is on the second replica


def test_exported_saved_model_selects_the_class_generator(tmp_path):
    generator, latents = _dcgan_generator(), _latents()
    generator(latents, LABELS, resolution=RESOLUTION, training=True)  # batch-norm statistics away from their start
    export_dir = str(tmp_path / "export")
    export_generator(generator, RESOLUTION, {"num_classes": NUM_CLASSES}, export_dir)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    for k in range(NUM_CLASSES):
        images = serve(latents=tf.constant(latents), labels=tf.fill([BATCH], k))["images"].numpy()
        own = generator.networks[k](latents, resolution=RESOLUTION, training=False).numpy()
        np.testing.assert_allclose(images, np.clip((own + 1) / 2, 0, 1), rtol=1e-5, atol=1e-5)
    mixed = serve(latents=tf.constant(latents), labels=tf.constant(LABELS))["images"].numpy()
    expected = _expected_by_class(generator.networks, latents,
                                  lambda g, z: (g(z, resolution=RESOLUTION, training=False) + 1) / 2)
    np.testing.assert_allclose(mixed, expected, rtol=1e-5, atol=1e-5)


def test_invalid_sub_networks_and_missing_labels_are_rejected():
    with pytest.raises(ValueError, match="must be unconditional.*class0.*acgan"):
        PerClassGenerator(lambda sub: Generator(NUM_CLASSES, latent_size=LATENT, name=sub,
                                                **{**TINY, "conditioning": "acgan"}), NUM_CLASSES)
    with pytest.raises(ValueError, match="mbstd_group_size 1"):
        PerClassDiscriminator(lambda sub: Discriminator(NUM_CLASSES, name=sub, **TINY), NUM_CLASSES)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        PerClassGenerator(lambda sub: None, 0)
    with pytest.raises(ValueError, match="needs labels"):
        _dcgan_generator()(_latents(), resolution=RESOLUTION)
    with pytest.raises(ValueError, match="needs labels"):
        _dcgan_discriminator()(_images(), resolution=RESOLUTION)

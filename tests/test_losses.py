"""Tests for tfpgan.training.losses: WGAN-GP, drift, non-saturating + R1, AC-GAN terms, class-balanced labels."""
import numpy as np
import pytest
import tensorflow as tf

from tfpgan.training.losses import (
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    ns_discriminator_loss,
    r1_penalty,
    sample_fake_labels,
)

RNG = np.random.default_rng(0)


def _randn(*shape):
    return tf.constant(RNG.standard_normal(shape).astype("float32"))


def _linear_critic(weights):
    return lambda images: tf.reduce_sum(weights * images, axis=[1, 2, 3])


@pytest.mark.parametrize("target, loss_scale", [(1.0, 1.0), (2.0, 1.0), (1.0, 32768.0)])
def test_gradient_penalty_of_linear_critic(target, loss_scale):
    weights = 0.3 * _randn(1, 4, 4, 2)
    gp = gradient_penalty(_linear_critic(weights), _randn(5, 4, 4, 2), _randn(5, 4, 4, 2), target=target,
                          loss_scale=loss_scale)
    norm = np.linalg.norm(weights.numpy())
    assert gp.shape == (5,)
    np.testing.assert_allclose(gp.numpy(), (norm - target) ** 2 / target**2, rtol=1e-5)


def test_gradient_penalty_is_differentiable_in_critic_weights():
    weights = tf.Variable(0.3 * _randn(1, 3, 3, 1))
    with tf.GradientTape() as tape:
        gp = tf.reduce_mean(gradient_penalty(_linear_critic(weights), _randn(4, 3, 3, 1), _randn(4, 3, 3, 1)))
    norm = tf.norm(weights)
    np.testing.assert_allclose(tape.gradient(gp, weights).numpy(),
                               (2 * (norm - 1) * weights / norm).numpy(), rtol=1e-4, atol=1e-6)


def test_gradient_penalty_samples_one_mixing_factor_per_example():
    seen = []

    def critic(images):  # quadratic: the gradient depends on where we interpolate
        seen.append(images)
        return tf.reduce_sum(tf.square(images), axis=[1, 2, 3])

    reals, fakes = tf.zeros([64, 2, 2, 1]), tf.ones([64, 2, 2, 1])
    gradient_penalty(critic, reals, fakes)
    mixed = seen[0].numpy()
    factors = mixed[:, 0, 0, 0]
    assert np.all(mixed == factors[:, None, None, None])  # one factor per example, shared by its pixels
    assert factors.min() >= 0.0 and factors.max() <= 1.0 and factors.std() > 0.2
    given = tf.random.stateless_uniform([64, 1, 1, 1], seed=[3, 0])
    gradient_penalty(critic, reals, fakes, mix=given)
    np.testing.assert_allclose(seen[1].numpy(), np.broadcast_to(given.numpy(), mixed.shape))


def test_discriminator_loss_terms_and_signs():
    real_scores, fake_scores = tf.constant([2.0, -1.0, 0.5]), tf.constant([-1.0, 0.0, 1.5])
    gp = tf.constant([0.1, 0.2, 0.0])
    logits = tf.constant([[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    labels = tf.constant([0, 0, 1])
    loss = discriminator_loss(real_scores, fake_scores, gp, logits, logits, labels, labels)
    assert set(loss) == {"total", "adversarial", "penalty", "drift", "ac_real", "ac_fake"}
    assert all(term.shape == (3,) and term.dtype == tf.float32 for term in loss.values())
    np.testing.assert_allclose(loss["adversarial"], [-3.0, 1.0, 1.0])
    np.testing.assert_allclose(loss["penalty"], [1.0, 2.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(loss["drift"], [0.004, 0.001, 0.00025], rtol=1e-6)
    cross_entropy = -np.log(tf.nn.softmax(logits).numpy()[np.arange(3), labels.numpy()])
    np.testing.assert_allclose(loss["ac_real"], cross_entropy, rtol=1e-5)
    np.testing.assert_allclose(loss["ac_fake"], cross_entropy, rtol=1e-5)
    assert loss["ac_real"][1] > loss["ac_real"][0]  # confidently wrong costs more than confidently right
    np.testing.assert_allclose(loss["total"], loss["adversarial"] + loss["penalty"] + loss["drift"] + loss["ac_real"]
                               + loss["ac_fake"], rtol=1e-6)


def test_ac_real_holds_only_the_real_label_term():
    logits = tf.constant([[3.0, 0.0], [0.0, 3.0]])
    right, wrong = tf.constant([0, 1]), tf.constant([1, 0])
    for loss_fn in (discriminator_loss, ns_discriminator_loss):
        loss = loss_fn(tf.zeros([2]), tf.zeros([2]), tf.zeros([2]), logits, logits, right, wrong)
        assert loss["ac_real"].numpy().max() < 0.1 < loss["ac_fake"].numpy().min()


def test_non_saturating_discriminator_loss_terms():
    real_scores, fake_scores = tf.constant([2.0, -1.0]), tf.constant([-3.0, 0.5])
    no_logits, labels = tf.zeros([2, 0]), tf.constant([0, 1])
    loss = ns_discriminator_loss(real_scores, fake_scores, tf.constant([0.5, 2.0]), no_logits, no_logits, labels,
                                 labels, r1_weight=4.0)
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    np.testing.assert_allclose(loss["adversarial"], softplus(np.array([-3.0, 0.5])) + softplus(-np.array([2.0, -1.0])),
                               rtol=1e-5)
    np.testing.assert_allclose(loss["penalty"], [2.0, 8.0])
    np.testing.assert_array_equal(loss["drift"], [0.0, 0.0])
    np.testing.assert_allclose(loss["total"], loss["adversarial"] + loss["penalty"], rtol=1e-6)
    # a better discriminator (higher real, lower fake scores) has a lower loss
    better = ns_discriminator_loss(real_scores + 1, fake_scores - 1, tf.zeros([2]), no_logits, no_logits, labels,
                                   labels)
    assert (better["adversarial"].numpy() < loss["adversarial"].numpy()).all()


def test_r1_penalty_of_linear_critic_is_the_squared_weight_norm_and_ignores_the_loss_scale():
    weights = _randn(1, 4, 4, 2)
    reals = _randn(3, 4, 4, 2)
    expected = np.full(3, float(tf.reduce_sum(tf.square(weights))))
    np.testing.assert_allclose(r1_penalty(_linear_critic(weights), reals), expected, rtol=1e-5)
    np.testing.assert_allclose(r1_penalty(_linear_critic(weights), reals, loss_scale=1024.0), expected, rtol=1e-5)


def test_r1_penalty_sees_its_input():
    def quadratic(images):
        return tf.reduce_sum(tf.square(images), axis=[1, 2, 3])
    small, large = tf.fill([2, 4, 4, 1], 0.1), tf.fill([2, 4, 4, 1], 1.0)
    np.testing.assert_allclose(r1_penalty(quadratic, small), [0.64, 0.64], rtol=1e-5)  # 16 * (2 * 0.1)^2
    np.testing.assert_allclose(r1_penalty(quadratic, large), [64.0, 64.0], rtol=1e-5)


def test_r1_penalty_is_differentiable_in_critic_weights():
    weights = tf.Variable(_randn(1, 4, 4, 1))
    with tf.GradientTape() as tape:
        penalty = tf.reduce_sum(r1_penalty(_linear_critic(weights), _randn(2, 4, 4, 1)))
    np.testing.assert_allclose(tape.gradient(penalty, weights), 2 * 2 * weights.numpy(), rtol=1e-5)


def test_losses_have_no_label_term_without_label_logits():
    scores = tf.constant([1.0, 2.0])
    no_logits = tf.zeros([2, 0])
    labels = tf.constant([0, 1])
    d_loss = discriminator_loss(scores, scores, tf.zeros([2]), no_logits, no_logits, labels, labels)
    g_loss = generator_loss(scores, no_logits, labels)
    np.testing.assert_array_equal(d_loss["ac_real"] + d_loss["ac_fake"], [0.0, 0.0])
    np.testing.assert_array_equal(g_loss["ac"], [0.0, 0.0])
    np.testing.assert_allclose(g_loss["total"], [-1.0, -2.0])


def test_generator_loss_rewards_high_scores_and_correct_labels():
    logits = tf.constant([[4.0, 0.0, 0.0], [4.0, 0.0, 0.0]])
    loss = generator_loss(tf.constant([3.0, 3.0]), logits, tf.constant([0, 1]), ac_weight=2.0)
    assert loss["total"].shape == (2,)
    np.testing.assert_allclose(loss["adversarial"], [-3.0, -3.0])
    assert 0.0 < loss["ac"][0] < loss["ac"][1]
    np.testing.assert_allclose(loss["total"], loss["adversarial"] + loss["ac"])


def test_non_saturating_generator_loss_is_softplus_of_minus_the_score():
    scores, no_logits, labels = tf.constant([-2.0, 0.0, 3.0]), tf.zeros([3, 0]), tf.constant([0, 0, 0])
    loss = generator_loss(scores, no_logits, labels, loss="ns_r1")
    np.testing.assert_allclose(loss["adversarial"], np.log1p(np.exp(-scores.numpy())), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown loss"):
        generator_loss(scores, no_logits, labels, loss="hinge")


def test_fake_labels_are_class_balanced_in_every_batch():
    generator = tf.random.Generator.from_seed(0)
    totals = np.zeros(3)
    for _ in range(300):
        labels = sample_fake_labels(10, 3, generator).numpy()
        counts = np.bincount(labels, minlength=3)
        assert labels.dtype == np.int32 and labels.shape == (10,)
        assert sorted(counts) == [3, 3, 4]
        totals += counts
    np.testing.assert_allclose(totals / totals.sum(), 1 / 3, atol=0.01)


def test_fake_labels_are_shuffled_and_reproducible():
    generator = tf.random.Generator.from_seed(1)
    first, second = sample_fake_labels(12, 4, generator), sample_fake_labels(12, 4, generator)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(12) % 4)
    np.testing.assert_array_equal(sample_fake_labels(12, 4, 7), sample_fake_labels(12, 4, 7))
    in_graph = tf.function(lambda: sample_fake_labels(12, 4, generator))
    assert sorted(np.bincount(in_graph().numpy())) == [3, 3, 3, 3]


def test_fake_labels_compile_under_xla_and_stay_exactly_balanced():
    labels = tf.function(lambda seed: sample_fake_labels(10, 3, seed), jit_compile=True)
    batches = [labels(tf.constant([s, 1], tf.int64)).numpy() for s in range(20)]
    assert all(sorted(np.bincount(b, minlength=3)) == [3, 3, 4] for b in batches)
    assert len({tuple(b) for b in batches}) == 20  # a fresh order per seed
    np.testing.assert_array_equal(labels(tf.constant([3, 1], tf.int64)), batches[3])

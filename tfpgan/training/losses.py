"""WGAN-GP + drift + AC-GAN losses (official PGGAN ``loss.py``), returned per example.

Every loss is a tensor of shape [N] so that a distributed trainer can average it over
the global batch with ``tf.nn.compute_average_loss``.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf


def _stateless_seed(seed_or_generator: int | tf.random.Generator) -> tf.Tensor:
    """A [2] seed for tf.random.stateless_* ops: fresh from a generator, fixed from an int."""
    if isinstance(seed_or_generator, tf.random.Generator):
        return seed_or_generator.make_seeds(1)[:, 0]
    return tf.constant([seed_or_generator, 0], dtype=tf.int64)


def gradient_penalty(
    discriminator_fn: Callable[[tf.Tensor], tf.Tensor],
    reals: tf.Tensor,
    fakes: tf.Tensor,
    target: float = 1.0,
    mix: tf.Tensor | None = None,
) -> tf.Tensor:
    """Per-example ``(||grad D(x)|| - target)^2 / target^2`` at random interpolates of reals and fakes.

    Each example gets its own mixing factor ~ U(0, 1): ``mix`` [N, 1, 1, 1] when given
    (reproducible, e.g. from a stateless op), else drawn from the global TF random state. ``discriminator_fn``
    maps images to scores [N]. Call it inside the caller's GradientTape so that the
    penalty can be differentiated with respect to the discriminator's weights.
    """
    reals = tf.cast(reals, tf.float32)
    fakes = tf.cast(fakes, tf.float32)
    shape = [tf.shape(reals)[0], 1, 1, 1]
    mix = tf.random.uniform(shape) if mix is None else tf.cast(mix, tf.float32)
    mixed = reals + mix * (fakes - reals)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = tf.cast(discriminator_fn(mixed), tf.float32)
    grads = tape.gradient(scores, mixed)  # of sum(scores), as official (mbstd couples a group)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    return tf.square(norms - target) / target**2


def _label_penalty(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Softmax cross-entropy per example; zeros when there are no label logits (unconditional)."""
    logits = tf.cast(logits, tf.float32)
    if logits.shape[-1] == 0:
        return tf.zeros(tf.shape(logits)[:1], tf.float32)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)


def discriminator_loss(
    real_scores: tf.Tensor,
    fake_scores: tf.Tensor,
    gp: tf.Tensor,
    real_logits: tf.Tensor,
    fake_logits: tf.Tensor,
    real_labels: tf.Tensor,
    fake_labels: tf.Tensor,
    gp_weight: float = 10.0,
    drift_weight: float = 0.001,
    ac_weight: float = 1.0,
) -> dict[str, tf.Tensor]:
    """Per-example D loss terms: ``total = wgan + gp + drift + ac`` (gp, drift, ac already weighted)."""
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    terms = {
        "wgan": fake_scores - real_scores,
        "gp": gp_weight * tf.cast(gp, tf.float32),
        "drift": drift_weight * tf.square(real_scores),
        "ac": ac_weight * (_label_penalty(real_logits, real_labels) + _label_penalty(fake_logits, fake_labels)),
    }
    return {"total": tf.add_n(list(terms.values())), **terms}


def generator_loss(
    fake_scores: tf.Tensor, fake_logits: tf.Tensor, fake_labels: tf.Tensor, ac_weight: float = 1.0
) -> dict[str, tf.Tensor]:
    """Per-example G loss terms: ``total = wgan + ac`` with ``wgan = -D(fake)``."""
    terms = {
        "wgan": -tf.cast(fake_scores, tf.float32),
        "ac": ac_weight * _label_penalty(fake_logits, fake_labels),
    }
    return {"total": tf.add_n(list(terms.values())), **terms}


def sample_fake_labels(
    batch_size: int, num_classes: int, seed_or_generator: int | tf.random.Generator
) -> tf.Tensor:
    """Class-balanced labels [batch_size] int32, in random order.

    Every class appears ``batch_size // num_classes`` times; the remaining examples go
    to consecutive classes from a random start, so each class is equally likely to get one.

    (Official PGGAN samples the data's class frequencies, starving minority classes.)
    """
    seed = _stateless_seed(seed_or_generator)
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    first_class = tf.random.stateless_uniform([], seeds[0], maxval=num_classes, dtype=tf.int32)
    balanced = (tf.range(batch_size, dtype=tf.int32) + first_class) % num_classes
    return tf.random.experimental.stateless_shuffle(balanced, seeds[1])

"""GAN losses, returned per example: WGAN-GP + drift (official PGGAN ``loss.py``) or the non-saturating logistic
loss with R1 on reals (StyleGAN2-ADA, DiffAugment), each with the AC-GAN label terms.

Every loss is a tensor of shape [N] so that a distributed trainer can average it over
the global batch with ``tf.nn.compute_average_loss``. Both discriminator losses return the same terms:
``adversarial``, ``penalty``, ``drift``, ``ac_real``, ``ac_fake`` and their sum ``total``.
"""
from __future__ import annotations

from typing import Callable

import tensorflow as tf


def _stateless_seed(seed_or_generator: int | tf.random.Generator) -> tf.Tensor:
    """A [2] seed for tf.random.stateless_* ops: fresh from a generator, fixed from an int, else the given [2]."""
    if isinstance(seed_or_generator, tf.random.Generator):
        return seed_or_generator.make_seeds(1)[:, 0]
    if isinstance(seed_or_generator, int):
        return tf.constant([seed_or_generator, 0], dtype=tf.int64)
    return tf.cast(seed_or_generator, tf.int64)


def gradient_penalty(
    discriminator_fn: Callable[[tf.Tensor], tf.Tensor],
    reals: tf.Tensor,
    fakes: tf.Tensor,
    target: float = 1.0,
    mix: tf.Tensor | None = None,
    loss_scale: tf.Tensor | float = 1.0,
) -> tf.Tensor:
    """Per-example ``(||grad D(x)|| - target)^2 / target^2`` at random interpolates of reals and fakes.

    Each example gets its own mixing factor ~ U(0, 1): ``mix`` [N, 1, 1, 1] when given
    (reproducible, e.g. from a stateless op), else drawn from the global TF random state. ``discriminator_fn``
    maps images to scores [N]. Call it inside the caller's GradientTape so that the
    penalty can be differentiated with respect to the discriminator's weights. ``loss_scale``: the mixed-precision
    loss scale, applied to the scores before the inner gradient (so float16 gradients do not underflow) and
    removed after it.
    """
    reals = tf.cast(reals, tf.float32)
    fakes = tf.cast(fakes, tf.float32)
    shape = [tf.shape(reals)[0], 1, 1, 1]
    mix = tf.random.uniform(shape) if mix is None else tf.cast(mix, tf.float32)
    norms = tf.sqrt(_squared_gradient_norms(discriminator_fn, reals + mix * (fakes - reals), loss_scale))
    return tf.square(norms - target) / target**2


def r1_penalty(discriminator_fn: Callable[[tf.Tensor], tf.Tensor], reals: tf.Tensor,
               loss_scale: tf.Tensor | float = 1.0) -> tf.Tensor:
    """Per-example ``||grad D(real)||^2`` (R1, Mescheder et al. 2018); weight it by gamma / 2."""
    return _squared_gradient_norms(discriminator_fn, tf.cast(reals, tf.float32), loss_scale)


def _squared_gradient_norms(discriminator_fn, images: tf.Tensor, loss_scale) -> tf.Tensor:
    """``||d sum(D) / d image||^2`` per example (of sum(scores), as official: mbstd couples a group)."""
    loss_scale = tf.cast(loss_scale, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = tf.cast(discriminator_fn(images), tf.float32)
        scaled = scores * loss_scale
    grads = tf.cast(tape.gradient(scaled, images), tf.float32) / loss_scale
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])


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
    """Per-example WGAN-GP D loss terms: ``adversarial = D(fake) - D(real)``, ``penalty = gp_weight * gp``,
    ``drift = drift_weight * D(real)^2`` and the weighted label terms."""
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    return _with_total({
        "adversarial": fake_scores - real_scores,
        "penalty": gp_weight * tf.cast(gp, tf.float32),
        "drift": drift_weight * tf.square(real_scores),
        **_label_terms(real_logits, fake_logits, real_labels, fake_labels, ac_weight),
    })


def ns_discriminator_loss(
    real_scores: tf.Tensor,
    fake_scores: tf.Tensor,
    r1: tf.Tensor,
    real_logits: tf.Tensor,
    fake_logits: tf.Tensor,
    real_labels: tf.Tensor,
    fake_labels: tf.Tensor,
    r1_weight: float = 5.0,
    ac_weight: float = 1.0,
) -> dict[str, tf.Tensor]:
    """Per-example non-saturating logistic D loss terms: ``adversarial = softplus(D(fake)) + softplus(-D(real))``,
    ``penalty = r1_weight * r1`` (r1_weight = gamma / 2, times the interval under lazy regularization), no drift,
    and the weighted label terms."""
    real_scores = tf.cast(real_scores, tf.float32)
    fake_scores = tf.cast(fake_scores, tf.float32)
    return _with_total({
        "adversarial": tf.nn.softplus(fake_scores) + tf.nn.softplus(-real_scores),
        "penalty": r1_weight * tf.cast(r1, tf.float32),
        "drift": tf.zeros_like(real_scores),
        **_label_terms(real_logits, fake_logits, real_labels, fake_labels, ac_weight),
    })


def _label_terms(real_logits, fake_logits, real_labels, fake_labels, ac_weight: float) -> dict[str, tf.Tensor]:
    return {"ac_real": ac_weight * _label_penalty(real_logits, real_labels),
            "ac_fake": ac_weight * _label_penalty(fake_logits, fake_labels)}


def _with_total(terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    return {"total": tf.add_n(list(terms.values())), **terms}


def _wgan_generator(scores: tf.Tensor) -> tf.Tensor:
    return -scores


def _non_saturating_generator(scores: tf.Tensor) -> tf.Tensor:
    return tf.nn.softplus(-scores)


GENERATOR_ADVERSARIAL = {"wgan_gp": _wgan_generator, "ns_r1": _non_saturating_generator}


def generator_loss(
    fake_scores: tf.Tensor, fake_logits: tf.Tensor, fake_labels: tf.Tensor, ac_weight: float = 1.0,
    loss: str = "wgan_gp",
) -> dict[str, tf.Tensor]:
    """Per-example G loss terms: ``total = adversarial + ac`` with ``adversarial = -D(fake)`` (wgan_gp) or
    ``softplus(-D(fake))`` (ns_r1, the non-saturating loss)."""
    fake_scores = tf.cast(fake_scores, tf.float32)
    if loss not in GENERATOR_ADVERSARIAL:
        raise ValueError(f"unknown loss {loss!r}; choose from {sorted(GENERATOR_ADVERSARIAL)}")
    return _with_total({
        "adversarial": GENERATOR_ADVERSARIAL[loss](fake_scores),
        "ac": ac_weight * _label_penalty(fake_logits, fake_labels),
    })



def sample_fake_labels(
    batch_size: int | tf.Tensor, num_classes: int, seed_or_generator: int | tf.random.Generator | tf.Tensor
) -> tf.Tensor:
    """Class-balanced labels [batch_size] int32, in random order.

    Every class appears ``batch_size // num_classes`` times; the remaining examples go
    to consecutive classes from a random start, so each class is equally likely to get one.

    (Official PGGAN samples the data's class frequencies, starving minority classes.) The order is the argsort of
    stateless uniforms: XLA compiles it, unlike ``stateless_shuffle`` and the stateful ``tf.random.shuffle``.
    """
    seed = _stateless_seed(seed_or_generator)
    seeds = tf.random.experimental.stateless_split(seed, num=2)
    first_class = tf.random.stateless_uniform([], seeds[0], maxval=num_classes, dtype=tf.int32)
    balanced = (tf.range(batch_size, dtype=tf.int32) + first_class) % num_classes
    order = tf.argsort(tf.random.stateless_uniform([batch_size], seeds[1]))
    return tf.gather(balanced, order)

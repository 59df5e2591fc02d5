"""Adaptive augmentation strength (ADA, Karras et al. 2020): p follows the sign of D's outputs on reals (a WGAN
critic's relative to its fakes)."""

from __future__ import annotations

import tensorflow as tf

INTERVAL = 4  # minibatches between two adjustments (stylegan2-ada's ada_interval)


def overfitting_signs(real_scores, fake_scores, loss: str) -> tf.Tensor:
    """Per real example, the sign whose mean is ADA's overfitting signal r_t, float32 [N].

    ns_r1: ``sign(D(real))``, as ADA (the logistic loss calibrates D: 0 is its decision boundary). wgan_gp:
    ``sign(D(real) - mean D(fake))`` over the batch: a critic's scores have no calibrated zero (its loss is blind
    to their offset, the drift term pulls it only weakly), only their distance to the fakes' means something; r_t
    is 0 on average when the critic cannot tell reals from fakes and 1 when it puts every real above the fakes'
    mean.
    """
    real_scores = tf.cast(real_scores, tf.float32)
    if loss == "wgan_gp":
        return tf.sign(real_scores - tf.reduce_mean(tf.cast(fake_scores, tf.float32)))
    return tf.sign(real_scores)


def adjusted_p(p, real_sign_mean, target: float, images: float, speed_kimg: float):
    """p after one adjustment: ``p + sign(r_t - target) * images / (speed_kimg * 1000)`` clipped to [0, 1], where
    r_t is the mean of `overfitting_signs` over the last interval and `images` the images shown in it, so that p can
    go 0 -> 1 in `speed_kimg`. Works on floats and tensors."""
    step = tf.sign(tf.cast(real_sign_mean, tf.float32) - target) * (images / (speed_kimg * 1000.0))
    return tf.clip_by_value(tf.cast(p, tf.float32) + step, 0.0, 1.0)

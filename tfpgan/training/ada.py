"""Adaptive augmentation strength (ADA, Karras et al. 2020): p follows the sign of D's outputs on reals."""

from __future__ import annotations

import tensorflow as tf

INTERVAL = 4  # minibatches between two adjustments (stylegan2-ada's ada_interval)


def adjusted_p(p, real_sign_mean, target: float, images: float, speed_kimg: float):
    """p after one adjustment: ``p + sign(r_t - target) * images / (speed_kimg * 1000)`` clipped to [0, 1], where
    r_t = E[sign(D(real))] over the last interval and `images` the images shown in it, so that p can go 0 -> 1 in
    `speed_kimg`. Works on floats and tensors."""
    step = tf.sign(tf.cast(real_sign_mean, tf.float32) - target) * (images / (speed_kimg * 1000.0))
    return tf.clip_by_value(tf.cast(p, tf.float32) + step, 0.0, 1.0)

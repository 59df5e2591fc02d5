"""FLOP counting from traced graphs and the measured peak of the device."""

import math

import keras
import tensorflow as tf

from tfpgan.models.layers import EqualizedConv2D, EqualizedDense
from tfpgan.models.networks import Discriminator, Generator
from tfpgan.training import flops


def test_a_conv_and_dense_stack_counts_two_flops_per_multiply_add():
    stack = keras.Sequential([EqualizedConv2D(4, 3), keras.layers.Flatten(), EqualizedDense(3)])
    images = tf.zeros([2, 8, 8, 2])
    stack(images)
    conv = 2 * 8 * 8 * 3 * 3 * 2 * 4  # H W k k Cin Cout
    dense = 2 * (8 * 8 * 4) * 3
    assert flops.graph_flops(stack, images) == 2 * (conv + dense)  # batch 2


def test_training_flops_of_the_4x4_networks_match_the_hand_count():
    generator = Generator(2, latent_size=8, channels=1, max_resolution=8, fmap_base=16, fmap_max=8)
    discriminator = Discriminator(2, channels=1, max_resolution=8, fmap_base=16, fmap_max=8)
    g = 2 * (8 + 2) * (4 * 4 * 8) + 2 * 16 * 9 * 8 * 8 + 2 * 16 * 8 * 1  # dense (latent + one-hot), conv, to_rgb
    d = 2 * 16 * 1 * 8 + 2 * 16 * 9 * (8 + 1) * 8 + 2 * 128 * 8 + 2 * 8 * 3  # from_rgb, conv (+ mbstd), 2 dense
    assert flops.forward_flops(generator, discriminator, 4) == (g, d)
    assert flops.training_flops_per_image(generator, discriminator, 4) == 4 * g + 14 * d


def test_the_widest_conv_is_the_highest_resolution_with_the_most_feature_maps():
    features = {4: 256, 8: 256, 16: 256, 32: 256, 64: 128}
    batches = {4: 128, 8: 128, 16: 128, 32: 64, 64: 32}
    assert flops.widest_conv3x3(features.get, batches.get, [4, 8, 16, 32, 64]) == (64, 32, 256)


def test_the_measured_peaks_are_positive_and_finite():
    for peak in (flops.matmul_peak(64, seconds=0.05), flops.conv3x3_peak(2, 8, 8, seconds=0.05)):
        assert peak > 0 and math.isfinite(peak)

"""FLOPs of a progressive-GAN training step, counted from the networks' forward graphs, and a device's measured
peak FLOP/s (a large matmul, a 3x3 convolution), for tools.benchmark."""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import tensorflow as tf

# Cost of one real image's share of a training step, in forward passes of G and D (a backward pass = 2x its forward:
# input gradients + weight gradients). D step: G forward 1; D forward + backward on reals 3 and on fakes 3;
# gradient penalty on the interpolates: D forward 1 + its input gradient 1 + the double backward of both 4 = 6.
# G step: G forward + backward 3; D forward on fakes 1 + its input gradient 1.
G_FORWARDS_PER_IMAGE = 1 + 3
D_FORWARDS_PER_IMAGE = 3 + 3 + 6 + 2
METHOD = ("analytic from the traced forward graphs: 2 FLOPs per multiply-add of every Conv2D and MatMul op in the "
          "graphs of G and D at the phase's resolution (batch 1; elementwise ops, Adam and the EMA not counted); "
          "a backward pass = 2x its forward; per real image = 4 G forwards (G step fwd+bwd 3, fakes of the D step 1) "
          "+ 14 D forwards (reals and fakes fwd+bwd 3+3, gradient penalty fwd + input gradient + double backward "
          "6, G step fwd + input gradient 2)")


def _dims(tensor: tf.Tensor) -> list[int]:
    shape = tensor.shape.as_list()
    if None in shape:
        raise ValueError(f"{tensor.name} has no static shape {shape}: trace with fixed input shapes")
    return shape


def op_flops(op: tf.Operation) -> int:
    """2 x the multiply-adds of a Conv2D or (Batch)MatMul op with static shapes; 0 for any other op."""
    if op.type == "Conv2D":
        height, width, channels_in, _ = _dims(op.inputs[1])
        return 2 * math.prod(_dims(op.outputs[0])) * height * width * channels_in
    if op.type == "MatMul":
        contracted = _dims(op.inputs[0])[0 if op.get_attr("transpose_a") else 1]
        return 2 * math.prod(_dims(op.outputs[0])) * contracted
    if op.type.startswith("BatchMatMul"):
        contracted = _dims(op.inputs[0])[-2 if op.get_attr("adj_x") else -1]
        return 2 * math.prod(_dims(op.outputs[0])) * contracted
    return 0


def graph_flops(function: Callable, *inputs) -> int:
    """FLOPs of the Conv2D and MatMul ops in the graph that `function(*inputs)` traces."""
    graph = tf.function(function).get_concrete_function(*inputs).graph
    return sum(op_flops(op) for op in graph.get_operations())


def forward_flops(generator, discriminator, resolution: int) -> tuple[int, int]:
    """(G, D) forward FLOPs per image at a stable `resolution`."""
    latents = tf.zeros([1, generator.latent_size])
    labels = tf.zeros([1], tf.int32)
    images = tf.zeros([1, resolution, resolution, discriminator.channels])
    g = graph_flops(lambda z, y: generator(z, y, resolution=resolution), latents, labels)
    d = graph_flops(lambda x: discriminator(x, resolution=resolution), images)
    return g, d


def training_flops_per_image(generator, discriminator, resolution: int) -> int:
    """FLOPs of one real image's share of a D + G training step at a stable `resolution` (see METHOD)."""
    g, d = forward_flops(generator, discriminator, resolution)
    return G_FORWARDS_PER_IMAGE * g + D_FORWARDS_PER_IMAGE * d


def widest_conv3x3(features: Callable[[int], int], batch_size: Callable[[int], int],
                   resolutions: list[int]) -> tuple[int, int, int]:
    """(batch, resolution, channels) of the widest 3x3 layer: the most feature maps, at the highest resolution
    that has them, with the batch of that resolution."""
    channels = max(features(r) for r in resolutions)
    resolution = max(r for r in resolutions if features(r) == channels)
    return batch_size(resolution), resolution, channels


def _chain(step: Callable, repeats: int) -> Callable:
    """A compiled function applying `step` `repeats` times in sequence (no common subexpressions to merge)."""

    @tf.function
    def run(x):
        for _ in range(repeats):
            x = step(x)
        return tf.reshape(x, [-1])[0]

    return run


def _best_rate(run: Callable, x: tf.Tensor, flops_per_call: int, seconds: float) -> float:
    """FLOP/s of the fastest call of `run(x)`, each waited for, over about `seconds` after a warm-up call (the
    fastest, so that other processes on a shared machine lower it less)."""
    run(x).numpy()
    fastest, started = math.inf, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call = time.perf_counter()
        run(x).numpy()  # waits for the device
        fastest = min(fastest, time.perf_counter() - call)
    return flops_per_call / fastest


def matmul_peak(size: int, dtype: str = "float32", seconds: float = 1.0, repeats: int = 10) -> float:
    """Measured FLOP/s of chained [size, size] x [size, size] matmuls in `dtype` (2 size^3 FLOPs each)."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((size, size)), dtype)
    w = tf.constant(rng.standard_normal((size, size)) / math.sqrt(size), dtype)  # keeps the values' scale
    return _best_rate(_chain(lambda a: tf.linalg.matmul(a, w), repeats), x, 2 * size**3 * repeats, seconds)


def conv3x3_peak(batch: int, resolution: int, channels: int, dtype: str = "float32", seconds: float = 1.0,
                 repeats: int = 10) -> float:
    """Measured FLOP/s of chained 3x3 'SAME' convolutions, channels -> channels, on [batch, resolution,
    resolution, channels] in `dtype`."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((batch, resolution, resolution, channels)), dtype)
    w = tf.constant(rng.standard_normal((3, 3, channels, channels)) / math.sqrt(9 * channels), dtype)
    flops = 2 * batch * resolution**2 * 9 * channels**2 * repeats
    return _best_rate(_chain(lambda a: tf.nn.conv2d(a, w, 1, "SAME"), repeats), x, flops, seconds)

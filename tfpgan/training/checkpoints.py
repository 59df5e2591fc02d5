"""Checkpoints keyed by variable path, so a run restores into freshly built networks by name, not position."""

from __future__ import annotations

import keras
import tensorflow as tf


def by_path(variables, strip_prefix: bool = True) -> dict[str, tf.Variable]:
    """{path: tf.Variable}; with strip_prefix the model's own name is dropped ('generator/block8/...' ->
    'block8/...'), so the EMA copy and an export-time rebuild share keys with any model of the same config."""
    result = {}
    for variable in variables:
        path = variable.path.split("/", 1)[1] if strip_prefix else variable.path
        result[path.replace("/", ".")] = variable.value if isinstance(variable, keras.Variable) else variable
    return result


def optimizer_slots(optimizer: keras.optimizers.Optimizer) -> list:
    """Adam's moment estimates and step counter: what 'reset the optimizer' zeroes (not the learning rate)."""
    return [v for v in optimizer.variables if v.path.endswith(("_momentum", "_velocity", "/iteration"))]


def reset_optimizer(optimizer: keras.optimizers.Optimizer) -> None:
    for variable in optimizer_slots(optimizer):
        variable.assign(tf.zeros_like(variable))

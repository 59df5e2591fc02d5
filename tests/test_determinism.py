"""--deterministic: the process settings it makes, and two training runs that end with identical weights."""

import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

pytest_plugins = ("gan_fixtures",)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = """
import tensorflow as tf
from tensorflow.python.framework import config
from tfpgan import determinism
determinism.configure(True, seed=5)
threading = tf.config.threading
print(config.is_op_determinism_enabled(), threading.get_inter_op_parallelism_threads(),
      threading.get_intra_op_parallelism_threads(), tf.random.uniform([]).numpy())
"""


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, **kwargs)


def test_configure_enables_op_determinism_fixed_threads_and_seeds():
    first, second = _run("-c", CHECK), _run("-c", CHECK)
    assert first.returncode == 0, first.stderr[-2000:]
    enabled, inter, intra, draw = first.stdout.split()
    assert (enabled, inter, intra) == ("True", "1", "2")
    assert second.stdout == first.stdout  # the seeded draw repeats


def _final_weights(logdir) -> dict:
    reader = tf.train.load_checkpoint(str(logdir / "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.startswith("generator") or name.startswith("discriminator")}


def test_two_deterministic_training_runs_end_with_identical_weights(gan_dataset, tmp_path):
    runs = []
    for name in ("a", "b"):
        result = _run("-m", "tools.train", f"--dataset={gan_dataset}", f"--logdir={tmp_path / name}",
                      "--resolution=8", "--kimg_per_phase=0.032", "--kimg_per_transition=0.032",
                      "--batch_per_resolution=4:8", "--latent_size=8", "--fmap_base=64", "--fmap_max=16",
                      "--image_every_kimg=0", "--noexport", "--deterministic")
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(_final_weights(tmp_path / name))
    assert runs[0].keys() == runs[1].keys() and len(runs[0]) > 4
    for name, value in runs[0].items():
        np.testing.assert_array_equal(value, runs[1][name], err_msg=name)

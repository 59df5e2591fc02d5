"""tools.benchmark --what=train: a configuration or phase that fails is a failed row, and the benchmark goes on (the
speeds themselves are measured by running the command, never in tests)."""

import json

import pytest
import tensorflow as tf

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.options import BenchmarkOptions  # noqa: E402
from tfpgan.training.trainer import Trainer  # noqa: E402
from tools import benchmark  # noqa: E402

from gan_fixtures import tiny_config  # noqa: E402

pytest_plugins = ("gan_fixtures",)


def test_a_failing_configuration_or_phase_is_a_failed_row_and_the_others_are_timed(gan_dataset, tmp_path,
                                                                                  monkeypatch):
    options = BenchmarkOptions(what="train", seconds=0.5)
    monkeypatch.setattr(benchmark, "_peak", lambda *args: 1e12)  # no peak measurement: not what is tested
    phase_runner = Trainer.phase_runner

    def out_of_memory_at_8(trainer, phase):
        if phase.resolution == 8:  # as TensorFlow reports an error raised inside a graph
            raise tf.errors.ResourceExhaustedError(None, None, "Graph execution error:\n\nDetected at node x defined "
                                                   "at (most recent call last):\n<stack traces unavailable>\nOOM when "
                                                   "allocating tensor with shape[8,16,8,8]\n\t [[{{node x}}]]")
        return phase_runner(trainer, phase)

    monkeypatch.setattr(Trainer, "phase_runner", out_of_memory_at_8)
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=8, kimg_per_phase=0.008, export=False)
    rows = benchmark._time_configuration(config, options, {}, {})
    assert [row["resolution"] for row in rows] == [4, 8]
    assert rows[0]["img_per_s"] > 0 and "failed" not in rows[0]
    assert rows[1] == {"mixed_precision": False, "jit_compile": False, "resolution": 8,
                       "failed": "ResourceExhaustedError: OOM when allocating tensor with shape[8,16,8,8]"}
    unbuildable = config.replace(batch_per_resolution={4: 6})  # not a multiple of the minibatch-stddev group
    (row,) = benchmark._time_configuration(unbuildable, options, {}, {})
    assert row == {"mixed_precision": False, "jit_compile": False, "resolution": None,
                   "failed": "TfpganError: batch 6 at 4x4 is not a multiple of the minibatch-stddev group size 4"}
    json.dumps(rows + [row])  # the report stays printable

"""Mixed precision and XLA all the way: tiny runs interrupted and resumed under loss scaling, with WGAN-GP and R1,
with and without --jit_compile."""

import keras
import numpy as np
import pytest

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.training.trainer import TrainingInterrupted  # noqa: E402

from gan_fixtures import RecordingTrainer, tiny_config, training_state  # noqa: E402

pytest_plugins = ("gan_fixtures",)


@pytest.fixture
def float32_policy_after():
    """A mixed-precision Trainer sets the global dtype policy: restore float32 for the tests that follow."""
    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.parametrize("loss, jit_compile, overrides", [
    pytest.param("wgan_gp", (False, True), {"balanced_fake_labels": False}, id="wgan_gp-graph-then-xla"),
    pytest.param("ns_r1", (True, False), {}, id="ns_r1-xla-then-graph"),
])
def test_a_mixed_precision_run_resumes_with_its_loss_scales_and_penalties(loss, jit_compile, overrides, gan_dataset,
                                                                          tmp_path, float32_policy_after):
    """4x4 -> 8x8, one step of 8 images per phase: stopped after the 4x4 step, resumed for the 8x8 fade-in and
    stable step. One part runs under XLA (--jit_compile may change on resume), so each loss runs its penalty
    compiled and not, WGAN-GP resumes into XLA (drawing its G labels by class frequency there) and R1 out of it,
    at the cost of one XLA compilation per case. ns_r1's lazy R1 (every 2 steps) follows the restored step."""
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=8, kimg_per_phase=0.008,
                         kimg_per_transition=0.008, tick_kimg=0.008, image_every_kimg=0, export=False,
                         mixed_precision=True, jit_compile=jit_compile[0], loss=loss, r1_interval=2, **overrides)
    first = RecordingTrainer(config)
    first.d_optimizer.dynamic_scale.assign(256.0)  # not the initial 32768: a fresh trainer would not have them
    first.g_optimizer.dynamic_scale.assign(128.0)
    with pytest.raises(TrainingInterrupted):
        first.train(should_stop=lambda: int(first.step.numpy()) >= 1)
    saved = training_state(first)
    scales = {key: float(saved[key]) for key in ("d_adam_scaled.dynamic_scale", "g_adam_scaled.dynamic_scale")}
    assert set(scales.values()) <= {256.0, 128.0, 64.0}  # kept, or halved once on an overflow

    resumed = RecordingTrainer(config.replace(jit_compile=jit_compile[1]))
    resumed.train()
    assert resumed.restored_state.keys() == saved.keys()
    for key, value in saved.items():
        np.testing.assert_array_equal(resumed.restored_state[key], value, err_msg=key)
    assert [step for step, _ in first.ticks + resumed.ticks] == [1, 2, 3]
    ticks = [values for _, values in first.ticks + resumed.ticks]
    assert all(np.isfinite(list(values.values())).all() for values in ticks)
    penalties = [values["penalty"] for values in ticks]
    if loss == "wgan_gp":
        assert min(penalties) > 0
    else:  # lazy R1 at steps 0 and 2 (the interval counts the restored step), not at step 1
        assert penalties[0] > 0 and penalties[1] == 0 and penalties[2] > 0
    for variable in resumed.generator.variables + resumed.discriminator.variables:
        assert np.all(np.isfinite(variable.numpy())), variable.path

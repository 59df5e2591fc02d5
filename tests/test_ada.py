"""ADA's heuristic: p moves by sign(r_t - target) * images / (speed_kimg * 1000), clipped to [0, 1]."""

import numpy as np
import pytest
import tensorflow as tf

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.training.ada import INTERVAL, adjusted_p, overfitting_signs  # noqa: E402

from gan_fixtures import RecordingTrainer, tiny_config  # noqa: E402

pytest_plugins = ("gan_fixtures",)


@pytest.mark.parametrize("p, r_t, expected", [(0.5, 0.9, 0.5 + 64 / 500_000), (0.5, 0.1, 0.5 - 64 / 500_000),
                                              (0.0, -1.0, 0.0), (1.0, 1.0, 1.0)])
def test_p_follows_the_sign_of_the_overfitting_signal_and_stays_in_zero_one(p, r_t, expected):
    assert float(adjusted_p(p, r_t, 0.6, 64, 500)) == pytest.approx(expected, abs=1e-7)


def test_p_can_go_from_zero_to_one_in_speed_kimg():
    p, batch = 0.0, 32
    for _ in range(500_000 // (batch * INTERVAL)):
        p = adjusted_p(p, 1.0, 0.6, batch * INTERVAL, 500)
    assert float(p) == pytest.approx(1.0, abs=1e-3)


def test_ns_r1_signal_is_the_sign_of_d_on_reals():
    reals, fakes = np.array([-2.0, -0.5, 0.0, 3.0]), np.array([5.0, 6.0, 7.0, 8.0])
    np.testing.assert_array_equal(overfitting_signs(reals, fakes, "ns_r1"), [-1, -1, 0, 1])


def test_wgan_gp_signal_is_blind_to_the_critic_offset_and_centred_when_it_cannot_tell():
    rng = np.random.default_rng(0)
    reals, fakes = rng.standard_normal(4096), rng.standard_normal(4096)
    for offset in (-50.0, 0.0, 50.0):  # a WGAN critic's loss does not fix its zero
        assert abs(float(np.mean(overfitting_signs(reals + offset, fakes + offset, "wgan_gp")))) < 0.05
        separated = overfitting_signs(reals + offset + 10.0, fakes + offset, "wgan_gp")
        np.testing.assert_array_equal(separated, np.ones(4096))
    # all reals below zero but above every fake: D tells them apart, ns_r1's sign would read -1
    np.testing.assert_array_equal(overfitting_signs([-3.0, -2.0], [-9.0, -8.0], "wgan_gp"), [1, 1])


def test_wgan_gp_raises_p_once_the_critic_separates_reals_from_fakes_whatever_its_offset(gan_dataset, tmp_path):
    """A generator that cannot keep up (frozen here: its optimizer applies nothing) lets D separate reals from fakes,
    as on a tiny subset; the critic's scores start 5 below zero, where E[sign D(real)] would read -1 and keep p at 0.
    The relative signal reads D's separation and p rises (ns_r1's signal is unchanged: see above)."""
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=8, start_resolution=8, kimg_per_phase=0.256,
                         tick_kimg=0.032, image_every_kimg=0, checkpoint_every_kimg=0, export=False,
                         augment=("translation", "cutout", "brightness", "contrast"), augment_p="auto",
                         augment_speed_kimg=0.256)
    trainer = RecordingTrainer(config)
    trainer.g_optimizer.apply_gradients = lambda pairs: None
    (bias,) = [v for v in trainer.discriminator.variables if v.path.endswith("block4/dense1/bias")]
    bias.assign(bias - 5.0 * tf.one_hot(0, bias.shape[0]))  # the score's bias; the logits' stay
    trainer.train()
    signals = [values["real_sign"] for _, values in trainer.ticks]
    assert max(signals) > 0.6 and float(trainer.augment_p.numpy()) > 0.05, (signals, trainer.augment_p)

"""ADA's heuristic: p moves by sign(r_t - target) * images / (speed_kimg * 1000), clipped to [0, 1]."""

import pytest

from tfpgan.training.ada import INTERVAL, adjusted_p


@pytest.mark.parametrize("p, r_t, expected", [(0.5, 0.9, 0.5 + 64 / 500_000), (0.5, 0.1, 0.5 - 64 / 500_000),
                                              (0.0, -1.0, 0.0), (1.0, 1.0, 1.0)])
def test_p_follows_the_sign_of_the_overfitting_signal_and_stays_in_zero_one(p, r_t, expected):
    assert float(adjusted_p(p, r_t, 0.6, 64, 500)) == pytest.approx(expected, abs=1e-7)


def test_p_can_go_from_zero_to_one_in_speed_kimg():
    p, batch = 0.0, 32
    for _ in range(500_000 // (batch * INTERVAL)):
        p = adjusted_p(p, 1.0, 0.6, batch * INTERVAL, 500)
    assert float(p) == pytest.approx(1.0, abs=1e-3)

"""Tests for tfpgan.statistics against scipy, hand-worked values and a naive bootstrap."""

import math

import numpy as np
import pytest
from scipy import stats

from tfpgan import statistics

DIFFERENCES = np.array([0.04, -0.01, 0.06, 0.02, 0.08, 0.03])


def test_uncorrected_test_is_scipys_paired_t_test():
    treatment = np.array([0.71, 0.65, 0.80, 0.74, 0.69, 0.77])
    baseline = treatment - DIFFERENCES
    result = statistics.corrected_t_test(treatment - baseline, test_train_ratio=0.0)
    paired = stats.ttest_rel(treatment, baseline)
    one_sample = stats.ttest_1samp(DIFFERENCES, 0.0)
    assert result["t"] == pytest.approx(paired.statistic) and result["p_value"] == pytest.approx(paired.pvalue)
    assert result["p_value"] == pytest.approx(one_sample.pvalue)
    interval = one_sample.confidence_interval(0.95)
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert (result["runs"], result["df"]) == (6, 5)
    assert result["std"] == pytest.approx(np.std(DIFFERENCES, ddof=1))


def test_corrected_statistic_matches_a_hand_computation():
    # d = 1, 2, 3, 6: mean 3, sample variance (4 + 1 + 0 + 9) / 3 = 14 / 3; with n_test / n_train = 0.5,
    # se = sqrt((1/4 + 1/2) * 14/3) = sqrt(3.5) and t = 3 / sqrt(3.5) on 3 degrees of freedom.
    result = statistics.corrected_t_test([1.0, 2.0, 3.0, 6.0], test_train_ratio=0.5)
    assert result["se"] == pytest.approx(math.sqrt(3.5))
    assert result["t"] == pytest.approx(3 / math.sqrt(3.5))
    assert result["p_value"] == pytest.approx(2 * stats.t.sf(3 / math.sqrt(3.5), 3))
    half_width = stats.t.ppf(0.975, 3) * math.sqrt(3.5)
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(3 - half_width), pytest.approx(3 + half_width))


def test_correction_shrinks_t_by_the_variance_inflation():
    # t_corrected = t_ordinary * sqrt((1/J) / (1/J + ratio)) = t_ordinary / sqrt(1 + J * ratio)
    ordinary = stats.ttest_1samp(DIFFERENCES, 0.0).statistic
    corrected = statistics.corrected_t_test(DIFFERENCES, test_train_ratio=1 / 4)
    assert corrected["t"] == pytest.approx(ordinary / math.sqrt(1 + 6 / 4))
    assert corrected["p_value"] > stats.ttest_1samp(DIFFERENCES, 0.0).pvalue


def test_undefined_cases_and_bad_input():
    single = statistics.corrected_t_test([0.1], 0.5)
    assert single["mean"] == pytest.approx(0.1) and single["p_value"] is None and single["ci_low"] is None
    constant = statistics.corrected_t_test([0.9 - 0.8, 0.8 - 0.7, 0.3 - 0.2], 0.5)
    assert constant["p_value"] is None and constant["t"] is None and constant["ci_low"] is None
    assert constant["std"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="test_train_ratio"):
        statistics.corrected_t_test([0.1, 0.2], -1.0)
    with pytest.raises(ValueError, match="non-empty"):
        statistics.corrected_t_test([], 0.5)


@pytest.mark.parametrize("df, tolerance", [(2, 0.04), (9, 0.005), (29, 0.005)])
def test_minimum_detectable_difference_has_about_the_stated_power(df, tolerance):
    """The formula is the normal approximation with t quantiles: close for moderate df, 0.77 for df = 2."""
    se = 0.02
    difference = statistics.minimum_detectable_difference(se, df)
    critical = stats.t.ppf(0.975, df)
    # Power of the two-sided test against a true difference `difference`: noncentral t with nc = difference / se.
    power = stats.nct.sf(critical, df, difference / se) + stats.nct.cdf(-critical, df, difference / se)
    assert power == pytest.approx(0.8, abs=tolerance)
    assert difference == pytest.approx((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * se)


def test_minimum_detectable_difference_approaches_the_normal_formula():
    assert statistics.minimum_detectable_difference(1.0, 10_000) == pytest.approx(1.959964 + 0.841621, rel=1e-3)


def test_holm_matches_a_hand_worked_example():
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> max so far 0.06.
    assert statistics.holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_counts_undefined_p_values_as_one_and_caps_at_one():
    # The undefined test stays in the family (m = 3, not 2): 0.02 x 3 = 0.06, then max(0.06, 0.5 x 2) = 1.
    assert statistics.holm_adjust([0.02, None, 0.5]) == [pytest.approx(0.06), None, pytest.approx(1.0)]
    assert statistics.holm_adjust([0.01, None]) == [pytest.approx(0.02), None]
    assert statistics.holm_adjust([0.6, 0.5]) == [1.0, 1.0]
    assert statistics.holm_adjust([]) == []


def _ratio_of_sums(sums):
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[:, 0] / sums[:, 1]


def test_bootstrap_matches_a_naive_loop():
    rng = np.random.default_rng(5)
    counts = np.stack([rng.integers(0, 3, 40), rng.integers(0, 2, 40)], axis=1).astype(float)
    resamples = 300  # more than one chunk of draws
    result = statistics.cluster_bootstrap_ci(counts, _ratio_of_sums, resamples=resamples, seed=7)

    draws = np.random.default_rng(7)
    values = []
    for _ in range(resamples):
        resample = counts[draws.integers(0, len(counts), len(counts))].sum(axis=0)
        values.append(resample[0] / resample[1] if resample[1] else np.nan)
    values = np.array(values)
    defined = values[~np.isnan(values)]
    assert result["estimate"] == pytest.approx(counts[:, 0].sum() / counts[:, 1].sum())
    assert result["ci_low"] == pytest.approx(np.quantile(defined, 0.025))
    assert result["ci_high"] == pytest.approx(np.quantile(defined, 0.975))
    assert result["undefined"] == int(np.isnan(values).sum())
    assert (result["resamples"], result["seed"], result["units"]) == (resamples, 7, 40)


def test_bootstrap_interval_of_a_mean_matches_normal_theory():
    values = np.random.default_rng(1).normal(0.3, 1.0, 400)
    counts = np.stack([values, np.ones_like(values)], axis=1)
    result = statistics.cluster_bootstrap_ci(counts, _ratio_of_sums)
    half_width = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert result["ci_low"] == pytest.approx(values.mean() - half_width, abs=0.1 * half_width)
    assert result["ci_high"] == pytest.approx(values.mean() + half_width, abs=0.1 * half_width)


def test_bootstrap_drops_undefined_resamples():
    counts = np.array([[1.0, 1.0], [0.0, 0.0]])  # a resample of only the second unit is 0 / 0
    result = statistics.cluster_bootstrap_ci(counts, _ratio_of_sums, resamples=400)
    assert 50 < result["undefined"] < 150  # about a quarter of the resamples
    assert result["ci_low"] == result["ci_high"] == 1.0


def test_stratified_bootstrap_keeps_every_stratum_and_matches_a_naive_loop():
    counts = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2 + [[2.0, 1.0]] * 4)  # strata 0, 1, 2 in blocks
    strata = np.array([5] * 3 + [7] * 2 + [9] * 4)
    result = statistics.cluster_bootstrap_ci(counts, lambda sums: sums[:, 1], resamples=300, seed=3, strata=strata)
    # Each resample keeps each stratum's size, so the sum of column 1 (stratum 7: 1 each, stratum 9: 1 each) is fixed.
    assert result["ci_low"] == result["ci_high"] == 6.0 and result["strata"] == 3

    draws = np.random.default_rng(3)
    members = [np.flatnonzero(strata == s) for s in (5, 7, 9)]
    values = []
    for start in range(0, 300, 250):  # the chunks of resamples, drawn stratum by stratum
        size = min(250, 300 - start)
        drawn = np.concatenate([m[draws.integers(0, len(m), (size, len(m)))] for m in members], axis=1)
        values += [counts[row].sum(axis=0)[0] for row in drawn]
    stratified = statistics.cluster_bootstrap_ci(counts, lambda sums: sums[:, 0], resamples=300, seed=3,
                                                 strata=strata)
    assert stratified["ci_low"] == pytest.approx(np.quantile(values, 0.025))
    assert stratified["ci_high"] == pytest.approx(np.quantile(values, 0.975))
    with pytest.raises(ValueError, match="one stratum per unit"):
        statistics.cluster_bootstrap_ci(counts, lambda sums: sums[:, 0], strata=strata[:3])


def test_unstratified_bootstrap_can_drop_a_class_the_stratified_one_cannot():
    counts = np.array([[1.0]] * 29 + [[0.0]])  # one unit of a rare stratum
    rare_present = statistics.cluster_bootstrap_ci(counts, lambda sums: 30 - sums[:, 0], resamples=500)
    assert rare_present["ci_low"] == 0.0  # some resamples lost the rare unit
    kept = statistics.cluster_bootstrap_ci(counts, lambda sums: 30 - sums[:, 0], resamples=500,
                                           strata=np.array([0] * 29 + [1]))
    assert kept["ci_low"] == kept["ci_high"] == 1.0

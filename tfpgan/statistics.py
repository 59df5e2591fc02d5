"""Statistics for comparing classifiers scored by (repeated) k-fold cross-validation (docs/design.md, section 6).

* ``corrected_t_test``: the corrected resampled t-test of Nadeau & Bengio (2003) in the repeated k-fold form of
  Bouckaert & Frank (2004). Over J paired results (k folds x R seeds) with differences d_j,
  ``t = mean(d) / sqrt((1 / J + n_test / n_train) * var(d, ddof=1))`` on J - 1 degrees of freedom. The
  ``n_test / n_train`` term accounts for the training sets overlapping between folds (and repeats), which makes
  the d_j correlated; with it set to 0 the test is the ordinary one-sample t-test of d (paired t-test).
* ``minimum_detectable_difference``: the smallest true difference such a test detects with the given power.
* ``holm_adjust``: Holm's (1979) step-down adjustment of a family of p-values.
* ``cluster_bootstrap_ci``: a seeded percentile bootstrap of any statistic of additive per-unit counts, resampling
  whole units (e.g. test examples with all their repeats) with replacement, optionally within strata (e.g. the
  examples' true classes, so that no resample drops a class).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# Resamples drawn at once: bounds the [chunk, units] weight matrix.
_BOOTSTRAP_CHUNK = 250


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def corrected_t_test(differences: Sequence[float] | np.ndarray, test_train_ratio: float,
                     confidence: float = CONFIDENCE) -> dict[str, Any]:
    """The corrected resampled t-test of mean(differences) against 0, and the matching confidence interval.

    Args:
      differences: the J paired differences d_j (treatment - baseline), one per (fold, seed).
      test_train_ratio: n_test / n_train, the test-set size over the training-set size of one run.
      confidence: of the two-sided interval ``mean ± t_{(1 + confidence) / 2, J - 1} * se``.

    Returns ``runs`` (J), ``mean``, ``std`` (ddof 1), ``se`` (corrected standard error), ``t``, ``df``,
    ``p_value`` (two-sided), ``ci_low``, ``ci_high``. Everything but ``runs`` and ``mean`` is None with fewer than
    two differences; ``t``, ``p_value`` and the interval are None when the differences are constant (up to float
    rounding), where the test is undefined.
    """
    differences = np.asarray(differences, dtype=np.float64)
    if differences.ndim != 1 or differences.size == 0:
        raise ValueError(f"Expected a non-empty [J] array of differences; got shape {differences.shape}.")
    if test_train_ratio < 0:
        raise ValueError(f"test_train_ratio must be >= 0, got {test_train_ratio}")
    _check_confidence(confidence)
    runs, mean = differences.size, float(differences.mean())
    result = {"runs": runs, "mean": mean, "std": None, "se": None, "t": None, "df": None, "p_value": None,
              "ci_low": None, "ci_high": None}
    if runs < 2:
        return result
    variance = float(differences.var(ddof=1))
    df = runs - 1
    se = float(np.sqrt((1.0 / runs + test_train_ratio) * variance))
    result.update(std=float(np.sqrt(variance)), se=se, df=df)
    if np.allclose(differences, mean, rtol=1e-9, atol=1e-12):
        return result
    t = mean / se
    half_width = float(stats.t.ppf((1.0 + confidence) / 2.0, df)) * se
    result.update(t=float(t), p_value=float(2.0 * stats.t.sf(abs(t), df)), ci_low=mean - half_width,
                  ci_high=mean + half_width)
    return result


def minimum_detectable_difference(se: float, df: int, alpha: float = 1.0 - CONFIDENCE,
                                  power: float = 0.8) -> float:
    """The true difference a two-sided t-test at level ``alpha`` detects with probability ``power``:
    ``(t_{1 - alpha / 2, df} + t_{power, df}) * se`` (the usual normal-approximation formula with t quantiles)."""
    if df < 1 or se < 0 or not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"need df >= 1, se >= 0, alpha and power in (0, 1); got {df}, {se}, {alpha}, {power}")
    return float((stats.t.ppf(1.0 - alpha / 2.0, df) + stats.t.ppf(power, df)) * se)


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input order.

    A None entry (a test that could not be computed, e.g. constant differences) stays in the family as p = 1, so
    that the family size m does not shrink; its adjusted value is None. With the m p-values sorted ascending,
    p_(i) becomes max_{j <= i} min(1, (m - j + 1) p_(j)). Rejecting where the adjusted p is below alpha controls
    the family-wise error rate at alpha.
    """
    family = sorted((1.0 if p is None else p, index) for index, p in enumerate(p_values))
    adjusted: list[float | None] = [None] * len(p_values)
    running_max = 0.0
    for rank, (p, index) in enumerate(family):
        running_max = max(running_max, min(1.0, (len(family) - rank) * p))
        if p_values[index] is not None:
            adjusted[index] = running_max
    return adjusted


def _resampled_sums(counts: np.ndarray, strata: list[np.ndarray], rng: np.random.Generator,
                    resamples: int) -> np.ndarray:
    """[resamples, M] sums of ``counts`` rows drawn with replacement within each stratum (the unit indices of
    ``strata``), per chunk of resamples and per stratum in order, row-major from ``rng.integers``."""
    units = len(counts)
    sums = []
    for start in range(0, resamples, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, resamples - start)
        drawn = np.concatenate([members[rng.integers(0, len(members), size=(size, len(members)))]
                                for members in strata], axis=1)
        offsets = (drawn + units * np.arange(size)[:, None]).ravel()
        weights = np.bincount(offsets, minlength=size * units).reshape(size, units)
        sums.append(weights @ counts)
    return np.concatenate(sums)


def cluster_bootstrap_ci(counts: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray],
                         resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                         confidence: float = CONFIDENCE, strata: Sequence[int] | np.ndarray | None = None,
                         ) -> dict[str, Any]:
    """Percentile bootstrap interval of ``statistic`` over units resampled with replacement (within each stratum).

    Args:
      counts: [units, M] additive counts per unit (e.g. a test example's confusion-matrix entries under two
        classifiers, summed over its repeats); a resample is the sum of ``units`` rows drawn with replacement.
      statistic: maps summed counts [B, M] to [B] values (NaN where undefined; those resamples are dropped).
      resamples, seed: each resample draws ``rng.integers(0, units, units)`` from ``np.random.default_rng(seed)``,
        in order (with strata: per stratum of n units, ``rng.integers(0, n, n)`` indices into its units).
      strata: [units] stratum of every unit (e.g. a test example's true class): a resample keeps each stratum's
        size, so no stratum is dropped. None: one stratum.

    Returns ``estimate`` (the statistic of all units; None if undefined), ``ci_low``, ``ci_high``,
    ``confidence``, ``resamples``, ``undefined`` (resamples dropped), ``seed`` and ``units``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or len(counts) == 0:
        raise ValueError(f"Expected non-empty [units, M] counts; got shape {counts.shape}.")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    _check_confidence(confidence)
    strata = np.zeros(len(counts), np.int64) if strata is None else np.asarray(strata)
    if strata.shape != (len(counts),):
        raise ValueError(f"Expected one stratum per unit ({len(counts)}); got shape {strata.shape}.")
    members = [np.flatnonzero(strata == stratum) for stratum in np.unique(strata)]
    values = np.asarray(statistic(_resampled_sums(counts, members, np.random.default_rng(seed), resamples)),
                        np.float64)
    defined = values[~np.isnan(values)]
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail]) if defined.size else (None, None)
    estimate = float(np.asarray(statistic(counts.sum(axis=0)[None]), np.float64)[0])
    return {
        "estimate": None if np.isnan(estimate) else estimate,
        "ci_low": None if low is None else float(low), "ci_high": None if high is None else float(high),
        "confidence": confidence, "resamples": resamples, "undefined": int(values.size - defined.size),
        "seed": seed, "units": len(counts), "strata": len(members),
    }

"""Classifier metrics: sensitivity, specificity, accuracy, AUC, fold summaries, paired tests (docs/design.md).

Sensitivity and specificity are one-vs-rest per class. Two averages are reported:

* **macro**: the plain mean of the per-class values;
* **micro**: the per-class 2x2 counts are pooled first. For single-label data micro
  sensitivity equals accuracy, and for K classes micro specificity equals
  ``((K - 2) + accuracy) / (K - 1)``, i.e. ``(1 + accuracy) / 2`` for 3 classes.

A per-class value whose denominator is empty (a class absent from ``y_true`` has no
sensitivity and no ROC AUC; a class that is the whole sample has no specificity) is
``None`` and is left out of the macro mean. Every returned value is a plain Python
type, so results can be written with ``json.dump``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics

# Below this many discordant pairs McNemar uses the exact binomial test.
MCNEMAR_EXACT_BELOW = 25


def _ratio(numerator: int, denominator: int) -> float | None:
    return float(numerator / denominator) if denominator else None


def _mean_of_defined(values: Iterable[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return float(np.mean(defined)) if defined else None


def _one_vs_rest_auc(is_class: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of one class against the rest; None when only one side is present."""
    if is_class.all() or not is_class.any():
        return None
    return float(sk_metrics.roc_auc_score(is_class, scores))


def _check_inputs(y_true: np.ndarray, y_prob: np.ndarray, num_classes: int) -> None:
    if y_true.ndim != 1 or y_prob.ndim != 2 or len(y_true) != len(y_prob):
        raise ValueError(
            f"Expected y_true [N] and y_prob [N, K]; got shapes {y_true.shape} and {y_prob.shape}."
        )
    if y_prob.shape[1] != num_classes:
        raise ValueError(f"y_prob has {y_prob.shape[1]} columns but there are {num_classes} class names.")
    if len(y_true) == 0:
        raise ValueError("Cannot compute metrics on an empty set.")
    if y_true.min() < 0 or y_true.max() >= num_classes:
        raise ValueError(f"Labels must lie in [0, {num_classes - 1}]; got {y_true.min()}..{y_true.max()}.")


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_prob: Sequence[Sequence[float]] | np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Metrics of a single-label classifier from its class probabilities.

    Args:
      y_true: [N] integer labels in ``[0, K)``.
      y_prob: [N, K] class probabilities (or any scores); the prediction is the argmax.
      class_names: K names, in label order.

    Returns:
      ``n``, ``accuracy``, ``confusion_matrix`` (rows = true class, columns = predicted),
      ``class_names``, ``per_class`` ({name: sensitivity, specificity, auc, support}),
      ``macro`` (sensitivity, specificity, auc) and ``micro`` (sensitivity, specificity).
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    num_classes = len(class_names)
    _check_inputs(y_true, y_prob, num_classes)
    labels = list(range(num_classes))
    y_pred = y_prob.argmax(axis=1)

    # counts[k] = [[TN, FP], [FN, TP]] of class k against the rest.
    counts = sk_metrics.multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    per_class = {}
    for k, name in enumerate(class_names):
        (tn, fp), (fn, tp) = counts[k]
        per_class[name] = {
            "sensitivity": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "auc": _one_vs_rest_auc(y_true == k, y_prob[:, k]),
            "support": int(tp + fn),
        }
    (tn, fp), (fn, tp) = counts.sum(axis=0)
    return {
        "n": int(len(y_true)),
        "accuracy": float(sk_metrics.accuracy_score(y_true, y_pred)),
        "confusion_matrix": sk_metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
        "per_class": per_class,
        "macro": {
            metric: _mean_of_defined(values[metric] for values in per_class.values())
            for metric in ("sensitivity", "specificity", "auc")
        },
        "micro": {"sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp)},
    }


def _scalar_leaves(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    """Flattens nested dicts to ``{"macro/auc": value}``, keeping numbers and None only."""
    leaves: dict[str, float | None] = {}
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            leaves.update(_scalar_leaves(value, prefix=f"{path}/"))
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            leaves[path] = value
    return leaves


def summarize(per_fold: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of every scalar metric over folds.

    Nested metrics are keyed by their path, e.g. ``"macro/sensitivity"`` or
    ``"per_class/cyst/auc"``. Each entry holds ``mean``, ``std`` (None with fewer than
    two values) and ``folds`` (how many folds defined the metric: None values, such as
    the AUC of a class absent from a fold, are skipped). Non-scalar entries (confusion
    matrix, class names) are not summarized.
    """
    if not per_fold:
        raise ValueError("summarize needs at least one fold.")
    leaves = [_scalar_leaves(fold) for fold in per_fold]
    keys = list(dict.fromkeys(key for fold in leaves for key in fold))
    summary: dict[str, Any] = {"folds": len(per_fold), "std_ddof": 1, "metrics": {}}
    for key in keys:
        values = [fold[key] for fold in leaves if fold.get(key) is not None]
        summary["metrics"][key] = {
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "folds": len(values),
        }
    return summary


def mcnemar_test(
    correct_a: Sequence[bool] | np.ndarray, correct_b: Sequence[bool] | np.ndarray
) -> dict[str, Any]:
    """McNemar's test of two classifiers scored on the same N samples.

    ``b`` counts samples only A got right, ``c`` samples only B got right. With fewer than
    ``MCNEMAR_EXACT_BELOW`` discordant pairs the two-sided exact binomial test
    (scipy.stats.binomtest, p = 0.5) is used, otherwise the chi-square test with
    continuity correction, ``(|b - c| - 1)^2 / (b + c)`` on 1 degree of freedom.
    """
    correct_a = np.asarray(correct_a, dtype=bool)
    correct_b = np.asarray(correct_b, dtype=bool)
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(f"Expected two [N] arrays; got shapes {correct_a.shape} and {correct_b.shape}.")
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    if b + c < MCNEMAR_EXACT_BELOW:
        p_value = stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
        method = "exact binomial"
    else:
        statistic = (abs(b - c) - 1) ** 2 / (b + c)
        p_value = stats.chi2.sf(statistic, df=1)
        method = "chi-square with continuity correction"
    return {"b": b, "c": c, "p_value": float(p_value), "method": method}


def paired_fold_test(
    values_a: Sequence[float] | np.ndarray, values_b: Sequence[float] | np.ndarray
) -> dict[str, Any]:
    """Paired t-test (scipy.stats.ttest_rel) of one metric measured per fold under two regimes.

    ``mean_difference`` is mean(a - b). ``p_value`` is None with fewer than two folds or
    when the differences have zero variance up to float rounding (the test is undefined there).
    """
    values_a = np.asarray(values_a, dtype=np.float64)
    values_b = np.asarray(values_b, dtype=np.float64)
    if values_a.shape != values_b.shape or values_a.ndim != 1 or values_a.size == 0:
        raise ValueError(f"Expected two non-empty [folds] arrays; got {values_a.shape} and {values_b.shape}.")
    differences = values_a - values_b
    p_value = None
    if differences.size >= 2 and not np.allclose(differences, differences.mean()):
        p_value = float(stats.ttest_rel(values_a, values_b).pvalue)
    return {
        "mean_difference": float(differences.mean()),
        "p_value": p_value,
        "method": "paired t-test (scipy.stats.ttest_rel)",
    }

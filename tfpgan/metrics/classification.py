"""Classifier metrics: sensitivity, specificity, accuracy, AUC, summaries over runs (docs/design.md).

Sensitivity and specificity are one-vs-rest per class. Two averages are reported:

* **macro**: the plain mean of the per-class values;
* **micro**: the per-class 2x2 counts are pooled first. For single-label data micro
  sensitivity equals accuracy, and for K classes micro specificity equals
  ``1 - (1 - accuracy) / (K - 1)``: every wrong prediction is one false positive, and the
  negatives number ``(K - 1) N``. Macro sensitivity is the balanced accuracy.

A per-class value whose denominator is empty (a class absent from ``y_true`` has no
sensitivity and no ROC AUC; a class that is the whole sample has no specificity) is
``None`` and is left out of the macro mean. Every returned value is a plain Python
type, so results can be written with ``json.dump``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn import metrics as sk_metrics


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


def summarize(per_run: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of every scalar metric over runs (one per fold and seed).

    Nested metrics are keyed by their path, e.g. ``"macro/sensitivity"`` or
    ``"per_class/cyst/auc"``. Each entry holds ``mean``, ``std`` (None with fewer than
    two values) and ``runs`` (how many runs defined the metric: None values, such as
    the AUC of a class absent from a test fold, are skipped). Non-scalar entries (confusion
    matrix, class names) are not summarized.
    """
    if not per_run:
        raise ValueError("summarize needs at least one run.")
    leaves = [_scalar_leaves(run) for run in per_run]
    keys = list(dict.fromkeys(key for run in leaves for key in run))
    summary: dict[str, Any] = {"runs": len(per_run), "std_ddof": 1, "metrics": {}}
    for key in keys:
        values = [run[key] for run in leaves if run.get(key) is not None]
        summary["metrics"][key] = {
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "runs": len(values),
        }
    return summary


def macro_rates(confusions: np.ndarray) -> dict[str, np.ndarray]:
    """Macro sensitivity and specificity of a stack of confusion matrices ``[..., K, K]`` (rows true).

    The vectorized twin of the ``macro`` values of ``classification_metrics`` (used on bootstrap
    resamples): a class whose denominator is empty is left out of the mean; NaN where no class is defined.
    """
    confusions = np.asarray(confusions, dtype=np.float64)
    total = confusions.sum(axis=(-2, -1))[..., None]
    true_positives = np.diagonal(confusions, axis1=-2, axis2=-1)
    positives = confusions.sum(axis=-1)
    false_positives = confusions.sum(axis=-2) - true_positives
    negatives = total - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = np.where(positives > 0, true_positives / positives, np.nan)
        specificity = np.where(negatives > 0, (negatives - false_positives) / negatives, np.nan)
    return {"sensitivity": _nan_mean(sensitivity), "specificity": _nan_mean(specificity)}


def _nan_mean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; NaN (without a warning) where every value is NaN."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(defined, values, 0.0).sum(axis=-1) / count, np.nan)

"""The evaluation report: report.json, report.md, and per-regime confusion-matrix and ROC figures.

Input: per regime, one result per test fold (classification_metrics of that fold as ``metrics``,
plus the per-example ``y_true``, ``y_prob`` and ``ids``). Per regime the report holds the per-fold
metrics, their mean / sample std over folds (``summarize``) and the metrics of all test examples
pooled over folds. Per comparison of two regimes (treatment vs baseline) it holds, for the table's
metrics, the difference of the fold means with a paired t-test over folds, and McNemar's test on
the pooled per-example correctness, examples matched by id. Every file is written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

from tfpgan.atomic import atomic_file, write_json, write_text
from tfpgan.metrics.classification import (
    MCNEMAR_EXACT_BELOW,
    classification_metrics,
    mcnemar_test,
    paired_fold_test,
    summarize,
)
from tfpgan.run_folder import REPORT_JSON, REPORT_MARKDOWN

# (treatment, baseline), reported when both regimes were evaluated.
COMPARISONS = (("classic+synthetic", "classic"), ("synthetic", "none"), ("classic", "none"))
# Metric key (as in summarize) -> table header. All but the AUC are shown in percent.
TABLE_COLUMNS = {
    "accuracy": "Accuracy (%)",
    "micro/sensitivity": "Sensitivity micro (%)",
    "micro/specificity": "Specificity micro (%)",
    "macro/sensitivity": "Sensitivity macro (%)",
    "macro/specificity": "Specificity macro (%)",
    "macro/auc": "AUC macro",
}
UNSCALED_METRICS = ("macro/auc",)
AVERAGING_NOTE = ("micro = pooled one-vs-rest counts (micro sensitivity = accuracy); macro = mean over classes; "
                  "± = sample std over {folds} folds")


def metric_value(metrics: Mapping[str, Any], key: str) -> float | None:
    """The value of a summarize-style key such as ``"macro/auc"`` in nested metrics."""
    value: Any = metrics
    for part in key.split("/"):
        value = value[part]
    return value


def figure_names(regime: str) -> dict[str, str]:
    return {"confusion": f"confusion_{regime}.png", "roc": f"roc_{regime}.png"}


def _pooled_predictions(results: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([np.asarray(r["y_true"], np.int64) for r in results]),
            np.concatenate([np.asarray(r["y_prob"], np.float64) for r in results]))


def regime_report(results: Sequence[Mapping[str, Any]], class_names: Sequence[str]) -> dict[str, Any]:
    """Per-fold metrics, their summary over folds, and the metrics pooled over folds."""
    return {
        "folds": {str(r["fold"]): r["metrics"] for r in results},
        "summary": summarize([r["metrics"] for r in results]),
        "pooled": classification_metrics(*_pooled_predictions(results), class_names),
    }


def _correct_by_id(results: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    y_true, y_prob = _pooled_predictions(results)
    ids = [i for r in results for i in r["ids"]]
    return dict(zip(ids, (y_prob.argmax(axis=1) == y_true).tolist()))


def compare(treatment: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Treatment vs baseline: per table metric over the folds both define, and McNemar by example id."""
    treatment_folds = {r["fold"]: r["metrics"] for r in treatment}
    baseline_folds = {r["fold"]: r["metrics"] for r in baseline}
    common_folds = sorted(treatment_folds.keys() & baseline_folds.keys())
    metrics = {}
    for key in TABLE_COLUMNS:
        pairs = [(metric_value(treatment_folds[f], key), metric_value(baseline_folds[f], key)) for f in common_folds]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if not pairs:
            metrics[key] = {"folds": 0, "treatment_mean": None, "baseline_mean": None, "mean_difference": None,
                            "p_value": None}
            continue
        a, b = np.array(pairs).T
        metrics[key] = {"folds": len(pairs), "treatment_mean": float(a.mean()), "baseline_mean": float(b.mean()),
                        **paired_fold_test(a, b)}
    correct_treatment, correct_baseline = _correct_by_id(treatment), _correct_by_id(baseline)
    ids = sorted(correct_treatment.keys() & correct_baseline.keys())
    mcnemar = None
    if ids:
        mcnemar = {"n": len(ids), **mcnemar_test([correct_treatment[i] for i in ids],
                                                 [correct_baseline[i] for i in ids])}
    return {"folds": common_folds, "metrics": metrics, "mcnemar": mcnemar}


def build_report(results: Mapping[str, Sequence[Mapping[str, Any]]], class_names: Sequence[str],
                 settings: Mapping[str, Any], missing_folds: Sequence[int] = ()) -> dict[str, Any]:
    """The content of report.json (see the module docstring); missing_folds: test folds not finished yet."""
    folds = sorted({r["fold"] for regime_results in results.values() for r in regime_results})
    return {
        "class_names": list(class_names),
        "folds": folds,
        "missing_folds": sorted(missing_folds),
        "note": AVERAGING_NOTE.format(folds=len(folds)),
        "settings": dict(settings),
        "regimes": {regime: regime_report(regime_results, class_names) for regime, regime_results in results.items()},
        "comparisons": [
            {"treatment": treatment, "baseline": baseline, **compare(results[treatment], results[baseline])}
            for treatment, baseline in COMPARISONS if treatment in results and baseline in results
        ],
        "figures": {regime: figure_names(regime) for regime in results},
    }


def _scale(key: str) -> tuple[float, int]:
    """(factor, decimals) with which metric ``key`` is shown."""
    return (1.0, 3) if key in UNSCALED_METRICS else (100.0, 1)


def format_value(key: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    factor, decimals = _scale(key)
    return f"{factor * value:{'+' if signed else ''}.{decimals}f}"


def format_mean_std(key: str, entry: Mapping[str, Any] | None) -> str:
    """``"76.8 ± 2.1"`` from a summarize entry (no ± with a single fold)."""
    if entry is None or entry["mean"] is None:
        return "n/a"
    text = format_value(key, entry["mean"])
    return text if entry["std"] is None else f"{text} ± {format_value(key, entry['std'])}"


def format_table(report: Mapping[str, Any]) -> str:
    """The results table (markdown): regime x metric, mean ± std over folds, and the averaging note."""
    lines = ["| Regime | " + " | ".join(TABLE_COLUMNS.values()) + " |",
             "|---" * (len(TABLE_COLUMNS) + 1) + "|"]
    for regime, content in report["regimes"].items():
        summary = content["summary"]["metrics"]
        cells = [format_mean_std(key, summary.get(key)) for key in TABLE_COLUMNS]
        lines.append(f"| {regime} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + report["note"] + "\n"


def _format_p(p_value: float | None) -> str:
    return "n/a" if p_value is None else f"{p_value:.3g}"


def _comparisons_markdown(report: Mapping[str, Any]) -> list[str]:
    if not report["comparisons"]:
        return ["No pair of compared regimes (classic+synthetic vs classic, synthetic vs none, classic vs none) "
                "was evaluated."]
    lines = ["| Treatment vs baseline | " + " | ".join(TABLE_COLUMNS.values()) + " | McNemar |",
             "|---" * (len(TABLE_COLUMNS) + 2) + "|"]
    for comparison in report["comparisons"]:
        cells = [f"{format_value(key, test['mean_difference'], signed=True)} (p = {_format_p(test['p_value'])})"
                 for key, test in comparison["metrics"].items()]
        mcnemar = comparison["mcnemar"]
        cells.append("n/a" if mcnemar is None else
                     f"b = {mcnemar['b']}, c = {mcnemar['c']}, p = {_format_p(mcnemar['p_value'])}")
        lines.append(f"| {comparison['treatment']} vs {comparison['baseline']} | " + " | ".join(cells) + " |")
    return lines + ["", "Cells: treatment mean - baseline mean over the folds both define, p of the paired t-test "
                    "over those folds. McNemar: pooled test examples matched by id, b = right only with the "
                    "treatment, c = right only with the baseline (exact binomial test below "
                    f"{MCNEMAR_EXACT_BELOW} discordant pairs)."]


def _missing_markdown(report: Mapping[str, Any]) -> list[str]:
    missing = report["missing_folds"]
    if not missing:
        return []
    return [f"**Incomplete:** test fold(s) {', '.join(map(str, missing))} have not finished yet and are left out; "
            "write the report again once they have.", ""]


def _markdown(report: Mapping[str, Any]) -> str:
    lines = ["# Classifier evaluation", "",
             f"{len(report['folds'])}-fold cross-validation (test folds {', '.join(map(str, report['folds']))}); "
             f"classes: {', '.join(report['class_names'])}.", "", *_missing_markdown(report), "## Results", "",
             format_table(report),
             "## Comparisons", "", *_comparisons_markdown(report), "", "## Figures (pooled over folds)", ""]
    for regime, names in report["figures"].items():
        lines += [f"### {regime}", "", f"![Confusion matrix, {regime}]({names['confusion']}) "
                  f"![ROC curves, {regime}]({names['roc']})", ""]
    lines += ["## Settings", "", "```json", json.dumps(report["settings"], indent=2), "```", ""]
    return "\n".join(lines)


def _save_figure(figure: Figure, path: str) -> None:
    """Save as PNG with the Agg renderer, atomically (temporary file + rename)."""
    FigureCanvasAgg(figure)
    with atomic_file(path, ".png") as temporary:
        figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")


def save_confusion_figure(path: str, confusion: Sequence[Sequence[int]], class_names: Sequence[str],
                          title: str) -> None:
    """The confusion matrix (rows true, columns predicted) with the counts written in each cell."""
    size = 2.5 + 0.8 * len(class_names)
    figure = Figure(figsize=(size, size))
    axes = figure.add_subplot()
    ConfusionMatrixDisplay(np.asarray(confusion), display_labels=list(class_names)).plot(
        ax=axes, values_format="d", cmap="Blues", colorbar=False, xticks_rotation=45)
    axes.set_title(title)
    _save_figure(figure, path)


def save_roc_figure(path: str, y_true: np.ndarray, y_prob: np.ndarray, class_names: Sequence[str],
                    title: str) -> None:
    """One-vs-rest ROC curve of every class present with both outcomes, AUC in the legend."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.add_subplot()
    defined = [k for k in range(len(class_names)) if 0 < np.sum(y_true == k) < len(y_true)]
    for k in defined:
        RocCurveDisplay.from_predictions(y_true == k, y_prob[:, k], name=class_names[k], ax=axes,
                                         plot_chance_level=k == defined[-1])
    axes.set(title=title, xlabel="False positive rate (one vs rest)", ylabel="True positive rate (one vs rest)")
    _save_figure(figure, path)


def write_report(output_dir: str, results: Mapping[str, Sequence[Mapping[str, Any]]], class_names: Sequence[str],
                 settings: Mapping[str, Any], missing_folds: Sequence[int] = ()) -> dict[str, Any]:
    """Write the figures, report.md and report.json into ``output_dir``; return the report."""
    report = build_report(results, class_names, settings, missing_folds)
    for regime, regime_results in results.items():
        pooled = report["regimes"][regime]["pooled"]
        title = f"{regime}: {len(regime_results)} folds pooled, n = {pooled['n']}"
        names = report["figures"][regime]
        save_confusion_figure(os.path.join(output_dir, names["confusion"]), pooled["confusion_matrix"],
                              class_names, title)
        save_roc_figure(os.path.join(output_dir, names["roc"]), *_pooled_predictions(regime_results), class_names,
                        title)
    write_text(os.path.join(output_dir, REPORT_MARKDOWN), _markdown(report))
    write_json(os.path.join(output_dir, REPORT_JSON), report)
    return report

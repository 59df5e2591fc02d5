"""The evaluation report: report.json, report.md, and per-regime confusion-matrix and ROC figures.

Input: per regime, one result per run, a run being one (partition, test fold, repeat) triple:
``classification_metrics`` of its test fold (``metrics``), the per-example ``y_true``, ``y_prob`` and ``ids``, and
its ``training`` record. A partition is one assignment of the examples to folds (0 unless the experiment
re-partitions); a repeat is one classifier seed on the same folds and validation split.

The unit of the statistics is the (partition, fold): the repeats of one fold share its test images and validation
split, so they are far more correlated than the re-partitioned repeats the corrected resampled t-test was made for,
and counting them as resamples makes p-values too small. Every metric is therefore first averaged over the repeats
of a unit; the J unit means (J = partitions x folds) are then tested with J - 1 degrees of freedom, and the spread
between repeats (pooled within-unit sd) is reported beside them for what it is.

Per regime the report holds every run's metrics, the mean / sample std over units with a corrected 95 % confidence
interval, the metrics of all test predictions pooled, and the training record (optimizer steps, runs whose test
predictions collapsed to one class, runs stopped at the step cap while still improving). Per comparison of two
regimes (treatment vs baseline, paired by run) and per non-redundant metric (macro sensitivity = balanced
accuracy, macro specificity, macro AUC) it holds the mean difference with the corrected resampled t-test of the unit
means and its interval, Holm-adjusted within the metric's table, and a paired bootstrap interval over pooled test
examples resampled within their true class. A design paragraph states what the evaluation can and cannot show.
Every file is written atomically.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

from tfpgan.atomic import atomic_file, write_json, write_text
from tfpgan.metrics.classification import classification_metrics, macro_rates, summarize
from tfpgan.run_folder import REPORT_JSON, REPORT_MARKDOWN
from tfpgan.statistics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    cluster_bootstrap_ci,
    corrected_t_test,
    holm_adjust,
    minimum_detectable_difference,
)

FORMAT_VERSION = 2
# Metric key (as in summarize) -> table header: the non-redundant metrics, the only ones tested. Accuracy and the
# micro averages stay in report.json (see MICRO_NOTE). All but the AUC are shown in percent.
TABLE_COLUMNS = {
    "macro/sensitivity": "Sensitivity macro = balanced accuracy (%)",
    "macro/specificity": "Specificity macro (%)",
    "macro/auc": "AUC macro",
}
UNSCALED_METRICS = ("macro/auc",)
METRIC_NAMES = {"macro/sensitivity": "macro sensitivity (balanced accuracy)",
                "macro/specificity": "macro specificity", "macro/auc": "macro AUC"}
# Metrics recomputed on bootstrap resamples of pooled test examples (from confusion counts).
BOOTSTRAP_METRICS = ("macro/sensitivity", "macro/specificity")
HEADLINE_METRIC = "macro/sensitivity"
POWER = 0.8
# Below this many degrees of freedom the design paragraph warns that almost nothing can be shown.
FEW_DEGREES_OF_FREEDOM = 5
MICRO_NOTE = ("report.json also holds accuracy and the micro averages, which repeat the same information: micro "
              "sensitivity = accuracy and micro specificity = 1 − (1 − accuracy) / (K − 1) for single-label data with "
              "K = {classes} classes.")
_NAMED_REGIME = re.compile(r"^[^\[\]]+\[(?P<name>[^\[\]]+)\]$")


def comparison_pairs(regimes: Iterable[str]) -> list[tuple[str, str]]:
    """(treatment, baseline) pairs of the evaluated regimes, headline first: synthetic vs oversample; per named set
    NAME, synthetic[NAME] vs oversample[NAME] (a synthetic-count level) or, without oversample[NAME] (one of
    several generators), vs oversample, none and classic; synthetic vs none and vs classic; classic+synthetic vs
    classic+oversample and vs classic (named alike); oversample vs none; classic vs none."""
    regimes = list(regimes)
    names = ["", *dict.fromkeys(match["name"] for match in map(_NAMED_REGIME.match, regimes) if match)]

    def variant(regime: str, name: str) -> str:
        return f"{regime}[{name}]" if name else regime

    def baseline(regime: str, name: str) -> str:
        return variant(regime, name) if variant(regime, name) in regimes else regime

    generators = [name for name in names if not name or variant("oversample", name) not in regimes]
    pairs = [(variant("synthetic", n), baseline("oversample", n)) for n in names]
    pairs += [(variant("synthetic", n), other) for other in ("none", "classic") for n in generators]
    pairs += [(variant("classic+synthetic", n), baseline("classic+oversample", n)) for n in names]
    pairs += [(variant("classic+synthetic", n), "classic") for n in generators]
    pairs += [("oversample", "none"), ("classic", "none")]
    return [(treatment, base) for treatment, base in dict.fromkeys(pairs) if treatment in regimes and base in regimes]


def metric_value(metrics: Mapping[str, Any], key: str) -> float | None:
    """The value of a summarize-style key such as ``"macro/auc"`` in nested metrics."""
    value: Any = metrics
    for part in key.split("/"):
        value = value[part]
    return value


def run_seed(result: Mapping[str, Any]) -> int:
    """The repeat index of a run (its ``"seed"`` in result.json); results written before repeats existed have 0."""
    return int(result.get("seed", 0))


def run_partition(result: Mapping[str, Any]) -> int:
    """The partition of a run; results of a single partition (and those written before partitions existed) have 0."""
    return int(result.get("partition", 0))


RunId = tuple[int, int, int]  # (partition, fold, repeat)


def run_id(result: Mapping[str, Any]) -> RunId:
    return run_partition(result), result["fold"], run_seed(result)


def run_key(fold: int, seed: int, partition: int = 0) -> str:
    """The key of a run in ``regimes[...]["folds"]``: ``"K"`` for repeat 0 (as before repeats), else ``"K/seedR"``;
    prefixed by ``"partitionP/"`` for P > 0."""
    key = str(fold) if seed == 0 else f"{fold}/seed{seed}"
    return f"partition{partition}/{key}" if partition else key


def unit_means(values: Mapping[RunId, float]) -> tuple[np.ndarray, float | None]:
    """The mean of every (partition, fold) unit's repeats, in sorted unit order, and the pooled within-unit sample sd
    of the repeats (None when no unit has two)."""
    units: dict[tuple[int, int], list[float]] = {}
    for (partition, fold, _), value in sorted(values.items()):
        units.setdefault((partition, fold), []).append(value)
    groups = [np.asarray(group, np.float64) for group in units.values()]
    dof = sum(len(group) - 1 for group in groups)
    spread = float(np.sqrt(sum(((group - group.mean()) ** 2).sum() for group in groups) / dof)) if dof else None
    return np.array([group.mean() for group in groups]), spread


def figure_names(regime: str) -> dict[str, str]:
    return {"confusion": f"confusion_{regime}.png", "roc": f"roc_{regime}.png"}


def _pooled_predictions(results: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([np.asarray(r["y_true"], np.int64) for r in results]),
            np.concatenate([np.asarray(r["y_prob"], np.float64) for r in results]))


def _train_size(result: Mapping[str, Any]) -> int | None:
    """The distinct real images of the run's training folds (training + validation split): from the recorded ids,
    else from the counts; None when neither is recorded."""
    training = result.get("training", {})
    validation = (len(set(training["validation_ids"])) if "validation_ids" in training
                  else training.get("validation_images", 0))
    if "train_ids" in training:
        return len(set(training["train_ids"])) + validation
    return int(training["real_images"]) + validation if "real_images" in training else None


def held_out_ratio(results: Sequence[Mapping[str, Any]], dataset_folds: int) -> float:
    """Mean test-set size over mean real training size of ``results``; 1 / (K - 1) when sizes are not recorded."""
    train_sizes = [_train_size(r) for r in results]
    if not results or None in train_sizes:
        return 1.0 / max(dataset_folds - 1, 1)
    return float(np.mean([len(r["y_true"]) for r in results]) / np.mean(train_sizes))


def _run_record(result: Mapping[str, Any], class_names: Sequence[str]) -> dict[str, Any]:
    """Fold, seed, sizes, training budget and the two warnings of one run."""
    training = result.get("training", {})
    predicted = np.unique(np.asarray(result["y_prob"]).argmax(axis=1))
    steps, max_steps, per_epoch = (training.get(key) for key in ("steps", "max_steps", "steps_per_epoch"))
    still_improving = None
    if None not in (steps, max_steps, per_epoch, training.get("best_epoch")):
        still_improving = (steps >= max_steps and not training.get("stopped_early", False)
                           and training["best_epoch"] >= -(-steps // per_epoch))
    return {
        "partition": run_partition(result), "fold": result["fold"], "seed": run_seed(result),
        "test_images": len(result["y_true"]),
        "train_images": _train_size(result), "images": training.get("images"),
        "synthetic_images": training.get("synthetic_images"), "steps": steps, "max_steps": max_steps,
        "best_epoch": training.get("best_epoch"), "stopped_early": training.get("stopped_early"),
        "collapsed_to": class_names[predicted[0]] if len(predicted) == 1 and len(result["y_true"]) > 1 else None,
        "still_improving_at_cap": still_improving,
    }


def _estimate(values: Mapping[RunId, float], ratio: float) -> dict[str, Any]:
    """Mean, sample std over units and corrected 95 % interval of one metric of a regime's runs (averaged over the
    repeats of each unit first), and the repeats' within-unit sd."""
    means, repeat_sd = unit_means(values)
    test = corrected_t_test(means, ratio)
    return {"units": test["runs"], "runs": len(values), "repeat_sd": repeat_sd,
            **{key: test[key] for key in ("mean", "std", "ci_low", "ci_high")}}


def regime_report(results: Sequence[Mapping[str, Any]], class_names: Sequence[str],
                  dataset_folds: int) -> dict[str, Any]:
    """Per-run metrics (keyed by run_key) and records, their summary and estimates, and the pooled metrics."""
    ratio = held_out_ratio(results, dataset_folds)
    estimates = {}
    for key in TABLE_COLUMNS:
        values = {run_id(r): metric_value(r["metrics"], key) for r in results}
        values = {run: value for run, value in values.items() if value is not None}
        estimates[key] = _estimate(values, ratio) if values else None
    return {
        "folds": {run_key(r["fold"], run_seed(r), run_partition(r)): r["metrics"] for r in results},
        "runs": [_run_record(r, class_names) for r in results],
        "summary": summarize([r["metrics"] for r in results]),
        "estimates": estimates,
        "test_train_ratio": ratio,
        "pooled": classification_metrics(*_pooled_predictions(results), class_names),
    }


def _by_run(results: Sequence[Mapping[str, Any]]) -> dict[RunId, Mapping[str, Any]]:
    return {run_id(r): r for r in results}


def _predictions_by_example(results: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int, int], tuple[int, int]]:
    """(test id, partition, repeat) -> (true class, predicted class)."""
    return {(example_id, run_partition(r), run_seed(r)): (int(truth), int(np.argmax(probabilities)))
            for r in results for example_id, truth, probabilities in zip(r["ids"], r["y_true"], r["y_prob"])}


def _macro_difference(num_classes: int, metric: str):
    """statistic(sums [B, 2 K K]) -> treatment minus baseline macro ``metric`` of the summed confusion counts."""
    def statistic(sums: np.ndarray) -> np.ndarray:
        confusions = sums.reshape(len(sums), 2, num_classes, num_classes)
        rates = macro_rates(confusions)[metric.split("/")[1]]
        return rates[:, 0] - rates[:, 1]
    return statistic


def paired_bootstrap(treatment: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]],
                     num_classes: int) -> dict[str, Any] | None:
    """Bootstrap intervals of the pooled macro sensitivity / specificity difference: test examples resampled within
    their true class (each with its predictions of every partition and repeat, so no resample drops a class and the
    macro average keeps its meaning), predictions paired across regimes by (id, partition, repeat)."""
    predicted_treatment, predicted_baseline = _predictions_by_example(treatment), _predictions_by_example(baseline)
    pairs = sorted(predicted_treatment.keys() & predicted_baseline.keys())
    if not pairs:
        return None
    example_index = {example_id: n for n, example_id in enumerate(sorted({pair[0] for pair in pairs}))}
    counts = np.zeros((len(example_index), 2, num_classes, num_classes))
    truth = np.zeros(len(example_index), np.int64)
    for pair in pairs:
        row = example_index[pair[0]]
        truth[row] = predicted_baseline[pair][0]
        counts[(row, 0, *predicted_treatment[pair])] += 1
        counts[(row, 1, *predicted_baseline[pair])] += 1
    counts = counts.reshape(len(example_index), -1)
    return {"examples": len(example_index), "predictions": len(pairs), "stratified_by": "true class",
            "metrics": {key: cluster_bootstrap_ci(counts, _macro_difference(num_classes, key), strata=truth)
                        for key in BOOTSTRAP_METRICS}}


def compare(treatment: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]], num_classes: int,
            dataset_folds: int) -> dict[str, Any]:
    """Treatment vs baseline over their common (partition, fold, repeat) runs: per table metric the paired
    differences averaged over the repeats of each (partition, fold), the corrected resampled t-test of those J unit
    means (``runs`` = J, ``paired_runs`` the runs behind them, ``repeat_sd`` the differences' within-unit sd), and
    the paired bootstrap over pooled test examples."""
    treatment_runs, baseline_runs = _by_run(treatment), _by_run(baseline)
    common = sorted(treatment_runs.keys() & baseline_runs.keys())
    ratio = held_out_ratio([baseline_runs[run] for run in common], dataset_folds)
    metrics = {}
    for key in TABLE_COLUMNS:
        pairs = {run: (metric_value(treatment_runs[run]["metrics"], key),
                       metric_value(baseline_runs[run]["metrics"], key)) for run in common}
        pairs = {run: pair for run, pair in pairs.items() if None not in pair}
        if not pairs:
            metrics[key] = None
            continue
        treatment_means, _ = unit_means({run: a for run, (a, _) in pairs.items()})
        baseline_means, _ = unit_means({run: b for run, (_, b) in pairs.items()})
        differences, repeat_sd = unit_means({run: a - b for run, (a, b) in pairs.items()})
        test = corrected_t_test(differences, ratio)
        metrics[key] = {"treatment_mean": float(treatment_means.mean()), "baseline_mean": float(baseline_means.mean()),
                        "mean_difference": test.pop("mean"), **test, "paired_runs": len(pairs),
                        "repeat_sd": repeat_sd}
    return {"runs": [list(run) for run in common], "units": len({run[:2] for run in common}),
            "folds": sorted({fold for _, fold, _ in common}), "test_train_ratio": ratio, "metrics": metrics,
            "bootstrap": paired_bootstrap(treatment, baseline, num_classes)}


def _add_holm(comparisons: Sequence[dict[str, Any]]) -> None:
    """Holm-adjust, per metric, the p-values of all comparisons (``p_holm``; the family is one metric's table; a
    comparison without a p-value counts in the family as p = 1 and keeps ``p_holm`` None)."""
    for key in TABLE_COLUMNS:
        tests = [c["metrics"][key] for c in comparisons if c["metrics"][key] is not None]
        for test, adjusted in zip(tests, holm_adjust([test["p_value"] for test in tests])):
            test["p_holm"] = adjusted


def _flags(regimes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Runs whose predictions collapsed to one class or that stopped at the step cap while still improving."""
    flags = []
    for regime, content in regimes.items():
        for run in content["runs"]:
            where = {"regime": regime, "partition": run["partition"], "fold": run["fold"], "seed": run["seed"]}
            if run["collapsed_to"] is not None:
                flags.append({**where, "problem": "collapsed", "detail": f"every test image predicted as "
                              f"{run['collapsed_to']}"})
            if run["still_improving_at_cap"]:
                flags.append({**where, "problem": "still_improving_at_cap", "detail": f"stopped at the step cap "
                              f"({run['max_steps']} steps) with its best validation loss in the last epoch"})
    return flags


def _budgets(regimes: Mapping[str, Any]) -> list[int]:
    return sorted({run["max_steps"] for content in regimes.values() for run in content["runs"]
                   if run["max_steps"] is not None})


def _headline_power(comparison: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The minimum detectable difference of the headline comparison's headline metric."""
    test = None if comparison is None else comparison["metrics"][HEADLINE_METRIC]
    if test is None or not test["se"]:
        return None
    df = test["df"]
    return {"treatment": comparison["treatment"], "baseline": comparison["baseline"], "metric": HEADLINE_METRIC,
            "alpha": 1.0 - CONFIDENCE, "power": POWER, "df": df, "se": test["se"],
            "t_alpha": float(stats.t.ppf(1.0 - (1.0 - CONFIDENCE) / 2.0, df)), "t_power": float(stats.t.ppf(POWER, df)),
            "minimum_detectable_difference": minimum_detectable_difference(test["se"], df, power=POWER)}


def _design(results: Mapping[str, Sequence[Mapping[str, Any]]], folds: Sequence[int], missing: Sequence[int],
            dataset_folds: int, comparisons: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    everything = [r for regime_results in results.values() for r in regime_results]
    train_sizes = [size for size in map(_train_size, everything) if size is not None]
    return {
        "dataset_folds": dataset_folds, "folds_evaluated": list(folds), "missing_folds": list(missing),
        "partitions": sorted({run_partition(r) for r in everything}),
        "seeds": sorted({run_seed(r) for r in everything}),
        "paired_runs": len(comparisons[0]["runs"]) if comparisons else None,
        "units": comparisons[0]["units"] if comparisons else None,
        "mean_test_images": float(np.mean([len(r["y_true"]) for r in everything])),
        "mean_train_images": float(np.mean(train_sizes)) if train_sizes else None,
        "test_train_ratio": held_out_ratio(everything, dataset_folds),
        "headline": _headline_power(comparisons[0] if comparisons else None),
    }


def build_report(results: Mapping[str, Sequence[Mapping[str, Any]]], class_names: Sequence[str],
                 settings: Mapping[str, Any], missing_folds: Sequence[int | str] = ()) -> dict[str, Any]:
    """The content of report.json (see the module docstring); missing_folds: test folds not finished yet."""
    folds = sorted({r["fold"] for regime_results in results.values() for r in regime_results})
    dataset_folds = int(settings.get("dataset", {}).get("folds") or len(set(folds) | set(missing_folds)))
    regimes = {regime: regime_report(regime_results, class_names, dataset_folds)
               for regime, regime_results in results.items()}
    comparisons = [{"treatment": treatment, "baseline": baseline,
                    **compare(results[treatment], results[baseline], len(class_names), dataset_folds)}
                   for treatment, baseline in comparison_pairs(results)]
    _add_holm(comparisons)
    return {
        "format_version": FORMAT_VERSION,
        "class_names": list(class_names),
        "folds": folds,
        "missing_folds": list(missing_folds),
        "design": _design(results, folds, list(missing_folds), dataset_folds, comparisons),
        "note": _table_note(results, len(class_names)),
        "settings": dict(settings),
        "regimes": regimes,
        "comparisons": comparisons,
        "holm_family": "per metric: the comparisons in that metric's table (no adjustment across metrics)",
        "step_budgets": _budgets(regimes),
        "flags": _flags(regimes),
        "figures": {regime: figure_names(regime) for regime in results},
    }


def _unit_name(partitions: int) -> str:
    return "(partition, fold)" if partitions > 1 else "fold"


def _table_note(results: Mapping[str, Sequence[Mapping[str, Any]]], classes: int) -> str:
    everything = [r for regime_results in results.values() for r in regime_results]
    units = len({run_id(r)[:2] for r in everything})
    partitions, seeds = len({run_partition(r) for r in everything}), len({run_seed(r) for r in everything})
    over = f"{units} {'(partition, fold) units' if partitions > 1 else 'folds'}"
    if seeds > 1:
        over += (f", each the mean of its {seeds} classifier seeds (the seeds share the fold's test and validation "
                 "images, so they are averaged, not counted as resamples; 'seed sd' = their pooled sd within a "
                 f"{_unit_name(partitions)})")
    return (f"Macro = mean over classes of the one-vs-rest values; macro sensitivity is the balanced accuracy. "
            f"± = sample std over {over}; [ ] = 95 % CI of the mean (corrected resampled t, as in the comparisons; "
            "not clipped to the metric's range). "
            + MICRO_NOTE.format(classes=classes))


def _scale(key: str) -> tuple[float, int]:
    """(factor, decimals) with which metric ``key`` is shown."""
    return (1.0, 3) if key in UNSCALED_METRICS else (100.0, 1)


def format_value(key: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    factor, decimals = _scale(key)
    return f"{factor * value:{'+' if signed else ''}.{decimals}f}"


def format_interval(key: str, low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None:
        return "n/a"
    return f"[{format_value(key, low, signed)}, {format_value(key, high, signed)}]"


def format_estimate(key: str, estimate: Mapping[str, Any] | None) -> str:
    """``"76.8 ± 2.1 [72.0, 81.6]"`` from a regime estimate (no ± with one run, no interval where undefined)."""
    if estimate is None:
        return "n/a"
    text = format_value(key, estimate["mean"])
    if estimate["std"] is not None:
        text += f" ± {format_value(key, estimate['std'])}"
    if estimate["ci_low"] is not None:
        text += f" {format_interval(key, estimate['ci_low'], estimate['ci_high'])}"
    if estimate.get("repeat_sd") is not None:
        text += f" (seed sd {format_value(key, estimate['repeat_sd'])})"
    return text


def format_table(report: Mapping[str, Any]) -> str:
    """The results table (markdown): regime x metric, mean ± std over runs [95 % CI], and the note."""
    lines = ["| Regime | Runs | " + " | ".join(TABLE_COLUMNS.values()) + " |",
             "|---" * (len(TABLE_COLUMNS) + 2) + "|"]
    for regime, content in report["regimes"].items():
        cells = [format_estimate(key, content["estimates"][key]) for key in TABLE_COLUMNS]
        lines.append(f"| {regime} | {len(content['runs'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + report["note"] + "\n"


def _format_p(p_value: float | None) -> str:
    return "n/a" if p_value is None else f"{p_value:.3g}"


def _unit(key: str) -> str:
    return "AUC units" if key in UNSCALED_METRICS else "percentage points"


def _comparison_table(report: Mapping[str, Any], key: str) -> list[str]:
    lines = [f"### {TABLE_COLUMNS[key]}", "",
             f"| Treatment vs baseline | J | Difference | {CONFIDENCE:.0%} CI (corrected t) | t | p | p (Holm) | "
             f"{CONFIDENCE:.0%} CI (bootstrap, pooled) |", "|---" * 8 + "|"]
    for comparison in report["comparisons"]:
        test = comparison["metrics"][key]
        name = f"{comparison['treatment']} vs {comparison['baseline']}"
        if test is None:
            lines.append(f"| {name} | 0 | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        bootstrap = (comparison["bootstrap"] or {}).get("metrics", {}).get(key)
        pooled = "n/a" if bootstrap is None else (
            f"{format_value(key, bootstrap['estimate'], True)} "
            f"{format_interval(key, bootstrap['ci_low'], bootstrap['ci_high'], True)}")
        t = "n/a" if test["t"] is None else f"{test['t']:.2f}"
        lines.append(f"| {name} | {test['runs']} | {format_value(key, test['mean_difference'], True)} | "
                     f"{format_interval(key, test['ci_low'], test['ci_high'], True)} | {t} | "
                     f"{_format_p(test['p_value'])} | {_format_p(test.get('p_holm'))} | {pooled} |")
    return lines + [""]


def _comparisons_markdown(report: Mapping[str, Any]) -> list[str]:
    if not report["comparisons"]:
        return ["No pair of compared regimes was evaluated (synthetic vs oversample, synthetic vs none or classic, "
                "classic+synthetic vs classic+oversample or classic, oversample vs none, classic vs none).", ""]
    lines = []
    for key in TABLE_COLUMNS:
        lines += _comparison_table(report, key)
    return lines + [
        "Difference: mean of treatment − baseline over the J paired units (a unit is a test fold of one partition; "
        "the paired runs of its classifier seeds are averaged first), in percentage points (AUC: in AUC units). "
        "Corrected t: the corrected resampled t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004) of the J unit "
        "differences, variance × (1/J + n_test/n_train), J − 1 degrees of freedom, two-sided. p (Holm): Holm's "
        "adjustment within one metric's table (the family is the comparisons of that table, including those whose "
        "differences are constant — no p, counted as p = 1 and shown as n/a; there is no adjustment across the "
        "three metrics). Bootstrap: the difference of the metric on all test predictions pooled over partitions, "
        f"folds and seeds, with the percentile interval of {BOOTSTRAP_RESAMPLES} resamples (seed {BOOTSTRAP_SEED}) "
        "of test examples drawn within their true class (so every resample keeps each class's count and the macro "
        "average its meaning), each with its predictions of every partition and seed, paired across regimes by "
        "(id, partition, seed). It holds the "
        "trained classifiers fixed, so it shows test-set sampling noise only and is narrower than the corrected-t "
        "interval, which also covers the variation between trainings; it is not computed for the AUC. McNemar's "
        "test is not reported: the bootstrap covers the per-example pairing, and McNemar's test assumes independent "
        "examples, which repeated seeds break.", ""]


def _design_markdown(report: Mapping[str, Any]) -> str:
    design = report["design"]
    k, evaluated, missing, seeds = (design["dataset_folds"], design["folds_evaluated"], design["missing_folds"],
                                    len(design["seeds"]))
    partitions = len(design.get("partitions", [0]))
    text = "**Design.** " + (f"{partitions} × {k}-fold cross-validation (each of the {partitions} partitions "
                             "assigns the images to folds anew, stratified and patient-grouped, with its own "
                             "generators)" if partitions > 1 else f"{k}-fold cross-validation")
    if len(evaluated) < k:
        text += (f" of which only test fold(s) {', '.join(map(str, evaluated))} were evaluated"
                 + (f" (missing: {', '.join(map(str, missing))})" if missing else ""))
    text += f", with {seeds} classifier seed(s) per fold"
    units, runs = design.get("units"), design["paired_runs"]
    unit = _unit_name(partitions)
    if units is not None:
        text += f": every comparison pairs the two regimes' runs by ({'partition, ' if partitions > 1 else ''}"
        text += "fold, seed)"
        if seeds > 1:
            text += (f" and averages each {unit}'s {seeds} seeds first (the seeds share the fold's test images and "
                     "validation split, so they are not resamples of the data: counted as such they would make the "
                     "p-values too small)")
        text += f", J = {units} paired {unit} results ({units - 1} degrees of freedom"
        text += f"; from {runs} paired runs)" if runs != units else ")"
    text += f". On average a run was tested on {design['mean_test_images']:.0f} images"
    if design["mean_train_images"] is not None:
        text += (f" and trained on {design['mean_train_images']:.0f} real images (training + validation split: the "
                 "validation images are carved from the training folds and count as training here; synthetic or "
                 "oversampled images come on top)")
    text += (f" (n_test/n_train = {design['test_train_ratio']:.2f}). The training sets of different "
             f"{'folds and partitions' if partitions > 1 else 'folds'} overlap, so the results are correlated; the "
             "corrected resampled t-test accounts for this by widening the variance of the mean from var/J to "
             "var × (1/J + n_test/n_train)" + (" (Bouckaert & Frank's repeated k-fold form: its premise, a fresh "
                                               "partition per repeat, is what this design provides)."
                                               if partitions > 1 else "."))
    headline = design["headline"]
    if headline is not None:
        text += (f" At α = {headline['alpha']:.2f} and power {headline['power']:.1f}, the headline comparison "
                 f"({headline['treatment']} vs {headline['baseline']}, {METRIC_NAMES[headline['metric']]}) could "
                 f"detect a true difference of about {100 * headline['minimum_detectable_difference']:.1f} "
                 f"percentage points given the spread observed ((t_0.975 + t_0.8) × corrected SE = "
                 f"({headline['t_alpha']:.2f} + {headline['t_power']:.2f}) × {100 * headline['se']:.2f} pp); "
                 "smaller true differences are likely to go undetected.")
    elif report["comparisons"]:
        text += (" The headline comparison's differences are constant or too few, so the smallest detectable "
                 "difference cannot be estimated.")
    if units is not None and units - 1 < FEW_DEGREES_OF_FREEDOM:
        text += (f" With J = {units} the t quantile is {stats.t.ppf(0.975, max(units - 1, 1)):.2f}: only very "
                 "large, consistent differences can reach significance, and almost nothing can be shown"
                 + (" (more classifier seeds do not change J; re-partitioned repeats, --partitions, do)."
                    if partitions == 1 else "."))
    return text + (" A p-value above 0.05 is no evidence that two regimes are equal. The results come from one "
                   "dataset, one classifier architecture and one generator per fold; they do not carry over to "
                   "other data and are not a clinical claim.")


def _budget_sentence(budgets: Sequence[int]) -> str:
    if not budgets:
        return "The runs do not record their step budget."
    if len(budgets) == 1:
        return f"Every run had the same budget of {budgets[0]} optimizer steps (equal budgets)."
    return f"**Unequal budgets:** the runs had step caps {', '.join(map(str, budgets))}."


def _training_markdown(report: Mapping[str, Any]) -> list[str]:
    lines = ["| Regime | Runs | Optimizer steps run (min–max) | Step cap | Stopped early | Training images (mean) | "
             "Synthetic images (mean) |", "|---" * 7 + "|"]
    for regime, content in report["regimes"].items():
        runs = content["runs"]
        steps, caps, early, images, synthetic = (
            [run[field] for run in runs if run[field] is not None]
            for field in ("steps", "max_steps", "stopped_early", "images", "synthetic_images"))
        lines.append(f"| {regime} | {len(runs)} | " + " | ".join([
            f"{min(steps)}–{max(steps)}" if steps else "n/a",
            ", ".join(map(str, sorted(set(caps)))) or "n/a",
            f"{sum(early)} of {len(early)}" if early else "n/a",
            f"{np.mean(images):.0f}" if images else "n/a",
            f"{np.mean(synthetic):.0f}" if synthetic else "n/a"]) + " |")
    lines += ["", _budget_sentence(report["step_budgets"]), ""]
    if not report["flags"]:
        return lines + ["No run predicted one class for every test image or stopped at the step cap with its "
                        "validation loss still falling.", ""]
    lines += ["**Flagged runs:**", ""]
    lines += [f"- {flag['regime']} {_where(flag)}: {flag['detail']}" for flag in report["flags"]]
    return lines + ["", "A collapsed run learned nothing usable; a run still improving at the cap may need more "
                    "steps. Both make the comparisons involving their regime less meaningful.", ""]


def _where(run: Mapping[str, Any]) -> str:
    """'fold K seed R', prefixed by 'partition P' for P > 0."""
    partition = run.get("partition", 0)
    return f"{f'partition {partition} ' if partition else ''}fold {run['fold']} seed {run['seed']}"


def _missing_markdown(report: Mapping[str, Any]) -> list[str]:
    missing = report["missing_folds"]
    if not missing:
        return []
    return [f"**Incomplete:** test fold(s) {', '.join(map(str, missing))} have not finished yet and are left out; "
            "write the report again once they have.", ""]


def _markdown(report: Mapping[str, Any]) -> str:
    lines = ["# Classifier evaluation", "",
             f"Test folds {', '.join(map(str, report['folds']))}; classes: {', '.join(report['class_names'])}.", "",
             _design_markdown(report), "", *_missing_markdown(report), "## Results", "", format_table(report),
             "## Comparisons", "", *_comparisons_markdown(report), "## Training record", "",
             *_training_markdown(report), "## Figures (pooled over runs)", ""]
    for regime, names in report["figures"].items():
        lines += [f"### {regime}", "", f"![Confusion matrix, {regime}]({names['confusion']}) "
                  f"![ROC curves, {regime}]({names['roc']})", ""]
    lines += ["## Settings", "", "```json", json.dumps(report["settings"], indent=2), "```", ""]
    return "\n".join(lines)


def save_figure(figure: Figure, path: str) -> None:
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
    save_figure(figure, path)


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
    save_figure(figure, path)


def write_report(output_dir: str, results: Mapping[str, Sequence[Mapping[str, Any]]], class_names: Sequence[str],
                 settings: Mapping[str, Any], missing_folds: Sequence[int | str] = ()) -> dict[str, Any]:
    """Write the figures, report.md and report.json into ``output_dir``; return the report."""
    report = build_report(results, class_names, settings, missing_folds)
    for regime, regime_results in results.items():
        pooled = report["regimes"][regime]["pooled"]
        title = f"{regime}: {len(regime_results)} runs pooled, n = {pooled['n']}"
        names = report["figures"][regime]
        save_confusion_figure(os.path.join(output_dir, names["confusion"]), pooled["confusion_matrix"],
                              class_names, title)
        save_roc_figure(os.path.join(output_dir, names["roc"]), *_pooled_predictions(regime_results), class_names,
                        title)
    write_text(os.path.join(output_dir, REPORT_MARKDOWN), _markdown(report))
    write_json(os.path.join(output_dir, REPORT_JSON), report)
    return report

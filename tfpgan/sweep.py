"""The synthetic-count sweep: macro sensitivity and specificity against the number of synthetic images per class.

Input: an evaluation report (the content of report.json) holding, per level n of the sweep, a synthetic regime
(e.g. ``synthetic[n250]``: the real training images plus n synthetic images per class) and the oversample regime
with the same class counts (``oversample[n250]``); level 0 is the regime ``none`` for both. Per level and regime the
figure and the table show the mean over runs with its 95 % confidence interval (corrected resampled t, the
report's ``estimates``); the table adds the paired synthetic − oversample difference where the report compared
the two regimes. Output: ``sweep.png`` and ``sweep.md``, each written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tfpgan.atomic import write_text
from tfpgan.errors import TfpganError
from tfpgan.report import METRIC_NAMES, format_interval, format_value, save_figure
from tfpgan.run_folder import SWEEP_MARKDOWN, SWEEP_PNG

SWEEP_METRICS = ("macro/sensitivity", "macro/specificity")
# (label, index in a point, colour, marker) of the two lines.
LINES = (("synthetic", 1, "tab:red", "o"), ("oversample", 2, "tab:blue", "s"))
CI_NAME = "95 % CI of the mean (corrected resampled t)"


def _check_points(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]]) -> None:
    if not points:
        raise TfpganError("the sweep has no levels")
    levels = [level for level, _, _ in points]
    if len(set(levels)) != len(levels) or min(levels) < 0:
        raise TfpganError(f"sweep levels must be distinct counts >= 0, got {levels}")
    for level, *regimes in points:
        for regime in regimes:
            if regime not in report["regimes"]:
                raise TfpganError(f"sweep level {level}: regime {regime} is not in the evaluation report "
                                  f"(evaluated: {', '.join(report['regimes'])})")


def _estimate(report: Mapping[str, Any], regime: str, metric: str) -> Mapping[str, Any] | None:
    return report["regimes"][regime]["estimates"][metric]


def _series(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]], index: int,
            metric: str) -> np.ndarray:
    """[levels, 3]: mean, CI low, CI high in percent (NaN where undefined)."""
    rows = []
    for point in points:
        estimate = _estimate(report, point[index], metric) or {}
        rows.append([np.nan if estimate.get(key) is None else 100.0 * estimate[key]
                     for key in ("mean", "ci_low", "ci_high")])
    return np.array(rows)


def _runs_per_point(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]]) -> list[int]:
    return sorted({len(report["regimes"][regime]["runs"]) for _, *regimes in points for regime in regimes})


def save_sweep_figure(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]], path: str) -> None:
    """Two panels (macro sensitivity, macro specificity) against synthetic images per class, one line per
    regime kind with its confidence band."""
    levels = np.array([level for level, _, _ in points])
    figure = Figure(figsize=(11, 4.6))
    for axes, metric in zip(figure.subplots(1, 2), SWEEP_METRICS):
        for label, index, colour, marker in LINES:
            series = _series(report, points, index, metric)
            axes.plot(levels, series[:, 0], color=colour, marker=marker, label=label)
            axes.fill_between(levels, series[:, 1], series[:, 2], color=colour, alpha=0.18)
        axes.set(title=METRIC_NAMES[metric].capitalize(), xlabel="Synthetic images per class (0 = real images only)",
                 ylabel=f"{METRIC_NAMES[metric].split(' (')[0].capitalize()} (%)", xticks=levels)
        axes.set_ylim(max(0.0, axes.get_ylim()[0]), min(100.0, axes.get_ylim()[1]))
        axes.grid(alpha=0.3)
    runs = "/".join(map(str, _runs_per_point(report, points)))
    figure.suptitle(f"Synthetic images vs oversampled real images to the same class counts ({runs} runs per point)")
    figure.legend(*axes.get_legend_handles_labels(), loc="lower center", ncol=len(LINES), frameon=False,
                  title=f"Line: mean over runs; band: {CI_NAME}")
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    save_figure(figure, path)


def _cell(metric: str, estimate: Mapping[str, Any] | None) -> str:
    if estimate is None:
        return "n/a"
    interval = format_interval(metric, estimate["ci_low"], estimate["ci_high"])
    return f"{format_value(metric, estimate['mean'])} {interval}"


def _difference_cell(report: Mapping[str, Any], treatment: str, baseline: str, metric: str) -> str:
    if treatment == baseline:
        return "—"
    test = next((c["metrics"][metric] for c in report["comparisons"]
                 if (c["treatment"], c["baseline"]) == (treatment, baseline)), None)
    if test is None:
        return "not compared"
    p_holm = "n/a" if test.get("p_holm") is None else f"{test['p_holm']:.3g}"
    return (f"{format_value(metric, test['mean_difference'], True)} "
            f"{format_interval(metric, test['ci_low'], test['ci_high'], True)}, p (Holm) = {p_holm}")


def sweep_markdown(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]]) -> str:
    """The sweep's markdown table, one row per level, and what the numbers are (no heading and no image link, so
    that it can be embedded in another report next to the figure)."""
    header = ["Synthetic images per class", "Regimes"]
    for metric in SWEEP_METRICS:
        name = METRIC_NAMES[metric].split(" (")[0]
        header += [f"{name}: synthetic (%)", f"{name}: oversample (%)", f"{name}: synthetic − oversample (pp)"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for level, synthetic, oversample in points:
        cells = [str(level), synthetic if synthetic == oversample else f"{synthetic} / {oversample}"]
        for metric in SWEEP_METRICS:
            cells += [_cell(metric, _estimate(report, synthetic, metric)),
                      _cell(metric, _estimate(report, oversample, metric)),
                      _difference_cell(report, synthetic, oversample, metric)]
        lines.append("| " + " | ".join(cells) + " |")
    runs = "/".join(map(str, _runs_per_point(report, points)))
    lines += ["", f"Per regime: mean over its {runs} runs (folds × seeds; the seeds of a fold averaged first) "
              f"[{CI_NAME}, as in the evaluation "
              "report]. The oversample regime of a level resamples the real training images to the class counts "
              "the synthetic regime reaches; level 0 trains on the real images only (regime none) for both lines. "
              "Difference: mean of the paired differences, averaged over each fold's seeds [95 % corrected-t CI "
              "over the fold means], with the p-value Holm-adjusted over the report's table of that metric.", ""]
    return "\n".join(lines)


def write_sweep(report: Mapping[str, Any], points: Sequence[tuple[int, str, str]], output_dir: str) -> str:
    """Write ``output_dir/sweep.png`` and ``output_dir/sweep.md``; return the markdown.

    points: (synthetic images per class, synthetic regime, oversample regime) per level, e.g.
    ``(0, "none", "none"), (250, "synthetic[n250]", "oversample[n250]")``; they are shown in increasing order.
    Raises TfpganError when a regime is not in the report or levels repeat.
    """
    _check_points(report, points)
    points = sorted(points)
    os.makedirs(output_dir, exist_ok=True)
    save_sweep_figure(report, points, os.path.join(output_dir, SWEEP_PNG))
    markdown = sweep_markdown(report, points)
    write_text(os.path.join(output_dir, SWEEP_MARKDOWN), markdown)
    return markdown

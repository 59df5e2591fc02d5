"""Tests for tfpgan.sweep: the sweep table's numbers, the figure, atomic files and refusals."""

import math
import os

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from tfpgan import report, run_folder, sweep
from tfpgan.errors import TfpganError
from tfpgan.metrics.classification import classification_metrics

CLASSES = ("a", "b", "c")
FOLDS, SEEDS, PER_FOLD, TRAIN = (0, 1), (0, 1), 15, 30  # n_test / n_train = 0.5
QUALITY = {"none": 0.3, "synthetic[n100]": 0.5, "oversample[n100]": 0.35, "synthetic[n400]": 0.8,
           "oversample[n400]": 0.4}
POINTS = [(400, "synthetic[n400]", "oversample[n400]"), (0, "none", "none"), (100, "synthetic[n100]",
                                                                            "oversample[n100]")]


def _run(regime, fold, seed):
    rng = np.random.default_rng([int(100 * QUALITY[regime]), fold, seed])
    y_true = np.random.default_rng(fold).integers(0, len(CLASSES), PER_FOLD)
    y_prob = rng.dirichlet(np.ones(len(CLASSES)), PER_FOLD)
    right = rng.random(PER_FOLD) < QUALITY[regime]
    y_prob[right, y_true[right]] += 2.0
    return {"regime": regime, "fold": fold, "seed": seed, "metrics": classification_metrics(y_true, y_prob, CLASSES),
            "y_true": y_true.tolist(), "y_prob": y_prob.tolist(), "ids": [f"{fold}-{i}" for i in range(PER_FOLD)],
            "training": {"real_images": TRAIN, "validation_images": 0}}


@pytest.fixture(scope="module")
def results():
    return {regime: [_run(regime, fold, seed) for fold in FOLDS for seed in SEEDS] for regime in QUALITY}


@pytest.fixture(scope="module")
def written(results, tmp_path_factory):
    content = report.build_report(results, CLASSES, {"dataset": {"folds": 2}})
    output = str(tmp_path_factory.mktemp("sweep"))
    return output, sweep.write_sweep(content, POINTS, output)


def _macro(results, regime, metric):
    """Per fold, the mean over its seeds (the report's unit of analysis)."""
    values = {(r["fold"], r["seed"]): r["metrics"]["macro"][metric] for r in results[regime]}
    return np.array([np.mean([values[(fold, seed)] for seed in SEEDS]) for fold in FOLDS])


def _mean_and_interval(values):
    """Mean and 95 % corrected-t interval, in percent, written out here."""
    half = stats.t.ppf(0.975, len(values) - 1) * math.sqrt((1 / len(values) + PER_FOLD / TRAIN) * values.var(ddof=1))
    return f"{100 * values.mean():.1f} [{100 * (values.mean() - half):.1f}, {100 * (values.mean() + half):.1f}]"


def _rows(markdown):
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in markdown.splitlines()
            if line.startswith("| ") and not line.startswith("| Synthetic")]


def test_table_holds_each_regimes_mean_and_corrected_interval(results, written):
    _, markdown = written
    rows = _rows(markdown)
    assert [row[0] for row in rows] == ["0", "100", "400"]  # increasing levels
    for row, (level, synthetic, oversample) in zip(rows, sorted(POINTS)):
        assert row[1] == (synthetic if level == 0 else f"{synthetic} / {oversample}")
        for offset, metric in ((2, "sensitivity"), (5, "specificity")):
            assert row[offset] == _mean_and_interval(_macro(results, synthetic, metric))
            assert row[offset + 1] == _mean_and_interval(_macro(results, oversample, metric))


def test_table_difference_is_the_paired_mean_difference(results, written):
    _, markdown = written
    rows = {row[0]: row for row in _rows(markdown)}
    assert rows["0"][4] == rows["0"][7] == "—"
    for level in ("100", "400"):
        difference = (_macro(results, f"synthetic[n{level}]", "sensitivity")
                      - _macro(results, f"oversample[n{level}]", "sensitivity"))
        half = stats.t.ppf(0.975, 1) * math.sqrt((1 / 2 + 0.5) * difference.var(ddof=1))
        mean = difference.mean()
        assert rows[level][4].startswith(f"{100 * mean:+.1f} [{100 * (mean - half):+.1f}, {100 * (mean + half):+.1f}], "
                                         "p (Holm) = ")


def test_files_are_written_and_the_figure_shows_two_curves_per_panel(written):
    output, markdown = written
    with open(os.path.join(output, run_folder.SWEEP_MARKDOWN), encoding="utf-8") as handle:
        assert handle.read() == markdown
    assert markdown.startswith("| Synthetic images per class |") and "corrected resampled t" in markdown
    with Image.open(os.path.join(output, run_folder.SWEEP_PNG)) as image:
        assert image.format == "PNG" and image.size[0] > 800 and image.size[1] > 300
        pixels = np.asarray(image.convert("RGB")).astype(int)
    half = pixels.shape[1] // 2
    for colour in ((214, 39, 40), (31, 119, 180)):  # the synthetic and oversample lines
        near = np.abs(pixels - colour).sum(axis=2) < 40
        for panel in (near[:, :half], near[:, half:]):
            columns = np.flatnonzero(panel.any(axis=0))
            assert columns.size > 0 and columns.max() - columns.min() > half // 2  # a line across the panel
    assert not [name for name in os.listdir(output) if name.startswith(".")]  # no temporary file left


def test_refuses_unknown_regimes_and_repeated_levels(results, tmp_path):
    content = report.build_report({regime: results[regime] for regime in ("none", "synthetic[n100]")}, CLASSES, {})
    with pytest.raises(TfpganError, match=r"level 100: regime oversample\[n100\] is not in the evaluation report"):
        sweep.write_sweep(content, [(0, "none", "none"), (100, "synthetic[n100]", "oversample[n100]")], str(tmp_path))
    with pytest.raises(TfpganError, match="distinct"):
        sweep.write_sweep(content, [(0, "none", "none"), (0, "synthetic[n100]", "none")], str(tmp_path))
    assert not os.listdir(tmp_path)

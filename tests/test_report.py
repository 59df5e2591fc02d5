"""Tests for tfpgan.report: report.json/report.md numbers, comparisons and figures from per-fold results."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfpgan import report, run_folder
from tfpgan.metrics.classification import classification_metrics

CLASSES = ("cyst", "metastasis", "hemangioma")
FOLDS = (0, 1, 2)
PER_FOLD = 12


def _fold_result(regime, fold, seed, shuffle=False):
    """A result.json-like dict with random (but reproducible) predictions on fold `fold`'s examples."""
    rng = np.random.default_rng(seed)
    ids = [f"lesion{fold}-{i:02d}" for i in range(PER_FOLD)]
    y_true = np.random.default_rng(fold).integers(0, len(CLASSES), PER_FOLD)  # same truth in every regime
    y_prob = rng.dirichlet(np.ones(len(CLASSES)), PER_FOLD)
    right = rng.random(PER_FOLD) < 0.6  # about 60% confidently right, the rest at random
    y_prob[right, y_true[right]] += 2.0
    y_prob /= y_prob.sum(axis=1, keepdims=True)
    order = rng.permutation(PER_FOLD) if shuffle else np.arange(PER_FOLD)
    ids, y_true, y_prob = [ids[i] for i in order], y_true[order], y_prob[order]
    return {"regime": regime, "fold": fold, "metrics": classification_metrics(y_true, y_prob, CLASSES),
            "y_true": y_true.tolist(), "y_prob": y_prob.tolist(), "ids": ids}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Three regimes over three folds; the classic regime lists its test examples in another order."""
    results = {regime: [_fold_result(regime, fold, seed=10 * r + fold, shuffle=regime == "classic") for fold in FOLDS]
               for r, regime in enumerate(("none", "classic", "synthetic"))}
    output = str(tmp_path_factory.mktemp("report"))
    written_report = report.write_report(output, results, CLASSES, {"classifier": "cnn"})
    return output, results, written_report


def _load(output):
    with open(os.path.join(output, run_folder.REPORT_JSON), encoding="utf-8") as handle:
        return json.load(handle)


def test_report_json_is_the_returned_report(written):
    output, _, returned = written
    assert _load(output) == json.loads(json.dumps(returned))


def test_per_fold_and_pooled_numbers_agree_with_the_confusion_matrices(written):
    output, results, _ = written
    content = _load(output)
    assert content["folds"] == list(FOLDS) and content["class_names"] == list(CLASSES)
    for regime, regime_results in results.items():
        section = content["regimes"][regime]
        matrices = []
        for fold in FOLDS:
            metrics = section["folds"][str(fold)]
            matrix = np.array(metrics["confusion_matrix"])
            matrices.append(matrix)
            assert matrix.sum() == PER_FOLD
            assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
            assert metrics["micro"]["sensitivity"] == pytest.approx(metrics["accuracy"])
            for k, name in enumerate(CLASSES):
                if matrix[k].sum():
                    assert metrics["per_class"][name]["sensitivity"] == pytest.approx(matrix[k, k] / matrix[k].sum())
                negatives = np.delete(np.delete(matrix, k, axis=0), k, axis=1).sum()
                assert metrics["per_class"][name]["specificity"] == pytest.approx(
                    negatives / (matrix.sum() - matrix[k].sum()))
        pooled = np.array(section["pooled"]["confusion_matrix"])
        np.testing.assert_array_equal(pooled, np.sum(matrices, axis=0))
        assert section["pooled"]["accuracy"] == pytest.approx(np.trace(pooled) / pooled.sum())
        accuracies = [np.trace(m) / m.sum() for m in matrices]
        summary = section["summary"]["metrics"]["accuracy"]
        assert summary["mean"] == pytest.approx(np.mean(accuracies))
        assert summary["std"] == pytest.approx(np.std(accuracies, ddof=1))
        assert summary["folds"] == len(FOLDS)


def test_markdown_table_shows_the_measured_means_and_sample_stds(written):
    output, _, _ = written
    content = _load(output)
    with open(os.path.join(output, run_folder.REPORT_MARKDOWN), encoding="utf-8") as handle:
        markdown = handle.read()
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| ")}
    for regime in ("none", "classic", "synthetic"):
        summary = content["regimes"][regime]["summary"]["metrics"]
        accuracy, specificity, auc = summary["accuracy"], summary["macro/specificity"], summary["macro/auc"]
        cells = [cell.strip() for cell in rows[regime].split("|")[2:-1]]
        assert cells[0] == f"{100 * accuracy['mean']:.1f} ± {100 * accuracy['std']:.1f}"
        assert cells[1] == cells[0]  # micro sensitivity = accuracy
        assert cells[4] == f"{100 * specificity['mean']:.1f} ± {100 * specificity['std']:.1f}"
        assert cells[5] == f"{auc['mean']:.3f} ± {auc['std']:.3f}"
    assert ("micro = pooled one-vs-rest counts (micro sensitivity = accuracy); macro = mean over classes; "
            "± = sample std over 3 folds") in markdown
    assert report.format_table(content) in markdown


def test_comparisons_pair_folds_and_match_examples_by_id(written):
    output, results, _ = written
    content = _load(output)
    assert [(c["treatment"], c["baseline"]) for c in content["comparisons"]] == [("synthetic", "none"),
                                                                                 ("classic", "none")]
    for comparison in content["comparisons"]:
        treatment, baseline = results[comparison["treatment"]], results[comparison["baseline"]]
        a = np.array([r["metrics"]["macro"]["sensitivity"] for r in treatment])
        b = np.array([r["metrics"]["macro"]["sensitivity"] for r in baseline])
        test = comparison["metrics"]["macro/sensitivity"]
        assert test["mean_difference"] == pytest.approx(a.mean() - b.mean())
        assert test["treatment_mean"] == pytest.approx(a.mean()) and test["folds"] == len(FOLDS)

        def correct(regime_results):
            return {i: int(np.argmax(p)) == t for r in regime_results for i, t, p in
                    zip(r["ids"], r["y_true"], r["y_prob"])}

        right_a, right_b = correct(treatment), correct(baseline)
        assert comparison["mcnemar"]["n"] == len(FOLDS) * PER_FOLD
        assert comparison["mcnemar"]["b"] == sum(right_a[i] and not right_b[i] for i in right_a)
        assert comparison["mcnemar"]["c"] == sum(right_b[i] and not right_a[i] for i in right_a)


def _predictions(regime, ids, y_true, predicted):
    """A one-fold result that predicts `predicted` (probability 0.8) for the examples `ids`."""
    y_prob = np.full((len(ids), len(CLASSES)), 0.1)
    y_prob[np.arange(len(ids)), predicted] = 0.8
    return {"regime": regime, "fold": 0, "metrics": classification_metrics(np.array(y_true), y_prob, CLASSES),
            "y_true": list(y_true), "y_prob": y_prob.tolist(), "ids": list(ids)}


def test_mcnemar_counts_discordant_examples_matched_by_id():
    # baseline right on a and b; treatment right on a, c and d, and lists its examples in reverse order
    baseline = _predictions("none", ["a", "b", "c", "d"], [0, 1, 2, 0], [0, 1, 0, 1])
    treatment = _predictions("classic", ["d", "c", "b", "a"], [0, 2, 1, 0], [0, 2, 2, 0])

    mcnemar = report.compare([treatment], [baseline])["mcnemar"]

    # b: right only with the treatment (c, d); c: right only with the baseline (b). Matching by position
    # instead would count b = 1, c = 0.
    assert (mcnemar["n"], mcnemar["b"], mcnemar["c"]) == (4, 2, 1)


def test_figures_are_pngs_linked_from_the_markdown(written):
    output, _, _ = written
    with open(os.path.join(output, run_folder.REPORT_MARKDOWN), encoding="utf-8") as handle:
        markdown = handle.read()
    for regime in ("none", "classic", "synthetic"):
        for name in (f"confusion_{regime}.png", f"roc_{regime}.png"):
            with Image.open(os.path.join(output, name)) as image:
                assert image.format == "PNG" and min(image.size) > 100
            assert f"({name})" in markdown
    assert not [name for name in os.listdir(output) if name.endswith(".tmp")]


def test_no_comparison_without_both_regimes(tmp_path):
    results = {"classic+synthetic": [_fold_result("classic+synthetic", 0, seed=1)]}
    content = report.write_report(str(tmp_path), results, CLASSES, {})
    assert content["comparisons"] == []
    accuracy = content["regimes"]["classic+synthetic"]["summary"]["metrics"]["accuracy"]
    assert accuracy["std"] is None
    assert f"| classic+synthetic | {100 * accuracy['mean']:.1f} |" in report.format_table(content)

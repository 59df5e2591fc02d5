"""Tests for tfpgan.report: report.json/report.md numbers, corrected comparisons, bootstrap, flags and figures."""

import json
import math
import os

import numpy as np
import pytest
from PIL import Image
from scipy import stats
from sklearn.metrics import balanced_accuracy_score

from tfpgan import report, run_folder
from tfpgan.metrics.classification import classification_metrics
from tfpgan.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

CLASSES = ("cyst", "metastasis", "hemangioma")
FOLDS = (0, 1, 2)
SEEDS = (0, 1)
PER_FOLD = 12
REAL_TRAIN, VALIDATION = 20, 4  # n_test / n_train = 12 / 24
RATIO = PER_FOLD / (REAL_TRAIN + VALIDATION)
REGIMES = ("none", "classic", "oversample", "synthetic")
COLLAPSED = ("classic", 2, 1)  # (regime, fold, seed) predicting one class for every test image
AT_CAP = ("oversample", 1, 0)  # stops at the step cap with its best epoch the last one


def _training(regime, fold, seed):
    at_cap = (regime, fold, seed) == AT_CAP
    added = 30 if regime in ("synthetic", "oversample") else 0
    train_ids = [f"train{fold}-{i % REAL_TRAIN}" for i in range(REAL_TRAIN + (added if regime == "oversample" else 0))]
    return {"steps": 600 if at_cap else 300, "max_steps": 600, "steps_per_epoch": 10,
            "best_epoch": 60 if at_cap else 20, "best_step": 600 if at_cap else 200, "stopped_early": not at_cap,
            "images": REAL_TRAIN + added, "real_images": REAL_TRAIN,
            "synthetic_images": added if regime == "synthetic" else 0,
            "validation_ids": [f"validation{fold}-{i}" for i in range(VALIDATION)],
            "train_ids": train_ids}  # oversampling repeats real images: the distinct ids count


def _run(regime, fold, seed, quality):
    """A result.json-like dict; about `quality` of the predictions confidently right, the rest at random."""
    rng = np.random.default_rng([REGIMES.index(regime), fold, seed])
    ids = [f"lesion{fold}-{i:02d}" for i in range(PER_FOLD)]
    y_true = np.random.default_rng(fold).integers(0, len(CLASSES), PER_FOLD)  # same truth in every regime
    y_prob = rng.dirichlet(np.ones(len(CLASSES)), PER_FOLD)
    right = rng.random(PER_FOLD) < quality
    y_prob[right, y_true[right]] += 2.0
    if (regime, fold, seed) == COLLAPSED:
        y_prob[:, 0] += 5.0
    y_prob /= y_prob.sum(axis=1, keepdims=True)
    order = rng.permutation(PER_FOLD)  # every run lists its test examples in its own order
    ids, y_true, y_prob = [ids[i] for i in order], y_true[order], y_prob[order]
    return {"regime": regime, "fold": fold, "seed": seed, "metrics": classification_metrics(y_true, y_prob, CLASSES),
            "y_true": y_true.tolist(), "y_prob": y_prob.tolist(), "ids": ids,
            "training": _training(regime, fold, seed)}


def _results():
    quality = {"none": 0.4, "classic": 0.5, "oversample": 0.5, "synthetic": 0.7}
    results = {regime: [_run(regime, fold, seed, quality[regime]) for fold in FOLDS for seed in SEEDS]
               for regime in REGIMES}
    results["synthetic"].reverse()  # pairing must go by (fold, seed), not by position
    return results


SETTINGS = {"dataset": {"folds": 3}, "training": {"classifier": "cnn", "steps": 600}}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    results = _results()
    output = str(tmp_path_factory.mktemp("report"))
    written_report = report.write_report(output, results, CLASSES, SETTINGS)
    return output, results, written_report


def _load(output, name=run_folder.REPORT_JSON):
    with open(os.path.join(output, name), encoding="utf-8") as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


def _by_run(results, key):
    """{(fold, seed): metric value} with the key's path, e.g. ("macro", "sensitivity")."""
    values = {}
    for result in results:
        value = result["metrics"]
        for part in key:
            value = value[part]
        values[(result["fold"], result["seed"])] = value
    return values


def _fold_means(values_by_run):
    """{(fold, seed): value} -> the per-fold means of the seeds, in fold order (the report's unit of analysis)."""
    return [np.mean([value for (f, _), value in values_by_run.items() if f == fold]) for fold in FOLDS]


def _corrected(differences):
    """(mean, se, t, p, ci_low, ci_high) of the corrected resampled t-test, written out here."""
    d = np.asarray(differences)
    se = math.sqrt((1 / len(d) + RATIO) * d.var(ddof=1))
    t = d.mean() / se
    half = stats.t.ppf(0.975, len(d) - 1) * se
    return d.mean(), se, t, 2 * stats.t.sf(abs(t), len(d) - 1), d.mean() - half, d.mean() + half


def test_report_json_is_the_returned_report(written):
    output, _, returned = written
    assert _load(output) == json.loads(json.dumps(returned))


def test_per_run_and_pooled_numbers_agree_with_the_confusion_matrices(written):
    output, results, _ = written
    content = _load(output)
    assert content["folds"] == list(FOLDS) and content["class_names"] == list(CLASSES)
    for regime, regime_results in results.items():
        section = content["regimes"][regime]
        assert sorted(section["folds"]) == ["0", "0/seed1", "1", "1/seed1", "2", "2/seed1"]
        matrices = []
        for result in regime_results:
            metrics = section["folds"][report.run_key(result["fold"], result["seed"])]
            matrix = np.array(metrics["confusion_matrix"])
            matrices.append(matrix)
            assert matrix.sum() == PER_FOLD
            for k, name in enumerate(CLASSES):
                if matrix[k].sum():
                    assert metrics["per_class"][name]["sensitivity"] == pytest.approx(matrix[k, k] / matrix[k].sum())
        pooled = np.array(section["pooled"]["confusion_matrix"])
        np.testing.assert_array_equal(pooled, np.sum(matrices, axis=0))
        sensitivities = {(r["fold"], r["seed"]): np.mean([m[k, k] / m[k].sum() for k in range(3) if m[k].sum()])
                         for r, m in zip(regime_results, matrices)}
        fold_means = _fold_means(sensitivities)
        estimate = section["estimates"]["macro/sensitivity"]
        assert (estimate["runs"], estimate["units"]) == (len(FOLDS) * len(SEEDS), len(FOLDS))
        assert estimate["mean"] == pytest.approx(np.mean(fold_means))
        assert estimate["std"] == pytest.approx(np.std(fold_means, ddof=1))
        half = stats.t.ppf(0.975, 2) * math.sqrt((1 / 3 + RATIO) * np.var(fold_means, ddof=1))
        assert estimate["ci_low"] == pytest.approx(np.mean(fold_means) - half)
        assert estimate["ci_high"] == pytest.approx(np.mean(fold_means) + half)
        within = [sensitivities[(fold, seed)] - fold_means[fold] for fold in FOLDS for seed in SEEDS]
        assert estimate["repeat_sd"] == pytest.approx(math.sqrt(np.sum(np.square(within)) / len(FOLDS)))
        assert section["summary"]["metrics"]["accuracy"]["runs"] == 6  # accuracy and micro stay in report.json


def test_markdown_table_shows_mean_std_and_interval(written):
    output, _, _ = written
    content, markdown = _load(output), _load(output, run_folder.REPORT_MARKDOWN)
    results_section = markdown.split("## Results")[1].split("## Comparisons")[0]
    rows = {line.split("|")[1].strip(): line for line in results_section.splitlines() if line.startswith("| ")}
    for regime in REGIMES:
        estimates = content["regimes"][regime]["estimates"]
        cells = [cell.strip() for cell in rows[regime].split("|")[2:-1]]
        sensitivity, auc = estimates["macro/sensitivity"], estimates["macro/auc"]
        assert cells[0] == "6"
        assert cells[1] == (f"{100 * sensitivity['mean']:.1f} ± {100 * sensitivity['std']:.1f} "
                            f"[{100 * sensitivity['ci_low']:.1f}, {100 * sensitivity['ci_high']:.1f}] "
                            f"(seed sd {100 * sensitivity['repeat_sd']:.1f})")
        assert cells[3].startswith(f"{auc['mean']:.3f} ± {auc['std']:.3f} [")
    assert "| Regime | Runs | Sensitivity macro = balanced accuracy (%) | Specificity macro (%) | AUC macro |" \
        in markdown
    assert "± = sample std over 3 folds, each the mean of its 2 classifier seeds" in markdown
    assert "micro specificity = 1 − (1 − accuracy) / (K − 1) for single-label data with K = 3 classes" in markdown
    assert report.format_table(content) in markdown


def test_comparisons_headline_first_and_only_evaluated_pairs(written):
    content = _load(written[0])
    assert [(c["treatment"], c["baseline"]) for c in content["comparisons"]] == [
        ("synthetic", "oversample"), ("synthetic", "none"), ("synthetic", "classic"), ("oversample", "none"),
        ("classic", "none")]


def test_named_sets_are_compared_with_their_own_oversampling():
    regimes = ["none", "synthetic[n250]", "oversample[n250]", "synthetic[n500]", "oversample[n500]",
               "classic+synthetic[n250]", "classic+oversample[n250]", "synthetic"]
    assert report.comparison_pairs(regimes) == [
        ("synthetic[n250]", "oversample[n250]"), ("synthetic[n500]", "oversample[n500]"), ("synthetic", "none"),
        ("classic+synthetic[n250]", "classic+oversample[n250]")]


def test_generators_without_their_own_oversampling_are_compared_with_the_shared_baselines():
    regimes = ["none", "classic", "oversample", "synthetic[pggan]", "synthetic[dcgan]"]
    assert report.comparison_pairs(regimes) == [
        ("synthetic[pggan]", "oversample"), ("synthetic[dcgan]", "oversample"), ("synthetic[pggan]", "none"),
        ("synthetic[dcgan]", "none"), ("synthetic[pggan]", "classic"), ("synthetic[dcgan]", "classic"),
        ("oversample", "none"), ("classic", "none")]


def test_corrected_test_and_holm_computed_independently(written):
    output, results, _ = written
    content = _load(output)
    for key, path in (("macro/sensitivity", ("macro", "sensitivity")), ("macro/auc", ("macro", "auc"))):
        p_values = []
        for comparison in content["comparisons"]:
            treatment = _by_run(results[comparison["treatment"]], path)
            baseline = _by_run(results[comparison["baseline"]], path)
            differences = _fold_means({run: treatment[run] - baseline[run] for run in baseline})
            mean, se, t, p, low, high = _corrected(differences)
            test = comparison["metrics"][key]
            assert (test["runs"], test["df"], test["paired_runs"]) == (3, 2, 6)
            assert test["mean_difference"] == pytest.approx(mean) and test["se"] == pytest.approx(se)
            assert test["t"] == pytest.approx(t) and test["p_value"] == pytest.approx(p)
            assert (test["ci_low"], test["ci_high"]) == (pytest.approx(low), pytest.approx(high))
            assert comparison["test_train_ratio"] == pytest.approx(RATIO)
            p_values.append(p)
        m = len(p_values)
        order = np.argsort(p_values)
        holm = np.maximum.accumulate([min(1.0, (m - rank) * p_values[i]) for rank, i in enumerate(order)])
        expected = np.empty(m)
        expected[order] = holm
        assert [c["metrics"][key]["p_holm"] for c in content["comparisons"]] == pytest.approx(expected)


def test_bootstrap_resamples_test_examples_within_their_class_paired_by_id_and_seed(written):
    output, results, _ = written
    bootstrap = _load(output)["comparisons"][0]["bootstrap"]  # synthetic vs oversample
    assert (bootstrap["examples"], bootstrap["predictions"]) == (len(FOLDS) * PER_FOLD, len(FOLDS) * PER_FOLD * 2)

    def predictions(regime):
        return {(i, r["seed"]): (t, int(np.argmax(p))) for r in results[regime]
                for i, t, p in zip(r["ids"], r["y_true"], r["y_prob"])}

    treatment, baseline = predictions("synthetic"), predictions("oversample")
    ids = sorted({i for i, _ in baseline})

    def difference(chosen_ids):
        keys = [(i, seed) for i in chosen_ids for seed in SEEDS]
        return (balanced_accuracy_score([treatment[k][0] for k in keys], [treatment[k][1] for k in keys])
                - balanced_accuracy_score([baseline[k][0] for k in keys], [baseline[k][1] for k in keys]))

    truth = {i: t for (i, _), (t, _) in baseline.items()}
    strata = [[i for i in ids if truth[i] == k] for k in sorted(set(truth.values()))]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resampled = []
    for start in range(0, BOOTSTRAP_RESAMPLES, 250):  # drawn in chunks of 250 resamples, class by class
        size = min(250, BOOTSTRAP_RESAMPLES - start)
        drawn = [rng.integers(0, len(members), (size, len(members))) for members in strata]
        for row in range(size):
            chosen = [members[j] for members, rows in zip(strata, drawn) for j in rows[row]]
            assert sorted(truth[i] for i in chosen) == sorted(truth.values())  # every class keeps its count
            resampled.append(difference(chosen))
    sensitivity = bootstrap["metrics"]["macro/sensitivity"]
    assert sensitivity["estimate"] == pytest.approx(difference(ids))
    assert sensitivity["ci_low"] == pytest.approx(np.quantile(resampled, 0.025))
    assert sensitivity["ci_high"] == pytest.approx(np.quantile(resampled, 0.975))


def test_comparison_markdown_rows(written):
    output, _, _ = written
    content, markdown = _load(output), _load(output, run_folder.REPORT_MARKDOWN)
    comparison = content["comparisons"][0]
    test = comparison["metrics"]["macro/specificity"]
    bootstrap = comparison["bootstrap"]["metrics"]["macro/specificity"]
    section = markdown.split("### Specificity macro (%)")[1]
    row = next(line for line in section.splitlines() if line.startswith("| synthetic vs oversample |"))
    cells = [cell.strip() for cell in row.split("|")[2:-1]]
    assert cells == ["3", f"{100 * test['mean_difference']:+.1f}",
                     f"[{100 * test['ci_low']:+.1f}, {100 * test['ci_high']:+.1f}]", f"{test['t']:.2f}",
                     f"{test['p_value']:.3g}", f"{test['p_holm']:.3g}",
                     f"{100 * bootstrap['estimate']:+.1f} [{100 * bootstrap['ci_low']:+.1f}, "
                     f"{100 * bootstrap['ci_high']:+.1f}]"]
    assert "Holm's adjustment within one metric's table" in markdown and "McNemar's test is not reported" in markdown
    auc_section = markdown.split("### AUC macro")[1]
    auc_row = next(line for line in auc_section.splitlines() if line.startswith("| synthetic vs oversample |"))
    assert auc_row.rstrip().endswith("| n/a |")  # no bootstrap for the AUC


def test_design_paragraph_states_the_design_and_detectable_difference(written):
    output, results, _ = written
    content, markdown = _load(output), _load(output, run_folder.REPORT_MARKDOWN)
    treatment = _by_run(results["synthetic"], ("macro", "sensitivity"))
    baseline = _by_run(results["oversample"], ("macro", "sensitivity"))
    _, se, *_ = _corrected(_fold_means({run: treatment[run] - baseline[run] for run in baseline}))
    detectable = (stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)) * se
    headline = content["design"]["headline"]
    assert headline["minimum_detectable_difference"] == pytest.approx(detectable)
    paragraph = next(line for line in markdown.splitlines() if line.startswith("**Design.**"))
    assert paragraph.startswith("**Design.** 3-fold cross-validation, with 2 classifier seed(s) per fold")
    assert "averages each fold's 2 seeds first" in paragraph
    assert "J = 3 paired fold results (2 degrees of freedom; from 6 paired runs)" in paragraph
    assert "With J = 3 the t quantile is 4.30" in paragraph and "re-partitioned repeats, --partitions" in paragraph
    assert (f"On average a run was tested on {PER_FOLD} images and trained on {REAL_TRAIN + VALIDATION} real "
            "images") in paragraph
    assert f"n_test/n_train = {RATIO:.2f}" in paragraph
    assert f"(synthetic vs oversample, macro sensitivity (balanced accuracy)) could detect a true difference " \
           f"of about {100 * detectable:.1f} percentage points" in paragraph
    assert "not a clinical claim" in paragraph and "not resamples of the data" in paragraph


def test_design_names_the_dataset_folds_not_the_evaluated_ones(tmp_path):
    results = {regime: [_run(regime, fold, 0, 0.5) for fold in (0, 2)] for regime in ("none", "classic")}
    content = report.write_report(str(tmp_path), results, CLASSES, {"dataset": {"folds": 3}}, missing_folds=[1])
    paragraph = next(line for line in _load(str(tmp_path), run_folder.REPORT_MARKDOWN).splitlines()
                     if line.startswith("**Design.**"))
    assert paragraph.startswith("**Design.** 3-fold cross-validation of which only test fold(s) 0, 2 were "
                                "evaluated (missing: 1), with 1 classifier seed(s) per fold")
    assert f"With J = 2 the t quantile is {stats.t.ppf(0.975, 1):.2f}" in paragraph
    assert "seeds first" not in paragraph
    assert content["design"]["dataset_folds"] == 3 and content["design"]["folds_evaluated"] == [0, 2]
    assert "± = sample std over 2 folds" in content["note"]


def test_training_record_and_flags(written):
    output, _, _ = written
    content, markdown = _load(output), _load(output, run_folder.REPORT_MARKDOWN)
    flags = {(f["regime"], f["fold"], f["seed"], f["problem"]) for f in content["flags"]}
    assert flags == {(*COLLAPSED, "collapsed"), (*AT_CAP, "still_improving_at_cap")}
    assert content["step_budgets"] == [600]
    assert "Every run had the same budget of 600 optimizer steps (equal budgets)." in markdown
    assert "- classic fold 2 seed 1: every test image predicted as cyst" in markdown
    assert "- oversample fold 1 seed 0: stopped at the step cap (600 steps)" in markdown
    rows = {line.split("|")[1].strip(): line for line in markdown.split("## Training record")[1].splitlines()
            if line.startswith("| ")}
    assert rows["oversample"] == "| oversample | 6 | 300–600 | 600 | 5 of 6 | 50 | 0 |"
    assert rows["synthetic"] == "| synthetic | 6 | 300–300 | 600 | 6 of 6 | 50 | 30 |"


def test_figures_are_pngs_linked_from_the_markdown(written):
    output, _, _ = written
    markdown = _load(output, run_folder.REPORT_MARKDOWN)
    for regime in REGIMES:
        for name in (f"confusion_{regime}.png", f"roc_{regime}.png"):
            with Image.open(os.path.join(output, name)) as image:
                assert image.format == "PNG" and min(image.size) > 100
            assert f"({name})" in markdown
    assert not [name for name in os.listdir(output) if name.endswith(".tmp")]


def test_results_without_seeds_or_training_records_still_report(tmp_path):
    """result.json files written before repeats: no seed (= 0), no training record (ratio 1 / (K - 1))."""
    results = {}
    for regime in ("none", "classic"):
        results[regime] = []
        for fold in FOLDS:
            run = _run(regime, fold, 0, 0.5)
            del run["seed"], run["training"]
            results[regime].append(run)
    content = report.write_report(str(tmp_path), results, CLASSES, {})
    assert sorted(content["regimes"]["none"]["folds"]) == ["0", "1", "2"]
    comparison = content["comparisons"][0]
    assert comparison["test_train_ratio"] == pytest.approx(1 / 2) and comparison["metrics"]["macro/auc"]["df"] == 2
    assert content["step_budgets"] == [] and content["flags"] == []


def test_no_comparison_without_both_regimes(tmp_path):
    results = {"classic+synthetic": [_run("synthetic", 0, 0, 0.5)]}
    content = report.write_report(str(tmp_path), results, CLASSES, {})
    assert content["comparisons"] == [] and content["design"]["headline"] is None
    estimate = content["regimes"]["classic+synthetic"]["estimates"]["macro/sensitivity"]
    assert estimate["std"] is None and estimate["ci_low"] is None
    assert f"| classic+synthetic | 1 | {100 * estimate['mean']:.1f} |" in report.format_table(content)


@pytest.mark.parametrize("partitions, folds, seeds", [(1, 3, 1), (1, 3, 3), (2, 3, 3)])
def test_compare_holds_its_size_under_the_null(monkeypatch, partitions, folds, seeds):
    """Null experiments through the real compare: no true difference; the (partition, fold) effects are correlated
    as the corrected test assumes (rho = r / (1 + r) for r = n_test / n_train, which makes the correction exact),
    plus independent classifier-seed noise of half the fold effects' sd. Seeds counted as resamples rejected ~10 %
    (23 % without seed noise); the size must stay near the nominal 5 %."""
    monkeypatch.setattr(report, "paired_bootstrap", lambda *args: None)  # not part of the t-test; saves time
    ratio, draws, seed_sd = 1 / (folds - 1), 2000, 0.5  # no training records: ratio = 1 / (K - 1)
    units = partitions * folds
    rho = ratio / (1 + ratio)
    chol = np.linalg.cholesky(np.full((units, units), rho) + (1 - rho) * np.eye(units))
    rng = np.random.default_rng(0)

    def run(unit, seed, value):
        return {"partition": unit // folds, "fold": unit % folds, "seed": seed, "y_true": [0],
                "metrics": {"macro": {"sensitivity": value, "specificity": value, "auc": value}}}

    rejected = 0
    for _ in range(draws):
        effects = chol @ rng.standard_normal(units)
        treatment = [run(u, r, effects[u] + seed_sd * rng.standard_normal())
                     for u in range(units) for r in range(seeds)]
        baseline = [run(u, r, 0.0) for u in range(units) for r in range(seeds)]
        test = report.compare(treatment, baseline, len(CLASSES), folds)["metrics"]["macro/sensitivity"]
        assert (test["runs"], test["df"], test["paired_runs"]) == (units, units - 1, units * seeds)
        rejected += test["p_value"] < 0.05
    assert 0.03 <= rejected / draws <= 0.075


def test_partitions_are_separate_units_and_name_their_runs(tmp_path):
    results = {regime: [{**_run(regime, fold, seed, 0.5), "partition": partition} for partition in (0, 1)
                        for fold in FOLDS for seed in (0, 1)] for regime in ("none", "classic")}
    content = report.write_report(str(tmp_path), results, CLASSES, SETTINGS)
    test = content["comparisons"][0]["metrics"]["macro/sensitivity"]
    assert (test["runs"], test["df"], test["paired_runs"]) == (6, 5, 12)
    assert content["design"]["partitions"] == [0, 1] and content["design"]["units"] == 6
    assert "partition1/2/seed1" in content["regimes"]["none"]["folds"]
    assert {run["partition"] for run in content["regimes"]["none"]["runs"]} == {0, 1}
    paragraph = next(line for line in _load(str(tmp_path), run_folder.REPORT_MARKDOWN).splitlines()
                     if line.startswith("**Design.**"))
    assert paragraph.startswith("**Design.** 2 × 3-fold cross-validation (each of the 2 partitions assigns")
    assert "J = 6 paired (partition, fold) results (5 degrees of freedom; from 12 paired runs)" in paragraph
    assert "Bouckaert & Frank's repeated k-fold form" in paragraph
    bootstrap = content["comparisons"][0]["bootstrap"]
    assert (bootstrap["examples"], bootstrap["predictions"]) == (len(FOLDS) * PER_FOLD, 2 * 2 * len(FOLDS) * PER_FOLD)


def test_constant_differences_stay_in_the_holm_family(tmp_path):
    results = {regime: [_run("none" if regime == "synthetic" else regime, fold, 0, 0.5) for fold in FOLDS]
               for regime in ("none", "classic", "synthetic")}  # synthetic predicts exactly as none: d = 0
    for result in results["synthetic"]:
        result["regime"] = "synthetic"
    content = report.write_report(str(tmp_path), results, CLASSES, SETTINGS)
    tests = {(c["treatment"], c["baseline"]): c["metrics"]["macro/sensitivity"] for c in content["comparisons"]}
    constant = tests[("synthetic", "none")]
    assert constant["p_value"] is None and constant["p_holm"] is None
    defined = [test for test in tests.values() if test["p_value"] is not None]
    family = len(tests)  # the constant comparison counts: m does not shrink
    smallest = min(defined, key=lambda test: test["p_value"])
    assert smallest["p_holm"] == pytest.approx(min(1.0, family * smallest["p_value"]))
    row = next(line for line in _load(str(tmp_path), run_folder.REPORT_MARKDOWN).splitlines()
               if line.startswith("| synthetic vs none |"))
    assert row.split("|")[6:8] == [" n/a ", " n/a "]

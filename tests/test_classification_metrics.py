"""Tests for tfpgan.metrics.classification against hand counts."""

import json
import math

import numpy as np
import pytest

from tfpgan.metrics import classification

NAMES = ["cyst", "metastasis", "hemangioma"]
# Rows = true class, columns = predicted class; 20 samples, 14 correct.
CONFUSION = np.array([[5, 1, 0], [2, 6, 2], [0, 1, 3]])


def _samples_from_confusion(confusion):
    """Labels and probabilities whose argmax reproduces the confusion matrix."""
    y_true, y_pred = [], []
    for true_class, row in enumerate(confusion):
        for predicted_class, count in enumerate(row):
            y_true += [true_class] * count
            y_pred += [predicted_class] * count
    y_prob = np.full((len(y_pred), len(confusion)), 0.1)
    y_prob[np.arange(len(y_pred)), y_pred] = 0.8
    return np.array(y_true), y_prob


@pytest.fixture(name="result")
def fixture_result():
    y_true, y_prob = _samples_from_confusion(CONFUSION)
    return classification.classification_metrics(y_true, y_prob, NAMES)


def test_confusion_matrix_accuracy_and_count(result):
    assert result["confusion_matrix"] == CONFUSION.tolist()
    assert result["n"] == 20
    assert result["accuracy"] == pytest.approx(14 / 20)
    assert result["class_names"] == NAMES


def test_per_class_matches_hand_counts(result):
    # (TP, FN, FP, TN) counted by hand from CONFUSION.
    hand = {"cyst": (5, 1, 2, 12), "metastasis": (6, 4, 2, 8), "hemangioma": (3, 1, 2, 14)}
    for name, (tp, fn, fp, tn) in hand.items():
        assert result["per_class"][name]["sensitivity"] == pytest.approx(tp / (tp + fn))
        assert result["per_class"][name]["specificity"] == pytest.approx(tn / (tn + fp))
        assert result["per_class"][name]["support"] == tp + fn


def test_macro_and_micro_averages(result):
    assert result["macro"]["sensitivity"] == pytest.approx(np.mean([5 / 6, 6 / 10, 3 / 4]))
    assert result["macro"]["specificity"] == pytest.approx(np.mean([12 / 14, 8 / 10, 14 / 16]))
    # Pooled: TP 14, FN 6, FP 6, TN 34.
    assert result["micro"]["sensitivity"] == pytest.approx(14 / 20)
    assert result["micro"]["specificity"] == pytest.approx(34 / 40)


def test_micro_identities_for_three_classes():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=200)
    y_prob = rng.dirichlet(np.ones(3), size=200)
    result = classification.classification_metrics(y_true, y_prob, NAMES)
    assert result["micro"]["sensitivity"] == pytest.approx(result["accuracy"])
    assert result["micro"]["specificity"] == pytest.approx((1 + result["micro"]["sensitivity"]) / 2)


def test_result_is_json_serializable(result):
    assert json.loads(json.dumps(result)) == result


def test_auc_perfect_inverted_and_chance():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    perfect = np.eye(3)[y_true] * 0.9 + 0.05
    result = classification.classification_metrics(y_true, perfect, NAMES)
    assert result["macro"]["auc"] == pytest.approx(1.0)
    assert all(values["auc"] == pytest.approx(1.0) for values in result["per_class"].values())

    inverted = 1.0 - perfect
    assert classification.classification_metrics(y_true, inverted, NAMES)["macro"]["auc"] == pytest.approx(0.0)

    constant = np.full((6, 3), 1 / 3)
    assert classification.classification_metrics(y_true, constant, NAMES)["macro"]["auc"] == pytest.approx(0.5)


def test_class_missing_from_labels_is_none_and_left_out_of_macro():
    y_true = np.array([0, 0, 1, 1])
    y_prob = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    result = classification.classification_metrics(y_true, y_prob, NAMES)
    missing = result["per_class"]["hemangioma"]
    assert missing["sensitivity"] is None and missing["auc"] is None and missing["support"] == 0
    assert missing["specificity"] == pytest.approx(3 / 4)  # one false positive among 4 negatives
    assert result["macro"]["sensitivity"] == pytest.approx(np.mean([1 / 2, 1 / 2]))
    defined_aucs = [result["per_class"][name]["auc"] for name in NAMES[:2]]
    assert result["macro"]["auc"] == pytest.approx(np.mean(defined_aucs))
    json.dumps(result)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="columns"):
        classification.classification_metrics([0, 1], np.ones((2, 2)), NAMES)
    with pytest.raises(ValueError, match="Labels"):
        classification.classification_metrics([0, 3], np.ones((2, 3)), NAMES)


def test_summarize_mean_and_sample_std():
    folds = [
        {"accuracy": 0.5, "macro": {"auc": 0.6}, "confusion_matrix": [[1]]},
        {"accuracy": 0.7, "macro": {"auc": None}, "confusion_matrix": [[1]]},
        {"accuracy": 0.9, "macro": {"auc": 0.8}, "confusion_matrix": [[1]]},
    ]
    summary = classification.summarize(folds)
    assert summary["folds"] == 3 and summary["std_ddof"] == 1
    assert summary["metrics"]["accuracy"]["mean"] == pytest.approx(0.7)
    assert summary["metrics"]["accuracy"]["std"] == pytest.approx(0.2)  # sqrt((0.04 + 0 + 0.04) / 2)
    assert summary["metrics"]["macro/auc"] == {
        "mean": pytest.approx(0.7), "std": pytest.approx(math.sqrt(0.02)), "folds": 2
    }
    assert "confusion_matrix" not in summary["metrics"]


def test_summarize_of_real_metrics_covers_per_class_values(result):
    summary = classification.summarize([result, result])
    assert summary["metrics"]["per_class/cyst/sensitivity"]["mean"] == pytest.approx(5 / 6)
    assert summary["metrics"]["micro/specificity"]["std"] == pytest.approx(0.0)
    json.dumps(summary)


def test_mcnemar_exact_matches_hand_binomial():
    # b = 1 (only A right), c = 7 (only B right), 12 concordant pairs.
    correct_a = np.array([True] * 1 + [False] * 7 + [True] * 6 + [False] * 6)
    correct_b = np.array([False] * 1 + [True] * 7 + [True] * 6 + [False] * 6)
    result = classification.mcnemar_test(correct_a, correct_b)
    assert (result["b"], result["c"]) == (1, 7)
    # Two-sided exact: 2 * P(X <= 1), X ~ Binomial(8, 1/2) = 2 * (1 + 8) / 256.
    assert result["p_value"] == pytest.approx(18 / 256)
    assert result["method"] == "exact binomial"


def test_mcnemar_chi_square_for_many_discordant_pairs():
    correct_a = np.array([True] * 10 + [False] * 30)
    result = classification.mcnemar_test(correct_a, ~correct_a)
    statistic = (abs(10 - 30) - 1) ** 2 / 40
    assert result["p_value"] == pytest.approx(math.erfc(math.sqrt(statistic / 2)))  # chi2(1) survival
    assert "chi-square" in result["method"]


def test_mcnemar_identical_classifiers():
    result = classification.mcnemar_test([True, False, True], [True, False, True])
    assert (result["b"], result["c"], result["p_value"]) == (0, 0, 1.0)


def test_paired_fold_test_matches_closed_form():
    result = classification.paired_fold_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert result["mean_difference"] == pytest.approx(2.0)
    # Differences 1, 2, 3: t = 2 / (1 / sqrt(3)); two-sided p for 2 d.o.f. is 1 - |t| / sqrt(t^2 + 2).
    t = 2 * math.sqrt(3)
    assert result["p_value"] == pytest.approx(1 - t / math.sqrt(t * t + 2))


def test_paired_fold_test_undefined_cases():
    assert classification.paired_fold_test([0.8], [0.7])["p_value"] is None
    constant_shift = classification.paired_fold_test([0.8, 0.9], [0.7, 0.8])
    assert constant_shift["p_value"] is None
    assert constant_shift["mean_difference"] == pytest.approx(0.1)

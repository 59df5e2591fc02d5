"""Tests for tfpgan.metrics.classification against hand counts."""

import json
import math

import numpy as np
import pytest
from sklearn import metrics as sk_metrics

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


@pytest.mark.parametrize("num_classes", [3, 4])
def test_micro_values_are_accuracy_and_a_function_of_it(num_classes):
    rng = np.random.default_rng(num_classes)
    y_true = rng.integers(0, num_classes, size=200)
    y_prob = rng.dirichlet(np.ones(num_classes), size=200)
    result = classification.classification_metrics(y_true, y_prob, [f"c{k}" for k in range(num_classes)])
    accuracy = np.mean(y_prob.argmax(axis=1) == y_true)  # counted here, not taken from the result
    assert 0.15 < accuracy < 0.6
    assert result["micro"]["sensitivity"] == pytest.approx(accuracy)
    # Every wrong prediction is one false positive among (K - 1) N negatives.
    assert result["micro"]["specificity"] == pytest.approx(1 - (1 - accuracy) / (num_classes - 1))


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
    assert summary["runs"] == 3 and summary["std_ddof"] == 1
    assert summary["metrics"]["accuracy"]["mean"] == pytest.approx(0.7)
    assert summary["metrics"]["accuracy"]["std"] == pytest.approx(0.2)  # sqrt((0.04 + 0 + 0.04) / 2)
    assert summary["metrics"]["macro/auc"] == {
        "mean": pytest.approx(0.7), "std": pytest.approx(math.sqrt(0.02)), "runs": 2
    }
    assert "confusion_matrix" not in summary["metrics"]


def test_summarize_of_real_metrics_covers_per_class_values(result):
    summary = classification.summarize([result, result])
    assert summary["metrics"]["per_class/cyst/sensitivity"]["mean"] == pytest.approx(5 / 6)
    assert summary["metrics"]["micro/specificity"]["std"] == pytest.approx(0.0)
    json.dumps(summary)


def test_macro_rates_of_the_hand_counted_confusion():
    rates = classification.macro_rates(CONFUSION)
    assert rates["sensitivity"] == pytest.approx(np.mean([5 / 6, 6 / 10, 3 / 4]))
    assert rates["specificity"] == pytest.approx(np.mean([12 / 14, 8 / 10, 14 / 16]))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_macro_rates_agree_with_classification_metrics_on_a_stack():
    rng = np.random.default_rng(3)
    confusions, expected = [], []
    for size in (30, 8, 5):
        y_true = rng.integers(0, 2, size=size)  # class 2 never occurs: no sensitivity, left out of the mean
        y_prob = rng.dirichlet(np.ones(3), size=size)
        metrics = classification.classification_metrics(y_true, y_prob, NAMES)
        confusions.append(metrics["confusion_matrix"])
        expected.append((sk_metrics.balanced_accuracy_score(y_true, y_prob.argmax(axis=1)),
                         metrics["macro"]["specificity"]))
    rates = classification.macro_rates(np.array(confusions))
    np.testing.assert_allclose(rates["sensitivity"], [e[0] for e in expected])
    np.testing.assert_allclose(rates["specificity"], [e[1] for e in expected])


def test_macro_rates_of_an_empty_matrix_are_nan():
    rates = classification.macro_rates(np.zeros((3, 3)))
    assert np.isnan(rates["sensitivity"]) and np.isnan(rates["specificity"])

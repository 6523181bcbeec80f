"""The numpy metrics agree with scikit-learn and scipy, including classes that never occur."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from roberta_math.evaluation import metrics as M

K = 3
CLASSES = list(range(K))


def _random_labels(seed: int, n: int, true_classes=(0, 1, 2), pred_classes=(0, 1, 2)):
    rng = np.random.default_rng(seed)
    # Skewed class frequencies, like the corpus (neutral is rare).
    p_true = rng.dirichlet(np.ones(len(true_classes)))
    y = rng.choice(true_classes, size=n, p=p_true)
    yhat = rng.choice(pred_classes, size=n)
    return y.astype(np.int64), yhat.astype(np.int64)


CASES = [
    pytest.param((0, 1, 2), (0, 1, 2), id="all classes"),
    pytest.param((0, 2), (0, 1, 2), id="neutral never true"),
    pytest.param((0, 1, 2), (0, 2), id="neutral never predicted"),
    pytest.param((0, 2), (0, 2), id="neutral never true nor predicted"),
    pytest.param((2,), (0, 1, 2), id="one true class"),
]


@pytest.mark.parametrize("true_classes, pred_classes", CASES)
@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_scikit_learn(seed, true_classes, pred_classes):
    n = 7 + 53 * seed  # small and larger samples
    y, yhat = _random_labels(seed, n, true_classes, pred_classes)

    np.testing.assert_array_equal(M.confusion_matrix(y, yhat), sk_confusion_matrix(y, yhat, labels=CLASSES))
    assert M.accuracy(y, yhat) == pytest.approx(accuracy_score(y, yhat), abs=1e-15)

    pc = M.per_class_precision_recall_f1(y, yhat)
    p, r, f, s = precision_recall_fscore_support(y, yhat, labels=CLASSES, average=None, zero_division=0)
    np.testing.assert_allclose(pc.precision, p, atol=1e-12)
    np.testing.assert_allclose(pc.recall, r, atol=1e-12)
    np.testing.assert_allclose(pc.f1, f, atol=1e-12)
    np.testing.assert_array_equal(pc.support, s)

    # Macro means run over the classes present in the labels or the predictions: scikit-learn's
    # rule when it is given no labels (it then uses the union of both).
    for average, labels in (("macro", None), ("weighted", CLASSES)):
        ours = M.averaged_precision_recall_f1(y, yhat, average)
        theirs = precision_recall_fscore_support(y, yhat, labels=labels, average=average, zero_division=0)[:3]
        np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=average)

    assert M.macro_f1(y, yhat) == pytest.approx(f1_score(y, yhat, average="macro", zero_division=0), abs=1e-12)
    assert M.macro_recall(y, yhat) == pytest.approx(recall_score(y, yhat, average="macro", zero_division=0), abs=1e-12)


def test_case_6_a_class_absent_from_labels_and_predictions_leaves_the_macro_mean():
    y = np.array([0, 0, 2, 2])
    yhat = y.copy()  # perfect: neutral is neither a label nor a prediction
    assert M.macro_f1(y, yhat) == 1.0  # it was 2/3 when neutral counted as 0
    assert M.averaged_precision_recall_f1(y, yhat, "macro") == (1.0, 1.0, 1.0)
    assert M.averaged_precision_recall_f1(y, yhat, "weighted") == (1.0, 1.0, 1.0)
    record = M.classification_metrics(y, yhat)
    assert (record["macro_f1"], record["absent_classes"]) == (1.0, ["neutral"])
    # Predicted but never true (or the reverse): the class is present and counts, with its zeros.
    assert M.macro_recall([0, 0, 2, 2], [0, 1, 2, 2]) == pytest.approx((0.5 + 0.0 + 1.0) / 3)


def test_weighted_recall_is_accuracy():
    # The identity used to recognise the paper's averaging.
    for seed in range(10):
        y, yhat = _random_labels(seed, 200)
        assert M.averaged_precision_recall_f1(y, yhat, "weighted")[1] == pytest.approx(M.accuracy(y, yhat), abs=1e-12)


def test_classification_metrics_record_matches_scikit_learn():
    y, yhat = _random_labels(11, 300, (0, 1, 2), (0, 2))
    rng = np.random.default_rng(3)
    scores, targets = rng.normal(size=300), rng.normal(size=300)
    m = M.classification_metrics(y, yhat, scores, targets)
    p, r, f, _ = precision_recall_fscore_support(y, yhat, labels=CLASSES, average="weighted", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(y, yhat, labels=CLASSES, average="macro", zero_division=0), abs=1e-12)
    assert m["pearson_r"] == pytest.approx(pearsonr(scores, targets)[0], abs=1e-12)
    assert m["n"] == 300 and m["confusion"] == sk_confusion_matrix(y, yhat, labels=CLASSES).tolist()
    assert list(m["per_class"]) == ["negative", "neutral", "positive"]
    assert m["per_class"]["neutral"]["precision"] == 0.0  # never predicted


@pytest.mark.parametrize("seed", range(8))
def test_pearson_agrees_with_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=5 + 40 * seed)
    y = 0.3 * x + rng.normal(size=x.size) * seed
    assert M.pearson_r(x, y) == pytest.approx(pearsonr(x, y)[0], abs=1e-12)


def test_pearson_of_a_constant_is_nan_and_shapes_are_checked():
    assert np.isnan(M.pearson_r([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError):
        M.pearson_r([1.0, 2.0], [1.0, 2.0, 3.0])


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match="outside"):
        M.confusion_matrix([0, 3], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        M.confusion_matrix([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="length"):
        M.confusion_matrix([0, 1], [0])


# --------------------------------------------------------------------------- bootstrap


def _two_methods(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    a = np.where(rng.random(n) < 0.7, y, rng.integers(0, 3, size=n))  # about 80 % right
    b = np.where(rng.random(n) < 0.5, y, rng.integers(0, 3, size=n))  # about 67 % right
    return y, a, b


@pytest.mark.parametrize("metric", [M.accuracy, M.macro_f1, M.macro_recall])
def test_bootstrap_interval_contains_the_point_estimate(metric):
    y, a, b = _two_methods(0)
    ci = M.paired_bootstrap_ci(metric, (y, a), (y, b), n_resamples=500, seed=1)
    assert ci.estimate == pytest.approx(metric(y, a) - metric(y, b))
    assert ci.low < ci.estimate < ci.high
    assert ci.low > 0  # a clearly better method: the interval excludes 0


def test_bootstrap_is_deterministic_for_a_seed_and_varies_with_it():
    y, a, b = _two_methods(1)
    first = M.paired_bootstrap_ci(M.macro_f1, (y, a), (y, b), n_resamples=300, seed=7)
    again = M.paired_bootstrap_ci(M.macro_f1, (y, a), (y, b), n_resamples=300, seed=7)
    other = M.paired_bootstrap_ci(M.macro_f1, (y, a), (y, b), n_resamples=300, seed=8)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)


def test_bootstrap_of_pearson_difference():
    rng = np.random.default_rng(2)
    target = rng.normal(size=500)
    good, poor = target + rng.normal(size=500) * 0.5, target + rng.normal(size=500) * 2.0
    ci = M.paired_bootstrap_ci(M.pearson_r, (good, target), (poor, target), n_resamples=400, seed=0)
    assert 0 < ci.low < ci.estimate < ci.high


def test_paired_bootstrap_of_a_method_against_itself_is_exactly_zero():
    y, a, _ = _two_methods(3)
    ci = M.paired_bootstrap_ci(M.accuracy, (y, a), (y, a), n_resamples=100, seed=0)
    assert (ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0)


def test_bootstrap_interval_matches_a_direct_resampling():
    # Independent re-implementation of the percentile interval from the same index stream.
    y, a, b = _two_methods(4, n=120)
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 120, size=(200, 120))
    diffs = [accuracy_score(y[i], a[i]) - accuracy_score(y[i], b[i]) for i in idx]
    expected = np.percentile(diffs, [2.5, 97.5])
    ci = M.paired_bootstrap_ci(M.accuracy, (y, a), (y, b), n_resamples=200, seed=5)
    assert (ci.low, ci.high) == pytest.approx(tuple(expected), abs=1e-12)


def test_paired_bootstrap_has_a_narrower_interval_than_an_unpaired_one():
    # Pairing cancels the shared difficulty of the sentences: with two methods that mostly
    # agree, the paired interval must be much narrower than resampling them separately.
    rng = np.random.default_rng(6)
    n = 300
    y = rng.integers(0, 3, size=n)
    a = np.where(rng.random(n) < 0.6, y, (y + 1) % 3)
    b = np.where(rng.random(n) < 0.05, (a + 1) % 3, a)  # b copies a, 5 % flipped
    paired = M.paired_bootstrap_ci(M.accuracy, (y, a), (y, b), n_resamples=400, seed=0)
    ia, ib = rng.integers(0, n, size=(2, 400, n))
    separate = [accuracy_score(y[i], a[i]) - accuracy_score(y[j], b[j]) for i, j in zip(ia, ib, strict=True)]
    unpaired = np.percentile(separate, [2.5, 97.5])
    assert (paired.high - paired.low) < 0.5 * (unpaired[1] - unpaired[0])

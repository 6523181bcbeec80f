r"""Classification and correlation metrics, written out in numpy so each one is an equation.

Every metric here starts from the confusion counts :math:`N_{cc'}`, a :math:`C \times C`
matrix whose entry :math:`N_{cc'}` counts the sentences whose true class is :math:`c` and
whose predicted class is :math:`c'` (rows: truth, columns: prediction; :math:`C = 3` for
negative / neutral / positive; symbols as on the site's notation page, classes counted
from 1 in the equations and from 0 in code).

Two ways of averaging the per-class scores appear in the comparison, and they answer
different questions:

* **weighted** (each class weighted by its support :math:`N_c`, the number of true
  sentences in it): the *paper-style* row. Hutto & Gilbert (2014) do not name their
  averaging. Micro averaging is ruled out (it makes precision = recall = F1, and the
  published ones differ); the published F1 is not the harmonic mean of the published
  precision and recall (Amazon: 0.63, not 0.645), so F1 was averaged per class; and
  the weighted averages land far closer to the published values than the macro ones
  (the comparison measures this, ``full_vs_paper``: with today's VADER, a mean
  absolute gap of about 0.05 against 0.15, and about 0.01 when the human classes are
  also read by the sign of the mean rating, see
  :func:`roberta_math.evaluation.compare.sign_labels`). Weighted averaging is also what
  scikit-learn's ``classification_report`` printed as its ``avg / total`` row in 2014.
  So the ``precision`` / ``recall`` / ``f1`` keys of the comparison are weighted; note
  that weighted recall *is* accuracy (see :func:`averaged_precision_recall_f1`).
* **macro** (each class counts the same): the honest summary when a class is rare.
  Neutral is 1.8 % of the movie-review snippets, so a method that never says
  "neutral" loses almost nothing in weighted F1 but a third of its macro recall.
  ``macro_f1`` and ``macro_recall`` (TweetEval's metric) are reported beside them.

**Absent classes.** A macro mean runs over the classes *present in the labels or the
predictions* (scikit-learn's rule when it is given no ``labels``): a class that never
occurs and is never predicted has no precision or recall to speak of, and counting it
as 0 would cap perfect predictions on a two-class file at a macro-F1 of 2/3.
:func:`classification_metrics` lists such classes under ``absent_classes`` (and
``evaluate`` prints them), so a reader knows how many classes a macro number averages.
A class present in only one of the two still counts, with its zeros (scikit-learn's
``zero_division=0``). Weighted means are unaffected (an absent class has weight 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from roberta_math.labels import LABELS

Average = Literal["macro", "weighted"]


def _as_labels(y: Sequence[int] | np.ndarray, n_classes: int, name: str) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(f"{name} holds a class outside 0..{n_classes - 1}")
    return array.astype(np.int64, copy=False)


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int = len(LABELS)
) -> np.ndarray:
    r"""Counts of (true class, predicted class) pairs.

    $$ N_{cc'} = \sum_{(y, \hat y)} [y = c]\,[\hat y = c'] , $$

    the sum running over the :math:`N` pairs of true and predicted class.

    ``y_true`` and ``y_pred`` are class indices of shape ``(n,)``; the result has shape
    ``(n_classes, n_classes)``, rows indexed by the truth.

    >>> confusion_matrix([0, 0, 1, 2, 2], [0, 2, 1, 2, 1])
    array([[1, 0, 1],
           [0, 1, 0],
           [0, 1, 1]])
    """
    t = _as_labels(y_true, n_classes, "y_true")
    p = _as_labels(y_pred, n_classes, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} != {p.size}")
    # One bincount over the flattened (i, j) index is the whole matrix in one pass.
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)  # (K*K,)
    return flat.reshape(n_classes, n_classes)


def accuracy(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray) -> float:
    r"""Fraction of sentences whose predicted class is the true one.

    $$ \operatorname{acc} = \frac{1}{N}\sum_{(y, \hat y)} [\hat y = y] = \frac{\sum_c N_{cc}}{\sum_{c, c'} N_{cc'}} $$

    >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
    0.75
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} != {p.size}")
    if t.size == 0:
        raise ValueError("accuracy of zero sentences is undefined")
    return float(np.mean(t == p))


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # 0/0 -> 0, scikit-learn's zero_division=0 convention.
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


@dataclass(frozen=True)
class PerClass:
    """Per-class precision, recall, F1 and support, each of shape ``(K,)``, and how often each class was predicted."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray | None = None

    @property
    def present(self) -> np.ndarray:
        """``(K,)`` booleans: the class occurs in the labels or the predictions (the classes a macro mean runs over)."""
        counts = self.support if self.predicted is None else self.support + self.predicted
        return np.asarray(counts) > 0


def per_class_from_confusion(matrix: np.ndarray) -> PerClass:
    r"""Precision, recall and F1 of each class from a confusion matrix ``(C, C)``.

    $$ \begin{gathered}
        \operatorname{P}_c = \frac{N_{cc}}{\sum_{c'} N_{c'c}}, \qquad \operatorname{R}_c = \frac{N_{cc}}{\sum_{c'} N_{cc'}}, \\
        F_c = \frac{2 \operatorname{P}_c \operatorname{R}_c}{\operatorname{P}_c + \operatorname{R}_c}
           = \frac{2 N_{cc}}{\sum_{c'} N_{c'c} + \sum_{c'} N_{cc'}}
        \end{gathered}$$

    :math:`\operatorname{P}_c` divides by the column sum (everything *predicted* as :math:`c`),
    :math:`\operatorname{R}_c` by the row sum :math:`N_c` (everything that *is* :math:`c`, the support).
    Any ratio with a zero denominator is 0.

    >>> pc = per_class_from_confusion(np.array([[1, 0, 1], [0, 1, 0], [0, 1, 1]]))
    >>> pc.precision.tolist(), pc.recall.tolist(), pc.support.tolist()
    ([1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [2, 1, 2])
    >>> np.round(pc.f1, 4).tolist()
    [0.6667, 0.6667, 0.5]
    """
    c = np.asarray(matrix, dtype=np.int64)  # (K, K)
    true_positive = np.diag(c).astype(np.float64)  # (K,)
    predicted = c.sum(axis=0)  # (K,) column sums
    support = c.sum(axis=1)  # (K,) row sums
    precision = _safe_divide(true_positive, predicted)
    recall = _safe_divide(true_positive, support)
    # The count form of F1 avoids 0/0 when P = R = 0 and equals the harmonic mean otherwise.
    f1 = _safe_divide(2.0 * true_positive, (predicted + support).astype(np.float64))
    return PerClass(precision, recall, f1, support, predicted)


def per_class_precision_recall_f1(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int = len(LABELS)
) -> PerClass:
    """:func:`per_class_from_confusion` applied to :func:`confusion_matrix` of the labels.

    >>> per_class_precision_recall_f1([0, 0, 2], [0, 2, 2]).recall.tolist()   # class 1 never occurs
    [0.5, 0.0, 1.0]
    """
    return per_class_from_confusion(confusion_matrix(y_true, y_pred, n_classes))


def average_per_class(
    values: np.ndarray, support: np.ndarray, average: Average, present: np.ndarray | None = None
) -> float:
    r"""Mean of per-class values: unweighted (``"macro"``) or weighted by support (``"weighted"``).

    $$ \begin{gathered}
        \bar \phi_{\text{macro}} = \frac{1}{|\mathcal{C}|}\sum_{c \in \mathcal{C}} \phi_c, \\
        \bar \phi_{\text{weighted}} = \sum_{c=1}^{C} \frac{N_c}{N}\, \phi_c
        \end{gathered}$$

    for a per-class value :math:`\phi_c`; :math:`\mathcal{C}` is the set of classes marked in
    ``present`` (``PerClass.present``: in the labels or the predictions); all :math:`C`
    classes when ``present`` is not given.
    A macro mean over no class is NaN.

    >>> average_per_class(np.array([1.0, 0.0, 0.5]), np.array([2, 0, 2]), "macro")
    0.5
    >>> average_per_class(np.array([1.0, 0.0, 0.5]), np.array([2, 0, 2]), "macro", np.array([True, False, True]))
    0.75
    >>> average_per_class(np.array([1.0, 0.0, 0.5]), np.array([2, 0, 2]), "weighted")
    0.75
    """
    values = np.asarray(values, dtype=np.float64)
    if average == "macro":
        if present is not None:
            values = values[np.asarray(present, dtype=bool)]
        return float(values.mean()) if values.size else float("nan")
    if average == "weighted":
        total = support.sum()
        return float((values * support).sum() / total) if total else 0.0
    raise ValueError(f"average must be 'macro' or 'weighted', got {average!r}")


def averaged_precision_recall_f1(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    average: Average,
    n_classes: int = len(LABELS),
) -> tuple[float, float, float]:
    r"""Precision, recall and F1 averaged over classes, the way scikit-learn averages them.

    Each of the three is averaged on its own (see :func:`average_per_class`), so the
    averaged F1 is the mean of per-class F1 values, *not* the harmonic mean of the
    averaged precision and recall. With ``"weighted"`` the recall collapses to accuracy:

    $$ \bar{\operatorname{R}}_{\text{weighted}} = \sum_c \frac{N_c}{N}\,\frac{N_{cc}}{N_c} = \frac{1}{N}\sum_c N_{cc} = \operatorname{acc} $$

    which is how one recognises the averaging behind a published table.

    >>> y, yhat = [0, 0, 1, 2, 2], [0, 2, 1, 2, 1]
    >>> [round(v, 4) for v in averaged_precision_recall_f1(y, yhat, "macro")]
    [0.6667, 0.6667, 0.6111]
    >>> averaged_precision_recall_f1(y, yhat, "weighted")[1] == accuracy(y, yhat)
    True
    """
    pc = per_class_precision_recall_f1(y_true, y_pred, n_classes)
    return (
        average_per_class(pc.precision, pc.support, average, pc.present),
        average_per_class(pc.recall, pc.support, average, pc.present),
        average_per_class(pc.f1, pc.support, average, pc.present),
    )


def macro_f1(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int = len(LABELS)) -> float:
    r"""Unweighted mean of the per-class F1 scores, :math:`\frac{1}{C}\sum_c F_c`.

    >>> round(macro_f1([0, 0, 1, 2, 2], [0, 2, 1, 2, 1]), 4)
    0.6111
    """
    return averaged_precision_recall_f1(y_true, y_pred, "macro", n_classes)[2]


def macro_recall(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, n_classes: int = len(LABELS)
) -> float:
    r"""Unweighted mean of the per-class recalls (TweetEval's sentiment metric).

    $$ \bar{\operatorname{R}}_{\text{macro}} = \frac{1}{C}\sum_{c=1}^{C} \frac{N_{cc}}{N_c} $$

    A classifier that always answers the majority class scores :math:`1/C`, however
    skewed the classes are (here 1/3, where its accuracy could be 0.64).

    >>> macro_recall([2, 2, 2, 0, 1], [2, 2, 2, 2, 2])
    0.3333333333333333
    """
    return averaged_precision_recall_f1(y_true, y_pred, "macro", n_classes)[1]


def pearson_r(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    r"""Pearson's product-moment correlation of two score vectors of shape ``(N,)``.

    For a method's scores :math:`\psi` and the mean ratings :math:`\bar\nu` (``x`` and ``y``),

    $$ r = \frac{(\psi - \langle\psi\rangle) \cdot (\bar\nu - \langle\bar\nu\rangle)}
                {\lVert \psi - \langle\psi\rangle \rVert\, \lVert \bar\nu - \langle\bar\nu\rangle \rVert} $$

    with :math:`\langle\cdot\rangle` the mean of a vector's entries.

    Returns NaN when either vector is constant (the ratio is 0/0).

    >>> pearson_r([1, 2, 3, 4], [2, 4, 6, 8])
    1.0
    >>> round(pearson_r([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.8
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"pearson_r needs two vectors of one length, got shapes {a.shape} and {b.shape}")
    if a.size < 2:
        return float("nan")
    da = a - a.mean()  # (n,) centred
    db = b - b.mean()
    denominator = np.sqrt((da * da).sum() * (db * db).sum())
    if denominator == 0.0:
        return float("nan")
    # Clip the rounding error that can push |r| a hair above 1.
    return float(np.clip((da * db).sum() / denominator, -1.0, 1.0))


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
    targets: Sequence[float] | np.ndarray | None = None,
    n_classes: int = len(LABELS),
) -> dict[str, object]:
    """The METRICS record of the comparison, as a JSON-ready dict.

    ``precision`` / ``recall`` / ``f1`` are support-weighted (the paper-style row, see the
    module docstring); ``macro_*`` are unweighted means over the classes present in the
    labels or the predictions, and ``absent_classes`` names the others (usually ``[]``).
    ``pearson_r`` correlates ``scores``
    (a method's signed score) with ``targets`` (the human mean valence), or is ``None``
    when no scores are given. ``per_class`` and ``confusion`` (rows = truth, in
    :data:`~roberta_math.labels.LABELS` order) let a reader recompute everything.

    >>> m = classification_metrics([0, 0, 1, 2, 2], [0, 2, 1, 2, 1], [-0.9, 0.3, 0.0, 0.8, 0.1], [-2, -1, 0, 3, 1])
    >>> m["n"], m["accuracy"], m["recall"], round(m["macro_f1"], 4), round(m["pearson_r"], 3)
    (5, 0.6, 0.6, 0.6111, 0.827)
    >>> m["confusion"]
    [[1, 0, 1], [0, 1, 0], [0, 1, 1]]
    >>> m = classification_metrics([0, 2, 0, 2], [0, 2, 0, 2])  # no neutral anywhere
    >>> m["macro_f1"], m["absent_classes"]
    (1.0, ['neutral'])
    """
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    pc = per_class_from_confusion(matrix)
    n = int(matrix.sum())
    names = LABELS if n_classes == len(LABELS) else tuple(str(k) for k in range(n_classes))
    record: dict[str, object] = {
        "n": n,
        "pearson_r": None if scores is None or targets is None else pearson_r(scores, targets),
        "accuracy": float(np.trace(matrix) / n) if n else float("nan"),
        "precision": average_per_class(pc.precision, pc.support, "weighted"),
        "recall": average_per_class(pc.recall, pc.support, "weighted"),
        "f1": average_per_class(pc.f1, pc.support, "weighted"),
        "macro_precision": average_per_class(pc.precision, pc.support, "macro", pc.present),
        "macro_recall": average_per_class(pc.recall, pc.support, "macro", pc.present),
        "macro_f1": average_per_class(pc.f1, pc.support, "macro", pc.present),
        "absent_classes": [name for k, name in enumerate(names) if not pc.present[k]],
        "per_class": {
            name: {
                "precision": float(pc.precision[k]),
                "recall": float(pc.recall[k]),
                "f1": float(pc.f1[k]),
                "support": int(pc.support[k]),
            }
            for k, name in enumerate(names)
        },
        "confusion": matrix.tolist(),
    }
    return record


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapInterval:
    r"""A paired-bootstrap estimate of :math:`\phi(\text{first}) - \phi(\text{second})` with its percentile interval."""

    estimate: float  # the difference on the full sample
    low: float
    high: float
    level: float  # e.g. 0.95
    n_resamples: int
    seed: int

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready fields."""
        return asdict(self)


def bootstrap_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    r"""Row indices of ``n_resamples`` bootstrap samples of ``n`` items, shape ``(n_resamples, n)``.

    Each row draws ``n`` indices uniformly with replacement from a
    ``numpy.random.default_rng(seed)`` stream, so a seed fixes every resample.

    >>> bootstrap_indices(4, 2, seed=0).shape
    (2, 4)
    >>> bool((bootstrap_indices(5, 3, 7) == bootstrap_indices(5, 3, 7)).all())
    True
    """
    if n < 1 or n_resamples < 1:
        raise ValueError(f"need n >= 1 and n_resamples >= 1, got {n} and {n_resamples}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_resamples, n))  # (n_resamples, n)


def paired_bootstrap_ci(
    metric: Callable[..., float],
    arrays_a: Sequence[np.ndarray],
    arrays_b: Sequence[np.ndarray],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    indices: np.ndarray | None = None,
) -> BootstrapInterval:
    r"""Percentile bootstrap interval for the difference of one metric between two methods.

    Both methods are scored on the *same* resampled sentences (a paired bootstrap), so
    the sentence-to-sentence difficulty shared by the two methods cancels:

    $$ \begin{gathered}
        D^{(j)} = \phi\big(\text{first}[I_j]\big) - \phi\big(\text{second}[I_j]\big), \\
        j = 1, \dots, N_\text{boot}, \\
        \text{CI} = \big[\,q_{(1 - \text{level})/2}(D),\; q_{(1 + \text{level})/2}(D)\,\big]
        \end{gathered}$$

    where :math:`\phi` is the metric, "first" and "second" the two methods' arrays,
    :math:`N_\text{boot}` = ``n_resamples``, :math:`I_j` is row :math:`j` of
    :func:`bootstrap_indices` and :math:`q` an
    empirical quantile (numpy's default linear interpolation). ``metric`` is called as
    ``metric(*arrays)`` with the arrays of one method, each of shape ``(n, ...)``; e.g.
    ``arrays_a = (y_true, pred_a)`` for :func:`accuracy` or ``(score_a, valence)`` for
    :func:`pearson_r`. The point ``estimate`` is the difference on the full sample.
    Resamples on which the metric is NaN (a constant vector for Pearson r) are dropped.

    >>> y = np.array([0, 1, 2, 2, 1, 0, 2, 2])
    >>> a, b = y.copy(), np.array([0, 1, 1, 2, 0, 0, 2, 1])
    >>> ci = paired_bootstrap_ci(accuracy, (y, a), (y, b), n_resamples=200, seed=0)
    >>> ci.estimate, ci.low <= ci.estimate <= ci.high
    (0.375, True)
    """
    columns_a = [np.asarray(x) for x in arrays_a]
    columns_b = [np.asarray(x) for x in arrays_b]
    n = len(columns_a[0])
    if any(len(x) != n for x in columns_a + columns_b):
        raise ValueError("every array of a paired bootstrap must have the same length")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if indices is None:
        indices = bootstrap_indices(n, n_resamples, seed)  # (B, n)
    estimate = float(metric(*columns_a) - metric(*columns_b))
    differences = np.array(
        [metric(*(x[row] for x in columns_a)) - metric(*(x[row] for x in columns_b)) for row in indices]
    )  # (B,)
    differences = differences[np.isfinite(differences)]
    if differences.size == 0:
        return BootstrapInterval(estimate, float("nan"), float("nan"), level, int(len(indices)), seed)
    alpha = 1.0 - level
    low, high = np.quantile(differences, [alpha / 2.0, 1.0 - alpha / 2.0])
    return BootstrapInterval(estimate, float(low), float(high), level, int(len(indices)), seed)

r"""The numbers the recipe reports: accuracy, macro-F1 and the valence correlation.

Neutral sentences are rare in the corpus (about 8 %), so accuracy alone would reward a
model that never says "neutral"; macro-F1 averages the three per-class F1 scores with
equal weight. The correlation compares the model's polarity
:math:`s = P(\text{pos}) - P(\text{neg}) \in [-1, 1]` with the raters' mean valence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def macro_f1(labels: Sequence[int], predictions: Sequence[int], num_classes: int = 3) -> float:
    r"""Unweighted mean of the per-class F1 scores.

    $$ \mathrm{F1}_c = \frac{2\,\mathrm{TP}_c}{2\,\mathrm{TP}_c + \mathrm{FP}_c + \mathrm{FN}_c}, \qquad
       \text{macro-F1} = \frac{1}{C} \sum_{c=1}^{C} \mathrm{F1}_c $$

    A class absent from both labels and predictions scores 0 (as scikit-learn's
    ``zero_division=0``).

    >>> macro_f1([0, 1, 2, 2], [0, 2, 2, 2])    # F1 = 1, 0, 0.8
    0.6
    """
    y = np.asarray(labels)
    p = np.asarray(predictions)
    scores = []
    for c in range(num_classes):
        tp = int(np.sum((y == c) & (p == c)))
        wrong = int(np.sum((y == c) != (p == c)))  # FP + FN
        scores.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(scores))


def pearson_r(x: Sequence[float], y: Sequence[float]) -> float | None:
    r"""Pearson correlation :math:`r = \frac{\sum (x_i - \bar x)(y_i - \bar y)}{\sqrt{\sum (x_i - \bar x)^2 \sum (y_i - \bar y)^2}}`.

    ``None`` when either side is constant (r is undefined).

    >>> round(pearson_r([1, 2, 3], [2, 4, 7]), 4)
    0.9934
    >>> pearson_r([1, 1], [0, 1]) is None
    True
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / denominator) if denominator > 0 else None


def classification_metrics(
    labels: Sequence[int], predictions: Sequence[int], polarity: Sequence[float], valence: Sequence[float]
) -> dict[str, float | int | None]:
    """``n``, ``accuracy``, ``macro_f1`` and ``pearson_r`` (polarity against valence).

    >>> classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], [-0.9, 0.3, 0.8, 0.7], [-2.0, 0.1, 2.5, 1.0])
    {'n': 4, 'accuracy': 0.75, 'macro_f1': 0.6, 'pearson_r': 0.9466}
    """
    n = len(labels)
    accuracy = float(np.mean(np.asarray(labels) == np.asarray(predictions))) if n else math.nan
    r = pearson_r(polarity, valence)
    return {
        "n": n,
        "accuracy": round(accuracy, 4),
        "macro_f1": round(macro_f1(labels, predictions), 4),
        "pearson_r": None if r is None else round(r, 4),
    }


def metrics_by_domain(
    domains: Sequence[str],
    labels: Sequence[int],
    predictions: Sequence[int],
    polarity: Sequence[float],
    valence: Sequence[float],
    order: Sequence[str] | None = None,
) -> dict[str, dict[str, float | int | None]]:
    """:func:`classification_metrics` for each domain (in ``order``) and ``"overall"``.

    >>> m = metrics_by_domain(["a", "a", "b"], [0, 2, 1], [0, 2, 2], [-1, 1, 0.5], [-3, 3, 0])
    >>> list(m), m["a"]["accuracy"], m["overall"]["n"]
    (['a', 'b', 'overall'], 1.0, 3)
    """
    order = list(order) if order is not None else sorted(set(domains))
    out = {}
    for domain in [*order, "overall"]:
        idx = [i for i, d in enumerate(domains) if domain == "overall" or d == domain]
        if not idx:
            continue
        out[domain] = classification_metrics(
            [labels[i] for i in idx], [predictions[i] for i in idx],
            [polarity[i] for i in idx], [valence[i] for i in idx],
        )
    return out

r"""The short metric record the recipe logs and writes to ``metrics.json``.

The metrics themselves are :mod:`roberta_math.evaluation.metrics` (one implementation
for the recipe, the comparison and the experiments); this module only picks the four
numbers the recipe reports, rounds them to four digits, and groups them by domain.
Neutral sentences are rare in the corpus (about 8 %), so accuracy alone would reward a
model that never says "neutral": macro-F1 weighs the three classes equally. The
correlation compares the model's polarity
:math:`s = P(\text{pos}) - P(\text{neg}) \in [-1, 1]` with the raters' mean valence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from roberta_math.evaluation import metrics as M


def classification_metrics(
    labels: Sequence[int], predictions: Sequence[int], polarity: Sequence[float], valence: Sequence[float]
) -> dict[str, float | int | None]:
    """``n``, ``accuracy``, ``macro_f1`` and ``pearson_r`` (polarity against valence), rounded to 4 digits.

    The numbers are those of :func:`roberta_math.evaluation.metrics.classification_metrics`;
    an undefined one (no sentences, or a constant polarity for ``pearson_r``) is ``None``.

    >>> classification_metrics([0, 1, 2, 2], [0, 2, 2, 2], [-0.9, 0.3, 0.8, 0.7], [-2.0, 0.1, 2.5, 1.0])
    {'n': 4, 'accuracy': 0.75, 'macro_f1': 0.6, 'pearson_r': 0.9466}
    >>> classification_metrics([0, 2], [0, 2], [0.5, 0.5], [-1.0, 1.0])["pearson_r"] is None
    True
    """
    full = M.classification_metrics(list(labels), list(predictions), list(polarity), list(valence))

    def rounded(key: str) -> float | None:
        value = full[key]
        return round(float(value), 4) if value is not None and math.isfinite(float(value)) else None

    return {"n": int(full["n"]), "accuracy": rounded("accuracy"), "macro_f1": rounded("macro_f1"),
            "pearson_r": rounded("pearson_r")}


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

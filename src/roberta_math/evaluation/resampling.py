r"""Paired-bootstrap intervals of each method's metric minus VADER's, per domain.

A test split of a few hundred sentences per corpus leaves room for chance: each
method's difference from the reference comes with a percentile interval from
resampling the sentences (:func:`~roberta_math.evaluation.metrics.paired_bootstrap_ci`),
both methods scored on the same resampled rows, for each metric of
:data:`BOOTSTRAP_METRICS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from roberta_math.data.corpus import Sentence
from roberta_math.evaluation import metrics as M
from roberta_math.evaluation.predictions import DOMAIN_KEYS, REFERENCE, Predictions, domain_masks

BOOTSTRAP_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "macro_recall", "f1", "pearson_r")
"""Metrics whose method-minus-VADER difference gets a bootstrap interval."""


def _bootstrap_metric(name: str) -> Callable[..., float]:
    if name == "pearson_r":
        return M.pearson_r
    if name == "accuracy":
        return M.accuracy
    if name == "macro_f1":
        return M.macro_f1
    if name == "macro_recall":
        return M.macro_recall
    if name == "f1":
        return lambda t, p: M.averaged_precision_recall_f1(t, p, "weighted")[2]
    raise ValueError(f"no bootstrap for metric {name!r}")


def bootstrap_differences(
    sentences: Sequence[Sentence],
    methods: Mapping[str, Predictions],
    *,
    reference: str = REFERENCE,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, dict[str, dict[str, float | int]]]]:
    r"""METHOD -> DOMAIN -> METRIC -> interval of (METHOD's metric) - (reference's metric).

    Within a domain every metric and method uses the same resampled rows
    (:func:`~roberta_math.evaluation.metrics.paired_bootstrap_ci`); the rows are drawn
    from a generator seeded by ``seed`` and the domain's position, so adding a method
    does not change another's interval.

    >>> rows = [Sentence("tweets", str(i), (-1.0) ** i, "t") for i in range(20)]
    >>> truth = np.array([s.label for s in rows])
    >>> methods = {"vader": Predictions(np.full(20, 2), np.full(20, 0.5) + np.arange(20) / 100),
    ...            "m": Predictions(truth, truth - 1.0)}
    >>> ci = bootstrap_differences(rows, methods, n_resamples=50)["m"]["tweets"]["accuracy"]
    >>> ci["estimate"], ci["low"] <= 0.5 <= ci["high"]
    (0.5, True)
    """
    truth = np.array([s.label for s in sentences], dtype=np.int64)
    valence = np.array([s.valence for s in sentences], dtype=np.float64)
    masks = domain_masks(sentences)
    out: dict[str, dict[str, dict[str, dict[str, float | int]]]] = {}
    for method, pred in methods.items():
        if method == reference:
            continue
        out[method] = {}
        base = methods[reference]
        for position, domain in enumerate(DOMAIN_KEYS):
            mask = masks[domain]
            n = int(mask.sum())
            if n < 2 or n_resamples < 1:
                continue
            # One index matrix per domain, shared by every metric of this domain.
            indices = M.bootstrap_indices(n, n_resamples, seed + 1000 * position)  # (B, n)
            entry: dict[str, dict[str, float | int]] = {}
            for name in BOOTSTRAP_METRICS:
                if name == "pearson_r":
                    a: tuple[np.ndarray, ...] = (pred.scores[mask], valence[mask])
                    b: tuple[np.ndarray, ...] = (base.scores[mask], valence[mask])
                else:
                    a = (truth[mask], pred.labels[mask])
                    b = (truth[mask], base.labels[mask])
                ci = M.paired_bootstrap_ci(_bootstrap_metric(name), a, b, level=level, seed=seed, indices=indices)
                entry[name] = ci.as_dict()
            out[method][domain] = entry
    return out


__all__ = ["BOOTSTRAP_METRICS", "bootstrap_differences"]

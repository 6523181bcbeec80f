r"""Calibration: does a classifier's confidence match how often it is right?

For each sentence :math:`i` the top-class confidence is :math:`\hat p_i = \max_c p_{i,c}`; grouped in
equal-width bins of :math:`[0, 1]`, a calibrated model's accuracy in a bin equals its
mean confidence there. The expected calibration error (Guo et al. 2017, "On Calibration
of Modern Neural Networks", ICML, section 2) sums the gaps weighted by bin size.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    r"""Calibration of the top-class confidence in ``bins`` equal-width bins of $[0, 1]$.

    For each sentence $i$, confidence $\hat p_i = \max_c p_{i,c}$ and correct $= [\arg\max_c p_{i,c} = y_i]$.
    Per bin $j$: count $N_j$, mean confidence $\bar p_j$, accuracy $\operatorname{acc}_j$; and the expected
    calibration error $\text{ECE} = \sum_j \frac{N_j}{N}\,|\operatorname{acc}_j - \bar p_j|$.

    >>> p = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    >>> r = reliability_bins(p, np.array([0, 2, 1]), bins=10)
    >>> r["count"][8:], r["accuracy"][9], round(r["ece"], 4)   # bin [0.9, 1.0]: 2 sentences, 1 right
    ([0, 2], 0.5, 0.3667)
    """
    confidence = probabilities.max(axis=1)  # (n,)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)  # (n,)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin b holds edges[b] <= c < edges[b+1]; a confidence of exactly 1 goes into the last bin.
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_conf = np.bincount(which, weights=confidence, minlength=bins) / np.maximum(count, 1)
    accuracy = np.bincount(which, weights=correct, minlength=bins) / np.maximum(count, 1)
    n = max(len(labels), 1)
    ece = float(np.sum(count / n * np.abs(accuracy - mean_conf)))
    return {
        "edges": edges.tolist(),
        "count": count.astype(int).tolist(),
        "confidence": [float(c) if k else None for c, k in zip(mean_conf, count, strict=True)],
        "accuracy": [float(a) if k else None for a, k in zip(accuracy, count, strict=True)],
        "ece": ece,
        "overall_accuracy": float(correct.mean()) if len(labels) else None,
        "mean_confidence": float(confidence.mean()) if len(labels) else None,
    }


__all__ = ["reliability_bins"]

r"""Calibration: does a classifier's confidence match how often it is right?

For each sentence :math:`i` the top-class confidence is :math:`\hat p_i = \max_c p_{i,c}`; grouped in
equal-width bins of :math:`[0, 1]`, a calibrated model's accuracy in a bin equals its
mean confidence there. The expected calibration error (Guo et al. 2017, "On Calibration
of Modern Neural Networks", ICML, section 2) sums the gaps weighted by bin size.

Temperature scaling (Guo et al. 2017, section 4.2) divides the logits by one number
:math:`\tau > 0` fitted on held-out data, :math:`p = \operatorname{softmax}(z / \tau)`: the
predicted class never changes (dividing by :math:`\tau` keeps the order of the logits),
only how sure the model says it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from roberta_math.math.loss import cross_entropy_loss
from roberta_math.math.softmax import softmax


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


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    r"""Mean negative log-likelihood $\frac1N \sum_i -\log \operatorname{softmax}(z_i / \tau)_{y_i}$ (nats).

    ``logits`` has shape ``(N, C)``, ``labels`` ``(N,)`` integers in ``[0, C)``. Computed
    as $\operatorname{logsumexp}(z_i/\tau) - z_{i,y_i}/\tau$ in float64, so no probability
    underflows to 0. Raises ``ValueError`` for other shapes, an empty batch or $\tau \le 0$.

    >>> round(negative_log_likelihood(np.array([[2.0, 0.0, 0.0]]), np.array([0])), 4)  # -log(e^2/(e^2+2))
    0.2395
    >>> round(negative_log_likelihood(np.array([[2.0, 0.0, 0.0]]), np.array([0]), temperature=1e9), 4)  # log 3
    1.0986
    """
    z, y = _checked(logits, labels)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature}")
    # The package's own cross-entropy (log-softmax with the row maximum subtracted), in float64.
    return float(cross_entropy_loss(torch.from_numpy(z / temperature), torch.from_numpy(y)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, tolerance: float = 1e-10) -> float:
    r"""The temperature $\tau^\star = \arg\min_{\tau > 0} \mathrm{NLL}(\tau)$ on held-out ``(logits, labels)``.

    With the inverse temperature $\omega = 1/\tau$, $\mathrm{NLL}(\omega) = \frac1N\sum_i \bigl[\operatorname{logsumexp}(\omega z_i) - \omega z_{i,y_i}\bigr]$
    is convex in $\omega$, with derivative

    $$ \begin{aligned} \frac{d\,\mathrm{NLL}}{d\omega} &= \frac1N \sum_i \Bigl(\sum_c p_{i,c}(\omega)\, z_{i,c} - z_{i,y_i}\Bigr), \\
       p_i(\omega) &= \operatorname{softmax}(\omega z_i), \end{aligned} $$

    the expected logit under the model minus the true class's logit; it increases with
    $\omega$ (its derivative is the variance of $z_i$ under $p_i$). The root is found by
    bisection on $\log\omega \in [\log 10^{-3}, \log 10^{3}]$ to ``tolerance``. If the
    derivative is positive at $\omega = 10^{-3}$ (the logits carry no signal) or negative at
    $10^3$ (a separable set: sharper is always better), the bound is returned.
    Shapes: ``logits (N, C)``, ``labels (N,)``; raises ``ValueError`` otherwise.

    >>> import math
    >>> z = np.array([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    >>> y = np.array([0, 0, 1, 1])   # 3 of 4 right: p should be 0.75, so e^(4/T) = 3 and T = 4 / ln 3
    >>> t = fit_temperature(z, y)
    >>> round(t, 4), round(4 / math.log(3), 4), round(float(np.exp(4 / t) / (np.exp(4 / t) + 1)), 4)
    (3.641, 3.641, 0.75)
    """
    z, y = _checked(logits, labels)
    true_logit = z[np.arange(len(y)), y]  # (N,)

    def slope(log_omega: float) -> float:
        p = softmax_rows(z * np.exp(log_omega))  # (N, C) = softmax(omega z_i) row by row
        return float(np.mean((p * z).sum(axis=1) - true_logit))

    low, high = np.log(1e-3), np.log(1e3)
    if slope(low) >= 0:
        return float(1 / np.exp(low))
    if slope(high) <= 0:
        return float(1 / np.exp(high))
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        if slope(middle) < 0:
            low = middle
        else:
            high = middle
    return float(np.exp(-0.5 * (low + high)))


def _checked(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or y.ndim != 1 or len(z) != len(y) or len(y) == 0:
        raise ValueError(f"need logits of shape (N, C) and labels of shape (N,) with N > 0, got {z.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must be integers in [0, {z.shape[1]}), got {y.dtype} in [{y.min()}, {y.max()}]")
    if not np.isfinite(z).all():
        raise ValueError("logits contain NaN or infinity")
    return z, y


def softmax_rows(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    r"""$\operatorname{softmax}(z_i / \tau)$ row by row in float64, shape ``(N, C)``: the package's
    :func:`~roberta_math.math.softmax.softmax` on a NumPy array.

    >>> softmax_rows(np.array([[0.0, np.log(3.0)]])).round(4).tolist()
    [[0.25, 0.75]]
    """
    return softmax(torch.from_numpy(np.asarray(logits, dtype=np.float64)), dim=-1, temperature=temperature).numpy()


__all__ = ["reliability_bins", "negative_log_likelihood", "fit_temperature", "softmax_rows"]

r"""Softmax and its companions: log-sum-exp, log-softmax and the Jacobian.

For a vector of logits $z$ and a temperature $\tau > 0$,

$$\operatorname{softmax}(z; \tau)_i = \frac{e^{z_i / \tau}}{\sum_j e^{z_j / \tau}}.$$

Subtracting $z_\text{max} = \max_j z_j$ from every logit leaves the ratio unchanged and keeps
every exponent $\le 0$, so nothing overflows even for logits of size $10^4$. The
subtraction comes *before* the division by $\tau$: $(z_i - z_\text{max})/\tau \le 0$ for every
$\tau > 0$, whereas $z_i / \tau$ overflows to $\infty$ for a tiny $\tau$ and $\infty - \infty$ is NaN.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _stable_max(x: Tensor, dim: int) -> Tensor:
    """Row maximum with ``-inf`` rows (everything masked) replaced by 0."""
    m = x.amax(dim=dim, keepdim=True)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()


def _check_temperature(temperature: float) -> None:
    if not (math.isfinite(float(temperature)) and float(temperature) > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")


def softmax(x: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    r"""Numerically stable softmax along ``dim``, with a temperature.

    $$p_i = \frac{e^{(z_i - z_\text{max})/\tau}}{\sum_j e^{(z_j - z_\text{max})/\tau}}, \qquad z_\text{max} = \max_j z_j$$

    - $z$: logits, any shape; the softmax runs along ``dim``.
    - $\tau$: ``temperature``, a finite number $> 0$ (else ``ValueError``); $\tau \to 0$ approaches
      one-hot on the argmax when the maximum is unique (``1e-39`` gives it exactly), equal
      shares among tied maxima otherwise, $\tau \to \infty$ uniform.
    - Returns $p$, the same shape as ``x``, each slice along ``dim`` summing to 1.

    A slice whose entries are all $-\infty$ (every position masked) has no
    probability to share out: it returns all zeros rather than ``nan``. A slice holding
    $+\infty$ gives its probability in equal shares to its $+\infty$ entries (the limit
    as those logits grow). A NaN logit makes its slice NaN.

    >>> softmax(torch.tensor([1.0, 2.0, 3.0]))
    tensor([0.0900, 0.2447, 0.6652])
    >>> softmax(torch.tensor([1e4, 0.0]))  # a naive exp(1e4) would overflow
    tensor([1., 0.])
    >>> softmax(torch.tensor([1.0, 2.0, 3.0]), temperature=100.0)
    tensor([0.3300, 0.3333, 0.3367])
    >>> softmax(torch.tensor([float("-inf"), float("-inf")]))
    tensor([0., 0.])
    >>> softmax(torch.tensor([1.0, 2.0, 3.0]), temperature=1e-39)  # 3/1e-39 would overflow float32
    tensor([0., 0., 1.])
    >>> softmax(torch.tensor([1.0, 2.0]), temperature=float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number > 0, got nan
    """
    _check_temperature(temperature)
    positive_inf = torch.isposinf(x)
    has_inf = positive_inf.any(dim=dim, keepdim=True)
    finite = torch.where(has_inf, torch.zeros_like(x), x)  # slices holding +inf take their limit below
    z = (finite - _stable_max(finite, dim)) / temperature  # subtract, then divide: every z <= 0
    exp = torch.exp(z)
    total = exp.sum(dim=dim, keepdim=True)
    p = exp / torch.where(total == 0, torch.ones_like(total), total)  # 0 only for an all -inf slice; NaN stays NaN
    if bool(has_inf.any()):
        share = positive_inf.to(p.dtype) / positive_inf.sum(dim=dim, keepdim=True).clamp_min(1).to(p.dtype)
        p = torch.where(has_inf, share, p)
    return p


def logsumexp(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""$\log \sum_j e^{z_j}$, computed without overflow.

    $$\begin{gathered} \operatorname{LSE}(z) = z_\text{max} + \log \sum_j e^{z_j - z_\text{max}}, \\ z_\text{max} = \max_j z_j \end{gathered}$$

    >>> logsumexp(torch.tensor([0.0, 0.0]))  # log 2
    tensor(0.6931)
    >>> logsumexp(torch.tensor([1e4, 1e4]))  # 1e4 + log 2, no overflow
    tensor(10000.6934)
    """
    m = _stable_max(x, dim)
    out = m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    r"""$\log \operatorname{softmax}(z)_i = z_i - \operatorname{LSE}(z)$, exact where softmax underflows.

    Computed as $(z_i - z_\text{max}) - \log \sum_j e^{z_j - z_\text{max}}$, so the largest logits keep
    their small log-probabilities even when $z$ is so large that $\operatorname{LSE}(z)$ rounds to $z_\text{max}$.

    >>> log_softmax(torch.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    >>> log_softmax(torch.tensor([0.0, -200.0]))  # log of a probability of 1e-87
    tensor([   0., -200.])
    >>> log_softmax(torch.tensor([float("-inf"), float("-inf")]))  # all masked: log 0, not nan
    tensor([-inf, -inf])
    """
    shifted = x - _stable_max(x, dim)  # (z - m): exact for the largest logits, which z - LSE(z) is not
    total = torch.exp(shifted).sum(dim=dim, keepdim=True)  # (..., 1), >= 1 unless the slice is all -inf
    out = shifted - torch.log(total)
    # The limits softmax takes: an all -inf slice has log-probabilities -inf (not -inf + inf = nan);
    # a slice holding k entries of +inf gives those log(1/k) and the others -inf.
    positive_inf = torch.isposinf(x)
    k = positive_inf.sum(dim=dim, keepdim=True)
    limit = torch.where(positive_inf, -torch.log(k.clamp_min(1).to(out.dtype)), torch.full_like(out, -math.inf))
    return torch.where((k > 0) | (total == 0), limit, out)


def softmax_jacobian(x: Tensor, temperature: float = 1.0) -> Tensor:
    r"""Jacobian of the softmax over the last dimension.

    $$\begin{gathered}
        \frac{\partial p_i}{\partial z_j} = \frac{1}{\tau}\, p_i(\delta_{ij} - p_j), \\
        J = \frac{1}{\tau}\left(\operatorname{diag}(p) - p^\top p\right)
        \end{gathered}$$

    with $p$ a row vector, so $p^\top p$ is the outer product, and $\tau$ the ``temperature``.

    - ``x``: logits of shape ``(..., n)``; returns ``(..., n, n)`` with $J_{ij} = \partial p_i / \partial z_j$.
    - Every row of $J$ sums to 0: adding a constant to all logits does not move $p$.

    >>> J = softmax_jacobian(torch.tensor([0.0, 0.0]))
    >>> J
    tensor([[ 0.2500, -0.2500],
            [-0.2500,  0.2500]])
    >>> J.sum(-1)
    tensor([0., 0.])
    """
    p = softmax(x, dim=-1, temperature=temperature)  # (..., n)
    outer = p.unsqueeze(-1) * p.unsqueeze(-2)  # (..., n, n) = p p^T
    return (torch.diag_embed(p) - outer) / temperature


def softmax_backward(grad_output: Tensor, probs: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    r"""Vector-Jacobian product of :func:`softmax`, in $O(n)$ per slice, from the saved probabilities.

    With $g = \partial \mathcal{L} / \partial p$ and the Jacobian of :func:`softmax_jacobian`,
    $J = \frac{1}{\tau}(\operatorname{diag}(p) - p^\top p)$ (symmetric), and row vectors:

    $$\frac{\partial \mathcal{L}}{\partial z} = g J = \frac{1}{\tau}\, p \odot \big(g - p \cdot g\big)$$

    Forming $J$ costs $n^2$ per slice; this form costs $3n$. An entry with $p_i = 0$ (a masked
    key) gets a gradient of exactly 0, and so does a slice that is entirely masked.

    - ``grad_output``: $g$; ``probs``: $p$, the forward's output; same shape, softmax along ``dim``.
    - Returns $\partial \mathcal{L} / \partial z$, the shape of ``probs``.

    Source: the softmax derivative (Bridle 1990; PyTorch's ``_softmax_backward_data``).

    >>> z, g = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.0, -2.0])
    >>> p = softmax(z)
    >>> softmax_backward(g, p)
    tensor([ 0.4200,  0.0546, -0.4746])
    >>> torch.allclose(softmax_backward(g, p), softmax_jacobian(z).T @ g)
    True
    """
    inner = (grad_output * probs).sum(dim=dim, keepdim=True)  # <p, g> per slice
    return probs * (grad_output - inner) / temperature

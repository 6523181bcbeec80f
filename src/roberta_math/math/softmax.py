r"""Softmax and its companions: log-sum-exp, log-softmax and the Jacobian.

For logits $z \in \mathbb{R}^n$ and temperature $T > 0$,

$$\operatorname{softmax}(z; T)_i = \frac{e^{z_i / T}}{\sum_{j=1}^{n} e^{z_j / T}}.$$

Subtracting $m = \max_j z_j$ from every logit leaves the ratio unchanged and keeps
every exponent $\le 0$, so nothing overflows even for logits of size $10^4$.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _stable_max(x: Tensor, dim: int) -> Tensor:
    """Row maximum with ``-inf`` rows (everything masked) replaced by 0."""
    m = x.amax(dim=dim, keepdim=True)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()


def softmax(x: Tensor, dim: int = -1, temperature: float = 1.0) -> Tensor:
    r"""Numerically stable softmax along ``dim``, with a temperature.

    $$p_i = \frac{e^{(z_i - m)/T}}{\sum_j e^{(z_j - m)/T}}, \qquad m = \max_j z_j$$

    - $z$: logits, any shape; the softmax runs along ``dim`` (size $n$).
    - $T$: ``temperature``; $T \to 0$ approaches one-hot on the argmax, $T \to \infty$ uniform.
    - Returns $p$, the same shape as ``x``, each slice along ``dim`` summing to 1.

    A slice whose entries are all $-\infty$ (every position masked) has no
    probability to share out: it returns all zeros rather than ``nan``.

    >>> softmax(torch.tensor([1.0, 2.0, 3.0]))
    tensor([0.0900, 0.2447, 0.6652])
    >>> softmax(torch.tensor([1e4, 0.0]))  # a naive exp(1e4) would overflow
    tensor([1., 0.])
    >>> softmax(torch.tensor([1.0, 2.0, 3.0]), temperature=100.0)
    tensor([0.3300, 0.3333, 0.3367])
    >>> softmax(torch.tensor([float("-inf"), float("-inf")]))
    tensor([0., 0.])
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = x / temperature
    exp = torch.exp(z - _stable_max(z, dim))  # every exponent <= 0
    total = exp.sum(dim=dim, keepdim=True)
    return exp / torch.where(total > 0, total, torch.ones_like(total))


def logsumexp(x: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""$\log \sum_j e^{z_j}$, computed without overflow.

    $$\operatorname{LSE}(z) = m + \log \sum_j e^{z_j - m}, \qquad m = \max_j z_j$$

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

    >>> log_softmax(torch.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    >>> log_softmax(torch.tensor([0.0, -200.0]))  # log of a probability of 1e-87
    tensor([   0., -200.])
    """
    return x - logsumexp(x, dim=dim, keepdim=True)


def softmax_jacobian(x: Tensor, temperature: float = 1.0) -> Tensor:
    r"""Jacobian of the softmax over the last dimension.

    $$\frac{\partial p_i}{\partial z_j} = \frac{1}{T}\, p_i(\delta_{ij} - p_j),
    \qquad J = \frac{1}{T}\left(\operatorname{diag}(p) - p\,p^\top\right)$$

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
    $J = \frac{1}{T}(\operatorname{diag}(p) - p\,p^\top)$ (symmetric, so $J^\top g = J g$):

    $$\frac{\partial \mathcal{L}}{\partial z} = J^\top g = \frac{1}{T}\, p \odot \big(g - \langle p, g\rangle\big)$$

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

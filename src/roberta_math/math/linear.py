r"""The affine map every projection in RoBERTa uses.

$$y = x W^\top + b, \qquad W \in \mathbb{R}^{d_\text{out} \times d_\text{in}},\; b \in \mathbb{R}^{d_\text{out}}$$

``W`` is stored as (out, in), the layout of ``torch.nn.Linear`` and of the checkpoints.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class Linear(NamedTuple):
    """Weight ``(d_out, d_in)`` and bias ``(d_out,)`` of one projection."""

    weight: Tensor
    bias: Tensor


def linear(x: Tensor, params: Linear) -> Tensor:
    r"""Apply $y = x W^\top + b$ to the last dimension of ``x``.

    >>> linear(torch.ones(1, 2), Linear(torch.eye(2) * 3, torch.tensor([1.0, -1.0])))
    tensor([[4., 2.]])
    """
    return x @ params.weight.T + params.bias  # (..., d_in) -> (..., d_out)


def linear_backward(grad_output: Tensor, x: Tensor, params: Linear) -> tuple[Tensor, Linear]:
    r"""Vector-Jacobian product of :func:`linear`: gradients of the input, the weight and the bias.

    Write the rows of all leading dimensions as one matrix $X \in \mathbb{R}^{n \times d_\text{in}}$,
    so $Y = X W^\top + b$, i.e. $Y_{ta} = \sum_{a'} X_{ta'} W_{aa'} + b_a$. Given
    $\mathrm{d}Y = \partial \mathcal{L} / \partial Y$ (same shape as $Y$), the chain rule entry by entry gives

    $$\begin{gathered}
        \mathrm{d}X = \mathrm{d}Y\, W, \qquad \mathrm{d}W = \mathrm{d}Y^\top X, \\
        \mathrm{d}b = \sum_{t=1}^{n} (\mathrm{d}Y)_t
        \end{gathered}$$

    - ``grad_output``: $\mathrm{d}Y$, ``(..., d_out)``; ``x``: the forward input $X$, ``(..., d_in)``;
      ``params``: the forward's weights, ``weight`` stored ``(d_out, d_in)``.
    - Returns $\partial\mathcal{L}/\partial X$ ``(..., d_in)`` and a :class:`Linear` holding
      $\partial\mathcal{L}/\partial W$ ``(d_out, d_in)`` and $\partial\mathcal{L}/\partial b$ ``(d_out,)``,
      laid out as the weights themselves (as ``torch.nn.Linear`` lays out ``weight.grad``).
    - Cost: two products of the forward's size, $4 n\, d_\text{in} d_\text{out}$ FLOPs against the
      forward's $2 n\, d_\text{in} d_\text{out}$.

    Source: the derivatives of ``mm``/``addmm`` in PyTorch's ``tools/autograd/derivatives.yaml``.

    >>> x = torch.tensor([[1.0, 2.0]])
    >>> w = Linear(torch.tensor([[3.0, 4.0]]), torch.tensor([0.5]))  # y = 3 x_1 + 4 x_2 + 0.5
    >>> dx, dw = linear_backward(torch.tensor([[2.0]]), x, w)
    >>> dx, dw.weight, dw.bias
    (tensor([[6., 8.]]), tensor([[2., 4.]]), tensor([2.]))
    """
    d_out, d_in = params.weight.shape
    rows_grad = grad_output.reshape(-1, d_out)  # (n, d_out)
    grad_x = grad_output @ params.weight  # (..., d_in) = G W
    grad_weight = rows_grad.T @ x.reshape(-1, d_in)  # (d_out, d_in) = G^T X
    grad_bias = rows_grad.sum(dim=0)  # (d_out,)
    return grad_x, Linear(grad_weight, grad_bias)

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

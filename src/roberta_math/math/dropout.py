r"""Inverted dropout with a given mask, and its backward.

While training, ``transformers``' RoBERTa zeroes each entry with probability $p$ and scales the
survivors by $1/(1-p)$, so the expected activation is unchanged and evaluation needs no
rescaling ("inverted" dropout). With the keep-mask $m \in \{0, 1\}$ drawn once per forward pass,

$$y = \frac{m \odot x}{1 - p}, \qquad \frac{\partial \mathcal{L}}{\partial x} = \frac{m \odot \mathrm{d}y}{1 - p}.$$

Source: Srivastava et al. (2014), section 10 ("scaling at training time"); PyTorch's
``aten/src/ATen/native/Dropout.cpp``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def dropout_mask(shape: tuple[int, ...] | torch.Size, p: float, generator: torch.Generator | None = None) -> Tensor:
    r"""A keep-mask: each entry is 1 with probability $1 - p$, else 0 (``float32``).

    >>> dropout_mask((2, 3), 0.0)
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    return (torch.rand(shape, generator=generator) >= p).float()


def dropout(x: Tensor, keep: Tensor, p: float) -> Tensor:
    r"""Inverted dropout with the keep-mask $m$: $y = m \odot x / (1 - p)$.

    - ``x``: any shape; ``keep``: broadcastable to ``x``, 1 where an entry survives; ``p``: the drop probability.

    >>> dropout(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([1.0, 0.0, 1.0, 1.0]), p=0.5)
    tensor([2., 0., 6., 8.])
    """
    return x * keep.to(x.dtype) / (1.0 - p)


def dropout_backward(grad_output: Tensor, keep: Tensor, p: float) -> Tensor:
    r"""Vector-Jacobian product of :func:`dropout`: $\mathrm{d}x = m \odot \mathrm{d}y / (1 - p)$.

    The map is linear and diagonal in $x$, so the backward applies the same mask and scale:
    a dropped entry gets no gradient.

    >>> dropout_backward(torch.ones(4), torch.tensor([1.0, 0.0, 1.0, 1.0]), p=0.5)
    tensor([2., 0., 2., 2.])
    """
    return grad_output * keep.to(grad_output.dtype) / (1.0 - p)

r"""Scaled dot-product attention and its multi-head form.

For queries $Q \in \mathbb{R}^{n_q \times d_k}$, keys $K \in \mathbb{R}^{n_k \times d_k}$ and
values $V \in \mathbb{R}^{n_k \times d_v}$,

$$\operatorname{Attention}(Q, K, V) = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V,$$

where $M_{ij} = 0$ if query $i$ may look at key $j$ and $-\infty$ if key $j$ is masked
(padding). Dividing by $\sqrt{d_k}$ keeps the scores at unit variance when the
components of $q$ and $k$ are independent with unit variance (see the attention page).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math.linear import Linear, linear
from roberta_math.math.softmax import softmax


def self_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    r"""Scaled dot-product attention: the output and the attention weights.

    $$A = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right), \qquad O = A V$$

    - ``query``: $Q$, shape ``(..., seq_q, d_k)``; ``key``: $K$, ``(..., seq_k, d_k)``;
      ``value``: $V$, ``(..., seq_k, d_v)``.
    - ``mask``: broadcastable to ``(..., seq_q, seq_k)``; nonzero/``True`` where a query may
      attend to a key, ``0``/``False`` where it may not (the seed notebook's convention).
    - Returns $O$ ``(..., seq_q, d_v)`` and $A$ ``(..., seq_q, seq_k)``.

    Masked keys get weight exactly 0. A query whose keys are *all* masked gets weights
    of 0 everywhere and an output of 0 (``torch``'s own kernels return ``nan`` there).

    >>> q = k = v = torch.eye(2).unsqueeze(0)  # two orthogonal tokens
    >>> out, w = self_attention(q, k, v)
    >>> w
    tensor([[[0.6698, 0.3302],
             [0.3302, 0.6698]]])
    >>> _, w = self_attention(q, k, v, mask=torch.tensor([1, 0]))  # hide the 2nd token
    >>> w
    tensor([[[1., 0.],
             [1., 0.]]])
    """
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (..., seq_q, seq_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    attention_weights = softmax(scores, dim=-1)  # (..., seq_q, seq_k)
    output = attention_weights @ value  # (..., seq_q, d_v)
    return output, attention_weights


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    r"""Cut the hidden dimension into $h$ heads of size $d_k = d / h$.

    ``(batch, seq, d)`` $\to$ ``(batch, heads, seq, d_k)``.

    >>> split_heads(torch.arange(8.0).view(1, 2, 4), num_heads=2)[0, 1]
    tensor([[2., 3.],
            [6., 7.]])
    """
    batch, seq, hidden = x.shape
    if hidden % num_heads:
        raise ValueError(f"hidden size {hidden} is not divisible by {num_heads} heads")
    return x.view(batch, seq, num_heads, hidden // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    r"""Concatenate the heads again: ``(batch, heads, seq, d_k)`` $\to$ ``(batch, seq, heads * d_k)``.

    >>> x = torch.randn(2, 3, 4)
    >>> torch.equal(merge_heads(split_heads(x, num_heads=2)), x)
    True
    """
    batch, heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * head_dim)


class AttentionWeights(NamedTuple):
    """The four projections of one self-attention block (each ``(d, d)`` plus bias)."""

    query: Linear
    key: Linear
    value: Linear
    output: Linear


def multi_head_attention(
    hidden: Tensor,
    weights: AttentionWeights,
    num_heads: int,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Multi-head self-attention of one layer, from the layer's weights.

    $$\operatorname{head}_i = \operatorname{Attention}(X W^Q_i, X W^K_i, X W^V_i), \qquad
    \operatorname{MHA}(X) = \operatorname{Concat}(\operatorname{head}_1, \dots, \operatorname{head}_h)\, W^O + b^O$$

    - ``hidden``: $X$, ``(batch, seq, d)``; ``num_heads``: $h$, each of size $d_k = d/h$.
    - ``mask``: ``(batch, seq)`` with 1 for real tokens and 0 for padding (keys only: padded
      queries still produce an output, which later layers ignore).
    - Returns the projected output ``(batch, seq, d)`` and the attention weights
      ``(batch, heads, seq, seq)``.

    >>> d = 4
    >>> eye = Linear(torch.eye(d), torch.zeros(d))
    >>> out, w = multi_head_attention(torch.randn(1, 3, d), AttentionWeights(eye, eye, eye, eye), 2)
    >>> out.shape, w.shape
    (torch.Size([1, 3, 4]), torch.Size([1, 2, 3, 3]))
    """
    q = split_heads(linear(hidden, weights.query), num_heads)  # (batch, heads, seq, d_k)
    k = split_heads(linear(hidden, weights.key), num_heads)  # (batch, heads, seq, d_k)
    v = split_heads(linear(hidden, weights.value), num_heads)  # (batch, heads, seq, d_k)
    key_mask = None if mask is None else mask[:, None, None, :]  # (batch, 1, 1, seq)
    context, attention_weights = self_attention(q, k, v, key_mask)  # (batch, heads, seq, d_k)
    output = linear(merge_heads(context), weights.output)  # (batch, seq, d)
    return output, attention_weights

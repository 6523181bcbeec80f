r"""One encoder layer: self-attention and a feed-forward block, each with a residual and a LayerNorm.

RoBERTa (like BERT) normalises *after* adding the residual ("post-LN"):

$$H' = \operatorname{LayerNorm}\big(H + \operatorname{MHA}(H)\big), \qquad
H'' = \operatorname{LayerNorm}\big(H' + \operatorname{FFN}(H')\big)$$
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math.attention import AttentionWeights, multi_head_attention
from roberta_math.math.embeddings import layer_norm
from roberta_math.math.linear import Linear, linear


def gelu(x: Tensor) -> Tensor:
    r"""The Gaussian error linear unit, exact form (RoBERTa's ``hidden_act="gelu"``).

    $$\operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}\frac{x}{\sqrt 2}\right)$$

    >>> gelu(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def feed_forward(x: Tensor, intermediate: Linear, output: Linear) -> Tensor:
    r"""The position-wise feed-forward block.

    $$\operatorname{FFN}(x) = \operatorname{GELU}(x W_1^\top + b_1)\, W_2^\top + b_2$$

    - ``x``: ``(batch, seq, d)``; $W_1$: ``(d_ff, d)`` (3072 x 768 in roberta-base); $W_2$: ``(d, d_ff)``.

    >>> d, d_ff = 2, 3
    >>> up = Linear(torch.ones(d_ff, d), torch.zeros(d_ff))
    >>> down = Linear(torch.ones(d, d_ff), torch.zeros(d))
    >>> feed_forward(torch.zeros(1, 1, d), up, down)  # GELU(0) = 0
    tensor([[[0., 0.]]])
    """
    return linear(gelu(linear(x, intermediate)), output)  # (batch, seq, d_ff) -> (batch, seq, d)


class EncoderLayerWeights(NamedTuple):
    """Everything one encoder layer reads."""

    attention: AttentionWeights
    attention_ln_gamma: Tensor  # (d,)
    attention_ln_beta: Tensor  # (d,)
    intermediate: Linear  # (d_ff, d)
    output: Linear  # (d, d_ff)
    output_ln_gamma: Tensor  # (d,)
    output_ln_beta: Tensor  # (d,)


def encoder_layer(
    hidden: Tensor,
    weights: EncoderLayerWeights,
    num_heads: int,
    mask: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    r"""One post-LN transformer encoder layer.

    $$H' = \operatorname{LayerNorm}\big(H + \operatorname{MHA}(H)\big), \qquad
    H'' = \operatorname{LayerNorm}\big(H' + \operatorname{FFN}(H')\big)$$

    - ``hidden``: $H$, ``(batch, seq, d)``; ``mask``: ``(batch, seq)``, 1 for tokens, 0 for padding.
    - Returns $H''$ ``(batch, seq, d)`` and the attention weights ``(batch, heads, seq, seq)``.

    >>> d = 4
    >>> lin = Linear(torch.eye(d), torch.zeros(d))
    >>> w = EncoderLayerWeights(AttentionWeights(lin, lin, lin, lin), torch.ones(d), torch.zeros(d),
    ...                         lin, lin, torch.ones(d), torch.zeros(d))
    >>> out, attn = encoder_layer(torch.randn(2, 3, d), w, num_heads=2)
    >>> out.shape, attn.shape
    (torch.Size([2, 3, 4]), torch.Size([2, 2, 3, 3]))
    >>> torch.allclose(out.mean(-1), torch.zeros(2, 3), atol=1e-6)  # LayerNorm comes last
    True
    """
    attended, attention_weights = multi_head_attention(hidden, weights.attention, num_heads, mask)
    hidden = layer_norm(hidden + attended, weights.attention_ln_gamma, weights.attention_ln_beta, eps)
    transformed = feed_forward(hidden, weights.intermediate, weights.output)  # (batch, seq, d)
    hidden = layer_norm(hidden + transformed, weights.output_ln_gamma, weights.output_ln_beta, eps)
    return hidden, attention_weights

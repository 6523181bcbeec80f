r"""The cost of the forward pass: floating-point operations, by formula and by count.

A matrix product of an $(m \times k)$ and a $(k \times p)$ matrix takes $m k p$
multiply-adds, counted as $2 m k p$ FLOPs (one multiplication, one addition), the
convention of ``torch.utils.flop_counter.FlopCounterMode`` and of Kaplan et al. (2020,
section 2.1). Only matrix products are counted: biases, softmax, GELU and LayerNorm add
$O(n d)$ and $O(n^2 H)$ operations, negligible next to the products.

One encoder layer on a sequence of $n$ tokens of width $d$, with feed-forward width
$d_\text{ff}$:

$$
\begin{aligned}
&\underbrace{4 \cdot 2 n d^2}_{W_Q, W_K, W_V, W_O}
+ \underbrace{2 \cdot 2 n d\, d_\text{ff}}_{\text{feed-forward}} \\
&\quad + \underbrace{2 n^2 d}_{Q K^\top} + \underbrace{2 n^2 d}_{A V}
\;\overset{d_\text{ff} = 4d}{=}\; 24 n d^2 + 4 n^2 d .
\end{aligned}
$$

The two attention products do not depend on the number of heads $H$: each head
multiplies $n \times d_h$ by $d_h \times n$ matrices, and $H d_h = d$ (symbols as on
the notation page).

:func:`count_matmul_flops` counts the products the from-scratch forward pass
(:mod:`roberta_math.model.forward`) actually executes, from their operands' shapes;
the tests check it against :func:`encoder_layer_flops` and against PyTorch's own
counter on the ``transformers`` model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


@dataclass(frozen=True)
class LayerFlops:
    """FLOPs of one encoder layer, by part (see :func:`encoder_layer_flops`)."""

    projections: int  # Q, K, V and output projections: 8 n d^2
    feed_forward: int  # two linear maps: 4 n d d_ff
    attention: int  # Q K^T and A V: 4 n^2 d

    @property
    def total(self) -> int:
        """All three parts."""
        return self.projections + self.feed_forward + self.attention


def encoder_layer_flops(n: int, d: int, d_ff: int | None = None) -> LayerFlops:
    r"""FLOPs of the matrix products of one encoder layer.

    $$\begin{gathered} 8 n d^2 + 4 n d\, d_\text{ff} + 4 n^2 d \;=\; 24 n d^2 + 4 n^2 d \\ (d_\text{ff} = 4d) \end{gathered}$$

    - ``n``: tokens in the sequence ($\ge 1$); ``d``: hidden size; ``d_ff``: feed-forward
      width (default $4d$, as in roberta-base: 3072 for $d = 768$).
    - Returns a :class:`LayerFlops`; ``.total`` is the sum. Raises ``ValueError`` for a
      size below 1.

    Source: the layer of Vaswani et al. (2017, section 3), as ``RobertaLayer`` in
    transformers' ``modeling_roberta.py`` computes it.

    >>> f = encoder_layer_flops(n=128, d=768)  # roberta-base, 128 tokens
    >>> f.total == 24 * 128 * 768**2 + 4 * 128**2 * 768
    True
    >>> f.total / 1e9  # GFLOPs per layer
    1.86...
    """
    d_ff = 4 * d if d_ff is None else d_ff
    if min(n, d, d_ff) < 1:
        raise ValueError(f"n, d and d_ff must be at least 1, got n={n}, d={d}, d_ff={d_ff}")
    return LayerFlops(projections=8 * n * d * d, feed_forward=4 * n * d * d_ff, attention=4 * n * n * d)


def attention_share(n: int, d: int, d_ff: int | None = None) -> float:
    r"""The fraction of a layer's FLOPs spent in $QK^\top$ and $AV$: $\dfrac{4n^2d}{8nd^2 + 4nd\,d_\text{ff} + 4n^2d}$.

    With $d_\text{ff} = 4d$ it is $n / (6d + n)$: one half at $n = 6d$
    (:func:`crossover_length`), about a tenth at roberta-base's longest input.

    >>> round(attention_share(512, 768), 3)  # roberta-base, 512 tokens
    0.1
    >>> attention_share(6 * 768, 768)
    0.5
    """
    f = encoder_layer_flops(n, d, d_ff)
    return f.attention / f.total


def crossover_length(d: int, d_ff: int | None = None) -> float:
    r"""The length $n$ at which the $n^2$ term equals the rest: $4n^2d = 8nd^2 + 4nd\,d_\text{ff}$,
    so $n = 2d + d_\text{ff}$ ($= 6d$ for $d_\text{ff} = 4d$).

    >>> crossover_length(768)  # roberta-base: far beyond its 512 positions
    4608
    >>> crossover_length(128, 512)  # the embedded model: beyond its 128 tokens too
    768
    """
    d_ff = 4 * d if d_ff is None else d_ff
    return 2 * d + d_ff


def _matmul_flops(a: torch.Tensor, b: torch.Tensor) -> int:
    """2 m k p for each matrix of the (broadcast) batch of products ``a @ b``."""
    a = a.unsqueeze(0) if a.dim() == 1 else a  # a vector is a 1 x k matrix
    b = b.unsqueeze(-1) if b.dim() == 1 else b  # ... or a k x 1 one on the right
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k = a.shape[-2:]
    p = b.shape[-1]
    return 2 * math.prod(batch) * m * k * p


class _MatmulCounter(TorchFunctionMode):
    """Counts the FLOPs of every ``@``/``matmul``/``mm``/``bmm``/``linear`` executed inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.calls = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in (torch.Tensor.__matmul__, torch.matmul, torch.Tensor.matmul, torch.mm, torch.bmm):
            self.flops += _matmul_flops(args[0], args[1])
            self.calls += 1
        elif func is torch.Tensor.__rmatmul__:
            self.flops += _matmul_flops(args[1], args[0])
            self.calls += 1
        elif func is torch.nn.functional.linear:
            self.flops += _matmul_flops(args[0], args[1].T)
            self.calls += 1
        return func(*args, **kwargs)


def count_matmul_flops(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any]:
    r"""Run ``function(*args, **kwargs)`` and count the FLOPs of the matrix products it executes.

    Each product $A B$ of shapes $(\dots, m, k)$ and $(\dots, k, p)$ counts $2mkp$ per
    matrix of the broadcast batch. Products are seen through PyTorch's function override
    mechanism (``torch.overrides.TorchFunctionMode``), so the count comes from the shapes
    that actually flow through the code, not from a formula.

    - Returns ``(flops, result)``: the count and whatever ``function`` returned.

    >>> x, w = torch.ones(3, 4), torch.ones(5, 4)
    >>> count_matmul_flops(lambda: x @ w.T)[0]  # 2 * 3 * 4 * 5
    120
    >>> count_matmul_flops(lambda: torch.ones(2, 6, 3, 4) @ torch.ones(4, 3))[0]  # 12 products of 3x4 by 4x3
    864
    """
    with _MatmulCounter() as counter:
        result = function(*args, **kwargs)
    return counter.flops, result


def forward_flops(model: torch.nn.Module, n: int, batch: int = 1) -> int:
    r"""FLOPs of the matrix products of the from-scratch classifier on ``batch`` sequences of ``n`` tokens.

    Runs :func:`roberta_math.model.forward.classify_from_scratch` on dummy token ids under
    :func:`count_matmul_flops`. For $L$ layers this is
    $L \cdot (8nd^2 + 4nd\,d_\text{ff} + 4n^2d)$ per sequence, plus the head's
    $2d^2 + 2dC$ for $C$ classes (it reads ``<s>`` only); the embeddings are lookups.

    - ``model``: a ``transformers`` ``RobertaForSequenceClassification``; ``n`` from 1 to
      its ``max_position_embeddings - padding_idx - 1``. Raises ``ValueError`` otherwise.

    >>> from transformers import RobertaConfig, RobertaForSequenceClassification
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                        intermediate_size=32, max_position_embeddings=20, num_labels=3)
    >>> model = RobertaForSequenceClassification(config).eval()
    >>> forward_flops(model, n=10) == 2 * encoder_layer_flops(10, 8).total + 2 * 8 * 8 + 2 * 8 * 3
    True
    """
    from roberta_math.model.forward import classify_from_scratch

    config = model.config
    longest = config.max_position_embeddings - config.pad_token_id - 1
    if not 1 <= n <= longest:
        raise ValueError(f"n must be between 1 and {longest} for this model, got {n}")
    ids = torch.full((batch, n), 5 % config.vocab_size, dtype=torch.long)  # any non-padding token
    flops, _ = count_matmul_flops(classify_from_scratch, model, ids, torch.ones_like(ids))
    return flops

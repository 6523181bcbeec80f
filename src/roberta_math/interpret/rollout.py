r"""Attention rollout (Abnar and Zuidema 2020): attention weights multiplied through the layers, with the residual.

Each layer's output row $t$ mixes the rows of its input with the head-averaged attention
weights $\bar{A}^{(\ell)} = \frac{1}{H}\sum_{h=1}^{H} A^{(\ell, h)}$ (row $t$ = query $t$, column $j$ =
key $j$, each row sums to 1), and the residual connection adds the row itself. Rollout models
the residual as half of the mix,

$$\begin{gathered}
\hat{A}^{(\ell)} = \tfrac{1}{2} I + \tfrac{1}{2} \bar{A}^{(\ell)}, \\
R = \hat{A}^{(L)} \hat{A}^{(L-1)} \cdots \hat{A}^{(1)},
\end{gathered}$$

so in the row convention ($X^{(\ell)} \approx \hat{A}^{(\ell)} X^{(\ell-1)}$) the recursion is
$R^{(\ell)} = \hat{A}^{(\ell)} R^{(\ell-1)}$ with $R^{(0)} = I$, and $R_{tj}$ is how much of input
token $j$ reaches row $t$ of the last layer. The classifier reads only ``<s>``, so the
attribution of token $j$ is $\chi^\text{rollout}_j = R_{1j}$ (row 1 in equations, ``[0]`` in
code). Every row of $R$ sums to 1 and is never negative: rollout says *how much*, never *which
way* (no sign, and no dependence on the class $c$).

Source: Abnar and Zuidema (2020), "Quantifying Attention Flow in Transformers", section 3.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def attention_rollout(attentions: Sequence[Tensor]) -> Tensor:
    r"""$R = \hat{A}^{(L)} \cdots \hat{A}^{(1)}$ with $\hat{A}^{(\ell)} = \tfrac12 I + \tfrac12 \bar{A}^{(\ell)}$, ``(batch, seq, seq)``.

    - ``attentions``: $L$ tensors ``(batch, heads, seq, seq)``, layer 1 first, as
      :func:`~roberta_math.model.forward.classify_from_scratch` returns them.
    - Raises ``ValueError`` for no layers or a tensor that is not ``(batch, heads, seq, seq)``.

    By hand, one layer, one head, two tokens, $A = \begin{pmatrix}0 & 1\\ 1 & 0\end{pmatrix}$:
    $\hat{A} = \begin{pmatrix}0.5 & 0.5\\ 0.5 & 0.5\end{pmatrix}$.

    >>> attention_rollout([torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])])
    tensor([[[0.5000, 0.5000],
             [0.5000, 0.5000]]])
    """
    if len(attentions) == 0:
        raise ValueError("attention rollout needs at least one layer's attention weights")
    rollout = None
    for layer, a in enumerate(attentions):
        if a.dim() != 4 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"layer {layer + 1}'s attention weights have shape {tuple(a.shape)}: expected (batch, heads, seq, seq)")
        mixed = a.mean(dim=1)  # (batch, seq, seq): A-bar, heads averaged
        eye = torch.eye(a.shape[-1], dtype=a.dtype).expand_as(mixed)
        a_hat = 0.5 * eye + 0.5 * mixed  # (batch, seq, seq)
        rollout = a_hat if rollout is None else a_hat @ rollout  # R^(l) = A-hat^(l) R^(l-1)
    assert rollout is not None
    return rollout


def rollout_from_start(attentions: Sequence[Tensor]) -> Tensor:
    r"""$\chi^\text{rollout}_j = R_{1j}$, the ``<s>`` row of :func:`attention_rollout`, ``(batch, seq)``; each row sums to 1.

    >>> a = torch.softmax(torch.randn(2, 3, 4, 4), dim=-1)  # one layer, 3 heads
    >>> phi = rollout_from_start([a, a])
    >>> phi.shape, torch.allclose(phi.sum(-1), torch.ones(2))
    (torch.Size([2, 4]), True)
    """
    return attention_rollout(attentions)[:, 0, :]  # (batch, seq)

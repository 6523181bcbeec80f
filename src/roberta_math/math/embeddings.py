r"""RoBERTa's input embeddings: token + position + token type, then LayerNorm.

$$E = \operatorname{LayerNorm}\big(W^\text{tok}[x] + W^\text{pos}[\pi(x)] + W^\text{type}[0]\big)$$

The positions $\pi(x)$ are RoBERTa's own: real tokens are numbered from
$\text{padding\_idx} + 1$ (so from 2), and padding keeps position $\text{padding\_idx}$.
That offset is why roberta-base has 514 position embeddings for 512 tokens.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


def position_ids_from_input_ids(input_ids: Tensor, padding_idx: int = 1) -> Tensor:
    r"""RoBERTa's position ids: count real tokens from $\text{padding\_idx} + 1$; padding stays at $\text{padding\_idx}$.

    $$\pi_t = \begin{cases} \text{padding\_idx} + \sum_{s \le t} [x_s \ne \text{pad}] & x_t \ne \text{pad} \\
    \text{padding\_idx} & x_t = \text{pad} \end{cases}$$

    - ``input_ids``: ``(batch, seq)`` token ids; ``padding_idx``: the id of ``<pad>`` (1 in RoBERTa).
    - Returns ``(batch, seq)`` position ids.

    >>> position_ids_from_input_ids(torch.tensor([[0, 31414, 2, 1, 1]]))  # <s> Hello </s> <pad> <pad>
    tensor([[2, 3, 4, 1, 1]])
    """
    is_token = input_ids.ne(padding_idx).long()  # (batch, seq)
    return torch.cumsum(is_token, dim=1) * is_token + padding_idx


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    r"""Normalise each vector to zero mean and unit variance, then scale and shift.

    $$\operatorname{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,
    \qquad \mu = \frac{1}{d}\sum_i x_i,\quad \sigma^2 = \frac{1}{d}\sum_i (x_i - \mu)^2$$

    - ``x``: ``(..., d)``; ``gamma``, ``beta``: ``(d,)``; the variance is the biased one ($1/d$).

    >>> layer_norm(torch.tensor([1.0, 2.0, 3.0]), torch.ones(3), torch.zeros(3))
    tensor([-1.2247,  0.0000,  1.2247])
    """
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # (..., 1), biased
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


class EmbeddingWeights(NamedTuple):
    """The three embedding tables and the LayerNorm that follows them."""

    word: Tensor  # (vocab, d)
    position: Tensor  # (max_positions, d), e.g. 514 for roberta-base
    token_type: Tensor  # (type_vocab, d), 1 row in RoBERTa
    ln_gamma: Tensor  # (d,)
    ln_beta: Tensor  # (d,)


def roberta_embeddings(
    input_ids: Tensor,
    weights: EmbeddingWeights,
    padding_idx: int = 1,
    eps: float = 1e-5,
    token_type_ids: Tensor | None = None,
) -> Tensor:
    r"""Embed token ids: word + position + token type, then LayerNorm.

    $$E_t = \operatorname{LayerNorm}\big(W^\text{tok}_{x_t} + W^\text{pos}_{\pi_t} + W^\text{type}_{s_t}\big)$$

    - ``input_ids``: $x$, ``(batch, seq)``; ``token_type_ids``: $s$, ``(batch, seq)``, all 0 by default.
    - Returns $E$, ``(batch, seq, d)``.
    - Raises ``ValueError`` naming both lengths when a row has more tokens than the
      position table allows (rows $-$ ``padding_idx`` $-$ 1), instead of an index error.

    >>> d, vocab = 4, 10
    >>> w = EmbeddingWeights(torch.randn(vocab, d), torch.randn(8, d), torch.randn(1, d), torch.ones(d), torch.zeros(d))
    >>> roberta_embeddings(torch.tensor([[0, 5, 2, 1]]), w).shape
    torch.Size([1, 4, 4])
    """
    positions = position_ids_from_input_ids(input_ids, padding_idx)  # (batch, seq)
    if positions.numel() and int(positions.max()) >= weights.position.shape[0]:
        # An index past the table would be an IndexError deep inside torch: name both lengths.
        most = weights.position.shape[0] - padding_idx - 1
        raise ValueError(f"the input has {int(positions.max()) - padding_idx} tokens but the position table allows at most {most}")
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    summed = (
        weights.word[input_ids]  # (batch, seq, d)
        + weights.position[positions]  # (batch, seq, d)
        + weights.token_type[token_type_ids]  # (batch, seq, d)
    )
    return layer_norm(summed, weights.ln_gamma, weights.ln_beta, eps)

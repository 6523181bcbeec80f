r"""RoBERTa's input embeddings: token + position + token type, then LayerNorm.

$$\begin{aligned}
X^{(0)}_t &= \operatorname{LayerNorm}\big(E^\text{tok}[x_t] + E^\text{pos}[\pi_t] \\
&\qquad + E^\text{type}[0]\big), \qquad t = 1, \dots, n,
\end{aligned}$$

with $E[i]$ the row of a table for id $i$ (symbols: the site's notation page). The position
ids $\pi_t$ are RoBERTa's own: real tokens are numbered from
$\text{padding\_idx} + 1$ (so from 2), and padding keeps position $\text{padding\_idx}$.
That offset is why roberta-base has 514 position embeddings for 512 tokens.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor


def position_ids_from_input_ids(input_ids: Tensor, padding_idx: int = 1) -> Tensor:
    r"""RoBERTa's position ids: count real tokens from $\text{padding\_idx} + 1$; padding stays at $\text{padding\_idx}$.

    $$\pi_t = \begin{cases} \text{padding\_idx} + \sum_{t' \le t} [x_{t'} \ne \text{pad}] \\
    \qquad \text{if } x_t \ne \text{pad} \\
    \text{padding\_idx} \qquad \text{if } x_t = \text{pad} \end{cases}$$

    - ``input_ids``: ``(batch, seq)`` token ids; ``padding_idx``: the id of ``<pad>`` (1 in RoBERTa).
    - Returns ``(batch, seq)`` position ids.

    >>> position_ids_from_input_ids(torch.tensor([[0, 31414, 2, 1, 1]]))  # <s> Hello </s> <pad> <pad>
    tensor([[2, 3, 4, 1, 1]])
    """
    is_token = input_ids.ne(padding_idx).long()  # (batch, seq)
    return torch.cumsum(is_token, dim=1) * is_token + padding_idx


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    r"""Normalise each vector to zero mean and unit variance, then scale and shift.

    $$\begin{gathered}
        \operatorname{LayerNorm}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \\
        \mu = \frac{1}{d}\sum_i x_i, \quad \sigma^2 = \frac{1}{d}\sum_i (x_i - \mu)^2
        \end{gathered}$$

    - ``x``: ``(..., d)``; ``gamma``, ``beta``: ``(d,)``; the variance is the biased one ($1/d$).
    - ``eps``: $\epsilon$, a finite number $> 0$ (else ``ValueError``: with 0 a constant vector is 0/0).

    A vector so large that its squares would overflow (beyond $\sqrt{\text{max} / d}/2$,
    about $3 \cdot 10^{17}$ in float32 for $d = 768$) is first divided by $c = \max_i |x_i|$,
    which leaves the result unchanged ($\epsilon$ becomes $\epsilon / c^2$): inputs of
    $10^{20}$ normalise correctly, where ``torch.nn.functional.layer_norm`` returns NaN or 0 (torch 2.13).
    Smaller vectors take the plain formula, bit for bit.

    >>> layer_norm(torch.tensor([1.0, 2.0, 3.0]), torch.ones(3), torch.zeros(3))
    tensor([-1.2247,  0.0000,  1.2247])
    >>> layer_norm(torch.tensor([1e20, 2e20, 3e20]), torch.ones(3), torch.zeros(3))
    tensor([-1.2247,  0.0000,  1.2247])
    >>> F = torch.nn.functional  # torch 2.13's kernel on the same and a centred huge row
    >>> F.layer_norm(torch.tensor([1e20, 2e20, 3e20]), (3,)), F.layer_norm(torch.tensor([-1e20, 0.0, 1e20]), (3,))
    (tensor([nan, nan, nan]), tensor([0., 0., 0.]))
    """
    if not (math.isfinite(float(eps)) and float(eps) > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    size = x.detach().abs().amax(dim=-1, keepdim=True)  # (..., 1)
    too_big = torch.isfinite(size) & (size > math.sqrt(torch.finfo(x.dtype).max / max(x.shape[-1], 1)) / 2)
    scale = torch.where(too_big, size, torch.ones_like(size))  # (..., 1); 1 for every ordinary vector
    y = x / scale
    mean = y.mean(dim=-1, keepdim=True)  # (..., 1)
    var = ((y - mean) ** 2).mean(dim=-1, keepdim=True)  # (..., 1), biased
    root = torch.sqrt(var + eps / scale**2)  # eps / c^2 may underflow to 0 for a huge constant vector:
    root = torch.where(root > 0, root, torch.ones_like(root))  # then y - mean = 0 too, and 0 / 1 is the limit
    return gamma * (y - mean) / root + beta


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

    $$\begin{aligned}
        X^{(0)}_t &= \operatorname{LayerNorm}\big(E^\text{tok}[x_t] + E^\text{pos}[\pi_t] \\
        &\qquad + E^\text{type}[\text{type}_t]\big)
        \end{aligned}$$

    - ``input_ids``: $x$, ``(batch, seq)``; ``token_type_ids``: the ids $\text{type}_t$, ``(batch, seq)``,
      all 0 by default (RoBERTa has a single type).
    - Returns $X^{(0)}$, ``(batch, seq, d)``.
    - Raises ``ValueError`` naming both lengths when a row has more tokens than the
      position table allows (rows $-$ ``padding_idx`` $-$ 1), instead of an index error.

    By hand, for ``<s> w </s> <pad>`` with ids ``0 5 2 1``: the positions are $2, 3, 4$ and the
    padding's $1$, every token has type 0, and ``torch.nn.functional.layer_norm`` normalises the sum:

    >>> d, vocab = 4, 10
    >>> w = EmbeddingWeights(torch.randn(vocab, d), torch.randn(8, d), torch.randn(2, d), torch.randn(d), torch.randn(d))
    >>> ids = torch.tensor([[0, 5, 2, 1]])
    >>> e = roberta_embeddings(ids, w)
    >>> e.shape
    torch.Size([1, 4, 4])
    >>> summed = w.word[[0, 5, 2, 1]] + w.position[[2, 3, 4, 1]] + w.token_type[0]
    >>> torch.allclose(e[0], torch.nn.functional.layer_norm(summed, (d,), w.ln_gamma, w.ln_beta, 1e-5), atol=1e-6)
    True
    >>> types = torch.tensor([[0, 0, 1, 1]])  # a second segment: rows 0 and 1 of the type table
    >>> summed = w.word[[0, 5, 2, 1]] + w.position[[2, 3, 4, 1]] + w.token_type[[0, 0, 1, 1]]
    >>> e = roberta_embeddings(ids, w, token_type_ids=types, eps=0.5)
    >>> torch.allclose(e[0], torch.nn.functional.layer_norm(summed, (d,), w.ln_gamma, w.ln_beta, 0.5), atol=1e-6)
    True
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


def layer_norm_backward(
    grad_output: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Vector-Jacobian product of :func:`layer_norm`: gradients of the input, the gain and the shift.

    With $\sigma_\epsilon = \sqrt{\sigma^2 + \epsilon}$ and $\hat{x} = (x - \mu)/\sigma_\epsilon$, so $y = \gamma \odot \hat{x} + \beta$,
    write $g = \mathrm{d}y \odot \gamma$. Differentiating $\mu$ and $\sigma^2$ with respect to every
    $x_j$ (both depend on all $d$ entries) gives, per vector,

    $$\begin{gathered}
        \mathrm{d}x = \frac{1}{\sigma_\epsilon}\Big(g - \overline{g} - \hat{x}\; \overline{g \odot \hat{x}}\Big), \\
        \mathrm{d}\gamma = \sum_{\text{rows}} \mathrm{d}y \odot \hat{x}, \qquad \mathrm{d}\beta = \sum_{\text{rows}} \mathrm{d}y,
        \end{gathered}$$

    where $\overline{v} = \frac{1}{d}\sum_i v_i$. The first subtracted term removes the part of
    $g$ that would move the mean, which LayerNorm undoes: $\mathrm{d}x$ sums to 0. The second
    removes the part along $\hat{x}$ only for $\epsilon = 0$: as $\lVert\hat{x}\rVert^2 =
    d\,\sigma^2/(\sigma^2+\epsilon)$, $\langle \mathrm{d}x, \hat{x}\rangle =
    \frac{\epsilon}{\sigma^2+\epsilon} \langle g, \hat{x}\rangle / \sigma_\epsilon$.

    - ``grad_output``: $\mathrm{d}y$ ``(..., d)``; ``x``: the forward input ``(..., d)``; ``gamma``: ``(d,)``.
    - Returns $\mathrm{d}x$ ``(..., d)``, $\mathrm{d}\gamma$ ``(d,)``, $\mathrm{d}\beta$ ``(d,)``.

    Source: Ba, Kiros and Hinton (2016), section 3, for the forward; PyTorch's
    ``aten/src/ATen/native/cpu/layer_norm_kernel.cpp`` (``LayerNormBackwardKernelImpl``) computes the same.

    >>> x = torch.tensor([[1.0, 2.0, 3.0]])
    >>> dx, dgamma, dbeta = layer_norm_backward(torch.tensor([[1.0, 1.0, 1.0]]), x, torch.ones(3))
    >>> dx  # a uniform push on every output cannot move a normalised vector
    tensor([[0., 0., 0.]])
    >>> dgamma, dbeta
    (tensor([-1.2247,  0.0000,  1.2247]), tensor([1., 1., 1.]))
    """
    d = x.size(-1)
    mean = x.mean(dim=-1, keepdim=True)  # (..., 1)
    rstd = 1.0 / torch.sqrt(((x - mean) ** 2).mean(dim=-1, keepdim=True) + eps)  # (..., 1) = 1/sigma_eps
    x_hat = (x - mean) * rstd  # (..., d)
    g = grad_output * gamma  # (..., d)
    grad_x = rstd * (g - g.mean(dim=-1, keepdim=True) - x_hat * (g * x_hat).mean(dim=-1, keepdim=True))
    grad_gamma = (grad_output * x_hat).reshape(-1, d).sum(dim=0)  # (d,)
    grad_beta = grad_output.reshape(-1, d).sum(dim=0)  # (d,)
    return grad_x, grad_gamma, grad_beta


def embedding_backward(grad_output: Tensor, ids: Tensor, num_rows: int, padding_idx: int | None = None) -> Tensor:
    r"""Gradient of a table lookup $Y_t = E[x_t]$: scatter-add each position's gradient into its row.

    $$\begin{gathered}
        \mathrm{d}E[v] = \sum_{t \,:\, x_t = v} \mathrm{d}Y_t, \\
        \mathrm{d}E[\text{padding\_idx}] = 0
        \end{gathered}$$

    A row used twice gets both contributions; a row never used gets 0; the padding row gets 0,
    as ``torch.nn.Embedding(padding_idx=...)`` does.

    - ``grad_output``: ``(..., d)``; ``ids``: ``(...)`` row indices; returns ``(num_rows, d)``.

    Source: PyTorch's ``aten/src/ATen/native/Embedding.cpp`` (``embedding_dense_backward``).

    >>> embedding_backward(torch.ones(1, 3, 2), torch.tensor([[4, 4, 1]]), num_rows=5, padding_idx=1)
    tensor([[0., 0.],
            [0., 0.],
            [0., 0.],
            [0., 0.],
            [2., 2.]])
    """
    d = grad_output.size(-1)
    grad = torch.zeros(num_rows, d, dtype=grad_output.dtype, device=grad_output.device)  # (num_rows, d)
    grad.index_add_(0, ids.reshape(-1), grad_output.reshape(-1, d))
    if padding_idx is not None:
        grad[padding_idx] = 0.0
    return grad


def roberta_embeddings_backward(
    grad_output: Tensor,
    input_ids: Tensor,
    weights: EmbeddingWeights,
    padding_idx: int = 1,
    eps: float = 1e-5,
    token_type_ids: Tensor | None = None,
) -> EmbeddingWeights:
    r"""Gradients of the three embedding tables and the LayerNorm of :func:`roberta_embeddings`.

    With $U_t = E^\text{tok}[x_t] + E^\text{pos}[\pi_t] + E^\text{type}[x^\text{type}_t]$ (token-type id
    $x^\text{type}_t$, 0 in RoBERTa) and $X^{(0)} = \operatorname{LayerNorm}(U)$:
    :func:`layer_norm_backward` gives $\mathrm{d}U$, $\mathrm{d}\gamma$, $\mathrm{d}\beta$; the sum copies
    $\mathrm{d}U_t$ to each of its three terms; :func:`embedding_backward` scatter-adds them into the
    tables:

    $$\begin{gathered}
        \mathrm{d}E^\text{tok}[v] = \sum_{t : x_t = v} \mathrm{d}U_t, \\
        \mathrm{d}E^\text{pos}[j] = \sum_{t : \pi_t = j} \mathrm{d}U_t, \\
        \mathrm{d}E^\text{type}[k] = \sum_{t : x^\text{type}_t = k} \mathrm{d}U_t .
        \end{gathered}$$

    The rows ``padding_idx`` of the word and position tables get no gradient (both are
    ``nn.Embedding(padding_idx=...)`` in ``transformers``' ``RobertaEmbeddings``); the
    token-type table has no padding row.

    - ``grad_output``: $\mathrm{d}X^{(0)}$ ``(batch, seq, d)``; the other arguments as in the forward.
    - Returns an :class:`EmbeddingWeights` of gradients, each shaped as its table.

    >>> d, vocab = 4, 10
    >>> w = EmbeddingWeights(torch.randn(vocab, d), torch.randn(8, d), torch.randn(1, d), torch.ones(d), torch.zeros(d))
    >>> g = roberta_embeddings_backward(torch.randn(1, 4, d), torch.tensor([[0, 5, 2, 1]]), w)
    >>> g.word[1].abs().sum(), g.position[1].abs().sum()  # the padding rows
    (tensor(0.), tensor(0.))
    >>> g.word.abs().sum(-1).nonzero().flatten().tolist()  # the rows the sentence used
    [0, 2, 5]
    """
    positions = position_ids_from_input_ids(input_ids, padding_idx)  # (batch, seq)
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    summed = weights.word[input_ids] + weights.position[positions] + weights.token_type[token_type_ids]  # (batch, seq, d)
    grad_sum, grad_gamma, grad_beta = layer_norm_backward(grad_output, summed, weights.ln_gamma, eps)
    return EmbeddingWeights(
        word=embedding_backward(grad_sum, input_ids, weights.word.size(0), padding_idx),
        position=embedding_backward(grad_sum, positions, weights.position.size(0), padding_idx),
        token_type=embedding_backward(grad_sum, token_type_ids, weights.token_type.size(0)),
        ln_gamma=grad_gamma,
        ln_beta=grad_beta,
    )

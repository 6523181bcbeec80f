r"""Scaled dot-product attention and its multi-head form.

For queries $Q$, keys $K$ and values $V$, one row per token (``seq_q`` query rows of
width $d_k$, ``seq_k`` key rows of width $d_k$ and value rows of width $d_v$),

$$\begin{aligned}
&\operatorname{Attention}(Q, K, V) \\
&\qquad = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right) V,
\end{aligned}$$

where $M_{ij} = 0$ if query $i$ may look at key $j$ and $-\infty$ if key $j$ is masked
(padding). Dividing by $\sqrt{d_k}$ gives the scores unit variance when the components
of a query and a key are independent with mean 0 and variance 1; with means $\mu_q, \mu_k$
and variances $\sigma_q^2, \sigma_k^2$ the variance is
$\sigma_q^2 \sigma_k^2 + \sigma_q^2 \mu_k^2 + \sigma_k^2 \mu_q^2$, and RoBERTa's projections
have biases (the attention page derives both). Symbols: the site's notation page.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math.linear import Linear, linear, linear_backward
from roberta_math.math.softmax import softmax, softmax_backward


def self_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    r"""Scaled dot-product attention: the output and the attention weights.

    $$A = \operatorname{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}} + M\right), \qquad O = A V$$

    - ``query``: $Q$, shape ``(..., seq_q, d_k)``; ``key``: $K$, ``(..., seq_k, d_k)``;
      ``value``: $V$, ``(..., seq_k, d_v)``.
    - ``mask``: nonzero/``True`` where a query may attend to a key, ``0``/``False`` where it
      may not (the convention of the notebook this site grew from). Either ``(seq_k,)``, the same keys for every
      query, or a tensor with as many dimensions as the scores ``(..., seq_q, seq_k)``, each of
      size 1 or the scores' size: a ``(batch, seq_k)`` padding mask is passed as
      ``mask[:, None, :]``, shape ``(batch, 1, seq_k)``. Any other shape raises ``ValueError``:
      broadcasting a ``(batch, seq_k)`` mask against ``(batch, seq_q, seq_k)`` scores would read
      it as ``(seq_q, seq_k)`` whenever ``batch == seq_q`` and hide the wrong keys.
    - Returns $O$ ``(..., seq_q, d_v)`` and $A$ ``(..., seq_q, seq_k)``.

    Masked keys get weight exactly 0. A query whose keys are *all* masked gets weights
    of 0 everywhere and an output of 0; ``torch.softmax`` and ``torch.nn.MultiheadAttention``
    return ``nan`` there, while ``torch.nn.functional.scaled_dot_product_attention``
    (torch 2.13) also returns 0.

    >>> q = k = v = torch.eye(2).unsqueeze(0)  # two orthogonal tokens
    >>> out, w = self_attention(q, k, v)
    >>> w
    tensor([[[0.6698, 0.3302],
             [0.3302, 0.6698]]])
    >>> _, w = self_attention(q, k, v, mask=torch.tensor([1, 0]))  # hide the 2nd token
    >>> w
    tensor([[[1., 0.],
             [1., 0.]]])
    >>> q = k = v = torch.randn(2, 2, 4)  # batch 2 = seq_q 2: a (batch, seq_k) mask is ambiguous
    >>> _ = self_attention(q, k, v, mask=torch.tensor([[1, 1], [1, 0]]))
    Traceback (most recent call last):
    ...
    ValueError: mask of shape (2, 2) does not fit attention scores of shape (2, 2, 2) (..., seq_q, seq_k): pass (seq_k,) = (2,), or a mask with 3 dimensions, each 1 or the scores' size; for a (batch, seq_k) padding mask pass mask[:, None, :], shape (2, 1, 2)
    """
    d_k = query.size(-1)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_k)  # (..., seq_q, seq_k)
    if mask is not None:
        _check_mask_shape(mask, scores.shape)
        scores = scores.masked_fill(mask == 0, float("-inf"))
    attention_weights = softmax(scores, dim=-1)  # (..., seq_q, seq_k)
    output = attention_weights @ value  # (..., seq_q, d_v)
    return output, attention_weights


def _check_mask_shape(mask: Tensor, scores_shape: torch.Size) -> None:
    """Accept a ``(seq_k,)`` mask or one with the scores' rank; raise a ``ValueError`` naming the shape to pass."""
    if mask.dim() == 1 and mask.size(0) == scores_shape[-1]:
        return
    if mask.dim() == len(scores_shape) and all(m in (1, s) for m, s in zip(mask.shape, scores_shape)):
        return
    padding = (scores_shape[0], *[1] * (len(scores_shape) - 2), scores_shape[-1])
    indexer = "mask[:, " + "None, " * (len(scores_shape) - 2) + ":]"
    hint = f"; for a (batch, seq_k) padding mask pass {indexer}, shape {padding}" if len(scores_shape) > 2 else ""
    raise ValueError(
        f"mask of shape {tuple(mask.shape)} does not fit attention scores of shape {tuple(scores_shape)} "
        f"(..., seq_q, seq_k): pass (seq_k,) = ({scores_shape[-1]},), or a mask with {len(scores_shape)} "
        f"dimensions, each 1 or the scores' size{hint}"
    )


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    r"""Cut the hidden dimension into $H$ heads of size $d_h = d / H$.

    ``(batch, seq, d)`` $\to$ ``(batch, heads, seq, d_h)``.

    >>> split_heads(torch.arange(8.0).view(1, 2, 4), num_heads=2)[0, 1]
    tensor([[2., 3.],
            [6., 7.]])
    """
    batch, seq, hidden = x.shape
    if int(num_heads) != num_heads or num_heads < 1:
        raise ValueError(f"num_heads must be a positive integer, got {num_heads}")
    if hidden % num_heads:
        raise ValueError(f"hidden size {hidden} is not divisible by {num_heads} heads")
    return x.view(batch, seq, num_heads, hidden // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    r"""Concatenate the heads again: ``(batch, heads, seq, d_h)`` $\to$ ``(batch, seq, heads * d_h)``.

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

    $$\begin{gathered} Q = X W_Q^\top + b_Q, \quad K = X W_K^\top + b_K, \\ V = X W_V^\top + b_V, \end{gathered}$$

    $$\begin{aligned}
        \operatorname{head}_h &= \operatorname{Attention}\big(Q^{[h]}, K^{[h]}, V^{[h]}\big), \\
    \operatorname{MHA}(X) &= \operatorname{Concat}(\operatorname{head}_1, \dots, \operatorname{head}_H) \\
    &\qquad W_O^\top + b_O
        \end{aligned}$$

    with every $W$ stored (out, in), ``(d, d)``, as ``torch.nn.Linear`` stores it, and
    $Q^{[h]}$ the $d_h$ columns of $Q$ that belong to head $h$ (the site's notation page
    gives the translation to the papers' form, Vaswani et al., 2017, section 3.2.2).

    - ``hidden``: $X$, ``(batch, seq, d)``; ``num_heads``: $H$, each head of size $d_h = d/H$.
    - ``mask``: ``(batch, seq)`` with 1 for real tokens and 0 for padding (keys only: padded
      queries still produce an output, which later layers ignore).
    - Returns the projected output ``(batch, seq, d)`` and the attention weights
      ``(batch, heads, seq, seq)``.

    ``torch.nn.MultiheadAttention`` computes the same equation; with its weights, the outputs and
    every head's weights agree, and the padded key gets no weight from any head:

    >>> _ = torch.manual_seed(0)
    >>> mha = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    >>> _ = [torch.nn.init.normal_(p) for p in mha.parameters()]  # its biases start at 0: make them count
    >>> (wq, wk, wv), (bq, bk, bv) = mha.in_proj_weight.detach().chunk(3), mha.in_proj_bias.detach().chunk(3)
    >>> weights = AttentionWeights(Linear(wq, bq), Linear(wk, bk), Linear(wv, bv),
    ...                            Linear(mha.out_proj.weight.detach(), mha.out_proj.bias.detach()))
    >>> x, mask = torch.randn(2, 3, 4) * 3, torch.tensor([[1, 1, 1], [1, 1, 0]])
    >>> out, w = multi_head_attention(x, weights, num_heads=2, mask=mask)
    >>> out.shape, w.shape
    (torch.Size([2, 3, 4]), torch.Size([2, 2, 3, 3]))
    >>> ref_out, ref_w = mha(x, x, x, key_padding_mask=mask == 0, average_attn_weights=False)
    >>> torch.allclose(out, ref_out, atol=1e-6), torch.allclose(w, ref_w, atol=1e-6)
    (True, True)
    >>> w[1, :, :, 2]  # (heads, queries): the padded key
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
    """
    q = split_heads(linear(hidden, weights.query), num_heads)  # (batch, heads, seq, d_k)
    k = split_heads(linear(hidden, weights.key), num_heads)  # (batch, heads, seq, d_k)
    v = split_heads(linear(hidden, weights.value), num_heads)  # (batch, heads, seq, d_k)
    key_mask = None if mask is None else mask[:, None, None, :]  # (batch, 1, 1, seq)
    context, attention_weights = self_attention(q, k, v, key_mask)  # (batch, heads, seq, d_k)
    output = linear(merge_heads(context), weights.output)  # (batch, seq, d)
    return output, attention_weights


def self_attention_backward(
    grad_output: Tensor, query: Tensor, key: Tensor, value: Tensor, attention_weights: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Vector-Jacobian product of :func:`self_attention`: gradients of the query, key and value.

    Forward: $S = Q K^\top / \sqrt{d_k} + M$, $A = \operatorname{softmax}(S)$ row-wise, $O = A V$.
    Given $\mathrm{d}O = \partial \mathcal{L} / \partial O$, the chain rule through the three steps
    (the product rule for $O = AV$, :func:`~roberta_math.math.softmax.softmax_backward` for each row of $A$,
    the product rule again for $Q K^\top$; the mask $M$ is a constant):

    $$\begin{gathered}
        \mathrm{d}V = A^\top \mathrm{d}O, \qquad \mathrm{d}A = \mathrm{d}O\, V^\top, \\
        \mathrm{d}S = A \odot \big(\mathrm{d}A - \operatorname{rowsum}(A \odot \mathrm{d}A)\big),
        \end{gathered}$$

    $$\mathrm{d}Q = \frac{\mathrm{d}S\, K}{\sqrt{d_k}}, \qquad \mathrm{d}K = \frac{\mathrm{d}S^\top Q}{\sqrt{d_k}}.$$

    A masked key $j$ has $A_{ij} = 0$ for every query $i$, so column $j$ of $\mathrm{d}S$ is 0 and
    row $j$ of $\mathrm{d}K$ and of $\mathrm{d}V$ is exactly 0: padding receives no gradient
    through the keys and values.

    - ``grad_output``: $\mathrm{d}O$ ``(..., seq_q, d_v)``; ``query``, ``key``, ``value``, ``attention_weights``:
      the forward's $Q$ ``(..., seq_q, d_k)``, $K$ ``(..., seq_k, d_k)``, $V$ ``(..., seq_k, d_v)`` and
      $A$ ``(..., seq_q, seq_k)``.
    - Returns $(\mathrm{d}Q, \mathrm{d}K, \mathrm{d}V)$, shaped as $Q$, $K$, $V$.

    Source: the forward of Vaswani et al. (2017), section 3.2.1, differentiated with the rules of
    PyTorch's ``tools/autograd/derivatives.yaml`` (``bmm``, ``_softmax``).

    >>> q = k = v = torch.eye(2).unsqueeze(0)
    >>> _, a = self_attention(q, k, v, mask=torch.tensor([1, 0]))  # the 2nd key is masked
    >>> dq, dk, dv = self_attention_backward(torch.ones(1, 2, 2), q, k, v, a)
    >>> dk[0, 1], dv[0, 1]  # the masked key's rows
    (tensor([0., 0.]), tensor([0., 0.]))
    >>> dv[0, 0]  # both queries put all their weight on key 0
    tensor([2., 2.])
    """
    scale = 1.0 / math.sqrt(query.size(-1))
    grad_value = attention_weights.transpose(-2, -1) @ grad_output  # (..., seq_k, d_v) = A^T dO
    grad_weights = grad_output @ value.transpose(-2, -1)  # (..., seq_q, seq_k) = dO V^T
    grad_scores = softmax_backward(grad_weights, attention_weights, dim=-1)  # (..., seq_q, seq_k)
    grad_query = grad_scores @ key * scale  # (..., seq_q, d_k)
    grad_key = grad_scores.transpose(-2, -1) @ query * scale  # (..., seq_k, d_k)
    return grad_query, grad_key, grad_value


class AttentionCache(NamedTuple):
    """What :func:`multi_head_attention_backward` needs from the forward pass."""

    hidden: Tensor  # (batch, seq, d): the layer's input X
    query: Tensor  # (batch, heads, seq, d_k)
    key: Tensor  # (batch, heads, seq, d_k)
    value: Tensor  # (batch, heads, seq, d_k)
    attention_weights: Tensor  # (batch, heads, seq, seq)
    context: Tensor  # (batch, seq, d): the heads concatenated, input of the output projection


def multi_head_attention_with_cache(
    hidden: Tensor, weights: AttentionWeights, num_heads: int, mask: Tensor | None = None
) -> tuple[Tensor, Tensor, AttentionCache]:
    r""":func:`multi_head_attention`, also returning the activations its backward needs.

    Returns the output ``(batch, seq, d)``, the attention weights ``(batch, heads, seq, seq)``
    and an :class:`AttentionCache`.

    >>> d = 4
    >>> eye = Linear(torch.eye(d), torch.zeros(d))
    >>> x = torch.randn(1, 3, d)
    >>> out, w, cache = multi_head_attention_with_cache(x, AttentionWeights(eye, eye, eye, eye), 2)
    >>> torch.equal(out, multi_head_attention(x, AttentionWeights(eye, eye, eye, eye), 2)[0])
    True
    """
    q = split_heads(linear(hidden, weights.query), num_heads)  # (batch, heads, seq, d_k)
    k = split_heads(linear(hidden, weights.key), num_heads)  # (batch, heads, seq, d_k)
    v = split_heads(linear(hidden, weights.value), num_heads)  # (batch, heads, seq, d_k)
    key_mask = None if mask is None else mask[:, None, None, :]  # (batch, 1, 1, seq)
    context, attention_weights = self_attention(q, k, v, key_mask)  # (batch, heads, seq, d_k)
    merged = merge_heads(context)  # (batch, seq, d)
    output = linear(merged, weights.output)  # (batch, seq, d)
    return output, attention_weights, AttentionCache(hidden, q, k, v, attention_weights, merged)


def multi_head_attention_backward(
    grad_output: Tensor, cache: AttentionCache, weights: AttentionWeights
) -> tuple[Tensor, AttentionWeights]:
    r"""Vector-Jacobian product of :func:`multi_head_attention`: gradients of the input and of the four projections.

    Backwards through the forward's steps, each by its own rule:

    1. output projection $Y = G W_O^\top + b_O$, with $G$ the concatenated heads:
       :func:`~roberta_math.math.linear.linear_backward` gives $\mathrm{d}G = \mathrm{d}Y\, W_O$,
       $\mathrm{d}W_O = \mathrm{d}Y^\top G$;
    2. merging the heads is a reshape, so its backward is the inverse reshape
       (:func:`split_heads` of $\mathrm{d}G$);
    3. each head: :func:`self_attention_backward` gives $\mathrm{d}Q^{[h]}, \mathrm{d}K^{[h]}, \mathrm{d}V^{[h]}$;
    4. :func:`merge_heads` undoes the split, and the three projections of the *same* $X$ add up:

    $$\mathrm{d}X = \mathrm{d}Q\, W_Q + \mathrm{d}K\, W_K + \mathrm{d}V\, W_V .$$

    - ``grad_output``: $\mathrm{d}Y$ ``(batch, seq, d)``; ``cache``: from
      :func:`multi_head_attention_with_cache`; ``weights``: the layer's :class:`AttentionWeights`.
    - Returns $\mathrm{d}X$ ``(batch, seq, d)`` and an :class:`AttentionWeights` of gradients.

    Source: Vaswani et al. (2017), section 3.2.2, for the forward; the rules above for the backward.

    >>> d = 4
    >>> eye = Linear(torch.eye(d), torch.zeros(d))
    >>> w = AttentionWeights(eye, eye, eye, eye)
    >>> out, _, cache = multi_head_attention_with_cache(torch.randn(2, 3, d), w, 2, torch.tensor([[1, 1, 0], [1, 1, 1]]))
    >>> dx, dw = multi_head_attention_backward(torch.ones_like(out), cache, w)
    >>> dx.shape, dw.query.weight.shape, dw.output.bias
    (torch.Size([2, 3, 4]), torch.Size([4, 4]), tensor([6., 6., 6., 6.]))
    """
    num_heads = cache.query.size(1)
    grad_context, grad_output_proj = linear_backward(grad_output, cache.context, weights.output)  # (batch, seq, d)
    grad_q, grad_k, grad_v = self_attention_backward(
        split_heads(grad_context, num_heads), cache.query, cache.key, cache.value, cache.attention_weights
    )  # each (batch, heads, seq, d_k)
    grad_x_q, grad_query = linear_backward(merge_heads(grad_q), cache.hidden, weights.query)
    grad_x_k, grad_key = linear_backward(merge_heads(grad_k), cache.hidden, weights.key)
    grad_x_v, grad_value = linear_backward(merge_heads(grad_v), cache.hidden, weights.value)
    grad_hidden = grad_x_q + grad_x_k + grad_x_v  # (batch, seq, d): X feeds all three projections
    return grad_hidden, AttentionWeights(grad_query, grad_key, grad_value, grad_output_proj)

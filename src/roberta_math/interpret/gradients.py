r"""The gradient of one logit with respect to each token's input embedding, and gradient $\times$ input.

The *input embedding* of token $t$ is its row of the token table, $\mathcal{E}_t = E^\text{tok}[x_t]$
(a row vector of $d$ entries): the part of $X^{(0)}_t$ that depends on which word stands at
position $t$. Positions and the token type stay as the input has them. The model is then a
function of the $n \times d$ matrix $\mathcal{E}$ whose rows are the $\mathcal{E}_t$,

$$\begin{aligned}
&z(\mathcal{E}) = \operatorname{Head}\Big(\operatorname{EncoderLayer}_L \circ \cdots \\
&\quad \circ \operatorname{EncoderLayer}_1
\big(\operatorname{LayerNorm}(\mathcal{E} \\
&\quad + E^\text{pos}[\pi] + E^\text{type}[0])\big)_1\Big),
\end{aligned}$$

and the gradient $\Gamma = \partial z_c / \partial \mathcal{E}$ (an $n \times d$ matrix, row $t$ for token $t$) is
one backward pass started from $\mathrm{d}z = e_c$, the one-hot row of class $c$:
:func:`~roberta_math.math.head.classification_head_backward`, then
:func:`~roberta_math.math.encoder.encoder_layer_backward` from layer $L$ down to 1, then
:func:`~roberta_math.math.embeddings.layer_norm_backward` (the sum's gradient is copied to $\mathcal{E}$
unchanged). Two per-token scores follow (after Simonyan et al. 2014, section 3, who take the largest
$|\Gamma_{ta}|$ over the channels of a pixel where we take the L2 norm over the $d$ components; and
Shrikumar et al. 2016):

$$\begin{gathered}
\chi^\text{grad}_t = \lVert \Gamma_t \rVert_2, \\
\chi^{\text{grad}\times\text{input}}_t = \Gamma_t\, \mathcal{E}_t^\top = \sum_{a=1}^{d} \Gamma_{ta}\, \mathcal{E}_{ta}.
\end{gathered}$$
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math import (
    EncoderLayerWeights,
    classification_head,
    classification_head_backward,
    encoder_layer_backward,
    encoder_layer_with_cache,
    feed_forward_backward,
    gelu,
    layer_norm,
    layer_norm_backward,
    linear,
    linear_backward,
    merge_heads,
    position_ids_from_input_ids,
    self_attention,
    self_attention_backward,
    split_heads,
)
from roberta_math.model.weights import RobertaWeights


class LogitGradient(NamedTuple):
    """What :func:`logit_gradient` returns."""

    logits: Tensor  # (batch, num_labels): z at the given input embeddings
    target: Tensor  # (batch,): the class c whose logit was differentiated
    gradient: Tensor  # (batch, seq, d): Gamma = dz_c / dE
    embeddings: Tensor  # (batch, seq, d): E, the input embeddings used


def _checked_weights(weights: RobertaWeights) -> None:
    if weights.head_dense is None or weights.head_out is None:
        raise ValueError("this model has no classification head: attributions need a classifier's logits")


def input_embeddings(weights: RobertaWeights, input_ids: Tensor) -> Tensor:
    r"""The rows $\mathcal{E}_t = E^\text{tok}[x_t]$ of the token table, ``(batch, seq)`` ids to ``(batch, seq, d)``.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w = read_weights(tiny_model())
    >>> input_embeddings(w, torch.tensor([[0, 7, 2]])).shape
    torch.Size([1, 3, 8])
    """
    return weights.embeddings.word[input_ids]  # (batch, seq, d)


def _stem(weights: RobertaWeights, input_ids: Tensor) -> Tensor:
    """E^pos[pi] + E^type[0]: the part of the embedding sum that the attributions keep fixed."""
    positions = position_ids_from_input_ids(input_ids, weights.padding_idx)  # (batch, seq)
    if positions.numel() and int(positions.max()) >= weights.embeddings.position.shape[0]:
        most = weights.embeddings.position.shape[0] - weights.padding_idx - 1
        raise ValueError(
            f"the input has {int(positions.max()) - weights.padding_idx} tokens but the position table allows at most {most}"
        )
    return weights.embeddings.position[positions] + weights.embeddings.token_type[0]  # (batch, seq, d)


class _StartRowCache(NamedTuple):
    """What :func:`_start_row_backward` needs from :func:`_start_row_forward` (row 1 only, keys and values of all rows)."""

    hidden: Tensor  # (batch, seq, d): the last layer's input X
    query: Tensor  # (batch, heads, 1, d_h): Q^[h] of row 1
    key: Tensor  # (batch, heads, seq, d_h)
    value: Tensor  # (batch, heads, seq, d_h)
    attention_weights: Tensor  # (batch, heads, 1, seq): row 1 of each A^(L, h)
    context: Tensor  # (batch, 1, d): row 1 of the heads concatenated
    attention_residual: Tensor  # (batch, 1, d): row 1 of U_1
    attended: Tensor  # (batch, 1, d): row 1 of X'
    ffn_pre_activation: Tensor  # (batch, 1, d_ff): row 1 of U_ff
    ffn_residual: Tensor  # (batch, 1, d): row 1 of U_2


def _start_row_forward(
    hidden: Tensor, layer: EncoderLayerWeights, num_heads: int, attention_mask: Tensor, eps: float
) -> tuple[Tensor, _StartRowCache]:
    r"""Row 1 (``<s>``) of the last encoder layer's output, ``(batch, 1, d)``, and what its backward needs.

    Every map of a layer except attention works row by row, and the classification head reads
    row 1 of $X^{(L)}$ only; so in the last layer only $K$ and $V$ need the other rows. The
    result equals row 1 of :func:`~roberta_math.math.encoder.encoder_layer` (same equations, fewer rows).
    """
    first = hidden[:, :1]  # (batch, 1, d)
    query = split_heads(linear(first, layer.attention.query), num_heads)  # (batch, heads, 1, d_h)
    key = split_heads(linear(hidden, layer.attention.key), num_heads)  # (batch, heads, seq, d_h)
    value = split_heads(linear(hidden, layer.attention.value), num_heads)  # (batch, heads, seq, d_h)
    context, weights = self_attention(query, key, value, attention_mask[:, None, None, :])  # (batch, heads, 1, d_h)
    merged = merge_heads(context)  # (batch, 1, d)
    residual_1 = first + linear(merged, layer.attention.output)  # (batch, 1, d): U_1
    attended = layer_norm(residual_1, layer.attention_ln_gamma, layer.attention_ln_beta, eps)  # X'
    pre = linear(attended, layer.intermediate)  # (batch, 1, d_ff)
    residual_2 = attended + linear(gelu(pre), layer.output)  # (batch, 1, d): U_2 = X' + FFN(X')
    out = layer_norm(residual_2, layer.output_ln_gamma, layer.output_ln_beta, eps)  # (batch, 1, d)
    return out, _StartRowCache(hidden, query, key, value, weights, merged, residual_1, attended, pre, residual_2)


def _start_row_backward(grad_out: Tensor, cache: _StartRowCache, layer: EncoderLayerWeights, eps: float) -> Tensor:
    r"""$\mathrm{d}X$ ``(batch, seq, d)`` of the last layer's input from $\mathrm{d}X^{(L)}_1$ ``(batch, 1, d)``.

    The steps of :func:`~roberta_math.math.encoder.encoder_layer_backward` on row 1, whose input
    reaches the output through the skip connection and the query; the other rows only through
    the keys and values.
    """
    grad_residual_2, _, _ = layer_norm_backward(grad_out, cache.ffn_residual, layer.output_ln_gamma, eps)
    grad_branch_2, _, _ = feed_forward_backward(
        grad_residual_2, cache.attended, cache.ffn_pre_activation, layer.intermediate, layer.output
    )
    grad_residual_1, _, _ = layer_norm_backward(
        grad_residual_2 + grad_branch_2, cache.attention_residual, layer.attention_ln_gamma, eps
    )  # (batch, 1, d)
    grad_context, _ = linear_backward(grad_residual_1, cache.context, layer.attention.output)  # (batch, 1, d)
    grad_q, grad_k, grad_v = self_attention_backward(
        split_heads(grad_context, cache.query.size(1)), cache.query, cache.key, cache.value, cache.attention_weights
    )
    grad_first, _ = linear_backward(merge_heads(grad_q), cache.hidden[:, :1], layer.attention.query)  # (batch, 1, d)
    grad_from_k, _ = linear_backward(merge_heads(grad_k), cache.hidden, layer.attention.key)  # (batch, seq, d)
    grad_from_v, _ = linear_backward(merge_heads(grad_v), cache.hidden, layer.attention.value)  # (batch, seq, d)
    grad_hidden = grad_from_k + grad_from_v
    grad_hidden[:, :1] += grad_first + grad_residual_1  # row 1 also feeds the query and the skip connection
    return grad_hidden


def logits_from_embeddings(
    weights: RobertaWeights, input_ids: Tensor, embeddings: Tensor, attention_mask: Tensor | None = None
) -> Tensor:
    r"""The logits $z(\mathcal{E})$ with the input embeddings $\mathcal{E}$ given, positions taken from ``input_ids``.

    - ``input_ids``: ``(batch, seq)`` (for the positions and, if no mask is given, the padding);
      ``embeddings``: $\mathcal{E}$, ``(batch, seq, d)``. Returns $z$ ``(batch, num_labels)``.
    - With ``embeddings = input_embeddings(weights, input_ids)`` this is the model's forward pass.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> model = tiny_model()
    >>> w, ids = read_weights(model), torch.tensor([[0, 7, 9, 2]])
    >>> with torch.no_grad():
    ...     reference = model(ids).logits  # transformers' forward pass
    >>> torch.allclose(logits_from_embeddings(w, ids, input_embeddings(w, ids)), reference, atol=1e-6)
    True
    """
    _checked_weights(weights)
    if attention_mask is None:
        attention_mask = input_ids.ne(weights.padding_idx).long()
    summed = embeddings + _stem(weights, input_ids)  # (batch, seq, d)
    hidden = layer_norm(summed, weights.embeddings.ln_gamma, weights.embeddings.ln_beta, weights.layer_norm_eps)
    return logits_from_hidden(weights, hidden, attention_mask)


def logits_from_hidden(weights: RobertaWeights, hidden: Tensor, attention_mask: Tensor, first_layer: int = 0) -> Tensor:
    r"""$z$ from $X^{(\ell)}$, the input of layer ``first_layer`` (0-based: 0 is the embeddings' output $X^{(0)}$).

    The last layer is computed at row 1 (``<s>``) only, the one row the classification head reads.
    ``hidden``: ``(batch, seq, d)``; ``attention_mask``: ``(batch, seq)``. Returns ``(batch, num_labels)``.
    """
    _checked_weights(weights)
    eps = weights.layer_norm_eps
    for layer in weights.layers[first_layer:-1]:
        hidden, _, _ = encoder_layer_with_cache(hidden, layer, weights.num_heads, attention_mask, eps)
    if first_layer < len(weights.layers):
        hidden, _ = _start_row_forward(hidden, weights.layers[-1], weights.num_heads, attention_mask, eps)  # (batch, 1, d)
    return classification_head(hidden, weights.head_dense, weights.head_out)  # type: ignore[arg-type]


def _targets(target: int | Tensor | None, logits: Tensor) -> Tensor:
    if target is None:
        return logits.argmax(dim=-1)  # (batch,): the predicted class
    target = torch.as_tensor(target, dtype=torch.long).reshape(-1).expand(logits.shape[0])
    bad = (target < 0) | (target >= logits.shape[-1])
    if bool(bad.any()):
        raise ValueError(f"target class {int(target[bad][0])} is out of range: the model has {logits.shape[-1]} classes (0..{logits.shape[-1] - 1})")
    return target


def logit_gradient(
    weights: RobertaWeights,
    input_ids: Tensor,
    embeddings: Tensor | None = None,
    target: int | Tensor | None = None,
    attention_mask: Tensor | None = None,
) -> LogitGradient:
    r"""$\Gamma = \partial z_c / \partial \mathcal{E}$, one backward pass of :mod:`roberta_math.math`'s vector-Jacobian products.

    $$\begin{gathered}
        \mathrm{d}z = e_c \;\to\; \operatorname{Head}^\top \;\to\; \operatorname{EncoderLayer}_L^\top \\
        \;\to\; \cdots \;\to\; \operatorname{EncoderLayer}_1^\top \\
        \;\to\; \operatorname{LayerNorm}^\top = \Gamma
        \end{gathered}$$

    - ``input_ids``: ``(batch, seq)``; ``embeddings``: $\mathcal{E}$ ``(batch, seq, d)``, the token rows of
      ``input_ids`` by default (any other $\mathcal{E}$, e.g. a point on an Integrated Gradients path, keeps
      the positions of ``input_ids``).
    - ``target``: the class $c$ (an int for every row, a ``(batch,)`` tensor, or ``None`` for
      each row's predicted class).
    - Returns a :class:`LogitGradient`: logits ``(batch, num_labels)``, the target ``(batch,)``,
      $\Gamma$ ``(batch, seq, d)`` and $\mathcal{E}$. Rows of padding get a gradient of 0.
    - Raises ``ValueError`` for a model without a classification head, a target out of range, or
      more tokens than the position table allows.

    Source: the chain rule through the functions of :mod:`roberta_math.math`; checked against
    ``torch.autograd`` here and against Captum in ``tests/test_interpret.py``.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> model = tiny_model()
    >>> w, ids = read_weights(model), torch.tensor([[0, 7, 9, 2]])
    >>> result = logit_gradient(w, ids, target=2)
    >>> e = input_embeddings(w, ids).clone().requires_grad_()
    >>> logits_from_embeddings(w, ids, e)[0, 2].backward()  # autograd, independently
    >>> torch.allclose(result.gradient, e.grad, atol=1e-6)
    True
    """
    _checked_weights(weights)
    if attention_mask is None:
        attention_mask = input_ids.ne(weights.padding_idx).long()
    if embeddings is None:
        embeddings = input_embeddings(weights, input_ids)
    summed = embeddings + _stem(weights, input_ids)  # (batch, seq, d)
    eps = weights.layer_norm_eps
    hidden = layer_norm(summed, weights.embeddings.ln_gamma, weights.embeddings.ln_beta, eps)  # X^(0)
    caches = []
    for layer in weights.layers[:-1]:
        hidden, _, cache = encoder_layer_with_cache(hidden, layer, weights.num_heads, attention_mask, eps)
        caches.append(cache)
    # The last layer at row 1 only: the head reads nothing else (see _start_row_forward).
    first, last_cache = _start_row_forward(hidden, weights.layers[-1], weights.num_heads, attention_mask, eps)
    logits = classification_head(first, weights.head_dense, weights.head_out)  # type: ignore[arg-type]
    target = _targets(target, logits)  # (batch,)
    grad_logits = torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)  # (batch, num_labels)
    grad_first, _, _ = classification_head_backward(grad_logits, first, weights.head_dense, weights.head_out)  # type: ignore[arg-type]
    grad_hidden = _start_row_backward(grad_first, last_cache, weights.layers[-1], eps)  # (batch, seq, d)
    for layer, cache in zip(reversed(weights.layers[:-1]), reversed(caches)):
        grad_hidden, _ = encoder_layer_backward(grad_hidden, cache, layer, eps)  # (batch, seq, d)
    grad_summed, _, _ = layer_norm_backward(grad_hidden, summed, weights.embeddings.ln_gamma, eps)
    grad_summed = grad_summed * attention_mask[..., None].to(grad_summed.dtype)  # padding is not an input token
    return LogitGradient(logits, target, grad_summed, embeddings)


def gradient_norm(
    weights: RobertaWeights, input_ids: Tensor, target: int | Tensor | None = None, attention_mask: Tensor | None = None
) -> Tensor:
    r"""$\chi^\text{grad}_t = \lVert \partial z_c / \partial \mathcal{E}_t \rVert_2$ per token, ``(batch, seq)``; never negative.

    Arguments and errors as :func:`logit_gradient`.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w, ids = read_weights(tiny_model()), torch.tensor([[0, 7, 9, 2, 1]])
    >>> phi = gradient_norm(w, ids, target=0)
    >>> phi.shape, bool((phi >= 0).all()), float(phi[0, 4])  # the padding row scores 0
    (torch.Size([1, 5]), True, 0.0)
    """
    return logit_gradient(weights, input_ids, None, target, attention_mask).gradient.norm(dim=-1)  # (batch, seq)


def gradient_x_input(
    weights: RobertaWeights, input_ids: Tensor, target: int | Tensor | None = None, attention_mask: Tensor | None = None
) -> Tensor:
    r"""$\chi^{\text{grad}\times\text{input}}_t = \Gamma_t\, \mathcal{E}_t^\top$ per token, ``(batch, seq)``; signed.

    Positive: moving $\mathcal{E}_t$ further along itself raises $z_c$ (to first order). Arguments and
    errors as :func:`logit_gradient`.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w, ids = read_weights(tiny_model()), torch.tensor([[0, 7, 9, 2]])
    >>> g = logit_gradient(w, ids, target=1)
    >>> torch.allclose(gradient_x_input(w, ids, target=1), (g.gradient * g.embeddings).sum(-1))
    True
    """
    result = logit_gradient(weights, input_ids, None, target, attention_mask)
    return (result.gradient * result.embeddings).sum(dim=-1)  # (batch, seq)

r"""The gradient of one logit with respect to each token's input embedding, and gradient $\times$ input.

The *input embedding* of token $t$ is its row of the token table, $e_t = E^\text{tok}[x_t]$
(a row vector of $d$ entries): the part of $X^{(0)}_t$ that depends on which word stands at
position $t$. Positions and the token type stay as the input has them. The model is then a
function of the $n \times d$ matrix $e$ whose rows are the $e_t$,

$$z(e) = \operatorname{Head}\Big(\operatorname{EncoderLayer}_L \circ \cdots \circ \operatorname{EncoderLayer}_1
\big(\operatorname{LayerNorm}(e + E^\text{pos}[\pi] + E^\text{type}[0])\big)_1\Big),$$

and the gradient $G = \partial z_c / \partial e$ (an $n \times d$ matrix, row $t$ for token $t$) is
one backward pass started from $\mathrm{d}z = \mathbf{1}_c$, the one-hot row of class $c$:
:func:`~roberta_math.math.head.classification_head_backward`, then
:func:`~roberta_math.math.encoder.encoder_layer_backward` from layer $L$ down to 1, then
:func:`~roberta_math.math.embeddings.layer_norm_backward` (the sum's gradient is copied to $e$
unchanged). Two per-token scores follow (Simonyan et al. 2014, section 3; Shrikumar et al. 2016):

$$\phi^\text{grad}_t = \lVert G_t \rVert_2, \qquad
\phi^{\text{grad}\times\text{input}}_t = G_t\, e_t^\top = \sum_{a=1}^{d} G_{ta}\, e_{ta}.$$
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math import (
    classification_head,
    classification_head_backward,
    encoder_layer_backward,
    encoder_layer_with_cache,
    layer_norm,
    layer_norm_backward,
    position_ids_from_input_ids,
)
from roberta_math.model.weights import RobertaWeights


class LogitGradient(NamedTuple):
    """What :func:`logit_gradient` returns."""

    logits: Tensor  # (batch, num_labels): z at the given input embeddings
    target: Tensor  # (batch,): the class c whose logit was differentiated
    gradient: Tensor  # (batch, seq, d): G = dz_c / de
    embeddings: Tensor  # (batch, seq, d): e, the input embeddings used


def _checked_weights(weights: RobertaWeights) -> None:
    if weights.head_dense is None or weights.head_out is None:
        raise ValueError("this model has no classification head: attributions need a classifier's logits")


def input_embeddings(weights: RobertaWeights, input_ids: Tensor) -> Tensor:
    r"""The rows $e_t = E^\text{tok}[x_t]$ of the token table, ``(batch, seq)`` ids to ``(batch, seq, d)``.

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


def logits_from_embeddings(
    weights: RobertaWeights, input_ids: Tensor, embeddings: Tensor, attention_mask: Tensor | None = None
) -> Tensor:
    r"""The logits $z(e)$ with the input embeddings $e$ given, positions taken from ``input_ids``.

    - ``input_ids``: ``(batch, seq)`` (for the positions and, if no mask is given, the padding);
      ``embeddings``: $e$, ``(batch, seq, d)``. Returns $z$ ``(batch, num_labels)``.
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
    for layer in weights.layers:
        hidden, _, _ = encoder_layer_with_cache(hidden, layer, weights.num_heads, attention_mask, weights.layer_norm_eps)
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
    r"""$G = \partial z_c / \partial e$, one backward pass of :mod:`roberta_math.math`'s vector-Jacobian products.

    $$\mathrm{d}z = \mathbf{1}_c \;\to\; \operatorname{Head}^\top \;\to\; \operatorname{EncoderLayer}_L^\top
    \;\to\; \cdots \;\to\; \operatorname{EncoderLayer}_1^\top \;\to\; \operatorname{LayerNorm}^\top = G$$

    - ``input_ids``: ``(batch, seq)``; ``embeddings``: $e$ ``(batch, seq, d)``, the token rows of
      ``input_ids`` by default (any other $e$, e.g. a point on an Integrated Gradients path, keeps
      the positions of ``input_ids``).
    - ``target``: the class $c$ (an int for every row, a ``(batch,)`` tensor, or ``None`` for
      each row's predicted class).
    - Returns a :class:`LogitGradient`: logits ``(batch, num_labels)``, the target ``(batch,)``,
      $G$ ``(batch, seq, d)`` and $e$. Rows of padding get a gradient of 0.
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
    for layer in weights.layers:
        hidden, _, cache = encoder_layer_with_cache(hidden, layer, weights.num_heads, attention_mask, eps)
        caches.append(cache)
    logits = classification_head(hidden, weights.head_dense, weights.head_out)  # type: ignore[arg-type]
    target = _targets(target, logits)  # (batch,)
    grad_logits = torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)  # (batch, num_labels)
    grad_hidden, _, _ = classification_head_backward(grad_logits, hidden, weights.head_dense, weights.head_out)  # type: ignore[arg-type]
    for layer, cache in zip(reversed(weights.layers), reversed(caches)):
        grad_hidden, _ = encoder_layer_backward(grad_hidden, cache, layer, eps)  # (batch, seq, d)
    grad_summed, _, _ = layer_norm_backward(grad_hidden, summed, weights.embeddings.ln_gamma, eps)
    grad_summed = grad_summed * attention_mask[..., None].to(grad_summed.dtype)  # padding is not an input token
    return LogitGradient(logits, target, grad_summed, embeddings)


def gradient_norm(
    weights: RobertaWeights, input_ids: Tensor, target: int | Tensor | None = None, attention_mask: Tensor | None = None
) -> Tensor:
    r"""$\phi^\text{grad}_t = \lVert \partial z_c / \partial e_t \rVert_2$ per token, ``(batch, seq)``; never negative.

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
    r"""$\phi^{\text{grad}\times\text{input}}_t = G_t\, e_t^\top$ per token, ``(batch, seq)``; signed.

    Positive: moving $e_t$ further along itself raises $z_c$ (to first order). Arguments and
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

r"""Backpropagation through RoBERTa's sentiment classifier, from scratch: the loss and every parameter's gradient.

The forward pass of :mod:`roberta_math.model.forward` is run again with each layer keeping
the activations its backward needs; then the chain rule runs from the loss back to the
embeddings, one vector-Jacobian product per step:

$$\begin{gathered}
\frac{\partial \mathcal{L}}{\partial z} = \frac{1}{B}(p - e_y)
\;\to\; \text{head} \;\to\; \text{layer } L \\ \;\to\; \cdots \;\to\; \text{layer } 1
\;\to\; \text{embeddings}
\end{gathered}$$

No ``torch.autograd`` call and no module of the model is used: the gradients come from the
functions of :mod:`roberta_math.math` alone, and the test suite shows they equal autograd's.
Dropout is off (the model in ``eval`` mode); :mod:`roberta_math.math.dropout` has its backward.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math import (
    EmbeddingWeights,
    EncoderLayerCache,
    EncoderLayerWeights,
    Linear,
    classification_head,
    classification_head_backward,
    cross_entropy_grad,
    cross_entropy_loss,
    encoder_layer_backward,
    encoder_layer_with_cache,
    roberta_embeddings,
    roberta_embeddings_backward,
)
from roberta_math.model.weights import RobertaWeights, read_weights


class ForwardCache(NamedTuple):
    """The activations the backward pass reads, saved by :func:`forward_with_cache`."""

    input_ids: Tensor  # (batch, seq)
    layers: tuple[EncoderLayerCache, ...]  # one per encoder layer
    last_hidden: Tensor  # (batch, seq, d): H^(L), input of the head


class Gradients(NamedTuple):
    """Every parameter's gradient, in the containers of :class:`~roberta_math.model.weights.RobertaWeights`."""

    embeddings: EmbeddingWeights
    layers: tuple[EncoderLayerWeights, ...]
    head_dense: Linear
    head_out: Linear


def forward_with_cache(
    weights: RobertaWeights, input_ids: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, ForwardCache]:
    r"""Logits ``(batch, num_labels)`` and the saved activations, layer by layer.

    $$\begin{gathered}
        X^{(0)} = \operatorname{Embed}(x), \\
        X^{(\ell)} = \operatorname{EncoderLayer}_\ell\big(X^{(\ell-1)}\big), \\
        z = \operatorname{Head}\big(X^{(L)}_1\big)
        \end{gathered}$$
    """
    if weights.head_dense is None or weights.head_out is None:
        raise ValueError("this model has no classification head: backpropagation needs the classifier's loss")
    if attention_mask is None:
        attention_mask = input_ids.ne(weights.padding_idx).long()
    hidden = roberta_embeddings(input_ids, weights.embeddings, weights.padding_idx, weights.layer_norm_eps)
    caches = []
    for layer in weights.layers:
        hidden, _, cache = encoder_layer_with_cache(
            hidden, layer, weights.num_heads, attention_mask, weights.layer_norm_eps
        )  # (batch, seq, d)
        caches.append(cache)
    logits = classification_head(hidden, weights.head_dense, weights.head_out)  # (batch, num_labels)
    return logits, ForwardCache(input_ids, tuple(caches), hidden)


def backward_from_logits(
    grad_logits: Tensor,
    weights: RobertaWeights,
    cache: ForwardCache,
    record: dict[str, list] | None = None,
) -> Gradients:
    r"""Every parameter's gradient, given $\partial\mathcal{L}/\partial z$ and the forward's cache.

    The chain rule in the reverse order of the forward pass:

    $$\begin{gathered}
        \mathrm{d}X^{(L)} = \operatorname{Head}^\top(\mathrm{d}z), \\
        \mathrm{d}X^{(\ell-1)} = \operatorname{EncoderLayer}_\ell^\top\big(\mathrm{d}X^{(\ell)}\big), \\
        \mathrm{d}E^\text{tok}, \mathrm{d}E^\text{pos}, \ldots = \operatorname{Embed}^\top\big(\mathrm{d}X^{(0)}\big)
        \end{gathered}$$

    ``record``: if a dict is given, it receives ``"hidden"`` (the list of
    $\mathrm{d}X^{(\ell)}$ from $\ell = L$ down to 0) and ``"paths"`` (per layer, from the last, the
    skip and branch terms of :func:`~roberta_math.math.encoder.encoder_layer_backward`).
    """
    assert weights.head_dense is not None and weights.head_out is not None
    grad_hidden, grad_dense, grad_out = classification_head_backward(
        grad_logits, cache.last_hidden, weights.head_dense, weights.head_out
    )  # (batch, seq, d): nonzero at <s> only
    if record is not None:
        record["hidden"] = [grad_hidden]
        record["paths"] = []
    layer_grads: list[EncoderLayerWeights] = []
    for layer, layer_cache in zip(reversed(weights.layers), reversed(cache.layers)):
        paths: dict[str, Tensor] | None = {} if record is not None else None
        grad_hidden, grads = encoder_layer_backward(grad_hidden, layer_cache, layer, weights.layer_norm_eps, paths)
        layer_grads.append(grads)
        if record is not None:
            record["hidden"].append(grad_hidden)
            record["paths"].append(paths)
    grad_embeddings = roberta_embeddings_backward(
        grad_hidden, cache.input_ids, weights.embeddings, weights.padding_idx, weights.layer_norm_eps
    )
    return Gradients(grad_embeddings, tuple(reversed(layer_grads)), grad_dense, grad_out)


def named_gradients(grads: Gradients, prefix: str = "roberta.") -> dict[str, Tensor]:
    """The gradients keyed by the names of ``RobertaForSequenceClassification.state_dict()``.

    >>> import torch
    >>> from roberta_math.math import AttentionWeights
    >>> lin = Linear(torch.zeros(2, 2), torch.zeros(2))
    >>> layer = EncoderLayerWeights(AttentionWeights(lin, lin, lin, lin), *[torch.zeros(2)] * 2, lin, lin, *[torch.zeros(2)] * 2)
    >>> g = Gradients(EmbeddingWeights(*[torch.zeros(2)] * 5), (layer,), lin, lin)
    >>> len(named_gradients(g)), "roberta.encoder.layer.0.attention.self.query.weight" in named_gradients(g)
    (25, True)
    """
    emb = f"{prefix}embeddings"
    out = {
        f"{emb}.word_embeddings.weight": grads.embeddings.word,
        f"{emb}.position_embeddings.weight": grads.embeddings.position,
        f"{emb}.token_type_embeddings.weight": grads.embeddings.token_type,
        f"{emb}.LayerNorm.weight": grads.embeddings.ln_gamma,
        f"{emb}.LayerNorm.bias": grads.embeddings.ln_beta,
    }

    def linear_names(name: str, lin: Linear) -> None:
        out[f"{name}.weight"], out[f"{name}.bias"] = lin.weight, lin.bias

    for i, layer in enumerate(grads.layers):
        p = f"{prefix}encoder.layer.{i}"
        linear_names(f"{p}.attention.self.query", layer.attention.query)
        linear_names(f"{p}.attention.self.key", layer.attention.key)
        linear_names(f"{p}.attention.self.value", layer.attention.value)
        linear_names(f"{p}.attention.output.dense", layer.attention.output)
        out[f"{p}.attention.output.LayerNorm.weight"] = layer.attention_ln_gamma
        out[f"{p}.attention.output.LayerNorm.bias"] = layer.attention_ln_beta
        linear_names(f"{p}.intermediate.dense", layer.intermediate)
        linear_names(f"{p}.output.dense", layer.output)
        out[f"{p}.output.LayerNorm.weight"] = layer.output_ln_gamma
        out[f"{p}.output.LayerNorm.bias"] = layer.output_ln_beta
    linear_names("classifier.dense", grads.head_dense)
    linear_names("classifier.out_proj", grads.head_out)
    return out


def gradients_from_scratch(
    model: torch.nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None,
    labels: Tensor,
    record: dict[str, list] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""The mean cross-entropy and the gradient of every parameter, without autograd.

    $$\begin{gathered}
        \mathcal{L} = -\frac{1}{B}\sum_{(z, y)} \log \operatorname{softmax}(z)_y, \\
        \frac{\partial \mathcal{L}}{\partial \theta} \text{ for every } \theta \in \texttt{model.state\_dict()}
        \end{gathered}$$

    - ``model``: a ``transformers`` ``RobertaForSequenceClassification``; only ``model.state_dict()``
      and ``model.config`` are read. Dropout is not applied (the result is the gradient of the
      ``eval``-mode loss).
    - ``input_ids``, ``attention_mask``: ``(batch, seq)``; ``labels``: ``(batch,)`` classes.
    - ``record``: see :func:`backward_from_logits`.
    - Returns the loss (a 0-d tensor) and ``{name: gradient}`` with exactly the state dict's
      names and shapes.

    >>> from transformers import RobertaConfig, RobertaForSequenceClassification
    >>> _ = torch.manual_seed(0)
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                        intermediate_size=16, max_position_embeddings=12, num_labels=3)
    >>> model = RobertaForSequenceClassification(config).eval()
    >>> ids = torch.tensor([[0, 7, 9, 2], [0, 5, 2, 1]])
    >>> loss, grads = gradients_from_scratch(model, ids, ids.ne(1).long(), torch.tensor([2, 0]))
    >>> torch.nn.functional.cross_entropy(model(ids, attention_mask=ids.ne(1).long()).logits, torch.tensor([2, 0])).backward()
    >>> max(float((grads[n] - p.grad).abs().max()) for n, p in model.named_parameters()) < 1e-6
    True
    """
    weights = read_weights(model)
    logits, cache = forward_with_cache(weights, input_ids, attention_mask)  # (batch, num_labels)
    loss = cross_entropy_loss(logits, labels)
    grad_logits = cross_entropy_grad(logits, labels)  # (batch, num_labels) = (p - e_y) / B
    grads = backward_from_logits(grad_logits, weights, cache, record)
    names = list(model.state_dict())
    named = named_gradients(grads, "roberta." if any(k.startswith("roberta.") for k in names) else "")
    missing = [k for k in names if k not in named]
    if missing:
        raise ValueError(f"no from-scratch gradient for {missing[:3]}: is this a RobertaForSequenceClassification?")
    return loss, {k: named[k] for k in names}  # in the state dict's order

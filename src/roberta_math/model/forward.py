r"""RoBERTa's sentiment classifier, computed from scratch with the package's own equations.

$$\begin{gathered}
X^{(0)} = \operatorname{Embed}(x), \\
X^{(\ell)} = \operatorname{EncoderLayer}_\ell\big(X^{(\ell-1)}\big), \\
z = \operatorname{Head}\big(X^{(L)}_1\big)
\end{gathered}$$

with $X^{(L)}_1$ the last layer's row for ``<s>`` (symbols: the site's notation page). The
equivalence tests check that this reproduces ``transformers``' logits to within 1e-4 and
every layer's attention probabilities to within 1e-5, on random float32 models in
evaluation mode with right padding, a small one and one of the roberta-base shape, whose
biases and LayerNorm parameters are random too (not ``transformers``' zeros and ones).
"""

from __future__ import annotations

import torch
from torch import Tensor

from roberta_math.math import classification_head, encoder_layer, roberta_embeddings
from roberta_math.model.weights import RobertaWeights, read_weights


def encode_from_scratch(
    weights: RobertaWeights, input_ids: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, tuple[Tensor, ...]]:
    r"""The encoder alone: final hidden states and each layer's attention weights.

    - ``input_ids``, ``attention_mask``: ``(batch, seq)``; the mask is 1 for tokens, 0 for padding.
    - Returns $X^{(L)}$ ``(batch, seq, d)`` and a tuple of $L$ tensors ``(batch, heads, seq, seq)``.
    """
    if attention_mask is None:
        attention_mask = input_ids.ne(weights.padding_idx).long()
    hidden = roberta_embeddings(
        input_ids, weights.embeddings, weights.padding_idx, weights.layer_norm_eps
    )  # (batch, seq, d)
    attentions = []
    for layer in weights.layers:
        hidden, probs = encoder_layer(
            hidden, layer, weights.num_heads, attention_mask, weights.layer_norm_eps
        )  # (batch, seq, d), (batch, heads, seq, seq)
        attentions.append(probs)
    return hidden, tuple(attentions)


@torch.no_grad()
def classify_from_scratch(
    model: torch.nn.Module, input_ids: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, tuple[Tensor, ...]]:
    r"""Logits and attention weights of a ``RobertaForSequenceClassification``, from its weights only.

    $$z = \tanh\!\big(X^{(L)}_1 W_\text{dense}^\top + b_\text{dense}\big)\, W_\text{out}^\top + b_\text{out}$$

    - ``model``: a ``transformers`` RoBERTa classifier; only ``model.state_dict()`` and
      ``model.config`` are read (no module of the model is called).
    - ``input_ids``, ``attention_mask``: ``(batch, seq)``, as a RoBERTa tokenizer returns them.
    - Returns logits ``(batch, num_labels)`` and a tuple with one ``(batch, heads, seq, seq)``
      attention tensor per layer.
    - Raises ``ValueError`` naming both lengths when a row holds more tokens than the
      model's positions allow: ids are never cut silently (see :mod:`roberta_math.model.truncation`).

    >>> from transformers import RobertaConfig, RobertaForSequenceClassification
    >>> _ = torch.manual_seed(0)
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                        intermediate_size=16, max_position_embeddings=12, num_labels=3)
    >>> model = RobertaForSequenceClassification(config).eval()
    >>> ids = torch.tensor([[0, 7, 9, 2], [0, 5, 2, 1]])  # the second sentence is padded
    >>> logits, attentions = classify_from_scratch(model, ids, ids.ne(1).long())
    >>> torch.allclose(logits, model(ids, attention_mask=ids.ne(1).long()).logits, atol=1e-5)
    True
    >>> len(attentions), tuple(attentions[0].shape)
    (2, (2, 2, 4, 4))
    """
    weights = read_weights(model)
    if weights.head_dense is None or weights.head_out is None:
        raise ValueError("this model has no classification head; use encode_from_scratch")
    hidden, attentions = encode_from_scratch(weights, input_ids, attention_mask)
    logits = classification_head(hidden, weights.head_dense, weights.head_out)  # (batch, labels)
    return logits, attentions

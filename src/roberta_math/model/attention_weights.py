"""``get_attention_weights`` of the notebook "RoBERTa Sentiment Analysis: Mathematical Breakdown", completed."""

from __future__ import annotations

import torch
from torch import Tensor


def get_attention_weights(text: str, model: torch.nn.Module, tokenizer) -> tuple[tuple[Tensor, ...], Tensor]:
    """Every layer's attention weights for one text, and the token ids they refer to.

    - Returns ``(attention, input_ids)``: ``attention`` is a tuple with one tensor of
      shape ``(1, heads, seq, seq)`` per layer (row = the attending token, column = the
      token attended to, each row summing to 1); ``input_ids`` is ``(1, seq)``.
    - Works on any RoBERTa model: a model loaded with the fused ``sdpa`` kernel, which
      cannot return attention weights, is switched to the eager kernel first.
    - A text longer than the model's positions allow
      (:func:`~roberta_math.model.loading.max_tokens_for`) keeps its first tokens and its
      closing ``</s>``, with a :class:`~roberta_math.model.truncation.TruncationWarning`
      (the policy of :mod:`roberta_math.model.truncation`), as ``predict`` does.

    >>> from transformers import RobertaConfig, RobertaModel
    >>> config = RobertaConfig(vocab_size=300, hidden_size=8, num_hidden_layers=2,
    ...                        num_attention_heads=2, intermediate_size=16, max_position_embeddings=10)
    >>> class Toy:  # a stand-in tokenizer: one id per byte, wrapped in <s> ... </s>
    ...     def __call__(self, text, return_tensors="pt", truncation=False, max_length=None):
    ...         ids = [0, *text.encode(), 2]
    ...         ids = ids[: max_length - 1] + [2] if truncation and len(ids) > max_length else ids
    ...         return {"input_ids": torch.tensor([ids])}
    >>> attention, ids = get_attention_weights("hi!", RobertaModel(config), Toy())
    >>> len(attention), tuple(attention[0].shape), ids.tolist()
    (2, (1, 2, 5, 5), [[0, 104, 105, 33, 2]])
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     attention, ids = get_attention_weights("a long text", RobertaModel(config), Toy())
    >>> ids.shape[1], str(caught[0].message)  # 10 positions hold 8 tokens
    (8, '1 of 1 texts were longer than 8 tokens and were truncated to their first 8 tokens')
    """
    from roberta_math.model.loading import max_tokens_for
    from roberta_math.model.truncation import encode_truncated

    if getattr(model.config, "_attn_implementation", "eager") != "eager":
        model.set_attn_implementation("eager")  # sdpa returns no attention weights
    device = next(model.parameters()).device
    encoded = encode_truncated(tokenizer, text, max_tokens_for(model.config))
    inputs = {k: v.to(device) for k, v in encoded.items()}
    model.eval()
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    return tuple(outputs.attentions), inputs["input_ids"]

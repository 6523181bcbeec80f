"""RoBERTa's equations, one function each, in the order the forward pass uses them."""

from __future__ import annotations

from roberta_math.math.attention import (
    AttentionWeights,
    merge_heads,
    multi_head_attention,
    self_attention,
    split_heads,
)
from roberta_math.math.embeddings import (
    EmbeddingWeights,
    layer_norm,
    position_ids_from_input_ids,
    roberta_embeddings,
)
from roberta_math.math.encoder import EncoderLayerWeights, encoder_layer, feed_forward, gelu
from roberta_math.math.head import classification_head
from roberta_math.math.linear import Linear, linear
from roberta_math.math.loss import cross_entropy_grad, cross_entropy_loss
from roberta_math.math.softmax import log_softmax, logsumexp, softmax, softmax_jacobian

__all__ = [
    "AttentionWeights",
    "EmbeddingWeights",
    "EncoderLayerWeights",
    "Linear",
    "classification_head",
    "cross_entropy_grad",
    "cross_entropy_loss",
    "encoder_layer",
    "feed_forward",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "logsumexp",
    "merge_heads",
    "multi_head_attention",
    "position_ids_from_input_ids",
    "roberta_embeddings",
    "self_attention",
    "softmax",
    "softmax_jacobian",
    "split_heads",
]

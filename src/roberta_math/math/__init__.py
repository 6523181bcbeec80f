"""RoBERTa's equations, one function each, in the order the forward pass uses them."""

from __future__ import annotations

from roberta_math.math.attention import (
    AttentionCache,
    AttentionWeights,
    merge_heads,
    multi_head_attention,
    multi_head_attention_backward,
    multi_head_attention_with_cache,
    self_attention,
    self_attention_backward,
    split_heads,
)
from roberta_math.math.embeddings import (
    EmbeddingWeights,
    embedding_backward,
    layer_norm,
    layer_norm_backward,
    position_ids_from_input_ids,
    roberta_embeddings,
    roberta_embeddings_backward,
)
from roberta_math.math.dropout import dropout, dropout_backward, dropout_mask
from roberta_math.math.encoder import (
    EncoderLayerCache,
    EncoderLayerWeights,
    encoder_layer,
    encoder_layer_backward,
    encoder_layer_with_cache,
    feed_forward,
    feed_forward_backward,
    gelu,
    gelu_backward,
)
from roberta_math.math.head import classification_head, classification_head_backward
from roberta_math.math.linear import Linear, linear, linear_backward
from roberta_math.math.loss import cross_entropy_grad, cross_entropy_loss
from roberta_math.math.softmax import log_softmax, logsumexp, softmax, softmax_backward, softmax_jacobian

__all__ = [
    "AttentionCache",
    "AttentionWeights",
    "EmbeddingWeights",
    "EncoderLayerCache",
    "EncoderLayerWeights",
    "Linear",
    "classification_head",
    "classification_head_backward",
    "cross_entropy_grad",
    "cross_entropy_loss",
    "dropout",
    "dropout_backward",
    "dropout_mask",
    "embedding_backward",
    "encoder_layer",
    "encoder_layer_backward",
    "encoder_layer_with_cache",
    "feed_forward",
    "feed_forward_backward",
    "gelu",
    "gelu_backward",
    "layer_norm",
    "layer_norm_backward",
    "linear",
    "linear_backward",
    "log_softmax",
    "logsumexp",
    "merge_heads",
    "multi_head_attention",
    "multi_head_attention_backward",
    "multi_head_attention_with_cache",
    "position_ids_from_input_ids",
    "roberta_embeddings",
    "roberta_embeddings_backward",
    "self_attention",
    "self_attention_backward",
    "softmax",
    "softmax_backward",
    "softmax_jacobian",
    "split_heads",
]

"""Read a ``transformers`` RoBERTa classifier's weights into the math functions' containers.

Only the state dict is read: nothing here calls the model's modules, so the
from-scratch forward pass cannot borrow any of ``transformers``' arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from roberta_math.math import AttentionWeights, EmbeddingWeights, EncoderLayerWeights, Linear


@dataclass(frozen=True)
class RobertaWeights:
    """Every tensor and hyper-parameter the forward pass needs."""

    embeddings: EmbeddingWeights
    layers: tuple[EncoderLayerWeights, ...]
    head_dense: Linear | None  # (d, d); None for a plain encoder such as roberta-base
    head_out: Linear | None  # (num_labels, d)
    num_heads: int
    padding_idx: int
    layer_norm_eps: float


def _linear(state: dict[str, Tensor], prefix: str) -> Linear:
    return Linear(state[f"{prefix}.weight"], state[f"{prefix}.bias"])


def read_weights(model: torch.nn.Module) -> RobertaWeights:
    """Collect the weights of a ``RobertaForSequenceClassification`` (or a ``RobertaModel``).

    >>> from transformers import RobertaConfig, RobertaForSequenceClassification
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2,
    ...                        num_attention_heads=2, intermediate_size=16, max_position_embeddings=12)
    >>> w = read_weights(RobertaForSequenceClassification(config))
    >>> len(w.layers), w.num_heads, tuple(w.embeddings.position.shape)
    (2, 2, (12, 8))
    """
    state = {k: v.detach() for k, v in model.state_dict().items()}
    base = "roberta." if any(k.startswith("roberta.") for k in state) else ""
    config = model.config
    emb = f"{base}embeddings"
    embeddings = EmbeddingWeights(
        word=state[f"{emb}.word_embeddings.weight"],
        position=state[f"{emb}.position_embeddings.weight"],
        token_type=state[f"{emb}.token_type_embeddings.weight"],
        ln_gamma=state[f"{emb}.LayerNorm.weight"],
        ln_beta=state[f"{emb}.LayerNorm.bias"],
    )
    layers = []
    for i in range(config.num_hidden_layers):
        p = f"{base}encoder.layer.{i}"
        layers.append(
            EncoderLayerWeights(
                attention=AttentionWeights(
                    query=_linear(state, f"{p}.attention.self.query"),
                    key=_linear(state, f"{p}.attention.self.key"),
                    value=_linear(state, f"{p}.attention.self.value"),
                    output=_linear(state, f"{p}.attention.output.dense"),
                ),
                attention_ln_gamma=state[f"{p}.attention.output.LayerNorm.weight"],
                attention_ln_beta=state[f"{p}.attention.output.LayerNorm.bias"],
                intermediate=_linear(state, f"{p}.intermediate.dense"),
                output=_linear(state, f"{p}.output.dense"),
                output_ln_gamma=state[f"{p}.output.LayerNorm.weight"],
                output_ln_beta=state[f"{p}.output.LayerNorm.bias"],
            )
        )
    has_head = "classifier.dense.weight" in state
    return RobertaWeights(
        embeddings=embeddings,
        layers=tuple(layers),
        head_dense=_linear(state, "classifier.dense") if has_head else None,
        head_out=_linear(state, "classifier.out_proj") if has_head else None,
        num_heads=config.num_attention_heads,
        padding_idx=config.pad_token_id,
        layer_norm_eps=config.layer_norm_eps,
    )

"""A small random RoBERTa classifier for the doctests of this package (nothing here is trained)."""

from __future__ import annotations

import torch


def tiny_model(seed: int = 0, num_layers: int = 2):
    """A ``RobertaForSequenceClassification`` with d = 8, 2 heads, 3 classes and random weights, in eval mode.

    >>> tiny_model().config.hidden_size
    8
    """
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(seed)
    config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=num_layers, num_attention_heads=2,
                           intermediate_size=16, max_position_embeddings=12, num_labels=3)
    return RobertaForSequenceClassification(config).eval()

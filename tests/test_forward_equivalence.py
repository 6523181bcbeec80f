"""The from-scratch forward pass reproduces transformers' RoBERTa, logits and attentions."""

from __future__ import annotations

import pytest
import torch
from helpers_models import randomise_biases_and_layer_norms
from transformers import RobertaConfig, RobertaForSequenceClassification

from roberta_math.model.attention_weights import get_attention_weights
from roberta_math.model.forward import classify_from_scratch

SMALL = dict(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=256, max_position_embeddings=66, layer_norm_eps=1e-5)
# the roberta-base shape: 12 layers, 12 heads, hidden 768, 514 positions, vocab 50265
ROBERTA_BASE = dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                    intermediate_size=3072, max_position_embeddings=514, layer_norm_eps=1e-5,
                    type_vocab_size=1)


def _model(shape: dict, seed: int, bias_std: float = 0.5) -> RobertaForSequenceClassification:
    torch.manual_seed(seed)
    config = RobertaConfig(**shape, num_labels=3, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    config._attn_implementation = "eager"  # sdpa returns no attention probabilities
    # transformers starts every bias at 0 and every LayerNorm at gamma = 1, beta = 0: draw them at
    # random, or a forward pass that dropped them would pass
    model = RobertaForSequenceClassification(config)
    return randomise_biases_and_layer_norms(model, seed=seed, bias_std=bias_std).eval()


def _padded_batch(vocab: int, lengths: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    seq = max(lengths)
    ids = torch.full((len(lengths), seq), 1)  # <pad> = 1
    for row, n in enumerate(lengths):
        ids[row, 0], ids[row, n - 1] = 0, 2  # <s> ... </s>
        ids[row, 1 : n - 1] = torch.randint(3, vocab, (n - 2,), generator=gen)
    return ids, ids.ne(1).long()


def _check(model, ids, mask) -> tuple[float, float]:
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    logits, attentions = classify_from_scratch(model, ids, mask)
    assert len(attentions) == len(ref.attentions) == model.config.num_hidden_layers
    logit_diff = (logits - ref.logits).abs().max().item()
    attn_diff = max((a - r).abs().max().item() for a, r in zip(attentions, ref.attentions))
    return logit_diff, attn_diff


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_model_matches_transformers(seed: int) -> None:
    model = _model(SMALL, seed)
    # random matrices are N(0, 0.02): scale them up so the test exercises non-trivial attention
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" not in name and not name.endswith("bias"):
                p.mul_(10)
    ids, mask = _padded_batch(SMALL["vocab_size"], [20, 7, 13, 3], seed)
    logit_diff, attn_diff = _check(model, ids, mask)
    assert logit_diff <= 1e-4, logit_diff
    assert attn_diff <= 1e-5, attn_diff


@pytest.mark.slow
def test_roberta_base_shape_matches_transformers() -> None:
    # biases 2.5 x the matrices' N(0, 0.02^2) scale, as the small model's 0.5 is 2.5 x its 0.2:
    # biases of 0.5 here would swamp X W^T (std about 0.55) and saturate the softmax
    model = _model(ROBERTA_BASE, 0, bias_std=0.05)
    assert model.config.max_position_embeddings == 514
    ids, mask = _padded_batch(ROBERTA_BASE["vocab_size"], [24, 9, 17], 0)
    logit_diff, attn_diff = _check(model, ids, mask)
    assert logit_diff <= 1e-4, logit_diff
    assert attn_diff <= 1e-5, attn_diff


def _scaled(model: RobertaForSequenceClassification) -> RobertaForSequenceClassification:
    """Weight matrices x10 (biases and LayerNorms kept): with random N(0, 0.02) matrices the logits of
    two different sentences differ by less than a test's tolerance."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" not in name and not name.endswith("bias"):
                p.mul_(10)
    return model


def test_padding_does_not_change_a_sentences_logits() -> None:
    model = _scaled(_model(SMALL, 3))
    ids, mask = _padded_batch(SMALL["vocab_size"], [12, 5], 3)
    batched, _ = classify_from_scratch(model, ids, mask)
    alone, _ = classify_from_scratch(model, ids[1:, :5], mask[1:, :5])
    # the test can tell sentences apart: the two rows differ by far more than the tolerance
    assert (batched[0] - batched[1]).abs().max() > 0.1
    assert torch.allclose(batched[1], alone[0], atol=1e-5), (batched[1] - alone[0]).abs().max()
    # and the unpadded sentence's logits are transformers' own
    with torch.no_grad():
        reference = model(input_ids=ids[1:, :5]).logits
    assert torch.allclose(alone, reference, atol=1e-4), (alone - reference).abs().max()


def test_a_broken_equation_is_caught() -> None:
    """Sanity check of the harness: a forward pass with the wrong attention scale does not match."""
    import roberta_math.math.attention as attention

    model = _model(SMALL, 4)
    ids, mask = _padded_batch(SMALL["vocab_size"], [10, 6], 4)
    original = attention.math.sqrt
    attention.math.sqrt = lambda x: original(x) * 2  # type: ignore[assignment]
    try:
        _, attn_diff = _check(model, ids, mask)
    finally:
        attention.math.sqrt = original  # type: ignore[assignment]
    assert attn_diff > 1e-3


def test_get_attention_weights_switches_sdpa_to_eager() -> None:
    torch.manual_seed(0)
    config = RobertaConfig(**SMALL, num_labels=3)
    model = RobertaForSequenceClassification(config)  # sdpa by default in transformers 5

    def tokenizer(text: str, return_tensors: str = "pt") -> dict[str, torch.Tensor]:
        ids = [0, *[3 + (ord(c) % 900) for c in text], 2]
        return {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}

    attention, ids = get_attention_weights("not bad at all", model, tokenizer)
    assert len(attention) == 2 and attention[0].shape == (1, 4, 16, 16)
    _, scratch = classify_from_scratch(model, ids)
    for a, b in zip(attention, scratch):
        assert torch.allclose(a, b, atol=1e-5)

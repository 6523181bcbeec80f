"""The from-scratch forward pass against transformers over the configurations a hub checkpoint can have.

Every other equivalence test uses pad id 1, ``layer_norm_eps=1e-5``, one token type and
right padding. Each case here changes one of those, on a small model whose weights are
scaled up (random N(0, 0.02) weights give logits of about 0.01, too small to tell a bug
from rounding), and asserts the logits, the final hidden states and every layer's
attention probabilities against ``transformers``:

- ``pad_token_id`` 0 and 5 (not 1): RoBERTa's position ids and the default attention mask
  both depend on it; a hard-coded 1 moves the positions;
- ``layer_norm_eps`` 0.5 (not 1e-5): large enough that every one of the 2L + 1
  LayerNorms (embeddings, and both of every layer) changes the output if it drops ``eps``;
- left and right padding, with a pad id other than 1;
- token type ids with ``type_vocab_size=2``, both types present;
- head sizes 7 and 5 (odd, not a power of two).
"""

from __future__ import annotations

import pytest
import torch
from transformers import RobertaConfig, RobertaForSequenceClassification

from roberta_math.math import encoder_layer, roberta_embeddings
from roberta_math.model.forward import classify_from_scratch, encode_from_scratch
from roberta_math.model.weights import read_weights

LOGIT_ATOL = 1e-4
HIDDEN_ATOL = 1e-4
ATTENTION_ATOL = 1e-5


def _model(*, pad: int = 1, eps: float = 1e-5, hidden: int = 32, heads: int = 4, type_vocab: int = 1,
           layers: int = 2, seed: int = 0) -> RobertaForSequenceClassification:
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=120, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=2 * hidden, max_position_embeddings=40, type_vocab_size=type_vocab,
        layer_norm_eps=eps, pad_token_id=pad, bos_token_id=3 if pad != 3 else 4, eos_token_id=2 if pad != 2 else 6,
        num_labels=3,
    )
    config._attn_implementation = "eager"  # sdpa returns no attention probabilities
    model = RobertaForSequenceClassification(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name:
                # gains and biases away from 1 and 0, so a LayerNorm that skips them is visible
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
            else:
                p.mul_(10)
    return model


def _batch(pad: int, lengths: list[int], *, side: str = "right", seed: int = 0,
           bos: int = 3, eos: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded with ``pad`` on ``side``; every real token differs from ``pad``, and
    token id 1 appears in every sentence when it is not the pad id (so a hard-coded 1 shows)."""
    gen = torch.Generator().manual_seed(seed)
    seq = max(lengths)
    ids = torch.full((len(lengths), seq), pad)
    for row, n in enumerate(lengths):
        body = torch.randint(7, 120, (n - 2,), generator=gen)
        if pad != 1 and n > 3:
            body[1] = 1
        sentence = torch.cat([torch.tensor([bos]), body, torch.tensor([eos])])
        if side == "right":
            ids[row, :n] = sentence
        else:
            ids[row, seq - n:] = sentence
    return ids, ids.ne(pad).long()


def _assert_matches(model, ids, mask, token_type_ids=None) -> None:
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, token_type_ids=token_type_ids,
                    output_attentions=True, output_hidden_states=True)
    if token_type_ids is None:
        logits, attentions = classify_from_scratch(model, ids, mask)
        hidden, _ = encode_from_scratch(read_weights(model), ids, mask)
        logit_diff = (logits - ref.logits).abs().max().item()
        assert logit_diff <= LOGIT_ATOL, f"logits differ by {logit_diff:.3g}"
    else:
        hidden, attentions = _encode_with_token_types(model, ids, mask, token_type_ids)
    real = mask.bool()  # padded positions' hidden states are not used by anything downstream
    hidden_diff = (hidden - ref.hidden_states[-1])[real].abs().max().item()
    assert hidden_diff <= HIDDEN_ATOL, f"final hidden states differ by {hidden_diff:.3g}"
    for layer, (a, r) in enumerate(zip(attentions, ref.attentions, strict=True)):
        attn_diff = (a - r).abs().max().item()
        assert attn_diff <= ATTENTION_ATOL, f"layer {layer} attention differs by {attn_diff:.3g}"


def _encode_with_token_types(model, ids, mask, token_type_ids):
    """The encoder from the math functions, with token types (``encode_from_scratch`` takes none)."""
    w = read_weights(model)
    hidden = roberta_embeddings(ids, w.embeddings, w.padding_idx, w.layer_norm_eps, token_type_ids=token_type_ids)
    attentions = []
    for layer in w.layers:
        hidden, probs = encoder_layer(hidden, layer, w.num_heads, mask, w.layer_norm_eps)
        attentions.append(probs)
    return hidden, attentions


@pytest.mark.parametrize("pad", [0, 5])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_id_other_than_one(pad: int, side: str) -> None:
    model = _model(pad=pad)
    ids, mask = _batch(pad, [9, 4, 6], side=side)
    _assert_matches(model, ids, mask)


@pytest.mark.parametrize("pad", [0, 5])
def test_default_attention_mask_follows_the_pad_id(pad: int) -> None:
    """``encode_from_scratch`` without a mask derives it from the checkpoint's own pad id."""
    model = _model(pad=pad)
    ids, mask = _batch(pad, [8, 5], side="right", seed=1)
    with torch.no_grad():
        ref = model.roberta(input_ids=ids, attention_mask=mask).last_hidden_state
    hidden, _ = encode_from_scratch(read_weights(model), ids)  # no mask passed
    diff = (hidden - ref)[mask.bool()].abs().max().item()
    assert diff <= HIDDEN_ATOL, f"hidden states differ by {diff:.3g}"


@pytest.mark.parametrize("side", ["right", "left"])
def test_left_and_right_padding_with_pad_id_one(side: str) -> None:
    model = _model(pad=1)
    ids, mask = _batch(1, [9, 4, 6], side=side, seed=2)
    _assert_matches(model, ids, mask)


def test_layer_norm_eps_is_used_by_every_layer_norm() -> None:
    """eps = 0.5 is comparable to the variance each LayerNorm sees, so dropping it anywhere shows."""
    model = _model(eps=0.5, layers=2)
    ids, mask = _batch(1, [9, 5], seed=3)
    _assert_matches(model, ids, mask)


def test_layer_norm_eps_each_layer_norm_alone() -> None:
    """The embeddings' LayerNorm and both LayerNorms of a layer, one at a time, against transformers' modules."""
    model = _model(eps=0.5, layers=1)
    w = read_weights(model)
    ids, mask = _batch(1, [7, 4], seed=4)
    with torch.no_grad():
        ref_emb = model.roberta.embeddings(input_ids=ids)
        emb = roberta_embeddings(ids, w.embeddings, w.padding_idx, w.layer_norm_eps)
        emb_diff = (emb - ref_emb).abs().max().item()
        assert emb_diff <= HIDDEN_ATOL, f"embeddings differ by {emb_diff:.3g}"
        hf_layer = model.roberta.layer[0] if hasattr(model.roberta, "layer") else model.roberta.encoder.layer[0]
        extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        ref_out = hf_layer(ref_emb, attention_mask=extended)
        ref_out = ref_out[0] if isinstance(ref_out, tuple) else ref_out
        out, _ = encoder_layer(ref_emb, w.layers[0], w.num_heads, mask, w.layer_norm_eps)
    diff = (out - ref_out)[mask.bool()].abs().max().item()
    assert diff <= HIDDEN_ATOL, f"encoder layer output differs by {diff:.3g}"


@pytest.mark.parametrize("side", ["right", "left"])
def test_two_token_types(side: str) -> None:
    model = _model(type_vocab=2, pad=0)
    ids, mask = _batch(0, [10, 6, 8], side=side, seed=5)
    # a sentence pair: type 0 for the first half of each sentence's tokens, type 1 for the rest
    token_type_ids = torch.zeros_like(ids)
    for row in range(len(ids)):
        positions = mask[row].nonzero().flatten()
        token_type_ids[row, positions[len(positions) // 2:]] = 1
    assert set(token_type_ids[mask.bool()].tolist()) == {0, 1}
    _assert_matches(model, ids, mask, token_type_ids)


def test_token_type_embeddings_match_transformers() -> None:
    model = _model(type_vocab=2)
    w = read_weights(model)
    ids, _ = _batch(1, [6, 6], seed=6)
    token_type_ids = torch.tensor([[0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]])
    with torch.no_grad():
        ref = model.roberta.embeddings(input_ids=ids, token_type_ids=token_type_ids)
    ours = roberta_embeddings(ids, w.embeddings, w.padding_idx, w.layer_norm_eps, token_type_ids=token_type_ids)
    diff = (ours - ref).abs().max().item()
    assert diff <= HIDDEN_ATOL, f"embeddings with token types differ by {diff:.3g}"
    # and the default (no token types) is type 0 everywhere, as in transformers
    with torch.no_grad():
        ref0 = model.roberta.embeddings(input_ids=ids)
    diff0 = (roberta_embeddings(ids, w.embeddings, w.padding_idx, w.layer_norm_eps) - ref0).abs().max().item()
    assert diff0 <= HIDDEN_ATOL, f"embeddings without token types differ by {diff0:.3g}"


@pytest.mark.parametrize(("hidden", "heads"), [(21, 3), (35, 7), (15, 5)])
def test_odd_head_sizes(hidden: int, heads: int) -> None:
    """Head sizes 7, 5 and 3: 1/sqrt(d_k) irrational, and no power-of-two reshape can hide a mix-up."""
    model = _model(hidden=hidden, heads=heads, pad=0)
    ids, mask = _batch(0, [8, 5], side="left", seed=7)
    _assert_matches(model, ids, mask)


def test_an_explicit_attention_mask_is_used_as_given() -> None:
    """A caller's mask that differs from ``input_ids != pad`` (here it also hides one real token) is obeyed."""
    model = _model(pad=0)
    ids, mask = _batch(0, [9, 6], seed=8)
    mask[0, 4] = 0
    _assert_matches(model, ids, mask)
    hidden, attentions = encode_from_scratch(read_weights(model), ids, mask)
    assert torch.all(attentions[0][0, :, :, 4] == 0)

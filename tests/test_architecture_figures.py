"""The architecture diagrams and the embeddings figure: every shape they print is the shape the code computes.

The diagrams' labels come from ``attention_shapes`` and ``encoder_layer_shapes``; here
those are checked against the tensors that the package's own multi-head attention, encoder
layer and feed-forward block return for random models of several shapes, and against the
shapes of ``transformers``' weights. The embeddings figure's terms are checked against
``transformers``' own embedding module.
"""

from __future__ import annotations

import pytest
import torch
from transformers import RobertaConfig, RobertaForSequenceClassification

from roberta_math.figures import architecture_figures as arch
from roberta_math.figures.render import use_style
from roberta_math.math import encoder_layer, multi_head_attention
from roberta_math.math.attention import split_heads
from roberta_math.math.embeddings import layer_norm
from roberta_math.math.encoder import gelu
from roberta_math.model.weights import read_weights

SHAPES = [  # (d, H, d_ff, L): roberta-base's head size, the compact model's, odd ones
    (16, 2, 40, 1),
    (24, 3, 48, 2),
    (64, 1, 64, 1),
    (48, 12, 192, 3),
]


def _model(d: int, heads: int, d_ff: int, layers: int) -> RobertaForSequenceClassification:
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=60, hidden_size=d, num_attention_heads=heads, intermediate_size=d_ff,
                           num_hidden_layers=layers, max_position_embeddings=20, num_labels=3)
    return RobertaForSequenceClassification(config).eval()


def _concrete(shape: dict, batch: int, seq: int) -> tuple[int, ...]:
    """The label's shape with ``batch`` and ``seq`` filled in."""
    free = {"batch": batch, "seq": seq}
    return tuple(free[sym] if size is None else size for sym, size in zip(shape["symbols"], shape["sizes"], strict=True))


@pytest.mark.parametrize(("d", "heads", "d_ff", "layers"), SHAPES)
def test_attention_shapes_are_the_shapes_the_code_computes(d: int, heads: int, d_ff: int, layers: int) -> None:
    model = _model(d, heads, d_ff, layers)
    sizes = arch.architecture_sizes(model.config)
    assert (sizes["d"], sizes["H"], sizes["d_ff"], sizes["L"]) == (d, heads, d_ff, layers)
    assert sizes["d_h"] * sizes["H"] == d
    shapes = arch.attention_shapes(sizes)
    batch, seq = 2, 5
    weights = read_weights(model).layers[0].attention
    x = torch.randn(batch, seq, d)
    out, attention = multi_head_attention(x, weights, heads)
    torch_attention = model.roberta.encoder.layer[0].attention
    assert _concrete(shapes["X"], batch, seq) == tuple(x.shape)
    assert _concrete(shapes["MHA(X)"], batch, seq) == tuple(out.shape)
    assert _concrete(shapes["A"], batch, seq) == tuple(attention.shape)
    for name, linear in (("Q", torch_attention.self.query), ("K", torch_attention.self.key),
                         ("V", torch_attention.self.value)):
        projected = linear(x)
        assert _concrete(shapes[name], batch, seq) == tuple(projected.shape)
        assert _concrete(shapes[f"{name} heads"], batch, seq) == tuple(split_heads(projected, heads).shape)
        assert _concrete(shapes[f"W_{name}"], batch, seq) == tuple(linear.weight.shape)  # stored (out, in)
    heads_out = split_heads(torch_attention.self.value(x), heads)  # a (batch, H, seq, d_h) tensor, as head_h
    assert _concrete(shapes["heads"], batch, seq) == tuple(heads_out.shape)
    assert _concrete(shapes["Concat"], batch, seq) == (batch, seq, heads * sizes["d_h"])
    assert _concrete(shapes["W_O"], batch, seq) == tuple(torch_attention.output.dense.weight.shape)


@pytest.mark.parametrize(("d", "heads", "d_ff", "layers"), SHAPES)
def test_encoder_layer_shapes_are_the_shapes_the_code_computes(d: int, heads: int, d_ff: int, layers: int) -> None:
    model = _model(d, heads, d_ff, layers)
    shapes = arch.encoder_layer_shapes(arch.architecture_sizes(model.config))
    layer = read_weights(model).layers[0]
    batch, seq = 3, 4
    x = torch.randn(batch, seq, d)
    out, _ = encoder_layer(x, layer, num_heads=heads)
    inner = x @ layer.intermediate.weight.T + layer.intermediate.bias
    reference = model.roberta.encoder.layer[0]
    assert _concrete(shapes["X''"], batch, seq) == tuple(out.shape)
    assert _concrete(shapes["X' W_1^T + b_1"], batch, seq) == tuple(inner.shape)
    assert _concrete(shapes["GELU"], batch, seq) == tuple(gelu(inner).shape)
    assert _concrete(shapes["W_1"], batch, seq) == tuple(reference.intermediate.dense.weight.shape)
    assert _concrete(shapes["W_2"], batch, seq) == tuple(reference.output.dense.weight.shape)
    for name in ("X", "MHA(X)", "X + MHA(X)", "X'", "FFN(X')", "X' + FFN(X')"):
        assert _concrete(shapes[name], batch, seq) == (batch, seq, d)


def test_sizes_refuse_heads_that_do_not_divide_the_width() -> None:
    config = RobertaConfig(hidden_size=10, num_attention_heads=3)
    with pytest.raises(ValueError, match="not a multiple"):
        arch.architecture_sizes(config)


def test_shape_labels_use_the_notation_and_the_configured_sizes() -> None:
    shapes = arch.attention_shapes(arch.architecture_sizes(RobertaConfig()))  # roberta-base
    assert arch.shape_label(shapes["X"]) == "(batch, seq, d = 768)"
    assert arch.shape_label(shapes["Q heads"]) == "(batch, H = 12, seq, d_h = 64)"
    assert arch.shape_label(shapes["A"]) == "(batch, H = 12, seq, seq)"
    assert arch.shape_label(shapes["W_O"]) == "(d, d) = (768, 768)"
    layer = arch.encoder_layer_shapes(arch.architecture_sizes(RobertaConfig()))
    assert arch.shape_label(layer["W_1"]) == "(d_ff, d) = (3072, 768)"


def test_embedding_terms_match_transformers_embedding_module(tmp_path) -> None:
    from helpers_models import tiny_classifier

    from roberta_math.model.loading import load_model

    loaded = load_model(str(tiny_classifier(tmp_path / "tiny", max_tokens=30)))
    text = "I loved the film, it was great."
    terms = arch.embedding_terms(loaded, text)
    ids = loaded.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        reference = loaded.model.roberta.embeddings(input_ids=ids)[0].numpy()  # (seq, d)
    n, d = ids.shape[1], loaded.model.config.hidden_size
    for name in ("word", "position", "type", "sum", "output"):
        assert terms[name].shape == (n, d), name
    assert len(terms["tokens"]) == n and terms["position_ids"][0] == loaded.model.config.pad_token_id + 1
    assert abs(terms["output"] - reference).max() < 1e-5
    assert abs(terms["sum"] - (terms["word"] + terms["position"] + terms["type"])).max() < 1e-6
    # the token-type term is one row for every token (RoBERTa has a single type)
    assert abs(terms["type"] - terms["type"][:1]).max() == 0
    again = layer_norm(torch.from_numpy(terms["sum"]), loaded.model.roberta.embeddings.LayerNorm.weight.detach(),
                       loaded.model.roberta.embeddings.LayerNorm.bias.detach(), loaded.model.config.layer_norm_eps)
    assert abs(again.numpy() - terms["output"]).max() < 1e-6


@pytest.mark.parametrize("config", [RobertaConfig(), RobertaConfig(hidden_size=128, num_attention_heads=4,
                                                                     intermediate_size=512, num_hidden_layers=2)])
def test_diagrams_are_deterministic_transparent_svg_with_dark_colours(config: RobertaConfig) -> None:
    use_style()
    sizes = arch.architecture_sizes(config)
    for draw in (arch.multi_head_attention_figure, arch.encoder_layer_figure):
        first, second = draw(sizes), draw(sizes)
        assert first == second
        assert first.startswith(b"<?xml") and b"prefers-color-scheme: dark" in first
        assert b"fill: #ffffff" not in first  # no white card on a dark page

"""The FLOP count of the from-scratch forward pass, against PyTorch's own counter on the
transformers model (an independent count of the operations transformers executes), and
the per-layer formula 24 n d^2 + 4 n^2 d against the count (a hand derivation)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import RobertaConfig, RobertaForSequenceClassification

from roberta_math.math.encoder import encoder_layer
from roberta_math.model.flops import (
    attention_share,
    count_matmul_flops,
    crossover_length,
    encoder_layer_flops,
    forward_flops,
)
from roberta_math.model.weights import read_weights


def _model(d: int, heads: int, d_ff: int, layers: int = 2, positions: int = 70) -> RobertaForSequenceClassification:
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=60, hidden_size=d, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=d_ff,
        max_position_embeddings=positions, num_labels=3,
    )
    config._attn_implementation = "eager"  # plain matmuls, as the from-scratch code
    return RobertaForSequenceClassification(config).eval()


def _torch_count(model: torch.nn.Module, ids: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(ids, attention_mask=torch.ones_like(ids))
    return counter.get_total_flops()


@pytest.mark.parametrize(
    ("d", "heads", "d_ff", "n", "batch"),
    [(32, 2, 128, 1, 1), (32, 4, 128, 17, 2), (48, 3, 100, 64, 1), (16, 1, 64, 5, 3)],
)
def test_count_of_the_from_scratch_forward_equals_torch_flop_counter_on_transformers(
    d: int, heads: int, d_ff: int, n: int, batch: int
) -> None:
    model = _model(d, heads, d_ff)
    ids = torch.full((batch, n), 7)
    ours = forward_flops(model, n, batch=batch)
    assert ours == _torch_count(model, ids)


@pytest.mark.parametrize(("n", "d", "heads"), [(1, 8, 1), (9, 32, 4), (40, 64, 8), (128, 128, 4)])
def test_one_layer_costs_24nd2_plus_4n2d_with_dff_4d(n: int, d: int, heads: int) -> None:
    model = _model(d, heads, 4 * d, layers=1, positions=n + 2)
    layer = read_weights(model).layers[0]
    hidden = torch.randn(1, n, d)
    counted, _ = count_matmul_flops(encoder_layer, hidden, layer, heads)
    by_hand = 24 * n * d**2 + 4 * n**2 * d
    assert counted == by_hand == encoder_layer_flops(n, d).total


def test_the_formula_with_another_feed_forward_width() -> None:
    n, d, d_ff = 11, 24, 40
    model = _model(d, 3, d_ff, layers=1)
    counted, _ = count_matmul_flops(encoder_layer, torch.randn(1, n, d), read_weights(model).layers[0], 3)
    parts = encoder_layer_flops(n, d, d_ff)
    assert counted == parts.total == 8 * n * d * d + 4 * n * d * d_ff + 4 * n * n * d


def test_head_count_does_not_change_the_cost() -> None:
    ids = torch.full((1, 20), 7)
    counts = {heads: _torch_count(_model(48, heads, 192), ids) for heads in (1, 2, 3, 6, 12)}
    assert len(set(counts.values())) == 1, counts


def test_where_the_quadratic_term_takes_over() -> None:
    d = 96
    n_star = crossover_length(d)
    assert n_star == 6 * d
    assert attention_share(n_star, d) == pytest.approx(0.5)
    assert attention_share(n_star - 1, d) < 0.5 < attention_share(n_star + 1, d)
    # measured with torch's counter on a one-layer model at n = 6d: the attention
    # products (4 n^2 d) are half of the layer's products (head excluded by subtraction)
    model = _model(d, 4, 4 * d, layers=1, positions=n_star + 2)
    head = 2 * d * d + 2 * d * 3
    total = _torch_count(model, torch.full((1, n_star), 7)) - head
    assert 4 * n_star**2 * d / total == pytest.approx(0.5)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        encoder_layer_flops(0, 8)
    with pytest.raises(ValueError, match="between 1 and"):
        forward_flops(_model(8, 2, 32, positions=12), n=11)


def test_torch_counter_misses_exactly_the_attention_products_of_the_cpu_sdpa_kernel() -> None:
    """Why the comparison uses eager attention: in torch 2.13 FlopCounterMode has no formula
    for the CPU kernel of scaled_dot_product_attention, so on transformers' default path it
    undercounts by QK^T and AV, 4 n^2 d per layer, exactly the term the formula predicts."""
    n, d, layers = 17, 32, 2
    eager = _model(d, 2, 4 * d, layers=layers)
    config = copy.deepcopy(eager.config)  # the model reads its config at every call
    config._attn_implementation = "sdpa"
    sdpa = RobertaForSequenceClassification(config).eval()
    ids = torch.full((1, n), 7)
    assert _torch_count(eager, ids) - _torch_count(sdpa, ids) == layers * 4 * n**2 * d

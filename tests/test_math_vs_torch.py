"""Each equation's function equals its torch counterpart on random inputs (float32, 1e-6)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from roberta_math.math import (
    classification_head,
    cross_entropy_grad,
    cross_entropy_loss,
    feed_forward,
    gelu,
    layer_norm,
    Linear,
    log_softmax,
    logsumexp,
    merge_heads,
    multi_head_attention,
    AttentionWeights,
    self_attention,
    softmax,
    softmax_jacobian,
    split_heads,
)

ATOL = 1e-6
SEEDS = range(5)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = ATOL) -> None:
    assert a.shape == b.shape
    diff = (a - b).abs().max().item()
    assert diff <= atol, f"max abs diff {diff:.3g} > {atol}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_softmax_matches_torch(seed: int, dim: int) -> None:
    x = torch.randn(4, 7, 5, generator=torch.Generator().manual_seed(seed)) * 10
    _close(softmax(x, dim=dim), torch.softmax(x, dim=dim))


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0, 10.0])
def test_softmax_temperature_is_softmax_of_scaled_logits(temperature: float) -> None:
    x = torch.randn(6, 9, generator=torch.Generator().manual_seed(1)) * 3
    _close(softmax(x, temperature=temperature), torch.softmax(x / temperature, dim=-1))


def test_softmax_rejects_non_positive_temperature() -> None:
    with pytest.raises(ValueError, match="temperature"):
        softmax(torch.zeros(3), temperature=0.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_log_softmax_and_logsumexp_match_torch(seed: int) -> None:
    x = torch.randn(8, 11, generator=torch.Generator().manual_seed(seed)) * 20
    _close(log_softmax(x), torch.log_softmax(x, dim=-1), atol=1e-5)  # values up to ~100
    _close(logsumexp(x, dim=-1), torch.logsumexp(x, dim=-1), atol=1e-5)
    _close(logsumexp(x, dim=0, keepdim=True), torch.logsumexp(x, dim=0, keepdim=True), atol=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_softmax_jacobian_matches_autograd(temperature: float) -> None:
    x = torch.randn(6, generator=torch.Generator().manual_seed(2)) * 2
    expected = torch.autograd.functional.jacobian(lambda z: torch.softmax(z / temperature, -1), x)
    _close(softmax_jacobian(x, temperature=temperature), expected)


def test_softmax_jacobian_batched_matches_per_row() -> None:
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(3))
    batched = softmax_jacobian(x)
    for i in range(3):
        _close(batched[i], torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), x[i]))


def _random_mask(gen: torch.Generator, batch: int, seq_q: int, seq_k: int) -> torch.Tensor:
    mask = torch.rand(batch, 1, seq_q, seq_k, generator=gen) > 0.4
    mask[..., 0] = True  # keep one key per row: torch.softmax (the weights' reference below) gives nan on a fully masked row
    return mask


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("masked", [False, True])
def test_self_attention_matches_sdpa(seed: int, masked: bool) -> None:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, 3, 6, 16, generator=gen)
    k = torch.randn(2, 3, 9, 16, generator=gen)
    v = torch.randn(2, 3, 9, 8, generator=gen)
    mask = _random_mask(gen, 2, 6, 9) if masked else None
    out, weights = self_attention(q, k, v, mask)
    _close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    # the weights themselves, against the textbook formula computed with torch.softmax
    scores = q @ k.transpose(-2, -1) / 4.0
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    _close(weights, torch.softmax(scores, dim=-1))


def test_self_attention_seed_mask_convention_integer_mask() -> None:
    """The original notebook masks where ``mask == 0``: an integer 0/1 mask must work like a boolean one."""
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(1, 4, 8, generator=gen) for _ in range(3))
    bool_mask = torch.tensor([True, True, False, True])
    out_b, w_b = self_attention(q, k, v, bool_mask)
    out_i, w_i = self_attention(q, k, v, bool_mask.long())
    _close(out_b, out_i)
    _close(w_b, w_i)
    assert torch.all(w_b[..., 2] == 0)


def test_fully_masked_row_gives_zero_weights_and_output() -> None:
    """Documented behaviour: a query with every key masked attends to nothing (zeros, not nan)."""
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 3, 4, generator=gen) for _ in range(3))
    mask = torch.tensor([[[1, 1, 0], [0, 0, 0], [1, 0, 1]]])  # (1, seq_q, seq_k): one mask row per query
    out, w = self_attention(q, k, v, mask)
    assert torch.equal(w[0, 1], torch.zeros(3))
    assert torch.equal(out[0, 1], torch.zeros(4))
    assert not torch.isnan(out).any()
    _close(w[0, 0].sum(), torch.tensor(1.0))


def test_self_attention_rejects_an_ambiguous_padding_mask() -> None:
    """A (batch, seq_k) mask whose batch equals seq_q used to broadcast over the queries, silently."""
    gen = torch.Generator().manual_seed(8)
    q = torch.randn(3, 3, 4, generator=gen)  # batch 3, seq_q 3
    k, v = torch.randn(3, 5, 4, generator=gen), torch.randn(3, 5, 2, generator=gen)
    padding = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])  # (batch, seq_k)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 5\) .* pass mask\[:, None, :\], shape \(3, 1, 5\)"):
        self_attention(q, k, v, padding)
    # the shape the error asks for gives the padding mask's meaning, against torch's kernel
    out, w = self_attention(q, k, v, padding[:, None, :])
    _close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=padding[:, None, :].bool()))
    assert torch.all(w[1, :, 3:] == 0) and torch.all(w[2, :, 2:] == 0) and torch.all(w[0] > 0)
    # wrong lengths are rejected too, before torch's broadcasting error
    with pytest.raises(ValueError, match=r"pass \(seq_k,\) = \(5,\)"):
        self_attention(q, k, v, torch.ones(4))
    with pytest.raises(ValueError, match="mask of shape"):
        self_attention(q, k, v, torch.ones(3, 2, 5))


@pytest.mark.parametrize("shape", [(5,), (3, 1, 5), (1, 3, 5), (3, 3, 5), (1, 1, 5)])
def test_self_attention_accepts_every_documented_mask_shape(shape: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(9)
    q, k, v = torch.randn(3, 3, 4, generator=gen), torch.randn(3, 5, 4, generator=gen), torch.randn(3, 5, 2, generator=gen)
    mask = torch.rand(shape, generator=gen) > 0.4
    mask[..., 0] = True
    out, w = self_attention(q, k, v, mask)
    _close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
    # unbatched 2-D queries take a (seq_q, seq_k) mask
    out2, _ = self_attention(q[0], k[0], v[0], mask.expand(3, 3, 5)[0])
    _close(out2, F.scaled_dot_product_attention(q[0], k[0], v[0], attn_mask=mask.expand(3, 3, 5)[0]))


def test_multi_head_attention_matches_torch_module() -> None:
    torch.manual_seed(0)
    d, heads = 32, 4
    module = torch.nn.MultiheadAttention(d, heads, batch_first=True).eval()
    with torch.no_grad():  # torch starts the projection biases at 0, where a dropped bias would not show
        module.in_proj_bias.normal_()
        module.out_proj.bias.normal_()
    wq, wk, wv = module.in_proj_weight.detach().chunk(3)
    bq, bk, bv = module.in_proj_bias.detach().chunk(3)
    weights = AttentionWeights(
        Linear(wq, bq), Linear(wk, bk), Linear(wv, bv),
        Linear(module.out_proj.weight.detach(), module.out_proj.bias.detach()),
    )
    x = torch.randn(3, 7, d)
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[1, 5:] = 0
    mask[2, 3:] = 0
    out, probs = multi_head_attention(x, weights, heads, mask)
    ref_out, ref_probs = module(x, x, x, key_padding_mask=mask == 0, average_attn_weights=False)
    _close(out, ref_out.detach(), atol=1e-5)
    _close(probs, ref_probs.detach())


def test_split_and_merge_heads_invert_each_other() -> None:
    x = torch.randn(2, 5, 12)
    heads = split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(merge_heads(heads), x)
    with pytest.raises(ValueError, match="divisible"):
        split_heads(x, 5)


@pytest.mark.parametrize("eps", [1e-5, 1e-12, 0.5])
@pytest.mark.parametrize("scale", [4.0, 1e-2])
def test_layer_norm_and_gelu_match_torch(eps: float, scale: float) -> None:
    """Inputs of variance 16 and 1e-4: at 1e-4, eps = 1e-5 moves the output by about 5%, so an
    implementation that drops or misplaces eps fails (at variance 16 it would hide below 1e-6)."""
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 16, generator=gen) * scale + scale / 2
    gamma, beta = torch.randn(16, generator=gen), torch.randn(16, generator=gen)
    _close(layer_norm(x, gamma, beta, eps), F.layer_norm(x, (16,), gamma, beta, eps), atol=2e-6)
    if eps == 1e-5:
        _close(layer_norm(x, gamma, beta), F.layer_norm(x, (16,), gamma, beta, 1e-5), atol=2e-6)  # the default
    _close(gelu(x), F.gelu(x))


def test_feed_forward_and_head_match_torch_layers() -> None:
    torch.manual_seed(5)
    up, down = torch.nn.Linear(8, 32), torch.nn.Linear(32, 8)
    x = torch.randn(2, 4, 8)
    lin = lambda m: Linear(m.weight.detach(), m.bias.detach())  # noqa: E731
    _close(feed_forward(x, lin(up), lin(down)), down(F.gelu(up(x))).detach())
    dense, out = torch.nn.Linear(8, 8), torch.nn.Linear(8, 3)
    _close(classification_head(x, lin(dense), lin(out)), out(torch.tanh(dense(x[:, 0]))).detach())


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_matches_torch(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(16, 3, generator=gen) * 5
    labels = torch.randint(0, 3, (16,), generator=gen)
    _close(cross_entropy_loss(logits, labels), F.cross_entropy(logits, labels))


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_grad_matches_autograd(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(10, 3, generator=gen) * 3).requires_grad_()
    labels = torch.randint(0, 3, (10,), generator=gen)
    F.cross_entropy(logits, labels).backward()
    _close(cross_entropy_grad(logits.detach(), labels), logits.grad)


def test_seed_notebook_example_loss() -> None:
    """The original notebook's example, checked against the closed form computed by hand with math.exp."""
    import math

    logits = torch.tensor([[2.0, 1.0, 0.1], [0.1, 2.0, 1.0], [0.1, 0.1, 2.0]])
    by_hand = [
        -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(1.0) + math.exp(0.1))),
        -math.log(math.exp(2.0) / (math.exp(0.1) + math.exp(2.0) + math.exp(1.0))),
        -math.log(math.exp(2.0) / (math.exp(0.1) + math.exp(0.1) + math.exp(2.0))),
    ]
    _close(cross_entropy_loss(logits, torch.tensor([0, 1, 2])), torch.tensor(sum(by_hand) / 3))

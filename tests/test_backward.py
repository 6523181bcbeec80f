"""Every backward function of roberta_math.math equals autograd (float64, masks included) and finite differences.

Each check uses llm.c's "fake loss": for a forward ``out = f(x)`` and a random upstream
gradient ``dout``, autograd's gradient of ``(out * dout).sum()`` is the vector-Jacobian
product ``dout^T J``, which is what each backward function returns. The references are
``torch.nn.functional`` where it has the operation (independent of our forward code).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from roberta_math.math import (
    AttentionWeights,
    EmbeddingWeights,
    EncoderLayerWeights,
    Linear,
    classification_head_backward,
    dropout,
    dropout_backward,
    embedding_backward,
    encoder_layer,
    encoder_layer_backward,
    encoder_layer_with_cache,
    feed_forward_backward,
    gelu_backward,
    layer_norm_backward,
    linear_backward,
    multi_head_attention,
    multi_head_attention_backward,
    multi_head_attention_with_cache,
    roberta_embeddings_backward,
    self_attention_backward,
    softmax,
    softmax_backward,
    softmax_jacobian,
)

TOL = 1e-10
D64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, gen: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*shape, generator=gen, dtype=D64) * scale).requires_grad_()


def _vjp(out: torch.Tensor, inputs: list[torch.Tensor], dout: torch.Tensor) -> list[torch.Tensor]:
    """Autograd's vector-Jacobian product through the fake loss (out * dout).sum()."""
    grads = torch.autograd.grad((out * dout).sum(), inputs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _finite_difference_check(fake_loss, x: torch.Tensor, grad: torch.Tensor, gen: torch.Generator, samples: int = 6) -> float:
    """Central differences of ``fake_loss()`` in a sample of entries of ``x``; returns the largest error."""
    worst = 0.0
    flat = x.detach().view(-1)
    for index in torch.randint(0, flat.numel(), (samples,), generator=gen).tolist():
        h = 1e-6 * max(1.0, abs(float(flat[index])))
        saved = float(flat[index])
        with torch.no_grad():
            flat[index] = saved + h
            up = float(fake_loss())
            flat[index] = saved - h
            down = float(fake_loss())
            flat[index] = saved
        numeric = (up - down) / (2 * h)
        assert math.isfinite(numeric), f"the fake loss is not finite near entry {index}"
        worst = max(worst, abs(numeric - float(grad.view(-1)[index])) / max(1.0, abs(numeric)))
    return worst


FD_TOL = 1e-6  # central differences in float64 with h = 1e-6: truncation ~h^2, rounding ~1e-10


# --------------------------------------------------------------------------- linear


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (2, 2, 3, 3)])
def test_linear_backward_equals_autograd(shape: tuple[int, ...]) -> None:
    gen = _gen(sum(shape))
    x, w, b = _randn(*shape, gen=gen), _randn(4, shape[-1], gen=gen), _randn(4, gen=gen)
    out = F.linear(x, w, b)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [x, w, b], dout)
    dx, dparams = linear_backward(dout, x.detach(), Linear(w.detach(), b.detach()))
    for mine, theirs in zip((dx, dparams.weight, dparams.bias), ref):
        assert mine.shape == theirs.shape
        assert _max_diff(mine, theirs) <= TOL
    fake = lambda: (F.linear(x, w, b) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, w, dparams.weight, gen) <= FD_TOL
    assert _finite_difference_check(fake, x, dx, gen) <= FD_TOL


# --------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_softmax_backward_equals_autograd_and_the_jacobian(temperature: float) -> None:
    gen = _gen(1)
    z = _randn(3, 4, 7, gen=gen, scale=3.0)
    masked = torch.rand(3, 4, 7, generator=gen) < 0.3
    masked[..., 0] = False  # at least one visible entry per row
    z_masked = z.masked_fill(masked, float("-inf"))
    p = torch.softmax(z_masked / temperature, dim=-1)
    g = torch.randn(p.shape, generator=gen, dtype=D64)
    (ref,) = _vjp(p, [z], g)
    mine = softmax_backward(g, p.detach(), temperature=temperature)
    assert _max_diff(mine, ref) <= TOL
    assert torch.all(mine[masked] == 0)  # masked logits get exactly zero gradient
    # the O(n) form equals J^T g with the explicit Jacobian
    unmasked = z.detach()
    via_jacobian = (softmax_jacobian(unmasked, temperature).transpose(-2, -1) @ g.unsqueeze(-1)).squeeze(-1)
    direct = softmax_backward(g, softmax(unmasked, temperature=temperature), temperature=temperature)
    assert _max_diff(direct, via_jacobian) <= TOL
    fake = lambda: (torch.softmax(z.masked_fill(masked, float("-inf")) / temperature, -1) * g).sum()  # noqa: E731
    assert _finite_difference_check(fake, z, mine, gen) <= FD_TOL


def test_softmax_backward_of_a_fully_masked_row_is_zero() -> None:
    p = softmax(torch.full((2, 3), float("-inf"), dtype=D64))
    assert torch.equal(softmax_backward(torch.ones(2, 3, dtype=D64), p), torch.zeros(2, 3, dtype=D64))


# --------------------------------------------------------------------------- attention


def _reference_attention(q, k, v, keep):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(keep == 0, float("-inf"))
    a = torch.softmax(scores, dim=-1)
    return a @ v, a


@pytest.mark.parametrize("d_v", [4, 6])
def test_self_attention_backward_equals_autograd_with_a_mask(d_v: int) -> None:
    gen = _gen(d_v)
    batch, heads, seq, d_k = 2, 3, 5, 4
    q, k, v = _randn(batch, heads, seq, d_k, gen=gen), _randn(batch, heads, seq, d_k, gen=gen), _randn(batch, heads, seq, d_v, gen=gen)
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])[:, None, None, :]  # (batch, 1, 1, seq)
    out, a = _reference_attention(q, k, v, keep)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [q, k, v], dout)
    mine = self_attention_backward(dout, q.detach(), k.detach(), v.detach(), a.detach())
    for m, r in zip(mine, ref):
        assert _max_diff(m, r) <= TOL
    dq, dk, dv = mine
    # the masked keys of sentence 0 (positions 3 and 4) get exactly zero gradient
    assert torch.all(dk[0, :, 3:] == 0) and torch.all(dv[0, :, 3:] == 0)
    assert dk[0, :, :3].abs().min() > 0
    fake = lambda: (_reference_attention(q, k, v, keep)[0] * dout).sum()  # noqa: E731
    for tensor, grad in ((q, dq), (k, dk), (v, dv)):
        assert _finite_difference_check(fake, tensor, grad, gen) <= FD_TOL


def _attention_weights(d: int, gen: torch.Generator) -> AttentionWeights:
    return AttentionWeights(*[Linear(_randn(d, d, gen=gen, scale=0.5), _randn(d, gen=gen)) for _ in range(4)])


def _flat(weights) -> list[torch.Tensor]:
    out = []
    for item in weights:
        out += _flat(item) if isinstance(item, tuple) else [item]
    return out


def test_multi_head_attention_backward_equals_autograd() -> None:
    gen = _gen(7)
    d, heads = 8, 2
    x = _randn(3, 6, d, gen=gen)
    w = _attention_weights(d, gen)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]])
    out, _ = multi_head_attention(x, w, heads, mask)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [x, *_flat(w)], dout)
    detached = AttentionWeights(*[Linear(l.weight.detach(), l.bias.detach()) for l in w])
    out2, _, cache = multi_head_attention_with_cache(x.detach(), detached, heads, mask)
    assert torch.equal(out2, out.detach())
    dx, dw = multi_head_attention_backward(dout, cache, detached)
    mine = [dx, *_flat(dw)]
    assert len(mine) == len(ref) == 9
    for m, r in zip(mine, ref):
        assert m.shape == r.shape
        assert _max_diff(m, r) <= TOL
    fake = lambda: (multi_head_attention(x, w, heads, mask)[0] * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, x, dx, gen) <= FD_TOL
    assert _finite_difference_check(fake, w.key.weight, dw.key.weight, gen) <= FD_TOL


# --------------------------------------------------------------------------- LayerNorm and embeddings


@pytest.mark.parametrize("shape", [(7,), (4, 7), (2, 3, 7)])
def test_layer_norm_backward_equals_autograd(shape: tuple[int, ...]) -> None:
    gen = _gen(len(shape))
    x = _randn(*shape, gen=gen, scale=2.0)
    gamma, beta = _randn(shape[-1], gen=gen), _randn(shape[-1], gen=gen)
    out = F.layer_norm(x, (shape[-1],), gamma, beta, eps=1e-5)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [x, gamma, beta], dout)
    mine = layer_norm_backward(dout, x.detach(), gamma.detach(), eps=1e-5)
    for m, r in zip(mine, ref):
        assert m.shape == r.shape
        assert _max_diff(m, r) <= TOL
    # dx sums to 0 and is orthogonal to x_hat, per vector
    assert float(mine[0].sum(-1).abs().max()) <= 1e-12
    fake = lambda: (F.layer_norm(x, (shape[-1],), gamma, beta, eps=1e-5) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, x, mine[0], gen) <= FD_TOL


def test_embedding_backward_equals_autograd_with_a_padding_row() -> None:
    gen = _gen(3)
    table = _randn(9, 4, gen=gen)
    ids = torch.tensor([[0, 5, 5, 2, 1, 1], [0, 7, 2, 1, 1, 1]])
    out = F.embedding(ids, table, padding_idx=1)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    (ref,) = _vjp(out, [table], dout)
    mine = embedding_backward(dout, ids, 9, padding_idx=1)
    assert _max_diff(mine, ref) <= TOL
    assert torch.all(mine[1] == 0) and torch.all(mine[[3, 4, 6, 8]] == 0)


def _reference_embeddings(ids, w: EmbeddingWeights, pad: int = 1):
    is_token = ids.ne(pad).long()
    positions = torch.cumsum(is_token, dim=1) * is_token + pad
    summed = (F.embedding(ids, w.word, padding_idx=pad) + F.embedding(positions, w.position, padding_idx=pad)
              + F.embedding(torch.zeros_like(ids), w.token_type))
    return F.layer_norm(summed, (w.word.size(1),), w.ln_gamma, w.ln_beta, eps=1e-5)


def test_roberta_embeddings_backward_equals_autograd() -> None:
    gen = _gen(11)
    d = 6
    w = EmbeddingWeights(_randn(20, d, gen=gen), _randn(10, d, gen=gen), _randn(1, d, gen=gen),
                         _randn(d, gen=gen), _randn(d, gen=gen))
    ids = torch.tensor([[0, 5, 9, 5, 2, 1, 1], [0, 13, 2, 1, 1, 1, 1], [0, 4, 4, 4, 4, 4, 2]])
    out = _reference_embeddings(ids, w)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, list(w), dout)
    mine = roberta_embeddings_backward(dout, ids, EmbeddingWeights(*[t.detach() for t in w]))
    for m, r in zip(mine, ref):
        assert m.shape == r.shape
        assert _max_diff(m, r) <= TOL
    assert torch.all(mine.word[1] == 0) and torch.all(mine.position[1] == 0)  # the padding rows
    assert torch.all(mine.position[0] == 0)  # position 0 is never used by RoBERTa
    fake = lambda: (_reference_embeddings(ids, w) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, w.word, mine.word, gen, samples=10) <= FD_TOL
    assert _finite_difference_check(fake, w.ln_gamma, mine.ln_gamma, gen) <= FD_TOL


# --------------------------------------------------------------------------- GELU, FFN, dropout


def test_gelu_backward_equals_autograd() -> None:
    gen = _gen(5)
    x = _randn(1000, gen=gen, scale=3.0)
    out = F.gelu(x, approximate="none")
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    (ref,) = _vjp(out, [x], dout)
    mine = gelu_backward(dout, x.detach())
    assert _max_diff(mine, ref) <= TOL
    fake = lambda: (F.gelu(x) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, x, mine, gen) <= FD_TOL


def test_feed_forward_backward_equals_autograd() -> None:
    gen = _gen(6)
    d, d_ff = 5, 12
    x = _randn(2, 3, d, gen=gen)
    w1, b1, w2, b2 = _randn(d_ff, d, gen=gen), _randn(d_ff, gen=gen), _randn(d, d_ff, gen=gen), _randn(d, gen=gen)
    pre = F.linear(x, w1, b1)
    out = F.linear(F.gelu(pre), w2, b2)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [x, w1, b1, w2, b2], dout)
    dx, dup, ddown = feed_forward_backward(dout, x.detach(), pre.detach(), Linear(w1.detach(), b1.detach()),
                                           Linear(w2.detach(), b2.detach()))
    for m, r in zip((dx, dup.weight, dup.bias, ddown.weight, ddown.bias), ref):
        assert _max_diff(m, r) <= TOL
    fake = lambda: (F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, w1, dup.weight, gen) <= FD_TOL


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_matches_torch_and_its_backward_equals_autograd(p: float) -> None:
    x = torch.randn(4, 50, dtype=D64, generator=_gen(8)).requires_grad_()
    torch.manual_seed(3)
    out = F.dropout(x, p=p, training=True)
    keep = (out != 0).to(D64)  # the mask torch drew (x has no exact zeros)
    assert torch.allclose(dropout(x.detach(), keep, p), out.detach(), rtol=0, atol=1e-15)
    dout = torch.randn(out.shape, generator=_gen(9), dtype=D64)
    (ref,) = _vjp(out, [x], dout)
    assert _max_diff(dropout_backward(dout, keep, p), ref) <= TOL


# --------------------------------------------------------------------------- the encoder layer and the head


def _layer_weights(d: int, d_ff: int, gen: torch.Generator) -> EncoderLayerWeights:
    return EncoderLayerWeights(
        _attention_weights(d, gen), 1 + _randn(d, gen=gen, scale=0.1), _randn(d, gen=gen, scale=0.1),
        Linear(_randn(d_ff, d, gen=gen, scale=0.5), _randn(d_ff, gen=gen)),
        Linear(_randn(d, d_ff, gen=gen, scale=0.3), _randn(d, gen=gen)),
        1 + _randn(d, gen=gen, scale=0.1), _randn(d, gen=gen, scale=0.1),
    )


def _detach(item):
    if isinstance(item, torch.Tensor):
        return item.detach()
    return type(item)(*[_detach(x) for x in item])


def test_encoder_layer_backward_equals_autograd() -> None:
    gen = _gen(12)
    d, d_ff, heads = 8, 16, 2
    x = _randn(2, 5, d, gen=gen)
    w = _layer_weights(d, d_ff, gen)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out, _ = encoder_layer(x, w, heads, mask)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    leaves = [x, *_flat(w)]
    ref = _vjp(out, leaves, dout)
    plain = _detach(w)
    out2, _, cache = encoder_layer_with_cache(x.detach(), plain, heads, mask)
    assert torch.equal(out2, out.detach())
    paths: dict[str, torch.Tensor] = {}
    dx, grads = encoder_layer_backward(dout, cache, plain, paths=paths)
    mine = [dx, *_flat(grads)]
    assert len(mine) == len(ref) == 17
    for m, r in zip(mine, ref):
        assert m.shape == r.shape
        assert _max_diff(m, r) <= TOL
    assert _max_diff(paths["attention_skip"] + paths["attention_branch"], dx) <= 1e-12
    fake = lambda: (encoder_layer(x, w, heads, mask)[0] * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, x, dx, gen) <= FD_TOL
    assert _finite_difference_check(fake, w.attention.query.weight, grads.attention.query.weight, gen) <= FD_TOL
    assert _finite_difference_check(fake, w.intermediate.weight, grads.intermediate.weight, gen) <= FD_TOL


def test_classification_head_backward_equals_autograd() -> None:
    gen = _gen(13)
    d, labels = 6, 3
    hidden = _randn(4, 5, d, gen=gen)
    wd, bd, wo, bo = _randn(d, d, gen=gen), _randn(d, gen=gen), _randn(labels, d, gen=gen), _randn(labels, gen=gen)
    out = F.linear(torch.tanh(F.linear(hidden[:, 0], wd, bd)), wo, bo)
    dout = torch.randn(out.shape, generator=gen, dtype=D64)
    ref = _vjp(out, [hidden, wd, bd, wo, bo], dout)
    dh, ddense, dout_proj = classification_head_backward(dout, hidden.detach(), Linear(wd.detach(), bd.detach()),
                                                         Linear(wo.detach(), bo.detach()))
    for m, r in zip((dh, ddense.weight, ddense.bias, dout_proj.weight, dout_proj.bias), ref):
        assert _max_diff(m, r) <= TOL
    assert torch.all(dh[:, 1:] == 0)  # only <s> is read
    fake = lambda: (F.linear(torch.tanh(F.linear(hidden[:, 0], wd, bd)), wo, bo) * dout).sum()  # noqa: E731
    assert _finite_difference_check(fake, wd, ddense.weight, gen) <= FD_TOL

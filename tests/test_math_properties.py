"""Property-based tests (hypothesis) of the invariants the derivations rely on."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
import numpy as np

from scipy.special import softmax as scipy_softmax

from roberta_math.math import cross_entropy_grad, cross_entropy_loss, self_attention, softmax

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, width=32)
logit_rows = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 12)), elements=finite)
# logits on the scale a model produces (|z| <= 30), where the probabilities are not all 0 or 1
moderate_rows = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 12)),
                       elements=st.floats(min_value=-30, max_value=30, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(logit_rows, st.floats(min_value=0.05, max_value=20.0))
def test_softmax_rows_sum_to_one_without_nan(x: np.ndarray, temperature: float) -> None:
    """Each row is a probability vector *and* it is the softmax: scipy's, in float64, is the reference."""
    p = softmax(torch.from_numpy(x), temperature=temperature)
    assert not torch.isnan(p).any()
    assert torch.all(p >= 0)
    assert torch.allclose(p.sum(-1), torch.ones(x.shape[0]), atol=1e-5)
    expected = scipy_softmax(x.astype(np.float64) / temperature, axis=-1)
    np.testing.assert_allclose(p.numpy(), expected, atol=1e-5)


@settings(max_examples=200, deadline=None)
@given(moderate_rows, st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))
def test_softmax_is_shift_invariant(x: np.ndarray, shift: float) -> None:
    """softmax(z + c) = softmax(z) = scipy's softmax(z): both sides against an independent reference."""
    t = torch.from_numpy(x)
    expected = scipy_softmax(x, axis=-1)
    np.testing.assert_allclose(softmax(t + shift).numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(softmax(t).numpy(), expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.integers(2, 8))
def test_attention_weights_are_zero_on_masked_keys(seed: int, seq_q: int, seq_k: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, seq_q, 4, generator=gen) * 10
    k = torch.randn(2, seq_k, 4, generator=gen) * 10
    v = torch.randn(2, seq_k, 3, generator=gen)
    mask = torch.rand(2, 1, seq_k, generator=gen) > 0.5  # one padding pattern per batch row
    mask[:, :, 0] = True
    out, w = self_attention(q, k, v, mask)
    hidden = ~mask.expand_as(w)
    assert torch.all(w[hidden] == 0)
    assert torch.allclose(w.sum(-1), torch.ones(2, seq_q), atol=1e-5)
    # the output depends only on the visible values: scrambling masked values changes nothing
    v2 = torch.where(mask.transpose(1, 2), v, torch.randn_like(v) * 1e3)
    out2, _ = self_attention(q, k, v2, mask)
    assert torch.allclose(out, out2, atol=1e-5)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 8), st.integers(2, 7)), elements=st.floats(-50, 50, width=32)),
       st.data())
def test_cross_entropy_is_nonnegative_and_is_minus_log_p(logits: np.ndarray, data) -> None:
    """Loss = mean of -log p_y, and its closed-form gradient = autograd of an independent float64 loss.

    N (1..8) and C (2..7) vary independently, so a gradient divided by C instead of N, or
    not divided at all, fails the autograd comparison (the sign and row-sum checks alone
    would hold at any positive scale).
    """
    z = torch.from_numpy(logits)
    n, c = z.shape
    labels = torch.tensor(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    loss = cross_entropy_loss(z, labels)
    assert loss.item() >= 0
    # -log p_y computed in float64 from the definition, independently of our code
    z64 = z.double().requires_grad_()
    lse = torch.log(torch.exp(z64 - z64.max(-1, keepdim=True).values).sum(-1)) + z64.max(-1).values
    expected = (lse - z64[torch.arange(n), labels]).mean()
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-5, abs_tol=1e-5)
    (expected_grad,) = torch.autograd.grad(expected, z64)
    g = cross_entropy_grad(z, labels)
    assert g.shape == (n, c)
    torch.testing.assert_close(g.double(), expected_grad, atol=1e-6, rtol=1e-5)
    assert torch.allclose(g.sum(-1), torch.zeros(n), atol=1e-6)
    assert torch.all(g[torch.arange(n), labels] <= 0)

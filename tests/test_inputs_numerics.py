"""Every function in ``math/`` at extreme-but-finite inputs and with non-finite parameters.

References: the same formula evaluated in float64 by torch's own kernels (where float64
holds the exact value and float32 only the rounding), autograd of the loss for the
closed-form gradients, ``torch.nn.functional.cross_entropy`` for the loss itself, and
the limits the definitions take (softmax as T -> 0 is one-hot on the argmax).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from roberta_math.math import (
    cross_entropy_grad,
    cross_entropy_loss,
    gelu,
    layer_norm,
    log_softmax,
    logsumexp,
    self_attention,
    softmax,
    softmax_jacobian,
    split_heads,
)

BAD_NUMBERS = [float("nan"), float("inf"), float("-inf"), 0.0, -1.0]


def ref_softmax(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Float64 softmax of (x - max) / T, rounded to float32: the exact value where float32 cannot hold the steps."""
    x64 = x.double()
    return torch.softmax((x64 - x64.amax(-1, keepdim=True)) / temperature, dim=-1).float()


# --------------------------------------------------------------------------- case 3: softmax


def test_case_3_tiny_temperature_is_one_hot_on_the_argmax() -> None:
    assert torch.equal(softmax(torch.tensor([1.0, 2.0, 3.0]), temperature=1e-39), torch.tensor([0.0, 0.0, 1.0]))


@pytest.mark.parametrize("temperature", [1e-45, 1e-39, 1e-30, 1e-6, 0.5, 1.0, 7.0, 1e6, 1e30, 1e38])
def test_softmax_any_finite_positive_temperature_matches_float64(temperature: float) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 6) * 10
    got = softmax(x, temperature=temperature)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, ref_softmax(x, temperature), atol=1e-6)
    assert torch.allclose(got.sum(-1), torch.ones(4), atol=1e-6)


@pytest.mark.parametrize("temperature", BAD_NUMBERS)
def test_softmax_rejects_a_temperature_that_is_not_finite_and_positive(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        softmax(torch.tensor([1.0, 2.0]), temperature=temperature)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        softmax_jacobian(torch.tensor([1.0, 2.0]), temperature=temperature)


@pytest.mark.parametrize("scale", [1e4, 1e30, 3e38])
def test_softmax_logsumexp_log_softmax_at_the_edge_of_float32(scale: float) -> None:
    x = torch.tensor([[1.0, -1.0, 0.5], [1.0, 1.0, -1.0]]) * scale  # finite, up to float32's max
    assert torch.equal(softmax(x), ref_softmax(x, 1.0))
    lse = logsumexp(x)
    assert torch.allclose(lse, torch.logsumexp(x.double(), -1).float(), rtol=1e-6)
    expected = torch.log_softmax(x.double(), -1)  # exact in float64 (|x| < 1e308)
    got = log_softmax(x)
    # Where float32 can hold the exact log-probability, it must be that; where it cannot (below -3.4e38), -inf.
    representable = expected.abs() <= torch.finfo(torch.float32).max
    assert torch.allclose(got[representable].double(), expected[representable], rtol=1e-6)
    assert torch.isneginf(got[~representable]).all()


def test_masked_and_infinite_slices_take_their_limits() -> None:
    masked = torch.full((3,), float("-inf"))
    assert torch.equal(softmax(masked), torch.zeros(3))
    assert torch.isneginf(log_softmax(masked)).all()  # log 0, not nan
    assert torch.isneginf(logsumexp(masked))
    with_inf = torch.tensor([float("inf"), 1.0, float("inf"), -2.0])
    assert torch.equal(softmax(with_inf), torch.tensor([0.5, 0.0, 0.5, 0.0]))
    assert torch.allclose(log_softmax(with_inf), torch.tensor([-math.log(2), -math.inf, -math.log(2), -math.inf]))
    # NaN in, NaN out (never a silent number)
    assert torch.isnan(softmax(torch.tensor([float("nan"), 1.0]))).all()


def test_softmax_jacobian_matches_autograd_at_small_temperature() -> None:
    x = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    for temperature in (1e-3, 0.5, 1e3):
        expected = torch.autograd.functional.jacobian(lambda z: torch.softmax(z / temperature, -1), x)
        assert torch.allclose(softmax_jacobian(x, temperature=temperature), expected, atol=1e-9)


# --------------------------------------------------------------------------- case 4: the loss and its gradient


def autograd_of_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    z = logits.clone().requires_grad_(True)
    F.cross_entropy(z, labels).backward()  # torch's own loss: mean over the batch
    return z.grad


def test_case_4_one_dimensional_logits() -> None:
    logits, label = torch.tensor([2.0, 1.0, 0.1]), torch.tensor(0)
    expected = autograd_of_loss(logits, label)
    assert torch.allclose(expected, torch.tensor([-0.341, 0.242, 0.099]), atol=1e-3)  # the numbers
    assert torch.allclose(cross_entropy_grad(logits, label), expected, atol=1e-6)
    z = logits.clone().requires_grad_(True)
    cross_entropy_loss(z, label).backward()  # autograd of our own loss agrees with our closed form
    assert torch.allclose(cross_entropy_grad(logits, label), z.grad, atol=1e-6)
    assert torch.allclose(cross_entropy_loss(logits, label), F.cross_entropy(logits, label), atol=1e-6)


@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_case_4_two_dimensional_logits(batch: int, scale: float) -> None:
    torch.manual_seed(batch)
    logits = torch.randn(batch, 3, dtype=torch.float64) * scale
    labels = torch.randint(0, 3, (batch,))
    assert torch.allclose(cross_entropy_grad(logits, labels), autograd_of_loss(logits, labels), atol=1e-12)
    assert torch.allclose(cross_entropy_loss(logits, labels), F.cross_entropy(logits, labels), rtol=1e-12)


@pytest.mark.parametrize(
    ("logits", "labels", "message"),
    [
        (torch.zeros(2, 3, 4), torch.zeros(2, dtype=torch.long), r"shape \(C,\) or \(N, C\)"),
        (torch.zeros(2, 3), torch.zeros(3, dtype=torch.long), r"labels of shape \(N,\)"),
        (torch.zeros(2, 3), torch.tensor(0), r"labels of shape \(N,\)"),
        (torch.zeros(3), torch.tensor([0]), "take one label"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), "integer class indices"),
        (torch.zeros(2, 3), torch.tensor([0, 3]), r"in \[0, 3\)"),
        (torch.zeros(2, 3), torch.tensor([-1, 0]), r"in \[0, 3\)"),
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), "at least one example"),
    ],
)
def test_loss_functions_accept_exactly_the_documented_shapes(logits, labels, message) -> None:
    for function in (cross_entropy_loss, cross_entropy_grad):
        with pytest.raises(ValueError, match=message):
            function(logits, labels)


def test_loss_of_an_extreme_wrong_logit_is_the_exact_value_or_inf() -> None:
    # A confident wrong logit of 1e30: the loss is 1e30 (float64 holds it), not nan.
    logits, labels = torch.tensor([[1e30, 0.0, 0.0]]), torch.tensor([1])
    assert torch.allclose(cross_entropy_loss(logits, labels).double(), torch.tensor(1e30, dtype=torch.float64), rtol=1e-6)
    assert torch.equal(cross_entropy_grad(logits, labels), torch.tensor([[1.0, -1.0, 0.0]]))


# --------------------------------------------------------------------------- the rest of math/


@pytest.mark.parametrize("scale", [1.0, 1e10, 1e20, 3e37])
def test_layer_norm_of_huge_vectors_matches_float64(scale: float) -> None:
    torch.manual_seed(1)
    x = torch.randn(4, 16) * scale
    gamma, beta = torch.rand(16) + 0.5, torch.randn(16)
    expected = F.layer_norm(x.double(), (16,), gamma.double(), beta.double(), eps=1e-5).float()
    got = layer_norm(x, gamma, beta)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, expected, atol=1e-5)


def test_layer_norm_of_a_huge_constant_vector_is_beta() -> None:
    beta = torch.tensor([0.5, -0.5, 1.0])
    assert torch.equal(layer_norm(torch.full((3,), 1e30), torch.ones(3), beta), beta)


def test_layer_norm_ordinary_inputs_are_unchanged_by_the_guard() -> None:
    torch.manual_seed(2)
    x, gamma, beta = torch.randn(3, 8) * 5, torch.rand(8), torch.randn(8)
    mean = x.mean(-1, keepdim=True)
    plain = gamma * (x - mean) / torch.sqrt(((x - mean) ** 2).mean(-1, keepdim=True) + 1e-5) + beta
    assert torch.equal(layer_norm(x, gamma, beta), plain)  # bit for bit


@pytest.mark.parametrize("eps", BAD_NUMBERS)
def test_layer_norm_rejects_an_eps_that_is_not_finite_and_positive(eps: float) -> None:
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        layer_norm(torch.ones(3), torch.ones(3), torch.zeros(3), eps=eps)


@pytest.mark.parametrize("num_heads", [0, -2, 1.5])
def test_split_heads_rejects_a_head_count_that_is_not_a_positive_integer(num_heads) -> None:
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        split_heads(torch.zeros(1, 2, 4), num_heads)


def test_gelu_at_the_edge_of_float32() -> None:
    x = torch.tensor([-3e38, -1e10, -10.0, 0.0, 10.0, 1e10, 3e38])
    assert torch.allclose(gelu(x), F.gelu(x.double()).float(), rtol=1e-6, atol=1e-30)


def test_attention_with_overflowing_scores_has_no_nan() -> None:
    # q.k / sqrt(d) overflows float32 to +inf: each query then attends to its own token only (the limit).
    q = k = torch.tensor([[[1e20, 0.0], [0.0, 1e20]]])
    v = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    out, weights = self_attention(q, k, v)
    assert torch.equal(weights, torch.eye(2).unsqueeze(0))
    assert torch.equal(out, v)

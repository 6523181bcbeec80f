"""Floating-point formats, masks in half precision, and the attention scores at initialisation.

References: IEEE 754 formulas for each format's range (not torch.finfo, which the code
reads); softmax over the kept keys computed in float64; the hand derivation
Var(q.k / sqrt(d_h)) = (sigma^2 d)^2 against transformers' own initialisation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from roberta_math.math.numerics import additive_mask, float_format
from roberta_math.model.initialisation import (
    measured_score_variance,
    score_variance_at_init,
)

# significand bits p (leading 1 included) and largest exponent, IEEE 754-2008 table 3.2 / bfloat16
FORMATS = {torch.float32: (24, 127), torch.float16: (11, 15), torch.bfloat16: (8, 127)}
HALF = (torch.float16, torch.bfloat16)


@pytest.mark.parametrize("dtype", list(FORMATS))
def test_ranges_follow_the_ieee_formulas(dtype: torch.dtype) -> None:
    p, e_max = FORMATS[dtype]
    f = float_format(dtype)
    assert f.max == (2 - 2.0 ** (1 - p)) * 2.0**e_max
    assert f.eps == 2.0 ** (1 - p)
    assert f.smallest_normal == 2.0 ** (1 - e_max)
    n = f.largest_exact_integer
    assert n == 2**p
    assert torch.tensor(float(n - 1), dtype=dtype).item() == n - 1  # exact
    assert torch.tensor(float(n + 1), dtype=dtype).item() == n  # rounds: not exact
    below, above = torch.tensor([f.exp_overflow - 0.05, f.exp_overflow + 0.05], dtype=torch.float64).to(dtype).exp()
    assert torch.isfinite(below) and torch.isinf(above)


def test_float_format_refuses_integer_dtypes() -> None:
    with pytest.raises(TypeError):
        float_format(torch.int32)


@pytest.mark.parametrize("dtype", [torch.float32, *HALF])
@pytest.mark.parametrize("fill", ["-inf", "finfo.min", "-1e9"])
def test_every_mask_gives_the_softmax_over_the_kept_keys(dtype: torch.dtype, fill: str) -> None:
    torch.manual_seed(0)
    scores = torch.randn(4, 6) * 3  # (queries, keys)
    keep = torch.tensor([[1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0]])
    weights = torch.softmax(scores.to(dtype) + additive_mask(keep, fill, dtype), dim=-1)
    for row in range(4):
        kept = keep[row].bool()
        reference = torch.softmax(scores[row, kept].double(), dim=-1)
        assert torch.allclose(weights[row, kept].double(), reference, atol=2 * float_format(dtype).eps)
        assert (weights[row, ~kept] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, *HALF])
def test_a_fully_masked_row_with_minus_inf_is_nan(dtype: torch.dtype) -> None:
    scores = torch.randn(1, 5).to(dtype)
    weights = torch.softmax(scores + additive_mask(torch.zeros(1, 5), "-inf", dtype), dim=-1)
    assert weights.isnan().all()


@pytest.mark.parametrize("dtype", [torch.float32, *HALF])
def test_a_fully_masked_row_with_finfo_min_is_uniform(dtype: torch.dtype) -> None:
    scores = (torch.rand(1, 5) - 0.5).to(dtype)  # |score| < 0.5: lost next to finfo.min
    weights = torch.softmax(scores + additive_mask(torch.zeros(1, 5), "finfo.min", dtype), dim=-1)
    assert torch.allclose(weights.float(), torch.full((1, 5), 0.2), atol=float_format(dtype).eps)


def test_finfo_min_plus_a_negative_score_overflows_float16() -> None:
    """finfo.min is no cure-all: in float16 a score below about -16 pushes it past -65520,
    which rounds to -inf, and a fully masked row of such scores is NaN again."""
    fill = additive_mask(torch.zeros(3), "finfo.min", torch.float16)
    assert torch.isfinite(fill + torch.tensor(-15.0, dtype=torch.float16)).all()
    assert torch.isinf(fill + torch.tensor(-17.0, dtype=torch.float16)).all()
    scores = torch.tensor([-20.0, -30.0, -40.0], dtype=torch.float16)
    assert torch.softmax(scores + fill, dim=-1).isnan().all()


def test_minus_1e9_built_in_float16_is_minus_inf_and_a_fully_masked_row_is_nan() -> None:
    keep = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float16)
    mask = (1 - keep) * -1e9  # the expression, not the package's function
    assert torch.equal(mask, additive_mask(keep, "-1e9"))
    assert torch.isinf(mask[0, 1:]).all() and (mask[0, 0] == 0)
    weights = torch.softmax(torch.zeros(2, 3, dtype=torch.float16) + mask, dim=-1)
    assert torch.equal(weights[0], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float16))
    assert weights[1].isnan().all()
    # in float32 the same row is finite (uniform: -1e9 swamps the scores)
    weights32 = torch.softmax(torch.zeros(3) + additive_mask(torch.zeros(3), "-1e9", torch.float32), dim=-1)
    assert torch.allclose(weights32, torch.full((3,), 1 / 3))


def test_an_unknown_fill_is_refused() -> None:
    with pytest.raises(ValueError, match="fill must be"):
        additive_mask(torch.ones(2), "-1e4")  # type: ignore[arg-type]


def test_reductions_in_half_precision_need_float32_accumulation() -> None:
    """What an fp16 softmax or LayerNorm would get wrong if it accumulated in fp16,
    and that PyTorch's CPU kernels (which accumulate in float32) get right."""
    one = torch.tensor(1.0, dtype=torch.float16)
    running = torch.tensor(0.0, dtype=torch.float16)
    for _ in range(3000):
        running = running + one
    assert running.item() == 2048  # a running sum of ones stalls at 2^11
    assert torch.softmax(torch.zeros(4096, dtype=torch.float16), -1).float().sum().item() == pytest.approx(1, abs=1e-3)
    x = torch.tensor([300.0, -300.0, 100.0, -100.0], dtype=torch.float16)
    assert torch.isinf((x * x).mean())  # a mean of squares in fp16 overflows
    assert torch.allclose(F.layer_norm(x, (4,)).float(), F.layer_norm(x.float(), (4,)), atol=2e-3)
    bf = torch.tensor(1.0, dtype=torch.bfloat16)
    assert bf + 2**-8 == bf  # bfloat16 adds 1 + 1/256 as 1


def test_cpu_autocast_lowers_matmuls_but_leaves_softmax_and_layer_norm_in_their_input_dtype() -> None:
    """On CUDA, autocast runs softmax, log_softmax and layer_norm in float32 (PyTorch's
    AMP list "CUDA ops that can autocast to float32"); the CPU autocast of torch 2.13 has
    no such rule: they run in the dtype they are given."""
    x, w = torch.randn(2, 8), torch.randn(8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = F.linear(x, w)
        assert h.dtype == torch.bfloat16
        assert torch.softmax(h, -1).dtype == torch.bfloat16
        assert F.layer_norm(h, (8,)).dtype == torch.bfloat16
        assert torch.softmax(x, -1).dtype == torch.float32
    for op in ("aten::softmax.int", "aten::layer_norm"):
        kernels = torch._C._dispatch_dump(op)
        assert "AutocastCUDA" in kernels and "AutocastCPU" not in kernels
    assert "AutocastCPU" in torch._C._dispatch_dump("aten::linear")


def test_score_variance_formula_by_hand() -> None:
    assert score_variance_at_init(0.02, 768) == pytest.approx((0.0004 * 768) ** 2)
    assert score_variance_at_init(0.02, 768) == pytest.approx(0.0944, abs=1e-4)
    with pytest.raises(ValueError):
        score_variance_at_init(0.0, 768)
    with pytest.raises(ValueError):
        score_variance_at_init(0.02, 0)


@pytest.mark.parametrize(
    ("d", "heads", "sigma"),
    [(768, 12, 0.02), (128, 4, 0.02), (256, 1, 0.02), (256, 16, 0.02), (256, 4, 0.04)],
)
def test_measured_score_variance_at_initialisation_matches_the_derivation(d: int, heads: int, sigma: float) -> None:
    measured = measured_score_variance(d=d, num_heads=heads, sigma=sigma, n=32, models=8)
    assert measured == pytest.approx(score_variance_at_init(sigma, d), rel=0.12)


def test_roberta_base_scores_start_far_below_unit_variance() -> None:
    measured = measured_score_variance(d=768, num_heads=12, models=8, seed=1)
    assert 0.08 < measured < 0.11
    with pytest.raises(ValueError, match="divisible"):
        measured_score_variance(d=10, num_heads=3)

r"""Floating-point formats and attention masks: what half precision does to softmax and LayerNorm.

A binary floating-point format with $P_\text{bits}$ bits of significand (the leading 1 included)
and largest exponent $e_\text{max}$ has

$$
\begin{gathered}
\text{max} = (2 - 2^{1-P_\text{bits}})\, 2^{e_\text{max}}, \\
\varepsilon_\text{mach} = 2^{1-P_\text{bits}}, \\
\text{every integer up to } 2^{P_\text{bits}} \text{ is exact},
\end{gathered}
$$

(IEEE 754-2008, section 3.3): float16 has $P_\text{bits} = 11$, $e_\text{max} = 15$; bfloat16 has
float32's exponent range ($e_\text{max} = 127$) with $P_\text{bits} = 8$.

Three ways to write the additive mask $M$ of attention (0 where a query may look at a
key, a large negative number where it may not) are found in code: $-\infty$
(``masked_fill(mask == 0, -inf)``, as this package's attention does), the format's most
negative finite number (``torch.finfo(dtype).min``, as transformers' ``masking_utils.py``
does), and $-10^9$ built as $(1 - \text{keep})(-10^9)$. :func:`additive_mask` builds each; the
attention pages show what each does to a row whose keys are all masked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

MaskFill = Literal["-inf", "finfo.min", "-1e9"]


@dataclass(frozen=True)
class FloatFormat:
    """The numbers that matter for a floating-point ``dtype`` (see :func:`float_format`)."""

    name: str
    max: float  # largest finite value
    smallest_normal: float  # below it, precision is lost gradually (subnormals)
    eps: float  # gap between 1 and the next representable number
    largest_exact_integer: int  # 2^p: every integer up to it is exact, 2^p + 1 is not
    exp_overflow: float  # ln(max): exp(x) is inf beyond it


def float_format(dtype: torch.dtype) -> FloatFormat:
    r"""Range and precision of a floating-point ``dtype``, from ``torch.finfo``.

    $\text{max}$, the smallest normal number and $\varepsilon_\text{mach} = 2^{1-P_\text{bits}}$ come from
    ``torch.finfo``; $2^{P_\text{bits}}$ and $\ln(\text{max})$ follow from them.

    - ``dtype``: ``torch.float32``, ``torch.float16``, ``torch.bfloat16`` or any other
      floating dtype. Raises ``TypeError`` for an integer dtype (``torch.finfo`` does).

    >>> f16, bf16 = float_format(torch.float16), float_format(torch.bfloat16)
    >>> f16.max, f16.eps, f16.largest_exact_integer, round(f16.exp_overflow, 2)
    (65504.0, 0.0009765625, 2048, 11.09)
    >>> f"{bf16.max:.3e}", bf16.eps, bf16.largest_exact_integer, round(bf16.exp_overflow, 2)
    ('3.390e+38', 0.0078125, 256, 88.72)
    >>> f"{float_format(torch.float32).max:.3e}", float_format(torch.float32).eps
    ('3.403e+38', 1.1920928955078125e-07)
    """
    info = torch.finfo(dtype)
    return FloatFormat(
        name=str(dtype).removeprefix("torch."),
        max=float(info.max),
        smallest_normal=float(info.smallest_normal),
        eps=float(info.eps),
        largest_exact_integer=2 * round(1 / info.eps),  # 2^p with eps = 2^(1-p)
        exp_overflow=math.log(float(info.max)),
    )


def additive_mask(keep: Tensor, fill: MaskFill = "-inf", dtype: torch.dtype | None = None) -> Tensor:
    r"""The additive attention mask $M$: $0$ where ``keep`` is 1, a large negative value where it is 0.

    $$M_j = \begin{cases} 0 & \text{key } j \text{ kept} \\ M_\text{fill} & \text{key } j \text{ masked} \end{cases}$$

    - ``keep``: any shape, 1 (or ``True``) for a key a query may look at, 0 for a masked one.
    - ``fill``: $M_\text{fill}$: ``"-inf"``; ``"finfo.min"``, the most negative finite number of
      ``dtype``; or ``"-1e9"``, computed the way older code computes it, as
      $(1 - \text{keep})(-10^9)$ in ``dtype`` (in float16 that product is $-\infty$: $10^9$ exceeds
      float16's largest number, 65504).
    - ``dtype``: of the result (default: ``keep``'s dtype if floating, else float32).
    - Returns $M$, the shape of ``keep``. Raises ``ValueError`` for another ``fill``.

    >>> keep = torch.tensor([1.0, 1.0, 0.0])
    >>> additive_mask(keep, "-inf")
    tensor([0., 0., -inf])
    >>> additive_mask(keep, "finfo.min", torch.float16)
    tensor([     0.,      0., -65504.], dtype=torch.float16)
    >>> additive_mask(keep, "-1e9", torch.float16)  # 1e9 overflows float16
    tensor([-0., -0., -inf], dtype=torch.float16)
    >>> additive_mask(keep, "-1e9")
    tensor([-0.0000e+00, -0.0000e+00, -1.0000e+09])
    """
    if dtype is None:
        dtype = keep.dtype if keep.is_floating_point() else torch.float32
    m = keep.to(dtype)
    if fill == "-inf":
        return torch.zeros_like(m).masked_fill(m == 0, float("-inf"))
    if fill == "finfo.min":
        return torch.zeros_like(m).masked_fill(m == 0, torch.finfo(dtype).min)
    if fill == "-1e9":
        return (1 - m) * -1e9
    raise ValueError(f"fill must be '-inf', 'finfo.min' or '-1e9', got {fill!r}")

r"""Integrated Gradients (Sundararajan, Taly and Yan 2017) on the input embeddings, with its completeness error.

From a baseline $\mathcal{E}'$ (an $n \times d$ matrix of input embeddings that "says nothing") to the input
$\mathcal{E}$, along the straight path $\mathcal{E}' + \vartheta (\mathcal{E} - \mathcal{E}')$, $\vartheta \in [0, 1]$, token $t$ receives

$$\begin{aligned}
\chi^\text{IG}_t &= \sum_{a=1}^{d} (\mathcal{E}_{ta} - \mathcal{E}'_{ta}) \\
&\quad \int_0^1
\frac{\partial z_c}{\partial \mathcal{E}_{ta}}\Big(\mathcal{E}' + \vartheta (\mathcal{E} - \mathcal{E}')\Big)\, \mathrm{d}\vartheta \\
&\approx \sum_{a=1}^{d} (\mathcal{E}_{ta} - \mathcal{E}'_{ta}) \\
&\quad \sum_{i=1}^{N_\text{IG}} \varpi_i\, \Gamma_{ta}\big(\mathcal{E}' + \vartheta_i (\mathcal{E} - \mathcal{E}')\big),
\end{aligned}$$

with $\Gamma = \partial z_c / \partial \mathcal{E}$ from :func:`~roberta_math.interpret.gradients.logit_gradient`
and $N_\text{IG}$ nodes $\vartheta_i$ and weights $\varpi_i$ of a quadrature rule on $[0, 1]$ (Gauss-Legendre, or a
left/right/middle/trapezoid Riemann sum, the rules and names Captum uses). By the fundamental
theorem of calculus for path integrals the exact integral is *complete* (Sundararajan et al.
2017, section 3, "Completeness"):

$$\sum_{t=1}^{n} \chi^\text{IG}_t = z_c(\mathcal{E}) - z_c(\mathcal{E}'),$$

so the completeness error $\epsilon_\text{IG} = \big|\sum_t \chi^\text{IG}_t - (z_c(\mathcal{E}) - z_c(\mathcal{E}'))\big|$ measures
the quadrature's error alone (Captum's "convergence delta").

**The baseline here:** every token but ``<s>``, ``</s>`` and padding replaced by the token row of
one id (``<mask>`` by default, or ``<pad>``), $\mathcal{E}'_t = E^\text{tok}[\text{id}]$; the positions
$\pi_t$ and the special tokens are kept, so $\chi^\text{IG}$ of ``<s>`` and ``</s>`` is 0.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from roberta_math.interpret.gradients import (
    _targets,
    input_embeddings,
    logit_gradient,
    logits_from_embeddings,
)
from roberta_math.model.weights import RobertaWeights

Rule = Literal["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]
RULES: tuple[str, ...] = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
MAX_STEPS = 1024
r"""The largest $N_\text{IG}$ :func:`quadrature` accepts. Gauss-Legendre is exact for polynomials of degree
$\le 2 N_\text{IG} - 1$, and 64 nodes already bring $\epsilon_\text{IG}$ below $10^{-4}$ (the doctest of
:func:`integrated_gradients`); beyond the bound each node only adds a backward pass, and ``leggauss``
builds an $N_\text{IG} \times N_\text{IG}$ float64 matrix (75 GiB at $10^5$ nodes)."""


def check_steps(steps: int, rule: str = "gausslegendre") -> None:
    r"""Raise ``ValueError`` (one line: the allowed range and why) unless ``rule`` is known and ``steps`` is in range.

    The range is $1 \le N_\text{IG} \le$ :data:`MAX_STEPS` for Gauss-Legendre and $2 \le N_\text{IG} \le$
    :data:`MAX_STEPS` for the Riemann rules. Nothing is allocated, so a huge ``steps`` is refused at once.

    >>> check_steps(MAX_STEPS)
    >>> check_steps(MAX_STEPS + 1)
    Traceback (most recent call last):
    ...
    ValueError: gausslegendre needs from 1 to 1024 steps (N_IG), got 1025: 64 Gauss-Legendre nodes already bring the completeness error below 1e-4, and more only cost time and memory
    """
    if rule not in RULES:
        raise ValueError(f"unknown quadrature rule {rule!r}: use one of {', '.join(RULES)}")
    low = 1 if rule == "gausslegendre" else 2
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not low <= steps <= MAX_STEPS:
        raise ValueError(
            f"{rule} needs from {low} to {MAX_STEPS} steps (N_IG), got {steps!r}: 64 Gauss-Legendre "
            "nodes already bring the completeness error below 1e-4, and more only cost time and memory"
        )


class IntegratedGradients(NamedTuple):
    """What :func:`integrated_gradients` returns (one row per sentence)."""

    attributions: Tensor  # (batch, seq): chi^IG_t, summed over the d components
    per_component: Tensor  # (batch, seq, d): (E - E') * sum_i w_i Gamma(E' + vartheta_i (E - E'))
    target: Tensor  # (batch,): the class c
    logit: Tensor  # (batch,): z_c(E)
    baseline_logit: Tensor  # (batch,): z_c(E')
    completeness_error: Tensor  # (batch,): epsilon_IG = |sum_t chi_t - (z_c(E) - z_c(E'))|


def quadrature(steps: int, rule: str = "gausslegendre") -> tuple[Tensor, Tensor]:
    r"""Nodes $\vartheta_i$ and weights $\varpi_i$, $i = 1..N_\text{IG}$, of a rule for $\int_0^1 g(\vartheta)\,\mathrm{d}\vartheta \approx \sum_i \varpi_i\, g(\vartheta_i)$.

    - Gauss-Legendre: the roots and weights of the Legendre polynomial of degree $N_\text{IG}$ on
      $[-1, 1]$ (``numpy.polynomial.legendre.leggauss``), mapped to $[0, 1]$: $\vartheta_i = (1 + \text{root}_i)/2$,
      $\varpi_i = \text{weight}_i / 2$; exact for polynomials of degree $\le 2 N_\text{IG} - 1$.
    - Riemann: $\varpi_i = 1/N_\text{IG}$ at $\vartheta_i = (i-1)/N_\text{IG}$ (left), $i/N_\text{IG}$ (right),
      $(i - 1/2)/N_\text{IG}$ (middle); trapezoid: $N_\text{IG}$ equally spaced nodes from 0 to 1 with
      weights $1/N_\text{IG}$, the two end weights halved (as Captum's ``riemann_trapezoid``, whose
      weights sum to $1 - 1/N_\text{IG}$).
    - Returns two float64 tensors ``(steps,)``. Raises ``ValueError`` (:func:`check_steps`) for an
      unknown rule or $N_\text{IG}$ outside $1..$:data:`MAX_STEPS` = 1024 ($2..1024$ for Riemann rules),
      before allocating anything: ``leggauss`` builds an $N_\text{IG} \times N_\text{IG}$ matrix, and
      64 Gauss-Legendre nodes already bring $\epsilon_\text{IG}$ below $10^{-4}$.

    Source: Captum's ``captum/attr/_utils/approximation_methods.py`` uses the same nodes and weights.

    >>> nodes, w = quadrature(3)
    >>> abs(float((w * nodes**5).sum()) - 1 / 6) < 1e-15  # 3 Gauss-Legendre nodes integrate x^5 exactly
    True
    >>> quadrature(4, "riemann_right")[0].tolist()
    [0.25, 0.5, 0.75, 1.0]
    """
    check_steps(steps, rule)
    if rule == "gausslegendre":
        x, v = np.polynomial.legendre.leggauss(steps)
        return torch.from_numpy(0.5 * (1 + x)), torch.from_numpy(0.5 * v)
    weights = torch.full((steps,), 1.0 / steps, dtype=torch.float64)
    if rule == "riemann_left":
        nodes = torch.linspace(0, 1 - 1 / steps, steps, dtype=torch.float64)
    elif rule == "riemann_right":
        nodes = torch.linspace(1 / steps, 1, steps, dtype=torch.float64)
    elif rule == "riemann_middle":
        nodes = torch.linspace(1 / (2 * steps), 1 - 1 / (2 * steps), steps, dtype=torch.float64)
    else:
        nodes = torch.linspace(0, 1, steps, dtype=torch.float64)
        weights[0] /= 2
        weights[-1] /= 2
    return nodes, weights


def baseline_embeddings(
    weights: RobertaWeights, input_ids: Tensor, baseline_id: int, special_ids: tuple[int, ...] = (0, 2)
) -> Tensor:
    r"""$\mathcal{E}'$: each token's row replaced by $E^\text{tok}[\text{baseline\_id}]$, except ``special_ids`` and padding.

    - ``input_ids``: ``(batch, seq)``; ``special_ids``: ids kept as they are (``<s>`` = 0 and
      ``</s>`` = 2 in RoBERTa's vocabulary). Returns ``(batch, seq, d)``.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w = read_weights(tiny_model())
    >>> b = baseline_embeddings(w, torch.tensor([[0, 7, 9, 2, 1]]), baseline_id=4)
    >>> [bool(torch.equal(b[0, t], w.embeddings.word[i])) for t, i in enumerate([0, 4, 4, 2, 1])]
    [True, True, True, True, True]
    """
    keep = torch.zeros_like(input_ids, dtype=torch.bool)
    for special in (*special_ids, weights.padding_idx):
        keep |= input_ids.eq(special)
    ids = torch.where(keep, input_ids, torch.full_like(input_ids, baseline_id))  # (batch, seq)
    return input_embeddings(weights, ids)


def integrated_gradients(
    weights: RobertaWeights,
    input_ids: Tensor,
    target: int | Tensor | None = None,
    *,
    baseline_id: int = 4,
    steps: int = 50,
    rule: str = "gausslegendre",
    attention_mask: Tensor | None = None,
    chunk: int = 64,
) -> IntegratedGradients:
    r"""$\chi^\text{IG}_t$ for every token, with the completeness error $\epsilon_\text{IG}$ (see the module's equations).

    - ``input_ids``: ``(batch, seq)``; ``target``: the class $c$ (int, ``(batch,)``, or ``None`` for
      the predicted class at the input).
    - ``baseline_id``: the id whose token row replaces every non-special token (4 is ``<mask>``
      in RoBERTa's vocabulary, 1 is ``<pad>``); ``steps``: $N_\text{IG}$, from 1 to :data:`MAX_STEPS` = 1024
      (from 2 for Riemann rules); ``rule``: see :func:`quadrature`;
      ``chunk``: path points per backward pass (memory only, not the result).
    - Returns an :class:`IntegratedGradients`. Raises ``ValueError`` as :func:`quadrature` (``steps``
      out of range or an unknown rule, before any model work) and
      :func:`~roberta_math.interpret.gradients.logit_gradient` do.

    Source: Sundararajan, Taly and Yan (2017), "Axiomatic Attribution for Deep Networks",
    equation (1) and section 3; ``tests/test_interpret.py`` checks it equals Captum's
    ``IntegratedGradients`` within 1e-5.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w, ids = read_weights(tiny_model()), torch.tensor([[0, 7, 9, 11, 2]])
    >>> coarse = integrated_gradients(w, ids, target=2, steps=2)
    >>> fine = integrated_gradients(w, ids, target=2, steps=64)
    >>> bool(fine.completeness_error < coarse.completeness_error), bool(fine.completeness_error < 1e-4)
    (True, True)
    >>> fine.attributions[0, [0, 4]].tolist()  # <s> and </s> equal their baseline
    [0.0, 0.0]
    """
    nodes, step_weights = quadrature(steps, rule)
    if attention_mask is None:
        attention_mask = input_ids.ne(weights.padding_idx).long()
    x = input_embeddings(weights, input_ids)  # (batch, seq, d)
    x_base = baseline_embeddings(weights, input_ids, baseline_id)  # (batch, seq, d)
    logits = logits_from_embeddings(weights, input_ids, x, attention_mask)  # (batch, num_labels)
    target_t = _targets(target, logits)  # (batch,)
    total = torch.zeros_like(x)  # (batch, seq, d): sum_i w_i Gamma(path point i)
    batch = input_ids.shape[0]
    per_chunk = max(1, chunk // batch)
    for start in range(0, steps, per_chunk):
        a = nodes[start:start + per_chunk].to(x.dtype)  # (k,)
        w_k = step_weights[start:start + per_chunk].to(x.dtype)  # (k,)
        k = a.shape[0]
        points = x_base[None] + a[:, None, None, None] * (x - x_base)[None]  # (k, batch, seq, d)
        g = logit_gradient(
            weights,
            input_ids.repeat(k, 1),
            points.reshape(k * batch, *x.shape[1:]),
            target_t.repeat(k),
            attention_mask.repeat(k, 1),
        ).gradient.reshape(k, batch, *x.shape[1:])  # (k, batch, seq, d)
        total += (w_k[:, None, None, None] * g).sum(dim=0)
    per_component = (x - x_base) * total  # (batch, seq, d)
    attributions = per_component.sum(dim=-1)  # (batch, seq)
    rows = torch.arange(batch)
    logit = logits[rows, target_t]
    baseline_logit = logits_from_embeddings(weights, input_ids, x_base, attention_mask)[rows, target_t]
    error = (attributions.sum(dim=-1) - (logit - baseline_logit)).abs()
    return IntegratedGradients(attributions, per_component, target_t, logit, baseline_logit, error)

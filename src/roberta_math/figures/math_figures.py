r"""Figures of the math alone (no model): softmax temperature, cross-entropy, the variance of $q \cdot k$.

Every curve is computed with the package's own functions
(:func:`~roberta_math.math.softmax.softmax`, :func:`~roberta_math.math.loss.cross_entropy_loss`,
:func:`~roberta_math.math.loss.cross_entropy_grad`), so the pictures show what the code does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from roberta_math.figures.render import PALETTE, json_bytes, round_floats, svg_bytes
from roberta_math.labels import LABELS
from roberta_math.math import cross_entropy_grad, cross_entropy_loss, softmax

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext


def softmax_at_temperatures(logits: Sequence[float], temperatures: Sequence[float]) -> np.ndarray:
    r"""$p(T) = \operatorname{softmax}(z / T)$ for each temperature: shape ``(len(temperatures), len(logits))``.

    >>> softmax_at_temperatures([1.0, 0.0], [1.0, 1e6]).round(3).tolist()
    [[0.731, 0.269], [0.5, 0.5]]
    """
    z = torch.tensor(list(logits), dtype=torch.float64)  # (n,)
    return np.stack([softmax(z, temperature=float(t)).numpy() for t in temperatures])


def softmax_temperature_figure(logits: Sequence[float], temperatures: Sequence[float]) -> tuple[bytes, dict[str, Any]]:
    """Grouped bars: the softmax of the same logits at several temperatures."""
    import matplotlib.pyplot as plt

    probs = softmax_at_temperatures(logits, temperatures)  # (T, n)
    n = len(logits)
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    width = 0.8 / len(temperatures)
    cmap = plt.get_cmap("viridis")
    for t_index, t in enumerate(temperatures):
        x = np.arange(n) + (t_index - (len(temperatures) - 1) / 2) * width
        # viridis from 0.2 up: its darkest purples vanish on a dark page
        colour = cmap(0.2 + 0.75 * t_index / max(len(temperatures) - 1, 1))
        ax.bar(x, probs[t_index], width=width * 0.95, color=colour, label=f"$\\tau$ = {t:g}")  # the site's symbol for the temperature
    ax.set_xticks(np.arange(n), [f"$z_{i + 1} = {z:g}$" for i, z in enumerate(logits)])
    ax.set_ylabel("probability $p_i$")
    ax.set_ylim(0, 1.0)
    ax.axhline(1 / n, color="0.4", linestyle=":", linewidth=1)
    ax.text(n - 0.5, 1 / n + 0.015, f"uniform 1/{n}", ha="right", va="bottom", fontsize=8, color="0.3")
    ax.set_title("Softmax of the same logits at several temperatures")
    ax.legend(ncol=len(temperatures), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    data = {"logits": list(logits), "temperatures": list(temperatures), "probabilities": probs.tolist()}
    return svg_bytes(fig), round_floats(data, 6)


def cross_entropy_against_margin(margins: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Loss and $\partial\mathcal{L}/\partial z_y$ when the true logit leads all $C-1$ others by margin $\Delta$.

    With $z = (\Delta, 0, \dots, 0)$ and the true class first (label 0 in code):
    $\mathcal{L}(\Delta) = \log\big(1 + (C-1)e^{-\Delta}\big) = \operatorname{softplus}\big(\log(C-1) - \Delta\big)$
    and $\partial \mathcal{L}/\partial z_y = p_y - 1$.

    >>> loss, grad = cross_entropy_against_margin(np.array([0.0]), 2)
    >>> round(float(loss[0]), 4), round(float(grad[0]), 4)   # log 2, and 1/2 - 1
    (0.6931, -0.5)
    """
    logits = torch.zeros(len(margins), num_classes, dtype=torch.float64)  # (n, C)
    logits[:, 0] = torch.as_tensor(margins, dtype=torch.float64)
    labels = torch.zeros(len(margins), dtype=torch.long)
    # cross_entropy_loss averages over the batch: take one row at a time for per-margin values.
    loss = np.array([float(cross_entropy_loss(row[None], labels[:1])) for row in logits])
    grad = cross_entropy_grad(logits, labels)[:, 0].numpy() * len(margins)  # undo the 1/N of the mean
    return loss, grad


def cross_entropy_margin_figure() -> tuple[bytes, dict[str, Any]]:
    """Two panels: the loss, and the gradient on the true logit, against the margin."""
    import matplotlib.pyplot as plt

    margins = np.linspace(-6.0, 6.0, 241)
    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(8.0, 3.4))
    data: dict[str, Any] = {"margin": margins.tolist()}
    for colour, c in zip(PALETTE, (2, 3), strict=False):
        loss, grad = cross_entropy_against_margin(margins, c)
        ax_loss.plot(margins, loss, color=colour, label=f"C = {c} classes")
        ax_grad.plot(margins, grad, color=colour, label=f"C = {c} classes")
        data[f"loss_C{c}"] = loss.tolist()
        data[f"grad_true_logit_C{c}"] = grad.tolist()
        # softplus(u) -> max(0, u) far from u = 0: the asymptotes are the hinge shifted by log(C - 1)
        ax_loss.plot(margins, np.maximum(math.log(c - 1) - margins, 0), color=colour, linestyle="--", linewidth=1,
                     label="max(0, -Δ)" if c == 2 else f"max(0, log {c - 1} - Δ)")
    ax_loss.set_xlabel("margin $\\Delta = z_y - \\max_{c \\neq y} z_c$")
    ax_loss.set_ylabel("loss $\\mathcal{L} = -\\log p_y$")
    ax_loss.set_title("Cross-entropy against the margin")
    ax_loss.legend()
    ax_grad.axhline(0, color="0.6", linewidth=0.8)
    ax_grad.set_xlabel("margin $\\Delta$")
    ax_grad.set_ylabel("$\\partial \\mathcal{L} / \\partial z_y = p_y - 1$")
    ax_grad.set_ylim(-1.05, 0.05)
    ax_grad.set_title("Gradient on the true logit")
    ax_grad.legend(loc="lower right")
    fig.tight_layout()
    return svg_bytes(fig), round_floats(data, 6)


def cross_entropy_gradient_field(
    z_true: np.ndarray, z_other: np.ndarray, fixed: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Loss and descent direction over a grid of two logits of a 3-class problem.

    Logits $z = (z_\text{true}, z_\text{other}, \text{fixed})$, true class 0. Returns the loss
    and the two components of $-\nabla_z \mathcal{L} = e_y - \operatorname{softmax}(z)$ on
    the grid, each of shape ``(len(z_other), len(z_true))``.

    >>> loss, u, v = cross_entropy_gradient_field(np.array([0.0]), np.array([0.0]))
    >>> round(float(loss[0, 0]), 4), round(float(u[0, 0]), 4), round(float(v[0, 0]), 4)   # log 3, 1 - 1/3, -1/3
    (1.0986, 0.6667, -0.3333)
    """
    a, b = np.meshgrid(z_true, z_other)  # (n_other, n_true) each
    logits = torch.tensor(np.stack([a.ravel(), b.ravel(), np.full(a.size, fixed)], axis=1))  # (N, 3)
    labels = torch.zeros(a.size, dtype=torch.long)
    grad = cross_entropy_grad(logits, labels) * a.size  # (N, 3), per-example gradient
    loss = -torch.log_softmax(logits, dim=-1)[:, 0]
    shape = a.shape
    return loss.numpy().reshape(shape), -grad[:, 0].numpy().reshape(shape), -grad[:, 1].numpy().reshape(shape)


def cross_entropy_gradient_field_figure() -> tuple[bytes, dict[str, Any]]:
    """Filled loss contours (with a colour bar) and the descent arrows over $(z_\\text{neg}, z_\\text{neu})$."""
    import matplotlib.pyplot as plt

    dense = np.linspace(-4.0, 4.0, 161)
    loss, _, _ = cross_entropy_gradient_field(dense, dense)
    sparse = np.linspace(-3.6, 3.6, 13)
    _, u, v = cross_entropy_gradient_field(sparse, sparse)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    filled = ax.contourf(dense, dense, loss, levels=np.linspace(0, 8.5, 18), cmap="viridis")
    ax.contour(dense, dense, loss, levels=[0.25, 0.5, 1, 2, 4, 8], colors="white", linewidths=0.6, alpha=0.7)
    ax.quiver(sparse, sparse, u, v, color="white", angles="xy", scale_units="xy", scale=2.4, width=0.004)
    colourbar = fig.colorbar(filled, ax=ax)
    colourbar.set_label("loss $-\\log p_{\\mathrm{negative}}$")
    ax.set_xlabel(f"$z_{{\\mathrm{{{LABELS[0]}}}}}$ (true class)")
    ax.set_ylabel(f"$z_{{\\mathrm{{{LABELS[1]}}}}}$")
    ax.set_title(f"Cross-entropy and its descent direction ($z_{{\\mathrm{{{LABELS[2]}}}}} = 0$)")
    ax.set_aspect("equal")
    fig.tight_layout()
    data = {
        "true_class": LABELS[0],
        "axes": {"x": f"z_{LABELS[0]}", "y": f"z_{LABELS[1]}", "fixed": {f"z_{LABELS[2]}": 0.0}},
        "grid": sparse.tolist(),
        "loss": loss[::20, ::20].tolist(),
        "descent_x": u.tolist(),
        "descent_y": v.tolist(),
    }
    return svg_bytes(fig), round_floats(data, 6)


def dot_product_variance(dims: Sequence[int], samples: int, seed: int) -> dict[str, list[float]]:
    r"""Sample variance of $q \cdot k$ and of $q \cdot k / \sqrt{d_k}$ for $q, k \sim \mathcal{N}(0, I_{d_k})$.

    Theory: $\operatorname{Var}(q \cdot k) = \sum_{i=1}^{d_k} \operatorname{Var}(q_i k_i) = d_k$, so the
    scaled product has variance 1 at every $d_k$.

    >>> v = dot_product_variance([64], samples=20000, seed=0)
    >>> 60 < v["raw"][0] < 68, 0.93 < v["scaled"][0] < 1.07
    (True, True)
    """
    generator = torch.Generator().manual_seed(seed)
    raw, scaled = [], []
    for d in dims:
        q = torch.randn(samples, d, generator=generator, dtype=torch.float64)  # (samples, d_k)
        k = torch.randn(samples, d, generator=generator, dtype=torch.float64)  # (samples, d_k)
        dots = (q * k).sum(-1)  # (samples,)
        raw.append(float(dots.var()))
        scaled.append(float((dots / math.sqrt(d)).var()))
    return {"d_k": [int(d) for d in dims], "raw": raw, "scaled": scaled}


def qk_variance_random_figure(dims: Sequence[int], samples: int, seed: int) -> tuple[bytes, dict[str, Any]]:
    """Log-log plot of the measured variances against $d_k$, with the theory lines $d_k$ and 1."""
    import matplotlib.pyplot as plt

    result = dot_product_variance(dims, samples, seed)
    d = np.array(result["d_k"], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(d, d, color="0.75", linewidth=5, solid_capstyle="round", label="theory: $d_k$")
    ax.plot(d, np.ones_like(d), color="0.75", linewidth=5, linestyle=(0, (1, 1.5)), label="theory: 1")
    ax.plot(d, result["raw"], "o", color=PALETTE[0], label="measured $\\mathrm{Var}(q \\cdot k)$")
    ax.plot(d, result["scaled"], "s", color=PALETTE[1], label="measured $\\mathrm{Var}(q \\cdot k / \\sqrt{d_k})$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(d, [f"{int(v)}" for v in d])
    ticks = [2.0**e for e in range(0, int(math.log2(max(d))) + 2, 2)]
    ax.set_yticks(ticks, [f"{int(t)}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("head dimension $d_k$")
    ax.set_ylabel("variance of the score")
    ax.set_title(f"Random $q, k \\sim \\mathcal{{N}}(0, I)$: {samples:,} pairs per $d_k$")
    ax.grid(True, which="major")
    ax.legend(loc="upper left")
    fig.tight_layout()
    data = {**result, "samples": samples, "seed": seed, "distribution": "standard normal components"}
    return svg_bytes(fig), round_floats(data, 6)


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``math`` step: four figures and their data, no model needed."""
    p = ctx.params
    files: dict[str, bytes] = {}
    svg, data = softmax_temperature_figure(p.softmax_logits, p.softmax_temperatures)
    files["softmax_temperature.svg"], files["softmax_temperature.json"] = svg, json_bytes(data)
    svg, data = cross_entropy_margin_figure()
    files["cross_entropy_margin.svg"], files["cross_entropy_margin.json"] = svg, json_bytes(data)
    svg, data = cross_entropy_gradient_field_figure()
    files["cross_entropy_gradient_field.svg"], files["cross_entropy_gradient_field.json"] = svg, json_bytes(data)
    svg, data = qk_variance_random_figure(p.random_qk_dims, p.random_qk_samples, p.seed)
    files["qk_variance_random.svg"], files["qk_variance_random.json"] = svg, json_bytes(data)
    return files


__all__ = [
    "build",
    "cross_entropy_against_margin",
    "cross_entropy_gradient_field",
    "dot_product_variance",
    "softmax_at_temperatures",
]

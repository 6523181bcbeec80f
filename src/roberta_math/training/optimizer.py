r"""Fine-tuning from scratch: AdamW, the recipe's learning-rate schedule and gradient clipping.

The embedded model's recipe (:mod:`roberta_math.training.recipe`) fine-tunes with
``torch.optim.AdamW`` (weight decay on matrices only), a linear warm-up over the first
10 % of steps then a linear decay to 0 (``LambdaLR``), and ``clip_grad_norm_`` at 1.0.
This module writes each of them out, and :func:`finetune_from_scratch` runs the recipe's
steps with the gradients of :func:`~roberta_math.model.backward.gradients_from_scratch`:
no autograd and no ``torch.optim`` anywhere. The test suite shows that 20 steps of it
reproduce the recipe's own ``torch`` loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from roberta_math.training.recipe import Recipe


@dataclass
class AdamWState:
    """AdamW's memory: the step count $s$ and the two moment estimates of each parameter."""

    step: int = 0
    exp_avg: dict[str, Tensor] = field(default_factory=dict)  # m, shaped as each parameter
    exp_avg_sq: dict[str, Tensor] = field(default_factory=dict)  # v, shaped as each parameter


def adamw_step(
    params: dict[str, Tensor],
    grads: dict[str, Tensor],
    state: AdamWState,
    lr: float,
    weight_decay: dict[str, float] | float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> None:
    r"""One AdamW step, in place, with bias correction and decoupled weight decay.

    For each parameter $\theta$ with gradient $g$, at step $s = 1, 2, \ldots$ and learning rate $\eta_s$
    (symbols: the site's notation page):

    $$\begin{gathered}
        \theta \leftarrow \theta\,(1 - \eta_s \lambda), \\
        m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \\
        v \leftarrow \beta_2 v + (1 - \beta_2)\, g \odot g,
        \end{gathered}$$

    $$\theta \leftarrow \theta - \frac{\eta_s}{1 - \beta_1^s}\;
    \frac{m}{\sqrt{v}/\sqrt{1 - \beta_2^s} + \epsilon_\text{adam}}.$$

    The decay $\lambda$ shrinks the weights directly instead of being added to the gradient
    (so Adam's per-coordinate scaling does not weaken it); dividing by $1 - \beta^s$ undoes
    the bias of $m$ and $v$ towards their zero start.

    - ``params``, ``grads``: ``{name: tensor}`` with the same names and shapes; ``params`` are updated in place.
    - ``weight_decay``: one $\lambda$ for all, or ``{name: lambda}``.
    - Raises ``KeyError`` naming a parameter that has no gradient.

    Source: Loshchilov and Hutter (2019), Algorithm 2; Kingma and Ba (2015), Algorithm 1;
    the single-tensor path of PyTorch's ``torch/optim/adamw.py`` (the order of operations here).

    >>> p, g = {"w": torch.tensor([1.0, -2.0])}, {"w": torch.tensor([0.5, 0.5])}
    >>> adamw_step(p, g, AdamWState(), lr=0.1)  # the first step moves each entry by lr * sign(g)
    >>> p["w"]
    tensor([ 0.9000, -2.1000])
    """
    beta1, beta2 = betas
    state.step += 1
    bias_correction1 = 1.0 - beta1**state.step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**state.step)
    for name, param in params.items():
        if name not in grads:
            raise KeyError(f"no gradient for parameter {name!r}")
        grad = grads[name]
        decay = weight_decay.get(name, 0.0) if isinstance(weight_decay, dict) else weight_decay
        if name not in state.exp_avg:
            state.exp_avg[name] = torch.zeros_like(param)
            state.exp_avg_sq[name] = torch.zeros_like(param)
        m, v = state.exp_avg[name], state.exp_avg_sq[name]
        param.mul_(1.0 - lr * decay)  # decoupled weight decay
        m.lerp_(grad, 1.0 - beta1)  # m = beta1 m + (1 - beta1) g
        v.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)  # v = beta2 v + (1 - beta2) g^2
        denom = (v.sqrt() / bias_correction2_sqrt).add_(eps)
        param.addcdiv_(m, denom, value=-lr / bias_correction1)


def decoupled_weight_decay(params: dict[str, Tensor], weight_decay: float) -> dict[str, float]:
    """The recipe's decay per parameter: ``weight_decay`` on matrices, 0 on biases and LayerNorm gains and shifts.

    >>> decoupled_weight_decay({"w": torch.zeros(2, 2), "b": torch.zeros(2)}, 0.01)
    {'w': 0.01, 'b': 0.0}
    """
    return {name: (weight_decay if p.ndim >= 2 else 0.0) for name, p in params.items()}


def learning_rate(step: int, base_lr: float, total_steps: int, warmup_fraction: float) -> float:
    r"""The recipe's learning rate at step ``step`` (0-based): linear warm-up, then linear decay to 0.

    With $N_\text{steps}$ steps in all, $N_\text{warm} = \max(1, \operatorname{round}(\texttt{warmup\_fraction} \cdot N_\text{steps}))$
    of them warm-up, and the step counted from 1 in the equation ($s$ = ``step + 1``):

    $$\begin{gathered}
        \eta_s = \eta_0 \rho_s, \\
        \rho_s = s / N_\text{warm} \quad \text{for } s \le N_\text{warm}, \\
        \rho_s = \max\!\Big(0, \frac{N_\text{steps} - s + 1}{\max(1,\, N_\text{steps} - N_\text{warm})}\Big) \\
        \text{for } s > N_\text{warm}
        \end{gathered}$$

    >>> [round(learning_rate(t, 1e-3, 10, 0.2), 6) for t in range(10)]
    [0.0005, 0.001, 0.001, 0.000875, 0.00075, 0.000625, 0.0005, 0.000375, 0.00025, 0.000125]
    """
    warmup = max(1, round(warmup_fraction * total_steps))
    if step < warmup:
        return base_lr * (step + 1) / warmup
    return base_lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def clip_by_global_norm(grads: dict[str, Tensor], max_norm: float, eps: float = 1e-6) -> float:
    r"""Scale all gradients in place so that their joint 2-norm is at most ``max_norm``; return the norm before.

    $$\begin{gathered}
        \|g\| = \Big(\sum_{\theta} \|g_\theta\|_2^2\Big)^{1/2}, \\
        g \leftarrow g \cdot \min\!\Big(1, \frac{\kappa}{\|g\| + \epsilon_\text{clip}}\Big)
        \end{gathered}$$

    with $\kappa$ = ``max_norm`` and $\epsilon_\text{clip}$ = ``eps``.

    One factor for every tensor keeps the direction of the whole gradient.
    Source: Pascanu et al. (2013), section 3.2; PyTorch's ``torch/nn/utils/clip_grad.py`` (same $\epsilon_\text{clip} = 10^{-6}$).

    >>> g = {"a": torch.tensor([3.0]), "b": torch.tensor([4.0])}
    >>> clip_by_global_norm(g, 1.0), g["a"], g["b"]
    (5.0, tensor([0.6000]), tensor([0.8000]))
    """
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads.values()]))
    factor = torch.clamp(max_norm / (total + eps), max=1.0)
    for g in grads.values():
        g.mul_(factor.to(g.dtype))
    return float(total)


Batch = tuple[Tensor, Tensor, Tensor]  # input_ids (batch, seq), attention_mask (batch, seq), labels (batch,)


def finetune_from_scratch(
    model: torch.nn.Module,
    batches: Iterable[Batch],
    recipe: Recipe,
    total_steps: int,
    on_step: Callable[[int, Tensor, dict[str, Tensor], dict[str, list]], None] | None = None,
) -> dict[str, Any]:
    r"""Run the recipe's fine-tuning steps with from-scratch gradients and AdamW, in place.

    Per batch: :func:`~roberta_math.model.backward.gradients_from_scratch`, then
    :func:`clip_by_global_norm` at ``recipe.grad_clip_norm``, then :func:`adamw_step` with the
    learning rate of :func:`learning_rate` and :func:`decoupled_weight_decay`, exactly the
    order of the recipe's ``torch`` loop. Dropout is not applied.

    - ``model``: a ``RobertaForSequenceClassification`` used only as the store of its weights
      (its ``state_dict()`` tensors are updated in place; no module is called).
    - ``batches``: ``(input_ids, attention_mask, labels)`` triples; one step each.
    - ``total_steps``: the schedule's length $N_\text{steps}$ (warm-up and decay are laid out over it).
    - ``on_step``: called after each step's gradient (before clipping) as
      ``on_step(step, loss, grads, record)`` (``record`` as in
      :func:`~roberta_math.model.backward.backward_from_logits`).
    - Returns ``{"step_loss": [...], "step_lr": [...], "grad_norm": [...]}``.
    """
    from roberta_math.model.backward import gradients_from_scratch

    params = {name: t for name, t in model.state_dict().items()}  # shares storage with the model
    decay = decoupled_weight_decay(params, recipe.weight_decay)
    state = AdamWState()
    log: dict[str, Any] = {"step_loss": [], "step_lr": [], "grad_norm": []}
    for step, (ids, mask, labels) in enumerate(batches):
        record: dict[str, list] | None = {} if on_step is not None else None
        loss, grads = gradients_from_scratch(model, ids, mask, labels, record)
        if on_step is not None:
            on_step(step, loss, grads, record or {})
        norm = clip_by_global_norm(grads, recipe.grad_clip_norm)
        lr = learning_rate(step, recipe.learning_rate, total_steps, recipe.warmup_fraction)
        with torch.no_grad():
            adamw_step(params, grads, state, lr, decay)
        log["step_loss"].append(float(loss))
        log["step_lr"].append(lr)
        log["grad_norm"].append(norm)
    return log

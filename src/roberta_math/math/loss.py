r"""Cross-entropy, the fine-tuning loss, and its gradient with respect to the logits.

For logits $z \in \mathbb{R}^{C}$ and true class $y$,

$$\begin{aligned}
\mathcal{L}(z, y) &= -\log \operatorname{softmax}(z)_y \\ &= -z_y + \log \sum_{c} e^{z_c},
\\ \frac{\partial \mathcal{L}}{\partial z} &= \operatorname{softmax}(z) - e_y .
\end{aligned}$$
"""

from __future__ import annotations

import torch
from torch import Tensor

from roberta_math.math.softmax import log_softmax, softmax


def _checked(logits: Tensor, labels: Tensor | int, name: str) -> tuple[Tensor, Tensor]:
    """The logits and labels if their shapes are ``(C,)`` with one label or ``(N, C)`` with ``(N,)``."""
    labels = torch.as_tensor(labels)
    if logits.dim() == 1:
        if labels.dim() != 0:
            raise ValueError(f"{name}: logits of shape (C,) = {tuple(logits.shape)} take one label (a 0-d tensor), "
                             f"got labels of shape {tuple(labels.shape)}")
    elif logits.dim() == 2:
        if labels.shape != logits.shape[:1]:
            raise ValueError(f"{name}: logits of shape (N, C) = {tuple(logits.shape)} take labels of shape (N,) = "
                             f"({logits.shape[0]},), got {tuple(labels.shape)}")
    else:
        raise ValueError(f"{name}: logits must have shape (C,) or (N, C), got {tuple(logits.shape)}")
    if logits.numel() == 0:
        raise ValueError(f"{name}: needs at least one example and one class, got logits of shape {tuple(logits.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name}: labels must be integer class indices, got dtype {labels.dtype}")
    classes = logits.shape[-1]
    if bool((labels < 0).any()) or bool((labels >= classes).any()):
        raise ValueError(f"{name}: labels must lie in [0, {classes}), got {labels.tolist()}")
    return logits, labels.long()


def cross_entropy_loss(logits: Tensor, labels: Tensor | int) -> Tensor:
    r"""Mean negative log-likelihood of the true classes.

    $$\mathcal{L} = -\frac{1}{B}\sum_{(z, y)} \log \operatorname{softmax}(z)_y ,$$

    the sum running over the $B$ rows $(z, y)$ of logits and true class.

    - ``logits``: $z$, ``(B, C)`` with ``labels`` $y$ ``(B,)``; or one example, ``(C,)`` with a
      0-d ``labels`` (then $B = 1$). Labels are integer classes in ``[0, C)``.
    - Any other shape, an empty batch, non-integer or out-of-range labels: ``ValueError``.
    - Uses log-softmax, so a confident wrong logit of $10^4$ gives a finite loss instead of ``inf``.

    >>> logits = torch.tensor([[2.0, 1.0, 0.1], [0.1, 2.0, 1.0], [0.1, 0.1, 2.0]])
    >>> cross_entropy_loss(logits, torch.tensor([0, 1, 2]))
    tensor(0.3653)
    >>> cross_entropy_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))  # log 2
    tensor(0.6931)
    >>> cross_entropy_loss(torch.tensor([0.0, 0.0]), torch.tensor(1))  # one example, shape (C,)
    tensor(0.6931)
    """
    logits, labels = _checked(logits, labels, "cross_entropy_loss")
    log_p = log_softmax(logits, dim=-1)  # (B, C) or (C,)
    picked = log_p.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)  # (B,) = log p_y of each row
    return -picked.mean()


def cross_entropy_grad(logits: Tensor, labels: Tensor | int) -> Tensor:
    r"""Gradient of :func:`cross_entropy_loss` (the *mean* over the batch) with respect to the logits, in closed form.

    $$\begin{gathered}
        \frac{\partial \mathcal{L}}{\partial z} = \frac{1}{B}\big(\operatorname{softmax}(z) - e_y\big) \\
        \text{for each of the } B \text{ rows } (z, y)
        \end{gathered}$$

    $e_{y}$ is the one-hot vector of the true class. Each row sums to 0, and the true
    class's entry $(p_y - 1)/B$ is $\le 0$ while every other entry $p_c/B$ is $\ge 0$ (all are 0
    once $p_y = 1$). Shapes as in :func:`cross_entropy_loss`:
    ``(B, C)`` with ``(B,)`` labels, or one example ``(C,)`` with a 0-d label ($B = 1$);
    the result has the shape of ``logits``.

    >>> cross_entropy_grad(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    tensor([[ 0.5000, -0.5000]])
    >>> cross_entropy_grad(torch.tensor([2.0, 1.0, 0.1]), torch.tensor(0))  # one example: p - e_y
    tensor([-0.3410,  0.2424,  0.0986])
    """
    logits, labels = _checked(logits, labels, "cross_entropy_grad")
    probs = softmax(logits, dim=-1)  # (N, C) or (C,)
    one_hot = torch.nn.functional.one_hot(labels, logits.size(-1)).to(probs.dtype)  # same shape
    batch = 1 if logits.dim() == 1 else logits.size(0)
    return (probs - one_hot) / batch

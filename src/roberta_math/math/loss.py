r"""Cross-entropy, the fine-tuning loss, and its gradient with respect to the logits.

For logits $z \in \mathbb{R}^{C}$ and true class $y$,

$$\mathcal{L}(z, y) = -\log \operatorname{softmax}(z)_y = -z_y + \log \sum_{c} e^{z_c},
\qquad \frac{\partial \mathcal{L}}{\partial z} = \operatorname{softmax}(z) - e_y .$$
"""

from __future__ import annotations

import torch
from torch import Tensor

from roberta_math.math.softmax import log_softmax, softmax


def cross_entropy_loss(logits: Tensor, labels: Tensor) -> Tensor:
    r"""Mean negative log-likelihood of the true classes.

    $$\mathcal{L} = \frac{1}{N}\sum_{n=1}^{N} -\log p_{n, y_n}, \qquad p_n = \operatorname{softmax}(z_n)$$

    - ``logits``: $z$, ``(N, C)``; ``labels``: $y$, ``(N,)`` integer classes in ``[0, C)``.
    - Uses log-softmax, so a confident wrong logit of $10^4$ gives a finite loss instead of ``inf``.

    >>> logits = torch.tensor([[2.0, 1.0, 0.1], [0.1, 2.0, 1.0], [0.1, 0.1, 2.0]])
    >>> cross_entropy_loss(logits, torch.tensor([0, 1, 2]))
    tensor(0.3653)
    >>> cross_entropy_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))  # log 2
    tensor(0.6931)
    """
    log_p = log_softmax(logits, dim=-1)  # (N, C)
    picked = log_p.gather(-1, labels.long().unsqueeze(-1)).squeeze(-1)  # (N,) = log p_{n, y_n}
    return -picked.mean()


def cross_entropy_grad(logits: Tensor, labels: Tensor) -> Tensor:
    r"""Gradient of the *mean* cross-entropy with respect to the logits, in closed form.

    $$\frac{\partial \mathcal{L}}{\partial z_{n}} = \frac{1}{N}\big(\operatorname{softmax}(z_n) - e_{y_n}\big)$$

    $e_{y}$ is the one-hot vector of the true class. Each row sums to 0, and the true
    class's entry $p_y - 1$ is the only negative one.

    >>> cross_entropy_grad(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    tensor([[ 0.5000, -0.5000]])
    """
    probs = softmax(logits, dim=-1)  # (N, C)
    one_hot = torch.nn.functional.one_hot(labels.long(), logits.size(-1)).to(probs.dtype)  # (N, C)
    return (probs - one_hot) / logits.size(0)

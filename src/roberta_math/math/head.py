r"""The sentiment classification head, which reads only the first token ``<s>``.

$$z = \tanh\!\big(X^{(L)}_1 W_\text{dense}^\top + b_\text{dense}\big)\, W_\text{out}^\top + b_\text{out}$$

with $X^{(L)}_1$ the last layer's row for ``<s>`` (token 1 in the equations, index 0 in
code) and both matrices stored (out, in), as on the site's notation page
(``RobertaClassificationHead`` in transformers' ``modeling_roberta.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from roberta_math.math.linear import Linear, linear, linear_backward


def classification_head(hidden: Tensor, dense: Linear, out_proj: Linear) -> Tensor:
    r"""Logits from the final hidden state of ``<s>`` (``hidden[:, 0]``, token 1 in the equations).

    $$z = \tanh\!\big(X^{(L)}_1 W_\text{dense}^\top + b_\text{dense}\big)\, W_\text{out}^\top + b_\text{out}$$

    - ``hidden``: ``(batch, seq, d)``, the last encoder layer's output; only ``hidden[:, 0]`` is read.
    - ``dense``: ``(d, d)``; ``out_proj``: ``(num_labels, d)``. Returns logits $z$, ``(batch, num_labels)``.

    >>> d = 2
    >>> dense = Linear(torch.eye(d), torch.zeros(d))
    >>> out = Linear(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.zeros(3))
    >>> classification_head(torch.tensor([[[100.0, 0.0], [5.0, 5.0]]]), dense, out)  # tanh(100) = 1
    tensor([[1., 0., 1.]])
    """
    first = hidden[:, 0, :]  # (batch, d): the <s> token
    return linear(torch.tanh(linear(first, dense)), out_proj)  # (batch, num_labels)


def classification_head_backward(
    grad_logits: Tensor, hidden: Tensor, dense: Linear, out_proj: Linear
) -> tuple[Tensor, Linear, Linear]:
    r"""Vector-Jacobian product of :func:`classification_head`: gradients of the hidden states and both layers.

    Forward: $X_\text{dense} = X^{(L)}_1 W_\text{dense}^\top + b_\text{dense}$,
    $X_\text{tanh} = \tanh(X_\text{dense})$, $z = X_\text{tanh} W_\text{out}^\top + b_\text{out}$.
    With $\tanh'(v) = 1 - \tanh^2(v)$:

    $$\begin{gathered}
        \mathrm{d}X_\text{tanh} = \mathrm{d}z\, W_\text{out}, \quad \mathrm{d}W_\text{out} = \mathrm{d}z^\top X_\text{tanh}, \\
        \mathrm{d}X_\text{dense} = \mathrm{d}X_\text{tanh} \odot (1 - X_\text{tanh}^2),
        \end{gathered}$$

    $$\begin{gathered}
        \mathrm{d}X^{(L)}_1 = \mathrm{d}X_\text{dense}\, W_\text{dense}, \\
        \mathrm{d}W_\text{dense} = \mathrm{d}X_\text{dense}^\top X^{(L)}_1 .
        \end{gathered}$$

    Only position 0 (``<s>``) is read, so the gradient of every other position is exactly 0:
    the other tokens are reached only through attention, one layer down.

    - ``grad_logits``: $\mathrm{d}z$ ``(batch, num_labels)``, e.g. from
      :func:`~roberta_math.math.loss.cross_entropy_grad`; ``hidden``: ``(batch, seq, d)``.
    - Returns $\mathrm{d}X^{(L)}$ ``(batch, seq, d)`` and the gradients of ``dense``
      and ``out_proj`` as :class:`Linear`.

    Source: ``RobertaClassificationHead`` in ``transformers``' ``modeling_roberta.py`` for the
    forward; $\tanh' = 1 - \tanh^2$.

    >>> d = 2
    >>> dense = Linear(torch.eye(d), torch.zeros(d))
    >>> out = Linear(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.zeros(3))
    >>> dh, d_dense, d_out = classification_head_backward(torch.tensor([[1.0, 0.0, 0.0]]), torch.zeros(1, 2, d), dense, out)
    >>> dh  # tanh'(0) = 1, so dz reaches <s> as dz W_out W_dense; position 1 gets nothing
    tensor([[[1., 0.],
             [0., 0.]]])
    """
    first = hidden[:, 0, :]  # (batch, d): the <s> token
    activation = torch.tanh(linear(first, dense))  # (batch, d) = u
    grad_activation, grad_out_proj = linear_backward(grad_logits, activation, out_proj)  # (batch, d)
    grad_pre = grad_activation * (1.0 - activation * activation)  # (batch, d) = du * tanh'(a)
    grad_first, grad_dense = linear_backward(grad_pre, first, dense)  # (batch, d)
    grad_hidden = torch.zeros_like(hidden)  # (batch, seq, d)
    grad_hidden[:, 0, :] = grad_first
    return grad_hidden, grad_dense, grad_out_proj

r"""The sentiment classification head, which reads only the first token ``<s>``.

$$z = W_\text{out} \tanh(W_\text{dense}\, h_{\langle s \rangle} + b_\text{dense}) + b_\text{out}$$
"""

from __future__ import annotations

import torch
from torch import Tensor

from roberta_math.math.linear import Linear, linear


def classification_head(hidden: Tensor, dense: Linear, out_proj: Linear) -> Tensor:
    r"""Logits from the final hidden state of ``<s>`` (position 0).

    $$z = \tanh\!\big(h_0 W_\text{dense}^\top + b_\text{dense}\big)\, W_\text{out}^\top + b_\text{out}$$

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

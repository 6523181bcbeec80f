r"""Leave-one-out occlusion: how much the logit $z_c$ drops when one token is hidden.

For token $t$ of an input $x$ with $n$ tokens,

$$\begin{gathered}
\chi^\text{mask}_t = z_c(x) - z_c\big(x_{1..t-1}\ \texttt{<mask>}\ x_{t+1..n}\big), \\
\chi^\text{remove}_t = z_c(x) - z_c\big(x_{1..t-1}\ x_{t+1..n}\big),
\end{gathered}$$

the first replacing the token by ``<mask>`` (every other position unchanged), the second
deleting it (the tokens after it move one position left). Positive: the token supports class
$c$. ``<s>`` and ``</s>`` are not occluded (their score is 0). Each sentence costs $n - 2$
extra forward passes per variant, run as one batch with the from-scratch forward pass.

Source: Zeiler and Fergus (2014) for occlusion; Li, Monroe and Jurafsky (2016),
"Understanding Neural Networks through Representation Erasure", for erasing words in NLP.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from roberta_math.interpret.gradients import (
    _targets,
    input_embeddings,
    logits_from_embeddings,
)
from roberta_math.model.weights import RobertaWeights

Variant = Literal["mask", "remove"]


def _logits(weights: RobertaWeights, ids: Tensor) -> Tensor:
    return logits_from_embeddings(weights, ids, input_embeddings(weights, ids))  # (batch, num_labels)


@torch.no_grad()
def occlusion(
    weights: RobertaWeights,
    input_ids: Tensor,
    target: int | None = None,
    *,
    variant: str = "mask",
    mask_id: int = 4,
    special_ids: tuple[int, ...] = (0, 2),
) -> Tensor:
    r"""$\chi^\text{mask}_t$ or $\chi^\text{remove}_t$ for every token of one sentence, ``(seq,)``.

    - ``input_ids``: ``(seq,)`` or ``(1, seq)``, one sentence without padding; ``target``: the
      class $c$ (``None``: the predicted class); ``variant``: ``"mask"`` or ``"remove"``;
      ``mask_id``: the ``<mask>`` id (4 in RoBERTa's vocabulary).
    - Raises ``ValueError`` for an unknown variant, a batch of more than one sentence, or padding.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w, ids = read_weights(tiny_model()), torch.tensor([0, 7, 9, 2])
    >>> phi = occlusion(w, ids, target=1, variant="remove")
    >>> drop_7 = _logits(w, ids[None])[0, 1] - _logits(w, torch.tensor([[0, 9, 2]]))[0, 1]
    >>> bool(torch.isclose(phi[1], drop_7)), phi[0].item(), phi[3].item()
    (True, 0.0, 0.0)
    """
    if variant not in ("mask", "remove"):
        raise ValueError(f"unknown occlusion variant {variant!r}: use 'mask' or 'remove'")
    ids = input_ids.reshape(-1) if input_ids.dim() == 1 or input_ids.shape[0] == 1 else None
    if ids is None:
        raise ValueError(f"occlusion takes one sentence, got a batch of {input_ids.shape[0]}: loop over the rows")
    if bool(ids.eq(weights.padding_idx).any()):
        raise ValueError("occlusion takes one sentence without padding: strip the <pad> tokens first")
    full = _logits(weights, ids[None])  # (1, num_labels)
    c = int(_targets(target, full)[0])
    positions = [t for t in range(ids.shape[0]) if int(ids[t]) not in special_ids]
    phi = torch.zeros(ids.shape[0], dtype=full.dtype)
    if not positions:
        return phi
    if variant == "mask":
        variants = ids.repeat(len(positions), 1)  # (k, seq)
        variants[torch.arange(len(positions)), torch.tensor(positions)] = mask_id
    else:
        variants = torch.stack([torch.cat([ids[:t], ids[t + 1:]]) for t in positions])  # (k, seq - 1)
    occluded = _logits(weights, variants)[:, c]  # (k,)
    phi[torch.tensor(positions)] = full[0, c] - occluded
    return phi

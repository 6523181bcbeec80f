r"""RoBERTa's dynamic masking for masked-language-model pre-training.

Each time a batch is drawn, a fresh random 15 % of its ordinary tokens become prediction
targets ("dynamic": a sentence is masked differently every epoch, unlike BERT's one fixed
masking). Of the chosen tokens, 80 % are replaced by ``<mask>``, 10 % by a random ordinary
token and 10 % are left as they are, so the model cannot learn that only ``<mask>``
positions matter.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE_INDEX = -100
"""Label of a position that is not a target (``torch.nn.functional.cross_entropy`` skips it)."""


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Sequence[int],
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Choose masked-LM targets and corrupt the input, RoBERTa's 80/10/10 rule.

    For every position :math:`i` whose token :math:`x_i` is not special (``<s>``, ``</s>``,
    ``<pad>``, ...), draw independently

    $$ m_i \sim \operatorname{Bernoulli}(p), \qquad
       \tilde x_i = \begin{cases}
         \texttt{<mask>} & \text{with probability } 0.8 \\
         u_i \sim \operatorname{Uniform}(\text{ordinary tokens}) & \text{with probability } 0.1 \\
         x_i & \text{with probability } 0.1
       \end{cases} \quad \text{if } m_i = 1, $$

    and :math:`\tilde x_i = x_i` otherwise. The label is :math:`y_i = x_i` where
    :math:`m_i = 1` and ``-100`` (ignored) elsewhere, so the loss is
    :math:`-\sum_{i: m_i = 1} \log P(x_i \mid \tilde x)`. A random replacement may
    by chance equal :math:`x_i` (probability :math:`1/|\text{ordinary}|`).

    Args:
        input_ids: token ids, shape ``(batch, seq)``; not modified.
        mask_token_id: id of ``<mask>``.
        vocab_size: :math:`V`; random replacements are drawn from ``0..V-1`` minus ``special_ids``.
        special_ids: ids never chosen as targets nor drawn as replacements.
        probability: :math:`p`, the share of ordinary tokens that become targets.
        generator: the random source (seed it for reproducible masks).

    Returns:
        ``(corrupted_ids, labels)``, both of shape ``(batch, seq)``.

    >>> g = torch.Generator().manual_seed(0)
    >>> ids = torch.tensor([[0, 10, 11, 12, 13, 2, 1]])   # <s> ... </s> <pad>
    >>> x, y = mask_tokens(ids, mask_token_id=4, vocab_size=20, special_ids=range(5),
    ...                    probability=0.5, generator=g)
    >>> x.shape == y.shape == ids.shape
    True
    >>> bool((y[:, [0, 5, 6]] == -100).all())    # special tokens are never targets
    True
    >>> bool(((y == -100) | (y == ids)).all())   # a label is the original token
    True
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    special = torch.as_tensor(list(special_ids), dtype=input_ids.dtype)
    every_id = torch.arange(vocab_size, dtype=input_ids.dtype)
    ordinary = every_id[~torch.isin(every_id, special)]  # (V - |special|,)
    candidate = ~torch.isin(input_ids, special)  # (batch, seq)
    chosen = (torch.rand(input_ids.shape, generator=generator) < probability) & candidate  # (batch, seq)
    # One uniform draw splits the chosen positions 80 / 10 / 10.
    branch = torch.rand(input_ids.shape, generator=generator)  # (batch, seq)
    to_mask = chosen & (branch < 0.8)
    to_random = chosen & (branch >= 0.8) & (branch < 0.9)
    replacement = ordinary[torch.randint(len(ordinary), input_ids.shape, generator=generator)]  # (batch, seq)
    corrupted = input_ids.clone()
    corrupted[to_mask] = mask_token_id
    corrupted[to_random] = replacement[to_random]
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    return corrupted, labels

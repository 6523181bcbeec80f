r"""RoBERTa's dynamic masking for masked-language-model pre-training.

Each time a batch is drawn, a fresh random 15 % of its ordinary tokens become prediction
targets ("dynamic": a sentence is masked differently every time it is drawn). BERT's
masking was static: drawn once when the data was prepared, with the training data
duplicated 10 times so that each sequence had 10 different masks over its 40 epochs
(Liu et al., 2019, section 4.1). Of the chosen tokens, 80 % are replaced by ``<mask>``, 10 % by a random ordinary
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

    Every position :math:`t` whose token :math:`x_t` is not special (``<s>``, ``</s>``,
    ``<pad>``, ...) joins the set :math:`\mathcal M` of targets independently, with
    probability ``probability`` (0.15), and a target is corrupted as

    $$ \begin{gathered} \tilde x_t = \\ \begin{cases}
         \texttt{<mask>} & \text{probability } 0.8 \\
         \text{an ordinary token} & \\
         \quad\text{drawn uniformly} & \text{probability } 0.1 \\
         x_t & \text{probability } 0.1
       \end{cases} \\ \text{for } t \in \mathcal M, \end{gathered} $$

    and :math:`\tilde x_t = x_t` for :math:`t \notin \mathcal M`. The label is
    :math:`x_t` for :math:`t \in \mathcal M` and ``-100`` (ignored) elsewhere, so the
    loss, the mean over the targets that ``torch.nn.functional.cross_entropy`` computes, is
    :math:`-\frac{1}{|\mathcal M|}\sum_{t \in \mathcal M} \log p_t[x_t]` with :math:`p_t`
    the model's distribution over the vocabulary at position :math:`t` given :math:`\tilde x`.
    A random replacement may by chance equal :math:`x_t` (probability
    :math:`1/|\text{ordinary}|`).

    Args:
        input_ids: token ids, shape ``(batch, seq)``; not modified.
        mask_token_id: id of ``<mask>``.
        vocab_size: :math:`N_\text{vocab}`; random replacements are drawn from
            ``0 .. vocab_size - 1`` minus ``special_ids``.
        special_ids: ids never chosen as targets nor drawn as replacements.
        probability: the share of ordinary tokens that become targets.
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

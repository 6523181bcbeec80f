r"""Score many texts at once: the class probabilities of a sentiment model, batched.

For each text the model gives logits :math:`z \in \mathbb{R}^C`; the scorer
returns

$$ \begin{gathered} p_c = \operatorname{softmax}(z / \tau)_c = \frac{e^{z_c / \tau}}{\sum_{c'} e^{z_{c'} / \tau}}, \\ c \in (\text{negative}, \text{neutral}, \text{positive}) \end{gathered} $$

where :math:`\tau` is the model's softmax temperature (fitted on the validation split and
shipped in ``calibration.json``; 1 for a model without one), with the columns put in :data:`~roberta_math.labels.LABELS` order whatever order the
checkpoint uses. Three things make it fast without changing a single probability beyond
float rounding:

* texts are tokenised together (the Rust tokenizer works on the whole list);
* they are sorted by length and cut into batches, so a batch pads to a similar length
  instead of to the longest text of the file (padded positions are masked out of
  attention, so they change nothing);
* the forward passes run under ``torch.inference_mode`` (no autograd bookkeeping).

The rows come back in the order of the input. Before tokenising, each text goes
through the model's preprocessing (``loaded.preprocess``, e.g. ``@user``/``http`` masks
for the cardiffnlp Twitter models; see :mod:`roberta_math.model.preprocessing`), so
every caller (predict, evaluate, compare, the figures) scores what the model was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from roberta_math.errors import UserError
from roberta_math.model.loading import LoadedModel, quiet_transformers
from roberta_math.model.preprocessing import apply_preprocessing
from roberta_math.model.truncation import TruncationWarning, warn_truncated

__all__ = ["TruncationWarning", "length_sorted_batches", "pad_batch", "score_texts", "token_ids"]


def token_ids(texts: Sequence[str], tokenizer, max_tokens: int) -> tuple[list[list[int]], int]:
    """Token ids of each text, special tokens included, cut to at most ``max_tokens``.

    Returns the id lists and how many texts had to be cut. Texts are tokenised once in
    full (to learn their length); only the long ones are tokenised again with truncation,
    so the special tokens that end a sequence survive the cut.

    >>> class Chars:  # a stand-in tokenizer: one id per character, plus <s> = 0 and </s> = 2
    ...     def __call__(self, texts, truncation=False, max_length=None, **kw):
    ...         ids = [[0] + [ord(c) for c in t] + [2] for t in texts]
    ...         return {"input_ids": [i[: max_length - 1] + [2] if truncation and len(i) > max_length else i for i in ids]}
    >>> token_ids(["ab", "abcdef"], Chars(), 5)
    ([[0, 97, 98, 2], [0, 97, 98, 99, 2]], 1)
    """
    ids: list[list[int]] = list(tokenizer(list(texts), truncation=False, add_special_tokens=True)["input_ids"])
    long = [i for i, row in enumerate(ids) if len(row) > max_tokens]
    if long:
        cut = tokenizer([texts[i] for i in long], truncation=True, max_length=max_tokens, add_special_tokens=True)["input_ids"]
        for i, row in zip(long, cut, strict=True):
            ids[i] = list(row)
    return ids, len(long)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Indices of the texts, longest first, cut into batches of ``batch_size``.

    Each batch is padded only to its own longest text. The sort is stable, so equal
    lengths keep their input order and the batches are the same on every run.

    >>> [b.tolist() for b in length_sorted_batches([3, 9, 1, 9, 4], 2)]
    [[1, 3], [4, 0], [2]]
    """
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")  # (n,)
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists into ``input_ids`` and ``attention_mask``, both ``(batch, seq)``.

    >>> ids, mask = pad_batch([[0, 5, 2], [0, 2]], pad_id=1)
    >>> ids.tolist(), mask.tolist()
    ([[0, 5, 2], [0, 2, 1]], [[1, 1, 1], [1, 1, 0]])
    """
    width = max(len(r) for r in rows)
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)  # (batch, seq)
    attention_mask = np.zeros((len(rows), width), dtype=np.int64)  # (batch, seq)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        attention_mask[i, : len(row)] = 1
    return input_ids, attention_mask


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise UserError("score_texts takes a list of texts, not one string: wrap it as [text]")
    checked = list(texts)
    for i, text in enumerate(checked):
        if not isinstance(text, str):
            raise UserError(f"text {i} is a {type(text).__name__}, not a string: pass strings only")
        if not text.strip():
            raise UserError(f"text {i} is empty or whitespace only: remove it or give it some words")
    return checked


def score_texts(
    texts: Sequence[str],
    loaded: LoadedModel,
    *,
    batch_size: int = 64,
    progress: bool = False,
    max_length: int | None = None,
) -> np.ndarray:
    r"""Class probabilities of each text, shape ``(n, 3)``, columns in ``LABELS`` order.

    $$ \begin{gathered} p_i = \operatorname{softmax}(z_i / \tau)[\,\text{label\_columns}\,], \\ z_i \in \mathbb{R}^{C} \end{gathered} $$

    where :math:`z_i` are the model's logits for text :math:`i`, :math:`\tau` =
    ``loaded.temperature`` the softmax temperature fitted on the validation split
    (``calibration.json`` beside the weights; 1 for a model without one), and
    ``label_columns`` = ``loaded.label_columns`` puts the classes in ``LABELS`` order.
    Texts longer than ``max_length`` tokens (default: ``loaded.max_tokens``, the most the
    position embeddings allow, e.g. 512 for roberta-base) keep their first tokens and the
    closing special token; a :class:`TruncationWarning` says how many were cut (the
    policy of :mod:`roberta_math.model.truncation`). Each text first goes through
    ``loaded.preprocess`` (``"none"`` for the embedded model).
    ``progress=True`` shows a progress bar on stderr.

    >>> import numpy as np
    >>> score_texts([], None).shape
    (0, 3)
    """
    checked = _check_texts(texts)
    if not checked:
        return np.zeros((0, 3), dtype=np.float64)
    if loaded.task != "sentiment" or not loaded.labels:
        raise UserError(f"model {loaded.provenance.name} was loaded as a bare encoder and has no classes: load it with task='sentiment'")
    limit = loaded.max_tokens if max_length is None else int(max_length)
    if not 2 <= limit <= loaded.max_tokens:
        raise UserError(f"max_length must be between 2 and {loaded.max_tokens} for this model, got {max_length}")

    import torch
    from tqdm.auto import tqdm

    prepared = apply_preprocessing(checked, getattr(loaded, "preprocess", "none"))
    with quiet_transformers():
        ids, n_cut = token_ids(prepared, loaded.tokenizer, limit)
    warn_truncated(n_cut, len(checked), limit, stacklevel=3)

    config = loaded.model.config
    # RoBERTa derives position ids from input_ids != pad, so pad with the model's own pad id.
    pad_id = config.pad_token_id if config.pad_token_id is not None else (loaded.tokenizer.pad_token_id or 0)
    columns = list(loaded.label_columns)
    temperature = float(getattr(loaded, "temperature", 1.0))
    probabilities = np.empty((len(checked), len(columns)), dtype=np.float64)  # (n, 3)
    batches = length_sorted_batches([len(row) for row in ids], batch_size)
    with torch.inference_mode(), tqdm(total=len(checked), unit="text", desc="scoring", disable=not progress, leave=False) as bar:
        for batch in batches:
            input_ids, attention_mask = pad_batch([ids[i] for i in batch], pad_id)  # (batch, seq) each
            logits = loaded.model(
                input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask)
            ).logits  # (batch, K)
            # Softmax in float64 so that picking 3 of K columns loses nothing to rounding.
            p = torch.softmax(logits.double() / temperature, dim=-1)[:, columns]  # (batch, 3)
            probabilities[batch] = p.numpy()
            bar.update(len(batch))
    return probabilities

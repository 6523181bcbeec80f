r"""What happens to a text longer than the model's position table: one policy for every entry point.

RoBERTa adds a learned position embedding to each token, and the table has
$P$ = ``max_position_embeddings`` rows; positions start at ``padding_idx + 1`` = 2, so
at most $T_{\max} = P - 2$ tokens fit, special tokens included (512 for roberta-base,
128 for the embedded model; see :func:`~roberta_math.model.loading.max_tokens_for`).

The policy, by what an entry point receives:

* **Texts** (:func:`~roberta_math.evaluation.scoring.score_texts` and so ``predict``,
  ``evaluate``, ``compare`` and the figures;
  :func:`~roberta_math.model.attention_weights.get_attention_weights`; the explorer's data):
  the text is cut to its first $T_{\max} - 1$ tokens plus the closing ``</s>``, and a
  :class:`TruncationWarning` says how many texts were cut and to what length.
* **Token ids** (:func:`~roberta_math.model.forward.classify_from_scratch`,
  :func:`~roberta_math.math.embeddings.roberta_embeddings`): the caller chose the ids, so
  cutting them would hide a mistake; a sequence longer than the table is a ``ValueError``
  naming both lengths.
"""

from __future__ import annotations

import warnings


class TruncationWarning(UserWarning):
    """Some texts were longer than the model can read and were cut to their first ``limit`` tokens.

    ``cut`` texts of ``total`` were cut; the numbers are attributes so a caller that scores
    in chunks can add them up.

    >>> w = TruncationWarning.of(2, 5, 128)
    >>> str(w), w.cut
    ('2 of 5 texts were longer than 128 tokens and were truncated to their first 128 tokens', 2)
    """

    cut: int = 0
    total: int = 0
    limit: int = 0

    @classmethod
    def of(cls, cut: int, total: int, limit: int) -> TruncationWarning:
        """The warning for ``cut`` of ``total`` texts cut to ``limit`` tokens."""
        warning = cls(f"{cut} of {total} texts were longer than {limit} tokens and were truncated to their first {limit} tokens")
        warning.cut, warning.total, warning.limit = cut, total, limit
        return warning


def warn_truncated(cut: int, total: int, limit: int, stacklevel: int = 3) -> None:
    """Issue the :class:`TruncationWarning` for ``cut`` of ``total`` texts (nothing when ``cut`` is 0)."""
    if cut:
        warnings.warn(TruncationWarning.of(cut, total, limit), stacklevel=stacklevel)


def check_sequence_length(length: int, limit: int) -> None:
    """Raise ``ValueError`` naming both lengths when ``length`` token ids exceed the ``limit`` the positions allow.

    >>> check_sequence_length(128, 128)
    >>> check_sequence_length(300, 128)
    Traceback (most recent call last):
    ...
    ValueError: the input has 300 tokens but the model's position embeddings allow at most 128: cut the ids to 128 (or score the text with score_texts, which truncates with a warning)
    """
    if length > limit:
        raise ValueError(
            f"the input has {length} tokens but the model's position embeddings allow at most {limit}: "
            f"cut the ids to {limit} (or score the text with score_texts, which truncates with a warning)"
        )


def encode_truncated(tokenizer, text: str, limit: int, stacklevel: int = 3) -> dict:
    """``tokenizer(text, return_tensors="pt")``, cut to ``limit`` tokens with a :class:`TruncationWarning` if longer.

    The text is tokenised in full first (to learn its length, with the tokenizer's own
    notice about long inputs silenced), then again with truncation only when it is too long,
    so the closing special token survives the cut.
    """
    from roberta_math.model.loading import quiet_transformers

    with quiet_transformers():
        encoded = tokenizer(text, return_tensors="pt")
        if encoded["input_ids"].shape[-1] > limit:
            encoded = tokenizer(text, return_tensors="pt", truncation=True, max_length=limit)
            warn_truncated(1, 1, limit, stacklevel=stacklevel + 1)
    return encoded

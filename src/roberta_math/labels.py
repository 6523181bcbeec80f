"""The three sentiment classes, in the order every part of the project uses."""

from __future__ import annotations

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
"""Class index ``i`` means ``LABELS[i]``: 0 negative, 1 neutral, 2 positive."""

LABEL_SPELLINGS = "negative/neutral/positive or 0/1/2"
"""How a label may be written, in data files and in ``explain --label``, for error messages."""


def parse_label(value: object) -> int | None:
    """Class index of a label given as a name (any case, spaces around ignored) or as 0/1/2; ``None`` if it is neither.

    The one reading of a label: data files (``evaluate --data``) and ``explain --label`` use it.

    >>> parse_label("Positive"), parse_label("0"), parse_label(2), parse_label("great")
    (2, 0, 2, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < len(LABELS) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in LABELS:
            return LABELS.index(text)
        if text in {"0", "1", "2"}:
            return int(text)
    return None

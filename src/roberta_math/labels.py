"""The three sentiment classes, in the order every part of the project uses."""

from __future__ import annotations

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
"""Class index ``i`` means ``LABELS[i]``: 0 negative, 1 neutral, 2 positive."""

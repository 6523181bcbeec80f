"""Byte-level BPE written out by hand, to check against the real tokenizer on the tokenization page."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator


def bytes_to_unicode() -> dict[int, str]:
    """Give each of the 256 byte values a printable character.

    Bytes that already print as themselves (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``) keep
    their character; the rest (control bytes, the space, ...) are moved, in byte order, to
    the characters from U+0100 on, so the space (byte 32) becomes ``Ġ`` (U+0120).
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + shifted)
            shifted += 1
    return dict(sorted(mapping.items()))


def to_byte_symbols(text: str) -> str:
    """The text's UTF-8 bytes, one printable character per byte."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in text.encode("utf-8"))


def bpe_steps(word: str, ranks: dict[tuple[str, str], int]) -> Iterator[list[str]]:
    """Yield the symbols of ``word`` before each merge and after the last one.

    Each step joins the adjacent pair with the lowest rank (the earliest-learnt merge),
    everywhere it occurs; it stops when no adjacent pair has a rank.
    """
    symbols = list(word)
    yield symbols
    while len(symbols) > 1:
        pairs = list(zip(symbols, symbols[1:]))
        best = min(pairs, key=lambda pair: ranks.get(pair, math.inf))
        if best not in ranks:
            return
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
        yield symbols


def bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """The tokens of one pre-tokenized word: the last step of :func:`bpe_steps`."""
    *_, last = bpe_steps(word, ranks)
    return last


def merge_ranks(tokenizer) -> dict[tuple[str, str], int]:
    """Rank of every merge of a ``transformers`` byte-level BPE tokenizer (0 = learnt first)."""
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    # tokenizer.json stores a merge as "a b" (older files) or ["a", "b"] (newer ones).
    pairs = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]
    return {pair: rank for rank, pair in enumerate(pairs)}


def tokenize_by_hand(text: str, tokenizer) -> list[str]:
    """Pre-tokenize with the tokenizer's own rule (words, each with its leading space), then BPE each piece."""
    ranks = merge_ranks(tokenizer)
    pieces = tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)
    return [token for piece, _ in pieces for token in bpe(piece, ranks)]

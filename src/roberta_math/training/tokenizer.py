r"""A byte-level BPE tokenizer with RoBERTa's special tokens, trained on our training split.

RoBERTa reads text as bytes: every UTF-8 byte is one of 256 base symbols, so no input is
ever out of vocabulary; byte-pair encoding (BPE) then learns merges, greedily joining the
most frequent adjacent pair into a new symbol until the vocabulary reaches its size
:math:`V`. A space is part of the token that follows it (shown as ``Ġ``), so ``"good"``
and ``" good"`` are different tokens, as in ``roberta-base``.

The five special tokens take RoBERTa's ids, so the model's ``pad_token_id = 1`` and the
classifier's use of position 0 (``<s>``) match the original:

====  =========  ==============================================
id    token      role
====  =========  ==============================================
0     ``<s>``    start of every sequence; the classifier reads it
1     ``<pad>``  padding (ignored by attention and positions)
2     ``</s>``   end of sequence
3     ``<unk>``  unknown (never produced by byte-level BPE)
4     ``<mask>`` the masked-language-model target slot
====  =========  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing transformers is slow; only the functions below need it
    from transformers import PreTrainedTokenizerBase

SPECIAL_TOKENS: tuple[str, ...] = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
"""RoBERTa's special tokens, in id order 0..4."""

MAX_TOKENS = 128
"""Longest input, ``<s>`` and ``</s>`` included; positions then need 128 + 2 embeddings."""


def train_bpe(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2) -> "PreTrainedTokenizerBase":
    r"""Learn byte-level BPE merges from ``texts`` and wrap them as a RoBERTa tokenizer.

    The vocabulary is the 5 special tokens, the 256 byte symbols, then one symbol per
    merge (merges seen fewer than ``min_frequency`` times are not learnt), at most
    ``vocab_size`` in all. Training is deterministic for the same texts.

    >>> tok = train_bpe(["a good day", "a bad day", "good good"] * 20, vocab_size=280)
    >>> tok.convert_ids_to_tokens(range(5))
    ['<s>', '<pad>', '</s>', '<unk>', '<mask>']
    >>> ids = tok("a good day")["input_ids"]
    >>> ids[0], ids[-1], tok.decode(ids, skip_special_tokens=True)
    (0, 2, 'a good day')
    >>> tok.convert_ids_to_tokens(tok("a <mask> day")["input_ids"])
    ['<s>', 'a', '<mask>', 'Ġday', '</s>']
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import RobertaTokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        # All 256 byte symbols, so any text encodes without <unk>.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts), trainer=trainer)
    # Rebuild as transformers' RobertaTokenizer from vocab + merges: it adds RoBERTa's
    # post-processor (<s> ... </s>), the <mask> that swallows the space before it, and
    # saves a tokenizer_config.json that AutoTokenizer understands.
    vocab = bpe.get_vocab()
    merges = _merges_of(bpe)
    tokenizer = RobertaTokenizer(
        vocab=vocab,
        merges=merges,
        model_max_length=MAX_TOKENS,
        # As in roberta-base: "<mask>" absorbs the space before it ("a <mask>" -> "a", "<mask>").
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
    )
    assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == list(range(len(SPECIAL_TOKENS)))
    return tokenizer


def _merges_of(bpe: object) -> list[tuple[str, str]]:
    """The learnt merges in rank order (the tokenizers API exposes them via JSON)."""
    import json

    data = json.loads(bpe.to_str())  # type: ignore[attr-defined]
    merges = data["model"]["merges"]
    # Older tokenizers store "a b" strings, newer ones ["a", "b"] pairs.
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in merges]


def save_tokenizer(tokenizer: "PreTrainedTokenizerBase", out_dir: Path) -> list[Path]:
    """Save so that ``AutoTokenizer.from_pretrained(out_dir)`` rebuilds the same tokenizer.

    Writes ``tokenizer.json`` and ``tokenizer_config.json`` (what transformers reads)
    plus ``vocab.json`` and ``merges.txt`` (the plain BPE tables, for readers and for
    code that re-implements BPE). Returns the files written.

    >>> import tempfile
    >>> from transformers import AutoTokenizer
    >>> tok = train_bpe(["a good day", "a bad day"] * 20, vocab_size=270)
    >>> d = Path(tempfile.mkdtemp())
    >>> sorted(p.name for p in save_tokenizer(tok, d))
    ['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']
    >>> again = AutoTokenizer.from_pretrained(d)
    >>> again("a bad day")["input_ids"] == tok("a bad day")["input_ids"], again.pad_token_id
    (True, 1)
    """
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [Path(p) for p in tokenizer.save_pretrained(str(out_dir))]
    vocab = tokenizer.get_vocab()
    ordered = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    (out_dir / "vocab.json").write_text(json.dumps(ordered, ensure_ascii=False), encoding="utf-8")
    merges = _merges_of(tokenizer.backend_tokenizer)
    (out_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )
    written += [out_dir / "vocab.json", out_dir / "merges.txt"]
    return sorted({p for p in written if p.exists()})

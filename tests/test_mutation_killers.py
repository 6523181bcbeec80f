"""Tests written to kill the mutants that survived the suite (see tests/mutation/REPORT.md).

Each test names what it checks and against which reference: the ``tokenizers`` library's
own byte-level pre-tokenizer and BPE model for the hand-written tokenization, and
``transformers`` (or a hand computation) for the math. All run in seconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from roberta_math.tokenization.byte_level_bpe import (
    bpe,
    bpe_steps,
    bytes_to_unicode,
    merge_ranks,
    to_byte_symbols,
    tokenize_by_hand,
)

EMBEDDED = Path(__file__).resolve().parents[1] / "src" / "roberta_math" / "model" / "embedded"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(EMBEDDED))


# ----------------------------------------------------------------------------- tokenization


def test_bytes_to_unicode_is_gpt2s_table() -> None:
    table = bytes_to_unicode()
    assert list(table) == list(range(256))  # every byte, in byte order
    assert sorted(table.values()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    # the 188 printable bytes keep their character; the 68 others move, in byte order, to U+0100 on:
    # bytes 0..32 -> U+0100..U+0120, 127..160 -> U+0121..U+0142, 173 -> U+0143
    kept = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    assert all(table[b] == chr(b) for b in kept) and len(kept) == 188
    moved = [*range(0, 33), *range(127, 161), 173]
    assert [table[b] for b in moved] == [chr(0x100 + i) for i in range(68)]
    assert (table[ord(" ")], table[ord("\n")], table[0]) == ("Ġ", "Ċ", "Ā")


def test_to_byte_symbols_matches_the_byte_level_pre_tokenizer() -> None:
    """Every byte that UTF-8 can produce, through ``tokenizers``' ByteLevel pre-tokenizer (no splitting)."""
    reference = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    texts = ["".join(chr(c) for c in range(0, 0x800)), " café\n", "€ 😀 \u0378\u200b", "tab\there"]
    for text in texts:
        (expected, _), = reference.pre_tokenize_str(text)
        assert to_byte_symbols(text) == expected


def _reference_bpe(ranks: dict[tuple[str, str], int], word: str) -> list[str]:
    """``tokenizers``' own BPE model with the same merges (no pre-tokenizer): the reference."""
    merges = sorted(ranks, key=ranks.get)
    vocab = {symbol: i for i, symbol in enumerate(sorted({*word, *(a + b for a, b in merges), *(s for m in merges for s in m)}))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    return tok.encode(word).tokens


@pytest.mark.parametrize(
    ("word", "ranks", "steps"),
    [
        # the tokenization page's example: the lowest rank wins, not the leftmost pair
        ("Ġlower", {("l", "o"): 0, ("lo", "w"): 1, ("e", "r"): 2, ("Ġ", "low"): 3, ("w", "e"): 4},
         [["Ġ", "l", "o", "w", "e", "r"], ["Ġ", "lo", "w", "e", "r"], ["Ġ", "low", "e", "r"],
          ["Ġ", "low", "er"], ["Ġlow", "er"]]),
        # every occurrence of the pair is merged in one step, left to right, without overlap
        ("aaaa", {("a", "a"): 0, ("aa", "aa"): 1}, [["a", "a", "a", "a"], ["aa", "aa"], ["aaaa"]]),
        ("aaa", {("a", "a"): 0}, [["a", "a", "a"], ["aa", "a"]]),
        ("abab", {("b", "a"): 0, ("a", "b"): 1}, [["a", "b", "a", "b"], ["a", "ba", "b"]]),
        # a later pair in the word with a lower rank goes first
        ("xyz", {("y", "z"): 0, ("x", "y"): 1, ("x", "yz"): 2}, [["x", "y", "z"], ["x", "yz"], ["xyz"]]),
        # no rank: the symbols stay; one symbol: nothing to merge
        ("ab", {}, [["a", "b"]]),
        ("a", {("a", "a"): 0}, [["a"]]),
    ],
)
def test_bpe_steps_by_hand_and_against_tokenizers(word: str, ranks: dict, steps: list[list[str]]) -> None:
    assert list(bpe_steps(word, ranks)) == steps
    assert bpe(word, ranks) == steps[-1]
    if ranks:
        assert bpe(word, ranks) == _reference_bpe(ranks, word)


@pytest.mark.parametrize(
    ("word", "ranks", "final"),
    [
        ("ab", {("a", "b"): 0}, ["ab"]),  # the only pair is the last one
        ("abc", {("b", "c"): 0}, ["a", "bc"]),
        ("abc", {("c", "a"): 0}, ["a", "b", "c"]),  # a pair of the first and last symbols is not adjacent
    ],
)
def test_bpe_steps_stop_after_at_most_len_word_minus_one_merges(word: str, ranks: dict, final: list[str]) -> None:
    """Each merge shortens the word by at least one symbol, so at most len(word) lists come out.

    Read through ``islice``: a version that fails to merge (the last pair skipped, a pair read
    across the word's ends) would repeat the same step forever; here it fails at once.
    """
    from itertools import islice

    steps = list(islice(bpe_steps(word, ranks), len(word) + 1))
    assert len(steps) <= len(word)
    assert steps[-1] == final == _reference_bpe(ranks, word)


@pytest.mark.parametrize(
    ("word", "ranks", "final"),
    [
        ("ab", {("a", "b"): 0}, ["ab"]),
        ("abc", {("b", "c"): 0}, ["a", "bc"]),
        ("abcd", {("c", "d"): 0}, ["a", "b", "cd"]),  # two symbols kept before the merge
        ("abab", {("a", "b"): 0}, ["ab", "ab"]),  # two merges in one step
    ],
)
def test_bpe_steps_on_a_short_word_end_within_a_second(word: str, ranks: dict, final: list[str]) -> None:
    """One merge step walks the word once: a version whose index steps back (or stops advancing)
    never leaves that walk, which ``islice`` cannot interrupt; a wall-clock alarm of 1 s does (a
    correct call takes microseconds).
    """
    import signal
    from itertools import islice

    def too_slow(signum, frame):
        raise TimeoutError(f"bpe_steps({word!r}) still running after 1 s: its index does not advance")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        steps = list(islice(bpe_steps(word, ranks), len(word) + 1))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert steps[-1] == final == _reference_bpe(ranks, word)


def test_merge_ranks_reads_both_merge_formats(tokenizer) -> None:
    ranks = merge_ranks(tokenizer)
    lines = (EMBEDDED / "merges.txt").read_text(encoding="utf-8").splitlines()[1:]  # skip "#version"
    expected = {tuple(line.split(" ")): i for i, line in enumerate(lines) if line}
    assert ranks == expected
    # older tokenizer.json files store a merge as one string "a b"
    as_strings = {"model": {"merges": [" ".join(pair) for pair in sorted(expected, key=expected.get)[:50]]}}
    old_style = SimpleNamespace(backend_tokenizer=SimpleNamespace(to_str=lambda: json.dumps(as_strings)))
    assert merge_ranks(old_style) == {pair: r for pair, r in expected.items() if r < 50}


@pytest.mark.parametrize(
    "text",
    [
        "The acting was brilliant, but the plot made no sense.",
        "naïve ☺ reviews",
        "  two  spaces\nand a newline\t and a tab",
        "I don't think it's 100% bad... 3.5/10 :(",
        "émojis 😀😀 and CAPS LOCK!!!",
        "a",
    ],
)
def test_tokenize_by_hand_matches_the_tokenizer(tokenizer, text: str) -> None:
    assert tokenize_by_hand(text, tokenizer) == tokenizer.tokenize(text)


# ----------------------------------------------------------------------------- attention masks


def test_mask_shape_error_names_the_padding_shape_for_four_dimensional_scores() -> None:
    """(batch, heads, seq_q, seq_k) scores: the error asks for mask[:, None, None, :], shape (batch, 1, 1, seq_k)."""
    from roberta_math.math import self_attention

    q = k = v = torch.randn(2, 3, 4, 5)  # batch 2, heads 3, seq 4
    with pytest.raises(ValueError) as info:
        self_attention(q, k, v, torch.ones(2, 4))
    assert str(info.value) == (
        "mask of shape (2, 4) does not fit attention scores of shape (2, 3, 4, 4) (..., seq_q, seq_k): "
        "pass (seq_k,) = (4,), or a mask with 4 dimensions, each 1 or the scores' size; "
        "for a (batch, seq_k) padding mask pass mask[:, None, None, :], shape (2, 1, 1, 4)"
    )


def test_mask_shape_error_for_unbatched_scores_has_no_padding_hint() -> None:
    from roberta_math.math import self_attention

    q = k = v = torch.randn(3, 4)  # (seq, d): no batch
    with pytest.raises(ValueError) as info:
        self_attention(q, k, v, torch.ones(2))
    assert str(info.value) == (
        "mask of shape (2,) does not fit attention scores of shape (3, 3) (..., seq_q, seq_k): "
        "pass (seq_k,) = (3,), or a mask with 2 dimensions, each 1 or the scores' size"
    )
    _, w = self_attention(q, k, v, torch.tensor([1, 0, 1]))  # the right length is accepted
    assert torch.all(w[:, 1] == 0)


# ----------------------------------------------------------------------------- embeddings


@pytest.mark.parametrize("padding_idx", [1, 0])
def test_position_table_boundary(padding_idx: int) -> None:
    """A table of 8 positions holds 8 - padding_idx - 1 tokens: the longest input fits, one more is refused."""
    import torch.nn.functional as F

    from roberta_math.math import EmbeddingWeights, roberta_embeddings

    gen = torch.Generator().manual_seed(0)
    w = EmbeddingWeights(*(torch.randn(n, 4, generator=gen) for n in (10, 8, 1)), torch.ones(4), torch.zeros(4))
    most = 8 - padding_idx - 1
    ids = torch.full((1, most), 5)
    out = roberta_embeddings(ids, w, padding_idx=padding_idx)
    positions = torch.arange(padding_idx + 1, padding_idx + 1 + most)  # by hand; the last is row 7
    assert positions[-1] == 7
    expected = F.layer_norm(w.word[ids[0]] + w.position[positions] + w.token_type[0], (4,), eps=1e-5)
    torch.testing.assert_close(out[0], expected)
    with pytest.raises(ValueError) as info:
        roberta_embeddings(torch.full((1, most + 1), 5), w, padding_idx=padding_idx)
    assert str(info.value) == f"the input has {most + 1} tokens but the position table allows at most {most}"


# ----------------------------------------------------------------------------- LayerNorm and heads


def test_layer_norm_rescales_each_vector_on_its_own() -> None:
    """A huge vector in the batch must not change its neighbour's eps (the rescaling is per vector)."""
    import torch.nn.functional as F

    from roberta_math.math import layer_norm

    ordinary = torch.tensor([1.0, 1.0 + 1e-3, 1.0 - 1e-3, 1.0])  # variance 5e-7: eps = 1e-5 dominates
    huge = torch.tensor([1e20, 2e20, 3e20, 4e20])
    out = layer_norm(torch.stack([ordinary, huge]), torch.ones(4), torch.zeros(4))
    expected = F.layer_norm(ordinary.double(), (4,), eps=1e-5).float()
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=0)


def test_layer_norm_near_the_float32_overflow_threshold() -> None:
    """Entries of 0.4 * sqrt(float32 max): their squares summed over 16 overflow unless the vector is rescaled."""
    from roberta_math.math import layer_norm

    s = 0.4 * torch.finfo(torch.float32).max ** 0.5
    x = torch.tensor([s, -s] * 8)  # (16,): mean 0, every entry s away from it
    out = layer_norm(x, torch.ones(16), torch.zeros(16))
    torch.testing.assert_close(out, torch.tensor([1.0, -1.0] * 8))  # by hand: (x - 0) / s


def _vectors_up_to_the_rescaling_threshold(d: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` float32 rows with max|x| in (base/3, base/2] and ``n`` with max|x| exactly the float32 threshold.

    base = sqrt(float32 max / d); ``layer_norm`` rescales a vector when max|x| > base / 2, a Python float
    that torch rounds to float32 when it compares it with a float32 tensor.
    """
    base = math.sqrt(torch.finfo(torch.float32).max / d)
    threshold = torch.tensor(base / 2, dtype=torch.float32)  # () float32, the value the comparison uses
    g = torch.Generator().manual_seed(seed)
    sizes = torch.empty(n, 1, dtype=torch.float64).uniform_(base / 3, base / 2, generator=g)  # (n, 1)
    x = torch.randn(n, d, dtype=torch.float64, generator=g)
    below = (x / x.abs().amax(-1, keepdim=True) * sizes).float().clamp(-threshold, threshold)  # (n, d)
    at = (torch.rand(n, d, generator=g) * 2 - 1) * threshold  # (n, d), every |entry| <= threshold
    at[:, 0] = torch.where(torch.arange(n) % 2 == 0, threshold, -threshold)  # max|x| = threshold exactly
    return below, at


@pytest.mark.parametrize("d", [16, 768])
def test_layer_norm_below_the_rescaling_threshold_is_the_plain_formula_bit_for_bit(d: int) -> None:
    """The docstring's promise: vectors not rescaled take the plain formula, bit for bit.

    The plain formula is the docstring's equation with torch ops in its order, gamma * (x - mu) /
    sqrt(var + eps) + beta, biased variance (``torch.nn.functional.layer_norm`` is not bit-identical to
    it: its kernel multiplies by 1/sqrt). Dividing by c = max|x| first rounds, so a vector rescaled at
    or below the threshold (``>=`` for ``>``, or a lower threshold) changes the bits.
    """
    from roberta_math.math import layer_norm

    below, at = _vectors_up_to_the_rescaling_threshold(d, 100, seed=d)
    g = torch.Generator().manual_seed(d + 1)
    gamma, beta, eps = torch.randn(d, generator=g), torch.randn(d, generator=g), 1e-5
    for name, x in (("max|x| in (base/3, base/2]", below), ("max|x| = float32(base/2)", at)):
        mean = x.mean(dim=-1, keepdim=True)  # (n, 1)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # (n, 1), biased
        plain = gamma * (x - mean) / torch.sqrt(var + eps) + beta  # (n, d)
        assert torch.isfinite(plain).all()  # no square overflowed: the plain formula is valid here
        out = layer_norm(x, gamma, beta, eps)
        differ = int((out != plain).any(dim=-1).sum())
        assert differ == 0, f"{name}: {differ} of {len(x)} rows differ from the plain formula, by up to " \
                            f"{(out - plain).abs().max().item():.3g}"


@pytest.mark.parametrize("d", [16, 768])
def test_layer_norm_of_a_rescaled_vector_with_a_large_eps_matches_float64(d: int) -> None:
    """eps may be any finite number > 0: on a rescaled vector it must become eps / c^2, not vanish.

    With max|x| = 1e19 (above the threshold, about 2.3e18 at d = 16) and eps = 1e37, comparable to the
    variance; the reference is ``torch.nn.functional.layer_norm`` in float64, where nothing overflows.
    """
    import torch.nn.functional as F

    from roberta_math.math import layer_norm

    g = torch.Generator().manual_seed(d)
    x = torch.randn(4, d, generator=g)
    x = x / x.abs().amax(-1, keepdim=True) * 1e19  # (4, d), max|x| = 1e19
    gamma, beta, eps = torch.randn(d, generator=g), torch.randn(d, generator=g), 1e37
    expected = F.layer_norm(x.double(), (d,), gamma.double(), beta.double(), eps).float()
    torch.testing.assert_close(layer_norm(x, gamma, beta, eps), expected, atol=1e-5, rtol=1e-5)


def test_split_heads_accepts_one_head() -> None:
    from roberta_math.math import merge_heads, split_heads

    x = torch.arange(12.0).view(1, 3, 4)
    one = split_heads(x, 1)
    assert one.shape == (1, 1, 3, 4) and torch.equal(one[0, 0], x[0])
    assert torch.equal(merge_heads(one), x)
    with pytest.raises(ValueError):
        split_heads(x, 0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_along_any_dim(dim: int) -> None:
    from roberta_math.math import log_softmax

    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1)) * 4
    torch.testing.assert_close(log_softmax(x, dim=dim), torch.log_softmax(x, dim=dim))


# ----------------------------------------------------------------------------- softmax and its companions


def test_logsumexp_shifts_each_row_by_its_own_maximum() -> None:
    """Rows of very different size: shifting by the whole tensor's maximum underflows the small row to -inf."""
    from roberta_math.math import logsumexp

    x = torch.tensor([[0.0, 0.0], [-1000.0, -1000.0], [500.0, 499.0]])
    expected = torch.logsumexp(x.double(), dim=-1).float()  # 0 + log 2, -1000 + log 2, 500 + log(1 + 1/e)
    torch.testing.assert_close(logsumexp(x, dim=-1), expected)
    torch.testing.assert_close(logsumexp(x.T, dim=0), expected)


# ----------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [1.0, 1.5, -0.1])
def test_dropout_mask_refuses_a_probability_outside_0_1(p: float) -> None:
    """p = 1 would drop everything and divide by 1 - p = 0: refused, like p > 1 and p < 0."""
    from roberta_math.math.dropout import dropout_mask

    with pytest.raises(ValueError) as info:
        dropout_mask((3,), p)
    assert str(info.value) == f"dropout probability must be in [0, 1), got {p}"


def test_dropout_mask_draws_from_the_given_generator_only() -> None:
    """The same seed gives the same mask, and the global random state is left alone."""
    from roberta_math.math.dropout import dropout_mask

    before = torch.get_rng_state()
    a = dropout_mask((64,), 0.5, generator=torch.Generator().manual_seed(7))
    b = dropout_mask((64,), 0.5, generator=torch.Generator().manual_seed(7))
    c = dropout_mask((64,), 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_dropout_mask_drops_an_entry_exactly_when_its_uniform_draw_is_below_p() -> None:
    """Dropping iff u < p, with u uniform on [0, 1), has probability exactly p; 'u <= p' would drop u = p too."""
    from roberta_math.math.dropout import dropout_mask

    u = torch.rand(16, generator=torch.Generator().manual_seed(3))  # the draws the mask will see
    for k in range(16):
        p = float(u[k])  # an entry whose draw equals p exactly is kept
        keep = dropout_mask((16,), p, generator=torch.Generator().manual_seed(3))
        assert torch.equal(keep, (u >= u[k]).float())
        assert keep[k] == 1.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dropout_and_its_backward_keep_the_input_dtype(dtype: torch.dtype) -> None:
    """A float32 keep-mask must not promote a half-precision input (torch's F.dropout keeps the dtype)."""
    from roberta_math.math.dropout import dropout, dropout_backward

    x = torch.tensor([1.0, -2.0, 3.0, 4.0], dtype=dtype)
    keep = torch.tensor([1.0, 0.0, 1.0, 1.0])  # float32
    expected = torch.tensor([4.0, 0.0, 12.0, 16.0], dtype=dtype)  # by hand: x m / (1 - 0.75)
    for out in (dropout(x, keep, p=0.75), dropout_backward(x, keep, p=0.75)):
        assert out.dtype == dtype
        torch.testing.assert_close(out, expected)


# ----------------------------------------------------------------------------- backpropagation through the model


@pytest.mark.parametrize("missing", ["head_dense", "head_out", "both"])
def test_forward_with_cache_refuses_a_model_without_a_whole_classification_head(missing: str) -> None:
    """Either half of the head missing is refused with the one-line error (not an AttributeError deeper down)."""
    from dataclasses import replace

    from transformers import RobertaConfig, RobertaForSequenceClassification

    from roberta_math.model.backward import forward_with_cache
    from roberta_math.model.weights import read_weights

    config = RobertaConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=16, max_position_embeddings=12)
    weights = read_weights(RobertaForSequenceClassification(config).eval())
    names = ["head_dense", "head_out"] if missing == "both" else [missing]
    weights = replace(weights, **{name: None for name in names})
    with pytest.raises(ValueError) as info:
        forward_with_cache(weights, torch.tensor([[0, 5, 2]]))
    assert str(info.value) == "this model has no classification head: backpropagation needs the classifier's loss"


@pytest.fixture(scope="module")
def eps_half_pad_zero_model():
    """A small classifier with layer_norm_eps = 0.5 and pad id 0 (float64), random biases and LayerNorms."""
    from helpers_models import randomise_biases_and_layer_norms
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=12, num_labels=3, layer_norm_eps=0.5,
                           pad_token_id=0, bos_token_id=3, eos_token_id=4)
    config._attn_implementation = "eager"
    model = RobertaForSequenceClassification(config)
    model = randomise_biases_and_layer_norms(model, seed=0, bias_std=0.05).double().eval()
    ids = torch.tensor([[3, 17, 9, 22, 4], [3, 30, 4, 0, 0]])
    return model, ids, ids.ne(0).long(), torch.tensor([2, 0])


def test_gradients_from_scratch_use_layer_norm_eps_and_the_pad_id(eps_half_pad_zero_model) -> None:
    """eps = 0.5 and pad id 0 in every forward and backward step: each gradient equals autograd's."""
    import torch.nn.functional as F

    from roberta_math.model.backward import gradients_from_scratch

    model, ids, mask, labels = eps_half_pad_zero_model
    model.zero_grad(set_to_none=True)
    reference_loss = F.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)
    reference_loss.backward()
    for attention_mask in (mask, None):  # None: the mask comes from the pad id
        loss, grads = gradients_from_scratch(model, ids, attention_mask, labels)
        torch.testing.assert_close(loss, reference_loss.detach(), rtol=1e-12, atol=1e-12)
        for name, p in model.named_parameters():
            torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-12, msg=name)


def test_backward_records_the_hidden_states_gradients_as_autograd_does(eps_half_pad_zero_model) -> None:
    """record["hidden"] holds dL/dX^(l) from l = L down to 0: autograd's gradients of transformers' hidden states."""
    import torch.nn.functional as F

    from roberta_math.model.backward import gradients_from_scratch

    model, ids, mask, labels = eps_half_pad_zero_model
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    for h in out.hidden_states:
        h.retain_grad()
    F.cross_entropy(out.logits, labels).backward()
    record: dict = {}
    gradients_from_scratch(model, ids, mask, labels, record)
    expected = [h.grad for h in reversed(out.hidden_states)]  # X^(L) first, the embeddings' output last
    assert len(record["hidden"]) == len(expected) == 3
    for mine, reference in zip(record["hidden"], expected):
        torch.testing.assert_close(mine, reference, rtol=1e-9, atol=1e-12)
    assert len(record["paths"]) == 2 and all(isinstance(p, dict) and p for p in record["paths"])


def test_backward_from_logits_refuses_weights_without_a_whole_head(eps_half_pad_zero_model) -> None:
    """Called directly (not through forward_with_cache), a missing half of the head stops it before any gradient."""
    from dataclasses import replace

    from roberta_math.model.backward import backward_from_logits, forward_with_cache
    from roberta_math.model.weights import read_weights

    model, ids, mask, _ = eps_half_pad_zero_model
    weights = read_weights(model)
    logits, cache = forward_with_cache(weights, ids, mask)
    for half in ("head_dense", "head_out"):
        with pytest.raises(AssertionError):
            backward_from_logits(torch.ones_like(logits), replace(weights, **{half: None}), cache)


def test_softmax_and_log_softmax_take_the_plus_inf_limit_only_in_the_slices_that_hold_it() -> None:
    """A +inf in one row must not change another row: that row is softmax'ed as usual (torch's values)."""
    from roberta_math.math import log_softmax, softmax

    x = torch.tensor([[float("inf"), 0.0, 1.0], [1.0, 2.0, 3.0]])
    p, log_p = softmax(x, dim=-1), log_softmax(x, dim=-1)
    torch.testing.assert_close(p[1], torch.softmax(x[1], dim=-1))
    torch.testing.assert_close(log_p[1], torch.log_softmax(x[1], dim=-1))
    # the row holding +inf: all its probability on that entry (the limit as the logit grows)
    torch.testing.assert_close(p[0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(log_p[0], torch.tensor([0.0, -float("inf"), -float("inf")]))
    torch.testing.assert_close(softmax(x.T, dim=0).T, p)
    torch.testing.assert_close(log_softmax(x.T, dim=0).T, log_p)


def test_log_softmax_of_several_plus_inf_logits_is_minus_log_k_in_the_input_dtype() -> None:
    """k entries of +inf share the probability: log(1/k), exact to float64 for a float64 input."""
    from roberta_math.math import log_softmax

    inf = float("inf")
    x = torch.tensor([inf, inf, inf, 0.0], dtype=torch.float64)
    expected = torch.tensor([-math.log(3)] * 3 + [-inf], dtype=torch.float64)
    torch.testing.assert_close(log_softmax(x), expected, rtol=1e-15, atol=0)
    assert log_softmax(x).dtype == torch.float64


# ----------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("name", ["cross_entropy_loss", "cross_entropy_grad"])
def test_cross_entropy_errors_name_the_function_that_was_called(name: str) -> None:
    """The one-line error starts with the public function's name, and says which shape it wanted."""
    import roberta_math.math as m

    with pytest.raises(ValueError) as info:
        getattr(m, name)(torch.zeros(2, 3), torch.tensor([0]))
    assert str(info.value) == f"{name}: logits of shape (N, C) = (2, 3) take labels of shape (N,) = (2,), got (1,)"


@pytest.mark.parametrize(
    "labels", [torch.tensor([True, False]), torch.tensor([0.0, 1.0]), torch.tensor([0j, 1j])], ids=["bool", "float", "complex"]
)
@pytest.mark.parametrize("name", ["cross_entropy_loss", "cross_entropy_grad"])
def test_cross_entropy_refuses_boolean_float_and_complex_labels(name: str, labels: torch.Tensor) -> None:
    """Labels are integer classes: a bool mask (0/1 would pass as classes 0 and 1) is refused like a float."""
    import roberta_math.math as m

    with pytest.raises(ValueError) as info:
        getattr(m, name)(torch.zeros(2, 3), labels)
    assert str(info.value) == f"{name}: labels must be integer class indices, got dtype {labels.dtype}"


# ----------------------------------------------------------------------------- survivors of the final run (HEAD f4b71a9)


def test_embedding_backward_puts_the_gradient_on_the_device_of_grad_output() -> None:
    """The table's gradient lives where grad_output lives (the meta device: the non-CPU device every machine has)."""
    from roberta_math.math.embeddings import embedding_backward

    grad_output = torch.ones(1, 3, 2, device="meta")
    ids = torch.tensor([[4, 4, 1]], device="meta")
    grad = embedding_backward(grad_output, ids, num_rows=5, padding_idx=1)
    assert grad.device.type == "meta" and tuple(grad.shape) == (5, 2)


@pytest.mark.parametrize("batch_shape", [(), (3,), (2, 3)], ids=["unbatched", "3-d", "4-d"])
def test_self_attention_backward_for_any_number_of_leading_dimensions(batch_shape: tuple) -> None:
    """(..., seq, d) means any leading dims, not only (batch, heads): dQ, dK, dV equal autograd's through torch's softmax."""
    from roberta_math.math.attention import self_attention_backward

    torch.manual_seed(0)
    seq_q, seq_k, d_k, d_v = 3, 5, 4, 2  # all different: a transposed wrong axis cannot go unnoticed
    q = torch.randn(*batch_shape, seq_q, d_k, dtype=torch.float64, requires_grad=True)
    k = torch.randn(*batch_shape, seq_k, d_k, dtype=torch.float64, requires_grad=True)
    v = torch.randn(*batch_shape, seq_k, d_v, dtype=torch.float64, requires_grad=True)
    grad_output = torch.randn(*batch_shape, seq_q, d_v, dtype=torch.float64)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_k), dim=-1)  # (..., seq_q, seq_k)
    (weights @ v).backward(grad_output)
    dq, dk, dv = self_attention_backward(grad_output, q.detach(), k.detach(), v.detach(), weights.detach())
    torch.testing.assert_close(dq, q.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dk, k.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dv, v.grad, rtol=1e-12, atol=1e-12)


def test_encoder_layer_backward_paths_are_autograds_skip_and_branch_gradients(eps_half_pad_zero_model) -> None:
    """record["paths"]: per layer (last first), dU_2, the FFN branch, dU_1 and the attention branch, from autograd.

    U_1 and U_2 are the inputs of transformers' two LayerNorms of the layer (captured with hooks), X' the
    first one's output, X the layer's input: the skip term is dU, the branch is dX' - dU_2 (FFN) and
    dX - dU_1 (attention), each an autograd gradient.
    """
    import torch.nn.functional as F

    from roberta_math.model.backward import gradients_from_scratch

    model, ids, mask, labels = eps_half_pad_zero_model
    saved: list[dict] = [{} for _ in model.roberta.encoder.layer]
    handles = []
    for i, layer in enumerate(model.roberta.encoder.layer):
        def keep(key: str, i: int = i):
            def hook(module, inputs, output=None):
                t = inputs[0] if output is None else output
                t.retain_grad()
                saved[i][key] = t
            return hook

        handles.append(layer.attention.output.LayerNorm.register_forward_pre_hook(keep("U1")))
        handles.append(layer.attention.output.LayerNorm.register_forward_hook(keep("X'")))
        handles.append(layer.output.LayerNorm.register_forward_pre_hook(keep("U2")))
    try:
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    finally:
        for h in handles:
            h.remove()
    for h in out.hidden_states:
        h.retain_grad()
    F.cross_entropy(out.logits, labels).backward()
    record: dict = {}
    gradients_from_scratch(model, ids, mask, labels, record)
    assert len(record["paths"]) == len(saved) == 2
    for i, paths in zip(reversed(range(len(saved))), record["paths"]):
        s, x = saved[i], out.hidden_states[i]  # x: the layer's input X
        expected = {
            "ffn_skip": s["U2"].grad,
            "ffn_branch": s["X'"].grad - s["U2"].grad,
            "attention_skip": s["U1"].grad,
            "attention_branch": x.grad - s["U1"].grad,
        }
        assert sorted(paths) == sorted(expected)
        for key, reference in expected.items():
            assert paths[key] is not None, key
            torch.testing.assert_close(paths[key], reference, rtol=1e-9, atol=1e-12, msg=f"layer {i} {key}")


def test_gradients_from_scratch_use_an_attention_mask_other_than_the_pad_ids(eps_half_pad_zero_model) -> None:
    """A caller's mask that hides a real token (not only the pads) is the one used: the gradients are autograd's."""
    import torch.nn.functional as F

    from roberta_math.model.backward import gradients_from_scratch

    model, ids, mask, labels = eps_half_pad_zero_model
    mask = mask.clone()
    mask[0, 3] = 0  # hide the token 22 of the first sentence as well
    model.zero_grad(set_to_none=True)
    reference_loss = F.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)
    reference_loss.backward()
    loss, grads = gradients_from_scratch(model, ids, mask, labels)
    torch.testing.assert_close(loss, reference_loss.detach(), rtol=1e-12, atol=1e-12)
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-12, msg=name)


def _tiny_config(**overrides):
    from transformers import RobertaConfig

    settings = dict(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=16, max_position_embeddings=12, num_labels=3)
    settings.update(overrides)
    config = RobertaConfig(**settings)
    config._attn_implementation = "eager"
    return config


def test_read_weights_of_a_plain_encoder_has_no_head_and_matches_transformers() -> None:
    """A RobertaModel's state dict has no "roberta." prefix and no classifier: read as such, it encodes as transformers does."""
    from transformers import RobertaModel

    from roberta_math.model.forward import encode_from_scratch
    from roberta_math.model.weights import read_weights

    torch.manual_seed(0)
    model = RobertaModel(_tiny_config(), add_pooling_layer=False).eval()
    assert not any(k.startswith("roberta.") for k in model.state_dict())
    weights = read_weights(model)
    assert weights.head_dense is None and weights.head_out is None
    ids = torch.tensor([[0, 7, 9, 2], [0, 5, 2, 1]])
    hidden, _ = encode_from_scratch(weights, ids)
    with torch.no_grad():
        reference = model(input_ids=ids, attention_mask=ids.ne(1).long()).last_hidden_state
    torch.testing.assert_close(hidden, reference, rtol=1e-5, atol=1e-5)


def test_gradients_from_scratch_of_a_classifier_without_the_roberta_prefix() -> None:
    """The same parameters under names without "roberta." (a module holding embeddings, encoder, classifier): autograd's gradients, those names."""
    import torch.nn.functional as F
    from transformers import RobertaForSequenceClassification

    from roberta_math.model.backward import gradients_from_scratch

    torch.manual_seed(0)
    model = RobertaForSequenceClassification(_tiny_config()).double().eval()
    bare = torch.nn.Module()
    bare.embeddings, bare.encoder = model.roberta.embeddings, model.roberta.encoder
    bare.classifier, bare.config = model.classifier, model.config
    assert not any(k.startswith("roberta.") for k in bare.state_dict())
    ids, labels = torch.tensor([[0, 7, 9, 2], [0, 5, 2, 1]]), torch.tensor([2, 0])
    F.cross_entropy(model(input_ids=ids, attention_mask=ids.ne(1).long()).logits, labels).backward()
    _, grads = gradients_from_scratch(bare, ids, ids.ne(1).long(), labels)
    expected = {name.removeprefix("roberta."): p.grad for name, p in model.named_parameters()}
    assert list(grads) == list(bare.state_dict()) and sorted(grads) == sorted(expected)
    for name, reference in expected.items():
        torch.testing.assert_close(grads[name], reference, rtol=1e-9, atol=1e-12, msg=name)


def test_gradients_from_scratch_refuses_a_model_with_parameters_it_has_no_gradient_for() -> None:
    """Extra parameters (here four) are refused with the one-line error naming the first three, not a KeyError."""
    from transformers import RobertaForSequenceClassification

    from roberta_math.model.backward import gradients_from_scratch

    torch.manual_seed(0)
    model = RobertaForSequenceClassification(_tiny_config()).eval()
    model.extra = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))  # 4 names no gradient is made for
    ids = torch.tensor([[0, 7, 2]])
    with pytest.raises(ValueError) as info:
        gradients_from_scratch(model, ids, None, torch.tensor([1]))
    assert str(info.value) == ("no from-scratch gradient for ['extra.0.weight', 'extra.0.bias', 'extra.1.weight']: "
                               "is this a RobertaForSequenceClassification?")

"""The training recipe: tokenizer, RoBERTa's masking rule, and a tiny end-to-end run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from roberta_math.data import corpus
from roberta_math.training.masking import IGNORE_INDEX, mask_tokens
from roberta_math.training.recipe import Recipe, shuffled_batches, train_embedded
from roberta_math.training.tokenizer import SPECIAL_TOKENS, save_tokenizer, train_bpe

# --------------------------------------------------------------------------- tokenizer

TEXTS = [
    "The movie was wonderful, truly wonderful!",
    "I hated the ending :( and the acting was bad.",
    "Great phone, battery lasts forever. 5 stars",
    "The council will vote on the budget on Tuesday.",
] * 30


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe(TEXTS, vocab_size=400)


def test_special_tokens_have_robertas_ids(tokenizer) -> None:
    # roberta-base: <s>=0, <pad>=1, </s>=2, <unk>=3; <mask> is last there, 4 here.
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]) == [0, 1, 2, 3, 4]
    assert SPECIAL_TOKENS == ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
    assert (tokenizer.cls_token_id, tokenizer.pad_token_id, tokenizer.sep_token_id) == (0, 1, 2)
    ids = tokenizer("wonderful movie")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and 0 not in ids[1:-1] and 2 not in ids[1:-1]


@pytest.mark.parametrize(
    "text",
    ["The movie was wonderful", "unseen wörds ☕ 😀 and\ttabs  and  double spaces", " leading space", "!!!?!", "a"],
)
def test_round_trip_is_exact_and_never_unknown(tokenizer, text: str) -> None:
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert tokenizer.unk_token_id not in ids  # byte-level: every byte has a symbol


def test_merges_come_from_the_training_texts(tokenizer) -> None:
    # A frequent training word is one token (with its leading-space marker); an unseen one is split.
    assert tokenizer.tokenize(" wonderful") == ["Ġwonderful"]
    assert len(tokenizer.tokenize(" xylophone")) > 3
    assert len(tokenizer) <= 400


def test_saved_tokenizer_loads_with_autotokenizer(tokenizer, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    save_tokenizer(tokenizer, tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    batch = ["The movie was wonderful", "bad ☕", "x " * 300]
    a = again(batch, truncation=True, max_length=128, padding=True)
    b = tokenizer(batch, truncation=True, max_length=128, padding=True)
    assert a["input_ids"] == b["input_ids"]
    assert len(a["input_ids"][2]) == 128 and a["input_ids"][1][-1] == 1  # truncation and <pad> = 1
    # <mask> absorbs the space before it, as in roberta-base.
    assert again.convert_ids_to_tokens(again("a <mask>")["input_ids"]) == ["<s>", "a", "<mask>", "</s>"]
    vocab = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab == again.get_vocab()
    merges = (tmp_path / "merges.txt").read_text(encoding="utf-8").splitlines()
    assert merges[0].startswith("#version") and len(merges) - 1 == len(vocab) - 5 - 256


# --------------------------------------------------------------------------- masking


def _batch(rows: int = 800, cols: int = 250, vocab: int = 1000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (rows, cols), generator=g)
    ids[:, 0] = 0  # <s>
    lengths = torch.randint(cols // 2, cols, (rows,), generator=g)
    for r, n in enumerate(lengths.tolist()):
        ids[r, n] = 2  # </s>
        ids[r, n + 1 :] = 1  # <pad>
    return ids


def _within(count: int, trials: int, p: float, sigmas: float = 5.0) -> bool:
    """Is ``count`` within ``sigmas`` binomial standard deviations of ``trials * p``?"""
    return abs(count - trials * p) <= sigmas * math.sqrt(trials * p * (1 - p))


def test_mask_tokens_follows_the_80_10_10_rule_statistically() -> None:
    vocab = 1000
    ids = _batch(vocab=vocab)
    before = ids.clone()
    special = (ids == 0) | (ids == 1) | (ids == 2)
    x, y = mask_tokens(ids, mask_token_id=4, vocab_size=vocab, special_ids=range(5),
                       generator=torch.Generator().manual_seed(123))
    assert torch.equal(ids, before)  # the input is not modified
    chosen = y != IGNORE_INDEX
    n_ordinary, n_chosen = int((~special).sum()), int(chosen.sum())
    assert n_ordinary > 100_000
    assert _within(n_chosen, n_ordinary, 0.15)
    assert not bool((chosen & special).any()) and torch.equal(x[special], ids[special])
    assert torch.equal(y[chosen], ids[chosen])  # labels are the original tokens
    assert torch.equal(x[~chosen], ids[~chosen])  # only chosen positions change
    masked = int((x[chosen] == 4).sum())
    kept = int((x[chosen] == ids[chosen]).sum())
    replaced = n_chosen - masked - kept
    # A random replacement hits the original token with probability 1 / (number of ordinary ids).
    p_same = 1 / (vocab - 5)
    assert _within(masked, n_chosen, 0.8)
    assert _within(replaced, n_chosen, 0.1 * (1 - p_same))
    assert _within(kept, n_chosen, 0.1 + 0.1 * p_same)
    replacements = x[chosen & (x != 4) & (x != ids)]
    assert int(replacements.min()) >= 5 and int(replacements.max()) < vocab  # never a special token
    # Uniform over ordinary ids: each tenth of the id range gets about a tenth of the draws.
    bins = torch.histc(replacements.float(), bins=10, min=5, max=vocab)
    assert all(_within(int(b), len(replacements), float(w) / (vocab - 5))
               for b, w in zip(bins, torch.full((10,), (vocab - 5) / 10)))


def test_masking_is_dynamic_but_reproducible() -> None:
    ids = _batch(rows=50, cols=40)
    kwargs = dict(mask_token_id=4, vocab_size=1000, special_ids=range(5))
    a = mask_tokens(ids, generator=torch.Generator().manual_seed(7), **kwargs)
    b = mask_tokens(ids, generator=torch.Generator().manual_seed(7), **kwargs)
    g = torch.Generator().manual_seed(7)
    first, second = mask_tokens(ids, generator=g, **kwargs), mask_tokens(ids, generator=g, **kwargs)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(first[1], second[1])  # a new draw: a new set of targets


def test_masking_probability_extremes() -> None:
    ids = _batch(rows=20, cols=30)
    kwargs = dict(mask_token_id=4, vocab_size=1000, special_ids=range(5))
    _, none = mask_tokens(ids, probability=0.0, **kwargs)
    _, every = mask_tokens(ids, probability=1.0, **kwargs)
    assert bool((none == IGNORE_INDEX).all())
    assert torch.equal(every != IGNORE_INDEX, ids >= 5)
    with pytest.raises(ValueError):
        mask_tokens(ids, probability=1.5, **kwargs)


def test_batches_cover_every_row_once_and_group_lengths() -> None:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 100, (1000,), generator=g).tolist()
    batches = shuffled_batches(lengths, 10, g, pool=20)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 20  # random batches of 10 would spread about 80


# --------------------------------------------------------------------------- end to end

# One thread: two threads on cores that other jobs keep busy run several times slower.
TINY = Recipe(vocab_size=500, batch_size=16, num_threads=1, pretrain_text="train")  # no WordNet: seconds, not minutes


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("embedded")
    metrics = train_embedded(out, seed=3, pretrain_epochs=1, finetune_epochs=2, progress=False, limit=96, recipe=TINY)
    return out, metrics


def test_tiny_run_writes_a_loadable_model(tiny_run: tuple[Path, dict]) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out, _ = tiny_run
    expected = {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json",
                "training_log.json", "metrics.json", "MODEL_CARD.md"}
    assert expected <= {p.name for p in out.iterdir()}
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSequenceClassification.from_pretrained(out, attn_implementation="eager").eval()
    assert type(model).__name__ == "RobertaForSequenceClassification"
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert (model.config.max_position_embeddings, model.config.pad_token_id) == (130, 1)
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.num_attention_heads) == (2, 128, 4)
    batch = tokenizer(["What a lovely day", "terrible"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        out_ = model(**batch, output_attentions=True)
    assert out_.logits.shape == (2, 3)
    assert len(out_.attentions) == 2 and out_.attentions[0].shape == (2, 4, batch["input_ids"].shape[1], batch["input_ids"].shape[1])


def test_tiny_run_reports_metrics_and_curves(tiny_run: tuple[Path, dict]) -> None:
    out, metrics = tiny_run
    assert json.loads((out / "metrics.json").read_text()) == metrics
    test = metrics["test"]
    assert test["overall"]["n"] == 96 == sum(test[d]["n"] for d in corpus.DOMAINS if d in test)
    assert set(test["overall"]) == {"n", "accuracy", "macro_f1", "pearson_r"}
    assert metrics["vader_test"]["overall"]["n"] == 96
    assert metrics["split"]["fingerprint_sha256"] == corpus.split_fingerprint()
    assert metrics["seeds"] == {"training": 3, "split": corpus.SPLIT_SEED} and metrics["num_threads"] == 1
    assert Recipe().num_threads == 1  # the shipped model's setting
    assert {"torch", "transformers"} <= set(metrics["versions"])
    log = json.loads((out / "training_log.json").read_text())
    steps = log["steps_per_epoch"]
    assert steps == math.ceil(96 / 16)
    assert len(log["stages"]["pretrain"]["step_loss"]) == steps
    for run in ("finetune_pretrained", "finetune_from_scratch"):
        assert len(log["stages"][run]["step_loss"]) == 2 * steps
        assert [e["epoch"] for e in log["stages"][run]["epochs"]] == [1, 2]
    card = (out / "MODEL_CARD.md").read_text()
    assert "Hutto" in card and "ICWSM" in card and "| Tweets |" in card and "Limits" in card
    assert "## Calibration" in card and "class weights" in card
    temperature = json.loads((out / "calibration.json").read_text())["temperature"]
    assert temperature == metrics["calibration"]["temperature"] > 0
    assert set(metrics["calibration"]["test"]) == {"ece_before", "ece_after", "nll_before", "nll_after"}


def test_the_same_seed_gives_the_same_weights(tiny_run: tuple[Path, dict], tmp_path: Path) -> None:
    from safetensors.torch import load_file

    out, _ = tiny_run
    train_embedded(tmp_path, seed=3, pretrain_epochs=1, finetune_epochs=2, progress=False, limit=96, recipe=TINY)
    a, b = load_file(out / "model.safetensors"), load_file(tmp_path / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (out / "tokenizer.json").read_bytes() == (tmp_path / "tokenizer.json").read_bytes()


def test_the_test_split_never_reaches_the_tokenizer(tmp_path: Path) -> None:
    # A synthetic corpus whose test sentences alone contain a made-up word, very often.
    rows = {d: [] for d in corpus.DOMAINS}
    for d in corpus.DOMAINS:
        for i in range(60):
            rows[d].append(corpus.Sentence(d, str(i), (-2.0, 0.0, 2.0)[i % 3], f"plain words number {i}"))
    test_ids = {(s.domain, s.id) for s in corpus.split_corpus([s for r in rows.values() for s in r])["test"]}
    stems = {"tweets": "tweets", "movie_reviews": "movieReviewSnippets",
             "amazon_reviews": "amazonReviewSnippets", "nyt_editorials": "nytEditorialSnippets"}
    source = tmp_path / "corpus"
    source.mkdir()
    for d, sentences in rows.items():
        lines = [f"{s.id}\t{s.valence}\t{s.text + ' qzxvk' * 8 if (d, s.id) in test_ids else s.text}"
                 for s in sentences]
        (source / f"{stems[d]}_GroundTruth.txt").write_text("\r\n".join(lines), encoding="utf-8")
    metrics = train_embedded(tmp_path / "out", pretrain_epochs=0, finetune_epochs=1, progress=False,
                             source=source, recipe=TINY)
    assert metrics["corpus"]["is_published_corpus"] is False
    vocab = json.loads((tmp_path / "out" / "vocab.json").read_text(encoding="utf-8"))
    assert not any("qzx" in token for token in vocab)  # never merged: never seen in training
    assert "pretrain" not in json.loads((tmp_path / "out" / "training_log.json").read_text())["stages"]


# --------------------------------------------------------------------------- the shipped model

EMBEDDED = Path(corpus.__file__).resolve().parents[1] / "model" / "embedded"


def test_shipped_model_is_small_and_describes_the_current_split() -> None:
    files = {p.name: p.stat().st_size for p in EMBEDDED.iterdir() if p.is_file()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json", "training_log.json", "MODEL_CARD.md"} <= set(files)
    assert sum(files.values()) <= 8 * 1024 * 1024
    metrics = json.loads((EMBEDDED / "metrics.json").read_text())
    assert metrics["split"]["fingerprint_sha256"] == corpus.split_fingerprint()
    assert metrics["corpus"]["is_published_corpus"] is True and metrics["num_threads"] == 1
    assert {"calibration.json", "MODEL_CARD.md"} <= set(files)
    calibration = metrics["calibration"]
    assert json.loads((EMBEDDED / "calibration.json").read_text())["temperature"] == calibration["temperature"]
    assert calibration["test"]["ece_after"] < calibration["test"]["ece_before"]  # the fitted temperature helps on test
    assert calibration["validation"]["nll_after"] <= calibration["validation"]["nll_before"]  # it minimises this
    assert metrics["test"]["overall"]["accuracy"] > metrics["vader_test"]["overall"]["accuracy"]  # the bar
    card = (EMBEDDED / "MODEL_CARD.md").read_text()
    assert "Hutto" in card and f"{metrics['test']['overall']['accuracy']:.3f}" in card


@pytest.mark.slow
def test_shipped_metrics_are_reproduced_from_the_files() -> None:
    """Score the test split again through transformers' Auto classes and VADER itself."""
    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    metrics = json.loads((EMBEDDED / "metrics.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(EMBEDDED)
    model = AutoModelForSequenceClassification.from_pretrained(EMBEDDED, attn_implementation="eager").eval()
    test = corpus.load_split("test")
    tau = json.loads((EMBEDDED / "calibration.json").read_text())["temperature"]  # the shipped temperature
    probs = []
    with torch.inference_mode():
        for i in range(0, len(test), 256):
            batch = tokenizer([s.text for s in test[i : i + 256]], padding=True, truncation=True,
                              max_length=128, return_tensors="pt")
            probs.append((model(**batch).logits / tau).softmax(-1))
    p = torch.cat(probs).numpy()  # (n_test, 3)
    labels = np.array([s.label for s in test])
    valence = np.array([s.valence for s in test])
    overall = metrics["test"]["overall"]
    assert overall["n"] == len(test) == 2371
    assert np.mean(p.argmax(-1) == labels) == pytest.approx(overall["accuracy"], abs=6e-4)
    assert np.corrcoef(p[:, 2] - p[:, 0], valence)[0, 1] == pytest.approx(overall["pearson_r"], abs=2e-3)
    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(s.text)["compound"] for s in test])
    vader = np.where(compound >= 0.05, 2, np.where(compound <= -0.05, 0, 1))
    assert np.mean(vader == labels) == pytest.approx(metrics["vader_test"]["overall"]["accuracy"], abs=6e-4)


@pytest.mark.parametrize("field, value", [("pretrain_text", "wordnet"), ("tokenizer_text", "all"), ("class_weighting", "inverse")])
def test_unknown_recipe_choices_are_refused_and_nothing_is_written(field: str, value: str, tmp_path: Path) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match=field):
        train_embedded(tmp_path / "out", progress=False, limit=8, recipe=replace(TINY, **{field: value}))
    assert not (tmp_path / "out").exists()


def test_wordnet_glosses_are_split_into_definition_and_examples() -> None:
    from roberta_math.data.wordnet import gloss_sentences

    # A real line of data.adj (WordNet 3.0, synset 01123148 "good"), the pointer fields shortened.
    line = ('01123148 00 a 01 good 0 005 | having desirable or positive qualities especially those suitable for '
            'a thing specified; "good news from the hospital"; "a good report card"; "when she was good"')
    assert gloss_sentences(line) == [
        "having desirable or positive qualities especially those suitable for a thing specified",
        "good news from the hospital", "a good report card", "when she was good"]
    assert gloss_sentences("  1 This software and database is being provided") == []  # licence header

"""The RoBERTa-vs-VADER comparison: counts, JSON shape, the paper's numbers, and the cache.

A real run on the real corpus with a tiny random RoBERTa saved to a temporary directory
(the embedded model may not exist yet, and its quality does not matter here); the
scorer is wrapped to count its calls, nothing of the comparison itself is mocked.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from roberta_math.data.corpus import Sentence, corpus_dir, load_corpus
from roberta_math.evaluation import compare as C
from roberta_math.evaluation import scoring
from roberta_math.evaluation.compare import PAPER_TABLE_4, Predictions, compare

DOMAINS = ("tweets", "movie_reviews", "amazon_reviews", "nyt_editorials")
DOMAIN_KEYS = (*DOMAINS, "all")
METRIC_KEYS = {"n", "pearson_r", "accuracy", "precision", "recall", "f1", "macro_f1", "macro_recall"}

# Rows per file, as stated in the corpus README and the paper.
FILE_ROWS = {"tweets": 4200, "movie_reviews": 10605, "amazon_reviews": 3708, "nyt_editorials": 5190}
# Test-split sizes worked out by hand from the published label counts (neg, neu, pos) per
# domain and the split rule (floor(n/10 + 1/2) of every (domain, label) group):
# tweets 1203/297/2700 -> 120+30+270; movies 5252/186/5167 -> 525+19+517;
# Amazon 1374/387/1947 -> 137+39+195; NYT 2362/1061/1767 -> 236+106+177.
TEST_ROWS = {"tweets": 420, "movie_reviews": 1061, "amazon_reviews": 371, "nyt_editorials": 519}
BOOTSTRAP = 50


def _tiny_model(directory: Path, texts: list[str]) -> Path:
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    from roberta_math.training.tokenizer import save_tokenizer, train_bpe

    tokenizer = train_bpe(texts, vocab_size=400)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=130, num_labels=3, pad_token_id=1,
        bos_token_id=0, eos_token_id=2,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    RobertaForSequenceClassification(config).save_pretrained(directory)
    save_tokenizer(tokenizer, directory)
    return directory


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    # Resolve the corpus with the normal cache first; then give compare() an empty cache.
    source = corpus_dir()
    sentences = load_corpus(source)
    model_dir = _tiny_model(tmp_path_factory.mktemp("tiny") / "model", [s.text for s in sentences[:2000]])
    cache = tmp_path_factory.mktemp("cache")
    return {"source": source, "model": str(model_dir), "cache": cache, "sentences": sentences}


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch, setup):
    """Point the cache at the test's directory and count real calls of the scorer."""
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(setup["cache"]))
    calls: list[int] = []
    real = scoring.score_texts

    def counting(texts, loaded, **kwargs):
        calls.append(len(texts))
        return real(texts, loaded, **kwargs)

    monkeypatch.setattr(scoring, "score_texts", counting)
    return calls


@pytest.fixture()
def result(counted, setup):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny tokenizer makes some texts too long
        return compare(setup["model"], source=setup["source"], progress=False, bootstrap=BOOTSTRAP, seed=0)


def test_every_line_of_the_four_files_is_counted(result):
    vader = result["full"]["vader"]
    for domain, rows in FILE_ROWS.items():
        assert vader[domain]["n"] == rows, domain
    assert vader["all"]["n"] == sum(FILE_ROWS.values()) == 23703


def test_the_raw_files_have_exactly_these_lines(setup):
    # Independent of the parser: count the non-empty lines of the files themselves.
    stems = {"tweets": "tweets", "movie_reviews": "movieReviewSnippets",
             "amazon_reviews": "amazonReviewSnippets", "nyt_editorials": "nytEditorialSnippets"}
    for domain, stem in stems.items():
        raw = (Path(setup["source"]) / f"{stem}_GroundTruth.txt").read_bytes()
        assert sum(1 for line in raw.splitlines() if line.strip()) == FILE_ROWS[domain]


def test_json_shape(result, setup):
    model = setup["model"]
    json.dumps(result, allow_nan=False)  # valid JSON, no NaN
    assert {"full", "test", "paper", "full_vs_paper", "individual_humans", "bootstrap", "error_analysis",
            "disagreements", "meta"} <= result.keys()
    # The model trained (or may have trained) on every domain: it is not under "full".
    assert list(result["full"]) == ["vader"]
    # issue 8's baseline sits beside VADER and the model on the held-out split
    assert set(result["test"]) == {"vader", model, "tfidf_logreg"}
    for section in ("full", "test"):
        for method, by_domain in result[section].items():
            assert tuple(by_domain) == DOMAIN_KEYS, (section, method)
            for domain, metrics in by_domain.items():
                assert METRIC_KEYS <= metrics.keys(), (section, method, domain)
                assert all(0.0 <= metrics[k] <= 1.0 for k in METRIC_KEYS - {"n", "pearson_r"})
                assert -1.0 <= metrics["pearson_r"] <= 1.0
    for method in ("vader", model, "tfidf_logreg"):
        for domain, rows in TEST_ROWS.items():
            assert result["test"][method][domain]["n"] == rows
        assert result["test"][method]["all"]["n"] == sum(TEST_ROWS.values()) == 2371
    assert result["meta"]["model"] == model
    # the paper's Table 4, typed here from the paper (not from the code): (r, P, R, F1) for VADER,
    # (r, F1) for the individual human raters
    vader = {"tweets": (0.881, 0.99, 0.94, 0.96), "movie_reviews": (0.451, 0.70, 0.55, 0.61),
             "amazon_reviews": (0.565, 0.78, 0.55, 0.63), "nyt_editorials": (0.492, 0.69, 0.49, 0.55)}
    humans = {"tweets": (0.888, 0.84), "movie_reviews": (0.899, 0.92), "amazon_reviews": (0.911, 0.85),
              "nyt_editorials": (0.745, 0.65)}
    assert result["paper"]["vader"] == {d: dict(zip(("pearson_r", "precision", "recall", "f1"), v)) for d, v in vader.items()}
    assert result["paper"]["individual_humans"] == {d: dict(zip(("pearson_r", "f1"), h)) for d, h in humans.items()}
    assert "Table 4" in result["paper"]["source"]


def test_weighted_recall_is_accuracy_and_vader_test_rows_are_a_subset_of_full(result):
    for section in ("full", "test"):
        for by_domain in result[section].values():
            for m in by_domain.values():
                assert m["recall"] == pytest.approx(m["accuracy"], abs=1e-12)
    # Confusion matrices add up: the four domains make "all".
    for section in ("full", "test"):
        vader = result[section]["vader"]
        total = np.sum([vader[d]["confusion"] for d in DOMAINS], axis=0)
        assert total.tolist() == vader["all"]["confusion"]


def test_vader_reproduces_the_papers_correlations(result):
    # The library has changed since 2014 (lexicon and rules), so the numbers cannot be
    # identical; the correlations stay within 0.03 of Table 4 on every domain.
    for domain in DOMAINS:
        ours = result["full"]["vader"][domain]["pearson_r"]
        assert ours == pytest.approx(PAPER_TABLE_4["vader"][domain]["pearson_r"], abs=0.03), domain


def test_the_closest_reading_of_the_paper(result):
    # Published P/R/F1 are matched best by support-weighted averaging with the human
    # classes taken by sign; macro averaging is far off. (A regression check of the claim
    # the docs make, measured against the published table, not against our own output.)
    gaps = result["full_vs_paper"]["mean_abs_difference"]
    assert gaps["weighted_sign_labels"] < 0.02 < gaps["weighted"] < 0.06 < 0.12 < gaps["macro"]
    for domain in DOMAINS:
        cell = result["full_vs_paper"]["vader"][domain]["recall"]
        assert cell["ours"] == result["full"]["vader"][domain]["recall"]
        assert cell["paper"] == PAPER_TABLE_4["vader"][domain]["recall"]


def test_individual_raters_reproduce_the_papers_row_where_there_are_exactly_20(result):
    humans = result["individual_humans"]["domains"]
    for domain in ("amazon_reviews", "nyt_editorials"):  # exactly 20 ratings per sentence
        assert humans[domain]["ratings_per_sentence"] == [20, 20]
        paper = PAPER_TABLE_4["individual_humans"][domain]
        assert humans[domain]["pearson_r"] == pytest.approx(paper["pearson_r"], abs=0.01)
        assert humans[domain]["f1"] == pytest.approx(paper["f1"], abs=0.02)
        # Comparing with the mean of the others is stricter than with a mean that includes the rater.
        assert humans[domain]["leave_one_out"]["pearson_r"] < humans[domain]["pearson_r"]
    # With classes by sign, the raters' F1 matches the paper on all four domains.
    for domain in DOMAINS:
        assert humans[domain]["sign_labels"]["f1"] == pytest.approx(PAPER_TABLE_4["individual_humans"][domain]["f1"], abs=0.01)


def test_bootstrap_intervals(result, setup):
    boot = result["bootstrap"]
    assert boot["n_resamples"] == BOOTSTRAP and boot["reference"] == "vader"
    diffs = boot["differences"][setup["model"]]
    assert tuple(diffs) == DOMAIN_KEYS
    for domain, by_metric in diffs.items():
        for metric, ci in by_metric.items():
            expected = result["test"][setup["model"]][domain][metric] - result["test"]["vader"][domain][metric]
            assert ci["estimate"] == pytest.approx(expected, abs=1e-12), (domain, metric)
            assert ci["low"] <= ci["high"]


def test_error_analysis_counts_and_accuracies(result, setup):
    tags = result["error_analysis"]["tags"]
    assert set(tags) == {"negation", "but", "intensifier", "all_caps", "exclamation", "emoticon"}
    for name, entry in tags.items():
        assert entry["n"] + entry["n_untagged"] == 2371
        assert sum(entry["n_by_domain"].values()) == entry["n"]
        for method in ("vader", setup["model"]):
            acc, rest = entry["accuracy"][method], entry["accuracy_untagged"][method]
            # Tagged and untagged accuracies recombine into the overall accuracy.
            overall = (acc * entry["n"] + rest * entry["n_untagged"]) / 2371
            assert overall == pytest.approx(result["test"][method]["all"]["accuracy"], abs=1e-9), name
    assert tags["emoticon"]["n_by_domain"]["tweets"] > tags["emoticon"]["n_by_domain"]["nyt_editorials"]


def test_disagreements_are_the_largest_gaps(result, setup):
    model = setup["model"]
    by_domain = result["disagreements"]["by_method"][model]
    assert tuple(by_domain) == DOMAINS
    for rows in by_domain.values():
        assert len(rows) == C.TOP_DISAGREEMENTS
        gaps = [row["gap"] for row in rows]
        assert gaps == sorted(gaps, reverse=True)
    # Recompute the tweets' gaps from scratch (VADER and the model on the test tweets)
    # and check that the listed sentences are the five largest.
    from roberta_math.data.corpus import load_split
    from roberta_math.evaluation.vader import compound_scores
    from roberta_math.model.loading import load_model

    tweets = load_split("test", setup["source"], ["tweets"])
    texts = [s.text for s in tweets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probabilities = scoring.score_texts(texts, load_model(model))  # (n, 3)
    gap = np.abs(probabilities[:, 2] - probabilities[:, 0] - compound_scores(texts))  # (n,)
    expected = [tweets[i].id for i in np.argsort(-gap, kind="stable")[: C.TOP_DISAGREEMENTS]]
    assert [row["id"] for row in by_domain["tweets"]] == expected
    assert by_domain["tweets"][0]["gap"] == pytest.approx(gap.max(), abs=1e-6)


def test_cache_hit_does_no_rescoring(counted, setup):
    args = (setup["model"],)
    kwargs = {"source": setup["source"], "progress": False, "bootstrap": BOOTSTRAP, "seed": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = compare(*args, **kwargs)  # may itself be a hit from the `result` fixture
        counted.clear()
        second = compare(*args, **kwargs)
        assert counted == []  # not one text scored
        assert second == first

        # A corrupt cache file is recomputed (and the scorer runs again).
        path = C.cache_path(first["meta"]["cache_key"])
        assert path.is_file() and path.parent == Path(setup["cache"]) / "compare"
        path.write_text(path.read_text()[:100])
        third = compare(*args, **kwargs)
        assert counted == [2371]  # the test split, once
        assert third == first
        json.loads(path.read_text())  # rewritten whole



def test_a_loaded_model_and_a_scorer_are_used_as_given(result, setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # The figure step hands compare its model and probabilities: compare must neither load
    # the model again nor score through anything else, and the numbers must not change.
    from roberta_math.model import loading

    loaded = loading.load_model(setup["model"])
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path))  # a cold cache

    def no_load(*args, **kwargs):
        raise AssertionError("compare loaded the model although it was given")

    monkeypatch.setattr(loading, "load_model", no_load)
    calls: list[int] = []

    def score(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return scoring.score_texts(texts, loaded)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        given = compare(setup["model"], loaded=loaded, score=score, source=setup["source"], progress=False,
                        bootstrap=0, seed=0)
    assert calls == [2371]  # the test split, once, through the given scorer
    assert given["test"] == result["test"]  # the same numbers as when compare loads and scores itself
    assert given["meta"]["model_sha256"] == result["meta"]["model_sha256"]
    with pytest.raises(ValueError, match="VADER only"):
        compare(None, loaded=loaded, source=setup["source"])


# --------------------------------------------------------------------------- small pieces


def test_tag_rules_on_examples():
    tag = C.tag_sentence
    assert tag("I don't like it") == ["negation"]
    assert tag("It was good but long") == ["but"]
    assert tag("Butter is tasty") == []  # "but" only as a word
    assert tag("It was REALLY good") == ["intensifier", "all_caps"]
    assert tag("Go team!") == ["exclamation"]
    assert tag("see http://url_removed :)") == ["emoticon"]
    assert tag("nice \U0001F600") == ["emoticon"]
    assert tag("http://x.com/a:b") == []  # a URL is no emoticon


def test_predictions_from_probabilities_rows():
    p = C.predictions_from_probabilities(np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))
    assert p.labels.tolist() == [1, 2]
    np.testing.assert_allclose(p.scores, [0.1, 0.7])


def test_individual_human_metrics_on_a_toy_table():
    rows = [Sentence("nyt_editorials", str(i), v, "t") for i, v in enumerate([2.0, -1.0, 0.0, 1.0])]
    ratings = {"nyt_editorials": {"0": [2, 2, 2], "1": [-1, -1, -1], "2": [1, -1, 0], "3": [1, 1, 1]}}
    out = C.individual_human_metrics(rows, ratings, draws=20, seed=0)
    entry = out["nyt_editorials"]
    # Only sentence "2" can be misclassified (its ratings straddle the band).
    assert entry["n"] == 4 and 0.5 <= entry["accuracy"] <= 1.0
    assert entry["accuracy_range"][0] <= entry["accuracy"] <= entry["accuracy_range"][1]
    assert out["all"]["n"] == 4


def test_bootstrap_differences_skip_the_reference_and_are_seeded():
    rows = [Sentence("tweets", str(i), (-1.0) ** i * 2, "t") for i in range(30)]
    truth = np.array([s.label for s in rows])
    rng = np.random.default_rng(0)
    methods = {
        "vader": Predictions(rng.integers(0, 3, 30), rng.normal(size=30)),
        "m": Predictions(truth, rng.normal(size=30)),
        "tfidf_logreg": Predictions(truth[::-1].copy(), rng.normal(size=30)),
    }
    a = C.bootstrap_differences(rows, methods, n_resamples=40, seed=3)
    b = C.bootstrap_differences(rows, methods, n_resamples=40, seed=3)
    assert a == b and set(a) == {"m", "tfidf_logreg"}
    # Adding a method leaves another method's interval as it was.
    c = C.bootstrap_differences(rows, {k: methods[k] for k in ("vader", "m")}, n_resamples=40, seed=3)
    assert c["m"] == a["m"]


def _cli_extra():
    from roberta_math import cli
    from roberta_math.evaluation.compare_cli import SUBCOMMAND

    registered = any(spec.startswith("roberta_math.evaluation.compare_cli") for spec in cli.EXTERNAL_SUBCOMMANDS)
    return [] if registered else [SUBCOMMAND]


def test_cli_prints_json_and_tables_from_the_cache(counted, setup, capsys):
    from roberta_math.cli import main

    argv = ["compare", "--model", setup["model"], "--corpus", str(setup["source"]),
            "--bootstrap", str(BOOTSTRAP), "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(setup["model"], source=setup["source"], progress=False, bootstrap=BOOTSTRAP, seed=0)  # fill the cache
        counted.clear()
        assert main([*argv, "--json"], extra=_cli_extra()) == 0
        printed = json.loads(capsys.readouterr().out)
        assert main(argv, extra=_cli_extra()) == 0
    assert counted == []
    assert printed["test"][setup["model"]]["all"]["n"] == 2371
    table = capsys.readouterr().out
    assert "0.881 / " in table  # the paper's tweet correlation beside ours
    assert "minus vader" in table


def test_cli_rejects_a_negative_bootstrap(setup, capsys):
    from roberta_math.cli import main

    status = main(["compare", "--vader-only", "--bootstrap", "-1", "--corpus", str(setup["source"])], extra=_cli_extra())
    assert status == 2
    assert capsys.readouterr().err.startswith("roberta-math: error: --bootstrap must be 0 or more")


def test_a_model_appears_under_full_only_for_domains_it_never_trained_on(setup):
    # A model whose provenance says it trained on three domains is scored on all of the
    # fourth. (A subset of the corpus keeps this quick; _compute is what compare() runs.)
    from types import SimpleNamespace

    from roberta_math.model.loading import load_model

    loaded = load_model(setup["model"])
    provenance = SimpleNamespace(name="tiny", training_domains=["tweets", "movie_reviews", "amazon_reviews"])
    partial = SimpleNamespace(**{**vars(loaded), "provenance": provenance})
    subset = [s for d in DOMAINS for s in [t for t in setup["sentences"] if t.domain == d][:150]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = C._compute(subset, partial, "tiny", source=setup["source"], progress=False, bootstrap=10, seed=0)
    assert list(out["full"]) == ["vader", "tiny"]
    assert list(out["full"]["tiny"]) == ["nyt_editorials"]  # no "all": it trained on the others
    assert out["full"]["tiny"]["nyt_editorials"]["n"] == 150
    assert set(out["test"]) == {"vader", "tiny", "tfidf_logreg"}

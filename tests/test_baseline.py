"""TF-IDF + logistic regression: what it learns from, its output, and its place in ``roberta-math compare``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from figure_helpers import write_toy_corpus

from roberta_math.data.corpus import DOMAINS, Sentence, load_split
from roberta_math.evaluation import compare as C
from roberta_math.evaluation.baseline import tfidf_logreg, tfidf_logreg_pipeline, tfidf_logreg_probabilities

POSITIVE = ["a wonderful film", "great acting and a great story", "I loved every minute", "wonderful, just wonderful"]
NEGATIVE = ["a terrible film", "awful acting and a dull story", "I hated every minute", "terrible, just terrible"]
NEUTRAL = ["the film opens on friday", "the story is set in ohio", "it runs for two hours", "the cast has six actors"]
TEXTS = POSITIVE + NEGATIVE + NEUTRAL
LABELS = [2] * 4 + [0] * 4 + [1] * 4


def test_probabilities_are_distributions_in_label_order() -> None:
    p = tfidf_logreg_probabilities(TEXTS, LABELS, ["what a wonderful story", "a terrible, dull film", "it opens on friday"])
    assert p.shape == (3, 3) and np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()
    assert p.argmax(axis=1).tolist() == [2, 0, 1]


def test_character_ngrams_carry_unseen_spellings() -> None:
    # Neither word was in training, so the word block is empty: only the character
    # n-grams they share with "wonderful" / "terrible" can decide.
    p = tfidf_logreg_probabilities(TEXTS, LABELS, ["wonderfull", "terrrible"])
    assert p.argmax(axis=1).tolist() == [2, 0]
    word_only = tfidf_logreg_pipeline().steps[0][1].transformer_list[0][1].fit(TEXTS)
    assert word_only.transform(["wonderfull terrrible"]).nnz == 0


def test_a_class_missing_from_training_gets_probability_zero() -> None:
    keep = [i for i, y in enumerate(LABELS) if y != 1]
    p = tfidf_logreg_probabilities([TEXTS[i] for i in keep], [LABELS[i] for i in keep], ["the film opens on friday"])
    assert p[0, 1] == 0.0 and p[0, 0] + p[0, 2] == pytest.approx(1.0)


def test_fitting_twice_gives_identical_probabilities() -> None:
    a = tfidf_logreg_probabilities(TEXTS, LABELS, TEXTS, seed=3)
    b = tfidf_logreg_probabilities(TEXTS, LABELS, TEXTS, seed=3)
    assert np.array_equal(a, b)


def test_bad_training_data_is_refused() -> None:
    with pytest.raises(ValueError, match="labels"):
        tfidf_logreg_probabilities(TEXTS, LABELS[:-1], ["x"])
    with pytest.raises(ValueError, match="two classes"):
        tfidf_logreg_probabilities(POSITIVE, [2] * 4, ["x"])


def test_predictions_use_argmax_and_positive_minus_negative() -> None:
    train = [Sentence("tweets", str(i), (-2.5, 0.0, 2.5)[y], t) for i, (t, y) in enumerate(zip(TEXTS, LABELS, strict=True))]
    test = [Sentence("tweets", "a", 2.0, "great story"), Sentence("tweets", "b", -2.0, "dull and awful")]
    out = tfidf_logreg(train, test)
    p = tfidf_logreg_probabilities(TEXTS, LABELS, [s.text for s in test])
    assert out.labels.tolist() == p.argmax(axis=1).tolist() == [2, 0]
    assert np.allclose(out.scores, p[:, 2] - p[:, 0])


def test_compare_reports_tfidf_logreg_under_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path / "cache"))
    source = write_toy_corpus(tmp_path / "corpus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = C.compare(None, source=source, progress=False, bootstrap=0)
    assert C.BASELINES["tfidf_logreg"] == "roberta_math.evaluation.baseline:tfidf_logreg"
    assert list(result["test"]) == ["vader", "tfidf_logreg"]
    for domain in (*DOMAINS, "all"):
        assert result["test"]["tfidf_logreg"][domain]["n"] == result["test"]["vader"][domain]["n"] > 0
    # The toy corpus is one template per class: the baseline gets the test split right.
    assert result["test"]["tfidf_logreg"]["all"]["accuracy"] == 1.0
    json.dumps(result, allow_nan=False)


@pytest.mark.slow
def test_the_real_test_split_matches_the_embedded_models_record() -> None:
    # The embedded model's metrics.json was written by the recipe's own, separately coded
    # TF-IDF baseline with the same settings (before it was pointed at this module).
    metrics_path = Path(C.__file__).resolve().parents[1] / "model" / "embedded" / "metrics.json"
    recorded = json.loads(metrics_path.read_text(encoding="utf-8"))["tfidf_logreg_test"]["overall"]
    train, test = load_split("train"), load_split("test")
    out = tfidf_logreg(train, test)
    accuracy = float(np.mean(out.labels == np.array([s.label for s in test])))
    assert accuracy == pytest.approx(recorded["accuracy"], abs=5e-4)
    assert accuracy > 0.65

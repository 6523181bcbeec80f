"""score_texts: batched probabilities equal the model's own one-text-at-a-time softmax, in input order."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_models import tiny_classifier

from roberta_math.errors import UserError
from roberta_math.evaluation.scoring import TruncationWarning, score_texts
from roberta_math.labels import LABELS
from roberta_math.model.loading import LoadedModel, load_model

# Unequal lengths on purpose (1 to ~25 tokens), with a repeat, so sorting by length reorders them.
TEXTS = [
    "ok",
    "I loved this movie, the acting was wonderful and the music even better.",
    "bad",
    "The meeting is at three o'clock on Tuesday in the small room.",
    "ok",
    "Absolutely fantastic service!",
    "What a waste of money and time... never again, never.",
    "Café 🙂",
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    # Column order positive, negative, neutral: the scorer must reorder to LABELS.
    directory = tiny_classifier(tmp_path_factory.mktemp("tiny"), id2label={0: "positive", 1: "negative", 2: "neutral"}, max_tokens=64)
    return load_model(str(directory))


def reference_probabilities(text: str, loaded: LoadedModel, max_length: int | None = None) -> np.ndarray:
    """The model on one text alone (no padding, no batching), softmax, columns by the config's names."""
    kwargs = {"truncation": True, "max_length": max_length} if max_length else {}
    encoded = loaded.tokenizer(text, return_tensors="pt", **kwargs)
    with torch.no_grad():
        probs = torch.softmax(loaded.model(**encoded).logits[0], dim=-1)  # (K,)
    by_name = {loaded.model.config.id2label[i]: float(p) for i, p in enumerate(probs)}
    return np.array([by_name[label] for label in LABELS])


def test_scores_equal_one_by_one_softmax_in_input_order(loaded: LoadedModel) -> None:
    scores = score_texts(TEXTS, loaded, batch_size=3)
    assert scores.shape == (len(TEXTS), 3)
    expected = np.stack([reference_probabilities(t, loaded) for t in TEXTS])
    np.testing.assert_allclose(scores, expected, atol=1e-5, rtol=0)
    # the random model must tell these texts apart, or the order check above proves nothing
    assert np.ptp(expected[:, 0]) > 0.05


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64])
def test_batch_size_does_not_change_scores(loaded: LoadedModel, batch_size: int) -> None:
    np.testing.assert_allclose(score_texts(TEXTS, loaded, batch_size=batch_size), score_texts(TEXTS, loaded, batch_size=1), atol=1e-6)


def test_rows_are_probability_distributions(loaded: LoadedModel) -> None:
    scores = score_texts(TEXTS, loaded)
    assert np.all(scores >= 0)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-9)


def test_equal_texts_get_equal_scores(loaded: LoadedModel) -> None:
    scores = score_texts(TEXTS, loaded, batch_size=2)
    np.testing.assert_allclose(scores[0], scores[4], atol=1e-6)


def test_empty_list_gives_empty_array(loaded: LoadedModel) -> None:
    assert score_texts([], loaded).shape == (0, 3)


def test_long_texts_are_truncated_with_a_warning(loaded: LoadedModel) -> None:
    long_text = " ".join(["wonderful terrible meeting"] * 30)  # far beyond the model's 64 tokens
    assert len(loaded.tokenizer(long_text)["input_ids"]) > loaded.max_tokens
    texts = ["short one", long_text, "another short one", long_text + " again"]
    with pytest.warns(TruncationWarning, match=r"2 of 4 texts were longer than 64 tokens"):
        scores = score_texts(texts, loaded, batch_size=4)
    expected = np.stack([reference_probabilities(t, loaded, max_length=64) for t in texts])
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_no_warning_when_nothing_is_cut(loaded: LoadedModel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_texts(TEXTS, loaded)


def test_max_length_truncates_further(loaded: LoadedModel) -> None:
    text = TEXTS[1]
    with pytest.warns(TruncationWarning, match="1 of 1 texts"):
        scores = score_texts([text], loaded, max_length=6)
    np.testing.assert_allclose(scores[0], reference_probabilities(text, loaded, max_length=6), atol=1e-5)


def test_max_length_beyond_the_model_is_refused(loaded: LoadedModel) -> None:
    with pytest.raises(UserError, match="between 2 and 64"):
        score_texts(["hi"], loaded, max_length=500)


@pytest.mark.parametrize("bad", [[""], ["fine", "   "], ["fine", 3]])
def test_bad_texts_are_user_errors(loaded: LoadedModel, bad: list) -> None:
    with pytest.raises(UserError, match="text 0|text 1"):
        score_texts(bad, loaded)


def test_a_single_string_is_refused(loaded: LoadedModel) -> None:
    with pytest.raises(UserError, match="not one string"):
        score_texts("I loved it", loaded)


def test_encoder_has_no_classes_to_score(loaded: LoadedModel, tmp_path: Path) -> None:
    directory = tiny_classifier(tmp_path / "enc")
    encoder = load_model(str(directory), task="encoder")
    with pytest.raises(UserError, match="encoder"):
        score_texts(["hi"], encoder)


def test_progress_bar_goes_to_stderr(loaded: LoadedModel, capsys: pytest.CaptureFixture[str]) -> None:
    score_texts(TEXTS, loaded, batch_size=2, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "scoring" in err

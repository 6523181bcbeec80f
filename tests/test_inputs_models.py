"""Entry points that receive model input: truncation (case 5), absent classes (case 6), per-model preprocessing (case 7).

References: ``transformers``' own tokenizer truncation and forward pass (not the project's
code) for what a cut text should score; the cardiffnlp model card's description of its
preprocessing (user names become ``@user``, links ``http``) for the masked texts.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_models import place_in_hub_cache, tiny_classifier

from roberta_math.cli import main
from roberta_math.errors import UserError
from roberta_math.math.embeddings import EmbeddingWeights, roberta_embeddings
from roberta_math.model.attention_weights import get_attention_weights
from roberta_math.model.forward import classify_from_scratch
from roberta_math.model.loading import load_model
from roberta_math.model.preprocessing import PREPROCESS_FILE, apply_preprocessing, preprocessing_for, twitter_user_http
from roberta_math.model.truncation import TruncationWarning

LONG_TEXT = " ".join(["word"] * 300)


@pytest.fixture(scope="module")
def embedded():
    return load_model("embedded")


def reference_probabilities(loaded, text: str, max_length: int) -> np.ndarray:
    """transformers' tokenizer (with its own truncation) and model, softmax(z / tau) in float64, LABELS order.

    tau is read from the model directory's calibration.json as written (1 without one).
    """
    import json
    from pathlib import Path

    calibration = Path(loaded.provenance.location) / "calibration.json"
    tau = json.loads(calibration.read_text())["temperature"] if calibration.is_file() else 1.0
    encoded = loaded.tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        logits = loaded.model(**encoded).logits.double()
    return torch.softmax(logits / tau, -1)[0, list(loaded.label_columns)].numpy()


# --------------------------------------------------------------------------- case 5: more tokens than positions


def test_case_5_get_attention_weights_truncates_with_the_warning(embedded) -> None:
    assert embedded.max_tokens == 128
    with pytest.warns(TruncationWarning, match="1 of 1 texts were longer than 128 tokens"):
        attention, ids = get_attention_weights(LONG_TEXT, embedded.model, embedded.tokenizer)
    expected_ids = embedded.tokenizer(LONG_TEXT, truncation=True, max_length=128)["input_ids"]
    assert ids[0].tolist() == expected_ids and len(expected_ids) == 128
    assert tuple(attention[0].shape) == (1, embedded.model.config.num_attention_heads, 128, 128)
    assert torch.allclose(attention[-1].sum(-1), torch.ones(1, attention[-1].shape[1], 128), atol=1e-5)


def test_short_texts_give_no_warning(embedded) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_attention_weights("A short text.", embedded.model, embedded.tokenizer)


def test_case_5_score_texts_truncates_and_scores_the_cut_text(embedded) -> None:
    from roberta_math.evaluation.scoring import score_texts

    with pytest.warns(TruncationWarning, match="1 of 2 texts"):
        p = score_texts([LONG_TEXT, "fine"], embedded)
    np.testing.assert_allclose(p[0], reference_probabilities(embedded, LONG_TEXT, 128), atol=1e-5)


def test_case_5_classify_from_scratch_names_both_lengths(embedded) -> None:
    ids = torch.tensor([embedded.tokenizer(LONG_TEXT)["input_ids"]])  # 302 ids, uncut
    with pytest.raises(ValueError, match=rf"the input has {ids.shape[1]} tokens but the position table allows at most 128"):
        classify_from_scratch(embedded.model, ids)
    cut = ids[:, :128]
    logits, _ = classify_from_scratch(embedded.model, cut)  # exactly the limit is fine
    assert logits.shape == (1, 3)


def test_roberta_embeddings_names_both_lengths() -> None:
    d = 4
    w = EmbeddingWeights(torch.randn(10, d), torch.randn(6, d), torch.randn(1, d), torch.ones(d), torch.zeros(d))
    assert roberta_embeddings(torch.tensor([[0, 5, 5, 2]]), w).shape == (1, 4, 4)  # positions 2..5 fit in 6 rows
    with pytest.raises(ValueError, match="the input has 5 tokens but the position table allows at most 4"):
        roberta_embeddings(torch.tensor([[0, 5, 5, 5, 2]]), w)


def test_case_5_explorer_data_truncates_with_the_warning(embedded) -> None:
    from roberta_math.figures.explorer.data import explorer_example

    with pytest.warns(TruncationWarning):
        example = explorer_example(embedded, LONG_TEXT)
    assert len(example["ids"]) == 128 and len(example["attention"][0][0]) == 128


def test_case_5_predict_prints_one_warning_for_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "long.txt"
    path.write_text(f"{LONG_TEXT}\nshort\n{LONG_TEXT}\n")
    assert main(["predict", "--input", str(path), "--json", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 3
    assert err.count("warning:") == 1 and "2 of 3 texts were longer than 128 tokens" in err


# --------------------------------------------------------------------------- case 6: absent classes


def test_case_6_evaluate_two_class_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sklearn.metrics import f1_score

    texts, truth = ["I love it", "I hate it", "wonderful", "awful"], [2, 0, 2, 0]
    path = tmp_path / "pn.csv"
    path.write_text("text,label\n" + "".join(f"{t},{['negative', 'neutral', 'positive'][y]}\n" for t, y in zip(texts, truth)))
    assert main(["predict", *texts, "--json"]) == 0
    names = ["negative", "neutral", "positive"]
    predicted = [names.index(item["label"]) for item in json.loads(capsys.readouterr().out)]
    assert main(["evaluate", "--data", str(path), "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    # scikit-learn with no labels= averages over the classes in the labels or the predictions.
    assert report["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro", zero_division=0), abs=1e-12)
    assert report["absent_classes"] == ([] if 1 in predicted else ["neutral"])
    assert main(["evaluate", "--data", str(path), "--no-progress"]) == 0
    if 1 not in predicted:
        assert "neutral in neither, left out" in capsys.readouterr().out


# --------------------------------------------------------------------------- case 7: per-model preprocessing


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("@anonymous I love it", "@user I love it"),
        ("see https://t.co/abc now", "see http now"),
        ("http://a.b and @x and @", "http and @user and @"),  # a lone @ is not a user name
        ("mail me at a@b.org", "mail me at a@b.org"),  # only words that start with @
        ("two  spaces\t@tab", "two  spaces\t@tab"),  # words are split at single spaces only
    ],
)
def test_twitter_masks_follow_the_model_card(raw: str, masked: str) -> None:
    assert twitter_user_http(raw) == masked


def test_preprocessing_is_declared_for_known_hub_models_and_none_for_embedded(embedded, tmp_path: Path) -> None:
    assert embedded.preprocess == "none" and embedded.provenance.preprocess == "none"
    assert preprocessing_for("cardiffnlp/twitter-roberta-base-sentiment", "hub", tmp_path) == "twitter-user-http"
    assert preprocessing_for("cardiffnlp/twitter-roberta-base-sentiment", "local", tmp_path) == "none"  # a path is not the hub model
    (tmp_path / PREPROCESS_FILE).write_text('{"preprocess": "lowercase"}')
    with pytest.raises(UserError, match="unknown preprocessing 'lowercase'"):
        preprocessing_for("x", "local", tmp_path)
    (tmp_path / PREPROCESS_FILE).write_text("[1]")
    with pytest.raises(UserError, match="needs a string \"preprocess\" key"):
        preprocessing_for("x", "local", tmp_path)


@pytest.fixture(scope="module")
def twitter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tiny_classifier(tmp_path_factory.mktemp("twitter"), max_tokens=64)
    (directory / PREPROCESS_FILE).write_text(json.dumps({"preprocess": "twitter-user-http"}))
    return directory


def test_case_7_directory_preprocessing_is_applied_by_the_scorer(twitter_dir: Path) -> None:
    from roberta_math.evaluation.scoring import score_texts

    loaded = load_model(str(twitter_dir))
    assert loaded.preprocess == "twitter-user-http"
    assert loaded.provenance.as_dict()["preprocess"] == "twitter-user-http"
    assert "preprocess twitter-user-http" in loaded.provenance.short()
    raw = "@anonymous this is great https://t.co/xyz"
    got = score_texts([raw], loaded)[0]
    np.testing.assert_allclose(got, reference_probabilities(loaded, "@user this is great http", 64), atol=1e-6)
    assert not np.allclose(got, reference_probabilities(loaded, raw, 64), atol=1e-4)  # it made a difference


def test_case_7_predict_and_evaluate_apply_it_and_print_it(twitter_dir: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text("text,label\n@anonymous loved it https://x.y,positive\n@someone hated it,negative\n")
    assert main(["predict", "--model", str(twitter_dir), "--input", str(path), "--json", "--no-progress"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["text"] for i in items] == ["@anonymous loved it https://x.y", "@someone hated it"]  # shown as given
    loaded = load_model(str(twitter_dir))
    for item, masked in zip(items, apply_preprocessing([i["text"] for i in items], "twitter-user-http"), strict=True):
        expected = reference_probabilities(loaded, masked, 64)
        assert [item["scores"][k] for k in ("negative", "neutral", "positive")] == pytest.approx(expected.tolist(), abs=1e-6)
    assert main(["evaluate", "--model", str(twitter_dir), "--data", str(path), "--no-progress"]) == 0
    assert "preprocess twitter-user-http" in capsys.readouterr().out


def test_case_7_hub_model_gets_its_declared_preprocessing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = tiny_classifier(tmp_path / "latest")
    cache = tmp_path / "hub-cache"
    place_in_hub_cache(cache, "cardiffnlp/twitter-roberta-base-sentiment-latest",
                       {p.name: p for p in stand_in.iterdir() if p.is_file()})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model("cardiffnlp/twitter-roberta-base-sentiment-latest")
    assert (loaded.preprocess, loaded.provenance.preprocess) == ("twitter-user-http", "twitter-user-http")


def test_case_7_the_sites_provenance_table_names_it(twitter_dir: Path) -> None:
    from roberta_math.figures.model_figures import model_markdown, model_summary

    import html

    table = html.unescape(model_markdown(model_summary(load_model(str(twitter_dir)))))
    assert "| preprocessing | <code>twitter-user-http</code> |" in table


def test_compare_cache_key_changes_with_the_models_preprocessing():
    """A cached comparison must not be served after the preprocessing changes (same weights)."""
    import dataclasses

    from roberta_math.evaluation.result_cache import model_checksum
    from roberta_math.model.loading import load_model

    plain = load_model("embedded")
    twitter = dataclasses.replace(plain, preprocess="twitter-user-http")
    assert model_checksum(plain) == model_checksum(dataclasses.replace(plain))
    assert model_checksum(plain) != model_checksum(twitter)


def test_case_7_the_figures_split_pass_applies_it_like_the_scorer(twitter_dir: Path) -> None:
    """The figures' one pass over a split feeds compare(): its probabilities must be score_texts'."""
    from types import SimpleNamespace

    from roberta_math.evaluation.scoring import score_texts
    from roberta_math.figures.build import FigureParams, StepContext
    from roberta_math.figures.model_figures import split_pass

    texts = ["@anonymous this is great https://t.co/xyz", "@someone hated it", "plain words here"]
    ctx = StepContext(model_name=str(twitter_dir), params=FigureParams(), progress=False)
    ctx._memo["split:test"] = [SimpleNamespace(text=t) for t in texts]
    got = split_pass(ctx, "test").probabilities
    np.testing.assert_allclose(got, score_texts(texts, ctx.loaded(), progress=False), atol=1e-6)

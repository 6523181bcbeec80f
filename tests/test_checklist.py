"""The behavioural tests (CheckList): the templates, the failure rules, the three methods, the CLI and the site's table.

The harness is what is under test here, not a model: the failure counts are checked on
hand-made scorers whose right answer follows from the word lists (a keyword rule that
ignores negation fails every negated sentence, and so on), VADER's column is recomputed
with vaderSentiment called directly, and the model's scorer is checked against
transformers' own forward pass.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from figure_helpers import SMALL_PARAMS, tiny_model_with_log, write_toy_corpus

from roberta_math import cli
from roberta_math.cli import main
from roberta_math.evaluation import baseline, checklist
from roberta_math.evaluation.checklist import (
    DIMINISHERS,
    INTENSIFIERS,
    NAMES,
    NEGATIVE,
    NEGATIVE_ADJECTIVES,
    NEGATIVE_EMOJI,
    NEGATIVE_VERBS,
    NEUTRAL,
    PLACES,
    POSITIVE,
    POSITIVE_ADJECTIVES,
    POSITIVE_EMOJI,
    POSITIVE_VERBS,
    TOLERANCE,
    Case,
    CheckTest,
    checklist_report,
    checklist_suite,
    run_checklist,
    run_test,
    suite_texts,
    swap_adjacent_characters,
)
from roberta_math.evaluation.predictions import Predictions
from roberta_math.labels import LABELS

ROOT = Path(__file__).resolve().parent.parent
POSITIVE_WORDS = set(POSITIVE_ADJECTIVES) | {w for pair in POSITIVE_VERBS for w in pair}
NEGATIVE_WORDS = set(NEGATIVE_ADJECTIVES) | {w for pair in NEGATIVE_VERBS for w in pair}
EXPECTED_TESTS = {
    # name: (type, expected classes of every MFT case)
    "vocabulary_positive": ("MFT", (POSITIVE,)),
    "vocabulary_negative": ("MFT", (NEGATIVE,)),
    "negated_positive": ("MFT", (NEGATIVE,)),
    "negated_negative": ("MFT", (NEUTRAL, POSITIVE)),
    "neutral_facts": ("MFT", (NEUTRAL,)),
    "intensifiers": ("DIR", None),
    "diminishers": ("DIR", None),
    "but_contrast": ("MFT", None),  # positive or negative: the clause after "but" decides
    "emoji": ("MFT", None),
    "change_name": ("INV", None),
    "change_place": ("INV", None),
    "typos": ("INV", None),
    "case": ("INV", None),
}


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text)


def polarity_of(text: str, *, case_sensitive: bool = False) -> int:
    """The class of the last sentiment word of ``text`` (neutral without one); negation and emoji are ignored."""
    label = NEUTRAL
    for word in words(text):
        word = word if case_sensitive else word.lower()
        if word in POSITIVE_WORDS:
            label = POSITIVE
        elif word in NEGATIVE_WORDS:
            label = NEGATIVE
    return label


def keyword_scorer(case_sensitive: bool = False):
    """A hand-made method: the last sentiment word decides; signed score +1 / 0 / -1."""
    def score(texts: list[str]) -> Predictions:
        labels = np.array([polarity_of(t, case_sensitive=case_sensitive) for t in texts], dtype=np.int64)
        return Predictions(labels, (labels - 1).astype(np.float64))

    return score


@pytest.fixture(scope="module")
def suite() -> dict[str, CheckTest]:
    return {t.name: t for t in checklist_suite()}


# --------------------------------------------------------------------------- the templates


def test_the_suite_has_every_capability_with_its_type_and_thirty_cases(suite: dict[str, CheckTest]) -> None:
    assert {name: t.type for name, t in suite.items()} == {name: kind for name, (kind, _) in EXPECTED_TESTS.items()}
    for name, (_, expected) in EXPECTED_TESTS.items():
        cases = suite[name].cases
        assert len(cases) == 30, name
        assert len({c.texts for c in cases}) == 30, f"{name} repeats a case"
        assert all(len(c.texts) == (1 if suite[name].type == "MFT" else 2) for c in cases), name
        if expected is not None:
            assert {c.expected for c in cases} == {expected}, name
    # "a few hundred sentences", every one a non-empty single line
    texts = suite_texts(tuple(suite.values()))
    assert 300 <= len(texts) <= 1000
    assert all(t.strip() and "\n" not in t for t in texts)


def test_the_suite_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    assert checklist_suite(0) == checklist_suite(0)
    other = {t.name: t for t in checklist_suite(1)}
    assert all(other[t.name].cases != t.cases for t in checklist_suite(0))
    with pytest.raises(checklist.UserError):
        checklist_suite(cases_per_test=0)


def test_hand_checked_sentences() -> None:
    """Sentences read by a person: what each template makes, and the label it should get."""
    texts = {c.texts[0]: c.expected for c in checklist.vocabulary_test(POSITIVE, random.Random(0), k=10_000).cases}
    assert texts["The film was good."] == (POSITIVE,)
    assert texts["What an excellent hotel!"] == (POSITIVE,)  # "an" before a vowel
    assert texts["I loved the book."] == (POSITIVE,)
    negated = {c.texts[0]: c.expected for c in checklist.negation_test(NEGATIVE, random.Random(0), k=10_000).cases}
    assert negated["The meal was not bad."] == (NEUTRAL, POSITIVE)
    assert negated["I did not hate the film."] == (NEUTRAL, POSITIVE)
    assert negated["I don't think the hotel was awful."] == (NEUTRAL, POSITIVE)
    contrast = {c.texts[0]: c.expected for c in checklist.contrast_test(random.Random(0), k=100_000).cases}
    assert contrast["The film was bad, but the book was great."] == (POSITIVE,)
    assert contrast["I loved the film, but I hated the book."] == (NEGATIVE,)
    degree = {c.texts: c.direction for c in checklist.degree_test("diminisher", random.Random(0), k=2000).cases}
    assert degree[("The film was good.", "The film was slightly good.")] == -1
    assert degree[("The film was bad.", "The film was slightly bad.")] == +1
    emoji = {c.texts[0]: c.expected for c in checklist.emoji_test(random.Random(0), k=10_000).cases}
    assert emoji["Saw the film on Tuesday \U0001F60D"] == (POSITIVE,)
    assert emoji["Anna mentioned the book \U0001F44E"] == (NEGATIVE,)


def test_mft_sentences_carry_the_words_their_label_rests_on(suite: dict[str, CheckTest]) -> None:
    for polarity, name, own, other in ((POSITIVE, "vocabulary_positive", POSITIVE_WORDS, NEGATIVE_WORDS),
                                       (NEGATIVE, "vocabulary_negative", NEGATIVE_WORDS, POSITIVE_WORDS)):
        for case in suite[name].cases:
            ws = {w.lower() for w in words(case.texts[0])}
            assert ws & own and not ws & other and "not" not in ws, case
    for name, own in (("negated_positive", POSITIVE_WORDS), ("negated_negative", NEGATIVE_WORDS)):
        for case in suite[name].cases:
            ws = {w.lower() for w in words(case.texts[0])}
            assert ws & own and ({"not", "don't"} & ws), case
    for case in suite["neutral_facts"].cases:
        assert polarity_of(case.texts[0]) == NEUTRAL and "not" not in words(case.texts[0]), case
    for case in suite["but_contrast"].cases:
        before, after = case.texts[0].split(", but ")
        assert polarity_of(after) == case.expected[0] and polarity_of(before) == 2 - case.expected[0], case
    for case in suite["emoji"].cases:
        text, emoji = case.texts[0].rsplit(" ", 1)
        assert polarity_of(text) == NEUTRAL, case
        assert case.expected == ((POSITIVE,) if emoji in POSITIVE_EMOJI else (NEGATIVE,)), case
        assert emoji in POSITIVE_EMOJI + NEGATIVE_EMOJI
    # half of each polar test ends positive, half negative
    for name in ("but_contrast", "emoji"):
        assert sorted(c.expected[0] for c in suite[name].cases) == [NEGATIVE] * 15 + [POSITIVE] * 15, name


def test_pairs_differ_by_exactly_the_perturbation(suite: dict[str, CheckTest]) -> None:
    for name, entities in (("change_name", NAMES), ("change_place", PLACES)):
        for case in suite[name].cases:
            a, b = (t.split(" ") for t in case.texts)
            changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
            assert len(changed) == 1, case
            assert all(w.rstrip(".") in entities for w in changed[0]), case
    for case in suite["typos"].cases:
        a, b = case.texts
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert len(a) == len(b) and len(diff) == 2 and diff[1] == diff[0] + 1, case
        i = diff[0]
        assert (b[i], b[i + 1]) == (a[i + 1], a[i]) and a[i].isalpha() and a[i + 1].isalpha(), case
    for case in suite["case"].cases:
        a, b = case.texts
        assert b in (a.lower(), a.upper()) and b != a, case
    for name, modifiers, sign in (("intensifiers", INTENSIFIERS, 1), ("diminishers", DIMINISHERS, -1)):
        for case in suite[name].cases:
            base, modified = case.texts
            stem, adjective = base[:-1].rsplit(" ", 1)
            assert any(modified == f"{stem} {m} {adjective}." for m in modifiers), case
            expected = sign if adjective in POSITIVE_ADJECTIVES else -sign
            assert case.direction == expected, case


def test_a_typo_swaps_two_neighbouring_letters() -> None:
    rng = random.Random(3)
    seen = {swap_adjacent_characters("abcd", rng) for _ in range(200)}
    assert seen == {"bacd", "acbd", "abdc"}
    # "good" has one pair of equal letters ("oo"), which is no typo: it is never chosen
    seen = {swap_adjacent_characters("a good film", random.Random(seed)) for seed in range(300)}
    assert seen == {"a ogod film", "a godo film", "a good iflm", "a good flim", "a good fiml"}
    with pytest.raises(ValueError, match="no word of four letters"):
        swap_adjacent_characters("a bad day", random.Random(0))


# --------------------------------------------------------------------------- the failure rules


def test_failure_counts_of_a_keyword_rule_follow_from_the_word_lists(suite: dict[str, CheckTest]) -> None:
    """The last sentiment word decides, negation and emoji are ignored: every count below is derived by hand."""
    result = run_checklist(keyword_scorer(), tuple(suite.values()))
    expected = {
        "vocabulary_positive": 0, "vocabulary_negative": 0,  # a word of the right polarity, no other
        "negated_positive": 30, "negated_negative": 30,  # negation ignored: the word's own class, always wrong
        "neutral_facts": 0,  # no sentiment word
        "intensifiers": 0, "diminishers": 0,  # the score does not move at all
        "but_contrast": 0,  # the last sentiment word is in the clause after "but"
        "emoji": 30,  # emoji ignored: neutral
        "change_name": 0, "change_place": 0, "case": 0,  # the words that decide are untouched / case-folded
    }
    for name, failures in expected.items():
        assert result[name]["failures"] == failures, name
        assert result[name]["n"] == 30 and result[name]["failure_rate"] == pytest.approx(failures / 30), name
    # A typo changes the class exactly when it lands in the sentiment word.
    hits = sum(polarity_of(c.texts[1]) != polarity_of(c.texts[0]) for c in suite["typos"].cases)
    assert 0 < hits < 30
    assert result["typos"]["failures"] == hits


def test_a_case_sensitive_rule_fails_the_upper_case_half(suite: dict[str, CheckTest]) -> None:
    result = run_checklist(keyword_scorer(case_sensitive=True), (suite["case"],))
    assert (result["case"]["failures"], result["case"]["n"]) == (15, 30)  # every other sentence is in upper case
    assert all(e["texts"][1].isupper() for e in result["case"]["examples"])


def test_dir_tolerance_and_direction_on_hand_made_scores() -> None:
    test = CheckTest("t", "c", "DIR", "x", (
        Case(("a", "a1"), direction=1),  # +0.50 -> +0.46: within the tolerance
        Case(("a", "a2"), direction=1),  # +0.50 -> +0.44: falls by more than the tolerance
        Case(("b", "b1"), direction=-1),  # -0.50 -> -0.44: rises by more than the tolerance
        Case(("b", "b2"), direction=-1),  # -0.50 -> -0.90: falls, as it should
    ))
    score = {"a": 0.5, "a1": 0.46, "a2": 0.44, "b": -0.5, "b1": -0.44, "b2": -0.9}
    result = run_test(test, {t: (2 if s > 0 else 0, s) for t, s in score.items()})
    assert (result["failures"], result["n"]) == (2, 4)
    assert [e["texts"] for e in result["examples"]] == [["a", "a2"], ["b", "b1"]]
    assert [e["direction"] for e in result["examples"]] == [1, -1]
    assert TOLERANCE == 0.05


def test_mft_and_inv_on_hand_made_labels() -> None:
    mft = CheckTest("m", "c", "MFT", "x", (Case(("x",), (1, 2)), Case(("y",), (0,)), Case(("z",), (1, 2))))
    result = run_test(mft, {"x": (0, -0.5), "y": (0, -0.5), "z": (2, 0.5)})
    assert (result["failures"], result["failure_rate"]) == (1, 1 / 3)
    assert result["examples"] == [{"texts": ["x"], "predicted": ["negative"], "scores": [-0.5],
                                   "expected": ["neutral", "positive"], "direction": None}]
    inv = CheckTest("i", "c", "INV", "x", (Case(("p", "q")), Case(("p", "r")), Case(("s", "t"))))
    # the first prediction is wrong for "s" and "t" alike: INV only asks that they agree
    result = run_test(inv, {"p": (2, 0.9), "q": (2, 0.2), "r": (1, 0.1), "s": (0, -1.0), "t": (0, -0.1)}, examples=5)
    assert result["failures"] == 1 and result["examples"][0]["texts"] == ["p", "r"]


def test_examples_are_the_first_failures_and_capped() -> None:
    test = CheckTest("m", "c", "MFT", "x", tuple(Case((f"t{i}",), (2,)) for i in range(10)))
    predictions = {f"t{i}": (0 if i % 2 else 2, 0.0) for i in range(10)}
    assert [e["texts"][0] for e in run_test(test, predictions, examples=3)["examples"]] == ["t1", "t3", "t5"]
    assert run_test(test, predictions, examples=0)["examples"] == []
    assert run_test(test, predictions)["failures"] == 5
    with pytest.raises(checklist.UserError, match="examples must be 0 or more"):
        run_checklist(keyword_scorer(), (test,), examples=-1)


def test_the_scorer_is_called_once_on_the_distinct_texts(suite: dict[str, CheckTest]) -> None:
    calls: list[list[str]] = []

    def counted(texts: list[str]) -> Predictions:
        calls.append(list(texts))
        return keyword_scorer()(texts)

    run_checklist(counted, tuple(suite.values()))
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0])) == len(suite_texts(tuple(suite.values())))

    def short(texts: list[str]) -> Predictions:
        return Predictions(np.zeros(1, dtype=np.int64), np.zeros(1))

    with pytest.raises(ValueError, match="returned 1 predictions"):
        run_checklist(short, tuple(suite.values()))


# --------------------------------------------------------------------------- the three methods


def direct_failures(test: CheckTest, label: dict[str, int], score: dict[str, float]) -> int:
    """The failure rules of the module docstring, written again here from the definitions."""
    failures = 0
    for case in test.cases:
        if test.type == "MFT":
            failures += label[case.texts[0]] not in case.expected
        elif test.type == "INV":
            failures += label[case.texts[0]] != label[case.texts[1]]
        else:
            failures += case.direction * (score[case.texts[1]] - score[case.texts[0]]) < -0.05
    return failures


def vader_direct(texts: list[str]) -> tuple[dict[str, int], dict[str, float]]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    score = {t: sia.polarity_scores(t)["compound"] for t in texts}
    return {t: 2 if s >= 0.05 else 0 if s <= -0.05 else 1 for t, s in score.items()}, score


def test_vader_failures_equal_vadersentiment_called_directly(suite: dict[str, CheckTest]) -> None:
    result = run_checklist(checklist.vader_scorer(), tuple(suite.values()))
    label, score = vader_direct(suite_texts(tuple(suite.values())))
    for name, test in suite.items():
        assert result[name]["failures"] == direct_failures(test, label, score), name


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model_with_log(tmp_path_factory.mktemp("checklist-model") / "model")


def test_the_model_scorer_gives_transformers_argmax_and_signed_score(model_dir: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from roberta_math.model.loading import load_model

    texts = ["The film was not good.", "THE FILM WAS GOOD.", "Saw the film on Tuesday \U0001F60D"]
    predicted = checklist.model_scorer(load_model(str(model_dir)))(texts)
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    with torch.no_grad():
        p = torch.softmax(model(**tokenizer(texts, return_tensors="pt", padding=True)).logits.double(), -1)
    columns = [next(i for i, name in model.config.id2label.items() if name.lower() == label) for label in LABELS]
    p = p[:, columns].numpy()
    assert predicted.labels.tolist() == p.argmax(1).tolist()
    np.testing.assert_allclose(predicted.scores, p[:, 2] - p[:, 0], atol=1e-6)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("checklist-toy")
    return {"corpus": write_toy_corpus(base / "corpus"), "cache": base / "cache"}


@pytest.fixture()
def toy_env(toy: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(toy["corpus"]))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(toy["cache"]))
    return toy


def test_tfidf_is_fitted_on_the_train_split_only_and_cached(toy_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    from roberta_math.data.corpus import load_split

    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path))

    fits: list[list[str]] = []
    real = baseline.tfidf_logreg_probabilities

    def recording(train_texts, train_labels, texts, **kw):
        fits.append(list(train_texts))
        return real(train_texts, train_labels, texts, **kw)

    monkeypatch.setattr(baseline, "tfidf_logreg_probabilities", recording)
    texts = ["I loved the coffee, it was great.", "I hated the film, it was awful!", "the report was discussed on tuesday."]
    first = checklist.tfidf_scorer()(texts)
    train = load_split("train")
    assert fits == [[s.text for s in train]]
    held_out = {s.text for split in ("validation", "test") for s in load_split(split)}
    assert not held_out & set(fits[0])
    # the same probabilities as the baseline of `compare`, fitted directly
    direct = real([s.text for s in train], [s.label for s in train], texts)
    np.testing.assert_array_equal(first.scores, direct[:, 2] - direct[:, 0])
    assert first.labels.tolist() == direct.argmax(1).tolist() == [POSITIVE, NEGATIVE, NEUTRAL]
    # a second scorer reads the cache: no second fit, the same numbers
    again = checklist.tfidf_scorer()(texts)
    assert len(fits) == 1 and again.scores.tolist() == first.scores.tolist()
    # a damaged cache file is refitted, never trusted
    (cached,) = (tmp_path / "checklist").glob("tfidf-*.json")
    cached.write_text('{"key": "', encoding="utf-8")
    checklist.tfidf_scorer()(texts)
    assert len(fits) == 2
    # so is a whole file written under another key
    cached.write_text(json.dumps({"key": "another", "probabilities": [[0.2, 0.3, 0.5]] * 3}), encoding="utf-8")
    assert checklist.tfidf_scorer()(texts).scores.tolist() == first.scores.tolist()
    assert len(fits) == 3
    # other texts, another key
    checklist.tfidf_scorer()(texts[:2])
    assert len(fits) == 4


def test_the_report_layout(toy_env: dict[str, Path], model_dir: Path) -> None:
    report = checklist_report(str(model_dir), examples=2)
    assert report["methods"] == [report["model"], "vader", "tfidf_logreg"]
    assert [t["name"] for t in report["tests"]] == list(EXPECTED_TESTS)
    for test in report["tests"]:
        for method in report["methods"]:
            r = test["results"][method]
            assert r["n"] == test["n"] == 30 and 0 <= r["failures"] <= 30
            assert r["failure_rate"] == pytest.approx(r["failures"] / 30)
            assert len(r["examples"]) == min(2, r["failures"])
    with pytest.raises(checklist.UserError, match="nothing to test"):
        checklist_report(None, baselines=False)
    baselines_only = checklist_report(None)
    assert baselines_only["methods"] == ["vader", "tfidf_logreg"] and baselines_only["model"] is None


# --------------------------------------------------------------------------- the command line


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_subcommand_is_registered() -> None:
    assert "roberta_math.evaluation.checklist_cli:SUBCOMMAND" in cli.EXTERNAL_SUBCOMMANDS
    args = cli.build_parser().parse_args(["checklist", "--json"])
    assert (args.model, args.json, args.examples, args.no_baselines) == ("embedded", True, 3, False)


def test_cli_json_shape(capsys: pytest.CaptureFixture[str], toy_env: dict[str, Path], model_dir: Path) -> None:
    status, out, err = run_cli(capsys, "checklist", "--model", str(model_dir), "--json", "--examples", "1", "--no-progress")
    assert status == 0, err
    report = json.loads(out)
    assert set(report) == {"format", "seed", "tolerance", "model", "provenance", "methods", "method_titles",
                           "test_types", "tests"}
    assert report["format"] == 1 and report["seed"] == 0 and report["tolerance"] == TOLERANCE
    assert report["provenance"]["name"] == str(model_dir) and report["provenance"]["temperature"] == 1.0
    assert set(report["test_types"]) == {"MFT", "INV", "DIR"}
    assert len(report["tests"]) == 13 and len(report["methods"]) == 3
    for test in report["tests"]:
        assert set(test) == {"name", "capability", "type", "expectation", "n", "results"}
        assert set(test["results"]) == set(report["methods"])
        for r in test["results"].values():
            assert set(r) == {"n", "failures", "failure_rate", "examples"} and len(r["examples"]) <= 1
            for example in r["examples"]:
                assert set(example) == {"texts", "predicted", "scores", "expected", "direction"}
                assert all(label in LABELS for label in example["predicted"])
    # the same numbers as the library call
    direct = checklist_report(str(model_dir), examples=1)
    assert report == json.loads(json.dumps(direct))


def test_cli_table_and_model_only(capsys: pytest.CaptureFixture[str], toy_env: dict[str, Path], model_dir: Path) -> None:
    status, out, err = run_cli(capsys, "checklist", "--model", str(model_dir), "--no-baselines", "--no-progress")
    assert status == 0, err
    assert "vader" not in out.split("\n")[1]
    for name in EXPECTED_TESTS:
        assert re.search(rf"^{name}\s+(MFT|INV|DIR)\s+\d+/30\s+\d+%$", out, re.MULTILINE), name
    status, out, _ = run_cli(capsys, "checklist", "--model", str(model_dir), "--no-baselines", "--json", "--no-progress")
    assert json.loads(out)["methods"] == [json.loads(out)["model"]]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--examples", "-1"], "--examples must be 0 or more"),
    (["--model", "/no/such/model/dir"], "/no/such/model/dir"),
])
def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    status, out, err = run_cli(capsys, "checklist", *argv)
    assert status == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("roberta-math: error:")]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in err


# --------------------------------------------------------------------------- the figure step and the site


class Tables(HTMLParser):
    """The cell texts of every table in an HTML page (or fragment)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


RATE = re.compile(r"^(\d+)% \((\d+)/(\d+)\)$")


def check_rate_table(rows: list[list[str]], report: dict[str, Any]) -> None:
    """The failure-rate table: one row per test, each method's cell equal to the report's count and rate."""
    header, body = rows[0], rows[1:]
    order = [report["model"]] + [m for m in report["methods"] if m != report["model"]]
    assert header[:2] == ["capability", "test"] and header[-1] == "expected behaviour"
    assert len(header) == 3 + len(order)
    assert len(body) == len(report["tests"])
    for row, test in zip(body, report["tests"], strict=True):
        assert row[1] == f"{test['name'].replace('_', ' ')} ({test['type']})"
        assert row[-1] == test["expectation"]
        for cell, method in zip(row[2:-1], order, strict=True):
            match = RATE.match(cell)
            assert match, cell
            failures, n = int(match[2]), int(match[3])
            result = test["results"][method]
            assert (failures, n) == (result["failures"], result["n"]), (test["name"], method)
            assert int(match[1]) == round(100 * failures / n), cell


@pytest.fixture(scope="module")
def built(toy: dict[str, Path], model_dir: Path) -> dict[str, Any]:
    from roberta_math.figures.build import build_figures, params_from_mapping

    out = toy["corpus"].parent / "figures"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROBERTA_MATH_CORPUS", str(toy["corpus"]))
        patch.setenv("ROBERTA_MATH_CACHE", str(toy["cache"]))
        first = build_figures(out, model=str(model_dir), progress=False, params=params_from_mapping(SMALL_PARAMS),
                              steps=["checklist"])
        second = build_figures(out, model=str(model_dir), progress=False, params=params_from_mapping(SMALL_PARAMS),
                               steps=["checklist"])
    return {"out": out, "first": first, "second": second}


def test_the_figure_step_writes_the_tables_and_reuses_them(built: dict[str, Any]) -> None:
    import markdown

    out = built["out"]
    report = json.loads((out / "checklist.json").read_text(encoding="utf-8"))
    assert built["first"]["run"]["forward_sentences"] == len(suite_texts(checklist_suite()))
    assert built["second"]["run"]["steps_reused"] == ["checklist"] and built["second"]["run"]["forward_passes"] == 0
    table = markdown.markdown((out / "checklist_table.md").read_text(encoding="utf-8"), extensions=["tables"])
    (rows,) = tables_of(table)
    check_rate_table(rows, report)
    examples = markdown.markdown((out / "checklist_examples.md").read_text(encoding="utf-8"), extensions=["tables"])
    shown = sum(min(3, t["results"][report["model"]]["failures"]) for t in report["tests"])
    assert sum(len(t) - 1 for t in tables_of(examples)) == shown
    # every sentence of the examples is one of the suite's, shown as written
    texts = set(suite_texts(checklist_suite()))
    for table_rows in tables_of(examples):
        for row in table_rows[1:]:
            assert all(part in texts for part in html.unescape(row[1]).split(" \u2192 ")), row[1]


@pytest.fixture(scope="module")
def site() -> Path:
    given = os.environ.get("ROBERTA_MATH_SITE_DIR")
    if given:
        path = Path(given)
        if not (path / "behaviour" / "index.html").is_file():
            pytest.fail(f"ROBERTA_MATH_SITE_DIR={given} has no behaviour/index.html: rebuild the site")
        return path
    out = Path(__import__("tempfile").mkdtemp(prefix="checklist-site-"))
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT, check=False,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{build.stderr[-4000:]}")
    return out


def test_the_built_page_shows_the_failure_rates_of_the_published_report(site: Path) -> None:
    page = (site / "behaviour" / "index.html").read_text(encoding="utf-8")
    report = json.loads((site / "figures" / "checklist.json").read_text(encoding="utf-8"))
    tables = tables_of(page)
    (rates,) = [t for t in tables if t and t[0][:2] == ["capability", "test"]]
    check_rate_table(rates, report)
    # VADER's column, recomputed here from vaderSentiment and the suite
    suite = checklist_suite(report["seed"])
    label, score = vader_direct(suite_texts(suite))
    for test, row in zip(suite, rates[1:], strict=True):
        failures = direct_failures(test, label, score)
        assert int(RATE.match(row[2 + report["methods"].index("vader")])[2]) == failures, test.name
    (examples,) = [t for t in tables if t and t[0] == ["test", "sentence", "expected", "the model says"]]
    assert len(examples) > 1

"""The comparison's Markdown tables: right numbers in the right cells, every method, text that cannot break them.

The ``evaluation`` figure step runs once on a toy corpus (with individual ratings that
all equal the mean, so the rater row has a known answer) and a tiny random model. The
numbers in the tables are checked against scikit-learn, scipy and vaderSentiment called
directly; the Markdown is checked by parsing it with the site's own Markdown extensions.
"""

from __future__ import annotations

import copy
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import numpy as np
import pytest
from figure_helpers import SMALL_PARAMS, tiny_model_with_log, write_toy_corpus
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score, f1_score, recall_score

from roberta_math.data.corpus import DOMAINS, FILE_STEMS, load_corpus, load_split
from roberta_math.evaluation import scoring
from roberta_math.figures import evaluation_figures as E
from roberta_math.figures.build import build_figures, params_from_mapping
from roberta_math.figures.render import markdown_table
from roberta_math.model import loading

TRICKY = "$5 | <b>bold</b> *x* `code` snake_case_name and $9 ^ 2 \\(y\\)"
"""A corpus sentence that would break a table, turn into HTML/emphasis/code, or be read as math if not escaped."""

# The Markdown extensions of mkdocs.yml that could misread a table cell.
SITE_EXTENSIONS = ["tables", "attr_list", "md_in_html", "pymdownx.superfences", "pymdownx.arithmatex", "pymdownx.tabbed"]
SITE_EXTENSION_CONFIGS = {"pymdownx.arithmatex": {"generic": True}, "pymdownx.tabbed": {"alternate_style": True}}

FRAGMENTS = ("vader_table4.md", "paper_readings.md", "individual_humans.md", "test_split.md", "error_analysis.md",
             "disagreements.md", "evaluation_metrics.md")


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=SITE_EXTENSIONS, extension_configs=SITE_EXTENSION_CONFIGS)


class Tables(HTMLParser):
    """Every table of an HTML page: rows of cells, each cell's text and the tags inside it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[dict[str, Any]]]] = []
        self._cell: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = {"text": "", "tags": []}
            self.tables[-1][-1].append(self._cell)
        elif self._cell is not None:
            self._cell["tags"].append(tag)
            if tag == "br":
                self._cell["text"] += " "
            self._cell["classes"] = self._cell.get("classes", []) + [dict(attrs).get("class") or ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell["text"] += data


def parse_tables(text: str) -> list[list[list[dict[str, Any]]]]:
    parser = Tables()
    parser.feed(to_html(text))
    return parser.tables


def rows_of(text: str) -> list[list[str]]:
    """The cell texts of the one table in ``text``, header first, whitespace collapsed."""
    (table,) = parse_tables(text)
    return [[" ".join(c["text"].split()) for c in row] for row in table]


# --------------------------------------------------------------------------- the build


def write_agreeing_ratings(corpus: Path) -> None:
    """``*_anonDataRatings.txt`` in which each of 20 raters gives exactly the mean: one rater is the mean."""
    for domain in DOMAINS:
        truth = (corpus / f"{FILE_STEMS[domain]}_GroundTruth.txt").read_text(encoding="utf-8").splitlines()
        lines = []
        for line in truth:
            sid, valence, _ = line.split("\t", 2)
            lines.append(f"{sid}\t{valence}\t0.0\t{json.dumps([float(valence)] * 20)}\r\n")
        (corpus / f"{FILE_STEMS[domain]}_anonDataRatings.txt").write_text("".join(lines), encoding="utf-8", newline="")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("evaluation-tables")
    corpus = write_toy_corpus(base / "corpus")
    # A sentence that needs escaping replaces the text of the positive tweet of the test split
    # (a sentence's split depends on its domain, id and label only, not on its text).
    (target,) = [s for s in load_split("test", corpus) if s.domain == "tweets" and s.label == 2]
    tweets = corpus / "tweets_GroundTruth.txt"
    lines = tweets.read_text(encoding="utf-8").splitlines()
    lines = [f"{target.id}\t2.5\t{TRICKY}" if line.split("\t")[0] == target.id else line for line in lines]
    tweets.write_text("".join(f"{line}\r\n" for line in lines), encoding="utf-8", newline="")
    write_agreeing_ratings(corpus)
    return {"base": base, "corpus": corpus, "model": tiny_model_with_log(base / "model"), "cache": base / "cache"}


@pytest.fixture()
def env(inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(inputs["corpus"]))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(inputs["cache"]))


@pytest.fixture(scope="module")
def built(inputs: dict[str, Path]) -> dict[str, Any]:
    """One cold build of the ``evaluation`` step (compare's cache cold too)."""
    out = inputs["base"] / "figures"
    originals = (loading.load_model, scoring.score_texts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROBERTA_MATH_CORPUS", str(inputs["corpus"]))
        patch.setenv("ROBERTA_MATH_CACHE", str(inputs["cache"]))
        manifest = build_figures(out, model=str(inputs["model"]), progress=False,
                                 params=params_from_mapping(SMALL_PARAMS), steps=["evaluation"])
        test = load_split("test")
    assert (loading.load_model, scoring.score_texts) == originals  # the step passes its model to compare, swaps nothing
    return {"out": out, "manifest": manifest, "test": test}


def fragment(built: dict[str, Any], name: str) -> str:
    return (built["out"] / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def expected(inputs: dict[str, Path], built: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Test-split metrics of VADER and the model over all four domains, computed without the project's metric code."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    test = built["test"]
    truth = np.array([s.label for s in test])
    valence = np.array([s.valence for s in test])
    sia = SentimentIntensityAnalyzer()
    compound = np.array([sia.polarity_scores(s.text)["compound"] for s in test])
    vader_labels = np.where(compound >= 0.05, 2, np.where(compound <= -0.05, 0, 1))
    probabilities = scoring.score_texts([s.text for s in test], loading.load_model(str(inputs["model"])))
    model_labels = probabilities.argmax(axis=1)
    model_scores = probabilities[:, 2] - probabilities[:, 0]

    def metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
        return {
            "accuracy": accuracy_score(truth, labels),
            "macro_f1": f1_score(truth, labels, labels=[0, 1, 2], average="macro", zero_division=0),
            "macro_recall": recall_score(truth, labels, labels=[0, 1, 2], average="macro", zero_division=0),
            "pearson_r": pearsonr(scores, valence)[0],
        }

    return {"vader": metrics(vader_labels, compound), "model": metrics(model_labels, model_scores)}


def as_number(cell: str) -> float:
    return float(cell.replace("\u2212", "-").split()[0].strip("*"))


# --------------------------------------------------------------------------- the numbers


def test_the_test_split_table_holds_the_independently_computed_metrics(built: dict[str, Any],
                                                                          expected: dict[str, dict[str, float]]) -> None:
    rows = rows_of(fragment(built, "test_split.md"))
    header = rows[0]
    assert header[:2] == ["domain", "method"]
    columns = {"accuracy": header.index("accuracy"), "macro_f1": header.index("macro-F1"),
               "macro_recall": header.index("macro recall"), "pearson_r": header.index("Pearson r")}
    by_domain: dict[str, dict[str, list[str]]] = {}
    domain, method = None, None
    for row in rows[1:]:
        domain = row[0] or domain  # "all four n = 12": the name, then the count
        if row[1].startswith("\u21b3 minus "):  # the difference row under each method
            by_domain[domain][f"{method} minus VADER"] = row
        else:
            method = row[1]
            by_domain.setdefault(domain, {})[method] = row
    everything = by_domain[f"all four n = {len(built['test'])}"]
    model_title = next(m for m in everything if m.endswith("(model)"))
    for key, column in columns.items():
        for method, title in (("vader", "VADER"), ("model", model_title)):
            assert as_number(everything[title][column]) == pytest.approx(expected[method][key], abs=5e-4), (method, key)
        # The difference row: the model minus VADER, the interval around it.
        difference = everything[f"{model_title} minus VADER"][column]
        estimate, low, high = (float(x.replace("\u2212", "-")) for x in re.findall(r"[+\u2212]\d\.\d{3}", difference))
        assert estimate == pytest.approx(expected["model"][key] - expected["vader"][key], abs=1.5e-3)
        assert low <= estimate <= high


def test_the_table_4_fragment_shows_the_published_numbers_beside_ours(built: dict[str, Any]) -> None:
    rows = rows_of(fragment(built, "vader_table4.md"))
    header = rows[0]

    def cells(domain: str) -> dict[str, tuple[str, str]]:
        """Column -> (paper, ours) for the columns that hold both."""
        row = dict(zip(header, next(r for r in rows if r[0] == domain), strict=True))
        return {k.split(":")[0]: tuple(v.split(" / ")) for k, v in row.items() if "paper / ours" in k} | {
            "domain": row["domain"]}

    tweets = cells(next(r[0] for r in rows if r[0].startswith("tweets")))
    # Hutto & Gilbert (2014), Table 4, VADER on tweets: r 0.881, P 0.99, R 0.94, F1 0.96.
    assert [tweets[k][0] for k in ("r", "P", "R", "F1")] == ["0.881", "0.99", "0.94", "0.96"]
    nyt = cells(next(r[0] for r in rows if r[0].startswith("NYT editorials")))
    assert (nyt["r"][0], nyt["F1"][0]) == ("0.492", "0.55")
    # Ours: VADER's compound against the human mean over every toy tweet.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    toy_tweets = [s for s in load_corpus(built["out"].parent / "corpus") if s.domain == "tweets"]
    r = pearsonr([sia.polarity_scores(s.text)["compound"] for s in toy_tweets], [s.valence for s in toy_tweets])[0]
    assert tweets["domain"] == f"tweets n = {len(toy_tweets)}"
    assert as_number(tweets["r"][1]) == pytest.approx(r, abs=5e-4)
    assert rows[-1][0].startswith("all four") and cells(rows[-1][0])["r"][0] == "\u2013"  # no pooled row in the paper


def test_one_rater_who_always_gives_the_mean_matches_it_perfectly(built: dict[str, Any]) -> None:
    rows = rows_of(fragment(built, "individual_humans.md"))
    header = rows[0]
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        assert cells["domain"].endswith(" 20 ratings each")
        # "paper / ours [low, high]": ours and both ends of its range across draws are exactly 1
        assert cells["r: paper / ours"].split()[2:] == ["1.000", "[1.000,", "1.000]"]
        assert cells["F1: paper / ours"].split()[2:] == ["1.000", "[1.000,", "1.000]"]
    tweets = dict(zip(header, rows[1], strict=True))
    # Table 4, "Ind. Humans", tweets: r 0.888, F1 0.84.
    assert (tweets["r: paper / ours"].split()[0], tweets["F1: paper / ours"].split()[0]) == ("0.888", "0.84")


def test_the_error_analysis_counts_the_tagged_test_sentences(built: dict[str, Any]) -> None:
    rows = rows_of(fragment(built, "error_analysis.md"))
    header = rows[0]
    assert header[1] == "n tweets / movies / Amazon / NYT"
    exclamation = dict(zip(header, next(r for r in rows if r[0].startswith("exclamation ")), strict=True))
    test = built["test"]
    tagged = [s for s in test if "!" in s.text]
    total, per_domain = exclamation[header[1]].split(" ", 1)
    assert total == str(len(tagged))
    assert per_domain == " / ".join(str(sum(s.domain == d for s in tagged)) for d in DOMAINS)
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()

    def vader_right(s: Any) -> bool:
        c = sia.polarity_scores(s.text)["compound"]
        return (2 if c >= 0.05 else 0 if c <= -0.05 else 1) == s.label

    accuracy = np.mean([vader_right(s) for s in tagged])
    rest = np.mean([vader_right(s) for s in test if "!" not in s.text])
    assert exclamation["VADER"] == f"{accuracy:.3f} rest {rest:.3f}".replace("-", "\u2212")


def test_the_model_in_the_tables_is_the_model_in_the_reliability_diagram(built: dict[str, Any]) -> None:
    data = json.loads(fragment(built, "evaluation.json"))
    model = data["model"]
    assert data["reliability"]["split"] == "test"
    assert data["reliability"]["overall_accuracy"] == pytest.approx(data["metrics"][model]["all"]["accuracy"], abs=1e-9)
    assert data["methods"][:2] == ["vader", model]


# --------------------------------------------------------------------------- the cache


def test_a_cold_comparison_reuses_the_split_pass_and_loads_the_model_once(built: dict[str, Any]) -> None:
    run = built["manifest"]["run"]
    # compare's cache was cold, yet the test split went through the model once: the split pass.
    assert run["model_loads"] == 1
    assert run["forward_sentences"] == len(built["test"])


def test_the_reused_probabilities_are_the_ones_score_texts_gives(inputs: dict[str, Path], env: None) -> None:
    from roberta_math.figures.build import StepContext
    from roberta_math.figures.model_figures import cached_split_pass

    ctx = StepContext(model_name=str(inputs["model"]), params=params_from_mapping(SMALL_PARAMS), progress=False)
    split_pass = cached_split_pass(ctx)
    scored = scoring.score_texts([s.text for s in split_pass.sentences], ctx.loaded())
    assert np.array_equal(split_pass.probabilities, scored)


def test_scoring_the_step_cannot_reuse_is_counted(inputs: dict[str, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the split pass over the validation split, compare must score the test split itself."""
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(inputs["corpus"]))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(tmp_path / "cold-cache"))  # compare's cache cold again
    params = params_from_mapping({**SMALL_PARAMS, "evaluation_split": "validation"})
    manifest = build_figures(tmp_path / "figures", model=str(inputs["model"]), progress=False, params=params,
                             steps=["evaluation"])
    run = manifest["run"]
    assert run["model_loads"] == 1
    assert run["forward_sentences"] == len(load_split("validation")) + len(load_split("test"))
    # The tables still describe the test split; the reliability diagram the validation split.
    data = json.loads((tmp_path / "figures" / "evaluation.json").read_text())
    assert data["reliability"]["split"] == "validation"
    assert data["metrics"]["vader"]["all"]["n"] == len(load_split("test"))


def test_a_rebuild_reads_compares_cache_instead_of_rescoring(built: dict[str, Any], inputs: dict[str, Path],
                                                             tmp_path: Path, env: None) -> None:
    manifest = build_figures(tmp_path / "figures", model=str(inputs["model"]), progress=False,
                             params=params_from_mapping(SMALL_PARAMS), steps=["evaluation"])
    assert manifest["run"]["steps_run"] == ["evaluation"]
    assert manifest["run"]["forward_sentences"] == len(built["test"])  # the split pass only
    for name in FRAGMENTS:
        assert (tmp_path / "figures" / name).read_bytes() == (built["out"] / name).read_bytes(), name


# --------------------------------------------------------------------------- the Markdown


@pytest.mark.parametrize("name", FRAGMENTS)
def test_every_fragment_parses_into_tables_with_one_cell_per_column(built: dict[str, Any], name: str) -> None:
    tables = parse_tables(fragment(built, name))
    assert tables, f"{name} holds no table"
    for table in tables:
        widths = {len(row) for row in table}
        assert len(widths) == 1, f"{name}: rows of {sorted(widths)} cells"
    page = to_html(fragment(built, name))
    assert "arithmatex" not in page, f"{name}: something in it would be read as math"


def test_a_sentence_full_of_markup_shows_as_written(built: dict[str, Any]) -> None:
    text = fragment(built, "disagreements.md")
    assert "$" not in text
    # With three test tweets and three rows shown per domain, every test tweet is listed,
    # once per method compared with VADER (one content tab each).
    tables = parse_tables(text)
    cells = [cell for table in tables for row in table for cell in row if "bold" in cell["text"]]
    assert len(cells) == len(tables) == text.count('=== "') >= 1
    for cell in cells:
        assert cell["text"] == TRICKY  # every character as written: the whole sentence, in one cell
        assert cell["tags"] == []  # no <b>, <em>, <code> or math span inside the cell


def test_the_check_can_fail_on_unescaped_text() -> None:
    """The parser used above does see what raw text would do to a cell."""
    raw = markdown_table(["id", "sentence"], [["1", TRICKY]])
    (table,) = parse_tables(raw)
    broken_cell = table[1][1]
    assert broken_cell["text"] != TRICKY, "raw text should be cut at its first | (Markdown drops the extra cells)"
    (table,) = parse_tables(markdown_table(["id", "sentence"], [["1", TRICKY.replace("|", "/")]]))
    assert {"b", "em", "code"} <= set(table[1][1]["tags"]), "without the | the markup itself should show"
    assert "arithmatex" in table[1][1]["classes"], "and the dollars should open math"
    escaped = markdown_table(["id", "sentence"], [["1", E.sentence_cell(TRICKY)]])
    (table,) = parse_tables(escaped)
    assert len(table[1]) == 2 and table[1][1]["tags"] == []
    assert html.unescape(table[1][1]["text"]) == TRICKY


# --------------------------------------------------------------------------- every method


def with_extra_method(result: dict[str, Any], like: str, name: str) -> dict[str, Any]:
    """``result`` with a method ``name`` that copies every entry of method ``like``."""
    out = copy.deepcopy(result)
    out["test"][name] = out["test"][like]
    out["bootstrap"]["differences"][name] = out["bootstrap"]["differences"][like]
    for entry in out["error_analysis"]["tags"].values():
        entry["accuracy"][name] = entry["accuracy"][like]
        entry["accuracy_untagged"][name] = entry["accuracy_untagged"][like]
    by_method = out["disagreements"]["by_method"]
    by_method[name] = copy.deepcopy(by_method[like])
    for rows in by_method[name].values():
        for row in rows:
            for key in ("scores", "predictions", "correct"):
                row[key][name] = row[key].pop(like)
    return out


def without_method(result: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(result)
    del out["test"][name]
    out["bootstrap"]["differences"].pop(name, None)
    out["disagreements"]["by_method"].pop(name, None)
    for entry in out["error_analysis"]["tags"].values():
        entry["accuracy"].pop(name, None)
        entry["accuracy_untagged"].pop(name, None)
    return out


def test_every_method_of_the_result_gets_its_rows_and_columns(built: dict[str, Any]) -> None:
    result = json.loads(fragment(built, "comparison.json"))
    model = result["meta"]["model"]
    assert set(result["test"]) >= {"vader", model}
    more = with_extra_method(result, model, "another_method")
    fewer = without_method(result, "tfidf_logreg") if "tfidf_logreg" in result["test"] else result
    for variant, methods in ((more, len(result["test"]) + 1), (fewer, 2)):
        titles = E.method_titles(list(variant["test"]), model)
        split_rows = rows_of(E.held_out_markdown(variant))
        shown = {row[1] for row in split_rows[1:]}
        assert {titles[m] for m in variant["test"]} <= shown
        assert sum(row[1] == "\u21b3 minus VADER" for row in split_rows) == 5 * (methods - 1)
        assert len(split_rows) == 1 + 5 * (2 * methods - 1)  # per domain: each method, each difference
        assert len(split_rows[0]) == 2 + 4
        assert len(rows_of(E.error_analysis_markdown(variant))[0]) == 2 + methods
        assert E.disagreements_markdown(variant).count('=== "') == methods - 1
        assert E.domain_bars_figure({m: variant["test"][m] for m in variant["test"]}, ["all"], "test").startswith(b"<?xml")
    assert "TF-IDF" not in E.held_out_markdown(fewer).replace("&#45;", "-")


def test_methods_are_ordered_vader_model_then_the_rest() -> None:
    assert E.method_order(["tfidf_logreg", "m", "vader", "z"], "m") == ["vader", "m", "tfidf_logreg", "z"]
    titles = E.method_titles(["vader", "m", "tfidf_logreg"], "m")
    assert titles == {"vader": "VADER", "m": "m (model)", "tfidf_logreg": "TF-IDF + logistic regression"}

"""The behavioural tests' tables: failure rates per test and method, and the model's failures.

The numbers come from :func:`roberta_math.evaluation.checklist.checklist_report` (the
same result ``roberta-math checklist --json`` prints) run on the build's model, VADER
and the TF-IDF baseline fitted on the train split. The "Behavioural tests" page
includes the fragments with ``--8<-- "figures/NAME.md"``:

``checklist_table.md``
    One row per test: capability, type, each method's failure rate with its count
    (failures / n), and the expected behaviour.
``checklist_examples.md``
    Up to :data:`EXAMPLES_SHOWN` failing cases of the model per test, with what was
    expected and what the model said.

``checklist.json`` holds the whole report. Sentences are escaped for Markdown
(:func:`~roberta_math.figures.evaluation_figures.sentence_cell`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from roberta_math.figures.evaluation_figures import MINUS, method_titles, sentence_cell
from roberta_math.figures.render import (
    json_bytes,
    markdown_cell,
    markdown_table,
    round_floats,
)

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

EXAMPLES_SHOWN = 3
"""Failing cases of the model shown per test."""

ARROW = "\u2192"


def _titles(report: Mapping[str, Any]) -> dict[str, str]:
    return method_titles(report["methods"], report["model"])


def _order(report: Mapping[str, Any]) -> list[str]:
    """The model first (the page is about it), then VADER, then the rest."""
    model = report["model"]
    return [m for m in report["methods"] if m == model] + [m for m in report["methods"] if m != model]


def rate_cell(result: Mapping[str, Any]) -> str:
    """``"67% (20/30)"``: the failure rate in per cent and the count behind it.

    >>> rate_cell({"n": 30, "failures": 20, "failure_rate": 20 / 30})
    '67%&#160;(20/30)'
    >>> rate_cell({"n": 0, "failures": 0, "failure_rate": None})
    '&#8211;'
    """
    if not result["n"]:
        return "&#8211;"
    return f"{100 * result['failure_rate']:.0f}%&#160;({result['failures']}/{result['n']})"


def title_of(test: Mapping[str, Any]) -> str:
    """A test's name as words: ``negated_positive`` -> ``negated positive``.

    >>> title_of({"name": "but_contrast"})
    'but contrast'
    """
    return str(test["name"]).replace("_", " ")


def checklist_table_markdown(report: Mapping[str, Any]) -> str:
    """One row per test: capability, test and type, each method's failure rate (failures / n), expected behaviour."""
    order = _order(report)
    titles = _titles(report)
    # The rates right after the test's name, so a phone shows them without scrolling sideways.
    header = ["capability", "test", *(markdown_cell(titles[m]) for m in order), "expected behaviour"]
    rows = []
    previous = None
    for test in report["tests"]:
        capability = test["capability"] if test["capability"] != previous else ""
        previous = test["capability"]
        rows.append([
            markdown_cell(capability),
            f"{markdown_cell(title_of(test))} ({test['type']})",
            *(rate_cell(test["results"][m]) for m in order),
            markdown_cell(test["expectation"]),
        ])
    return markdown_table(header, rows, align="ll" + "r" * len(order) + "l")


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", MINUS)


def _said(labels: list[str], scores: list[float]) -> str:
    return f" {ARROW} ".join(f"{label} (&#968;&#160;=&#160;{_signed(score)})" for label, score in zip(labels, scores, strict=True))


def example_cells(test: Mapping[str, Any], example: Mapping[str, Any]) -> list[str]:
    """The sentence(s), what the test expected, and what the method said, as escaped cells.

    >>> test = {"type": "MFT"}
    >>> example_cells(test, {"texts": ["Not bad"], "expected": ["neutral", "positive"], "predicted": ["negative"],
    ...                      "scores": [-0.5], "direction": None})
    ['Not bad', 'neutral or positive', 'negative (&#968;&#160;=&#160;\u22120.50)']
    """
    texts = f" {ARROW} ".join(sentence_cell(t) for t in example["texts"])
    if test["type"] == "MFT":
        expected = " or ".join(example["expected"])
    elif test["type"] == "INV":
        expected = "the same class for both"
    else:
        expected = "&#968; does not fall" if example["direction"] > 0 else "&#968; does not rise"
    return [texts, expected, _said(example["predicted"], example["scores"])]


def checklist_examples_markdown(report: Mapping[str, Any], shown: int = EXAMPLES_SHOWN) -> str:
    """Up to ``shown`` failing cases of the model per test (tests it never fails are listed after the table)."""
    model = report["model"]
    if model is None:
        return "No model was tested.\n"
    rows, clean = [], []
    for test in report["tests"]:
        examples = test["results"][model]["examples"][:shown]
        if not examples:
            clean.append(title_of(test))
        for i, example in enumerate(examples):
            rows.append([f"{markdown_cell(title_of(test))} ({test['type']})" if i == 0 else "", *example_cells(test, example)])
    text = markdown_table(["test", "sentence", "expected", "the model says"], rows) if rows else ""
    if clean:
        text += ("\n" if text else "") + f"No failure in: {', '.join(markdown_cell(c) for c in clean)}.\n"
    return text


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``checklist`` step: the suite on the build's model, VADER and the TF-IDF baseline."""
    from roberta_math.evaluation.checklist import checklist_report, model_scorer

    loaded = ctx.loaded()
    report = checklist_report(
        ctx.model_name,
        loaded=loaded,
        score=model_scorer(loaded, batch_size=ctx.params.batch_size, counted=ctx.count_forward),
        train=ctx.split("train"),
    )
    return {
        "checklist.json": json_bytes(round_floats(report, 6)),
        "checklist_table.md": checklist_table_markdown(report).encode(),
        "checklist_examples.md": checklist_examples_markdown(report).encode(),
    }

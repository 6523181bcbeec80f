r"""Evaluation figures and tables on the held-out test split, from the ``roberta-math compare`` result.

Everything numeric comes from one call of
:func:`~roberta_math.evaluation.compare.compare` (cached by compare itself under
``cache_root()/compare``, so when nothing changed no sentence is rescored): the
per-domain bars and the confusion matrices draw its ``test`` table, and the Markdown
fragments that the "RoBERTa vs VADER" page includes with ``--8<-- "figures/NAME.md"``
render its other sections:

``vader_table4.md``
    VADER on the full corpora beside the published Table 4 (Hutto & Gilbert 2014).
``paper_readings.md``
    VADER's P / R / F1 under each way of reading the paper's averaging and labels
    (``full_vs_paper``), with the mean absolute gap to the paper.
``individual_humans.md``
    The paper's "Ind. Humans" row beside ours.
``test_split.md``
    Every method of the ``test`` table, per domain, and each method minus VADER with
    its paired-bootstrap 95 % interval.
``error_analysis.md``
    Accuracy per rule tag (negation, "but", ...), with counts.
``disagreements.md``
    The test sentences on which a method and VADER disagree most, per domain.

Every method present in the result is rendered (VADER, the model, and any baseline
registered in :data:`~roberta_math.evaluation.compare.BASELINES`); nothing here
assumes there are exactly two. The reliability diagram needs class probabilities, which
the comparison does not keep: it uses the forward pass the ``heads`` step already makes
over the same split (the same softmax and column order as
:func:`~roberta_math.evaluation.scoring.score_texts`).

Text from the corpus is escaped for Markdown (:func:`sentence_cell`), so a sentence
holding ``|``, ``*``, ``<b>`` or ``$`` shows as written instead of breaking the table,
turning into emphasis or HTML, or being read as math.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.figures.model_figures import short_model_name
from roberta_math.figures.render import (
    DOMAIN_TITLES,
    MODEL_COLOUR,
    PALETTE,
    VADER_COLOUR,
    json_bytes,
    markdown_cell,
    markdown_table,
    round_floats,
    svg_bytes,
)
from roberta_math.labels import LABELS

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext
    from roberta_math.figures.model_figures import SplitPass

BAR_METRICS: tuple[tuple[str, str], ...] = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("pearson_r", "Pearson r with humans"))
REFERENCE_TITLE = "VADER"
BASELINE_TITLES: dict[str, str] = {"tfidf_logreg": "TF-IDF + logistic regression"}
"""Display names of the baselines compare knows; any other method shows under its own name."""

TEST_METRICS: tuple[tuple[str, str], ...] = (
    ("accuracy", "accuracy"),
    ("macro_f1", "macro-F1"),
    ("macro_recall", "macro recall"),
    ("pearson_r", "Pearson r"),
)
"""Columns of ``test_split.md``: each has a bootstrap interval for method minus VADER."""

READING_TITLES: dict[str, str] = {
    "weighted": "weighted, classes of v/4",
    "macro": "macro, classes of v/4",
    "weighted_sign_labels": "weighted, classes by sign of v",
}
"""Column titles of ``paper_readings.md`` for the readings of :data:`~roberta_math.evaluation.compare.PAPER_READINGS`."""

DISAGREEMENTS_SHOWN = 3
"""Sentences per domain and method in ``disagreements.md`` (compare keeps a few more)."""

MINUS = "\u2212"
DASH = "\u2013"
PAIR = "&#160;/&#160;"
"""Between the numbers of one cell ("paper / ours"): no-break spaces keep them on one line."""


def confusion_figure(matrices: dict[str, np.ndarray], split: str) -> bytes:
    """Confusion matrices, two per row, coloured by the share of each true class, counts written in."""
    import matplotlib.pyplot as plt

    ncols = min(len(matrices), 2)
    nrows = -(-len(matrices) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols + 0.9, 3.7 * nrows + 0.5), squeeze=False)
    image = None
    for ax, (name, matrix) in zip(axes.flat, matrices.items()):
        rows = matrix.sum(axis=1, keepdims=True)
        share = matrix / np.maximum(rows, 1)
        image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(len(LABELS)):
            for j in range(len(LABELS)):
                ax.text(j, i, f"{matrix[i, j]:,}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=10,
                        color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(LABELS)), LABELS)
        ax.set_yticks(range(len(LABELS)), LABELS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("human label")
        ax.set_title(name.replace("$", r"\$"), fontsize=11)
        for spine in ax.spines.values():
            spine.set_visible(False)
    for ax in list(axes.flat)[len(matrices):]:
        ax.axis("off")
    fig.suptitle(f"Confusion matrices on the {split} split (n = {int(next(iter(matrices.values())).sum()):,})",
                 fontsize=11.5, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 0.88, 0.96))
    colourbar = fig.colorbar(image, cax=fig.add_axes((0.9, 0.2, 0.02, 0.6)))
    colourbar.set_label("share of the human label's row")
    return svg_bytes(fig)


def reliability_figure(results: dict[str, dict[str, Any]], model_name: str, split: str) -> bytes:
    """Accuracy against confidence per bin (with the diagonal) and the sentences per bin, one column per entry.

    ``results`` maps a panel title (e.g. "before: τ = 1", "after: τ = 1.62") to
    :func:`~roberta_math.evaluation.calibration.reliability_bins`' output.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(5.0 * len(results), 5.6), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": (3, 1)})
    for column, (title, result) in enumerate(results.items()):
        ax, ax_count = axes[0, column], axes[1, column]
        edges = np.array(result["edges"])
        width = np.diff(edges)
        left = edges[:-1]
        count = np.array(result["count"])
        filled = count > 0
        accuracy = np.array([a if a is not None else 0.0 for a in result["accuracy"]])
        confidence = np.array([c if c is not None else 0.0 for c in result["confidence"]])
        ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="perfect calibration")
        ax.bar(left[filled], accuracy[filled], width=width[filled], align="edge", color=MODEL_COLOUR, alpha=0.85,
               edgecolor="white", label="accuracy in the bin")
        ax.scatter(confidence[filled], accuracy[filled], color="black", s=14, zorder=3,
                   label="(mean confidence, accuracy) of the bin:\non the diagonal when calibrated")
        ax.set_ylim(0, 1)
        ax.set_xlim(0, 1)
        ax.set_title(f"{title}: ECE = {result['ece']:.3f}", loc="left", fontsize=11)
        ax_count.bar(left, count, width=width, align="edge", color="0.6", edgecolor="white")
        ax_count.set_xlabel("confidence $\\hat p = \\max_c p_c$")
        if column == 0:
            ax.set_ylabel("accuracy")
            ax.legend(loc="upper left", fontsize=9)
            ax_count.set_ylabel("sentences")
    fig.suptitle(f"Reliability on the {split} split ({len(next(iter(results.values()))['count'])} bins)",
                 fontsize=11.5, fontweight="bold")
    fig.text(0.01, 0.005, f"model: {short_model_name(model_name)}".replace("$", r"\$"), fontsize=8, color="0.5")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    return svg_bytes(fig)


def domain_bars_figure(
    table: dict[str, dict[str, dict[str, Any]]],
    order: Sequence[str],
    split: str,
    shown: dict[str, str] | None = None,
    colours: dict[str, str] | None = None,
) -> bytes:
    """Per-domain accuracy, macro-F1 and Pearson r (one panel each, stacked), one bar per method.

    ``shown`` names the methods and ``colours`` colours them; the panels are stacked so the
    figure stays readable at the width of a page column.
    """
    import matplotlib.pyplot as plt

    methods = list(table)
    shown = shown or {m: m for m in methods}
    colours = colours or {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}
    fig, axes = plt.subplots(len(BAR_METRICS), 1, figsize=(8.0, 2.5 * len(BAR_METRICS) + 0.7), sharex=True)
    x = np.arange(len(order))
    width = 0.8 / len(methods)
    for ax, (metric, title) in zip(axes, BAR_METRICS, strict=True):
        for index, method in enumerate(methods):
            values = [table[method][d].get(metric) for d in order]
            heights = [v if v is not None else 0.0 for v in values]
            offset = (index - (len(methods) - 1) / 2) * width
            bars = ax.bar(x + offset, heights, width=width * 0.95, color=colours[method],
                          label=shown[method].replace("$", r"\$"))
            for bar, value in zip(bars, values, strict=True):
                text = "n/a" if value is None else f"{value:.2f}"
                ax.text(bar.get_x() + bar.get_width() / 2, max(bar.get_height(), 0) + 0.015, text,
                        ha="center", va="bottom", fontsize=8)
        ax.set_ylim(min(0.0, *(table[m][d].get(metric) or 0.0 for m in methods for d in order)), 1.05)
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set_title(title, fontsize=10.5, loc="left")
    axes[-1].set_xticks(x, [DOMAIN_TITLES.get(d, d) for d in order])
    handles, names = axes[0].get_legend_handles_labels()
    # One row of legend entries below the panels, or one per line when the names are long (hub ids).
    ncol = len(methods) if sum(len(n) for n in names) <= 80 else 1
    legend_rows = -(-len(methods) // ncol)
    fig.legend(handles, names, loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"Per domain, on the {split} split", fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.01 + 0.035 * legend_rows, 1, 0.97))
    return svg_bytes(fig)


# --------------------------------------------------------------------------- Markdown fragments


def number(value: Any, digits: int = 3, *, signed: bool = False) -> str:
    """A metric for a table: fixed digits, a true minus sign, an en dash for a missing value.

    >>> number(0.87254), number(-0.0314, signed=True), number(None), number(float("nan"))
    ('0.873', '−0.031', '–', '–')
    """
    if value is None or not math.isfinite(float(value)):
        return DASH
    text = f"{float(value):+.{digits}f}" if signed else f"{float(value):.{digits}f}"
    return text.replace("-", MINUS)


def sentence_cell(text: str) -> str:
    """Corpus text for a table cell: whitespace runs become one space, then :func:`markdown_cell`.

    Every ASCII punctuation becomes an HTML entity, so ``|`` cannot end the cell,
    ``*``/``_``/backticks cannot start emphasis or code, ``<b>`` stays text and ``$``
    cannot open math; the reader still sees the characters as written.

    >>> sentence_cell("$5 | <b>bold</b>\\t*x*")
    '&#36;5 &#124; &#60;b&#62;bold&#60;&#47;b&#62; &#42;x&#42;'
    """
    return markdown_cell(" ".join(text.split()))


def method_order(methods: Sequence[str], model: str | None, reference: str = "vader") -> list[str]:
    """The reference (VADER) first, then the model, then every other method in the given order.

    >>> method_order(["vader", "m", "tfidf_logreg"], "m"), method_order(["b", "m", "vader"], "m")
    (['vader', 'm', 'tfidf_logreg'], ['vader', 'm', 'b'])
    """
    first = [m for m in (reference, model) if m is not None and m in methods]
    return first + [m for m in methods if m not in first]


def method_titles(methods: Sequence[str], model: str | None, reference: str = "vader") -> dict[str, str]:
    """Plain-text display names: VADER, ``<model> (model)`` (the shipped model by its name,
    "compact model"), known baselines by what they are.

    >>> titles = method_titles(["vader", "/tmp/run/best", "tfidf_logreg", "other"], "/tmp/run/best")
    >>> list(titles.values())
    ['VADER', 'best (model)', 'TF-IDF + logistic regression', 'other']
    >>> method_titles(["vader", "embedded"], "embedded")["embedded"]
    'compact model'
    """
    titles = {}
    for method in methods:
        if method == reference:
            titles[method] = REFERENCE_TITLE
        elif method == model:
            titles[method] = short_model_name(method) if method == "embedded" else f"{short_model_name(method)} (model)"
        else:
            titles[method] = BASELINE_TITLES.get(method, method)
    return titles


def method_colours(order: Sequence[str], model: str | None, reference: str = "vader") -> dict[str, str]:
    """VADER orange, the model blue, other methods the next colours of the palette, in order.

    >>> method_colours(["vader", "m", "b"], "m") == {"vader": VADER_COLOUR, "m": MODEL_COLOUR, "b": PALETTE[2]}
    True
    """
    spare = iter(c for c in PALETTE if c not in (MODEL_COLOUR, VADER_COLOUR))
    return {
        m: VADER_COLOUR if m == reference else MODEL_COLOUR if m == model else next(spare, "0.5") for m in order
    }


def _domain_cell(domain: str, n: int | None = None, note: str | None = None) -> str:
    """The domain's name, with its sentence count (or another note) in small type below.

    >>> _domain_cell("nyt_editorials", 5190)
    'NYT editorials<br><small>n&#160;=&#160;5,190</small>'
    """
    below = note if note is not None else (None if n is None else f"n&#160;=&#160;{n:,}")
    return DOMAIN_TITLES.get(domain, domain) + (f"<br><small>{below}</small>" if below else "")


def _domains_with_rows(table: Mapping[str, Mapping[str, Any]], domains: Sequence[str]) -> list[str]:
    return [d for d in domains if d in table and (table[d].get("n") or 0) > 0]


def _interval_cell(ci: Mapping[str, Any] | None) -> str:
    """``estimate`` over ``[low, high]``; bold when the interval leaves out 0 (a difference the resampling keeps)."""
    if not ci or ci.get("estimate") is None:
        return DASH
    estimate = number(ci["estimate"], signed=True)
    if ci.get("low") is None or ci.get("high") is None:
        return estimate
    if ci["low"] > 0 or ci["high"] < 0:
        estimate = f"**{estimate}**"
    return f"{estimate}<br><small>[{number(ci['low'], signed=True)},&#160;{number(ci['high'], signed=True)}]</small>"


def vader_table4_markdown(result: Mapping[str, Any]) -> str:
    """VADER on the full corpora beside the paper's Table 4: "paper / ours" for r and weighted P / R / F1, and macro-F1.

    The paper reports P / R / F1 to two decimals and r to three; they are shown as published.
    """
    paper = result["paper"]["vader"]
    ours = result["full"]["vader"]
    header = ["domain", *[f"{k}: paper / ours" for k in ("r", "P", "R", "F1")], "macro-F1 (ours)"]
    rows = []
    for domain in _domains_with_rows(ours, DOMAIN_TITLES):
        theirs, mine = paper.get(domain, {}), ours[domain]
        row = [_domain_cell(domain, mine["n"])]
        for key in ("pearson_r", "precision", "recall", "f1"):
            row.append(number(theirs.get(key), 3 if key == "pearson_r" else 2) + PAIR + number(mine.get(key)))
        rows.append([*row, number(mine.get("macro_f1"))])
    return markdown_table([markdown_cell(h) for h in header], rows, align="l" + "r" * (len(header) - 1))


def paper_readings_markdown(result: Mapping[str, Any]) -> str:
    """VADER's P / R / F1 per domain under each reading of the paper, and each reading's mean gap to it.

    The reading with the smallest mean absolute difference is in bold.
    """
    versus = result["full_vs_paper"]
    readings = list(versus["readings"])
    gaps = versus.get("mean_abs_difference", {})
    finite = {r: g for r, g in gaps.items() if g is not None}
    best = min(finite, key=finite.__getitem__) if finite else None
    header = ["domain", "paper: P / R / F1", *[READING_TITLES.get(r, r) for r in readings]]
    rows = []
    for domain in (d for d in DOMAIN_TITLES if d in result["paper"]["vader"]):
        paper = result["paper"]["vader"][domain]
        row = [DOMAIN_TITLES[domain], PAIR.join(number(paper[k], 2) for k in ("precision", "recall", "f1"))]
        for reading in readings:
            cells = versus["readings"][reading]["domains"].get(domain, {}).get("vader")
            row.append(PAIR.join(number(cells[k]["ours"]) for k in ("precision", "recall", "f1")) if cells else DASH)
        rows.append(row)
    gap_row = ["mean &#124;ours &#8722; paper&#124;", ""]
    for reading in readings:
        text = number(gaps.get(reading))
        gap_row.append(f"**{text}**" if reading == best else text)
    rows.append(gap_row)
    return markdown_table([markdown_cell(h) for h in header], rows, align="ll" + "r" * len(readings))


def individual_humans_markdown(result: Mapping[str, Any]) -> str:
    """The "Ind. Humans" row: the paper's r and F1 beside ours (mean over draws, 2.5-97.5 % across draws below)."""
    humans = result.get("individual_humans", {})
    domains = humans.get("domains", {})
    if not domains:
        return "*No individual ratings were available for this corpus.*\n"
    paper = result["paper"]["individual_humans"]
    header = ["domain", "r: paper / ours", "F1: paper / ours", "F1 (ours), classes by sign", "leave-one-out: r / F1"]

    def with_range(paper_value: str, entry: Mapping[str, Any], key: str) -> str:
        low, high = (entry.get(f"{key}_range") or [None, None])[:2]
        spread = f"<br><small>[{number(low)},&#160;{number(high)}]</small>" if low is not None else ""
        return paper_value + PAIR + number(entry.get(key)) + spread

    rows = []
    for domain in (d for d in DOMAIN_TITLES if d in domains):
        entry, theirs = domains[domain], paper.get(domain, {})
        low, high = entry.get("ratings_per_sentence", [None, None])
        count = None if low is None else (str(low) if low == high else f"{low}{DASH}{high}")
        loo = entry.get("leave_one_out", {})
        rows.append([
            _domain_cell(domain, note=None if count is None else f"{count}&#160;ratings&#160;each"),
            with_range(number(theirs.get("pearson_r")), entry, "pearson_r"),
            with_range(number(theirs.get("f1"), 2), entry, "f1"),
            number(entry.get("sign_labels", {}).get("f1")),
            number(loo.get("pearson_r")) + PAIR + number(loo.get("f1")),
        ])
    return markdown_table([markdown_cell(h) for h in header], rows, align="l" + "r" * (len(header) - 1))


def held_out_markdown(result: Mapping[str, Any]) -> str:
    """Every method of the ``test`` table per domain, each followed by its difference from VADER.

    The difference row holds the estimate and, below it, the paired-bootstrap 95 % interval;
    the estimate is in bold when the interval leaves out 0.
    """
    test = result["test"]
    model = result.get("meta", {}).get("model")
    order = method_order(list(test), model)
    titles = method_titles(order, model)
    boot = result.get("bootstrap", {})
    reference = boot.get("reference", "vader")
    differences = boot.get("differences", {})
    header = ["domain", "method", *[title for _, title in TEST_METRICS]]
    minus = f"*&#8627; minus {markdown_cell(titles.get(reference, reference))}*"
    rows = []
    for domain in _domains_with_rows(test[order[0]], DOMAIN_TITLES):
        first = True
        for method in order:
            m = test[method].get(domain)
            if m is None:
                continue
            rows.append([_domain_cell(domain, m["n"]) if first else "", markdown_cell(titles[method]),
                         *[number(m.get(key)) for key, _ in TEST_METRICS]])
            first = False
            cis = differences.get(method, {}).get(domain)
            if method != reference and cis is not None:
                rows.append(["", minus, *[_interval_cell(cis.get(key)) for key, _ in TEST_METRICS]])
    return markdown_table([markdown_cell(h) for h in header], rows, align="ll" + "r" * len(TEST_METRICS))


def error_analysis_markdown(result: Mapping[str, Any]) -> str:
    """Accuracy of every method on the test sentences each rule tags (the rest's accuracy below), with counts.

    The tag's rule is written under its name, and the count per domain under the total.
    """
    tags = result.get("error_analysis", {}).get("tags", {})
    model = result.get("meta", {}).get("model")
    order = method_order(list(result["test"]), model)
    titles = method_titles(order, model)
    domains = [d for d in DOMAIN_TITLES if d != "all"]
    short = {"tweets": "tweets", "movie_reviews": "movies", "amazon_reviews": "Amazon", "nyt_editorials": "NYT"}
    header = ["tag", "n<br><small>" + " / ".join(short.get(d, d) for d in domains) + "</small>",
              *[markdown_cell(titles[m]) for m in order]]
    rows = []
    for tag, entry in tags.items():
        counts = " / ".join(f"{entry.get('n_by_domain', {}).get(d, 0):,}" for d in domains)
        row = [f"`{tag}`<br><small>{markdown_cell(entry.get('rule', ''))}</small>",
               f"{entry['n']:,}<br><small>{counts}</small>"]
        for method in order:
            tagged = entry.get("accuracy", {}).get(method)
            rest = entry.get("accuracy_untagged", {}).get(method)
            row.append(f"{number(tagged)}<br><small>rest {number(rest)}</small>")
        rows.append(row)
    return markdown_table(header, rows, align="lr" + "r" * len(order))


def disagreements_markdown(result: Mapping[str, Any], shown: int = DISAGREEMENTS_SHOWN) -> str:
    """Per method, one content tab: per domain the ``shown`` test sentences on which it and VADER disagree most.

    Each row gives the human mean valence :math:`\\bar v \\in [-4, 4]` and its class, both
    signed scores with the predicted class, a check mark for the method that got the human
    class, and the gap :math:`|s_\\text{method} - s_\\text{VADER}|`.
    """
    block = result.get("disagreements", {})
    reference = block.get("reference", "vader")
    model = result.get("meta", {}).get("model")
    by_method = block.get("by_method", {})
    order = [m for m in method_order(list(result["test"]), model) if m in by_method]
    titles = method_titles([reference, *order], model)
    if not order:
        return "*No method other than VADER was compared.*\n"
    parts = []
    for method in order:
        header = ["domain", "sentence", "human", titles[reference], titles[method], "gap"]
        rows = []
        for domain in (d for d in DOMAIN_TITLES if d in by_method[method]):
            for index, row in enumerate(by_method[method][domain][:shown]):
                def verdict(name: str, row: Mapping[str, Any] = row) -> str:
                    mark = "&#10003;" if row["correct"][name] else "&#10007;"
                    return f"{number(row['scores'][name], 2, signed=True)} {row['predictions'][name]} {mark}"

                rows.append([
                    DOMAIN_TITLES[domain] if index == 0 else "",
                    sentence_cell(row["text"]),
                    f"{number(row['valence'], 2, signed=True)} {row['label']}",
                    verdict(reference),
                    verdict(method),
                    number(row["gap"], 2),
                ])
        table = markdown_table([markdown_cell(h) for h in header], rows, align="llrrrr")
        title = markdown_cell(f"{titles[method]} vs {titles[reference]}")
        parts.append(f'=== "{title}"\n\n' + "".join(f"    {line}\n" for line in table.splitlines()))
    return "\n".join(parts)


def metrics_markdown(table: dict[str, dict[str, dict[str, Any]]], order: Sequence[str],
                     titles: Mapping[str, str] | None = None) -> str:
    """Accuracy / macro-F1 / Pearson r per domain and method, as a Markdown table."""
    methods = list(table)
    titles = titles or {m: m for m in methods}

    def cell(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = ["domain", "n", *[f"{titles[m]} {title}" for m in methods for _, title in BAR_METRICS]]
    rows = [
        [DOMAIN_TITLES.get(d, d), f"{table[methods[0]][d]['n']:,}",
         *[cell(table[m][d].get(metric)) for m in methods for metric, _ in BAR_METRICS]]
        for d in order
    ]
    header = [markdown_cell(h) if i >= 2 else h for i, h in enumerate(header)]
    return markdown_table(header, rows, align="lr" + "r" * (len(header) - 2))


# --------------------------------------------------------------------------- the step


def step_scorer(ctx: StepContext, known: SplitPass | None = None) -> Callable[[list[str]], np.ndarray]:
    """The probabilities :func:`~roberta_math.evaluation.compare.compare` asks for, from the step's model.

    Texts that are exactly the sentences of ``known`` (the split pass of the ``heads``
    step, when it covers the test split) get the probabilities that pass already
    computed: the same tokens, batches, softmax and columns as
    :func:`~roberta_math.evaluation.scoring.score_texts`, so the same numbers
    (``tests/test_evaluation_tables.py`` checks they are identical). Any other texts
    are scored and recorded with :meth:`StepContext.count_forward`, so the manifest's
    counters see compare's model work.
    """
    from roberta_math.evaluation import scoring

    loaded = ctx.loaded()
    known_texts = None if known is None else [s.text for s in known.sentences]

    def score(texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if known is not None and texts == known_texts:
            return known.probabilities.copy()  # (n, 3)
        if texts:
            ctx.count_forward(len(texts))
        return scoring.score_texts(texts, loaded, progress=ctx.progress)

    return score


def comparison(ctx: StepContext) -> dict[str, Any]:
    """The ``roberta-math compare`` result for the step's model (default bootstrap, ``seed`` from the parameters).

    compare keeps its own cache, keyed on the model, the corpus and the evaluation
    code, so a figure rebuild after, say, a style change rescores nothing; when its cache
    is cold, the model the build already loaded and the forward pass over the evaluation
    split that it makes anyway are reused (see :func:`step_scorer`). The result goes through JSON once,
    so it is the same plain data whether it was just computed or read back from that cache.
    """
    from roberta_math.evaluation.compare import compare
    from roberta_math.figures.model_figures import cached_split_pass

    def run() -> dict[str, Any]:
        result = compare(ctx.model_name, loaded=ctx.loaded(), score=step_scorer(ctx, cached_split_pass(ctx)),
                         progress=ctx.progress, seed=ctx.params.seed)
        return json.loads(json.dumps(result))

    return ctx.memo(f"compare:{ctx.params.seed}", run)


def calibration_markdown(before: dict[str, Any], after: dict[str, Any], nll: dict[str, float], temperature: float,
                         split: str) -> str:
    """A table: ECE, NLL, mean confidence and accuracy on ``split`` at τ = 1 and at the fitted τ.

    >>> r = {"ece": 0.1, "mean_confidence": 0.8, "overall_accuracy": 0.7, "count": [1] * 15}
    >>> print(calibration_markdown(r, r, {"before": 0.9, "after": 0.8}, 1.5, "test").splitlines()[2])
    | softmax(z), τ = 1 | 0.1000 | 0.9000 | 0.800 | 0.700 |
    >>> len(calibration_markdown(r, r, {"before": 0.8, "after": 0.8}, 1.0, "test").splitlines())  # no fitted tau: one row
    3
    """
    rows = [("softmax(z), τ = 1", before, nll["before"]), (f"softmax(z / τ), τ = {temperature:.3f}", after, nll["after"])]
    if temperature == 1.0:  # a model without calibration.json (a hub model): one row, said plainly
        rows = [("softmax(z), τ = 1 (no temperature fitted for this model)", after, nll["after"])]
    lines = [f"| {split} split, {len(after['count'])} bins | ECE | NLL (nats) | mean confidence | accuracy |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {title} | {r['ece']:.4f} | {n:.4f} | {r['mean_confidence']:.3f} | {r['overall_accuracy']:.3f} |"
              for title, r, n in rows]
    return "\n".join(lines) + "\n"


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``evaluation`` step: confusion matrices, reliability, per-domain bars, and the comparison's tables."""
    from roberta_math.evaluation.calibration import negative_log_likelihood, reliability_bins, softmax_rows
    from roberta_math.evaluation.compare import REFERENCE
    from roberta_math.figures.model_figures import cached_split_pass

    result = comparison(ctx)
    test = result["test"]
    name = result["meta"]["model"]
    order = method_order(list(test), name, REFERENCE)
    titles = method_titles(order, name, REFERENCE)
    present = _domains_with_rows(test[REFERENCE], DOMAIN_TITLES)
    table = {m: test[m] for m in order}
    matrices = {titles[m]: np.array(test[m]["all"]["confusion"]) for m in order}

    # Reliability needs the model's probabilities: the split pass shared with the heads step.
    split_pass = cached_split_pass(ctx)
    truth = np.array([s.label for s in split_pass.sentences], dtype=np.int64)  # (n,)
    # The split pass holds softmax(z / tau); softmax(tau * log p) recovers softmax(z) (the row constant cancels).
    temperature = float(getattr(ctx.loaded(), "temperature", 1.0))
    uncalibrated = softmax_rows(temperature * np.log(np.maximum(split_pass.probabilities, 1e-300)))  # (n, 3)
    reliability = reliability_bins(split_pass.probabilities, truth, ctx.params.reliability_bins)
    before = reliability_bins(uncalibrated, truth, ctx.params.reliability_bins)
    panels = ({f"before: \u03c4 = 1": before, f"after: \u03c4 = {temperature:.2f} (fitted on validation)": reliability}
              if temperature != 1.0 else {"\u03c4 = 1 (no temperature fitted)": reliability})
    data = {
        "split": "test",
        "model": name,
        "labels": list(LABELS),
        "methods": order,
        "metrics": table,
        "reliability": {"split": split_pass.split, "temperature": temperature, **reliability},
        "reliability_before_temperature": {"split": split_pass.split, **before},
        "nll": {"before": negative_log_likelihood(np.log(np.maximum(uncalibrated, 1e-300)), truth),
                "after": negative_log_likelihood(np.log(np.maximum(split_pass.probabilities, 1e-300)), truth)},
        "note": "test metrics from roberta_math.evaluation.compare.compare (as in `roberta-math compare --json`)",
    }
    return {
        "evaluation.json": json_bytes(round_floats(data, 6)),
        "comparison.json": json_bytes(round_floats(result, 6)),
        "evaluation_metrics.md": metrics_markdown(table, present, titles).encode(),
        "vader_table4.md": vader_table4_markdown(result).encode(),
        "paper_readings.md": paper_readings_markdown(result).encode(),
        "individual_humans.md": individual_humans_markdown(result).encode(),
        "test_split.md": held_out_markdown(result).encode(),
        "error_analysis.md": error_analysis_markdown(result).encode(),
        "disagreements.md": disagreements_markdown(result).encode(),
        "confusion_matrices.svg": confusion_figure(matrices, "test"),
        "reliability.svg": reliability_figure(panels, name, split_pass.split),
        "calibration.md": calibration_markdown(before, reliability, data["nll"], temperature, split_pass.split).encode(),
        "domain_metrics.svg": domain_bars_figure(table, present, "test", titles,
                                                 method_colours(order, name, REFERENCE)),
    }

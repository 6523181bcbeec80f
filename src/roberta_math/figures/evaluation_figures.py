r"""Evaluation figures on the held-out test split: confusion matrices, reliability, per-domain bars.

The numbers come from the same functions as ``roberta-math compare``
(:func:`~roberta_math.evaluation.compare.metrics_by_domain` over
:func:`~roberta_math.evaluation.compare.predictions_from_probabilities` and
:func:`~roberta_math.evaluation.compare.vader_predictions`), on the same split, so
the bars equal the ``test`` table of the comparison page. The model's probabilities
come from the forward pass the ``heads`` step already makes (the same softmax and
column order as :func:`~roberta_math.evaluation.scoring.score_texts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.figures.model_figures import short_model_name
from roberta_math.figures.render import MODEL_COLOUR, VADER_COLOUR, json_bytes, markdown_table, round_floats, svg_bytes
from roberta_math.labels import LABELS

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

DOMAIN_TITLES: dict[str, str] = {
    "tweets": "tweets",
    "movie_reviews": "movie reviews",
    "amazon_reviews": "Amazon reviews",
    "nyt_editorials": "NYT editorials",
    "all": "all four",
}
BAR_METRICS: tuple[tuple[str, str], ...] = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("pearson_r", "Pearson r with humans"))


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    r"""Calibration of the top-class confidence in ``bins`` equal-width bins of $[0, 1]$.

    For each sentence, confidence $c_s = \max_k p_{s,k}$ and correct $= [\arg\max_k p_{s,k} = y_s]$.
    Per bin $b$: count $n_b$, mean confidence $\bar c_b$, accuracy $a_b$; and the expected
    calibration error $\text{ECE} = \sum_b \frac{n_b}{N}\,|a_b - \bar c_b|$.

    >>> p = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    >>> r = reliability_bins(p, np.array([0, 2, 1]), bins=10)
    >>> r["count"][8:], r["accuracy"][9], round(r["ece"], 4)   # bin [0.9, 1.0]: 2 sentences, 1 right
    ([0, 2], 0.5, 0.3667)
    """
    confidence = probabilities.max(axis=1)  # (n,)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)  # (n,)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin b holds edges[b] <= c < edges[b+1]; a confidence of exactly 1 goes into the last bin.
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_conf = np.bincount(which, weights=confidence, minlength=bins) / np.maximum(count, 1)
    accuracy = np.bincount(which, weights=correct, minlength=bins) / np.maximum(count, 1)
    n = max(len(labels), 1)
    ece = float(np.sum(count / n * np.abs(accuracy - mean_conf)))
    return {
        "edges": edges.tolist(),
        "count": count.astype(int).tolist(),
        "confidence": [float(c) if k else None for c, k in zip(mean_conf, count, strict=True)],
        "accuracy": [float(a) if k else None for a, k in zip(accuracy, count, strict=True)],
        "ece": ece,
        "overall_accuracy": float(correct.mean()) if len(labels) else None,
        "mean_confidence": float(confidence.mean()) if len(labels) else None,
    }


def confusion_figure(matrices: dict[str, np.ndarray], split: str) -> bytes:
    """Side-by-side confusion matrices, coloured by the share of each true class, counts written in."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(4.1 * len(matrices) + 0.8, 4.0), squeeze=False)
    image = None
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        rows = matrix.sum(axis=1, keepdims=True)
        share = matrix / np.maximum(rows, 1)
        image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(len(LABELS)):
            for j in range(len(LABELS)):
                ax.text(j, i, f"{matrix[i, j]:,}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=9,
                        color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(LABELS)), LABELS)
        ax.set_yticks(range(len(LABELS)), LABELS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("human label")
        ax.set_title(name.replace("$", r"\$"), fontsize=10.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(f"Confusion matrices on the {split} split (n = {int(next(iter(matrices.values())).sum()):,})",
                 fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 0.9, 0.95))
    colourbar = fig.colorbar(image, cax=fig.add_axes((0.915, 0.18, 0.018, 0.62)))
    colourbar.set_label("share of the human label's row")
    return svg_bytes(fig)


def reliability_figure(result: dict[str, Any], model_name: str, split: str) -> bytes:
    """Accuracy against confidence per bin (with the diagonal), and how many sentences each bin holds."""
    import matplotlib.pyplot as plt

    edges = np.array(result["edges"])
    width = np.diff(edges)
    left = edges[:-1]
    count = np.array(result["count"])
    filled = count > 0
    accuracy = np.array([a if a is not None else 0.0 for a in result["accuracy"]])
    confidence = np.array([c if c is not None else 0.0 for c in result["confidence"]])
    fig, (ax, ax_count) = plt.subplots(2, 1, figsize=(5.6, 5.6), sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1, label="perfect calibration")
    ax.bar(left[filled], accuracy[filled], width=width[filled], align="edge", color=MODEL_COLOUR, alpha=0.85,
           edgecolor="white", label="accuracy in the bin")
    ax.scatter(confidence[filled], accuracy[filled], color="black", s=14, zorder=3, label="mean confidence in the bin")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, 1)
    ax.set_title(f"Reliability on the {split} split: ECE = {result['ece']:.3f}", loc="left")
    ax.legend(loc="upper left")
    ax_count.bar(left, count, width=width, align="edge", color="0.6", edgecolor="white")
    ax_count.set_xlabel("confidence $\\max_k p_k$ (top-class probability)")
    ax_count.set_ylabel("sentences")
    fig.text(0.01, 0.005, f"model: {short_model_name(model_name)}".replace("$", r"\$"), fontsize=7, color="0.5")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    return svg_bytes(fig)


def domain_bars_figure(
    table: dict[str, dict[str, dict[str, Any]]], order: Sequence[str], split: str, shown: dict[str, str] | None = None
) -> bytes:
    """Per-domain accuracy, macro-F1 and Pearson r, one bar per method (``shown`` names them), on the test split."""
    import matplotlib.pyplot as plt

    methods = list(table)
    shown = shown or {m: m for m in methods}
    colours = [MODEL_COLOUR if i == 0 else VADER_COLOUR for i in range(len(methods))]
    fig, axes = plt.subplots(1, len(BAR_METRICS), figsize=(12.0, 3.9), sharey=False)
    x = np.arange(len(order))
    width = 0.8 / len(methods)
    for ax, (metric, title) in zip(axes, BAR_METRICS, strict=True):
        for index, method in enumerate(methods):
            values = [table[method][d].get(metric) for d in order]
            heights = [v if v is not None else 0.0 for v in values]
            offset = (index - (len(methods) - 1) / 2) * width
            bars = ax.bar(x + offset, heights, width=width * 0.95, color=colours[index], label=shown[method].replace("$", r"\$"))
            for bar, value in zip(bars, values, strict=True):
                text = "n/a" if value is None else f"{value:.2f}"
                ax.text(bar.get_x() + bar.get_width() / 2, max(bar.get_height(), 0) + 0.01, text,
                        ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_xticks(x, [DOMAIN_TITLES.get(d, d) for d in order], rotation=25, ha="right")
        ax.set_ylim(min(0.0, *(table[m][d].get(metric) or 0.0 for m in methods for d in order)), 1.12)
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set_title(title, fontsize=10.5)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncol=len(methods), bbox_to_anchor=(0.99, 1.0))
    fig.suptitle(f"Per domain, on the {split} split", fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return svg_bytes(fig)


def metrics_markdown(table: dict[str, dict[str, dict[str, Any]]], order: Sequence[str]) -> str:
    """Accuracy / macro-F1 / Pearson r per domain and method, as a Markdown table."""
    methods = list(table)

    def cell(value: Any) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    header = ["domain", "n", *[f"{m} {title}" for m in methods for _, title in BAR_METRICS]]
    rows = [
        [DOMAIN_TITLES.get(d, d), f"{table[methods[0]][d]['n']:,}",
         *[cell(table[m][d].get(metric)) for m in methods for metric, _ in BAR_METRICS]]
        for d in order
    ]
    from roberta_math.figures.render import markdown_cell

    header = [markdown_cell(h) if i >= 2 else h for i, h in enumerate(header)]
    return markdown_table(header, rows, align="lr" + "r" * (len(header) - 2))


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``evaluation`` step: confusion matrices, reliability diagram, per-domain bars (and their data)."""
    from roberta_math.evaluation.compare import (
        DOMAIN_KEYS,
        REFERENCE,
        metrics_by_domain,
        predictions_from_probabilities,
        vader_predictions,
    )
    from roberta_math.figures.model_figures import cached_split_pass

    result = cached_split_pass(ctx)
    name = ctx.loaded().provenance.name
    sentences = result.sentences
    truth = np.array([s.label for s in sentences], dtype=np.int64)  # (n,)
    model_predictions = predictions_from_probabilities(result.probabilities)
    vader = vader_predictions([s.text for s in sentences])
    present = [d for d in DOMAIN_KEYS if d == "all" or any(s.domain == d for s in sentences)]
    table = {
        name: metrics_by_domain(sentences, model_predictions, present),
        REFERENCE: metrics_by_domain(sentences, vader, present),
    }
    shown = {name: f"{short_model_name(name)} (model)", REFERENCE: "VADER"}
    matrices = {shown[m]: np.array(table[m]["all"]["confusion"]) for m in (name, REFERENCE)}
    reliability = reliability_bins(result.probabilities, truth, ctx.params.reliability_bins)
    data = {
        "split": result.split,
        "model": name,
        "labels": list(LABELS),
        "methods": [name, REFERENCE],
        "metrics": table,
        "reliability": reliability,
        "note": "computed with roberta_math.evaluation.compare.metrics_by_domain on the same split as `roberta-math compare`",
    }
    return {
        "evaluation.json": json_bytes(round_floats(data, 6)),
        "evaluation_metrics.md": metrics_markdown(table, present).encode(),
        "confusion_matrices.svg": confusion_figure(matrices, result.split),
        "reliability.svg": reliability_figure(reliability, name, result.split),
        "domain_metrics.svg": domain_bars_figure(table, present, result.split, shown),
    }

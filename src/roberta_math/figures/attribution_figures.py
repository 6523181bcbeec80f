"""The ``attributions`` step: faithfulness tables, the agreement matrix and example sentences coloured by each method.

Computation lives in :mod:`roberta_math.interpret` (:func:`~roberta_math.interpret.faithfulness.faithfulness`,
:func:`~roberta_math.interpret.explain.explain`); this module only draws and writes Markdown.
"""

from __future__ import annotations

import html
import os
import random
import sys
from typing import TYPE_CHECKING, Any

from roberta_math.figures.build import one_torch_thread
from roberta_math.figures.render import (
    PALETTE,
    json_bytes,
    markdown_table,
    round_floats,
    svg_bytes,
)

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

WORKERS = 2
"""Processes the faithfulness and head-ablation batches are spread over (fewer if fewer cores are ours);
each runs one torch thread, so the figures are the same bytes whatever the count."""
HUB_SAMPLE = 300
"""Test sentences (fixed seed) scored for a model other than the embedded one, whose size makes all 2,371 slow."""
IG_STEPS = 16
EXAMPLES: tuple[str, ...] = (
    "The movie was not bad at all.",
    "The acting was brilliant, but the plot made no sense.",
    "The service was slow and the food was cold.",
    "What a wonderful, heartfelt film!",
)
NAMES: dict[str, str] = {
    "ig": "Integrated Gradients",
    "gradxinput": "gradient × input",
    "gradient": "gradient norm",
    "rollout": "attention rollout",
    "occlusion": "occlusion (<mask>)",
    "random": "random order",
}


def aopc_markdown(result: dict[str, Any]) -> str:
    """Two tables, comprehensiveness then sufficiency, one row per method, the best AOPC of each in bold.

    Two narrow tables instead of one wide one: nine columns did not fit beside the navigation.

    >>> row = {"10": 0.1, "20": 0.2, "50": 0.3, "aopc": 0.2}
    >>> r = {"comprehensiveness": {"ig": row, "random": row}, "sufficiency": {"ig": row, "random": row}}
    >>> print(aopc_markdown(r).splitlines()[2])
    | Integrated Gradients | 0.100 | 0.200 | 0.300 | **0.200** |
    """
    tables = []
    for kind, short, better, best in (("comprehensiveness", "comp.", "↑", max), ("sufficiency", "suff.", "↓", min)):
        values = result[kind]
        top = best(v["aopc"] for v in values.values())
        rows = []
        for m, v in values.items():
            cells = [html.escape(NAMES.get(m, m))] + [f"{v[k]:.3f}" for k in ("10", "20", "50")]
            cells.append(f"**{v['aopc']:.3f}**" if v["aopc"] == top else f"{v['aopc']:.3f}")
            rows.append(cells)
        header = ["method", f"{short} 10%", f"{short} 20%", f"{short} 50%", f"{kind} AOPC {better}"]
        tables.append(markdown_table(header, rows, align="lrrrr"))
    return "\n".join(tables)


def kendall_markdown(result: dict[str, Any]) -> str:
    """Mean Kendall tau between every pair of methods (rows and columns in the same order)."""
    tau = result["kendall"]
    names = list(tau)
    rows = [[html.escape(NAMES[a])] + [f"{tau[a][b]:+.2f}" for b in names] for a in names]
    return markdown_table(["τ<sub>b</sub>", *(html.escape(NAMES[b]) for b in names)], rows, align="l" + "r" * len(names))


def lexicon_markdown(result: dict[str, Any]) -> str:
    """Spearman's rho of each method's scores with VADER's lexicon valence."""
    rows = [[html.escape(NAMES[m]), v["against"].replace("|", "&#124;"), f"{v['rho']:+.3f}", f"{v['tokens']:,}"]
            for m, v in result["lexicon"].items()]
    return markdown_table(["method", "correlated with", "Spearman r<sub>rank</sub>", "lexicon tokens"], rows, align="llrr")


def aopc_figure(result: dict[str, Any]) -> bytes:
    """Bars: comprehensiveness (left) and sufficiency (right) per method at 10, 20 and 50 per cent removed."""
    import matplotlib.pyplot as plt

    methods = list(result["comprehensiveness"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=False)
    width = 0.26
    colours = [PALETTE[i % len(PALETTE)] for i in range(3)]
    for ax, kind, title in ((axes[0], "comprehensiveness", "comprehensiveness (higher: more faithful)"),
                            (axes[1], "sufficiency", "sufficiency (lower: more faithful)")):
        for j, k in enumerate(("10", "20", "50")):
            values = [result[kind][m][k] for m in methods]
            ax.bar([i + (j - 1) * width for i in range(len(methods))], values, width, color=colours[j], label=f"{k}% of tokens")
        ax.set_xticks(range(len(methods)), [NAMES[m].replace(" (<mask>)", "") for m in methods], rotation=30, ha="right")
        ax.axhline(0, linewidth=0.8, color="0.5")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("drop in p(predicted class)")
    axes[0].legend(fontsize=8, frameon=False)
    return svg_bytes(fig)


def ablation_figure(result: dict[str, Any]) -> bytes:
    """Two heat maps, layers by heads: the change of validation accuracy and macro-F1 with the head masked,
    and the accuracy with the head kept alone in its layer."""
    import matplotlib.pyplot as plt
    import numpy as np

    full = result["full"]
    panels = [
        ("head masked: accuracy change", np.array([[h["accuracy"] - full["accuracy"] for h in layer] for layer in result["masked"]])),
        ("head masked: macro-F1 change", np.array([[h["macro_f1"] - full["macro_f1"] for h in layer] for layer in result["masked"]])),
        ("only this head in its layer: accuracy change", np.array([[h["accuracy"] - full["accuracy"] for h in layer] for layer in result["alone"]])),
    ]
    layers, heads = panels[0][1].shape
    fig, axes = plt.subplots(1, 3, figsize=(10, 0.9 + 0.55 * layers))
    top = max(float(np.abs(v).max()) for _, v in panels) or 1.0
    for ax, (title, values) in zip(axes, panels):
        ax.imshow(values, cmap="RdBu", vmin=-top, vmax=top, aspect="auto")
        for i in range(layers):
            for j in range(heads):
                dark_cell = abs(values[i, j]) > 0.6 * top  # white text where the colour is deep
                ax.text(j, i, f"{values[i, j]:+.3f}", ha="center", va="center", fontsize=8,
                        color="white" if dark_cell else "black")  # plain: render.DARK_INK leaves them alone
        ax.set_xticks(range(heads), [str(h + 1) for h in range(heads)])
        ax.set_yticks(range(layers), [str(layer + 1) for layer in range(layers)])
        ax.set_xlabel("head $h$")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("layer $\\ell$")
    return svg_bytes(fig)


def ablation_markdown(result: dict[str, Any]) -> str:
    """One row per head: accuracy and macro-F1 with it masked and with it alone in its layer."""
    full = result["full"]
    rows = [["none (full model)", "", f"{full['accuracy']:.4f}", f"{full['macro_f1']:.4f}", "", ""]]
    for layer, (masked, alone) in enumerate(zip(result["masked"], result["alone"])):
        for head, (m, a) in enumerate(zip(masked, alone)):
            rows.append([str(layer + 1), str(head + 1), f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}",
                         f"{a['accuracy']:.4f}", f"{a['macro_f1']:.4f}"])
    worst = min(((l, h) for l in range(len(result["masked"])) for h in range(len(result["masked"][0]))),
                key=lambda lh: result["masked"][lh[0]][lh[1]]["macro_f1"])
    m = result["masked"][worst[0]][worst[1]]
    note = (f"\nMeasured at build time on the {result['sentences']:,} validation sentences. The head whose masking costs "
            f"most macro-F1: layer {worst[0] + 1}, head {worst[1] + 1} ({m['macro_f1'] - full['macro_f1']:+.4f} macro-F1, "
            f"{m['accuracy'] - full['accuracy']:+.4f} accuracy).\n")
    return markdown_table(["layer", "head", "masked: accuracy", "masked: macro-F1", "alone: accuracy", "alone: macro-F1"],
                          rows, align="llrrrr") + note


UNSIGNED = frozenset({"gradient", "rollout"})
"""Methods whose scores have no sign: drawn in blue, since green and red mean raises and lowers the logit."""


def _colour(score: float, top: float, signed: bool = True) -> str:
    share = 0.0 if top == 0 else max(-1.0, min(1.0, score / top))
    if not signed:
        rgb = "0, 114, 178"  # blue: only the size of the score
    else:
        rgb = "44, 160, 44" if share >= 0 else "214, 39, 40"  # green: supports the class; red: against it
    return f"background: rgba({rgb}, {abs(share) * 0.75:.2f}); padding: 0.1em 0.2em"


def examples_markdown(explanations: list[dict[str, Any]]) -> str:
    """An HTML table: one row per method, one cell per token, coloured by its score (every string escaped).

    >>> e = {"text": "<b>", "label": "positive", "method": "ig", "tokens": ["<s>", "<b>", "</s>"], "scores": [0, 1, -1]}
    >>> "&lt;b&gt;" in examples_markdown([e]) and "<b>" not in examples_markdown([e])
    True
    """
    out = []
    by_text: dict[str, list[dict[str, Any]]] = {}
    for e in explanations:
        by_text.setdefault(e["text"], []).append(e)
    for text, rows in by_text.items():
        out.append(f'<p class="attribution-sentence"><em>{html.escape(text)}</em>: predicted '
                   f"<strong>{html.escape(rows[0]['label'])}</strong></p>")
        # A sentence's tokens are wider than a phone: the table scrolls in its own box.
        out.append('<div class="attribution-scroll"><table class="attribution-table"><tbody>')
        for e in rows:
            content = e["scores"][1:-1]
            top = max((abs(s) for s in content), default=0.0)
            cells = "".join(
                f'<td style="{_colour(s, top, e["method"] not in UNSIGNED)}" title="{s:+.4f}">{html.escape(t)}</td>'
                for t, s in zip(e["tokens"][1:-1], content)
            )
            out.append(f"<tr><th style=\"text-align: left\">{html.escape(NAMES.get(e['method'], e['method']))}</th>{cells}</tr>")
        out.append("</tbody></table></div>")
    return "\n".join(out) + "\n"


def build(ctx: StepContext) -> dict[str, bytes]:
    """Faithfulness over the test split (all sentences for the embedded model), the tables, a figure, the examples."""
    with one_torch_thread():  # one reduction order: the same bytes on every build
        return _build(ctx)


def _build(ctx: StepContext) -> dict[str, bytes]:
    from roberta_math.interpret.parallel import BatchRunner
    from roberta_math.model.weights import read_weights

    loaded = ctx.loaded()
    workers = min(WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    with BatchRunner(read_weights(loaded.model), workers=workers) as runner:
        return _build_with(ctx, loaded, runner)


def _build_with(ctx: StepContext, loaded: Any, runner: Any) -> dict[str, bytes]:
    from tqdm.auto import tqdm

    from roberta_math.interpret.explain import explain
    from roberta_math.interpret.faithfulness import faithfulness
    from roberta_math.model.loading import quiet_transformers
    from roberta_math.model.weights import read_weights

    split = ctx.split(ctx.params.evaluation_split)
    sampled = ctx.model_name != "embedded" and len(split) > HUB_SAMPLE
    chosen = random.Random(ctx.params.seed).sample(split, HUB_SAMPLE) if sampled else list(split)
    columns = list(loaded.label_columns)
    label_of_column = [loaded.labels[columns.index(k)] for k in range(len(columns))]
    with tqdm(total=len(chosen), unit="sentence", desc="attributions", disable=not ctx.progress, file=sys.stderr, leave=False) as bar:
        result = faithfulness(read_weights(loaded.model), loaded.tokenizer, [s.text for s in chosen],
                              label_of_column=label_of_column, steps=IG_STEPS, max_tokens=loaded.max_tokens,
                              seed=ctx.params.seed, temperature=loaded.temperature, progress=bar.update, runner=runner)
    ctx.count_forward(result["variants"] + len(chosen) * (IG_STEPS + 4))
    result["split"] = ctx.params.evaluation_split
    result["split_size"] = len(split)
    result["sampled"] = sampled
    explanations = [explain(t, loaded, m, steps=50).as_dict() for t in EXAMPLES
                    for m in ("ig", "gradxinput", "gradient", "rollout", "occlusion")]
    comp = result["comprehensiveness"]
    best = max((m for m in comp if m != "random"), key=lambda m: comp[m]["aopc"])
    scope = (f"a fixed-seed sample of {len(chosen)} of the {len(split):,} test sentences (seed {ctx.params.seed})"
             if sampled else f"all {len(chosen):,} sentences of the test split")
    at = (f"with the probabilities softmax(z / τ) at the model's fitted temperature τ = {loaded.temperature:.4f}"
          if loaded.temperature != 1.0 else "with the probabilities softmax(z) (this model has no fitted temperature)")
    note = (f"\nMeasured at build time on {scope}, for each sentence's predicted class, {at}; Integrated Gradients "
            f"with {IG_STEPS} Gauss-Legendre steps from the `<mask>` baseline (mean completeness error "
            f"{result['ig_completeness']['mean']:.1e}, largest {result['ig_completeness']['max']:.1e}, on average "
            f"{100 * result['ig_completeness']['mean_relative']:.2f} % of |z<sub>c</sub>(x) − z<sub>c</sub>(baseline)|; above 0.1 on "
            f"{result['ig_completeness']['above_0.1']:,} sentences; the four examples below use 50 steps). "
            f"Most faithful by comprehensiveness AOPC: {NAMES[best]}, {comp[best]['aopc']:.3f} against "
            f"{comp['random']['aopc']:.3f} for a random order.\n")
    from roberta_math.interpret.head_ablation import head_ablation

    validation = ctx.split("validation")
    if sampled and len(validation) > HUB_SAMPLE:
        validation = random.Random(ctx.params.seed).sample(validation, HUB_SAMPLE)
    ctx.log(f"attributions: head ablation on {len(validation)} validation sentences ...")
    with quiet_transformers():
        rows = [ids[: loaded.max_tokens] for ids in loaded.tokenizer([s.text for s in validation])["input_ids"]]
    ablation = head_ablation(read_weights(loaded.model), rows, [s.label for s in validation], loaded.label_columns,
                             runner=runner)
    ablation["sentences"] = len(rows)
    return {
        "head_ablation.json": json_bytes(round_floats(ablation, 6)),
        "head_ablation.svg": ablation_figure(ablation),
        "head_ablation.md": ablation_markdown(ablation).encode(),
        "attributions.json": json_bytes(round_floats({"faithfulness": result, "examples": explanations}, 6)),
        "attributions_aopc.md": (aopc_markdown(result) + note).encode(),
        "attributions_kendall.md": kendall_markdown(result).encode(),
        "attributions_lexicon.md": lexicon_markdown(result).encode(),
        "attributions_examples.md": examples_markdown(explanations).encode(),
        "attributions_aopc.svg": aopc_figure(result),
    }

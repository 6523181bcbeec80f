"""Figures and tables of the experiments, rendered from the committed results file alone.

Nothing is trained or scored here: :func:`render` reads the numbers that
``roberta-math experiments`` wrote (:data:`~roberta_math.experiments.results.RESULTS_PATH`)
and draws the domain-transfer matrices and the pre-training learning curves, and writes
Markdown table fragments and a JSON digest for the "Further exploration" page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.experiments.results import transfer_matrix
from roberta_math.figures.render import DOMAIN_TITLES, PALETTE, VADER_COLOUR, json_bytes, markdown_table, round_floats, svg_bytes

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

METHOD_TITLES: dict[str, str] = {
    "roberta": "compact model (random init)",
    "random": "compact model, random init",
    "masked_lm": "compact model, masked-LM pre-trained",
    "roberta_random": "compact model, random init",
    "roberta_masked_lm": "compact model, masked-LM pre-trained",
    "tfidf_logreg": "TF-IDF + logistic regression",
    "vader": "VADER (no training)",
}
TRANSFER_METHODS: tuple[str, ...] = ("roberta", "tfidf_logreg")
TEST_SPLIT_METHODS: tuple[str, ...] = ("roberta_random", "roberta_masked_lm", "tfidf_logreg", "vader")
CURVE_STYLE: dict[str, dict[str, Any]] = {
    "random": {"color": PALETTE[5], "marker": "o", "linestyle": "-"},
    "masked_lm": {"color": PALETTE[0], "marker": "s", "linestyle": "-"},
    "tfidf_logreg": {"color": PALETTE[2], "marker": "^", "linestyle": "--"},
}


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _mean_sd(stats: Mapping[str, Any]) -> str:
    """``"0.642 ± 0.005"`` from a spread record (just the mean for one seed).

    >>> _mean_sd({"mean": 0.6421, "sd": 0.0049}), _mean_sd({"mean": 0.7, "sd": None})
    ('0.642 ± 0.005', '0.700')
    """
    if stats.get("mean") is None:
        return "n/a"
    return f"{stats['mean']:.3f}" + (f" ± {stats['sd']:.3f}" if stats.get("sd") is not None else "")


# --------------------------------------------------------------------------- figures


def transfer_figure(results: Mapping[str, Any], metric: str = "accuracy") -> bytes:
    """Heat maps of the transfer matrix for the compact model and TF-IDF, VADER as the last row; in-domain cells framed."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    methods = [m for m in TRANSFER_METHODS if m in results["transfer"]["methods"]]
    matrices = {m: transfer_matrix(results, m, metric) for m in methods}
    every = np.concatenate([v[0].ravel() for v in matrices.values()])
    low, high = float(np.nanmin(every)), float(np.nanmax(every))
    # Row names only once (left), so the panels keep their width and the numbers read at
    # about 10 px when the figure is shown in the page's column.
    fig, axes = plt.subplots(1, len(methods), figsize=(3.9 * len(methods) + 2.4, 4.4), squeeze=False)
    image = None
    for index, (ax, method) in enumerate(zip(axes[0], methods, strict=True)):
        values, rows, cols = matrices[method]
        image = ax.imshow(values, cmap="viridis", vmin=low, vmax=high, aspect="auto")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if np.isfinite(values[i, j]):
                    shade = (values[i, j] - low) / max(high - low, 1e-9)
                    ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", fontsize=10,
                            color="black" if shade > 0.55 else "white")
        for k, name in enumerate(rows[:-1]):
            if name in cols:  # the in-domain cell of this training set
                j = cols.index(name)
                ax.add_patch(Rectangle((j - 0.5, k - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=2.2))
        ax.axhline(len(rows) - 1.5, color="white", linewidth=3)
        ax.set_xticks(range(len(cols)), [DOMAIN_TITLES.get(c, c) for c in cols], rotation=25, ha="right")
        names = [METHOD_TITLES["vader"] if r == "vader" else f"trained on {DOMAIN_TITLES.get(r, r)}" for r in rows]
        ax.set_yticks(range(len(rows)), names if index == 0 else [])
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("tested on")
        ax.set_title(METHOD_TITLES.get(method, method), fontsize=10.5)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.suptitle(f"Domain transfer: test {metric.replace('_', '-')} by training set (framed: in-domain)",
                 fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 0.92, 0.95))
    colourbar = fig.colorbar(image, cax=fig.add_axes((0.93, 0.22, 0.015, 0.62)))
    colourbar.set_label(metric.replace("_", "-"))
    return svg_bytes(fig)


def pretraining_figure(results: Mapping[str, Any]) -> bytes:
    """Learning curves: test accuracy and macro-F1 against labelled training sentences, mean and min-max over seeds."""
    import matplotlib.pyplot as plt

    pre = results["pretraining"]
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.3))
    for ax, metric in zip(axes, ("accuracy", "macro_f1"), strict=True):
        for init, style in CURVE_STYLE.items():
            points = [p for p in pre["curves"].get(init, []) if p[metric]["mean"] is not None]
            if not points:
                continue
            x = np.array([p["train_size"] for p in points], dtype=float)
            mean = np.array([p[metric]["mean"] for p in points])
            ax.fill_between(x, [p[metric]["min"] for p in points], [p[metric]["max"] for p in points],
                            color=style["color"], alpha=0.18, linewidth=0)
            ax.plot(x, mean, color=style["color"], marker=style["marker"], linestyle=style["linestyle"],
                    markersize=4.5, label=METHOD_TITLES[init])
            for xi, p in zip(x, points, strict=True):
                ax.scatter([xi] * len(p[metric]["values"]), p[metric]["values"], color=style["color"], s=7, alpha=0.6, zorder=3)
        if pre.get("vader"):
            ax.axhline(pre["vader"][metric], color=VADER_COLOUR, linestyle=":", linewidth=1.6, label=METHOD_TITLES["vader"])
        sizes = [p["train_size"] for p in pre["curves"]["random"] if p["train_size"]]
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{100 * p['fraction']:g}%\n{p['train_size']:,}" for p in pre["curves"]["random"] if p["train_size"]])
        ax.minorticks_off()
        ax.set_xlabel("labelled training sentences (share of the training split)")
        ax.set_ylabel(f"test {metric.replace('_', '-')}")
        ax.grid(True, axis="y")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), bbox_to_anchor=(0.5, 0.0))
    seeds = len(pre["seeds"])
    fig.suptitle(f"Masked-LM pre-training against random initialisation ({seeds} seed{'s' if seeds > 1 else ''}, "
                 f"band = min to max; same {pre['schedule']} at every size)", fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.07, 1, 0.94))
    return svg_bytes(fig)


# --------------------------------------------------------------------------- tables


def transfer_markdown(results: Mapping[str, Any]) -> str:
    """Accuracy (macro-F1 in brackets) per training set and test domain, each method, VADER last; in-domain in bold."""
    transfer = results["transfer"]
    cols = transfer["test_sets"]
    header = ["method", "trained on", *[DOMAIN_TITLES.get(c, c) for c in cols]]
    rows = []
    for method in TRANSFER_METHODS:
        table = transfer["methods"].get(method) or {}
        for train_set in transfer["train_sets"]:
            cells = []
            for test_set in cols:
                cell = (table.get(train_set) or {}).get(test_set) or {}
                text = f"{_num(cell.get('accuracy'))} ({_num(cell.get('macro_f1'))})"
                cells.append(f"**{text}**" if train_set == test_set else text)
            rows.append([METHOD_TITLES.get(method, method), DOMAIN_TITLES.get(train_set, train_set), *cells])
    vader = transfer.get("vader") or {}
    rows.append([METHOD_TITLES["vader"], "nothing",
                 *[f"{_num((vader.get(c) or {}).get('accuracy'))} ({_num((vader.get(c) or {}).get('macro_f1'))})" for c in cols]])
    return markdown_table(header, rows, align="ll" + "r" * len(cols))


def gap_markdown(results: Mapping[str, Any]) -> str:
    """In-domain against out-of-domain accuracy per test domain, for each trained method."""
    gap = results["transfer"]["gap"]
    header = ["method", "tested on", "in-domain", "out-of-domain (mean)", "best out-of-domain", "trained on all four"]
    rows = []
    for method in TRANSFER_METHODS:
        g = gap[method]
        for domain in results["transfer"]["train_sets"]:
            if domain not in g["per_test_domain"]:
                continue  # the pooled training set has no single in-domain test set
            d = g["per_test_domain"][domain]
            rows.append([METHOD_TITLES.get(method, method), DOMAIN_TITLES.get(domain, domain), _num(d["in_domain"]),
                         _num(d["out_of_domain_mean"]), _num(d["best_out_of_domain"]), _num(d["pooled"])])
        rows.append([METHOD_TITLES.get(method, method), "**mean**", f"**{_num(g['in_domain'])}**",
                     f"**{_num(g['out_of_domain'])}**", "", ""])
    return markdown_table(header, rows, align="llrrrr")


def pretraining_markdown(results: Mapping[str, Any]) -> str:
    """Mean ± standard deviation over seeds per labelled fraction, and the paired pre-trained minus random difference."""
    pre = results["pretraining"]
    header = ["labelled share", "sentences", "steps", "random init acc.", "pre-trained acc.", "pre-trained − random acc.",
              "random init macro-F1", "pre-trained macro-F1", "TF-IDF acc."]
    rows = []
    for k, point in enumerate(pre["curves"]["random"]):
        mlm, tfidf, diff = pre["curves"]["masked_lm"][k], pre["curves"]["tfidf_logreg"][k], pre["difference"][k]
        delta = diff["accuracy"]
        delta_text = "n/a" if delta["mean"] is None else f"{delta['mean']:+.3f}" + (f" ± {delta['sd']:.3f}" if delta["sd"] is not None else "")
        rows.append([f"{100 * point['fraction']:g}%", f"{point['train_size']:,}" if point["train_size"] else "n/a",
                     f"{point['steps']:,}" if point["steps"] else "n/a",
                     _mean_sd(point["accuracy"]), _mean_sd(mlm["accuracy"]), delta_text,
                     _mean_sd(point["macro_f1"]), _mean_sd(mlm["macro_f1"]), _mean_sd(tfidf["accuracy"])])
    return markdown_table(header, rows, align="rrrrrrrrr")


def full_training_markdown(results: Mapping[str, Any]) -> str:
    """Each method trained on the whole training split: accuracy / macro-F1 / Pearson r on the whole test split."""
    methods = results["test_split"]["methods"]
    header = ["method", "accuracy", "macro-F1", "Pearson r", "seeds"]
    rows = []
    for name in TEST_SPLIT_METHODS:
        cell = (methods.get(name) or {}).get("all") or {}
        rows.append([METHOD_TITLES.get(name, name), _num(cell.get("accuracy")), _num(cell.get("macro_f1")),
                     _num(cell.get("pearson_r")), cell.get("seeds", "n/a")])
    return markdown_table(header, rows, align="lrrrr")


def provenance_markdown(results: Mapping[str, Any]) -> str:
    """One paragraph: the command, the machine, the configuration and the time the runs took."""
    hw, timings = results["hardware"], results["timings"]
    minutes = timings["run_seconds_total"] / 60
    config = results["config"]
    return (
        f"Measured by `{results['command']}` (roberta-math {results['package_version']}) on "
        f"{hw['cpu_model']}, {hw['cpu_count']} cores, {hw['torch_threads']} torch thread(s) "
        f"(1/5/15-minute load average at the start {', '.join(str(x) for x in hw.get('load_average_at_start') or []) or 'n/a'}); "
        f"{len(results['runs'])} runs, {minutes:.1f} min of training and scoring in all "
        f"({(timings.get('runs_wall_span_seconds') or 0) / 60:.1f} min from the first run's start to the last run's end); "
        f"{len(config['seeds'])} seed(s) per point of the curves, {len(config['transfer_seeds'])} for the transfer matrix; "
        f"schedule: {results['protocol']['schedule']}.\n"
    )


RECIPE_SEARCH_PATH = Path(__file__).resolve().parents[1] / "experiments" / "recipe_search.json"
"""The committed record of ``python -m roberta_math.training.search`` (validation split only)."""


def recipe_search_markdown(search: Mapping[str, Any]) -> str:
    """One row per recipe variant: what it changes, and its best validation macro-F1 per seed.

    Runs that differ only in ``seed`` form one row; the mean over the seeds run decides,
    and the recipe with the highest mean validation macro-F1 is marked. No variant is
    scored on the test split here: only the recipe that ships is, once, by ``roberta-math train``.

    >>> v = lambda o, f1: {"overrides": o, "validation": {"accuracy": 0.7, "macro_f1": f1}, "best_epoch": 3}
    >>> search = {"variants": {"a": v({}, 0.50), "a_seed1": v({"seed": 1}, 0.54),
    ...                        "b": v({"dropout": 0.2}, 0.51)}}
    >>> print(recipe_search_markdown(search).splitlines()[2])
    | **(base recipe)** (best) | 0.5000 | 0.5400 | **0.5200** | 0.700 |
    """
    rows: dict[str, dict[int, Mapping[str, Any]]] = {}
    for record in search["variants"].values():
        overrides = dict(record["overrides"])
        seed = int(overrides.pop("seed", 0))
        changes = ", ".join(f"{k.replace('_', ' ')} {val}" for k, val in overrides.items()) or "(base recipe)"
        rows.setdefault(changes, {})[seed] = record
    seeds = sorted({seed for runs in rows.values() for seed in runs})
    mean = {c: float(np.mean([r["validation"]["macro_f1"] for r in runs.values()])) for c, runs in rows.items()}
    best = max(mean, key=mean.get)
    header = "| changes from the base recipe | " + " | ".join(f"macro-F1, seed {s}" for s in seeds)
    lines = [header + " | mean macro-F1 | accuracy (mean) |", "|---|" + "---:|" * (len(seeds) + 2)]
    for changes, runs in rows.items():
        cells = [f"{runs[s]['validation']['macro_f1']:.4f}" if s in runs else "not run" for s in seeds]
        accuracy = float(np.mean([r["validation"]["accuracy"] for r in runs.values()]))
        name, value = (f"**{changes}** (best)", f"**{mean[changes]:.4f}**") if changes == best else (changes, f"{mean[changes]:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {value} | {accuracy:.3f} |")
    return "\n".join(lines) + "\n"


def render(results: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file of the ``experiments`` step from a results object: two SVG figures, Markdown fragments, a JSON digest."""
    digest = {
        "headline": results["headline"],
        "transfer": {k: results["transfer"][k] for k in ("train_sets", "test_sets", "gap")},
        "pretraining": {k: results["pretraining"][k] for k in ("schedule", "fractions", "seeds", "curves", "difference", "vader")},
        "test_split": results["test_split"],
        "provenance": {k: results[k] for k in ("command", "package_version", "config_hash", "hardware")}
        | {"run_seconds_total": results["timings"]["run_seconds_total"], "runs": len(results["runs"])},
    }
    return {
        "experiments_transfer.svg": transfer_figure(results),
        "experiments_pretraining.svg": pretraining_figure(results),
        "experiments_transfer.md": transfer_markdown(results).encode(),
        "experiments_gap.md": gap_markdown(results).encode(),
        "experiments_pretraining.md": pretraining_markdown(results).encode(),
        "experiments_test.md": full_training_markdown(results).encode(),
        "experiments_provenance.md": provenance_markdown(results).encode(),
        "experiments.json": json_bytes(round_floats(digest, 6)),
    }


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``experiments`` step: :func:`render` of the committed results file."""
    from roberta_math.experiments.results import RESULTS_PATH, load_results

    ctx.log(f"experiments: reading {RESULTS_PATH.name}")
    files = render(load_results(RESULTS_PATH))
    search = json.loads(RECIPE_SEARCH_PATH.read_text(encoding="utf-8"))
    files["recipe_search.md"] = recipe_search_markdown(search).encode()
    return files


__all__: Sequence[str] = ("build", "render", "transfer_figure", "pretraining_figure", "transfer_markdown",
                          "gap_markdown", "pretraining_markdown", "full_training_markdown", "provenance_markdown")

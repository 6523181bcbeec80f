r"""The results file: the run records summarised into the transfer matrix, the learning curves and the headline.

Layout (``format`` 1; every number is a share in :math:`[0, 1]` unless named otherwise):

``command``, ``package_version``, ``config_hash``, ``config``, ``hardware``, ``versions``, ``corpus``
    How the numbers were made: the command line, the configuration (recipe, seeds,
    fractions, schedule, thread count), CPU model, cores, torch threads and load
    average, library versions, corpus checksums and the split's fingerprint.
``timings``
    Seconds per run (as recorded when the run finished, whichever session ran it), their
    sum per experiment and in all, the wall time from the first run's start to the last
    run's end, and what the session that wrote the file did.
``transfer``
    ``methods[METHOD][TRAIN_SET][TEST_SET]`` for ``roberta`` (compact model from random
    weights) and ``tfidf_logreg``: accuracy, macro-F1, Pearson r, n (means over the
    transfer seeds); ``vader[TEST_SET]``; ``gap[METHOD]``: in-domain (diagonal) against
    out-of-domain (off-diagonal) means.
``pretraining``
    ``curves[INIT]`` (``random``, ``masked_lm``, ``tfidf_logreg``): one point per
    fraction with the labelled training size, optimizer steps and, per metric,
    mean / sample standard deviation / min / max / per-seed values;
    ``difference``: masked-LM minus random, paired by seed; ``masked_lm``: the
    pre-training run itself; ``vader``: the constant reference.
``test_split``
    Every method trained on the whole training split, on the whole test split.
``headline``
    The numbers a page quotes.
``runs``
    Every run record (without per-step data), keyed by run id.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roberta_math.cache import atomic_write_text
from roberta_math.data.corpus import DOMAINS
from roberta_math.errors import UserError
from roberta_math.experiments.protocol import ALL, INITS, TRAIN_SETS, ExperimentConfig, RunSpec, planned_runs

RESULTS_PATH = Path(__file__).resolve().with_name("results.json")
"""The committed results of the default configuration."""

RESULTS_FORMAT = 1
TEST_SETS: tuple[str, ...] = (*DOMAINS, ALL)
METRICS: tuple[str, ...] = ("accuracy", "macro_f1")
CURVE_METHODS: tuple[str, ...] = (*INITS, "tfidf_logreg")
PROTOCOL_NOTES: dict[str, str] = {
    "transfer": (
        "compact RoBERTa from random weights (the embedded recipe) and TF-IDF + logistic regression, each trained on "
        "the training split of one domain or of all four, scored on the test split of every domain; BPE learnt from the "
        "training texts of the same domains; model selection on the validation split of the training domains"
    ),
    "pretraining": (
        "one masked-LM pre-training (the recipe's epochs, 15% of tokens, 80/10/10, dynamic masks) on every "
        "training-split text, shared by all pre-trained runs; fine-tuning on a class-balanced, seeded, nested share of "
        "the labelled training split, from the pre-trained encoder or from random weights, same seed, same data, same "
        "schedule; the BPE tokenizer is learnt from all training-split texts"
    ),
    "schedule_epochs": "every fraction trains for the recipe's number of epochs: optimizer steps grow with the fraction",
    "schedule_steps": "every fraction trains for about the optimizer steps of the full set: epochs shrink as the fraction grows",
    "metrics": "accuracy and macro-F1 over negative / neutral / positive (human label: mean valence / 4 with a +/-0.05 band)",
}


# --------------------------------------------------------------------------- statistics


def spread(values: Sequence[float]) -> dict[str, Any]:
    r"""Mean, sample standard deviation :math:`s = \sqrt{\frac{1}{k-1}\sum (x_i - \bar x)^2}` (``None`` for one value), min, max.

    >>> spread([0.5, 0.7])
    {'mean': 0.6, 'sd': 0.141421, 'min': 0.5, 'max': 0.7, 'values': [0.5, 0.7]}
    >>> spread([0.5])["sd"] is None
    True
    """
    values = [float(v) for v in values]
    if not values:
        return {"mean": None, "sd": None, "min": None, "max": None, "values": []}
    return {
        "mean": round(statistics.fmean(values), 6),
        "sd": round(statistics.stdev(values), 6) if len(values) > 1 else None,
        "min": round(min(values), 6),
        "max": round(max(values), 6),
        "values": [round(v, 6) for v in values],
    }


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.fmean(kept), 6) if kept else None


# --------------------------------------------------------------------------- the summaries


def _cell(runs: Sequence[Mapping[str, Any]], test_set: str) -> dict[str, Any] | None:
    rows = [r["test"][test_set] for r in runs if test_set in r.get("test", {})]
    if not rows:
        return None
    cell: dict[str, Any] = {"n": rows[0]["n"], "seeds": len(rows)}
    for metric in (*METRICS, "pearson_r"):
        cell[metric] = _mean(row.get(metric) for row in rows)
    if len(rows) > 1:
        cell["accuracy_sd"] = spread([row["accuracy"] for row in rows])["sd"]
    return cell


def transfer_summary(config: ExperimentConfig, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The transfer matrices, VADER's row, and the in-domain / out-of-domain gap of each method."""
    specs = {
        "roberta": lambda t: [RunSpec("roberta", t, 1.0, "random", s) for s in config.transfer_seeds],
        "tfidf_logreg": lambda t: [RunSpec("tfidf_logreg", t, 1.0, None, 0)],
    }
    methods: dict[str, Any] = {}
    for method, make in specs.items():
        table: dict[str, Any] = {}
        for train_set in TRAIN_SETS:
            runs = [records[s.run_id] for s in make(train_set) if s.run_id in records]
            table[train_set] = {t: _cell(runs, t) for t in TEST_SETS} if runs else None
        methods[method] = table
    vader = records.get("vader")
    gap = {method: transfer_gap(table) for method, table in methods.items()}
    return {
        "train_sets": list(TRAIN_SETS),
        "test_sets": list(TEST_SETS),
        "seeds": {"roberta": list(config.transfer_seeds), "tfidf_logreg": [0]},
        "methods": methods,
        "vader": {t: _cell([vader], t) for t in TEST_SETS} if vader else None,
        "gap": gap,
    }


def transfer_gap(table: Mapping[str, Any], metric: str = "accuracy") -> dict[str, Any]:
    """In-domain (diagonal) against out-of-domain (off-diagonal) means over the four single-domain rows.

    ``per_test_domain[d]`` compares the model trained on ``d`` with the mean of the
    three trained elsewhere and with the one trained on all four (``pooled``).

    >>> cell = lambda a: {"accuracy": a, "macro_f1": a}
    >>> table = {t: {d: cell(0.8 if t == d else 0.5) for d in (*DOMAINS, ALL)} for t in DOMAINS}
    >>> table[ALL] = {d: cell(0.75) for d in (*DOMAINS, ALL)}
    >>> g = transfer_gap(table)
    >>> g["in_domain"], g["out_of_domain"], g["difference"], g["per_test_domain"]["tweets"]["pooled"]
    (0.8, 0.5, 0.3, 0.75)
    """
    def value(train: str, test: str) -> float | None:
        row = table.get(train)
        return None if not row or not row.get(test) else row[test].get(metric)

    inside = [value(d, d) for d in DOMAINS]
    outside = [value(t, d) for t in DOMAINS for d in DOMAINS if t != d]
    per_domain = {
        d: {"in_domain": value(d, d), "out_of_domain_mean": _mean(value(t, d) for t in DOMAINS if t != d),
            "best_out_of_domain": max((v for t in DOMAINS if t != d and (v := value(t, d)) is not None), default=None),
            "pooled": value(ALL, d)}
        for d in DOMAINS
    }
    in_mean, out_mean = _mean(inside), _mean(outside)
    return {
        "metric": metric,
        "in_domain": in_mean,
        "out_of_domain": out_mean,
        "difference": None if in_mean is None or out_mean is None else round(in_mean - out_mean, 6),
        "per_test_domain": per_domain,
    }


def _curve_spec(init: str, fraction: float, seed: int) -> RunSpec:
    if init == "tfidf_logreg":
        return RunSpec("tfidf_logreg", ALL, fraction, None, 0 if fraction >= 1.0 else seed)
    return RunSpec("roberta", ALL, fraction, init, seed)


def pretraining_summary(config: ExperimentConfig, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Learning curves per initialisation (and TF-IDF), paired differences, and the pre-training run."""
    fractions = sorted(config.fractions)
    curves: dict[str, list[dict[str, Any]]] = {}
    for init in CURVE_METHODS:
        points = []
        for fraction in fractions:
            seeds = [s for s in config.seeds if _curve_spec(init, fraction, s).run_id in records]
            if init == "tfidf_logreg":
                seeds = sorted({0 if fraction >= 1.0 else s for s in seeds})  # deterministic on the full set
            runs = [records[_curve_spec(init, fraction, s).run_id] for s in seeds]
            point: dict[str, Any] = {
                "fraction": fraction,
                "train_size": runs[0].get("train_size") if runs else None,
                "steps": runs[0].get("steps") if runs else None,
                "epochs": runs[0].get("epochs") if runs else None,
                "seeds": seeds,
            }
            for metric in METRICS:
                point[metric] = spread([r["test"][ALL][metric] for r in runs])
            points.append(point)
        curves[init] = points
    difference = []
    for fraction in fractions:
        pairs = [(records[_curve_spec("masked_lm", fraction, s).run_id], records[_curve_spec("random", fraction, s).run_id])
                 for s in config.seeds
                 if _curve_spec("masked_lm", fraction, s).run_id in records and _curve_spec("random", fraction, s).run_id in records]
        difference.append({"fraction": fraction, "seeds": len(pairs),
                           **{m: spread([a["test"][ALL][m] - b["test"][ALL][m] for a, b in pairs]) for m in METRICS}})
    pre = records.get(RunSpec("masked_lm", ALL, 1.0, None, config.pretrain_seed).run_id)
    vader = records.get("vader")
    return {
        "schedule": config.schedule,
        "schedule_note": PROTOCOL_NOTES[f"schedule_{config.schedule}"],
        "fractions": fractions,
        "seeds": list(config.seeds),
        "curves": curves,
        "difference": difference,
        "masked_lm": None if pre is None else {k: pre.get(k) for k in ("train_size", "epochs", "steps", "validation_curve",
                                                                          "final_train_loss", "wall_seconds")},
        "vader": None if vader is None else {m: vader["test"][ALL][m] for m in METRICS},
    }


def full_training_summary(config: ExperimentConfig, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Every method trained on the whole training split, per test domain (means over seeds)."""
    seeds = sorted(set(config.seeds) | set(config.transfer_seeds))
    sources = {
        "roberta_random": [RunSpec("roberta", ALL, 1.0, "random", s).run_id for s in seeds],
        "roberta_masked_lm": [RunSpec("roberta", ALL, 1.0, "masked_lm", s).run_id for s in config.seeds],
        "tfidf_logreg": [RunSpec("tfidf_logreg", ALL, 1.0, None, 0).run_id],
        "vader": ["vader"],
    }
    methods = {}
    for name, ids in sources.items():
        runs = [records[i] for i in ids if i in records]
        methods[name] = {t: _cell(runs, t) for t in TEST_SETS} if runs else None
    return {"trained_on": "the whole training split (all four domains)", "methods": methods}


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a page quotes, read off the summaries (``None`` where a run is missing)."""
    gap = summary["transfer"]["gap"]
    curves = summary["pretraining"]["curves"]
    test = summary["test_split"]["methods"]

    def at(init: str, index: int) -> dict[str, Any]:
        point = curves[init][index]
        return {"fraction": point["fraction"], "train_size": point["train_size"], "steps": point["steps"],
                **{m: {k: point[m][k] for k in ("mean", "sd")} for m in METRICS}}

    def overall(method: str) -> dict[str, Any] | None:
        row = test.get(method)
        return None if not row or not row.get(ALL) else {m: row[ALL][m] for m in (*METRICS, "pearson_r")}

    vader = summary["transfer"]["vader"]
    return {
        "transfer_accuracy": {
            method: {k: gap[method][k] for k in ("in_domain", "out_of_domain", "difference")} for method in gap
        } | {"vader_mean_over_domains": _mean(vader[d]["accuracy"] for d in DOMAINS) if vader else None},
        "pretraining": {
            "smallest": {init: at(init, 0) for init in CURVE_METHODS},
            "full": {init: at(init, -1) for init in CURVE_METHODS},
        },
        "test_split": {method: overall(method) for method in test},
    }


def build_results(config: ExperimentConfig, records: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The whole results file from the run records of ``config`` and the session's ``meta``."""
    planned = [s.run_id for s in planned_runs(config)]
    kept = {i: _slim(records[i]) for i in planned if i in records}
    summary = {
        "transfer": transfer_summary(config, kept),
        "pretraining": pretraining_summary(config, kept),
        "test_split": full_training_summary(config, kept),
    }
    seconds = {i: kept[i]["wall_seconds"] for i in planned if i in kept}
    span = runs_wall_span(kept.values())
    transfer_ids = {RunSpec("roberta", t, 1.0, "random", s).run_id for t in TRAIN_SETS for s in config.transfer_seeds}
    transfer_ids |= {RunSpec("tfidf_logreg", t, 1.0, None, 0).run_id for t in TRAIN_SETS} | {"vader"}
    return {
        "format": RESULTS_FORMAT,
        "complete": all(i in kept for i in planned),
        "missing_runs": [i for i in planned if i not in kept],
        **{k: meta[k] for k in ("command", "package_version", "config_hash", "config", "hardware", "versions", "corpus")},
        "seeds": {"split": meta["corpus"]["split_seed"], "pretraining_curves": list(config.seeds),
                  "transfer": list(config.transfer_seeds), "masked_lm": config.pretrain_seed},
        "protocol": {k: v for k, v in PROTOCOL_NOTES.items() if not k.startswith("schedule_")}
        | {"schedule": PROTOCOL_NOTES[f"schedule_{config.schedule}"]},
        "timings": {
            "run_seconds": seconds,
            "run_seconds_total": round(sum(seconds.values()), 1),
            "runs_wall_span_seconds": span,
            "transfer_seconds": round(sum(v for i, v in seconds.items() if i in transfer_ids), 1),
            "pretraining_seconds": round(sum(v for i, v in seconds.items() if i not in transfer_ids), 1),
            "session": meta["session"],
        },
        **summary,
        "headline": headline(summary),
        "runs": kept,
    }


def runs_wall_span(records: Iterable[Mapping[str, Any]]) -> float | None:
    """Seconds from the start of the first run to the end of the last, from the records' ``finished_at``.

    Whichever sessions ran them, this is the wall time the runs took (idle gaps between
    sessions included).

    >>> runs_wall_span([{"finished_at": "2026-01-01T10:00:30+00:00", "wall_seconds": 30},
    ...                 {"finished_at": "2026-01-01T10:10:00+00:00", "wall_seconds": 100}])
    600.0
    """
    from datetime import datetime, timedelta

    starts, ends = [], []
    for record in records:
        if "finished_at" not in record:
            return None
        end = datetime.fromisoformat(record["finished_at"])
        starts.append(end - timedelta(seconds=float(record["wall_seconds"])))
        ends.append(end)
    return round((max(ends) - min(starts)).total_seconds(), 1) if ends else None


def _slim(record: Mapping[str, Any]) -> dict[str, Any]:
    # Confusion matrices stay (they let a reader recompute every metric); nothing per step is kept.
    return {k: v for k, v in record.items() if k not in ("format", "config_hash")}


# --------------------------------------------------------------------------- reading and writing


REQUIRED_KEYS: tuple[str, ...] = (
    "format", "complete", "command", "package_version", "config", "hardware", "versions", "corpus", "seeds",
    "timings", "transfer", "pretraining", "test_split", "headline", "runs",
)


def check_results(results: Any) -> list[str]:
    """What is wrong with a results object (an empty list when nothing is).

    >>> check_results({"format": 1})[0]
    "missing key 'complete'"
    """
    if not isinstance(results, dict):
        return ["not a JSON object"]
    problems = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in results]
    if problems:
        return problems
    if results["format"] != RESULTS_FORMAT:
        problems.append(f"format {results['format']!r}, expected {RESULTS_FORMAT}")
    for method, table in results["transfer"].get("methods", {}).items():
        for train_set in TRAIN_SETS:
            row = (table or {}).get(train_set)
            for test_set in TEST_SETS:
                cell = (row or {}).get(test_set)
                if cell is None or not isinstance(cell.get("accuracy"), (int, float)) or not 0 <= cell["accuracy"] <= 1:
                    problems.append(f"transfer {method} {train_set} -> {test_set}: no accuracy in [0, 1]")
    for init in CURVE_METHODS:
        points = results["pretraining"].get("curves", {}).get(init)
        if not points or any(p["accuracy"]["mean"] is None for p in points):
            problems.append(f"pretraining curve {init!r} lacks a point")
    for key in ("command", "package_version"):
        if not isinstance(results[key], str):
            problems.append(f"{key} is not a string")
    if not isinstance(results["hardware"].get("torch_threads"), int):
        problems.append("hardware.torch_threads is not an integer")
    return problems


def transfer_matrix(results: Mapping[str, Any], method: str, metric: str = "accuracy") -> tuple[np.ndarray, list[str], list[str]]:
    """Rows = training sets then VADER, columns = test sets: ``(values (rows, cols), row names, column names)``.

    >>> cell = {"accuracy": 0.5}
    >>> r = {"transfer": {"train_sets": ["tweets", "all"], "test_sets": ["tweets", "all"],
    ...      "methods": {"roberta": {"tweets": {"tweets": cell, "all": cell}, "all": {"tweets": cell, "all": cell}}},
    ...      "vader": {"tweets": {"accuracy": 0.6}, "all": {"accuracy": 0.6}}}}
    >>> values, rows, cols = transfer_matrix(r, "roberta")
    >>> values.shape, rows[-1], float(values[-1, 0])
    ((3, 2), 'vader', 0.6)
    """
    transfer = results["transfer"]
    rows, cols = list(transfer["train_sets"]), list(transfer["test_sets"])
    table = transfer["methods"][method]
    values = np.full((len(rows) + 1, len(cols)), np.nan)  # (train sets + VADER, test sets)
    for i, train_set in enumerate(rows):
        for j, test_set in enumerate(cols):
            cell = (table.get(train_set) or {}).get(test_set)
            if cell and cell.get(metric) is not None:
                values[i, j] = cell[metric]
    for j, test_set in enumerate(cols):
        cell = (transfer.get("vader") or {}).get(test_set)
        if cell and cell.get(metric) is not None:
            values[-1, j] = cell[metric]
    return values, [*rows, "vader"], cols


def write_results(path: Path, results: Mapping[str, Any]) -> None:
    """Write the results file atomically (sorted keys, indented, final newline)."""
    atomic_write_text(Path(path), json.dumps(results, indent=1, sort_keys=True, allow_nan=False) + "\n")


def load_results(path: str | Path = RESULTS_PATH) -> dict[str, Any]:
    """The results file at ``path`` (default: the committed one), checked by :func:`check_results`.

    A missing, unreadable, incomplete or malformed file is a
    :class:`~roberta_math.errors.UserError` that says how to make a good one.
    """
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no experiment results at {path}: run `roberta-math experiments` (about 30 min) to make them") from None
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not a readable JSON file ({error}): run `roberta-math experiments` again") from None
    if isinstance(results, dict) and results.get("complete") is False and results.get("missing_runs"):
        raise UserError(f"{path} lacks {len(results['missing_runs'])} run(s) (e.g. {results['missing_runs'][0]}): "
                        "run `roberta-math experiments` again to finish them")
    problems = check_results(results)
    if problems:
        raise UserError(f"{path} is not a complete experiment results file ({problems[0]}; {len(problems)} problem(s)): "
                        "run `roberta-math experiments` again")
    return results

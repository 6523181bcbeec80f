"""``roberta-math experiments``: the domain-transfer and pre-training experiments, resumable, with progress bars.

Without options it runs the committed configuration
(:data:`~roberta_math.experiments.protocol.DEFAULT_CONFIG`, about half an hour on two
busy cores) and writes :data:`~roberta_math.experiments.results.RESULTS_PATH`; an
interrupted session resumes where it stopped (finished runs are read back, never
trained again). ``--tiny`` runs a seconds-long configuration and writes into the cache
unless ``--out`` says otherwise. ``--dry-run`` lists the runs and which are finished.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from roberta_math.cli import Subcommand
from roberta_math.errors import UserError


def parse_fraction(text: str) -> float:
    """A share of the labelled training split: ``"5%"`` or ``"0.05"``, in (0, 1].

    >>> parse_fraction("5%"), parse_fraction("0.25"), parse_fraction("1")
    (0.05, 0.25, 1.0)
    >>> parse_fraction("150%")
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: --fractions takes shares in (0, 1] such as 0.05 or 5%, got '150%'
    """
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 1.0:  # also rejects NaN
        raise UserError(f"--fractions takes shares in (0, 1] such as 0.05 or 5%, got {text!r}")
    return round(value, 6)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long configuration (2%% of the data, a one-layer model) to check the code path")
    parser.add_argument("--out", metavar="FILE",
                        help="results file (default: the package's committed results.json; with --tiny: in the cache)")
    parser.add_argument("--seeds", type=int, metavar="N", help="fine-tuning seeds 0..N-1 of the pre-training curves (default: 3)")
    parser.add_argument("--fractions", nargs="+", metavar="F",
                        help="shares of the labelled training split, e.g. 5%% 10%% 25%% 50%% 100%% (the default)")
    parser.add_argument("--schedule", choices=("epochs", "steps"),
                        help="same epochs at every fraction (default) or about the same optimizer steps")
    parser.add_argument("--threads", type=int, metavar="N", help="torch threads while training (default: 1)")
    parser.add_argument("--corpus", metavar="DIR", help="a directory holding the VADER *_GroundTruth.txt files (default: download once)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and which are finished; train nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    parser.add_argument("--json", action="store_true", help="print the headline numbers as JSON")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~roberta_math.experiments.protocol.ExperimentConfig` the options ask for.

    >>> ns = argparse.Namespace(tiny=True, seeds=2, fractions=["10%", "1"], schedule=None, threads=None)
    >>> c = config_from_args(ns)
    >>> c.name, c.seeds, c.fractions, c.threads
    ('tiny', (0, 1), (0.1, 1.0), 1)
    """
    from dataclasses import replace

    from roberta_math.experiments.protocol import DEFAULT_CONFIG, TINY_CONFIG

    config = TINY_CONFIG if args.tiny else DEFAULT_CONFIG
    changes: dict[str, Any] = {}
    if args.seeds is not None:
        if args.seeds < 1:
            raise UserError(f"--seeds must be at least 1, got {args.seeds}")
        changes["seeds"] = tuple(range(args.seeds))
    if args.fractions:
        changes["fractions"] = tuple(sorted({parse_fraction(f) for f in args.fractions}))
    if args.schedule:
        changes["schedule"] = args.schedule
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be at least 1, got {args.threads}")
        changes["threads"] = args.threads
        changes["recipe"] = replace(config.recipe, num_threads=args.threads)
    return replace(config, **changes) if changes else config


def command_line(args: argparse.Namespace) -> str:
    """The command as a reader would type it again (recorded in the results).

    >>> command_line(argparse.Namespace(tiny=False, out=None, seeds=3, fractions=None, schedule=None, threads=None, corpus=None))
    'roberta-math experiments --seeds 3'
    """
    parts = ["roberta-math", "experiments"]
    if args.tiny:
        parts.append("--tiny")
    for option in ("seeds", "schedule", "threads", "out", "corpus"):
        value = getattr(args, option)
        if value is not None:
            parts += [f"--{option}", str(value)]
    if args.fractions:
        parts += ["--fractions", *args.fractions]
    return shlex.join(parts)


def default_out(tiny: bool) -> Path:
    """The committed results file, or ``<cache>/experiments/tiny-results.json`` for ``--tiny``."""
    from roberta_math.experiments.results import RESULTS_PATH
    from roberta_math.experiments.runner import experiments_dir

    return experiments_dir() / "tiny-results.json" if tiny else RESULTS_PATH


def _format_headline(results: dict[str, Any], out: Path, stats: dict[str, Any]) -> str:
    head = results["headline"]
    lines = [f"results written to {out} ({stats['runs_trained']} runs trained, {stats['runs_reused']} reused, "
             f"{results['timings']['session']['wall_seconds']:.0f} s this session, "
             f"{results['timings']['run_seconds_total']:.0f} s of runs in all)"]
    for method, gap in head["transfer_accuracy"].items():
        if isinstance(gap, dict) and gap.get("in_domain") is not None:
            lines.append(f"transfer {method:<13} in-domain accuracy {gap['in_domain']:.3f}, out-of-domain {gap['out_of_domain']:.3f}")
    for where in ("smallest", "full"):
        row = head["pretraining"][where]
        cells = []
        for init in ("random", "masked_lm", "tfidf_logreg"):
            acc = row[init]["accuracy"]
            if acc["mean"] is not None:
                sd = f" +/- {acc['sd']:.3f}" if acc["sd"] is not None else ""
                cells.append(f"{init} {acc['mean']:.3f}{sd}")
        lines.append(f"{100 * row['random']['fraction']:g}% of the labels: " + ", ".join(cells))
    test = {m: v["accuracy"] for m, v in head["test_split"].items() if v}
    lines.append("test split accuracy: " + ", ".join(f"{m} {a:.3f}" for m, a in test.items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the experiments the options describe (or list them with ``--dry-run``); return 0."""
    from roberta_math.experiments.runner import run_experiments

    config = config_from_args(args)
    if args.dry_run:
        return _dry_run(config, args.corpus)
    out = Path(args.out) if args.out else default_out(args.tiny)
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out} is a directory: give a file name such as {out / 'results.json'}")
    results, stats = run_experiments(config, out=out, source=args.corpus, progress=not args.no_progress,
                                     command=command_line(args))
    if args.json:
        print(json.dumps(results["headline"], indent=1, sort_keys=True))
    else:
        print(_format_headline(results, out, stats.as_dict()))
    return 0


def _dry_run(config: Any, source: str | None) -> int:
    from roberta_math.experiments.protocol import config_hash, planned_runs
    from roberta_math.experiments.runner import RunStore, experiments_dir, library_versions, load_data

    _, info = load_data(config, source)
    hash_ = config_hash(config, info["ground_truth_sha256"], info["split_fingerprint_sha256"], library_versions())
    store = RunStore(experiments_dir() / hash_, hash_)
    done = 0
    for spec in planned_runs(config):
        record = store.load(spec.run_id)
        done += record is not None
        status = f"done ({record['wall_seconds']:.0f} s)" if record else "to do"
        print(f"{spec.run_id:<40} {status}")
    print(f"{done} of {len(planned_runs(config))} runs finished; records in {store.directory}", file=sys.stderr)
    return 0


SUBCOMMAND = Subcommand(
    "experiments", "run the domain-transfer and pre-training experiments (resumable) and write their results",
    _add_arguments, run, takes_model=False,
)

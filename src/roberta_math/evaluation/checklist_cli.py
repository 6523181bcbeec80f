"""``roberta-math checklist``: the behavioural tests on a model, VADER and the TF-IDF baseline.

The default output is one row per test (type, cases, each method's failures and failure
rate), then the model's first failing cases per test. ``--json`` prints the whole
result of :func:`roberta_math.evaluation.checklist.checklist_report` as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from roberta_math.cli import Subcommand
from roberta_math.errors import UserError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    parser.add_argument("--no-baselines", action="store_true", help="test the model only, not VADER and TF-IDF")
    parser.add_argument("--examples", type=int, default=3, metavar="K",
                        help="failing cases of the model kept per test (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the template fills (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress messages on stderr")


def _rate(result: Mapping[str, Any]) -> str:
    if not result["n"]:
        return "-"
    return f"{result['failures']:>3}/{result['n']:<3} {100 * result['failure_rate']:>3.0f}%"


def format_report(report: Mapping[str, Any]) -> str:
    """The plain-text report of a :func:`~roberta_math.evaluation.checklist.checklist_report` result.

    >>> report = {"model": "m", "methods": ["m"], "seed": 0, "tolerance": 0.05, "tests": [
    ...     {"name": "neutral_facts", "type": "MFT", "n": 2, "expectation": "neutral", "results": {"m": {
    ...         "n": 2, "failures": 1, "failure_rate": 0.5, "examples": [{"texts": ["It is Tuesday."],
    ...         "predicted": ["positive"], "scores": [0.9], "expected": ["neutral"], "direction": None}]}}}]}
    >>> print(format_report(report))
    behavioural tests (seed 0, 1 tests, DIR tolerance 0.05): failures / cases and failure rate
    test                  type  m
    neutral_facts         MFT     1/2    50%
    <BLANKLINE>
    failing cases of m (expected -> said, signed score psi = p_pos - p_neg)
    neutral_facts: It is Tuesday.
        expected neutral -> positive (psi +0.90)
    """
    methods = list(report["methods"])
    width = max([len(t["name"]) for t in report["tests"]] + [20])
    cell = max([len(m) for m in methods] + [13])
    lines = [(f"behavioural tests (seed {report['seed']}, {len(report['tests'])} tests, DIR tolerance "
              f"{report['tolerance']:g}): failures / cases and failure rate"),
             f"{'test':<{width}}  type  " + "  ".join(f"{m:<{cell}}" for m in methods).rstrip()]
    for test in report["tests"]:
        lines.append(f"{test['name']:<{width}}  {test['type']:<4}  "
                     + "  ".join(f"{_rate(test['results'][m]):<{cell}}" for m in methods).rstrip())
    model = report["model"]
    if model is not None:
        lines += ["", f"failing cases of {model} (expected -> said, signed score psi = p_pos - p_neg)"]
        for test in report["tests"]:
            for example in test["results"][model]["examples"]:
                said = " -> ".join(f"{label} (psi {score:+.2f})" for label, score in
                                   zip(example["predicted"], example["scores"], strict=True))
                if test["type"] == "MFT":
                    expected = " or ".join(example["expected"])
                elif test["type"] == "INV":
                    expected = "the same class"
                else:
                    expected = "psi not falling" if example["direction"] > 0 else "psi not rising"
                lines.append(f"{test['name']}: {' -> '.join(example['texts'])}")
                lines.append(f"    expected {expected} -> {said}")
    return "\n".join(lines)


def run_checklist(args: argparse.Namespace) -> int:
    """``roberta-math checklist``: run the behavioural tests and print them."""
    from roberta_math.evaluation.checklist import checklist_report

    if args.examples < 0:
        raise UserError(f"--examples must be 0 or more, got {args.examples}")
    report = checklist_report(args.model, baselines=not args.no_baselines, seed=args.seed, examples=args.examples,
                              progress=not args.no_progress)
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


SUBCOMMAND = Subcommand(
    "checklist",
    "behavioural tests (CheckList): failure rates of the model, VADER and TF-IDF per capability",
    _add_arguments,
    run_checklist,
)
"""Registered in :data:`roberta_math.cli.EXTERNAL_SUBCOMMANDS` as ``roberta_math.evaluation.checklist_cli:SUBCOMMAND``."""

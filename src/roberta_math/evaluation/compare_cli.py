"""``roberta-math compare``: VADER and a model on the VADER paper's corpora, as tables or JSON.

The default output puts the paper's Table 4 beside the reproduced numbers, then the
test-split table with bootstrap intervals, the rule-tagged accuracies and the largest
disagreements. ``--json`` prints the whole result of
:func:`roberta_math.evaluation.compare.compare` as one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from roberta_math.cli import Subcommand
from roberta_math.errors import UserError
from roberta_math.figures.render import DOMAIN_TITLES as _DOMAIN_TITLES


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    parser.add_argument("--vader-only", action="store_true", help="compare nothing with VADER (no model is loaded)")
    parser.add_argument("--corpus", metavar="DIR",
                        help="a directory holding the VADER *_GroundTruth.txt files (default: download once)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="paired bootstrap resamples (default: 1000; 0 skips)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the bootstrap and the individual-rater draws (default: 0)")
    parser.add_argument("--top", type=int, default=3, metavar="K",
                        help="disagreements shown per domain in the tables (default: 3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")


def _num(value: Any, width: int = 6, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return f"{'-':>{width}}"
    return f"{value:>+{width}.{digits}f}" if signed else f"{value:>{width}.{digits}f}"


def _interval(ci: dict[str, Any]) -> str:
    return f"{ci['estimate']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}]" if ci.get("low") is not None else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(header)]
    lines = ["  ".join(f"{h:<{w}}" if i == 0 else f"{h:>{w}}" for i, (h, w) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def format_report(result: dict[str, Any], *, top: int = 3) -> str:
    """The human-readable report of a :func:`~roberta_math.evaluation.compare.compare` result."""
    out: list[str] = []
    paper = result["paper"]
    vader_full = result["full"]["vader"]
    out.append("VADER on the full corpora beside the published numbers (Hutto & Gilbert, ICWSM 2014, Table 4)")
    out.append("P / R / F1 averaged over the 3 classes weighted by support (closest to the paper); macro-F1 is ours only")
    rows = []
    for domain, title in _DOMAIN_TITLES.items():
        ours = vader_full.get(domain)
        if ours is None:
            continue
        theirs = paper["vader"].get(domain, {})
        rows.append(
            [title, str(ours["n"])]
            + [f"{_num(theirs.get(k), 5, 3 if k == 'pearson_r' else 2).strip()} / {_num(ours[k], 5, 3).strip()}"
               for k in ("pearson_r", "precision", "recall", "f1")]
            + [_num(ours["macro_f1"])]
        )
    out.append(_table(["domain", "n", "r paper/ours", "P paper/ours", "R paper/ours", "F1 paper/ours", "macro-F1"], rows))
    versus = result.get("full_vs_paper", {})
    gaps = versus.get("mean_abs_difference", {})
    if gaps:
        out.append("mean |ours - paper| over P/R/F1 and the four domains, per reading of the paper:")
        for reading, gap in gaps.items():
            description = versus["readings"][reading]["description"]
            out.append(f"  {_num(gap, 5)}  {reading}: {description}")

    humans = result.get("individual_humans", {}).get("domains", {})
    if humans:
        out.append("")
        draws = result["individual_humans"]["draws"]
        out.append(f"Individual human raters: one random rating per sentence against the mean ({draws} draws)")
        rows = []
        for domain, title in _DOMAIN_TITLES.items():
            h = humans.get(domain)
            if h is None:
                continue
            theirs = paper["individual_humans"].get(domain, {})
            rows.append([
                title,
                f"{_num(theirs.get('pearson_r'), 5).strip()} / {h['pearson_r']:.3f}",
                f"{_num(theirs.get('f1'), 4, 2).strip()} / {h['f1']:.3f}",
                _num(h.get("sign_labels", {}).get("f1")),
                f"{h['leave_one_out']['pearson_r']:.3f} / {h['leave_one_out']['f1']:.3f}",
            ])
        out.append(_table(["domain", "r paper/ours", "F1 paper/ours", "F1 sign labels", "leave-one-out r / F1"], rows))

    test = result["test"]
    methods = list(test)
    out.append("")
    out.append(f"Held-out test split: {', '.join(methods)} (r: signed score vs human mean)")
    rows = []
    for domain, title in _DOMAIN_TITLES.items():
        for method in methods:
            m = test[method].get(domain)
            if m is None:
                continue
            rows.append([title if method == methods[0] else "", method, str(m["n"]), _num(m["accuracy"]),
                         _num(m["macro_f1"]), _num(m["macro_recall"]), _num(m["f1"]), _num(m["pearson_r"])])
    out.append(_table(["domain", "method", "n", "accuracy", "macro-F1", "macro-R", "F1 (w)", "r"], rows))

    boot = result.get("bootstrap", {})
    for method, by_domain in boot.get("differences", {}).items():
        out.append("")
        out.append(f"{method} minus {boot['reference']}, {round(boot['level'] * 100)}% paired bootstrap interval "
                   f"({boot['n_resamples']} resamples)")
        rows = []
        for domain, title in _DOMAIN_TITLES.items():
            cis = by_domain.get(domain)
            if cis is None:
                continue
            rows.append([title] + [_interval(cis[k]) for k in ("accuracy", "macro_f1", "macro_recall", "pearson_r")])
        out.append(_table(["domain", "accuracy", "macro-F1", "macro-R", "r"], rows))

    tags = result.get("error_analysis", {}).get("tags", {})
    if tags:
        out.append("")
        out.append("Test sentences tagged by simple rules: accuracy of each method (tagged / untagged)")
        rows = []
        for tag, entry in tags.items():
            rows.append([tag, str(entry["n"])] + [
                f"{_num(entry['accuracy'][m], 5).strip()} / {_num(entry['accuracy_untagged'][m], 5).strip()}"
                for m in methods
            ])
        out.append(_table(["tag", "n", *methods], rows))

    disagreements = result.get("disagreements", {}).get("by_method", {})
    for method, by_domain in disagreements.items():
        out.append("")
        out.append(f"Largest disagreements, {method} vs vader (test split; gap = |score difference|)")
        for domain, rows_ in by_domain.items():
            for row in rows_[:top]:
                text = " ".join(row["text"].split())
                text = text if len(text) <= 90 else text[:87] + "..."
                out.append(
                    f"  {_DOMAIN_TITLES[domain]:<15} gap {row['gap']:.2f}  human {row['label']:<8} "
                    f"vader {row['scores']['vader']:+.2f}  {method} {row['scores'][method]:+.2f}  {text}"
                )
    return "\n".join(out)


def run_compare(args: argparse.Namespace) -> int:
    """``roberta-math compare``: run (or read from the cache) the comparison and print it."""
    from roberta_math.evaluation.compare import compare

    if args.top < 0:
        raise UserError(f"--top must be 0 or more, got {args.top}")
    result = compare(
        None if args.vader_only else args.model,
        source=args.corpus,
        progress=not args.no_progress,
        bootstrap=args.bootstrap,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        print(format_report(result, top=args.top))
    return 0


SUBCOMMAND = Subcommand(
    "compare",
    "VADER and the model on the VADER paper's corpora, beside the paper's Table 4",
    _add_arguments,
    run_compare,
)
"""Registered in :data:`roberta_math.cli.EXTERNAL_SUBCOMMANDS` as ``roberta_math.evaluation.compare_cli:SUBCOMMAND``."""

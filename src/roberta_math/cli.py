"""The ``roberta-math`` command line: ``predict``, ``evaluate``, ``train`` (and what others register).

Each subcommand is one function taking the parsed arguments and returning an exit status.
Every subcommand gets ``--model`` (``embedded`` by default, a directory, or a hub id).
A :class:`~roberta_math.errors.UserError` anywhere becomes one line on stderr,
``roberta-math: error: ...``, and exit status 2, with no traceback; Ctrl-C exits with 130.

Adding a subcommand from another module takes one line here: define a
:class:`Subcommand` in your module (cheap to import: heavy imports go inside ``run``) and
add ``"your.module:ATTRIBUTE"`` to :data:`EXTERNAL_SUBCOMMANDS`.

Input files for ``predict --input`` and ``evaluate --data`` (``-`` reads stdin):

* ``.txt`` (or any other suffix): one text per line;
* ``.csv`` / ``.tsv``: a header row naming a ``text`` column (and ``label`` for evaluate);
* ``.jsonl``: one JSON object per line with those keys.

They must be UTF-8 (a bad byte is reported with its line). Empty rows, and texts with no
visible character (only whitespace, controls, or format characters such as U+200B), are
reported on stderr by line number and skipped; every other row is still scored; an
ambiguous row is an error naming its line. ``--text-column`` is for .csv, .tsv and .jsonl
files: given with a plain-text input, or with texts as arguments, it is an error.
The readers and their rules are :mod:`roberta_math.data.readers`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from roberta_math.errors import UserError

PROG = "roberta-math"

# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Subcommand:
    """A ``roberta-math`` subcommand: its name, one-line help, its options, and what it runs.

    ``add_arguments`` adds options to the subcommand's parser (``--model`` is added for
    you when ``takes_model``); ``run`` gets the parsed arguments and returns the exit status.

    >>> hello = Subcommand("hello", "say hello", lambda p: p.add_argument("--who", default="you"),
    ...                    lambda args: print("hello", args.who, "with", args.model) or 0)
    >>> main(["hello", "--who", "reader"], extra=[hello])
    hello reader with embedded
    0
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], Any]
    run: Callable[[argparse.Namespace], int]
    takes_model: bool = True


EXTERNAL_SUBCOMMANDS: tuple[str, ...] = (
    # One line per subcommand defined elsewhere, as "module:ATTRIBUTE" naming a Subcommand.
    "roberta_math.evaluation.compare_cli:SUBCOMMAND",
    "roberta_math.figures.cli:SUBCOMMAND",
    "roberta_math.experiments.cli:SUBCOMMAND",
    "roberta_math.interpret.cli:SUBCOMMAND",
    "roberta_math.evaluation.checklist_cli:SUBCOMMAND",
)


def _external_subcommands() -> list[Subcommand]:
    found = []
    for spec in EXTERNAL_SUBCOMMANDS:
        module_name, _, attribute = spec.partition(":")
        found.append(getattr(importlib.import_module(module_name), attribute or "SUBCOMMAND"))
    return found


# --------------------------------------------------------------------------- reading input files

# The readers live in roberta_math.data.readers; these names stay importable from here.
from roberta_math.data.readers import (  # noqa: E402, F401
    FORMATS,
    Row,
    Rows,
    Skipped,
    blank_reason,
    decode_utf8,
    file_format,
    iter_rows,
    parse_label,
    read_rows,
)


def _report_skipped(rows: Rows, name: str) -> None:
    for line, reason in rows.skipped:
        print(f"{PROG}: {name}, line {line}: {reason}, skipped", file=sys.stderr)
    if not rows.rows:
        raise UserError(f"{name} has no rows to score: give one text per line (or a 'text' column)")


CHUNK_ROWS = 4096
"""Rows scored (and printed) at a time from an input file: memory stays bounded by one chunk."""


@dataclass
class _Input:
    """An input file opened for two passes: a check of every row, then scoring chunk by chunk."""

    source: str
    name: str
    options: dict[str, Any]
    rows: int = 0
    skipped: int = 0

    def check(self) -> None:
        """Read the whole file once: every error and every skipped row is reported before any output."""
        for item in iter_rows(self.source, name=self.name, **self.options):
            if isinstance(item, Skipped):
                self.skipped += 1
                print(f"{PROG}: {self.name}, line {item.line}: {item.reason}, skipped", file=sys.stderr)
            else:
                self.rows += 1
        if not self.rows:
            raise UserError(f"{self.name} has no rows to score: give one text per line (or a 'text' column)")

    def chunks(self, size: int = CHUNK_ROWS) -> Any:
        """The usable rows in file order, ``size`` at a time."""
        chunk: list[Row] = []
        for item in iter_rows(self.source, name=self.name, **self.options):
            if isinstance(item, Row):
                chunk.append(item)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk


@contextlib.contextmanager
def _opened_input(source: str, **options: Any) -> Any:
    """An :class:`_Input` for ``source``; stdin (``-``) is first copied to a temporary file so it can be read twice."""
    if source != "-":
        yield _Input(source, source, options)
        return
    with tempfile.NamedTemporaryFile(prefix="roberta-math-stdin-") as spool:
        shutil.copyfileobj(sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode()), spool)
        spool.flush()
        fmt = options.pop("forced_format", None) or "txt"  # stdin has no suffix: plain text unless --format
        yield _Input(spool.name, "stdin", {**options, "forced_format": fmt})


def _scored_chunks(data: _Input, loaded: Any, batch_size: int, progress: bool) -> Any:
    """``(rows, probabilities)`` per chunk, in file order; one TruncationWarning for the whole file at the end."""
    from tqdm.auto import tqdm

    from roberta_math.evaluation.scoring import score_texts
    from roberta_math.model.truncation import TruncationWarning, warn_truncated

    cut, limit = 0, 0
    with tqdm(total=data.rows, unit="text", desc="scoring", disable=not progress, leave=False) as bar:
        for rows in data.chunks():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                probabilities = score_texts([r.text for r in rows], loaded, batch_size=batch_size)
            for w in caught:
                if isinstance(w.message, TruncationWarning):
                    cut, limit = cut + w.message.cut, w.message.limit
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            bar.update(len(rows))
            yield rows, probabilities
    warn_truncated(cut, data.rows, limit)


# --------------------------------------------------------------------------- output


def _table_lines(texts: Sequence[str], probabilities: Any, labels: Sequence[str]) -> list[str]:
    lines = []
    for text, p in zip(texts, probabilities, strict=True):
        label = labels[int(p.argmax())]
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        lines.append(f"{label:<9} " + " ".join(f"{float(v):>8.4f}" for v in p) + f"  {shown}")
    return lines


def _table_header(labels: Sequence[str]) -> str:
    return f"{'label':<9} " + " ".join(f"{name:>8}" for name in labels) + "  text"


def _format_table(texts: Sequence[str], probabilities: Any, labels: Sequence[str]) -> str:
    return "\n".join([_table_header(labels), *_table_lines(texts, probabilities, labels)])


def _predictions_json(texts: Sequence[str], probabilities: Any, labels: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "text": text,
            "label": labels[int(p.argmax())],
            "scores": {name: float(v) for name, v in zip(labels, p, strict=True)},
        }
        for text, p in zip(texts, probabilities, strict=True)
    ]


def _json_items(items: list[dict[str, Any]]) -> str:
    # The items of json.dumps(list, indent=2) without the brackets, so a long list prints chunk by chunk.
    return ",\n".join("\n".join("  " + line for line in json.dumps(item, ensure_ascii=False, indent=2).split("\n")) for item in items)


# --------------------------------------------------------------------------- subcommands


def _load(args: argparse.Namespace):
    from roberta_math.model.loading import load_model

    return load_model(args.model)


def _add_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, help="file format (default: from the suffix; .txt = one text per line)")
    parser.add_argument("--text-column", help="column (or JSON key) holding the text in a .csv, .tsv or .jsonl file "
                        "(default: text; a .txt file has one text per line and no columns)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: 64)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _text_column(args: argparse.Namespace, source: str | None) -> str:
    """``--text-column``, or its default ``text``; an error when given for input that has no columns."""
    if args.text_column is None:
        return "text"
    if source is None:
        raise UserError("--text-column applies to --input files (.csv, .tsv or .jsonl), not to texts given as arguments: drop it")
    if (args.format or ("txt" if source == "-" else file_format(source))) != "txt":
        return args.text_column
    name = "stdin" if source == "-" else source
    if args.format:  # --format txt
        what, fix = f"{name} is read as plain text (--format txt)", "give a .csv, .tsv or .jsonl file and its --format"
    elif source == "-":
        what, fix = "stdin is read as plain text", "give a .csv, .tsv or .jsonl file with --format csv, tsv or jsonl"
    else:
        what, fix = f"{name} is plain text", "use a .csv, .tsv or .jsonl file"
    raise UserError(f"{what}, one text per line with no columns, so --text-column does not apply: drop it, or {fix}")


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify (quote each one)")
    parser.add_argument("--input", metavar="FILE", help="read texts from FILE (.txt, .csv, .tsv, .jsonl; - for stdin)")
    _add_file_options(parser)


def run_predict(args: argparse.Namespace) -> int:
    """``roberta-math predict TEXT... | --input FILE``: label and class probabilities per text."""
    from roberta_math.evaluation.scoring import score_texts

    if args.texts and args.input:
        raise UserError("give texts or --input FILE, not both")
    if args.input:
        return _predict_file(args)
    if not args.texts:
        raise UserError(f"nothing to classify: give texts, e.g. {PROG} predict \"I loved it\", or --input FILE")
    _text_column(args, None)
    if args.format:
        raise UserError("--format applies to --input files, not to texts given as arguments: drop it")
    for position, text in enumerate(args.texts, start=1):
        blank = blank_reason(text)  # None, "empty text", or "no visible characters (U+200B)"
        if blank is not None:
            what = "is empty" if blank == "empty text" else f"has {blank}"
            raise UserError(f"text argument {position} {what}: give some words, e.g. {PROG} predict \"I loved it\"")
    texts = list(args.texts)
    loaded = _load(args)
    probabilities = score_texts(texts, loaded, batch_size=args.batch_size, progress=False)
    if args.json:
        print(json.dumps(_predictions_json(texts, probabilities, loaded.labels), ensure_ascii=False, indent=2))
    else:
        print(_format_table(texts, probabilities, loaded.labels))
    return 0


def _predict_file(args: argparse.Namespace) -> int:
    # Two passes over the file: check every row (errors before any output), then score and print chunk by chunk.
    with _opened_input(args.input, text_column=_text_column(args, args.input), forced_format=args.format) as data:
        data.check()
        loaded = _load(args)
        print("[" if args.json else _table_header(loaded.labels))
        first = True
        for rows, probabilities in _scored_chunks(data, loaded, args.batch_size, not args.no_progress):
            texts = [r.text for r in rows]
            if args.json:
                print(("" if first else ",\n") + _json_items(_predictions_json(texts, probabilities, loaded.labels)), end="")
            else:
                print("\n".join(_table_lines(texts, probabilities, loaded.labels)))
            first = False
        if args.json:
            print("\n]")
    return 0


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="FILE", required=True, help="labelled file (.csv, .tsv, .jsonl; - for stdin)")
    parser.add_argument("--label-column", default="label", help="column (or JSON key) holding the label (default: label)")
    _add_file_options(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    """``roberta-math evaluate --data FILE``: accuracy and macro precision/recall/F1 against the file's labels."""
    import numpy as np

    from roberta_math.evaluation.metrics import classification_metrics

    # A .txt file has no labels: the readers say so, whether or not --text-column was given.
    with _opened_input(args.data, text_column="text" if args.text_column is None else args.text_column, label_column=args.label_column,
                       forced_format=args.format) as data:
        data.check()
        name = data.name
        loaded = _load(args)
        truth, predicted = [], []
        for rows, probabilities in _scored_chunks(data, loaded, args.batch_size, not args.no_progress):
            truth.extend(r.label for r in rows)
            predicted.append(probabilities.argmax(axis=1))  # (chunk,) class index in LABELS order
    record = classification_metrics(truth, np.concatenate(predicted))
    report = {
        "model": loaded.provenance.as_dict(),
        "data": name,
        "skipped": data.skipped,
        **{key: record[key] for key in ("n", "accuracy", "macro_precision", "macro_recall", "macro_f1",
                                        "absent_classes", "per_class", "confusion")},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model            {loaded.provenance.short()}")
    print(f"data             {name} ({report['n']} rows scored, {report['skipped']} skipped)")
    for key, title in (("accuracy", "accuracy"), ("macro_precision", "macro precision"),
                       ("macro_recall", "macro recall"), ("macro_f1", "macro F1")):
        print(f"{title:<16} {report[key]:.4f}")
    if report["absent_classes"]:
        absent = ", ".join(report["absent_classes"])
        print(f"{'':<16} (macro means over the classes in the labels or predictions; {absent} in neither, left out)")
    print()
    print(f"{'class':<9} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for label, values in report["per_class"].items():
        print(f"{label:<9} {values['precision']:>9.4f} {values['recall']:>9.4f} {values['f1']:>9.4f} {values['support']:>8d}")
    return 0


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="where to write the model (default: a folder in the cache)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--corpus", metavar="DIR", help="a directory holding the VADER *_GroundTruth.txt files (default: download once)")
    parser.add_argument("--limit", type=int, metavar="N", help="use at most N sentences per split (quick trials, not the shipped model)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")


def run_train(args: argparse.Namespace) -> int:
    """``roberta-math train``: train the compact model's recipe from scratch and write it to ``--out``."""
    if args.model != "embedded":
        raise UserError(f"only the compact model (embedded) has a training recipe, not {args.model}: use --model embedded (or leave it out)")
    from roberta_math.cache import cache_root
    from roberta_math.training.recipe import train_embedded

    out = Path(args.out) if args.out else cache_root() / "models" / f"embedded-seed{args.seed}"
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be a positive number of sentences, got {args.limit}")
    metrics = train_embedded(out, seed=args.seed, progress=not args.no_progress, source=args.corpus, limit=args.limit)
    if args.json:
        print(json.dumps(metrics, indent=2, default=str))
    else:
        print(_training_summary(metrics))
        print(f"model written to {out}; use it with --model {out}")
    return 0


def _training_summary(metrics: dict[str, Any]) -> str:
    """The test-split table of a training run (model beside VADER), read defensively from its metrics.

    >>> m = {"test": {"tweets": {"n": 2, "accuracy": 0.5, "macro_f1": 0.4, "pearson_r": 0.3}},
    ...      "vader_test": {"tweets": {"n": 2, "accuracy": 0.25, "macro_f1": 0.2, "pearson_r": 0.1}},
    ...      "wall_seconds": {"total": 90.0}}
    >>> print(_training_summary(m))
    test split            n  accuracy  macro-F1 pearson r |  VADER acc  macro-F1 pearson r
    tweets                2    0.5000    0.4000    0.3000 |     0.2500    0.2000    0.1000
    training took 90 s
    """
    test, vader = metrics.get("test"), metrics.get("vader_test") or {}
    lines = []
    if isinstance(test, dict) and all(isinstance(v, dict) for v in test.values()):

        def cells(row: object) -> str:
            row = row if isinstance(row, dict) else {}
            return "".join(
                f"{row[k]:>10.4f}" if isinstance(row.get(k), (int, float)) else f"{'-':>10}"
                for k in ("accuracy", "macro_f1", "pearson_r")
            )

        lines.append(f"{'test split':<16} {'n':>6}{'accuracy':>10}{'macro-F1':>10}{'pearson r':>10} | "
                     f"{'VADER acc':>10}{'macro-F1':>10}{'pearson r':>10}")
        for domain, row in test.items():
            lines.append(f"{domain:<16} {row.get('n', ''):>6}{cells(row)} | {cells(vader.get(domain))}")
    calibration = metrics.get("calibration")
    if isinstance(calibration, dict) and isinstance(calibration.get("test"), dict):
        t = calibration["test"]
        lines.append(f"softmax temperature {calibration['temperature']:.4f} (fitted on validation): test ECE "
                     f"{t['ece_before']:.4f} -> {t['ece_after']:.4f}, NLL {t['nll_before']:.4f} -> {t['nll_after']:.4f}")
    wall = metrics.get("wall_seconds")
    total = wall.get("total") if isinstance(wall, dict) else None
    if isinstance(total, (int, float)):
        lines.append(f"training took {total:.0f} s")
    return "\n".join(lines)


BUILTIN_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("predict", "classify texts given as arguments or in a file", _predict_arguments, run_predict),
    Subcommand("evaluate", "score a labelled file and print accuracy and macro metrics", _evaluate_arguments, run_evaluate),
    Subcommand("train", "train the compact model's recipe from scratch", _train_arguments, run_train),
)


# --------------------------------------------------------------------------- entry point


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, with a usage error printed as one line that points to ``--help`` (not the usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(extra: Sequence[Subcommand] = ()) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand (built-in, external, ``extra``).

    >>> args = build_parser().parse_args(["predict", "I loved it"])
    >>> args.model, args.texts, args.run is run_predict
    ('embedded', ['I loved it'], True)
    """
    parser = _OneLineErrorParser(prog=PROG, description="How RoBERTa classifies sentiment, from the command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    model_option = argparse.ArgumentParser(add_help=False)
    model_option.add_argument(
        "--model", default="embedded", metavar="NAME",
        help="'embedded' (default: the compact model shipped with the package), a model directory, or a hub id",
    )
    seen: set[str] = set()
    for sub in (*BUILTIN_SUBCOMMANDS, *_external_subcommands(), *extra):
        if sub.name in seen:
            raise ValueError(f"two subcommands are named {sub.name!r}")
        seen.add(sub.name)
        sub_parser = commands.add_parser(
            sub.name, help=sub.help, description=sub.help, parents=[model_option] if sub.takes_model else []
        )
        sub.add_arguments(sub_parser)
        sub_parser.set_defaults(run=sub.run)
    return parser


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if category.__module__.startswith("roberta_math"):
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    else:  # a library's warning keeps its usual form
        print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=sys.stderr)


def main(argv: Sequence[str] | None = None, *, extra: Sequence[Subcommand] = ()) -> int:
    """Run ``roberta-math`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    0 on success, 2 for a :class:`~roberta_math.errors.UserError` or a usage error, 1 when
    the output cannot be written (a full disk), 130 after Ctrl-C.

    >>> main(["predict", "   "])
    2
    """
    try:
        parser = build_parser(extra)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help (0) or a usage error (2): argparse has printed why
            sys.stdout.flush()  # a write error surfaces here, inside the handlers below
            return int(exit_.code or 0)
        from roberta_math.evaluation.scoring import TruncationWarning

        with warnings.catch_warnings():
            # Our own warnings (texts truncated, ...) as one readable line each, every time.
            warnings.filterwarnings("always", category=TruncationWarning)
            warnings.showwarning = _print_warning
            status = int(args.run(args))
            sys.stdout.flush()
            return status
    except UserError as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return UserError.exit_status
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `roberta-math predict ... | head`: the reader left; stop quietly.
        _stdout_to_devnull()
        return 141
    except OSError as error:
        # The output could not be written (a full disk, `> /dev/full`, a vanished mount):
        # one line, not a traceback.
        where = f" ({error.filename})" if error.filename else ""
        print(f"{PROG}: error: cannot read or write{where}: {error.strerror or error}; "
              "free space or send the output elsewhere", file=sys.stderr)
        _stdout_to_devnull()
        return 1


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so Python's final flush of an unwritable buffer does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    raise SystemExit(main())

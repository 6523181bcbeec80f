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

They must be UTF-8 (a bad byte is reported with its line). Empty rows are reported on
stderr by line number and skipped; every other row is still scored.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from roberta_math.errors import UserError
from roberta_math.labels import LABELS

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
)


def _external_subcommands() -> list[Subcommand]:
    found = []
    for spec in EXTERNAL_SUBCOMMANDS:
        module_name, _, attribute = spec.partition(":")
        found.append(getattr(importlib.import_module(module_name), attribute or "SUBCOMMAND"))
    return found


# --------------------------------------------------------------------------- reading input files


@dataclass(frozen=True)
class Row:
    """One usable row of an input file: its line number, text, and label (evaluate only)."""

    line: int
    text: str
    label: int | None = None


@dataclass
class Rows:
    """The usable rows of a file, and the ``(line, reason)`` of each row that was skipped."""

    rows: list[Row] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


FORMATS = ("txt", "csv", "tsv", "jsonl")


def file_format(path: str, forced: str | None = None) -> str:
    """The format of an input file, from ``--format`` or its suffix.

    >>> file_format("a.CSV"), file_format("b.jsonl"), file_format("c.tsv"), file_format("d.txt"), file_format("-")
    ('csv', 'jsonl', 'tsv', 'txt', 'txt')
    """
    if forced:
        return forced
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix, "txt")


def decode_utf8(data: bytes, name: str) -> str:
    """Decode a file as UTF-8 (a leading byte-order mark is dropped), naming the line of a bad byte.

    >>> decode_utf8(b"ok\\nfine", "x.txt")
    'ok\\nfine'
    >>> decode_utf8(b"ok\\ncaf\\xe9\\n", "x.txt")
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: x.txt is not UTF-8: line 2, byte 4 is 0xe9; re-save the file as UTF-8
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise UserError(
            f"{name} is not UTF-8: line {line}, byte {column} is 0x{data[error.start]:02x}; re-save the file as UTF-8"
        ) from None


def parse_label(value: object) -> int | None:
    """Class index of a label given as a name (any case) or as 0/1/2; ``None`` if it is neither.

    >>> parse_label("Positive"), parse_label("0"), parse_label(2), parse_label("great")
    (2, 0, 2, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < len(LABELS) else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in LABELS:
            return LABELS.index(text)
        if text in {"0", "1", "2"}:
            return int(text)
    return None


def _lines(text: str) -> list[str]:
    # Split on "\n" only (str.splitlines also splits on form feeds etc., which would
    # shift the line numbers we report); a final newline does not start a new row.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _finish_row(
    out: Rows, name: str, line: int, text: object, label: object, want_label: bool, label_column: str
) -> None:
    if text is None or (isinstance(text, str) and not text.strip()):
        out.skipped.append((line, "empty text"))
        return
    if not isinstance(text, str):
        out.skipped.append((line, f"text is a {type(text).__name__}, not a string"))
        return
    index = None
    if want_label:
        if label is None or (isinstance(label, str) and not label.strip()):
            out.skipped.append((line, "no label"))
            return
        index = parse_label(label)
        if index is None:
            raise UserError(
                f"{name}, line {line}: unknown label {label!r} in column {label_column!r}: use negative/neutral/positive or 0/1/2"
            )
    out.rows.append(Row(line, text, index))


def _find_column(header: list[str], wanted: str, name: str, option: str) -> int:
    cleaned = [h.strip() for h in header]
    if wanted in cleaned:
        return cleaned.index(wanted)
    folded = [h.lower() for h in cleaned]
    if wanted.lower() in folded:  # "Text" and "TEXT" are meant as "text" too
        return folded.index(wanted.lower())
    shown = ", ".join(repr(h) for h in cleaned) or "none"
    raise UserError(f"{name} has no column {wanted!r} (columns: {shown}): rename the column or pass {option}")


def _read_delimited(text: str, name: str, delimiter: str, text_column: str, label_column: str | None) -> Rows:
    out = Rows()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise UserError(f"{name} is empty: give a header row and one row per text")
        text_at = _find_column(header, text_column, name, "--text-column")
        label_at = _find_column(header, label_column, name, "--label-column") if label_column else None
        previous_end = reader.line_num
        for record in reader:
            line = previous_end + 1  # the line where this record starts (quoted fields may span lines)
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                out.skipped.append((line, "empty row"))
                continue
            value = record[text_at] if text_at < len(record) else None
            label = (record[label_at] if label_at < len(record) else None) if label_at is not None else None
            _finish_row(out, name, line, value, label, label_column is not None, label_column or "")
    except csv.Error as error:
        raise UserError(f"{name}, line {reader.line_num}: not valid {'CSV' if delimiter == ',' else 'TSV'} ({error}): fix the quoting") from None
    return out


def _read_jsonl(text: str, name: str, text_column: str, label_column: str | None) -> Rows:
    out = Rows()
    objects = 0
    keyed = {text_column: 0, label_column or "": 0}
    for number, raw in enumerate(_lines(text), start=1):
        if not raw.strip():
            out.skipped.append((number, "empty row"))
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            out.skipped.append((number, f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(record, dict):
            out.skipped.append((number, f"a JSON {type(record).__name__}, not an object"))
            continue
        objects += 1
        for key in keyed:
            keyed[key] += key in record
        if text_column not in record:
            out.skipped.append((number, f"no {text_column!r} key"))
            continue
        _finish_row(out, name, number, record[text_column], record.get(label_column) if label_column else None,
                    label_column is not None, label_column or "")
    for key, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if key and objects and not keyed[key]:
            raise UserError(f"{name}: no object has the key {key!r}: rename the key or pass {option}")
    return out


def read_rows(
    source: str,
    *,
    text_column: str = "text",
    label_column: str | None = None,
    forced_format: str | None = None,
    stdin: TextIO | None = None,
) -> Rows:
    """Read texts (and labels when ``label_column`` is given) from a file, or stdin for ``-``.

    Raises :class:`~roberta_math.errors.UserError` for a missing file, a file that is not
    UTF-8, a missing column or an unknown label; rows without text (or label) are skipped
    and listed in ``Rows.skipped`` by line number.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("text,label\\ngood,positive\\n,neutral\\nbad,0\\n")
    >>> r = read_rows(path, label_column="label")
    >>> [(row.line, row.text, row.label) for row in r.rows], r.skipped
    ([(2, 'good', 2), (4, 'bad', 0)], [(3, 'empty text')])
    """
    fmt = file_format(source, forced_format)
    name = "stdin" if source == "-" else source
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"no such file: {source} (check the path)")
        data = path.read_bytes()
    text = decode_utf8(data, name)
    if fmt == "txt":
        if label_column:
            raise UserError(f"{name} is plain text and has no labels: use a CSV, TSV or JSONL file with text and label columns")
        out = Rows()
        for number, line in enumerate(_lines(text), start=1):
            _finish_row(out, name, number, line, None, False, "")
        return out
    if fmt == "jsonl":
        return _read_jsonl(text, name, text_column, label_column)
    return _read_delimited(text, name, "," if fmt == "csv" else "\t", text_column, label_column)


def _report_skipped(rows: Rows, name: str) -> None:
    for line, reason in rows.skipped:
        print(f"{PROG}: {name}, line {line}: {reason}, skipped", file=sys.stderr)
    if not rows.rows:
        raise UserError(f"{name} has no rows to score: give one text per line (or a 'text' column)")


# --------------------------------------------------------------------------- output


def _format_table(texts: Sequence[str], probabilities: Any, labels: Sequence[str]) -> str:
    header = f"{'label':<9} " + " ".join(f"{name:>8}" for name in labels) + "  text"
    lines = [header]
    for text, p in zip(texts, probabilities, strict=True):
        label = labels[int(p.argmax())]
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        lines.append(f"{label:<9} " + " ".join(f"{float(v):>8.4f}" for v in p) + f"  {shown}")
    return "\n".join(lines)


def _predictions_json(texts: Sequence[str], probabilities: Any, labels: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "text": text,
            "label": labels[int(p.argmax())],
            "scores": {name: float(v) for name, v in zip(labels, p, strict=True)},
        }
        for text, p in zip(texts, probabilities, strict=True)
    ]


# --------------------------------------------------------------------------- subcommands


def _load(args: argparse.Namespace):
    from roberta_math.model.loading import load_model

    return load_model(args.model)


def _add_file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, help="file format (default: from the suffix; .txt = one text per line)")
    parser.add_argument("--text-column", default="text", help="column (or JSON key) holding the text (default: text)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default: 64)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


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
        rows = read_rows(args.input, text_column=args.text_column, forced_format=args.format)
        _report_skipped(rows, "stdin" if args.input == "-" else args.input)
        texts = [row.text for row in rows.rows]
        progress = not args.no_progress
    elif args.texts:
        for position, text in enumerate(args.texts, start=1):
            if not text.strip():
                raise UserError(f"text argument {position} is empty: give some words, e.g. {PROG} predict \"I loved it\"")
        texts = list(args.texts)
        progress = False
    else:
        raise UserError(f"nothing to classify: give texts, e.g. {PROG} predict \"I loved it\", or --input FILE")
    loaded = _load(args)
    probabilities = score_texts(texts, loaded, batch_size=args.batch_size, progress=progress)
    if args.json:
        print(json.dumps(_predictions_json(texts, probabilities, loaded.labels), ensure_ascii=False, indent=2))
    else:
        print(_format_table(texts, probabilities, loaded.labels))
    return 0


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="FILE", required=True, help="labelled file (.csv, .tsv, .jsonl; - for stdin)")
    parser.add_argument("--label-column", default="label", help="column (or JSON key) holding the label (default: label)")
    _add_file_options(parser)


def run_evaluate(args: argparse.Namespace) -> int:
    """``roberta-math evaluate --data FILE``: accuracy and macro precision/recall/F1 against the file's labels."""
    from roberta_math.evaluation.metrics import classification_metrics
    from roberta_math.evaluation.scoring import score_texts

    name = "stdin" if args.data == "-" else args.data
    rows = read_rows(args.data, text_column=args.text_column, label_column=args.label_column, forced_format=args.format)
    _report_skipped(rows, name)
    loaded = _load(args)
    probabilities = score_texts([r.text for r in rows.rows], loaded, batch_size=args.batch_size, progress=not args.no_progress)
    truth = [r.label for r in rows.rows]
    predicted = probabilities.argmax(axis=1)  # (n,) class index in LABELS order
    record = classification_metrics(truth, predicted)
    report = {
        "model": loaded.provenance.as_dict(),
        "data": name,
        "skipped": len(rows.skipped),
        **{key: record[key] for key in ("n", "accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "confusion")},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"model            {loaded.provenance.short()}")
    print(f"data             {name} ({report['n']} rows scored, {report['skipped']} skipped)")
    for key, title in (("accuracy", "accuracy"), ("macro_precision", "macro precision"),
                       ("macro_recall", "macro recall"), ("macro_f1", "macro F1")):
        print(f"{title:<16} {report[key]:.4f}")
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
    """``roberta-math train``: train the embedded model's recipe from scratch and write it to ``--out``."""
    if args.model != "embedded":
        raise UserError(f"only the embedded model has a training recipe, not {args.model}: use --model embedded (or leave it out)")
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
    wall = metrics.get("wall_seconds")
    total = wall.get("total") if isinstance(wall, dict) else None
    if isinstance(total, (int, float)):
        lines.append(f"training took {total:.0f} s")
    return "\n".join(lines)


BUILTIN_SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("predict", "classify texts given as arguments or in a file", _predict_arguments, run_predict),
    Subcommand("evaluate", "score a labelled file and print accuracy and macro metrics", _evaluate_arguments, run_evaluate),
    Subcommand("train", "train the embedded model's recipe from scratch", _train_arguments, run_train),
)


# --------------------------------------------------------------------------- entry point


def build_parser(extra: Sequence[Subcommand] = ()) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand (built-in, external, ``extra``).

    >>> args = build_parser().parse_args(["predict", "I loved it"])
    >>> args.model, args.texts, args.run is run_predict
    ('embedded', ['I loved it'], True)
    """
    parser = argparse.ArgumentParser(prog=PROG, description="How RoBERTa classifies sentiment, from the command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    model_option = argparse.ArgumentParser(add_help=False)
    model_option.add_argument(
        "--model", default="embedded", metavar="NAME",
        help="'embedded' (default, the model shipped with the package), a model directory, or a hub id",
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

    0 on success, 2 for a :class:`~roberta_math.errors.UserError` or a usage error, 130
    after Ctrl-C.

    >>> main(["predict", "   "])
    2
    """
    try:
        parser = build_parser(extra)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help (0) or a usage error (2): argparse has printed why
            return int(exit_.code or 0)
        from roberta_math.evaluation.scoring import TruncationWarning

        with warnings.catch_warnings():
            # Our own warnings (texts truncated, ...) as one readable line each, every time.
            warnings.filterwarnings("always", category=TruncationWarning)
            warnings.showwarning = _print_warning
            return int(args.run(args))
    except UserError as error:
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return UserError.exit_status
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `roberta-math predict ... | head`: the reader left; stop quietly (and keep
        # Python's final flush of stdout from raising again).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return 141


if __name__ == "__main__":
    raise SystemExit(main())

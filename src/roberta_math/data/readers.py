"""Input files for ``predict --input`` and ``evaluate --data``: every row scored or reported, never lost.

Four formats, chosen by ``--format`` or the file's suffix:

* ``.txt`` (or any other suffix): one text per line, exactly as written;
* ``.csv``: a header row naming a ``text`` column (and ``label`` for evaluate), parsed by
  Python's :mod:`csv` module, so a field in double quotes may hold commas, quotes (doubled)
  and line breaks;
* ``.tsv`` / ``.tab``: the same header, but each line split at its tabs and nothing else.
  Tab-separated values have no quoting convention (the IANA registration of
  ``text/tab-separated-values`` forbids tabs inside fields and says nothing of quotes),
  so a double quote is an ordinary character of the text;
* ``.jsonl``: one JSON object per line with those keys.

The rules that keep rows from being lost or altered:

* **Accounting.** Every row of the file (a line; a record for CSV, whose quoted fields may
  span lines; the header excluded) is either scored or reported skipped with its line
  number and the reason (an empty row, no text, no label, a line that is not JSON, a text
  with no visible character, see :func:`blank_reason`):
  ``len(rows) + len(skipped)`` always equals the number of rows in the file.
* **Line endings.** LF, CRLF and CR (old Mac OS) are all read, and LF and CRLF may mix
  (a file edited on two systems). A bare CR in a file whose other lines end in LF or
  CRLF is ambiguous (a line break, or a stray character of the text?) and is an error
  naming the line and both endings; so is an LF in a file of CR-terminated lines.
* **Ambiguity is an error.** A line with more separators than the header (an unquoted
  comma, a tab inside a TSV text) or a CSV quote left open is a
  :class:`~roberta_math.errors.UserError` naming the line, never a silent merge or cut.
* **Text unaltered.** Texts come back exactly as written (no stripping); a leading
  byte-order mark is dropped; a byte that is not UTF-8 is an error naming its line.
* **Streaming.** :func:`iter_rows` reads the file lazily (a line at a time, through a
  buffered UTF-8 decoder), so a caller that scores in chunks holds one chunk at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from roberta_math.errors import UserError
from roberta_math.labels import LABEL_SPELLINGS, parse_label

FORMATS = ("txt", "csv", "tsv", "jsonl")

ENDING_NAMES = {"\n": "LF (\\n)", "\r\n": "CRLF (\\r\\n)", "\r": "CR (\\r, old Mac OS)"}


@dataclass(frozen=True)
class Row:
    """One usable row of an input file: its line number, text, and label (evaluate only)."""

    line: int
    text: str
    label: int | None = None


@dataclass(frozen=True)
class Skipped:
    """A row that was not scored: the line it starts on and why."""

    line: int
    reason: str


@dataclass
class Rows:
    """The usable rows of a file, and the ``(line, reason)`` of each row that was skipped."""

    rows: list[Row] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def file_format(path: str, forced: str | None = None) -> str:
    """The format of an input file, from ``--format`` or its suffix.

    >>> file_format("a.CSV"), file_format("b.jsonl"), file_format("c.tsv"), file_format("d.txt"), file_format("-")
    ('csv', 'jsonl', 'tsv', 'txt', 'txt')
    """
    if forced:
        return forced
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix, "txt")


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _bad_byte(name: str, line: int, text: str) -> UserError | None:
    # Undecodable bytes arrive as lone surrogates U+DC80..U+DCFF (errors="surrogateescape").
    if not _ESCAPED_BYTE.search(text):
        return None
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":
            column = len(text[:index].encode("utf-8", "surrogateescape")) + 1
            return UserError(
                f"{name} is not UTF-8: line {line}, byte {column} is 0x{ord(char) - 0xDC00:02x}; re-save the file as UTF-8"
            )
    return None


def decode_utf8(data: bytes, name: str) -> str:
    """Decode a file as UTF-8 (a leading byte-order mark is dropped), naming the line of a bad byte.

    >>> decode_utf8(b"ok\\nfine", "x.txt")
    'ok\\nfine'
    >>> decode_utf8(b"ok\\ncaf\\xe9\\n", "x.txt")
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: x.txt is not UTF-8: line 2, byte 4 is 0xe9; re-save the file as UTF-8
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise UserError(
            f"{name} is not UTF-8: line {line}, byte {column} is 0x{data[error.start]:02x}; re-save the file as UTF-8"
        ) from None


INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
"""Unicode general categories whose characters show nothing: controls (U+0007 BELL), format
characters (U+200B ZERO WIDTH SPACE, U+FEFF), and the space, line and paragraph separators."""


def blank_reason(text: str) -> str | None:
    """Why ``text`` counts as empty, or ``None`` when it has a visible character.

    A text is empty when every character is in :data:`INVISIBLE_CATEGORIES`: ``"empty text"``
    when it is whitespace only, else ``"no visible characters (U+....)"`` naming the other
    characters it holds (the first four, in order). A visible character anywhere makes it a text.

    >>> blank_reason("good" + chr(0x200B) + "day") is None, blank_reason(" \\t"), blank_reason(chr(0x200B) + " " + chr(7))
    (True, 'empty text', 'no visible characters (U+200B, U+0007)')
    """
    if any(unicodedata.category(char) not in INVISIBLE_CATEGORIES for char in text):
        return None
    shown = list(dict.fromkeys(char for char in text if not char.isspace()))  # distinct, in order
    if not shown:
        return "empty text"
    codes = ", ".join(f"U+{ord(char):04X}" for char in shown[:4])
    return f"no visible characters ({codes}{', ...' if len(shown) > 4 else ''})"


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\n", "\r")):
        return line[-1]
    return ""


class _PhysicalLines:
    """The lines of a text stream with their endings, numbered from 1, checking that one line ending is used.

    ``check(number, ending)`` raises when a line break differs from the file's first one.
    """

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.number = 0  # lines read so far
        self.convention = ""  # the first line break seen
        self.first_line = 0

    def check(self, number: int, ending: str) -> None:
        if not ending:
            return
        if not self.convention:
            self.convention, self.first_line = ending, number
        elif (ending == "\r") != (self.convention == "\r"):  # LF and CRLF may mix; a bare CR may not
            raise UserError(
                f"{self.name}, line {number}: ends in {ENDING_NAMES[ending]} but line {self.first_line} ends in "
                f"{ENDING_NAMES[self.convention]}; mixed line endings make the rows ambiguous: "
                "re-save the file with one kind of line ending"
            )

    def __iter__(self) -> Iterator[str]:
        for line in self.stream:  # newline="": split at \n, \r\n and \r, endings kept
            self.number += 1
            error = _bad_byte(self.name, self.number, line)
            if error is not None:
                raise error
            yield line


def _open_text(source: str, stdin: TextIO | IO[bytes] | None) -> TextIO:
    if source == "-":
        stream = stdin if stdin is not None else sys.stdin
        if hasattr(stream, "buffer"):
            binary = stream.buffer
        elif isinstance(stream, io.TextIOBase):
            binary = io.BytesIO(stream.read().encode("utf-8", "surrogateescape"))
        else:
            binary = stream
    else:
        path = Path(source)
        if path.is_dir():
            raise UserError(f"{source} is a directory: pass one file (.txt, .csv, .tsv or .jsonl)")
        if not path.is_file():
            raise UserError(f"no such file: {source} (check the path)")
        binary = open(path, "rb")  # noqa: SIM115 - closed by the TextIOWrapper
    # utf-8-sig drops one leading byte-order mark; surrogateescape lets us name the line of a bad byte.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _finish_row(name: str, line: int, text: object, label: object, want_label: bool, label_column: str) -> Row | Skipped:
    if text is None:
        return Skipped(line, "empty text")
    if not isinstance(text, str):
        return Skipped(line, f"text is a {type(text).__name__}, not a string")
    blank = blank_reason(text)
    if blank is not None:
        return Skipped(line, blank)
    index = None
    if want_label:
        if label is None or (isinstance(label, str) and blank_reason(label) is not None):
            return Skipped(line, "no label")
        index = parse_label(label)
        if index is None:
            raise UserError(
                f"{name}, line {line}: unknown label {label!r} in column {label_column!r}: use {LABEL_SPELLINGS}"
            )
    return Row(line, text, index)


def _find_column(header: list[str], wanted: str, name: str, option: str) -> int:
    cleaned = [h.strip() for h in header]
    if wanted in cleaned:
        return cleaned.index(wanted)
    folded = [h.lower() for h in cleaned]
    if wanted.lower() in folded:  # "Text" and "TEXT" are meant as "text" too
        return folded.index(wanted.lower())
    # A file with no header row would show its whole first text as a "column": cut each name.
    shown = ", ".join(repr(h if len(h) <= 40 else h[:37] + "...") for h in cleaned[:10]) or "none"
    if len(cleaned) > 10:
        shown += f", ... ({len(cleaned)} in all)"
    raise UserError(f"{name} has no column {wanted!r} (columns: {shown}): rename the column or pass {option}")


def _record_rows(
    records: Iterable[tuple[int, list[str]]],
    name: str,
    kind: str,
    text_column: str,
    label_column: str | None,
) -> Iterator[Row | Skipped]:
    """Rows from ``(line, fields)`` records whose first record is the header."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        raise UserError(f"{name} is empty: give a header row and one row per text")
    header = first[1]
    text_at = _find_column(header, text_column, name, "--text-column")
    label_at = _find_column(header, label_column, name, "--label-column") if label_column else None
    separator = "comma" if kind == "CSV" else "tab"
    fix = "put the text in double quotes" if kind == "CSV" else "remove the tab from the text, or use a CSV or JSONL file"
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            yield Skipped(line, "empty row")
            continue
        if len(cells) > len(header):
            raise UserError(
                f"{name}, line {line}: {len(cells)} {kind} fields but the header has {len(header)}; "
                f"a {separator} inside a text makes the row ambiguous: {fix}"
            )
        text = cells[text_at] if text_at < len(cells) else None
        label = (cells[label_at] if label_at < len(cells) else None) if label_at is not None else None
        yield _finish_row(name, line, text, label, label_column is not None, label_column or "")


_NUL_STAND_IN = "\ud800"


def _csv_records(lines: _PhysicalLines) -> Iterator[tuple[int, list[str]]]:
    ends: list[str] = []

    def remember(physical: Iterable[str]) -> Iterator[str]:
        for line in physical:
            ends.append(_ending(line))
            # Python 3.10's csv rejects NUL ("line contains NUL"), 3.11+ reads it: hand the
            # parser a lone surrogate instead (decoded UTF-8 never holds one) and restore it.
            yield line.replace("\0", _NUL_STAND_IN)

    # strict: a quote left open, or text after a closing quote, is an error, not a silent merge.
    reader = csv.reader(remember(lines), strict=True)
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1  # the line this record starts on (quoted fields may span lines)
            previous_end = reader.line_num
            # Only the break that ends a record is a line ending; breaks inside quotes are text.
            lines.check(previous_end, ends[-1] if ends else "")
            ends.clear()
            yield start, [field.replace(_NUL_STAND_IN, "\0") for field in record]
    except csv.Error as error:
        raise UserError(
            f"{lines.name}, line {previous_end + 1}: not valid CSV ({error}); "
            "close the quote, or double a quote that is part of the text (\"\")"
        ) from None


def _tsv_records(lines: _PhysicalLines) -> Iterator[tuple[int, list[str]]]:
    for line in lines:
        ending = _ending(line)
        lines.check(lines.number, ending)
        yield lines.number, line[: len(line) - len(ending)].split("\t")


def _text_lines(lines: _PhysicalLines) -> Iterator[tuple[int, str]]:
    for line in lines:
        ending = _ending(line)
        lines.check(lines.number, ending)
        yield lines.number, line[: len(line) - len(ending)]


def _jsonl_rows(lines: _PhysicalLines, text_column: str, label_column: str | None) -> Iterator[Row | Skipped]:
    name = lines.name
    objects = 0
    keyed = {text_column: 0, label_column or "": 0}
    for number, raw in _text_lines(lines):
        blank = blank_reason(raw)
        if blank is not None:  # nothing but whitespace, or invisible characters that are not JSON either
            yield Skipped(number, "empty row" if blank == "empty text" else blank)
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            yield Skipped(number, f"not valid JSON ({error.msg})")
            continue
        if not isinstance(record, dict):
            yield Skipped(number, f"a JSON {type(record).__name__}, not an object")
            continue
        objects += 1
        for key in keyed:
            keyed[key] += key in record
        if text_column not in record:
            yield Skipped(number, f"no {text_column!r} key")
            continue
        yield _finish_row(name, number, record[text_column], record.get(label_column) if label_column else None,
                          label_column is not None, label_column or "")
    for key, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if key and objects and not keyed[key]:
            raise UserError(f"{name}: no object has the key {key!r}: rename the key or pass {option}")


def iter_rows(
    source: str,
    *,
    text_column: str = "text",
    label_column: str | None = None,
    forced_format: str | None = None,
    stdin: TextIO | IO[bytes] | None = None,
    name: str | None = None,
) -> Iterator[Row | Skipped]:
    """Each row of a file (or stdin for ``-``) in file order: a :class:`Row` to score or a :class:`Skipped`.

    Lazy: the file is read as the caller asks for rows. Raises
    :class:`~roberta_math.errors.UserError` (one line, naming the line) for a missing
    file, a byte that is not UTF-8, mixed line endings, an ambiguous row, a missing
    column or an unknown label. ``name`` is how messages call the file (default: its path).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tsv")
    >>> _ = open(path, "w", newline="").write('text\\tlabel\\r"Best day ever\\tpositive\\r\\r')
    >>> list(iter_rows(path, label_column="label"))
    [Row(line=2, text='"Best day ever', label=2), Skipped(line=3, reason='empty row')]
    """
    fmt = file_format(source, forced_format)
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    name = name or ("stdin" if source == "-" else source)
    if fmt == "txt" and label_column:
        if source == "-" or name == "stdin":  # stdin has no file name to tell its format by
            raise UserError("stdin is read as plain text, which has no labels: pass --format csv, tsv or jsonl")
        raise UserError(f"{name} is plain text and has no labels: use a CSV, TSV or JSONL file with text and label columns")
    stream = _open_text(source, stdin)
    lines = _PhysicalLines(stream, name)
    try:
        if fmt == "txt":
            for number, text in _text_lines(lines):
                yield _finish_row(name, number, text, None, False, "")
        elif fmt == "jsonl":
            yield from _jsonl_rows(lines, text_column, label_column)
        elif fmt == "csv":
            yield from _record_rows(_csv_records(lines), name, "CSV", text_column, label_column)
        else:
            yield from _record_rows(_tsv_records(lines), name, "TSV", text_column, label_column)
    finally:
        if source == "-":
            stream.detach()  # leave the caller's stdin open
        else:
            stream.close()


def read_rows(
    source: str,
    *,
    text_column: str = "text",
    label_column: str | None = None,
    forced_format: str | None = None,
    stdin: TextIO | IO[bytes] | None = None,
) -> Rows:
    """Read texts (and labels when ``label_column`` is given) from a file, or stdin for ``-``.

    :func:`iter_rows` collected into a :class:`Rows`: the rows to score, and the
    ``(line, reason)`` of each skipped row, so that
    ``len(rows.rows) + len(rows.skipped)`` is the number of rows in the file.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("text,label\\ngood,positive\\n,neutral\\nbad,0\\n")
    >>> r = read_rows(path, label_column="label")
    >>> [(row.line, row.text, row.label) for row in r.rows], r.skipped
    ([(2, 'good', 2), (4, 'bad', 0)], [(3, 'empty text')])
    """
    out = Rows()
    for item in iter_rows(source, text_column=text_column, label_column=label_column,
                          forced_format=forced_format, stdin=stdin):
        if isinstance(item, Row):
            out.rows.append(item)
        else:
            out.skipped.append((item.line, item.reason))
    return out

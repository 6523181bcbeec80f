"""Readers under test by generation: random files in four formats, every row accounted for, no text altered.

Hypothesis writes CSV, TSV, JSONL and TXT files with random texts (commas, tabs, quotes,
line breaks and non-ASCII inside them), random quoting, blank lines, byte-order marks and
line endings. The files are written by this test's own writers, which follow the formats'
specifications (RFC 4180 quoting for CSV; no quoting at all for TSV and TXT), not by
the code under test. The properties:

* a file that the format can represent unambiguously is read back exactly:
  rows scored + rows reported skipped = rows written, and every scored text equals the
  text written, in order;
* a file that cannot be split unambiguously (a tab inside a TSV text, a bare CR or LF
  inside a TXT line, an unquoted comma in CSV) is a one-line error naming its line.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roberta_math.data.readers import read_rows
from roberta_math.errors import UserError
from roberta_math.labels import LABELS

ENDINGS = ("\n", "\r\n", "\r")
# Printable text plus the characters that make splitting hard. U+FEFF is left out: at the
# start of a file it is indistinguishable from a byte-order mark, which readers drop.
ALPHABET = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff")
NASTY = st.sampled_from([",", "\t", '"', "'", "\n", "\r", "\r\n", " ", "\u2028", "\x85", "é", "\x00", "😀"])
TEXTS = st.lists(st.one_of(ALPHABET, NASTY), max_size=12).map("".join)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def rows_written(draw, *, no_breaks: bool, no_tabs: bool = False):
    """A list of rows: ``None`` for a blank line, else ``(text, label)``."""
    text = TEXTS
    if no_breaks:
        text = text.map(lambda t: t.replace("\r", "").replace("\n", ""))
    if no_tabs:
        text = text.map(lambda t: t.replace("\t", " "))
    row = st.one_of(st.none(), st.tuples(text, st.sampled_from(LABELS)))
    return draw(st.lists(row, min_size=0, max_size=15))


def visible(text: str) -> bool:
    # Unicode's general categories: controls (Cc), format characters (Cf) and separators (Zs, Zl, Zp) show nothing.
    return any(unicodedata.category(c) not in ("Cc", "Cf", "Zs", "Zl", "Zp") for c in text)


def expected(rows, labelled: bool = True):
    """Texts that should be scored: the rows with a visible character (the readers' documented rule)."""
    return [(text, LABELS.index(label) if labelled else None) for text, label in (r for r in rows if r is not None) if visible(text)]


def finish(lines: list[str], ending: str, final_newline: bool, bom: bool) -> bytes:
    body = ending.join(lines) + (ending if final_newline and lines else "")
    return ("\ufeff" if bom else "").encode() + body.encode("utf-8")


def check(path: Path, rows, *, labelled: bool = True) -> None:
    read = read_rows(str(path), label_column="label" if labelled else None)
    assert len(read.rows) + len(read.skipped) == len(rows)
    assert [(r.text, r.label) for r in read.rows] == expected(rows, labelled)


def csv_field(value: str, quote_all: bool) -> str:
    # RFC 4180: quote a field holding a comma, a quote or a line break; double inner quotes.
    if quote_all or any(c in value for c in ',"\r\n') or value != value.strip(" "):
        return '"' + value.replace('"', '""') + '"'
    return value


@given(rows=rows_written(no_breaks=False), ending=st.sampled_from(ENDINGS), bom=st.booleans(),
       final_newline=st.booleans(), quote_all=st.booleans(), label_first=st.booleans())
@SETTINGS
def test_csv_files_are_read_exactly(tmp_path_factory, rows, ending, bom, final_newline, quote_all, label_first) -> None:
    order = (1, 0) if label_first else (0, 1)
    header = ",".join(("text", "label")[i] for i in order)
    lines = [header] + ["" if r is None else ",".join(csv_field(r[i], quote_all) for i in order) for r in rows]
    if rows and rows[-1] is None and not final_newline:
        final_newline = True  # a blank last row needs its line break to exist
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(finish(lines, ending, final_newline, bom))
    check(path, rows)


@given(rows=rows_written(no_breaks=True, no_tabs=True), ending=st.sampled_from(ENDINGS), bom=st.booleans(),
       final_newline=st.booleans())
@SETTINGS
def test_tsv_files_are_read_exactly(tmp_path_factory, rows, ending, bom, final_newline) -> None:
    lines = ["text\tlabel"] + ["" if r is None else f"{r[0]}\t{r[1]}" for r in rows]
    if rows and rows[-1] is None:
        final_newline = True
    path = tmp_path_factory.mktemp("tsv") / "f.tsv"
    path.write_bytes(finish(lines, ending, final_newline, bom))
    check(path, rows)


@given(rows=rows_written(no_breaks=True), ending=st.sampled_from(ENDINGS), bom=st.booleans(), final_newline=st.booleans())
@SETTINGS
def test_txt_files_are_read_exactly(tmp_path_factory, rows, ending, bom, final_newline) -> None:
    lines = ["" if r is None else r[0] for r in rows]
    if rows and lines[-1] == "":
        final_newline = True
    path = tmp_path_factory.mktemp("txt") / "f.txt"
    path.write_bytes(finish(lines, ending, final_newline, bom))
    check(path, rows, labelled=False)


@given(rows=rows_written(no_breaks=False), ending=st.sampled_from(ENDINGS), bom=st.booleans(),
       final_newline=st.booleans(), ascii_only=st.booleans())
@SETTINGS
def test_jsonl_files_are_read_exactly(tmp_path_factory, rows, ending, bom, final_newline, ascii_only) -> None:
    lines = ["" if r is None else json.dumps({"text": r[0], "label": r[1]}, ensure_ascii=ascii_only) for r in rows]
    if rows and lines[-1] == "":
        final_newline = True
    path = tmp_path_factory.mktemp("jsonl") / "f.jsonl"
    path.write_bytes(finish(lines, ending, final_newline, bom))
    check(path, rows)


# --------------------------------------------------------------------------- ambiguous files


@given(before=st.lists(st.text(alphabet="abc ", min_size=1, max_size=5), max_size=6),
       bad=st.sampled_from(["has\ttab", "\tlead", "trail\t"]), ending=st.sampled_from(ENDINGS))
@SETTINGS
def test_tsv_tab_in_text_is_an_error_naming_its_line(tmp_path_factory, before, bad, ending) -> None:
    lines = ["text\tlabel", *[f"{t}\tpositive" for t in before], f"{bad}\tnegative", "after\tneutral"]
    path = tmp_path_factory.mktemp("tsvbad") / "f.tsv"
    path.write_bytes(ending.join(lines).encode())
    with pytest.raises(UserError, match=rf"f\.tsv, line {len(before) + 2}: "):
        read_rows(str(path), label_column="label")


@given(before=st.lists(st.text(alphabet="abc ", min_size=1, max_size=5), min_size=1, max_size=6),
       ending=st.sampled_from(ENDINGS), fmt=st.sampled_from(["txt", "tsv", "jsonl"]))
@SETTINGS
def test_other_line_break_inside_a_line_is_an_error_naming_its_line(tmp_path_factory, before, ending, fmt) -> None:
    stray = "\n" if ending == "\r" else "\r"  # the line break that the file's convention does not allow
    line = f"one{stray}two"
    rows = [*before, line, "after"]
    if fmt == "jsonl":  # JSON's own escapes cannot hold a raw break: put it between two objects
        lines = [json.dumps({"text": t}) for t in before] + ['{"text": "one"}' + stray + '{"text": "two"}', '{"text": "after"}']
    elif fmt == "tsv":
        lines = ["text", *rows]
    else:
        lines = rows
    path = tmp_path_factory.mktemp("mixed") / f"f.{fmt}"
    path.write_bytes(ending.join(lines).encode())
    first_bad = len(before) + (2 if fmt == "tsv" else 1)
    # The first line break sets the convention; the stray break ends line first_bad.
    with pytest.raises(UserError, match=rf"f\.{fmt}, line {first_bad}: ends in .*mixed line endings"):
        read_rows(str(path))


@given(before=st.lists(st.text(alphabet="abc", min_size=1, max_size=5), max_size=6), ending=st.sampled_from(ENDINGS))
@SETTINGS
def test_csv_unquoted_comma_or_open_quote_is_an_error_naming_its_line(tmp_path_factory, before, ending) -> None:
    lines = ["text,label", *[f"{t},positive" for t in before], "slow, but fine,negative", "after,neutral"]
    path = tmp_path_factory.mktemp("csvbad") / "f.csv"
    path.write_bytes(ending.join(lines).encode())
    with pytest.raises(UserError, match=rf"f\.csv, line {len(before) + 2}: 3 CSV fields"):
        read_rows(str(path), label_column="label")
    lines[len(before) + 1] = '"never closed,negative'
    path.write_bytes(ending.join(lines).encode())
    with pytest.raises(UserError, match=r"f\.csv, line \d+: not valid CSV"):
        read_rows(str(path), label_column="label")


# --------------------------------------------------------------------------- through the command line


@given(rows=rows_written(no_breaks=False), ending=st.sampled_from(ENDINGS), bom=st.booleans(),
       fmt=st.sampled_from(["csv", "jsonl", "txt", "tsv"]))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_predict_scores_or_reports_every_row_written(tmp_path_factory, capsys, rows, ending, bom, fmt) -> None:
    from roberta_math.cli import main

    if fmt in ("txt", "tsv"):  # no quoting: texts without line breaks or tabs
        rows = [None if r is None else (r[0].replace("\r", "").replace("\n", "").replace("\t", " "), r[1]) for r in rows]
    if fmt == "csv":
        lines = ["text,label"] + ["" if r is None else f"{csv_field(r[0], False)},{r[1]}" for r in rows]
    elif fmt == "tsv":
        lines = ["text\tlabel"] + ["" if r is None else f"{r[0]}\t{r[1]}" for r in rows]
    elif fmt == "jsonl":
        lines = ["" if r is None else json.dumps({"text": r[0]}) for r in rows]
    else:
        lines = ["" if r is None else r[0] for r in rows]
    path = tmp_path_factory.mktemp("cli") / f"f.{fmt}"
    path.write_bytes(finish(lines, ending, True, bom))
    status = main(["predict", "--input", str(path), "--json", "--no-progress"])
    out, err = capsys.readouterr()
    wanted = [text for text, _ in expected(rows, labelled=False)]
    skipped = [line for line in err.splitlines() if line.endswith(", skipped")]
    if not wanted:
        assert status == 2 and "has no rows to score" in err
    else:
        assert status == 0, err
        assert [item["text"] for item in json.loads(out)] == wanted  # scored, in order, unaltered
    assert len(wanted) + len(skipped) == len(rows)

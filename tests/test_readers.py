"""Input files: every row scored or reported skipped, texts unaltered, ambiguity an error naming the line.

The right values come from the formats themselves: RFC 4180 for CSV quoting, the IANA
``text/tab-separated-values`` registration for TSV (no quoting: a tab ends a field, a
line break ends a record, every other character is text), and the three line endings
LF, CRLF and CR.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from roberta_math import cli
from roberta_math.cli import main
from roberta_math.data.readers import Row, Skipped, iter_rows, read_rows
from roberta_math.errors import UserError


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def texts_of(rows) -> list[str]:
    return [row.text for row in rows.rows]


# --------------------------------------------------------------------------- case 1: TSV has no quoting


CASE_1 = b'text\tlabel\n"Best day ever\tpositive\nThe bus was late again\tnegative\nIt is Tuesday\tneutral\n'


def test_case_1_tsv_lone_quote_is_text_and_every_line_is_a_row(tmp_path: Path) -> None:
    rows = read_rows(write(tmp_path, "f.tsv", CASE_1), label_column="label")
    assert [(r.line, r.text, r.label) for r in rows.rows] == [
        (2, '"Best day ever', 2),
        (3, "The bus was late again", 0),
        (4, "It is Tuesday", 1),
    ]
    assert rows.skipped == []


def test_case_1_evaluate_scores_all_three_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "f.tsv", CASE_1)
    assert main(["evaluate", "--data", path, "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["n"], report["skipped"]) == (3, 0)


@pytest.mark.parametrize("quoted", ['"quoted text"', 'say "hi"', '"', '""'])
def test_tsv_quotes_are_kept_verbatim(tmp_path: Path, quoted: str) -> None:
    rows = read_rows(write(tmp_path, "q.tsv", f"text\n{quoted}\nnext\n".encode()))
    assert texts_of(rows) == [quoted, "next"]


def test_tsv_tab_inside_a_text_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "t.tsv", b"text\tlabel\nfine\tpositive\nhas\ta tab\tnegative\n")
    with pytest.raises(UserError, match=r"t\.tsv, line 3: 3 TSV fields but the header has 2"):
        read_rows(path, label_column="label")


# --------------------------------------------------------------------------- case 2: line endings


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("fmt", ["txt", "tsv", "csv", "jsonl"])
def test_case_2_every_line_ending_gives_one_row_per_line(tmp_path: Path, ending: bytes, fmt: str) -> None:
    texts = ["good day", "bad day", "fine"]
    if fmt == "txt":
        lines = texts
    elif fmt == "jsonl":
        lines = [json.dumps({"text": t}) for t in texts]
    else:
        lines = ["text", *texts]
    path = write(tmp_path, f"f.{fmt}", ending.join(line.encode() for line in lines) + ending)
    rows = read_rows(path)
    assert texts_of(rows) == texts
    assert rows.skipped == []


def test_case_2_cr_only_txt_through_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "mac.txt", b"good day\rbad day\rfine\r")
    assert main(["predict", "--input", path, "--json", "--no-progress"]) == 0
    assert [item["text"] for item in json.loads(capsys.readouterr().out)] == ["good day", "bad day", "fine"]


def test_lf_and_crlf_may_mix(tmp_path: Path) -> None:
    rows = read_rows(write(tmp_path, "m.txt", b"one\r\ntwo\nthree\r\n"))
    assert texts_of(rows) == ["one", "two", "three"]


@pytest.mark.parametrize(
    ("data", "line", "found"),
    [
        (b"one\ntwo\rthree\n", 2, "CR"),
        (b"one\r\ntwo\rthree\r\n", 2, "CR"),
        (b"one\rtwo\rthree\nfour\r", 3, "LF"),
    ],
)
def test_a_bare_cr_among_lf_lines_is_an_error_naming_the_line_ending(tmp_path: Path, data: bytes, line: int, found: str) -> None:
    with pytest.raises(UserError, match=rf"line {line}: ends in {found} .*mixed line endings"):
        read_rows(write(tmp_path, "mixed.txt", data))


def test_csv_line_breaks_inside_quotes_are_text_not_line_endings(tmp_path: Path) -> None:
    data = b'text\r\n"first\rline\nsplit\r\nthree ways",x\r\n"b, with comma"\r\n'
    rows = read_rows(write(tmp_path, "q.csv", data.replace(b",x", b"")))
    assert texts_of(rows) == ["first\rline\nsplit\r\nthree ways", "b, with comma"]
    assert [r.line for r in rows.rows] == [2, 6]  # the first record spans physical lines 2-5


# --------------------------------------------------------------------------- CSV ambiguity


def test_csv_unclosed_quote_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", b'text,label\ngood,positive\n"Best day ever,positive\nbad,negative\n')
    with pytest.raises(UserError, match=r"o\.csv, line \d+: not valid CSV"):
        read_rows(path, label_column="label")


def test_csv_unquoted_comma_is_an_error_not_a_cut_text(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", b"text,label\nslow, but tasty,positive\n")
    with pytest.raises(UserError, match=r"c\.csv, line 2: 3 CSV fields but the header has 2; .*double quotes"):
        read_rows(path, label_column="label")


def test_csv_quoted_fields_keep_commas_quotes_and_spaces(tmp_path: Path) -> None:
    data = b'text,label\n"slow, but ""tasty""",positive\n  padded  ,negative\n'
    rows = read_rows(write(tmp_path, "c.csv", data), label_column="label")
    assert texts_of(rows) == ['slow, but "tasty"', "  padded  "]


# --------------------------------------------------------------------------- accounting and encoding


def test_rows_read_plus_skipped_equals_rows_in_file(tmp_path: Path) -> None:
    data = b"text,label\ngood,positive\n\n,neutral\n   ,neutral\nbad,\nok,0\n"
    rows = read_rows(write(tmp_path, "a.csv", data), label_column="label")
    assert len(rows.rows) + len(rows.skipped) == 6
    assert rows.skipped == [(3, "empty row"), (4, "empty text"), (5, "empty text"), (6, "no label")]


def test_bom_is_dropped_and_a_bad_byte_names_its_line(tmp_path: Path) -> None:
    assert texts_of(read_rows(write(tmp_path, "b.csv", b"\xef\xbb\xbftext\nhello\n"))) == ["hello"]
    with pytest.raises(UserError, match=r"x\.txt is not UTF-8: line 3, byte 4 is 0xe9"):
        read_rows(write(tmp_path, "x.txt", b"one\ntwo\ncaf\xe9\n"))
    with pytest.raises(UserError, match=r"y\.txt is not UTF-8: line 2, byte 1 is 0xff"):
        read_rows(write(tmp_path, "y.txt", b"one\r\xff\r"))


def test_iter_rows_is_lazy(tmp_path: Path) -> None:
    # A bad row far down the file is only met when the reader gets there.
    path = write(tmp_path, "lazy.txt", b"first\n" + b"x\n" * 10 + b"\xff\n")
    rows = iter_rows(path)
    assert next(rows) == Row(1, "first")
    with pytest.raises(UserError, match="line 12"):
        list(rows)


def test_jsonl_rows_are_accounted(tmp_path: Path) -> None:
    data = b'{"text": "a"}\n\nnot json\n[1]\n{"other": 1}\n{"text": ""}\n{"text": "line\\u2028sep"}\n'
    items = list(iter_rows(write(tmp_path, "j.jsonl", data)))
    assert items == [
        Row(1, "a"),
        Skipped(2, "empty row"),
        Skipped(3, "not valid JSON (Expecting value)"),
        Skipped(4, "a JSON list, not an object"),
        Skipped(5, "no 'text' key"),
        Skipped(6, "empty text"),
        Row(7, "line\u2028sep"),
    ]


def test_public_names_stay_importable_from_cli() -> None:
    for name in ("Row", "Rows", "FORMATS", "read_rows", "file_format", "decode_utf8", "parse_label"):
        assert getattr(cli, name) is not None


def test_stdin_is_read_twice_safely(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\rtwo\r\r"), encoding="utf-8"))
    assert main(["predict", "--input", "-", "--json", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert [item["text"] for item in json.loads(out)] == ["one", "two"]
    assert "stdin, line 3: empty text, skipped" in err


def test_errors_come_before_any_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "late.txt", b"fine\n" * 5000 + b"caf\xe9\n")
    assert main(["predict", "--input", path, "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [f"roberta-math: error: {path} is not UTF-8: line 5001, byte 4 is 0xe9; re-save the file as UTF-8"]


def test_streamed_json_equals_one_json_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "CHUNK_ROWS", 3)  # several chunks for 7 rows
    texts = [f"text number {i} é" for i in range(7)]
    path = write(tmp_path, "many.txt", "\n".join(texts).encode())
    assert main(["predict", "--input", path, "--json", "--no-progress"]) == 0
    out = capsys.readouterr().out
    items = json.loads(out)
    assert [item["text"] for item in items] == texts
    assert out == json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    assert main(["predict", *texts, "--json"]) == 0  # the same scores as when given as arguments
    assert json.loads(capsys.readouterr().out) == items


# --------------------------------------------------------------------------- texts with no visible character

# Characters of the Unicode categories Cc (controls), Cf (format), Zs, Zl, Zp (separators):
# a text made only of them shows nothing and is skipped like an empty one, its reason naming them.
ZWSP, WORD_JOINER, BOM, NBSP, BELL = "\u200b", "\u2060", "\ufeff", "\u00a0", "\x07"


def test_txt_lines_with_no_visible_character_are_skipped_and_named(tmp_path: Path) -> None:
    lines = ["good day", ZWSP * 2, BELL, "bad day", f" {BOM}{ZWSP}", f"good{ZWSP}day", f"{NBSP}\u2029", "\x1f\x1c"]
    path = write(tmp_path, "h.txt", "\n".join(lines).encode() + b"\n")
    rows = read_rows(path)
    assert [(r.line, r.text) for r in rows.rows] == [(1, "good day"), (4, "bad day"), (6, f"good{ZWSP}day")]
    assert rows.skipped == [
        (2, "no visible characters (U+200B)"),
        (3, "no visible characters (U+0007)"),
        (5, "no visible characters (U+FEFF, U+200B)"),  # the space is not listed: it is ordinary whitespace
        (7, "empty text"),  # whitespace only (U+00A0, U+2029): the reason stays "empty text"
        (8, "empty text"),
    ]
    assert len(rows.rows) + len(rows.skipped) == len(lines)


def test_csv_tsv_jsonl_texts_and_labels_with_no_visible_character(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "h.csv", f"text,label\n{ZWSP},positive\nfine,{WORD_JOINER}\nok,0\n".encode())
    rows = read_rows(csv_path, label_column="label")
    assert [(r.line, r.text, r.label) for r in rows.rows] == [(4, "ok", 0)]
    assert rows.skipped == [(2, "no visible characters (U+200B)"), (3, "no label")]
    tsv_path = write(tmp_path, "h.tsv", f"text\n{BELL}{ZWSP}\nfine\n".encode())
    assert read_rows(tsv_path).skipped == [(2, "no visible characters (U+0007, U+200B)")]
    jsonl = "\n".join([json.dumps({"text": WORD_JOINER}), ZWSP, json.dumps({"text": "fine"})]) + "\n"
    items = list(iter_rows(write(tmp_path, "h.jsonl", jsonl.encode())))
    assert items == [Skipped(1, "no visible characters (U+2060)"), Skipped(2, "no visible characters (U+200B)"), Row(3, "fine")]


def test_long_list_of_invisible_characters_is_cut(tmp_path: Path) -> None:
    text = "".join(chr(c) for c in (0x200B, 0x200C, 0x200D, 0x2060, 0x07, 0x200B))
    rows = read_rows(write(tmp_path, "many.txt", (text + "\nfine\n").encode()))
    assert rows.skipped == [(1, "no visible characters (U+200B, U+200C, U+200D, U+2060, ...)")]

"""The roberta-math command line: predict, evaluate, train, the registry, and every bad-input case."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_models import tiny_classifier

from roberta_math import cli
from roberta_math.cli import Subcommand, main
from roberta_math.labels import LABELS


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_classifier(tmp_path_factory.mktemp("cli-model"), id2label={0: "neutral", 1: "positive", 2: "negative"}, max_tokens=64)


@pytest.fixture(scope="module")
def reference(model_dir: Path):
    """Probabilities of one text, computed with transformers directly (not through the project's code)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))

    def probabilities(text: str) -> dict[str, float]:
        with torch.no_grad():
            p = torch.softmax(model(**tokenizer(text, return_tensors="pt", truncation=True, max_length=64)).logits[0], -1)
        return {model.config.id2label[i]: float(v) for i, v in enumerate(p)}

    return probabilities


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    lines = [line for line in err.splitlines() if line.startswith("roberta-math: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def predicted_texts(out: str) -> list[str]:
    return [item["text"] for item in json.loads(out)]


# --------------------------------------------------------------------------- predict


def test_predict_json_matches_the_model(capsys, model_dir, reference) -> None:
    texts = ["I loved it", "Worst purchase ever, do not buy.", "ok"]
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--json", *texts)
    assert status == 0, err
    items = json.loads(out)
    assert [i["text"] for i in items] == texts
    for item in items:
        assert set(item) == {"text", "label", "scores"}
        assert list(item["scores"]) == list(LABELS)
        expected = reference(item["text"])
        for label in LABELS:
            assert item["scores"][label] == pytest.approx(expected[label], abs=1e-5)
        assert item["label"] == max(expected, key=expected.get)


def test_predict_uses_the_embedded_model_by_default(capsys) -> None:
    status, out, err = run(capsys, "predict", "--json", "I love this, it is wonderful!", "This is awful and I hate it.")
    assert status == 0, err
    happy, angry = json.loads(out)
    # a trained sentiment model, unlike the random test models, ranks these two the human way round
    assert happy["scores"]["positive"] > angry["scores"]["positive"]
    assert happy["scores"]["negative"] < angry["scores"]["negative"]


def test_predict_table(capsys, model_dir) -> None:
    status, out, _ = run(capsys, "predict", "--model", str(model_dir), "I loved it", "meh")
    assert status == 0
    header, *rows = out.splitlines()
    assert header.split() == ["label", "negative", "neutral", "positive", "text"]
    assert len(rows) == 2 and rows[0].endswith("I loved it") and rows[1].endswith("meh")
    for row in rows:
        label, *numbers = row.split()[:4]
        assert label in LABELS
        assert sum(float(n) for n in numbers) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.parametrize("texts", [["", "fine"], ["fine", "   "], ["\t\n"]])
def test_empty_text_argument(capsys, model_dir, texts) -> None:
    status, out, err = run(capsys, "predict", "--model", str(model_dir), *texts)
    position = next(i for i, t in enumerate(texts, 1) if not t.strip())
    assert_one_line_error(status, err, f"text argument {position} is empty")
    assert out == ""


def test_predict_needs_texts_or_a_file(capsys, model_dir) -> None:
    status, _, err = run(capsys, "predict", "--model", str(model_dir))
    assert_one_line_error(status, err, "nothing to classify")


def test_predict_refuses_texts_and_a_file(capsys, model_dir, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(tmp_path / "a.txt"), "hi")
    assert_one_line_error(status, err, "not both")


def test_long_text_is_truncated_with_a_warning(capsys, model_dir) -> None:
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--json", "great " * 200, "short")
    assert status == 0
    assert "roberta-math: warning: 1 of 2 texts were longer than 64 tokens" in err
    assert len(json.loads(out)) == 2


# --------------------------------------------------------------------------- predict --input: formats and bad rows


def test_txt_file_blank_lines_reported_and_skipped(capsys, model_dir, tmp_path, reference) -> None:
    path = tmp_path / "texts.txt"
    path.write_bytes(b"first good\r\n\r\nsecond good\n   \nthird good\n\n")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0
    assert predicted_texts(out) == ["first good", "second good", "third good"]
    assert f"{path}, line 2: empty text, skipped" in err
    assert f"{path}, line 4: empty text, skipped" in err
    assert f"{path}, line 6: empty text, skipped" in err
    assert "line 1:" not in err and "line 3:" not in err and "line 5:" not in err
    scores = json.loads(out)[1]["scores"]
    assert scores["positive"] == pytest.approx(reference("second good")["positive"], abs=1e-5)


def test_csv_file_with_quoted_multiline_field(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "texts.csv"
    path.write_text('id,text\n1,"a first, quoted text"\n2,\n3,"spans\ntwo lines"\n\n5,last one\n', encoding="utf-8")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0
    assert predicted_texts(out) == ["a first, quoted text", "spans\ntwo lines", "last one"]
    assert "line 3: empty text, skipped" in err
    assert "line 6: empty row, skipped" in err


def test_tsv_file(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "texts.tsv"
    path.write_text("Text\tother\nhello there\tx\nbye, now\ty\n", encoding="utf-8")
    status, out, _ = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0
    assert predicted_texts(out) == ["hello there", "bye, now"]


def test_jsonl_bad_rows_skipped_good_rows_kept(capsys, model_dir, tmp_path) -> None:
    lines = [
        json.dumps({"text": "good one"}),
        "{not json",
        json.dumps({"other": "no text key"}),
        json.dumps({"text": "   "}),
        "",
        json.dumps(["a list"]),
        json.dumps({"text": "good two", "extra": 1}),
    ]
    path = tmp_path / "texts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json")
    assert status == 0
    assert predicted_texts(out) == ["good one", "good two"]
    for line in (2, 3, 4, 5, 6):
        assert f"line {line}:" in err
    assert "scoring" in err  # the progress bar, on stderr


def test_stdin_input(capsys, model_dir, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from stdin\n\nagain\n"), encoding="utf-8"))
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", "-", "--json", "--no-progress")
    assert status == 0
    assert predicted_texts(out) == ["from stdin", "again"]
    assert "stdin, line 2: empty text, skipped" in err


def test_non_utf8_file_names_the_line(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("fine\nalso fine\ncaf\u00e9 au lait\n".encode("latin-1"))
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path))
    assert_one_line_error(status, err, "not UTF-8", "line 3", "0xe9")
    assert out == ""


def test_utf8_bom_is_accepted(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext\nhello\n".encode())
    status, out, _ = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0 and predicted_texts(out) == ["hello"]


def test_missing_column(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "texts.csv"
    path.write_text("sentence,label\nhello,positive\n", encoding="utf-8")
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path))
    assert_one_line_error(status, err, "no column 'text'", "'sentence'", "--text-column")
    status, out, _ = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--text-column", "sentence", "--json", "--no-progress")
    assert status == 0 and predicted_texts(out) == ["hello"]


def test_missing_key_in_every_jsonl_object(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "texts.jsonl"
    path.write_text('{"sentence": "a"}\n{"sentence": "b"}\n', encoding="utf-8")
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path))
    assert_one_line_error(status, err, "no object has the key 'text'")


def test_file_with_only_empty_rows(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("\n  \n", encoding="utf-8")
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path))
    assert_one_line_error(status, err, "no rows to score")
    assert "line 1: empty text, skipped" in err


def test_missing_file(capsys, model_dir, tmp_path) -> None:
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(tmp_path / "nope.txt"))
    assert_one_line_error(status, err, "no such file")


# --------------------------------------------------------------------------- evaluate


def test_evaluate_metrics_match_sklearn(capsys, model_dir, tmp_path, reference) -> None:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    rows = [
        ("I loved it", "positive"), ("Awful, simply awful.", "0"), ("It is Tuesday.", "neutral"),
        ("Best day ever!", "2"), ("Meh.", "1"), ("Not great, not terrible.", "Neutral"),
        ("Broken on arrival", "NEGATIVE"), ("Superb", "positive"), ("", "positive"), ("no label here", ""),
    ]
    path = tmp_path / "labelled.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("text,label\n")
        for text, label in rows:
            fh.write(f'"{text}",{label}\n')
    status, out, err = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path), "--json")
    assert status == 0, err
    report = json.loads(out)
    assert "line 10: empty text, skipped" in err and "line 11: no label, skipped" in err
    kept = rows[:8]
    names = {"0": "negative", "1": "neutral", "2": "positive"}
    truth = [LABELS.index(names.get(label, label.lower())) for _, label in kept]
    predicted = [LABELS.index(max((p := reference(text)), key=p.get)) for text, _ in kept]
    precision, recall, f1, _ = precision_recall_fscore_support(truth, predicted, labels=[0, 1, 2], average="macro", zero_division=0)
    assert report["n"] == 8 and report["skipped"] == 2
    assert report["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert report["macro_precision"] == pytest.approx(precision)
    assert report["macro_recall"] == pytest.approx(recall)
    assert report["macro_f1"] == pytest.approx(f1)
    assert report["model"]["name"] == str(model_dir)


def test_evaluate_table_and_jsonl_with_integer_labels(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "label": y}) for t, y in [("good", 2), ("bad", 0), ("so-so", 1)]) + "\n")
    status, out, _ = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path), "--no-progress")
    assert status == 0
    for title in ("accuracy", "macro precision", "macro recall", "macro F1"):
        assert any(line.startswith(title) for line in out.splitlines()), title
    assert "3 rows scored" in out


@pytest.mark.parametrize(("content", "suffix", "fragment"), [
    ("text,label\ngood,positive\nbad,awful\n", ".csv", "line 3: unknown label 'awful'"),
    ("text\tlabel\ngood\t5\n", ".tsv", "line 2: unknown label '5'"),
    ('{"text": "good", "label": 3}\n', ".jsonl", "line 1: unknown label 3"),
])
def test_evaluate_unknown_label(capsys, model_dir, tmp_path, content, suffix, fragment) -> None:
    path = tmp_path / f"labelled{suffix}"
    path.write_text(content, encoding="utf-8")
    status, _, err = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path))
    assert_one_line_error(status, err, fragment, "negative/neutral/positive or 0/1/2")


def test_evaluate_missing_label_column(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "unlabelled.csv"
    path.write_text("text\nhello\n", encoding="utf-8")
    status, _, err = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path))
    assert_one_line_error(status, err, "no column 'label'")


def test_evaluate_plain_text_file_has_no_labels(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("hello\n", encoding="utf-8")
    status, _, err = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path))
    assert_one_line_error(status, err, "has no labels")


# --------------------------------------------------------------------------- models, train, registry


def test_unknown_model_is_one_line_exit_2(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    status, out, err = run(capsys, "predict", "--model", "nobody/no-such-model", "hello")
    assert_one_line_error(status, err, "nobody/no-such-model", "local directory")
    assert out == ""


def test_train_only_knows_the_embedded_recipe(capsys) -> None:
    status, _, err = run(capsys, "train", "--model", "cardiffnlp/twitter-roberta-base-sentiment")
    assert_one_line_error(status, err, "only the compact model (embedded) has a training recipe")


def test_train_rejects_a_nonpositive_limit(capsys, tmp_path) -> None:
    status, _, err = run(capsys, "train", "--out", str(tmp_path / "m"), "--limit", "0")
    assert_one_line_error(status, err, "--limit must be a positive number")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_train_then_predict_with_the_new_model(capsys, tmp_path) -> None:
    # A quick trial of the real recipe (60 sentences per split, about 20 s), then its model on the command line.
    out_dir = tmp_path / "trained"
    status, out, err = run(capsys, "train", "--out", str(out_dir), "--limit", "60", "--seed", "1", "--no-progress", "--json")
    assert status == 0, err
    metrics = json.loads(out)
    assert metrics["test"]["overall"]["n"] == 60
    for name in ("config.json", "model.safetensors", "tokenizer.json", "metrics.json"):
        assert (out_dir / name).is_file(), name
    status, out, err = run(capsys, "predict", "--model", str(out_dir), "--json", "What a lovely day")
    assert status == 0, err
    assert json.loads(out)[0]["label"] in LABELS


def test_every_command_takes_model() -> None:
    parser = cli.build_parser()
    for command in ("predict", "evaluate", "train"):
        extra = ["--data", "x.csv"] if command == "evaluate" else []
        assert parser.parse_args([command, "--model", "some/where", *extra]).model == "some/where"


def test_help_and_usage_errors(capsys) -> None:
    assert main(["--help"]) == 0
    assert "predict" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2
    assert main([]) == 2


def test_keyboard_interrupt_exits_130(capsys) -> None:
    def interrupted(args) -> int:
        raise KeyboardInterrupt

    status = main(["slow"], extra=[Subcommand("slow", "a long job", lambda p: None, interrupted)])
    assert status == 130
    assert "interrupted" in capsys.readouterr().err


def test_external_subcommand_registration(capsys, tmp_path, monkeypatch) -> None:
    (tmp_path / "my_extra_command.py").write_text(
        "from roberta_math.cli import Subcommand\n"
        "SUBCOMMAND = Subcommand('figures', 'draw', lambda p: p.add_argument('--out'),\n"
        "                        lambda a: print('figures', a.out, a.model) or 0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "EXTERNAL_SUBCOMMANDS", ("my_extra_command:SUBCOMMAND",))
    status, out, _ = run(capsys, "figures", "--out", "x", "--model", "m")
    assert status == 0 and out.strip() == "figures x m"


def test_duplicate_subcommand_names_are_refused() -> None:
    twin = Subcommand("predict", "again", lambda p: None, lambda a: 0)
    with pytest.raises(ValueError, match="predict"):
        cli.build_parser([twin])


# --------------------------------------------------------------------------- a real process


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}


def test_subprocess_errors_have_no_traceback(tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    for argv in (["predict", ""], ["predict", "--input", str(bad)]):
        result = subprocess.run([sys.executable, "-m", "roberta_math.cli", *argv], capture_output=True, text=True, env=_env(), timeout=120)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("roberta-math: error:")
        assert "Traceback" not in result.stderr
    assert "line 2" in result.stderr


def test_subprocess_predict_with_python_dash_m_package(model_dir) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roberta_math", "predict", "--model", str(model_dir), "--json", "hello world"],
        capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)
    assert item["text"] == "hello world"
    assert sum(item["scores"].values()) == pytest.approx(1.0)
    assert result.stderr == ""  # no progress bars or log chatter for arguments
    probabilities = np.array([item["scores"][label] for label in LABELS])
    assert item["label"] == LABELS[int(probabilities.argmax())]


# A new user's bad input, each a one-line error that names the fix (no traceback).

def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_a_directory_as_input_is_named_a_directory(capsys, tmp_path) -> None:
    assert main(["predict", "--input", str(tmp_path)]) == 2
    assert "is a directory: pass one file" in _one_line_error(capsys)


def test_an_empty_model_name_says_it_is_empty(capsys) -> None:
    assert main(["predict", "--model", "", "hi"]) == 2
    assert "--model is empty" in _one_line_error(capsys)


def test_labelled_csv_on_stdin_says_to_pass_its_format(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("text,label\ngood,positive\n"))
    assert main(["evaluate", "--data", "-"]) == 2
    assert "pass --format csv, tsv or jsonl" in _one_line_error(capsys)


def test_a_headerless_long_first_line_does_not_fill_the_error(capsys, tmp_path) -> None:
    path = tmp_path / "long.txt"
    path.write_text(" ".join(["word"] * 3000) + "\n", encoding="utf-8")
    assert main(["predict", "--format", "csv", "--input", str(path)]) == 2
    err = _one_line_error(capsys)
    assert "has no column 'text'" in err and len(err) < 400


def test_output_that_cannot_be_written_is_one_line_exit_1() -> None:
    assert Path("/dev/full").exists(), "this test needs /dev/full (Linux), where every write fails with ENOSPC"
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "roberta_math", "predict", "hi"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "No space left on device" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


# --------------------------------------------------------------------------- options that do not apply, invisible texts


@pytest.mark.parametrize("extra", [["--text-column", "foo"], ["--text-column", "text"], ["--format", "txt", "--text-column", "x"]])
def test_text_column_with_a_txt_input_is_an_error(capsys, model_dir, tmp_path, extra) -> None:
    path = tmp_path / "h2.csv" if "--format" in extra else tmp_path / "h2.txt"
    path.write_text("text\ngood day\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), *extra)
    assert_one_line_error(status, err, "--text-column", "one text per line", ".csv, .tsv or .jsonl")
    assert out == ""


def test_text_column_on_stdin_says_to_pass_a_format(capsys, model_dir, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"sentence\nhello\n"), encoding="utf-8"))
    status, _, err = run(capsys, "predict", "--model", str(model_dir), "--input", "-", "--text-column", "sentence")
    assert_one_line_error(status, err, "stdin", "--text-column", "--format csv, tsv or jsonl")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"sentence\nhello\n"), encoding="utf-8"))
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", "-", "--format", "csv",
                           "--text-column", "sentence", "--json", "--no-progress")
    assert status == 0, err
    assert predicted_texts(out) == ["hello"]


def test_file_options_with_text_arguments_are_an_error(capsys, model_dir) -> None:
    for option in (["--text-column", "foo"], ["--format", "csv"]):
        status, out, err = run(capsys, "predict", "--model", str(model_dir), "good day", *option)
        assert_one_line_error(status, err, option[0], "--input")
        assert out == ""


def test_txt_default_text_column_still_works(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("text\ngood day\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0, err
    assert predicted_texts(out) == ["text", "good day"]  # a .txt file has no header: its first line is a text


def test_evaluate_with_a_txt_file_and_text_column_is_one_line(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("good day\n", encoding="utf-8")
    for extra in ([], ["--text-column", "foo"], ["--label-column", "y"]):
        status, _, err = run(capsys, "evaluate", "--model", str(model_dir), "--data", str(path), *extra)
        assert_one_line_error(status, err, "plain text", "CSV, TSV or JSONL")


def test_txt_lines_with_no_visible_character_are_skipped(capsys, model_dir, tmp_path) -> None:
    path = tmp_path / "h2.txt"
    path.write_text("good day\n\u200b\u200b\n\x07\nbad day\ngood\u200bday\n", encoding="utf-8")
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--input", str(path), "--json", "--no-progress")
    assert status == 0, err
    assert predicted_texts(out) == ["good day", "bad day", "good\u200bday"]
    assert f"{path}, line 2: no visible characters (U+200B), skipped" in err
    assert f"{path}, line 3: no visible characters (U+0007), skipped" in err
    assert "line 1:" not in err and "line 4:" not in err and "line 5:" not in err


@pytest.mark.parametrize(("texts", "shown"), [(["\u200b"], "U+200B"), (["fine", "\x07"], "U+0007"), (["\ufeff \u2060"], "U+FEFF, U+2060")])
def test_invisible_text_argument_is_an_error_like_an_empty_one(capsys, model_dir, texts, shown) -> None:
    status, out, err = run(capsys, "predict", "--model", str(model_dir), *texts)
    assert_one_line_error(status, err, f"text argument {len(texts)} has no visible characters ({shown})", "give some words")
    assert out == ""


def test_text_argument_with_a_zero_width_space_and_words_is_scored(capsys, model_dir) -> None:
    status, out, err = run(capsys, "predict", "--model", str(model_dir), "--json", "good\u200bday")
    assert status == 0, err
    assert predicted_texts(out) == ["good\u200bday"]


@pytest.mark.parametrize("argv", [
    [],
    ["nonsense"],
    ["predict", "--bogus"],
    ["evaluate"],
    ["explain", "good", "--method", "nonsense"],
    ["explain", "good", "--steps", "abc"],
    ["predict", "good", "--batch-size", "x"],
])
def test_usage_errors_are_one_line_that_points_to_help(argv, capsys):
    """A usage error is one line naming the problem and --help, not argparse's usage block; exit status 2."""
    from roberta_math.cli import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("roberta-math") and ": error: " in lines[0] and lines[0].endswith("--help)")
    assert "usage:" not in captured.err and captured.out == ""

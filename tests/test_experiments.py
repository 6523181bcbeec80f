"""The experiments: the tiny configuration end to end, resumability by counting real training calls, the figure step.

One interrupted session, its resumption and a third idle session share a temporary
cache; the counts come from wrappers around the real training functions (they call
through, nothing is mocked).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import roberta_math
from roberta_math.cli import main
from roberta_math.data import corpus
from roberta_math.evaluation import baseline
from roberta_math.experiments import results as R
from roberta_math.experiments.protocol import ALL, DEFAULT_CONFIG, TINY_CONFIG, TRAIN_SETS, planned_runs, stratified_sample
from roberta_math.experiments.runner import RunStore, experiments_dir, load_data, run_experiments
from roberta_math.figures.experiment_figures import render
from roberta_math.training import recipe, tokenizer

COUNTED = {
    "finetune": (recipe, "finetune"),
    "pretrain": (recipe, "pretrain_masked_lm"),
    "bpe": (tokenizer, "train_bpe"),
    "tfidf": (baseline, "tfidf_logreg_probabilities"),
}


class Interrupted(Exception):
    """Raised by the counting wrapper to simulate a session killed mid-way."""


def _count_calls(monkeypatch: pytest.MonkeyPatch, stop_after_finetunes: int | None = None) -> dict[str, int]:
    calls = dict.fromkeys(COUNTED, 0)
    for key, (module, name) in COUNTED.items():
        real = getattr(module, name)

        def counting(*args, _key=key, _real=real, **kwargs):
            if _key == "finetune" and stop_after_finetunes is not None and calls["finetune"] >= stop_after_finetunes:
                raise Interrupted
            calls[_key] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return calls


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three sessions of the tiny configuration in a fresh cache: interrupted, resumed, idle."""
    source = str(corpus.corpus_dir())  # resolved before the cache moves (the corpus stays where it is)
    out = tmp_path_factory.mktemp("experiments") / "results.json"
    record: dict = {"out": out, "source": source}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROBERTA_MATH_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("ROBERTA_MATH_CORPUS", source)
        with pytest.MonkeyPatch.context() as inner:
            first = _count_calls(inner, stop_after_finetunes=3)
            with pytest.raises(Interrupted):
                run_experiments(TINY_CONFIG, out=out, progress=False, command="test")
        record["first"] = first
        record["records_after_interrupt"] = sorted(p.stem for p in experiments_dir().glob("*/runs/*.json"))
        record["results_after_interrupt"] = out.exists()
        for name in ("second", "third"):
            with pytest.MonkeyPatch.context() as inner:
                calls = _count_calls(inner)
                results, stats = run_experiments(TINY_CONFIG, out=out, progress=False, command="test")
            record[name] = {"calls": calls, "stats": stats.as_dict(), "results": results}
        record["results"] = json.loads(out.read_text(encoding="utf-8"))
        record["store_dir"] = next(experiments_dir().glob("*/runs")).parent
        record["splits"], _ = load_data(TINY_CONFIG, source)
    return record


# --------------------------------------------------------------------------- resumability


def test_an_interrupted_session_keeps_its_finished_runs(sessions: dict) -> None:
    planned = [s.run_id for s in planned_runs(TINY_CONFIG)]
    finished = sessions["records_after_interrupt"]
    # Everything before the 4th fine-tuning finished and was recorded; nothing after it; no results yet.
    fourth_roberta = [i for i in planned if i.startswith("roberta-")][3]
    assert finished == sorted(planned[: planned.index(fourth_roberta)])
    assert sessions["first"]["finetune"] == 3 and not sessions["results_after_interrupt"]


def test_the_resumed_session_trains_only_what_was_missing(sessions: dict) -> None:
    planned = [s.run_id for s in planned_runs(TINY_CONFIG)]
    second = sessions["second"]
    finished_before = set(sessions["records_after_interrupt"])
    assert set(second["stats"]["trained"]) == set(planned) - finished_before
    assert second["stats"]["runs_reused"] == len(finished_before)
    missing = set(planned) - finished_before
    assert second["calls"]["finetune"] == sum(i.startswith("roberta-") for i in missing)
    assert second["calls"]["tfidf"] == sum(i.startswith("tfidf_logreg-") for i in missing)
    assert second["calls"]["pretrain"] == ("masked_lm-all-s0" in missing)


def test_a_finished_configuration_trains_nothing(sessions: dict) -> None:
    third = sessions["third"]
    assert third["calls"] == {"finetune": 0, "pretrain": 0, "bpe": 0, "tfidf": 0}
    assert third["stats"]["runs_trained"] == 0 and third["stats"]["runs_reused"] == len(planned_runs(TINY_CONFIG))
    a, b = sessions["second"]["results"], third["results"]
    for key in ("transfer", "pretraining", "test_split", "headline", "runs", "config_hash"):
        assert a[key] == b[key], key


def test_a_damaged_record_is_redone_alone(sessions: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(sessions["store_dir"].parents[1]))
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", sessions["source"])
    victim = "tfidf_logreg-all-25pct-s0"
    path = sessions["store_dir"] / "runs" / f"{victim}.json"
    path.write_text(path.read_text(encoding="utf-8")[:100], encoding="utf-8")  # truncated mid-file
    calls = _count_calls(monkeypatch)
    results, stats = run_experiments(TINY_CONFIG, out=None, progress=False, command="test")
    assert stats.trained == [victim] and calls["tfidf"] == 1 and calls["finetune"] == 0
    assert results["runs"][victim]["test"] == sessions["results"]["runs"][victim]["test"]  # deterministic baseline


def test_records_of_another_configuration_are_not_used(sessions: dict) -> None:
    store = RunStore(sessions["store_dir"], "0" * 16)
    assert store.load("vader") is None
    assert RunStore(sessions["store_dir"], sessions["results"]["config_hash"]).load("vader") is not None


# --------------------------------------------------------------------------- the results file


def test_results_schema(sessions: dict) -> None:
    r = sessions["results"]
    json.dumps(r, allow_nan=False)
    assert R.check_results(r) == []
    assert r["complete"] is True and r["missing_runs"] == []
    assert r["command"] == "test" and r["package_version"] == roberta_math.__version__
    assert r["config"]["name"] == "tiny" and r["config"]["fractions"] == [0.25, 1.0] and r["config"]["seeds"] == [0]
    hw = r["hardware"]
    assert hw["torch_threads"] == 1 and hw["cpu_count"] == os.cpu_count() and hw["cpu_model"]
    assert {"torch", "transformers", "scikit-learn"} <= r["versions"].keys()
    assert r["corpus"]["split_fingerprint_sha256"] == corpus.split_fingerprint()
    assert set(r["runs"]) == {s.run_id for s in planned_runs(TINY_CONFIG)}
    assert set(r["timings"]["run_seconds"]) == set(r["runs"])
    assert math.isclose(r["timings"]["run_seconds_total"], sum(r["timings"]["run_seconds"].values()), abs_tol=0.1)
    assert r["seeds"] == {"split": corpus.SPLIT_SEED, "pretraining_curves": [0], "transfer": [0], "masked_lm": 0}


def test_the_transfer_matrix_covers_every_training_set_and_test_domain(sessions: dict) -> None:
    r = sessions["results"]
    test = sessions["splits"]["test"]
    sizes = {d: sum(s.domain == d for s in test) for d in corpus.DOMAINS} | {ALL: len(test)}
    for method in ("roberta", "tfidf_logreg"):
        for train_set in TRAIN_SETS:
            for test_set, n in sizes.items():
                cell = r["transfer"]["methods"][method][train_set][test_set]
                assert cell["n"] == n and 0.0 <= cell["accuracy"] <= 1.0 and 0.0 <= cell["macro_f1"] <= 1.0
    # The in-domain mean is the mean of the diagonal, recomputed here.
    table = r["transfer"]["methods"]["roberta"]
    diagonal = np.mean([table[d][d]["accuracy"] for d in corpus.DOMAINS])
    off = np.mean([table[t][d]["accuracy"] for t in corpus.DOMAINS for d in corpus.DOMAINS if t != d])
    assert r["headline"]["transfer_accuracy"]["roberta"]["in_domain"] == pytest.approx(diagonal, abs=1e-6)
    assert r["headline"]["transfer_accuracy"]["roberta"]["out_of_domain"] == pytest.approx(off, abs=1e-6)
    # The pooled row is the same run as the full-data point of the curves (seed 0, random init).
    assert table[ALL][ALL]["accuracy"] == r["pretraining"]["curves"]["random"][-1]["accuracy"]["mean"]


def test_every_accuracy_agrees_with_its_confusion_matrix(sessions: dict) -> None:
    for run_id, record in sessions["results"]["runs"].items():
        for domain, m in record.get("test", {}).items():
            confusion = np.array(m["confusion"])
            assert confusion.sum() == m["n"], (run_id, domain)
            assert np.trace(confusion) / m["n"] == pytest.approx(m["accuracy"], abs=1e-6), (run_id, domain)


def test_vader_row_matches_vader_itself(sessions: dict) -> None:
    # Scored here with vaderSentiment directly and the paper's +/-0.05 band.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    test = sessions["splits"]["test"]
    compound = [analyzer.polarity_scores(s.text)["compound"] for s in test]
    predicted = [0 if c <= -0.05 else 2 if c >= 0.05 else 1 for c in compound]
    accuracy = np.mean([p == s.label for p, s in zip(predicted, test, strict=True)])
    assert sessions["results"]["transfer"]["vader"][ALL]["accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_learning_curve_sizes_and_steps(sessions: dict) -> None:
    r = sessions["results"]
    train = sessions["splits"]["train"]
    batch, epochs = TINY_CONFIG.recipe.batch_size, TINY_CONFIG.recipe.finetune_epochs
    for init in ("random", "masked_lm"):
        small, full = r["pretraining"]["curves"][init]
        assert full["train_size"] == len(train)
        assert 0.2 * len(train) <= small["train_size"] <= 0.3 * len(train)
        # Same epochs at every fraction: steps = ceil(n / batch) * epochs.
        for point in (small, full):
            assert point["steps"] == math.ceil(point["train_size"] / batch) * epochs
    assert r["pretraining"]["masked_lm"]["steps"] == math.ceil(len(train) / batch) * TINY_CONFIG.recipe.pretrain_epochs
    # The labelled subsets of one seed are nested and class-balanced.
    small, large = stratified_sample(train, 0.25, 0), stratified_sample(train, 0.5, 0)
    assert set(small) < set(large)
    for label in range(3):
        share = sum(s.label == label for s in small) / sum(s.label == label for s in train)
        assert 0.15 <= share <= 0.35


# --------------------------------------------------------------------------- figures and CLI


def test_the_figure_step_renders_from_a_results_file(sessions: dict) -> None:
    from roberta_math.figures.render import use_style

    use_style()
    results = R.load_results(sessions["out"])
    files = render(results)
    assert {"experiments_transfer.svg", "experiments_pretraining.svg", "experiments_transfer.md",
            "experiments_pretraining.md", "experiments_test.md", "experiments.json"} <= files.keys()
    for name, data in files.items():
        if name.endswith(".svg"):
            assert data.startswith(b"<?xml") and b"<dc:date>" not in data, name
    assert render(results) == files  # deterministic bytes
    table = files["experiments_transfer.md"].decode().splitlines()
    assert len(table) == 2 + 2 * len(TRAIN_SETS) + 1  # header, rule, two methods x five training sets, VADER
    tweets = results["transfer"]["methods"]["roberta"]["tweets"]["tweets"]["accuracy"]
    assert f"**{tweets:.3f} (" in table[2]  # in-domain cell of the first row, in bold


def test_an_incomplete_results_file_is_refused(sessions: dict, tmp_path: Path) -> None:
    broken = dict(sessions["results"], complete=False, missing_runs=["roberta-all-25pct-random-s0"])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(roberta_math.errors.UserError, match="lacks 1 run"):
        R.load_results(path)
    with pytest.raises(roberta_math.errors.UserError, match="no experiment results"):
        R.load_results(tmp_path / "absent.json")


def test_committed_results_are_the_default_configuration_and_render(tmp_path: Path) -> None:
    results = R.load_results()  # the committed file: complete and well-formed
    assert results["config"] == DEFAULT_CONFIG.as_dict()
    assert results["hardware"]["torch_threads"] == DEFAULT_CONFIG.threads
    assert len(results["runs"]) == len(planned_runs(DEFAULT_CONFIG))
    # Within the 45-minute budget on the machine that made it.
    assert results["timings"]["run_seconds_total"] < 45 * 60
    from roberta_math.figures.build import build_figures

    manifest = build_figures(tmp_path, steps=["experiments"], progress=False)
    assert manifest["run"]["model_loads"] == 0 and manifest["run"]["steps_run"] == ["experiments"]
    assert (tmp_path / "experiments_transfer.svg").stat().st_size > 10_000


def test_cli_rejects_a_bad_fraction_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiments", "--fractions", "150%"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--fractions" in err[0] and "150%" in err[0]


def test_cli_dry_run_lists_every_run(sessions: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(sessions["store_dir"].parents[1]))
    assert main(["experiments", "--tiny", "--dry-run", "--corpus", sessions["source"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(planned_runs(TINY_CONFIG)) and all(" done (" in line for line in lines)
    assert main(["experiments", "--tiny", "--dry-run", "--seeds", "2", "--corpus", sessions["source"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(" to do" in line for line in lines) == len(planned_runs(replace(TINY_CONFIG, seeds=(0, 1)))) - len(
        planned_runs(TINY_CONFIG))  # a new seed reuses every run of the first

"""The figure build: reproducible bytes, a cache that skips model work, repair of damaged files, the hook.

Everything runs on a toy corpus and a tiny random model (``figure_helpers``); the two
cold builds run in different processes with different hash seeds, as two machines would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from figure_helpers import SMALL_PARAMS, tiny_model_with_log, write_toy_corpus

from roberta_math.figures.build import STEPS, build_figures, params_from_mapping, published_files
from roberta_math.figures.cache import MANIFEST_NAME, sha256_file

ROOT = Path(__file__).resolve().parents[1]
STEP_NAMES = [s.name for s in STEPS]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("figure-inputs")
    params = base / "params.json"
    params.write_text(json.dumps(SMALL_PARAMS), encoding="utf-8")
    return {
        "corpus": write_toy_corpus(base / "corpus"),
        "model": tiny_model_with_log(base / "model"),
        "params": params,
        "base": base,
    }


def _env(inputs: dict[str, Path], **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ROBERTA_MATH_CORPUS": str(inputs["corpus"]), "ROBERTA_MATH_CACHE": str(inputs["base"] / "cache")})
    env.update(extra)
    return env


def _cold_build(inputs: dict[str, Path], out: Path, hash_seed: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "roberta_math.figures", "--out", str(out), "--model", str(inputs["model"]),
               "--params", str(inputs["params"]), "--no-progress"]
    return subprocess.Popen(command, env=_env(inputs, PYTHONHASHSEED=hash_seed), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def cold_builds(inputs: dict[str, Path]) -> tuple[Path, Path]:
    """Two cold builds into fresh directories: one in this process, one in a child with another hash seed."""
    first, second = inputs["base"] / "cold-1", inputs["base"] / "cold-2"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _env(inputs).items():
            if key.startswith("ROBERTA_MATH_"):
                patch.setenv(key, value)
        build_figures(first, model=str(inputs["model"]), progress=False, params=_params(inputs))
    child = _cold_build(inputs, second, "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321")
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    return first, second


def _params(inputs: dict[str, Path]):
    return params_from_mapping(json.loads(inputs["params"].read_text()))


@pytest.fixture()
def in_process_env(inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(inputs["corpus"]))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(inputs["base"] / "cache"))


def test_two_cold_builds_are_byte_identical(cold_builds: tuple[Path, Path]) -> None:
    first, second = cold_builds
    names = published_files(first)
    assert names == published_files(second)
    # Every figure family is there, as SVG, with its data.
    for expected in ("softmax_temperature.svg", "qk_variance_random.svg", "cross_entropy_gradient_field.svg",
                     "tokenization.svg", "token_table.json", "attention_heatmap.svg", "attention_grid.svg",
                     "head_statistics.svg", "head_statistics.json", "score_spread_model.svg", "confusion_matrices.svg",
                     "reliability.svg", "domain_metrics.svg", "training_curves.svg", "transfer_learning.svg",
                     "explorer.json", "explorer.js", "explorer.css", "multi_head_attention.svg", "encoder_layer.svg",
                     "embeddings_example.svg", "architecture.json"):
        assert expected in names
    different = [n for n in names if (first / n).read_bytes() != (second / n).read_bytes()]
    assert different == []
    for name in names:
        if name.endswith(".svg"):
            data = (first / name).read_bytes()
            assert b"<dc:date>" not in data and data.startswith(b"<?xml")


def test_the_manifest_records_each_files_hash(cold_builds: tuple[Path, Path]) -> None:
    first, _ = cold_builds
    manifest = json.loads((first / MANIFEST_NAME).read_text())
    assert sorted(manifest["steps"]) == sorted(STEP_NAMES)
    for entry in manifest["steps"].values():
        for name, digest in entry["files"].items():
            assert sha256_file(first / name) == digest
    run = manifest["run"]
    assert run["steps_run"] == STEP_NAMES and run["steps_reused"] == []
    assert run["model_loads"] == 1 and run["forward_sentences"] > 0  # the counters do see model work


def test_warm_build_does_no_model_work(cold_builds: tuple[Path, Path], inputs: dict[str, Path], in_process_env: None) -> None:
    first, _ = cold_builds
    before = {n: ((first / n).stat().st_mtime_ns, (first / n).read_bytes()) for n in published_files(first)}
    cold_seconds = json.loads((first / MANIFEST_NAME).read_text())["run"]["seconds"]
    manifest = build_figures(first, model=str(inputs["model"]), progress=False, params=_params(inputs))
    run = manifest["run"]
    assert run["steps_run"] == [] and run["steps_reused"] == STEP_NAMES
    assert (run["model_loads"], run["forward_passes"], run["forward_sentences"]) == (0, 0, 0)
    assert run["seconds"] < cold_seconds
    after = {n: ((first / n).stat().st_mtime_ns, (first / n).read_bytes()) for n in published_files(first)}
    assert after == before  # not even rewritten


def test_a_changed_corpus_rebuilds_only_the_steps_that_read_it(cold_builds: tuple[Path, Path], inputs: dict[str, Path],
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "figures"
    shutil.copytree(cold_builds[0], out)
    corpus = shutil.copytree(inputs["corpus"], tmp_path / "corpus")
    tweets = corpus / "tweets_GroundTruth.txt"
    tweets.write_bytes(tweets.read_bytes() + b"99\t3.1\tA brand new, very happy sentence!\r\n")
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(corpus))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(inputs["base"] / "cache"))
    run = build_figures(out, model=str(inputs["model"]), progress=False, params=_params(inputs))["run"]
    assert sorted(run["steps_run"]) == ["attributions", "backprop", "checklist", "evaluation", "heads"]
    assert sorted(run["steps_reused"]) == ["architecture", "experiments", "explorer", "live_model", "math", "model", "training"]
    assert run["model_loads"] == 1


def test_a_damaged_or_missing_file_is_regenerated(cold_builds: tuple[Path, Path], inputs: dict[str, Path],
                                                  tmp_path: Path, in_process_env: None) -> None:
    out = tmp_path / "figures"
    shutil.copytree(cold_builds[0], out)
    reference = {n: (out / n).read_bytes() for n in published_files(out)}
    heatmap = out / "attention_heatmap.svg"
    heatmap.write_bytes(heatmap.read_bytes()[: heatmap.stat().st_size // 2])  # a half-written file
    (out / "softmax_temperature.json").unlink()
    run = build_figures(out, model=str(inputs["model"]), progress=False, params=_params(inputs))["run"]
    assert sorted(run["steps_run"]) == ["math", "model"]
    assert {n: (out / n).read_bytes() for n in published_files(out)} == reference


def test_each_step_is_keyed_on_the_source_it_ran(cold_builds: tuple[Path, Path], inputs: dict[str, Path],
                                                tmp_path: Path, in_process_env: None) -> None:
    built_alone = json.loads((cold_builds[1] / MANIFEST_NAME).read_text())["steps"]  # the child process's build
    assert "figures/math_figures.py" in built_alone["math"]["sources"]
    assert "model/loading.py" not in built_alone["math"]["sources"]  # an edit there leaves the math figures alone
    assert "model/loading.py" in built_alone["model"]["sources"]
    assert "figures/explorer/explorer.js" in built_alone["explorer"]["sources"]
    # A recorded source hash that no longer matches (as after an edit) reruns that step only.
    out = shutil.copytree(cold_builds[0], tmp_path / "figures")
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    manifest["steps"]["training"]["sources"]["figures/training_figures.py"] = "0" * 64
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    run = build_figures(out, model=str(inputs["model"]), progress=False, params=_params(inputs))["run"]
    assert run["steps_run"] == ["training"] and run["model_loads"] == 0


def test_a_garbled_manifest_means_a_full_rebuild(cold_builds: tuple[Path, Path], inputs: dict[str, Path],
                                                 tmp_path: Path, in_process_env: None) -> None:
    out = tmp_path / "figures"
    shutil.copytree(cold_builds[0], out)
    (out / MANIFEST_NAME).write_text('{"format": 1, "steps": {"math": ', encoding="utf-8")
    run = build_figures(out, model=str(inputs["model"]), progress=False, params=_params(inputs), steps=["math", "training"])["run"]
    assert run["steps_run"] == ["math", "training"]


def test_the_model_fingerprint_follows_the_files_without_loading_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers_models import config_bytes, place_in_hub_cache

    from roberta_math.figures.cache import model_directory, model_fingerprint

    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HOME", raising=False)
    snapshot = place_in_hub_cache(cache, "org/tiny", {"config.json": config_bytes(model_type="roberta"), "model.safetensors": b"w1"})
    assert model_directory("org/tiny") == snapshot
    first = model_fingerprint("org/tiny")
    # A new revision with the same files (refs/main now names it): same fingerprint.
    place_in_hub_cache(cache, "org/tiny", {"config.json": config_bytes(model_type="roberta"), "model.safetensors": b"w1"}, revision="b" * 40)
    assert model_directory("org/tiny").name == "b" * 40
    assert model_fingerprint("org/tiny") == first
    place_in_hub_cache(cache, "org/tiny", {"config.json": config_bytes(model_type="roberta"), "model.safetensors": b"w2"}, revision="c" * 40)
    assert model_fingerprint("org/tiny") != first  # new weights, new fingerprint
    assert model_fingerprint("org/not-downloaded") is None


# --------------------------------------------------------------------------- the MkDocs hook


def _load_hook():
    spec = importlib.util.spec_from_file_location("figures_hook_under_test", ROOT / "hooks" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _mkdocs_config(tmp_path: Path):
    """A real MkDocs configuration with the hook registered, as mkdocs.yml would list it."""
    from mkdocs.config import load_config

    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "index.md").write_text("# Home\n", encoding="utf-8")
    config_file = tmp_path / "mkdocs.yml"
    config_file.write_text(
        f"site_name: test\ndocs_dir: docs\nsite_dir: site\nhooks:\n  - {ROOT / 'hooks' / 'figures.py'}\n"
        "markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [docs]\n",
        encoding="utf-8",
    )
    return load_config(config_file=str(config_file))


def test_the_hook_fails_the_build_with_the_real_error(inputs: dict[str, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.exceptions import PluginError

    hook = _load_hook()
    model = shutil.copytree(inputs["model"], tmp_path / "model")
    monkeypatch.setenv("ROBERTA_MATH_MODEL", str(model))
    monkeypatch.setenv("ROBERTA_MATH_FIGURES_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("ROBERTA_MATH_CORPUS", str(inputs["corpus"]))
    monkeypatch.setenv("ROBERTA_MATH_CACHE", str(inputs["base"] / "cache"))

    # A damaged training log: the step refuses it with a one-line error naming the file.
    (model / "training_log.json").write_text('{"stages": {', encoding="utf-8")
    with pytest.raises(PluginError) as refused:
        hook.on_pre_build(None)
    message = str(refused.value)
    assert "exit status 2" in message
    assert f"{model / 'training_log.json'} is not valid JSON" in message

    # A log the plotting code trips over: the build fails with the subprocess's traceback.
    log = json.loads((inputs["model"] / "training_log.json").read_text())
    log["stages"]["finetune_pretrained"]["epochs"][0]["validation"] = "not a dict"
    (model / "training_log.json").write_text(json.dumps(log), encoding="utf-8")
    with pytest.raises(PluginError) as crashed:
        hook.on_pre_build(None)
    message = str(crashed.value)
    assert "exit status 1" in message
    assert "Traceback" in message and "training_figures.py" in message and "TypeError" in message


def test_the_hook_publishes_the_built_files_without_touching_docs(cold_builds: tuple[Path, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.structure.files import Files

    out = shutil.copytree(cold_builds[0], tmp_path / "build" / "figures")
    monkeypatch.setenv("ROBERTA_MATH_FIGURES_DIR", str(tmp_path / "build"))
    config = _mkdocs_config(tmp_path)
    config = config.plugins.on_config(config)  # MkDocs's own event dispatch, as in a build
    assert config["mdx_configs"]["pymdownx.snippets"]["base_path"][-1] == str(out.parent)
    files = config.plugins.on_files(Files([]), config=config)
    published = {f.src_uri: f.abs_src_path for f in files}
    expected = [n for n in published_files(out) if not n.endswith(".md")]
    assert sorted(published) == sorted(f"figures/{n}" for n in expected)
    assert all(Path(path).parent == out for path in published.values())
    assert "figures/token_table.md" not in published  # snippets are included, not pages
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["index.md"]


def test_a_disabled_hook_builds_nothing_and_publishes_only_what_exists(cold_builds: tuple[Path, Path], tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.structure.files import Files

    monkeypatch.setenv("ROBERTA_MATH_FIGURES", "0")
    monkeypatch.setenv("ROBERTA_MATH_MODEL", str(tmp_path / "no-such-model"))  # a build would fail on it
    # Nothing built before: nothing published, nothing created.
    monkeypatch.setenv("ROBERTA_MATH_FIGURES_DIR", str(tmp_path / "never"))
    config = _mkdocs_config(tmp_path)
    config = config.plugins.on_config(config)
    assert config["mdx_configs"]["pymdownx.snippets"]["base_path"] == ["docs"]
    config.plugins.on_pre_build(config=config)
    assert len(config.plugins.on_files(Files([]), config=config)) == 0
    assert not (tmp_path / "never").exists()
    # An earlier build: its files are published as they are, without running anything.
    out = shutil.copytree(cold_builds[0], tmp_path / "earlier" / "figures")
    before = (out / MANIFEST_NAME).read_bytes()
    monkeypatch.setenv("ROBERTA_MATH_FIGURES_DIR", str(out.parent))
    config = _mkdocs_config(tmp_path)
    config = config.plugins.on_config(config)
    config.plugins.on_pre_build(config=config)
    files = config.plugins.on_files(Files([]), config=config)
    assert "figures/explorer.json" in {f.src_uri for f in files}
    assert (out / MANIFEST_NAME).read_bytes() == before

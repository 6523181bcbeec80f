"""The wheel a reader installs: what it holds, and that it works outside the source tree.

``python -m build`` runs on a copy of the package's sources; the wheel is installed with
``--no-deps`` into a fresh virtual environment outside the repository. The environment
reaches the dependencies already installed for this interpreter (torch, transformers, ...)
through a ``.pth`` line, written only after the install, so the editable install of this
checkout is never seen (a ``.pth`` line adds a directory without running its ``.pth``
files) and pip never touches it. Then the reader's three first steps run in that
environment, from a directory outside the repository: the command line, an import, and a
page snippet, each checked against what the site shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "roberta_math"
pytestmark = pytest.mark.slow


def page_block(page: str, first_line: str) -> str:
    """The text of the ```pycon block of ``docs/<page>`` whose first line is ``first_line``."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    # A block may sit indented inside an admonition: match its fence's indent and strip it.
    for match in re.finditer(r"^( *)```pycon\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
        block = textwrap.dedent(match.group(2))
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no pycon block starting with {first_line!r} in docs/{page}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    dist = base / "dist"
    # sdist first, then the wheel built from the unpacked sdist (python -m build's default).
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                   check=True, capture_output=True, text=True, cwd=base)
    (wheel,) = dist.glob("roberta_math-*.whl")
    (sdist,) = dist.glob("roberta_math-*.tar.gz")
    return {"base": base, "wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(built: dict[str, Path]) -> Path:
    env = built["base"] / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(built["wheel"])], check=True, capture_output=True, text=True)
    # Only now: the dependencies of this interpreter's environment, after the venv's own site-packages.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return env


def run(venv: Path, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_wheel_holds_the_package_and_its_data_and_nothing_else(built: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    for data in ("model/embedded/model.safetensors", "model/embedded/tokenizer.json", "model/embedded/config.json",
                 "model/embedded/metrics.json", "figures/explorer/explorer.js", "figures/explorer/explorer.css",
                 "experiments/results.json", "py.typed"):
        assert f"roberta_math/{data}" in names, data
    # Every module of the source tree is in it.
    modules = {f"roberta_math/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")}
    assert modules <= names, sorted(modules - names)[:5]
    assert {name.split("/")[0] for name in names} == {"roberta_math", built["wheel"].name.split("-py3")[0] + ".dist-info"}
    assert not [n for n in names if n.startswith(("tests/", "docs/")) or "/tests/" in n or "conftest" in n]
    assert not [n for n in names if n.endswith((".pyc", ".egg-info"))]
    # The embedded model is the one deliberate binary, under the 8 MB cap.
    size = zipfile.ZipFile(built["wheel"]).getinfo("roberta_math/model/embedded/model.safetensors").file_size
    assert size == (PACKAGE / "model" / "embedded" / "model.safetensors").stat().st_size < 8 * 2**20


def test_the_sdist_builds_the_same_package(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as archive:
        names = archive.getnames()
    root = names[0].split("/")[0]
    assert f"{root}/pyproject.toml" in names
    assert f"{root}/src/roberta_math/model/embedded/model.safetensors" in names
    assert not [n for n in names if n.startswith((f"{root}/tests/", f"{root}/docs/"))]


def test_the_import_comes_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    out = run(venv, str(venv / "bin" / "python"), "-c",
              "import json, sys, roberta_math; print(json.dumps([roberta_math.__file__, roberta_math.__version__, sys.path]))",
              cwd=tmp_path)
    location, version, path = json.loads(out)
    assert Path(location).is_relative_to(venv), location
    assert version == "0.1.0"
    # The checkout is not on the path (the dependencies' directory may live under it, in .venv).
    assert not [p for p in path if p and Path(p).resolve() in (ROOT, ROOT / "src")], path


def test_predict_prints_what_the_page_shows(venv: Path, tmp_path: Path) -> None:
    # docs/reproduce.md shows main(["predict", ...]) on these two sentences, as a table.
    block = page_block("reproduce.md", '>>> from roberta_math.cli import main\n>>> main(["predict"')
    shown = {}
    for line in block.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[0] in ("negative", "neutral", "positive"):
            shown[parts[4]] = (parts[0], [float(x) for x in parts[1:4]])
    assert len(shown) == 2
    out = run(venv, str(venv / "bin" / "roberta-math"), "predict", "--json", *shown, cwd=tmp_path)
    for row in json.loads(out):
        label, probabilities = shown[row["text"]]
        assert row["label"] == label
        assert [round(row["scores"][k], 4) for k in ("negative", "neutral", "positive")] == probabilities


def test_a_page_snippet_gives_the_pages_output(venv: Path, tmp_path: Path) -> None:
    # docs/index.md: the shipped model's training record, read from the installed package.
    block = page_block("index.md", ">>> import json\n>>> from roberta_math.model.loading import EMBEDDED_DIR")
    snippet = tmp_path / "snippet.txt"
    snippet.write_text(block, encoding="utf-8")
    out = run(venv, str(venv / "bin" / "python"), "-m", "doctest", "-v", str(snippet), cwd=tmp_path)
    assert "Test passed." in out and "0 failed" in out

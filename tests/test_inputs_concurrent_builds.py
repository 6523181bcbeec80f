"""Two ``roberta-math figures`` runs at once on one output directory: both succeed, the cache stays valid.

The runs are real processes (the lock is an OS file lock, which threads of one process
would not exercise). Small parameters keep the math step to a few seconds. They run a
private copy of the package, so that the cache's source hashes cannot change under the
test while the working tree is being edited.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from roberta_math.figures import cache

SMALL = {"random_qk_samples": 400, "random_qk_dims": [1, 4, 16]}


def start(out: Path, params: Path, *steps: str) -> subprocess.Popen[str]:
    package_copy = params.parent / "src"
    argv = [sys.executable, "-m", "roberta_math", "figures", "--out", str(out), "--params", str(params), "--no-progress", "--json"]
    for step in steps:
        argv += ["--step", step]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(package_copy)}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return json.loads(out)


def assert_cache_valid(out: Path, steps: set[str]) -> None:
    manifest = cache.read_manifest(out)
    assert manifest["run"]["steps_run"] or manifest["run"]["steps_reused"]  # a finished run wrote it
    assert set(manifest["steps"]) == steps
    for entry in manifest["steps"].values():
        assert entry["files"], entry
        for name, digest in entry["files"].items():
            assert cache.sha256_file(out / name) == digest, name
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.slow
def test_two_builds_at_once_both_succeed_and_leave_a_valid_cache(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    params = tmp_path / "params.json"
    params.write_text(json.dumps(SMALL))
    shutil.copytree(cache.PACKAGE_ROOT, tmp_path / "src" / "roberta_math", ignore=shutil.ignore_patterns("__pycache__"))
    where = subprocess.run([sys.executable, "-c", "import roberta_math; print(roberta_math.__file__)"], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(tmp_path / "src")}, check=True).stdout
    assert where.startswith(str(tmp_path))  # the runs below use the copy

    # Three runs at once: the same step twice (one builds it, the other waits for the lock and
    # reuses it) and another step (whose manifest entry must survive the other two).
    processes = [start(out, params, "math"), start(out, params, "math"), start(out, params, "experiments")]
    runs = [finish(p) for p in processes]
    assert sorted(len(r["run"]["steps_run"]) for r in runs[:2]) == [0, 1]
    assert_cache_valid(out, {"math", "experiments"})

    # A fourth run finds everything valid and builds nothing.
    again = finish(start(out, params, "math", "experiments"))
    assert again["run"]["steps_run"] == [] and sorted(again["run"]["steps_reused"]) == ["experiments", "math"]

"""The site builds with no network at all, from the embedded model and a cached corpus.

The build runs in a new network namespace (``unshare -n``, as root) whose only
interface is loopback: the test first proves that nothing outside is reachable from
inside, then runs the same ``mkdocs build --strict`` as the README, with a fresh figure
cache so every figure is really recomputed offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNSHARE = shutil.which("unshare")
IN_CI = os.environ.get("CI") == "true"

PROBE = (
    "import socket\n"
    "try:\n"
    "    socket.create_connection(('pypi.org', 443), timeout=5)\n"
    "except OSError as exc:\n"
    "    print('offline:', type(exc).__name__)\n"
    "else:\n"
    "    print('ONLINE')\n"
)


def _offline(command: str, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    # loopback up: the notebook's kernel talks to nbclient over 127.0.0.1
    return subprocess.run(
        [UNSHARE, "-n", "sh", "-c", f"ip link set lo up && {command}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def _can_unshare() -> bool:
    if UNSHARE is None or os.geteuid() != 0:
        return False
    return subprocess.run([UNSHARE, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.slow
def test_site_builds_without_network(tmp_path: Path) -> None:
    if not _can_unshare():
        if IN_CI:
            pytest.fail("CI runs as root and must be able to remove the network with `unshare -n`")
        pytest.skip("needs root and unshare(1) to remove the network")
    from roberta_math.data.corpus import corpus_dir

    corpus = corpus_dir()  # fetched once (online) before the offline part starts
    env = dict(os.environ)
    env.update(
        ROBERTA_MATH_CORPUS=str(corpus),
        ROBERTA_MATH_CACHE=str(tmp_path / "cache"),  # nothing computed before: all figures redone
        HF_HUB_OFFLINE="0",  # do not even tell transformers it is offline: the namespace does
        NO_MKDOCS_2_WARNING="1",
    )
    probe = _offline(f"{sys.executable} -c \"{PROBE}\"", env, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("offline:"), f"network still reachable: {probe.stdout}"

    mkdocs = Path(sys.executable).with_name("mkdocs")
    site = tmp_path / "site"
    build = _offline(f"{mkdocs} build --strict --site-dir {site}", env, timeout=900)
    assert build.returncode == 0, build.stderr[-4000:]
    assert (site / "index.html").is_file()
    assert any((site / "figures").glob("*.svg")), "no figure was produced offline"

"""Fixtures for the built-site tests: the site, built once per session, and a server.

Set ``ROBERTA_MATH_SITE_DIR`` to a site that is already built (CI builds once with
``scripts/build_site.sh`` and points the tests at ``site/``); otherwise the first test
that needs the site builds it with ``mkdocs build --strict`` into a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from site_pages import EXTERNAL_LINKS, PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT))
from site_tools.browser import serve  # noqa: E402

SITE_DIR_ENV = "ROBERTA_MATH_SITE_DIR"
# pytest still loads this file as a conftest; this only stops --doctest-modules from
# importing it a second time as a module named "conftest" (which clashes with the
# other conftest.py files of the suite).
collect_ignore = ["conftest.py"]


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$ROBERTA_MATH_SITE_DIR``, or a fresh strict build."""
    given = os.environ.get(SITE_DIR_ENV)
    if given:
        path = Path(given)
        if not (path / "index.html").is_file():
            pytest.fail(f"{SITE_DIR_ENV}={given} holds no built site (no index.html)")
        return path
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{build.stderr[-4000:]}")
    return out


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """The built site served by a thread of this process on 127.0.0.1 (a free port)."""
    with serve(site_dir) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(site_url: str) -> Iterator[Any]:
    """One headless Chromium per test module (Playwright's sync API allows one at a time).

    It asks for ``site_url`` so the server is up before the browser starts. Skips (or, on
    CI, fails) when Chromium or Playwright is missing, as ``test_browser`` decides.
    """
    from test_browser import _require_browser

    _require_browser()
    from playwright.sync_api import sync_playwright

    from site_tools import browser

    with sync_playwright() as p:
        launched = browser.launch(p)
        yield launched
        launched.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the outbound links the pages carry (allowed, never fetched by the tests)."""
    if EXTERNAL_LINKS:
        terminalreporter.write_sep("-", f"outbound links on the site ({len(EXTERNAL_LINKS)}, not fetched)")
        for url, pages in sorted(EXTERNAL_LINKS.items()):
            terminalreporter.write_line(f"{url}  <- {', '.join(sorted(pages))}")

"""Every page of the built site in a real browser (Debian's Chromium through Playwright).

Per page: no console error, no uncaught exception, no response >= 400, no request to
any host but the local server (such requests are also blocked, so the test never
touches the network), every image loaded, KaTeX present where the source has math
and its fonts loaded, no TeX left in the visible text. And search finds the softmax
page. Without /usr/bin/chromium these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from htmlscan import UNRENDERED_TEX
from site_pages import PROJECT_ROOT, source_has_math, source_pages

sys.path.insert(0, str(PROJECT_ROOT))
from site_tools.browser import CHROMIUM, launch  # noqa: E402

pytestmark = pytest.mark.browser

PAGES = [*source_pages(), "404.html"]

# Visible text outside code and rendered math, as the reader sees it.
VISIBLE_PROSE_JS = """() => {
  const skip = "script, style, noscript, template, pre, code, kbd, samp, textarea, .katex";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !n.textContent.trim()) continue;
    if (el.getClientRects().length === 0) continue;  // not rendered (hidden)
    out.push(n.textContent);
  }
  return out;
}"""
BROKEN_IMAGES_JS = """() => [...document.images]
  .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.currentSrc || img.src)"""
MATH_JS = """async () => {
  await document.fonts.ready;
  const faces = [...document.fonts].filter(f => f.family.replace(/"/g, "").startsWith("KaTeX"));
  return {
    katex: document.querySelectorAll(".katex").length,
    errors: [...document.querySelectorAll(".katex-error")].map(e => e.title || e.textContent),
    fontsLoaded: faces.filter(f => f.status === "loaded").length,
    fontsFailed: faces.filter(f => f.status === "error").map(f => f.family),
  };
}"""


def _missing_browser_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright; never `playwright install`)"
    return None


def _require_browser() -> None:
    reason = _missing_browser_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def test_chromium_is_available() -> None:
    """Fails (does not skip) in CI when the browser is missing."""
    _require_browser()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any, site_url: str) -> Iterator[tuple[Any, dict[str, list[str]]]]:
    """A fresh page that records every problem the browser reports."""
    server = urlsplit(site_url).netloc
    problems: dict[str, list[str]] = {"console": [], "pageerror": [], "http": [], "foreign": []}
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def only_local(route: Any) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https") and url.netloc != server:
            problems["foreign"].append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems["console"].append(f"{m.text} @ {m.location}"))
    page.on("pageerror", lambda e: problems["pageerror"].append(str(e)))
    page.on("response", lambda r: r.status >= 400 and problems["http"].append(f"{r.status} {r.url}"))
    yield page, problems
    context.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_with_math_rendered(
    tab: tuple[Any, dict[str, list[str]]], site_url: str, page_path: str
) -> None:
    page, problems = tab
    response = page.goto(site_url + page_path, wait_until="networkidle")
    assert response is not None
    # The 404 page is served as a file here (http.server does not map misses to it).
    assert response.status == 200
    math = page.evaluate(MATH_JS)
    prose = page.evaluate(VISIBLE_PROSE_JS)
    broken_images = page.evaluate(BROKEN_IMAGES_JS)

    assert problems == {"console": [], "pageerror": [], "http": [], "foreign": []}
    assert broken_images == []
    assert math["errors"] == []
    leftover = sorted({m.group(0) for text in prose for m in UNRENDERED_TEX.finditer(text)})
    assert leftover == [], [t for t in prose if UNRENDERED_TEX.search(t)][:5]
    if source_has_math(page_path):
        assert math["katex"] > 0
        assert math["fontsLoaded"] > 0, "KaTeX's fonts did not load"
    assert math["fontsFailed"] == []


def test_search_finds_the_softmax_page(tab: tuple[Any, dict[str, list[str]]], site_url: str) -> None:
    page, problems = tab
    page.goto(site_url, wait_until="networkidle")
    search = page.locator("input.md-search__input")
    search.click()
    # Typed key by key, as a reader would: Material searches on keyboard events.
    search.press_sequentially("softmax", delay=30)
    first = page.locator(".md-search-result__item a").first
    first.wait_for(timeout=10_000)
    hrefs = page.locator(".md-search-result__item a").evaluate_all("els => els.map(e => e.href)")
    assert any(urlsplit(h).path == "/softmax/" for h in hrefs), hrefs
    assert urlsplit(hrefs[0]).path == "/softmax/", f"softmax is not the first result: {hrefs[:5]}"
    assert problems == {"console": [], "pageerror": [], "http": [], "foreign": []}

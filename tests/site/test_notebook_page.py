"""The notebook's page as a reader sees it: the .ipynb is one click away, the outputs show
no path of the machine that built the site and no kernel warning, the printed functions are
code (not their LaTeX docstrings), and each figure has a description and labels of at least
10 px at the width the page shows it on a desktop."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from site_pages import PROJECT_ROOT
from test_browser import _require_browser

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1400, "height": 900}
MIN_LABEL_PX = 10

OUTPUTS_JS = """() => [...document.querySelectorAll('.jp-OutputArea-output')].map(o => ({
  mime: o.getAttribute('data-mime-type') || '', text: o.innerText }))"""

FIGURES_JS = """() => [...document.querySelectorAll('.md-content .jp-OutputArea-output img')].map(i => ({
  alt: i.getAttribute('alt') || '', natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
  fontPx: parseFloat(i.dataset.fontPx || 'NaN') }))"""


@pytest.fixture(scope="module")
def notebook_page(site_url: str) -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    from site_tools import browser

    with sync_playwright() as p:
        launched = browser.launch(p)
        page = launched.new_context(viewport=DESKTOP).new_page()
        page.goto(site_url + "notebook/", wait_until="networkidle")
        page.evaluate("document.fonts.ready")
        yield page
        launched.close()


def test_the_page_links_the_notebook_file(notebook_page: Any) -> None:
    links = notebook_page.locator(".md-content a[href$='.ipynb']")
    assert links.count() >= 1, "no link to the .ipynb on the notebook's page"
    href = links.first.evaluate("a => a.href")
    with urllib.request.urlopen(href) as response:  # the local test server
        notebook = json.loads(response.read())
    assert notebook["nbformat"] == 4
    assert notebook["cells"][0]["source"][0].startswith("# RoBERTa Sentiment Analysis: Mathematical Breakdown")


def test_outputs_show_no_build_paths_or_warnings(notebook_page: Any) -> None:
    outputs = notebook_page.evaluate(OUTPUTS_JS)
    assert outputs, "no cell outputs on the notebook's page: was it executed?"
    warnings = [o["text"][:200] for o in outputs if "stderr" in o["mime"]]
    assert not warnings, f"red warning blocks on the page: {warnings}"
    text = "\n".join(o["text"] for o in outputs)
    leaked = [place for place in (str(PROJECT_ROOT), "/tmp/", "ipykernel", "site-packages", "/root/", "/home/") if place in text]
    assert not leaked, f"the outputs show local paths: {leaked}"


def test_printed_functions_are_code_not_latex(notebook_page: Any) -> None:
    text = "\n".join(o["text"] for o in notebook_page.evaluate(OUTPUTS_JS))
    for name in ("self_attention", "cross_entropy_loss"):
        assert f"def {name}(" in text, f"{name}'s code is not printed"
    latex = re.findall(r"\$\$|\\operatorname|\\frac|>>> ", text)
    assert not latex, f"docstring markup in the outputs: {sorted(set(latex))}"


def test_figures_are_described_and_readable(notebook_page: Any) -> None:
    figures = notebook_page.evaluate(FIGURES_JS)
    assert len(figures) >= 2, "the toy attention map and the heads of the model"
    for figure in figures:
        assert len(figure["alt"]) >= 80 and "No description" not in figure["alt"], figure["alt"]
        shown_px = figure["fontPx"] * figure["shown"] / figure["natural"]
        assert shown_px >= MIN_LABEL_PX, (
            f"smallest label {shown_px:.1f} px at {figure['shown']:.0f} of {figure['natural']} px: "
            f"{figure['alt'][:60]}")

"""Static checks over every page of the built site (no browser).

Each page: math rendered (no TeX left in the visible text, no KaTeX error element, no
arithmatex wrapper left unrendered, KaTeX present where the source has math), nothing
loaded from another host, every internal link and ``#anchor`` resolves. Stylesheets:
every ``url()`` is local and exists. Outbound ``<a href="https://...">`` links are
allowed only to the hosts of site_pages.ALLOWED_EXTERNAL_LINKS; they are listed at the
end of the run, never fetched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from htmlscan import (
    UNRENDERED_TEX,
    PageScan,
    broken_links,
    external_resources,
    is_external,
    math_problems,
    resolve,
    unknown_outbound_links,
    scan_html,
    stylesheet_problems,
    url_path_of,
)
from site_pages import EXTERNAL_LINKS, allowed_external_links, page_file, source_has_math, source_pages

PAGES = [*source_pages(), "404.html"]

_scans: dict[Path, PageScan] = {}


def scanned(path: Path) -> PageScan:
    if path not in _scans:
        _scans[path] = scan_html(path.read_text(encoding="utf-8"))
    return _scans[path]


def test_every_nav_page_is_built_and_nothing_else(site_dir: Path) -> None:
    built = {
        url_path_of(site_dir, f).lstrip("/")
        for f in site_dir.rglob("*.html")
        if f.relative_to(site_dir).parts[0] != "assets"
    }
    assert built == set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_math_is_rendered(site_dir: Path, page: str) -> None:
    problems = math_problems(scanned(page_file(site_dir, page)), source_has_math(page))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_loaded_from_another_host(site_dir: Path, page: str) -> None:
    scan = scanned(page_file(site_dir, page))
    problems = external_resources(scan)
    assert not problems, "\n".join(problems)
    for tag, _attr, url in scan.refs:
        if tag == "a" and is_external(url):
            EXTERNAL_LINKS[url].add(page or "index")


@pytest.mark.parametrize("page", PAGES)
def test_outbound_links_go_only_to_allowed_hosts(site_dir: Path, page: str) -> None:
    """A link to another host must be in site_pages.ALLOWED_EXTERNAL_LINKS (or be the
    repository of ``$ROBERTA_MATH_REPO_URL``): no page links a repository that is not
    this project's, and the tests a page cites are shown on the site (docs/tests.md)."""
    problems = unknown_outbound_links(scanned(page_file(site_dir, page)), allowed_external_links())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_anchors_resolve(site_dir: Path, page: str) -> None:
    problems = broken_links(site_dir, page_file(site_dir, page), _scans)
    assert not problems, "\n".join(problems)


def test_stylesheets_load_only_local_files_that_exist(site_dir: Path) -> None:
    assert (site_dir / "assets/katex/katex.min.css").is_file(), "KaTeX's stylesheet was not copied"
    problems = stylesheet_problems(site_dir)
    assert not problems, "\n".join(problems)


def test_katex_stylesheet_is_linked_from_every_page(site_dir: Path) -> None:
    missing = []
    for page in PAGES:
        path = page_file(site_dir, page)
        base = url_path_of(site_dir, path)
        sheets = [resolve(site_dir, base, url)[0] for tag, _a, url in scanned(path).refs if tag == "link"]
        if not any(s is not None and s.name == "katex.min.css" for s in sheets):
            missing.append(page or "index")
    assert not missing, f"pages without KaTeX's stylesheet: {missing}"


def test_search_index_holds_no_raw_tex_outside_code(site_dir: Path) -> None:
    """Search previews show the index's text: math there must be KaTeX's MathML text
    (hooks/katex.py marks rendered math for Material's indexer), never the TeX source."""
    index = json.loads((site_dir / "search/search_index.json").read_text(encoding="utf-8"))
    problems = []
    for doc in index["docs"]:
        prose = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", doc["text"], flags=re.DOTALL)
        problems += [f"{doc['location']}: {m.group(0)!r}" for m in UNRENDERED_TEX.finditer(prose)]
    assert not problems, problems[:10]

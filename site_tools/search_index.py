r"""Keep code blocks out of the site's search index.

Material's search plugin writes one ``search/search_index.json`` for the whole site, and
every page's search worker fetches it on load. Code blocks were about half of its text
(the doctests of every page, the test files included on the Tests page, the API page's
examples and signatures); a reader finds a function by its name in the headings and the
prose, so the blocks carry little that search needs. Material's indexer skips an element
that has a ``data-search-exclude`` attribute: :func:`exclude_code_blocks` adds it to
every ``<pre>`` of a page's HTML, and to the docstrings that derivation pages repeat
from the API reference. Inline ``<code>`` in prose stays searchable.

    python -m site_tools.search_index SITE_DIR   # the index's size and its share of code

The hook ``hooks/search_index.py`` calls :func:`exclude_code_blocks` for every page.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path

_PRE = re.compile(r"<pre(?=[\s>])(?![^>]*\bdata-search-exclude\b)")
_DOCSTRING = re.compile(r'<div(?= class="doc doc-contents[ "])(?![^>]*\bdata-search-exclude\b)')


def exclude_code_blocks(html: str, *, api_reference: bool = True) -> str:
    """Mark every ``<pre>`` element of ``html`` with ``data-search-exclude`` (once).

    On a page other than the API reference (``api_reference=False``), the bodies of the
    docstrings that mkdocstrings renders there (``<div class="doc doc-contents">``) are
    marked too: the API reference holds the same text, so the index keeps it once; the
    function's heading stays in the index and leads to the derivation page as well.

    >>> exclude_code_blocks('<p>x</p><pre><code>a = 1</code></pre><pre class="x">b</pre>')
    '<p>x</p><pre data-search-exclude><code>a = 1</code></pre><pre data-search-exclude class="x">b</pre>'
    >>> exclude_code_blocks('<pre data-search-exclude>a</pre><preview>')  # marked already; not a <pre>
    '<pre data-search-exclude>a</pre><preview>'
    >>> doc = '<div class="doc doc-contents first"><p>Softmax.</p></div>'
    >>> exclude_code_blocks(doc) == doc, exclude_code_blocks(doc, api_reference=False)
    (True, '<div data-search-exclude class="doc doc-contents first"><p>Softmax.</p></div>')
    """
    html = _PRE.sub("<pre data-search-exclude", html)
    return html if api_reference else _DOCSTRING.sub("<div data-search-exclude", html)


def index_summary(site_dir: Path) -> dict[str, int]:
    """Bytes of ``search/search_index.json``, its entries, and the characters of ``<pre>`` text left in it."""
    path = site_dir / "search" / "search_index.json"
    index = json.loads(path.read_text(encoding="utf-8"))
    code = sum(len(m) for doc in index["docs"] for m in re.findall(r"<pre>.*?</pre>", doc["text"], re.S))
    return {"bytes": path.stat().st_size, "entries": len(index["docs"]), "code_characters": code}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Size of a built site's search index and the code left in it.")
    parser.add_argument("site_dir", type=Path)
    args = parser.parse_args(argv)
    summary = index_summary(args.site_dir)
    print(f"{summary['bytes']} bytes, {summary['entries']} entries, {summary['code_characters']} characters of code")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

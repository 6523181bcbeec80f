"""The search index every page loads: no code blocks in it, the pages' names and prose still in it.

``hooks/search_index.py`` marks each ``<pre>`` for Material's indexer to skip; code blocks
were about half of the index's text.
"""

from __future__ import annotations

import json
from pathlib import Path

from site_tools.search_index import index_summary


def _index(site_dir: Path) -> dict:
    return json.loads((site_dir / "search/search_index.json").read_text(encoding="utf-8"))


def test_the_index_holds_no_code_block(site_dir: Path) -> None:
    summary = index_summary(site_dir)
    assert summary["code_characters"] == 0
    with_code = [doc["location"] for doc in _index(site_dir)["docs"] if "<pre>" in doc["text"]]
    assert with_code == []


def test_the_pages_still_show_their_code(site_dir: Path) -> None:
    page = (site_dir / "softmax" / "index.html").read_text(encoding="utf-8")
    assert page.count("<pre data-search-exclude") >= 5  # the blocks are there, only marked
    assert 'class="n">temperature</span>' in page  # highlighted code, still on the page


def test_functions_and_prose_stay_searchable(site_dir: Path) -> None:
    docs = _index(site_dir)["docs"]
    titles = " ".join(doc["title"] for doc in docs)
    text = " ".join(doc["text"] for doc in docs)
    for name in ("classify_from_scratch", "split_heads", "layer_norm", "softmax"):
        assert name in titles, name
    assert "temperature" in text and "LayerNorm" in text


def test_docstrings_are_indexed_once_on_the_api_page(site_dir: Path) -> None:
    docs = {doc["location"]: doc for doc in _index(site_dir)["docs"]}
    name = "roberta_math.math.attention.split_heads"
    assert "heads" in docs[f"api/#{name}"]["text"]
    # the derivation page keeps the heading (search leads there too), not a second copy of the text
    assert docs[f"multi-head-attention/#{name}"]["title"].endswith("split_heads")
    assert docs[f"multi-head-attention/#{name}"]["text"] == ""

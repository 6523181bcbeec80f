"""MkDocs hook: keep code blocks out of the search index that every page loads.

Thin on purpose: the work is ``site_tools/search_index.py``. Runs on each page's HTML,
before Material's search plugin reads it in ``on_page_context``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from site_tools import search_index


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return search_index.exclude_code_blocks(html, api_reference=page.file.src_uri == "api.md")

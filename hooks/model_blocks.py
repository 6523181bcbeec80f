"""MkDocs hook: drop the ``embedded-model`` blocks of every page when another model builds the site.

Thin on purpose: the work is ``site_tools/model_blocks.py``. Runs on each page's Markdown
before it is converted, so snippet includes inside the remaining text still work.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from site_tools import model_blocks


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return model_blocks.drop_embedded_blocks(markdown, model_blocks.site_model())

"""MkDocs hook: render every page's math with KaTeX at build time.

Thin on purpose: the work is in ``site_tools/katex_render.py``, which does not depend
on MkDocs. One Node process serves the whole build (and every rebuild of
``mkdocs serve``); a formula KaTeX rejects stops the build, naming page and formula.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink, TableOfContents

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from site_tools import katex_render  # noqa: E402

_renderer: katex_render.KatexRenderer | None = None


def _katex() -> katex_render.KatexRenderer:
    global _renderer
    if _renderer is None:
        _renderer = katex_render.KatexRenderer()
    return _renderer


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    where = page.file.src_uri
    try:
        if where.endswith(".ipynb"):
            # mkdocs-jupyter's markdown cells bypass arithmatex: mark their $...$ first.
            html = katex_render.mark_text_math(html)
        html = katex_render.render_math_in_html(html, _katex(), where)
        # Headings with math reach the table of contents as plain text (\(...\)).
        for item in _walk(page.toc):
            item.title = katex_render.render_math_in_text(item.title, _katex(), where)
    except katex_render.MathError as err:
        raise PluginError(str(err)) from None
    return html


def _walk(toc: TableOfContents | list[AnchorLink]) -> Iterator[AnchorLink]:
    for item in toc:
        yield item
        yield from _walk(item.children)


def on_post_build(config: MkDocsConfig) -> None:
    try:
        katex_render.copy_assets(Path(config["site_dir"]))
    except katex_render.MathError as err:
        raise PluginError(str(err)) from None


def on_shutdown() -> None:
    if _renderer is not None:
        _renderer.close()

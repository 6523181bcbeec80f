r"""Blocks of a page that hold only for the embedded model, and their removal otherwise.

A page states what *the site's model* does only through numbers the build generates
from that model (``--8<-- "figures/....md"`` snippets). Prose that interprets the
embedded model's own numbers goes in an admonition of type ``embedded-model``::

    !!! embedded-model "The embedded compact model"

        It reads "not bad" as negative ...

Such a block names the embedded model in its title and appears only when the embedded
model built the site: :func:`drop_embedded_blocks` removes it, body and all, from the
page's Markdown when another model (``ROBERTA_MATH_MODEL``) did. The hook
``hooks/model_blocks.py`` calls it for every page; the test
``tests/test_model_specific_pages.py`` builds the site with a second, random model and
checks that no such statement survives.
"""

from __future__ import annotations

import os
import re

BLOCK_TYPE = "embedded-model"
_OPENER = re.compile(rf"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+{re.escape(BLOCK_TYPE)}\b")


def site_model(environ: dict[str, str] | None = None) -> str:
    """The model the site is built with: ``$ROBERTA_MATH_MODEL``, or ``embedded``."""
    environ = os.environ if environ is None else environ
    return environ.get("ROBERTA_MATH_MODEL", "").strip() or "embedded"


def is_embedded(model: str) -> bool:
    """Whether ``model`` names the embedded model (``embedded``, or its folder in the package).

    >>> is_embedded("embedded"), is_embedded("roberta-base"), is_embedded("/tmp/tiny")
    (True, False, False)
    """
    if model == "embedded":
        return True
    from pathlib import Path

    embedded_dir = Path(__file__).resolve().parents[1] / "src" / "roberta_math" / "model" / "embedded"
    try:
        return Path(model).resolve() == embedded_dir.resolve()
    except OSError:
        return False


def embedded_blocks(markdown: str) -> list[str]:
    """The ``embedded-model`` blocks of a page's Markdown, each as its lines (opener included).

    >>> page = 'Intro.\\n\\n!!! embedded-model "The embedded model"\\n\\n    It has no sink heads.\\n\\nAfter.\\n'
    >>> embedded_blocks(page)
    ['!!! embedded-model "The embedded model"\\n\\n    It has no sink heads.\\n']
    """
    blocks, current, indent = [], None, ""
    for line in markdown.splitlines(keepends=True):
        if current is not None:
            stripped = line.strip()
            if not stripped or (len(line) - len(line.lstrip()) > len(indent)):
                current.append(line)
                continue
            blocks.append("".join(current).rstrip("\n") + "\n")
            current = None
        match = _OPENER.match(line)
        if match:
            current, indent = [line], match["indent"]
    if current is not None:
        blocks.append("".join(current).rstrip("\n") + "\n")
    return blocks


def drop_embedded_blocks(markdown: str, model: str) -> str:
    """The page's Markdown without its ``embedded-model`` blocks, unless ``model`` is the embedded one.

    >>> page = 'Intro.\\n\\n!!! embedded-model "The embedded model"\\n\\n    It has no sink heads.\\n\\nAfter.\\n'
    >>> drop_embedded_blocks(page, "embedded") == page
    True
    >>> print(drop_embedded_blocks(page, "/tmp/another-model"))
    Intro.
    <BLANKLINE>
    <BLANKLINE>
    After.
    <BLANKLINE>
    """
    if is_embedded(model):
        return markdown
    for block in embedded_blocks(markdown):
        markdown = markdown.replace(block, "", 1)
    return markdown

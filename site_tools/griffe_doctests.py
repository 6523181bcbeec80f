"""Griffe extension: show a docstring's bare ``>>>`` examples as ``pycon`` code blocks.

The package's docstrings keep their doctests as plain ``>>>`` lines (pytest runs them
with ``--doctest-modules``). Markdown would read ``>>>`` as three nested block quotes,
so before mkdocstrings renders a docstring, each run of lines that starts with
``>>>`` and ends at a blank line becomes a fenced ``pycon`` block. Lines already
inside a fence are left alone.

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); :func:`fence_doctests` is a
plain function that other tools can call.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """Wrap each doctest run of ``text`` in a ``pycon`` fence.

    >>> fence_doctests("Sum.\\n\\n>>> 1 + 1\\n2\\n\\nMore.").splitlines()
    ['Sum.', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'More.']
    """
    out: list[str] = []
    in_fence = False  # inside a ``` block the author wrote
    in_doctest = False  # inside a block this function opened
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        elif not in_doctest and stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            in_doctest = True
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Rewrite every docstring's doctests as fenced ``pycon`` blocks."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)

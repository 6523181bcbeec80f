"""Griffe extension: show the Sphinx roles of the package's docstrings as Markdown.

Several modules write inline math as :math:`x` and cross-references as :func:`~a.b`
(reStructuredText roles). Markdown would print them literally (":math:" followed by code),
so before mkdocstrings renders a docstring, :math:`x` becomes $x$ (rendered by KaTeX like
any other inline math) and :func:`~a.b` / :class:`a.b` / ... become `b` / `a.b` in code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_MATH = re.compile(r":math:`([^`]+)`")
_XREF = re.compile(r":(?:func|class|mod|meth|data|attr|exc|obj):`(~?)([^`]+)`")


def roles_to_markdown(text: str) -> str:
    """Rewrite :math: and cross-reference roles.

    >>> roles_to_markdown("With :math:`T_{\\\\max} = P - 2`, see :func:`~roberta_math.math.softmax.softmax`.")
    'With $T_{\\\\max} = P - 2$, see `softmax`.'
    >>> roles_to_markdown(":class:`roberta_math.errors.UserError`")
    '`roberta_math.errors.UserError`'
    """
    text = _MATH.sub(lambda m: f"${m[1]}$", text)
    return _XREF.sub(lambda m: f"`{m[2].rsplit('.', 1)[-1] if m[1] else m[2]}`", text)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring's Sphinx roles as Markdown."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles_to_markdown(obj.docstring.value)

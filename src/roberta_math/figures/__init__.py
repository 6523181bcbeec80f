"""Every figure of the site, produced by running the model and the package's own code.

``python -m roberta_math.figures --out DIR`` (or ``roberta-math figures``) writes SVG
figures, the JSON data behind them, Markdown table snippets and the attention
explorer's assets into ``DIR``, with a ``manifest.json`` recording each file's SHA-256.
A rebuild whose inputs (package source, model files, corpus, figure parameters) have
not changed reuses the files and does no model work; see :mod:`roberta_math.figures.cache`.

Importing this package is cheap: ``matplotlib``, ``torch`` and the model are imported
by the figure steps only when a step has to run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import FigureParams, build_figures

__all__ = ["FigureParams", "build_figures"]


def __getattr__(name: str) -> Any:
    # Lazy so that `python -m roberta_math.figures` and the MkDocs hook import little.
    if name in __all__:
        from roberta_math.figures import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

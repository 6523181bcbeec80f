"""What the notebook shows: a function's code without its docstring, a figure with a description.

The notebook (``docs/notebook.ipynb``) prints the package's functions so that the reader sees
the code that runs; their docstrings hold LaTeX for the site, which would print as a wall of
markup, so :func:`code_without_docstring` leaves it out (the site's pages show it rendered).
:func:`show_figure` displays a Matplotlib figure as a PNG with alternative text, which
Jupyter's own figure output cannot carry, and records the smallest font it drew.
"""

from __future__ import annotations

import ast
import base64
import html
import inspect
import io
import textwrap
from typing import Any, Callable

DPI = 100
"""Pixels per inch of the PNG: a font of ``s`` points is ``s * DPI / 72`` pixels tall in it."""


def code_without_docstring(function: Callable[..., Any]) -> str:
    """The source of ``function`` as the package has it, minus its docstring.

    Comments, blank lines and the signature stay as written; only the lines of the
    docstring literal go. A function without a docstring comes back unchanged.

    >>> def f(x):
    ...     '''$$f(x) = x$$'''
    ...     return x  # identity
    >>> print(code_without_docstring(f), end="")
    def f(x):
        return x  # identity
    """
    source = textwrap.dedent(inspect.getsource(function))
    body = ast.parse(source).body[0].body  # the function definition's statements
    first = body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    return "".join(lines[: first.lineno - 1] + lines[first.end_lineno :])


def show_code(function: Callable[..., Any]) -> None:
    """Print :func:`code_without_docstring` of ``function``."""
    print(code_without_docstring(function), end="")


def smallest_font_points(figure: Any) -> float:
    """The smallest font size (points) among the figure's visible, non-empty texts.

    The figure is drawn first: tick labels get their text only when drawn.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()   # every text sized explicitly: the answer ignores rcParams
    >>> _ = ax.set_title("t", fontsize=14); _ = ax.set_xticks([0, 1], ["a", "b"], fontsize=11)
    >>> _ = ax.set_yticks([0, 1], ["c", "d"], fontsize=12); smallest_font_points(fig)
    11.0
    >>> _ = ax.set_xlabel("x", fontsize=8); smallest_font_points(fig)
    8.0
    >>> plt.close(fig)
    """
    from matplotlib.text import Text

    figure.canvas.draw()
    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes))


def figure_html(figure: Any, alt: str) -> str:
    """An ``<img>`` holding the figure as a PNG, with ``alt`` as its description.

    ``data-font-px`` is the smallest font of the figure in the PNG's own pixels, so a page can
    check how large it appears at the width it is shown. Raises ``ValueError`` for an empty ``alt``.
    """
    if not alt.strip():
        raise ValueError("a figure needs a description (alt text) of what it shows")
    font_px = smallest_font_points(figure) * DPI / 72
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
            f'data-font-px="{font_px:.1f}" class="rm-notebook-figure">')


def show_figure(figure: Any, alt: str) -> None:
    """Display the figure in the notebook as :func:`figure_html`, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    display(HTML(figure_html(figure, alt)))
    plt.close(figure)

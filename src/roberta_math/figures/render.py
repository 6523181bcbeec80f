"""Matplotlib set up for reproducible SVG: fixed style, fixed hash salt, no timestamps.

Two runs of the same figure code produce the same bytes: ``svg.hashsalt`` fixes the
ids matplotlib gives clip paths and glyphs, ``metadata={"Date": None}`` drops the
creation date, and text is drawn as paths (``svg.fonttype = "path"``) so the result
does not depend on the reader's fonts.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from roberta_math.cache import json_ready

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

DOMAIN_TITLES: dict[str, str] = {
    "tweets": "tweets",
    "movie_reviews": "movie reviews",
    "amazon_reviews": "Amazon reviews",
    "nyt_editorials": "NYT editorials",
    "all": "all four",
}
"""How figures, tables and reports name the four corpora and the pooled ``all``."""

INK = "#262626"
"""Text, axes and ticks. Close to black on a light page; :data:`DARK_INK` swaps it (and the
greys of secondary text) for light ones when the page around the figure is dark."""

DARK_INK: dict[str, str] = {
    INK: "#e2e4e9",
    "#4c4c4c": "#c3c6cd",  # "0.3"
    "#4d4d4d": "#c3c6cd",
    "#595959": "#babdc4",  # "0.35"
    "#666666": "#b1b4bb",  # "0.4"
    "#808080": "#a4a7ae",  # "0.5"
    "#000000": "#e2e4e9",  # black markers and lines ("k"); black *text* carries no style and stays black
}
"""Colour on a light page -> colour on a dark page, applied by the SVG's own style sheet
under ``@media (prefers-color-scheme: dark)``. An ``<img>`` SVG takes its colour scheme
from the ``color-scheme`` of the image element, which the site's extra.css sets from the
reader's light/dark choice. Text meant to sit on a coloured cell (heatmap numbers) is drawn
in plain black or white and is left alone."""

STYLE: dict[str, Any] = {
    "svg.hashsalt": "roberta-math",
    "svg.fonttype": "path",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.alpha": 0.3,
    "legend.fontsize": 9.0,
    "legend.frameon": False,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "figure.dpi": 100.0,
    "savefig.dpi": 100.0,
    # Transparent: the page's own background shows through, light or dark (no white card).
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "text.color": INK,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "image.cmap": "viridis",
    "lines.linewidth": 1.8,
    "axes.prop_cycle": None,  # set in use_style (needs the cycler)
}

ATTENTION_CMAP = "viridis"
"""The one colour map for attention weights and shares, in every figure and in the explorer's
grid (explorer.js carries the same map): dark purple for little weight, yellow for the most."""

# Colour-blind-safe categorical colours (Okabe & Ito), used in this fixed order.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MODEL_COLOUR = PALETTE[0]
VADER_COLOUR = PALETTE[1]
LABEL_COLOURS: dict[str, str] = {"negative": "#D55E00", "neutral": "#999999", "positive": "#009E73"}


def use_style() -> None:
    """Select the Agg backend and apply :data:`STYLE` (idempotent)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from cycler import cycler

    matplotlib.rcdefaults()
    matplotlib.rcParams.update({k: v for k, v in STYLE.items() if v is not None})
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))


def dark_style_sheet() -> str:
    """CSS that recolours :data:`DARK_INK`'s colours when the figure is shown on a dark page.

    >>> css = dark_style_sheet()
    >>> css.startswith("@media (prefers-color-scheme: dark)") and '[style*="fill: #262626"]' in css
    True
    """
    rules = "".join(
        f'[style*="fill: {light}"]{{fill:{dark}!important}}[style*="stroke: {light}"]{{stroke:{dark}!important}}'
        for light, dark in DARK_INK.items()
    )
    return "@media (prefers-color-scheme: dark){" + rules + "}"


def svg_bytes(fig: Figure) -> bytes:
    """The figure as SVG bytes, without a date, with a transparent background and the dark
    page's colours in its style sheet (:func:`dark_style_sheet`), then closed.

    >>> use_style()
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> data = svg_bytes(fig)
    >>> data.startswith(b"<?xml") and b"<dc:date>" not in data
    True
    >>> b"prefers-color-scheme: dark" in data and b"fill: #ffffff" not in data  # no white card
    True
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)
    data = buffer.getvalue()
    # matplotlib writes one <style> element in <defs>; the dark rules join it.
    return data.replace(b"</style>", dark_style_sheet().encode("ascii") + b"</style>", 1)


def json_bytes(data: Any, *, compact: bool = False) -> bytes:
    """Key-sorted JSON with a final newline (stable bytes for stable data); NaN becomes null.

    Indented for reading, or ``compact`` (no whitespace) for large arrays.

    >>> json_bytes({"b": 1, "a": [0.5]})
    b'{\\n "a": [\\n  0.5\\n ],\\n "b": 1\\n}\\n'
    >>> json_bytes({"b": 1, "a": [0.5]}, compact=True)
    b'{"a":[0.5],"b":1}\\n'
    """
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 1}
    return (json.dumps(json_ready(data), sort_keys=True, ensure_ascii=False, allow_nan=False, **layout) + "\n").encode()


def markdown_cell(text: str) -> str:
    r"""Escape ``text`` for a Markdown table cell: every ASCII punctuation becomes an HTML entity.

    Tokens such as ``|``, ``*`` or ``<s>`` then appear literally instead of being read
    as table syntax, emphasis or HTML.

    >>> markdown_cell("<s>|*x*")
    '&#60;s&#62;&#124;&#42;x&#42;'
    """
    return "".join(f"&#{ord(c)};" if (c.isascii() and not c.isalnum() and c != " ") else c for c in text)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A pipe table; cells are converted with ``str`` (already-escaped text is kept as is).

    ``align`` has one letter per column: ``l``, ``r`` or ``c``.

    >>> print(markdown_table(["a", "b"], [[1, "x"]], align="rl"), end="")
    | a | b |
    |--:|:--|
    | 1 | x |
    """
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    align = align or "l" * len(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def round_floats(values: Any, digits: int = 4) -> Any:
    """Round every float in nested lists/dicts (JSON payloads stay small and stable).

    >>> round_floats({"a": [0.123456, 2], "b": 1.0 / 3})
    {'a': [0.1235, 2], 'b': 0.3333}
    """
    if isinstance(values, float):
        return round(values, digits)
    if isinstance(values, Mapping):
        return {k: round_floats(v, digits) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return [round_floats(v, digits) for v in values]
    return values

r"""Diagrams of the architecture, drawn from the model's configuration, and its embeddings of a real sentence.

Three figures, the ``architecture`` step:

- ``multi_head_attention.svg``: $Q$, $K$, $V$ projections, the split into $H$ heads, scaled
  dot-product attention in each head, concatenation, output projection;
- ``encoder_layer.svg``: one post-LN encoder layer, attention and feed-forward blocks, each
  followed by a residual sum and a LayerNorm;
- ``embeddings_example.svg``: $E^\text{tok}[x_t]$, $E^\text{pos}[\pi_t]$, $E^\text{type}[0]$,
  their sum $U$ and $X^{(0)} = \operatorname{LayerNorm}(U)$ for the example sentence.

Every size printed on the diagrams comes from the configuration (:func:`architecture_sizes`)
and every tensor shape from :func:`attention_shapes` and :func:`encoder_layer_shapes`, which
the tests compare with the shapes the package's own functions return. Shapes are written as
on the notation page, ``(batch, seq, d)``, with this model's number beside each symbol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from roberta_math.figures.render import INK, PALETTE, json_bytes, round_floats, svg_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from roberta_math.figures.build import StepContext
    from roberta_math.model.loading import LoadedModel

GREY = "#4d4d4d"
"""Secondary text (shapes, notes); render.DARK_INK lightens it on a dark page."""

EMBEDDING_CMAP = "berlin"
"""A diverging map that is dark in the middle, so a heatmap of signed values is no white card on a dark page."""


def architecture_sizes(config: Any) -> dict[str, int]:
    r"""The sizes of the notation page, read from a RoBERTa configuration.

    $d$ = ``hidden_size``, $H$ = ``num_attention_heads``, $d_h = d / H$,
    $d_\text{ff}$ = ``intermediate_size``, $L$ = ``num_hidden_layers``.
    Raises ``ValueError`` if $H$ does not divide $d$.

    >>> from transformers import RobertaConfig
    >>> architecture_sizes(RobertaConfig())  # roberta-base's sizes
    {'d': 768, 'H': 12, 'd_h': 64, 'd_ff': 3072, 'L': 12}
    """
    d, heads = int(config.hidden_size), int(config.num_attention_heads)
    if d % heads:
        raise ValueError(f"hidden_size {d} is not a multiple of num_attention_heads {heads}")
    return {"d": d, "H": heads, "d_h": d // heads, "d_ff": int(config.intermediate_size), "L": int(config.num_hidden_layers)}


def _shape(*dims: str | tuple[str, int]) -> dict[str, Any]:
    # A shape as the notation writes it, and the same with this model's numbers.
    symbols = [dim if isinstance(dim, str) else dim[0] for dim in dims]
    sizes = [None if isinstance(dim, str) else dim[1] for dim in dims]
    return {"symbols": symbols, "sizes": sizes}


def attention_shapes(sizes: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """The shape of every tensor of multi-head attention: ``{name: {"symbols", "sizes"}}``.

    ``symbols`` are the notation page's (``batch`` and ``seq`` stay symbolic, their size ``None``).

    >>> shapes = attention_shapes({"d": 768, "H": 12, "d_h": 64, "d_ff": 3072, "L": 12})
    >>> shapes["Q heads"]
    {'symbols': ['batch', 'H', 'seq', 'd_h'], 'sizes': [None, 12, None, 64]}
    >>> shapes["A"]["symbols"], shapes["W_Q"]["sizes"]
    (['batch', 'H', 'seq', 'seq'], [768, 768])
    """
    d, heads, d_h = sizes["d"], sizes["H"], sizes["d_h"]
    full = _shape("batch", "seq", ("d", d))
    split = _shape("batch", ("H", heads), "seq", ("d_h", d_h))
    square = _shape(("d", d), ("d", d))
    return {
        "X": full, "W_Q": square, "W_K": square, "W_V": square,
        "Q": full, "K": full, "V": full,
        "Q heads": split, "K heads": split, "V heads": split,
        "A": _shape("batch", ("H", heads), "seq", "seq"),
        "heads": split,
        "Concat": _shape("batch", "seq", ("H·d_h", d)),
        "W_O": square,
        "MHA(X)": full,
    }


def encoder_layer_shapes(sizes: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """The shape of every tensor of one encoder layer (same layout as :func:`attention_shapes`).

    >>> shapes = encoder_layer_shapes({"d": 768, "H": 12, "d_h": 64, "d_ff": 3072, "L": 12})
    >>> shapes["GELU"]
    {'symbols': ['batch', 'seq', 'd_ff'], 'sizes': [None, None, 3072]}
    >>> shapes["W_1"]["sizes"], shapes["W_2"]["sizes"]
    ([3072, 768], [768, 3072])
    """
    d, d_ff = sizes["d"], sizes["d_ff"]
    full = _shape("batch", "seq", ("d", d))
    wide = _shape("batch", "seq", ("d_ff", d_ff))
    return {
        "X": full, "MHA(X)": full, "X + MHA(X)": full, "X'": full,
        "W_1": _shape(("d_ff", d_ff), ("d", d)), "X' W_1^T + b_1": wide, "GELU": wide,
        "W_2": _shape(("d", d), ("d_ff", d_ff)), "FFN(X')": full, "X' + FFN(X')": full, "X''": full,
    }


def shape_label(shape: Mapping[str, Any]) -> str:
    """``(batch, seq, d = 128)``: the notation's symbols with the configured size beside each; a weight's
    shape, all of whose sizes are known, as ``(d, d) = (128, 128)``.

    >>> shape_label({"symbols": ["batch", "H", "seq", "d_h"], "sizes": [None, 4, None, 32]})
    '(batch, H = 4, seq, d_h = 32)'
    >>> shape_label({"symbols": ["d_ff", "d"], "sizes": [512, 128]})
    '(d_ff, d) = (512, 128)'
    """
    symbols, sizes = shape["symbols"], shape["sizes"]
    if all(size is not None for size in sizes):
        return "(" + ", ".join(symbols) + ") = (" + ", ".join(str(size) for size in sizes) + ")"
    parts = [sym if size is None else f"{sym} = {size}" for sym, size in zip(symbols, sizes, strict=True)]
    return "(" + ", ".join(parts) + ")"


# --------------------------------------------------------------------------- drawing


def _canvas(width: float, height: float) -> tuple[Any, Axes]:
    """A figure whose data units are inches, y growing downwards (the diagrams read top to bottom)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    return fig, ax


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str, colour: str, *, size: float = 10.0,
         shadows: int = 0) -> None:
    """A rounded box centred at (x, y); ``shadows`` more boxes behind it, down and to the right, stand for a stack."""
    from matplotlib.patches import FancyBboxPatch

    step = 0.07
    for k in range(shadows, -1, -1):
        corner = (x - w / 2 + k * step, y - h / 2 + k * step)
        style = "round,pad=0.02,rounding_size=0.08"
        ax.add_patch(FancyBboxPatch(corner, w, h, boxstyle=style, facecolor=colour, alpha=0.16 if k == 0 else 0.08,
                                    edgecolor="none", zorder=2 - k * 0.01))
        ax.add_patch(FancyBboxPatch(corner, w, h, boxstyle=style, facecolor="none", edgecolor=colour,
                                    linewidth=1.4 if k == 0 else 0.7, zorder=2.5 - k * 0.01))
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=size, color=INK, zorder=4)


def _note(ax: Axes, x: float, y: float, text: str, *, ha: str = "left", size: float = 9.5) -> None:
    """A shape or a size in the code's monospace, in the secondary colour."""
    ax.text(x, y, text, ha=ha, va="center", fontsize=size, color=GREY, family="DejaVu Sans Mono", zorder=4)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *,
           path: Sequence[tuple[float, float]] = ()) -> None:
    """An arrow from ``start`` through the corners ``path`` to ``end``."""
    points = [start, *path, end]
    for a, b in zip(points[:-2], points[1:-1], strict=True):
        ax.plot([a[0], b[0]], [a[1], b[1]], color=INK, linewidth=1.2, solid_capstyle="round", zorder=1)
    ax.annotate("", xy=points[-1], xytext=points[-2],
                arrowprops={"arrowstyle": "-|>,head_length=0.45,head_width=0.22", "color": INK, "linewidth": 1.2,
                            "shrinkA": 0, "shrinkB": 0}, zorder=1)


def multi_head_attention_figure(sizes: Mapping[str, int]) -> bytes:
    """Multi-head attention top to bottom: input, three projections, split, attention per head, concat, output."""
    shapes = attention_shapes(sizes)
    heads = sizes["H"]
    width, height = 7.0, 8.25
    fig, ax = _canvas(width, height)
    blue, orange, green, pink = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]
    centre = width / 2
    ax.text(centre, 0.22, "Multi-head attention", ha="center", va="center", fontsize=12, fontweight="bold", color=INK)
    _note(ax, centre, 0.5, f"d = {sizes['d']},  H = {heads} heads,  d_h = d / H = {sizes['d_h']}", ha="center", size=10)
    _box(ax, centre, 1.0, 1.4, 0.45, "$X$", blue, size=12)
    _note(ax, centre + 0.8, 1.0, shape_label(shapes["X"]))
    columns = {"Q": 1.25, "K": centre, "V": width - 1.25}
    for name, x in columns.items():
        _arrow(ax, (centre, 1.23), (x, 1.75), path=[(centre, 1.45), (x, 1.45)] if x != centre else ())
        _box(ax, x, 2.05, 2.0, 0.55, f"${name} = XW_{name}^\\top + b_{name}$", orange)
        _note(ax, x, 2.47, f"W_{name} {shape_label(shapes['W_' + name])}", ha="center", size=8.5)
        _arrow(ax, (x, 2.6), (x, 3.05))
        _box(ax, x, 3.3, 2.0, 0.45, f"split into {heads} heads", orange, size=9)
        _arrow(ax, (x, 3.53), (x, 4.05))
    _note(ax, columns["Q"] + 0.08, 2.83, shape_label(shapes["Q"]), size=8.5)
    # One box per head, drawn as a stack of H: the same scaled dot-product attention in each.
    stack = min(heads, 4) - 1  # at most three boxes behind the first: more would only blur
    _box(ax, centre - 0.1, 4.95, width - 0.8, 1.8, "", green, shadows=stack)
    if heads > stack + 1:
        _note(ax, width - 0.55, 5.68, f"× {heads} heads", ha="right", size=9)
    ax.text(centre - 0.1, 4.3, "scaled dot-product attention in each head $h = 1, \\dots, H$", ha="center",
            va="center", fontsize=9.5, color=INK, zorder=4)
    _note(ax, centre - 0.1, 4.62, "Q^[h], K^[h], V^[h] " + shape_label(shapes["Q heads"]), ha="center", size=10)
    ax.text(centre - 0.1, 5.02, "$A^{[h]} = \\mathrm{softmax}\\left(Q^{[h]} K^{[h]\\top} / \\sqrt{d_h} + M\\right)$"
            "      $\\mathrm{head}_h = A^{[h]} V^{[h]}$", ha="center", va="center", fontsize=10.5, color=INK, zorder=4)
    _note(ax, centre - 0.1, 5.45, "weights A " + shape_label(shapes["A"]), ha="center", size=10)
    _arrow(ax, (centre, 5.85 + 0.07 * stack), (centre, 6.45))
    _note(ax, centre + 0.1, 6.2, shape_label(shapes["heads"]))
    _box(ax, centre, 6.7, 3.4, 0.45, "$\\mathrm{Concat}(\\mathrm{head}_1, \\dots, \\mathrm{head}_H)\\, W_O^\\top + b_O$", pink)
    _note(ax, centre, 7.07, f"Concat {shape_label(shapes['Concat'])},  W_O {shape_label(shapes['W_O'])}",
          ha="center", size=8.5)
    _arrow(ax, (centre, 7.2), (centre, 7.7))
    ax.text(centre, 7.95, "$\\mathrm{MHA}(X)$", ha="center", va="center", fontsize=12, color=INK)
    _note(ax, centre + 0.7, 7.95, shape_label(shapes["MHA(X)"]))
    return svg_bytes(fig)


def encoder_layer_figure(sizes: Mapping[str, int]) -> bytes:
    """One post-LN encoder layer: attention, residual + LayerNorm, feed-forward, residual + LayerNorm."""
    from matplotlib.patches import Circle

    shapes = encoder_layer_shapes(sizes)
    width, height = 6.4, 8.75
    fig, ax = _canvas(width, height)
    blue, orange, green, sky = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[4]
    centre, side = 2.9, 0.55  # the main path and the residual path to its left
    ax.text(width / 2, 0.22, "One encoder layer (post-LN)", ha="center", va="center", fontsize=12, fontweight="bold", color=INK)
    _note(ax, width / 2, 0.5, f"d = {sizes['d']},  H = {sizes['H']},  d_ff = {sizes['d_ff']};  "
          f"RoBERTa stacks L = {sizes['L']} such layers", ha="center", size=10)
    full = shape_label(shapes["X"])
    gap = 0.3  # the length of an arrow between two boxes

    def residual_block(top: float, name: str, body: Sequence[tuple[str, str, str]], sum_text: str, ln_text: str) -> float:
        """Input at ``top``, the block's boxes, the sum with the skip path, its LayerNorm; returns the output's y."""
        _box(ax, centre, top, 1.3, 0.4, name, blue, size=12)
        _note(ax, centre + 0.75, top, full)
        y = top + 0.2
        for text, colour, shape in body:
            _arrow(ax, (centre, y), (centre, y + gap))
            _box(ax, centre, y + gap + 0.22, 3.0, 0.44, text, colour)
            y += gap + 0.44
            _note(ax, centre + 0.1, y + 0.16, shape, size=9)
        plus_y = y + gap + 0.18
        _arrow(ax, (centre, y), (centre, plus_y - 0.18))
        # the residual: from the input, around the block, into the sum
        _arrow(ax, (centre - 0.65, top), (centre - 0.18, plus_y), path=[(side, top), (side, plus_y)])
        ax.text(side - 0.1, (top + plus_y) / 2, "residual", rotation=90, ha="right", va="center", fontsize=9, color=GREY)
        ax.add_patch(Circle((centre, plus_y), 0.18, facecolor="none", edgecolor=INK, linewidth=1.2, zorder=3))
        ax.text(centre, plus_y, "+", ha="center", va="center", fontsize=13, color=INK, zorder=4)
        ax.text(centre + 0.3, plus_y, sum_text, ha="left", va="center", fontsize=9.5, color=INK)
        _arrow(ax, (centre, plus_y + 0.18), (centre, plus_y + 0.18 + gap))
        ln_y = plus_y + 0.18 + gap + 0.22
        _box(ax, centre, ln_y, 3.0, 0.44, ln_text, sky)
        _arrow(ax, (centre, ln_y + 0.22), (centre, ln_y + 0.22 + gap))
        return ln_y + 0.22 + gap + 0.2

    y = residual_block(1.0, "$X$", [(f"multi-head attention, H = {sizes['H']} heads", green, full)],
                       "$X + \\mathrm{MHA}(X)$", "$\\mathrm{LayerNorm}_1$")
    y = residual_block(y, "$X'$", [
        ("$X' W_1^\\top + b_1$", orange, shape_label(shapes["X' W_1^T + b_1"])),
        ("$\\mathrm{GELU}$", orange, shape_label(shapes["GELU"])),
        ("$\\cdot\\, W_2^\\top + b_2$   (feed-forward)", orange, full),
    ], "$X' + \\mathrm{FFN}(X')$", "$\\mathrm{LayerNorm}_2$")
    _box(ax, centre, y, 1.3, 0.4, "$X''$", blue, size=12)
    _note(ax, centre + 0.75, y, full)
    ax.text(width / 2, y + 0.45, "post-LN: each LayerNorm normalises a residual sum (pre-LN normalises a block's input)",
            ha="center", va="center", fontsize=9, color=GREY)
    return svg_bytes(fig)


# --------------------------------------------------------------------------- the embeddings of a sentence


def embedding_terms(loaded: LoadedModel, text: str) -> dict[str, Any]:
    r"""The terms of $X^{(0)} = \operatorname{LayerNorm}(E^\text{tok}[x] + E^\text{pos}[\pi] + E^\text{type}[0])$ for one sentence.

    Returns ``{"tokens": [...], "position_ids": [...], "word", "position", "type", "sum", "output"}``,
    each array ``(seq, d)`` (float32 numpy), computed with the package's
    :func:`~roberta_math.math.embeddings.layer_norm` and
    :func:`~roberta_math.math.embeddings.position_ids_from_input_ids`.
    """
    from roberta_math.figures.model_figures import token_display
    from roberta_math.math.embeddings import layer_norm, position_ids_from_input_ids
    from roberta_math.model.weights import read_weights

    config = loaded.model.config
    pad = 1 if config.pad_token_id is None else int(config.pad_token_id)
    weights = read_weights(loaded.model).embeddings
    ids = loaded.tokenizer(text, return_tensors="pt")["input_ids"]  # (1, seq)
    if ids.shape[1] > loaded.max_tokens:
        from roberta_math.errors import UserError

        raise UserError(f"the example sentence has {ids.shape[1]} tokens, more than the {loaded.max_tokens} the model reads: "
                        "choose a shorter example_sentence (--params)")
    positions = position_ids_from_input_ids(ids, pad)  # (1, seq)
    with torch.no_grad():
        word = weights.word[ids][0]  # (seq, d)
        position = weights.position[positions][0]  # (seq, d)
        token_type = weights.token_type[torch.zeros_like(ids)][0]  # (seq, d), one row repeated
        summed = word + position + token_type
        output = layer_norm(summed, weights.ln_gamma, weights.ln_beta, float(config.layer_norm_eps))
    tokens = loaded.tokenizer.convert_ids_to_tokens(ids[0].tolist())
    return {
        "tokens": [token_display(loaded.tokenizer, t) for t in tokens],
        "position_ids": positions[0].tolist(),
        **{name: value.float().numpy() for name, value in
           (("word", word), ("position", position), ("type", token_type), ("sum", summed), ("output", output))},
    }


def embeddings_figure(terms: Mapping[str, Any], model_name: str) -> bytes:
    """Five heatmaps, tokens down, components across: word + position + type = sum, then its LayerNorm."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    tokens = list(terms["tokens"])
    n, d = terms["word"].shape
    panels = [("word", "$E^{\\mathrm{tok}}[x_t]$"), ("position", "$E^{\\mathrm{pos}}[\\pi_t]$"),
              ("type", "$E^{\\mathrm{type}}[0]$"), ("sum", "sum $U_t$"), ("output", "$X^{(0)}_t = \\mathrm{LayerNorm}(U_t)$")]
    signs = ["+", "+", "=", "→"]
    fig_h = 1.6 + 0.2 * n
    fig, axes = plt.subplots(1, 5, figsize=(9.0, fig_h), gridspec_kw={"wspace": 0.34})
    # one colour scale for the three terms and their sum (so their sizes compare), one for the LayerNorm output
    inputs = max(float(np.abs(terms[name]).max()) for name in ("word", "position", "type", "sum"))
    output = float(np.abs(terms["output"]).max())
    images = []
    for k, (ax, (name, title)) in enumerate(zip(axes, panels, strict=True)):
        limit = output if name == "output" else inputs
        images.append(ax.imshow(terms[name], cmap=EMBEDDING_CMAP, norm=Normalize(-limit, limit), aspect="auto",
                                interpolation="nearest"))
        ax.set_title(title, fontsize=10, fontweight="normal")
        ax.set_xticks([0, d - 1], ["1", str(d)])
        ax.set_xlabel(f"component a (d = {d})", fontsize=8.5)
        ax.set_yticks(range(n), tokens if k == 0 else [""] * n, fontsize=9.5)
        ax.tick_params(length=2)
        if k < len(signs):
            ax.text(1.16, 0.5, signs[k], transform=ax.transAxes, ha="center", va="center", fontsize=15, color=INK)
    axes[0].set_ylabel("token t")
    bar = fig.colorbar(images[0], ax=list(axes[:4]), orientation="horizontal", fraction=0.06, pad=0.22, aspect=60)
    bar.set_label("value (the three terms and their sum, one scale)", fontsize=8.5)
    bar = fig.colorbar(images[4], ax=axes[4], orientation="horizontal", fraction=0.06, pad=0.22, aspect=15)
    bar.set_label("value after LayerNorm", fontsize=8.5)
    fig.suptitle(f"Embeddings of the example sentence, {model_name}: (seq, d) = ({n}, {d}) per panel",
                 fontsize=11, fontweight="bold", y=1.0)
    return svg_bytes(fig)


def embedding_summary(terms: Mapping[str, Any]) -> dict[str, Any]:
    """Per token: the L2 norm of each term and of the sum, and the output's mean and standard deviation."""
    norm = {name: np.linalg.norm(terms[name], axis=-1).tolist() for name in ("word", "position", "type", "sum")}
    return {
        "tokens": list(terms["tokens"]),
        "position_ids": list(terms["position_ids"]),
        "norms": norm,
        "output_mean": terms["output"].mean(-1).tolist(),
        "output_std": terms["output"].std(-1).tolist(),
    }


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``architecture`` step: the two diagrams (sizes from the model's configuration) and the embeddings figure."""
    from roberta_math.figures.model_figures import short_model_name

    loaded = ctx.loaded()
    sizes = architecture_sizes(loaded.model.config)
    terms = embedding_terms(loaded, ctx.params.example_sentence)
    data = {
        "sizes": sizes,
        "attention_shapes": {name: shape_label(s) for name, s in attention_shapes(sizes).items()},
        "encoder_layer_shapes": {name: shape_label(s) for name, s in encoder_layer_shapes(sizes).items()},
        "embeddings": round_floats(embedding_summary(terms), 5),
    }
    return {
        "multi_head_attention.svg": multi_head_attention_figure(sizes),
        "encoder_layer.svg": encoder_layer_figure(sizes),
        "embeddings_example.svg": embeddings_figure(terms, short_model_name(loaded.provenance.name)),
        "architecture.json": json_bytes(data),
    }


__all__ = [
    "architecture_sizes",
    "attention_shapes",
    "build",
    "embedding_terms",
    "encoder_layer_shapes",
    "shape_label",
]

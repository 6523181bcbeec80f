r"""Figures that run the model: tokens, attention maps, per-head statistics, per-head score spread.

Two steps live here. ``model`` (one example sentence): the token table, a tokenization
diagram, the attention heatmap of one layer and head, the grid of every layer and head,
and the model's provenance. ``heads`` (the test split): what share of its attention each
head puts on ``<s>``, ``</s>``, the previous token, itself and punctuation, and how spread
out each head's scaled scores are within a query row, after training and at initialisation
(measured by :mod:`roberta_math.model.score_spread`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from roberta_math.figures.render import (
    ATTENTION_CMAP,
    PALETTE,
    json_bytes,
    markdown_cell,
    markdown_table,
    round_floats,
    svg_bytes,
)
from roberta_math.labels import LABELS
from roberta_math.math import position_ids_from_input_ids

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext
    from roberta_math.model.loading import LoadedModel

HEAD_STATISTICS: tuple[str, ...] = ("bos", "eos", "previous", "self", "punctuation")
"""The per-head statistics, in the order of the arrays below."""

STATISTIC_TITLES: dict[str, str] = {
    "bos": "on <s>",
    "eos": "on </s>",
    "previous": "on the previous token",
    "self": "on itself",
    "punctuation": "on punctuation",
}


def plain(text: str) -> str:
    r"""Make text safe for a matplotlib label: a ``$`` would start mathtext.

    >>> plain("costs $5")
    'costs \\$5'
    """
    return text.replace("$", r"\$")


COMPACT_MODEL_TITLE = "compact model"
"""What pages, captions and tables call the model shipped in the package (``--model embedded``)."""


def short_model_name(name: str) -> str:
    """A model name short enough for a caption: the last folder of a path, a hub id as it is,
    and the site's name for the shipped model (whose identifier is ``embedded``).

    >>> short_model_name("/tmp/run-7/model"), short_model_name("cardiffnlp/twitter-roberta-base-sentiment")
    ('model', 'cardiffnlp/twitter-roberta-base-sentiment')
    >>> short_model_name("embedded")
    'compact model'
    """
    if name == "embedded":
        return COMPACT_MODEL_TITLE
    if name.startswith(("/", ".", "~")) or name.count("/") > 1:
        return name.rstrip("/").rsplit("/", 1)[-1] or name
    return name


def token_display(tokenizer: Any, token: str) -> str:
    """Readable text of one BPE token: decoded, stripped; ``␣`` for a bare space, raw for a partial byte.

    >>> class T:
    ...     def convert_tokens_to_string(self, tokens): return {"Ġgood": " good", "Ġ": " ", "ð": "\\ufffd"}[tokens[0]]
    >>> [token_display(T(), t) for t in ("Ġgood", "Ġ", "ð")]
    ['good', '␣', 'ð']
    """
    text = tokenizer.convert_tokens_to_string([token])
    if "\ufffd" in text:  # one byte of a multi-byte character: the raw symbol says more
        return token
    return text.strip() or "␣"


def is_punctuation(text: str) -> bool:
    """True if ``text`` (a decoded token) is non-empty and all Unicode punctuation once stripped.

    >>> [is_punctuation(t) for t in (",", " !!", "...", "a.", " ", "$")]
    [True, True, True, False, False, False]
    """
    stripped = text.strip()
    return bool(stripped) and all(unicodedata.category(c).startswith("P") for c in stripped)


# --------------------------------------------------------------------------- the example sentence


def token_rows(tokenizer: Any, text: str, padding_idx: int = 1) -> list[dict[str, Any]]:
    r"""One row per token of ``text``: index, BPE token, id, readable text, RoBERTa position id, characters.

    The position ids are :func:`~roberta_math.math.embeddings.position_ids_from_input_ids`:
    $\pi_t = \text{padding\_idx} + t + 1$ for the $t$-th real token (so ``<s>`` is at 2).
    ``start``/``end`` index the characters of ``text`` the token covers (``<s>``/``</s>`` cover none).
    """
    encoded = tokenizer(text, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    tokens = tokenizer.convert_ids_to_tokens(ids)
    positions = position_ids_from_input_ids(torch.tensor([ids]), padding_idx)[0].tolist()
    special = set(tokenizer.all_special_ids)
    rows = []
    for t, (token_id, token, position, (start, end)) in enumerate(zip(ids, tokens, positions, encoded["offset_mapping"], strict=True)):
        rows.append(
            {
                "index": t,
                "token": token,
                "id": int(token_id),
                "text": tokenizer.convert_tokens_to_string([token]),
                "display": token_display(tokenizer, token),
                "position_id": int(position),
                "special": token_id in special,
                "start": int(start),
                "end": int(end),
            }
        )
    return rows


def token_table_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The token table as a Markdown pipe table (every token escaped, shown in ``<code>``)."""
    body = [
        [row["index"], f"<code>{markdown_cell(row['token'])}</code>", row["id"], row["position_id"],
         "" if row["special"] else f"{row['start']}&ndash;{row['end']}"]
        for row in rows
    ]
    return markdown_table(["t", "token", "id", "position id", "characters"], body, align="rlrrr")


def tokenization_figure(text: str, rows: Sequence[dict[str, Any]], max_chars: int = 64) -> bytes:
    """The sentence above its tokens: one box per BPE token (``Ġ`` = a space before it), id below."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    # Layout in character units of the monospace font, wrapped into lines of max_chars.
    gap, pad = 1.2, 0.8
    placed, x, line = [], 0.0, 0
    for row in rows:
        label = row["token"]
        width = max(len(label), len(str(row["id"]))) + pad
        if x > 0 and x + width > max_chars:
            x, line = 0.0, line + 1
        placed.append((row, label, x, width, line))
        x += width + gap
    lines = line + 1
    char_w, line_h = 0.105, 0.95  # inches per character, per token line
    fig_w = max(max_chars * char_w, 4.0)
    fig_h = 0.9 + lines * line_h + 0.35
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(-0.5, fig_w / char_w)
    ax.set_ylim(-(fig_h - 0.55) / line_h, 0.55 / line_h)
    ax.axis("off")
    ax.text(0, 0.1, f"“{plain(text)}”", fontsize=11, va="center", ha="left")
    for row, label, x0, width, line in placed:
        y = -0.75 - line
        colour = "#FFE9C7" if row["special"] else "#DCEBFA"
        edge = "#E69F00" if row["special"] else "#0072B2"
        ax.add_patch(FancyBboxPatch((x0, y - 0.2), width, 0.42, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=colour, edgecolor=edge, linewidth=0.9))
        ax.text(x0 + width / 2, y + 0.01, plain(label), family="DejaVu Sans Mono", fontsize=9.5, ha="center", va="center",
                color="black")  # on a light box, light page or dark (render.DARK_INK leaves black alone)
        ax.text(x0 + width / 2, y - 0.38, str(row["id"]), fontsize=8, ha="center", va="center", color="0.35")
    ax.text(0, -(fig_h - 0.75) / line_h, "boxes: BPE tokens (Ġ marks a space before the word);  numbers: token ids;  "
            "orange: special tokens", fontsize=8, color="0.35", ha="left", va="center")
    return svg_bytes(fig)


def example_attentions(loaded: LoadedModel, text: str) -> np.ndarray:
    """Every layer's attention for ``text``, shape ``(layers, heads, seq, seq)``, via the notebook's ``get_attention_weights``."""
    from roberta_math.model.attention_weights import get_attention_weights

    attention, _ = get_attention_weights(text, loaded.model, loaded.tokenizer)
    return torch.cat([a for a in attention], dim=0).double().numpy()  # (layers, heads, seq, seq)


def attention_heatmap_figure(labels: Sequence[str], weights: np.ndarray, layer: int, head: int, model_name: str) -> bytes:
    """One head's attention matrix (row: the attending token, column: the token attended to), with a colour bar."""
    import matplotlib.pyplot as plt

    n = len(labels)
    size = min(max(3.6, 0.3 * n + 1.6), 9.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(weights, cmap=ATTENTION_CMAP, vmin=0.0, vmax=float(weights.max()), interpolation="nearest")
    shown = [plain(t) for t in labels]
    ax.set_xticks(range(n), shown, rotation=90, family="DejaVu Sans Mono", fontsize=8.5)
    ax.set_yticks(range(n), shown, family="DejaVu Sans Mono", fontsize=8.5)
    ax.set_xlabel("attended to (key)")
    ax.set_ylabel("attending (query)")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"Layer {layer + 1}, head {head + 1}", loc="left")
    colourbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colourbar.set_label("attention weight $A_{ij}$ (each row sums to 1)")
    fig.text(0.01, 0.005, f"model: {plain(short_model_name(model_name))}", fontsize=7, color="0.5")
    return svg_bytes(fig)


def attention_grid_figure(labels: Sequence[str], attentions: np.ndarray) -> bytes:
    """Every layer (rows) and head (columns) of one sentence on a shared 0-1 colour scale."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import PowerNorm

    layers, heads = attentions.shape[:2]
    n = len(labels)
    # Room for a token label per row and column (7 pt each) along the left and bottom edges.
    cell = max(1.25 if heads <= 6 else 0.95, 0.13 * n)
    shown = [plain(t) for t in labels]
    # Square-root colour scale (as in the explorer's grid): weights of 0.05-0.2 stay visible
    # next to heads that put nearly everything on one token.
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
    height = cell * layers + 1.0
    fig, axes = plt.subplots(layers, heads, figsize=(cell * heads + 1.3, height), squeeze=False)
    image = None
    for l in range(layers):
        for h in range(heads):
            ax = axes[l][h]
            image = ax.imshow(attentions[l, h], cmap=ATTENTION_CMAP, norm=norm, interpolation="nearest")
            # Tokens along the left column (queries) and the bottom row (keys), as in the heatmap.
            ax.set_xticks(range(n), shown if l == layers - 1 else [], rotation=90, family="DejaVu Sans Mono", fontsize=7)
            ax.set_yticks(range(n), shown if h == 0 else [], family="DejaVu Sans Mono", fontsize=7)
            ax.tick_params(length=0, pad=1.5)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if l == 0:
                ax.set_title(f"head {h + 1}", fontsize=9, fontweight="normal")
            if h == 0:
                ax.set_ylabel(f"layer {l + 1}", fontsize=9)
    fig.suptitle(f"Attention of every layer and head ({n} tokens; rows attend to columns)", fontsize=11, fontweight="bold")
    fig.subplots_adjust(left=0.06, right=0.86, top=1 - 0.75 / height, bottom=0.03, wspace=0.08, hspace=0.08)
    colourbar_axes = fig.add_axes((0.89, 0.1, 0.025, 0.75))
    colourbar = fig.colorbar(image, cax=colourbar_axes, ticks=[0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0])
    colourbar.set_label("attention weight (square-root scale)")
    return svg_bytes(fig)


def model_summary(loaded: LoadedModel) -> dict[str, Any]:
    """Provenance and shape of the model (name, source, parameters, sha256; layers, heads, sizes)."""
    config = loaded.model.config
    return {
        "provenance": loaded.provenance.as_dict(),
        "labels": list(loaded.labels),
        "layers": int(config.num_hidden_layers),
        "heads": int(config.num_attention_heads),
        "hidden_size": int(config.hidden_size),
        "head_dim": int(config.hidden_size // config.num_attention_heads),
        "intermediate_size": int(config.intermediate_size),
        "vocab_size": int(config.vocab_size),
        "max_tokens": int(loaded.max_tokens),
    }


def model_markdown(summary: dict[str, Any]) -> str:
    """A two-column table: which model produced this build's figures (its provenance and shape).

    >>> p = {"name": "x/y", "source": "hub", "parameters": 10, "sha256": "ab", "temperature": 2.05}
    >>> s = {"provenance": p, "layers": 1, "heads": 2, "hidden_size": 8, "head_dim": 4, "vocab_size": 50}
    >>> [row for row in model_markdown(s).splitlines() if "temperature" in row]
    ['| softmax temperature | &tau; = 2.0500, fitted on the validation split ([calibration](softmax.md#a-fitted-temperature-calibration)) |']
    """
    p = summary["provenance"]
    rows = [
        ("model", (f"the {COMPACT_MODEL_TITLE} (<code>embedded</code>)" if p["name"] == "embedded"
                   else f"<code>{markdown_cell(p['name'])}</code>")),
        ("source", markdown_cell(p["source"]) + (f" (revision <code>{markdown_cell(p['revision'])}</code>)" if p.get("revision") else "")),
        ("parameters", f"{p['parameters']:,}"),
        ("weights SHA-256", f"<code>{p['sha256']}</code>"),
        ("preprocessing", f"<code>{markdown_cell(p.get('preprocess', 'none'))}</code>"),
        ("softmax temperature",
         (f"&tau; = {p['temperature']:.4f}, fitted on the validation split "
          "([calibration](softmax.md#a-fitted-temperature-calibration))")
         if p.get("temperature", 1.0) != 1.0 else "&tau; = 1 (none fitted)"),
        ("layers &times; heads", f"{summary['layers']} &times; {summary['heads']}"),
        ("hidden size / head size", f"{summary['hidden_size']} / {summary['head_dim']}"),
        ("vocabulary", f"{summary['vocab_size']:,} tokens"),
    ]
    return markdown_table(["", "this build"], rows, align="ll")


def build_model_views(ctx: StepContext) -> dict[str, bytes]:
    """The ``model`` step: token table, tokenization diagram, heatmap, all-heads grid, provenance."""
    from roberta_math.errors import UserError

    p = ctx.params
    loaded = ctx.loaded()
    padding_idx = loaded.model.config.pad_token_id
    rows = token_rows(loaded.tokenizer, p.example_sentence, 1 if padding_idx is None else padding_idx)
    if len(rows) > loaded.max_tokens:
        raise UserError(f"the example sentence has {len(rows)} tokens, more than the {loaded.max_tokens} the model reads: "
                        "choose a shorter example_sentence (--params)")
    attentions = example_attentions(loaded, p.example_sentence)  # (layers, heads, seq, seq)
    ctx.count_forward(1)
    layers, heads = attentions.shape[:2]
    layer = p.heatmap_layer % layers
    head = p.heatmap_head % heads
    labels = [row["display"] for row in rows]
    summary = model_summary(loaded)
    example = {
        "text": p.example_sentence,
        "tokens": rows,
        "heatmap": {"layer": layer + 1, "head": head + 1, "numbering": "1-based"},
        "attention": round_floats(attentions.tolist(), 4),
    }
    return {
        "token_table.json": json_bytes({"text": p.example_sentence, "rows": rows}),
        "token_table.md": token_table_markdown(rows).encode(),
        "tokenization.svg": tokenization_figure(p.example_sentence, rows),
        "attention_heatmap.svg": attention_heatmap_figure(labels, attentions[layer, head], layer, head, loaded.provenance.name),
        "attention_grid.svg": attention_grid_figure(labels, attentions),
        "attention_example.json": json_bytes(example, compact=True),
        "model.json": json_bytes(summary),
        "model.md": model_markdown(summary).encode(),
    }


# --------------------------------------------------------------------------- the test split


@dataclass
class SplitPass:
    """One forward pass over a corpus split: probabilities and per-head attention statistics.

    ``shares[s, l, h]`` is the mean, over every query token of every sentence, of the
    attention weight head ``h`` of layer ``l`` puts on the keys of statistic ``s``
    (:data:`HEAD_STATISTICS`); ``uniform[s]`` is the same share under uniform attention.
    """

    split: str
    sentences: list[Any]
    probabilities: np.ndarray  # (n, 3), columns in LABELS order
    shares: np.ndarray  # (statistics, layers, heads)
    uniform: np.ndarray  # (statistics,)
    queries: np.ndarray  # (statistics,) query tokens averaged over


def key_selections(input_ids: torch.Tensor, mask: torch.Tensor, punctuation: torch.Tensor) -> torch.Tensor:
    r"""Which keys each statistic counts, for every query: shape ``(statistics, batch, seq, seq)``.

    For a sentence of $n$ real tokens ($0$ is ``<s>``, $n-1$ is ``</s>``), query $i$ and key $j$:
    ``bos`` $[j = 0]$, ``eos`` $[j = n-1]$, ``previous`` $[j = i-1]$, ``self`` $[j = i]$,
    ``punctuation`` $[x_j$ is punctuation$]$. The share of statistic $s$ for query $i$ is
    $\sum_j A_{ij} S_{s,ij}$. Padded queries and keys select nothing.

    >>> ids = torch.tensor([[0, 9, 7, 2, 1]]); m = ids.ne(1)
    >>> sel = key_selections(ids, m, torch.tensor([[False, False, True, False, False]]))
    >>> sel[:, 0, 2].tolist()   # query 2: <s>, </s>, previous, self, punctuation
    [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]
    """
    batch, seq = input_ids.shape
    valid = mask[:, :, None] & mask[:, None, :]  # (batch, q, k)
    lengths = mask.sum(-1)  # (batch,)
    keys = torch.arange(seq)
    bos = (keys == 0)[None, None, :].expand(batch, seq, seq)
    eos = (keys[None, :] == (lengths - 1)[:, None])[:, None, :].expand(batch, seq, seq)
    previous = (keys[None, :] == keys[:, None] - 1)[None].expand(batch, seq, seq)
    itself = torch.eye(seq, dtype=torch.bool)[None].expand(batch, seq, seq)
    punct = punctuation[:, None, :].expand(batch, seq, seq)
    return (torch.stack([bos, eos, previous, itself, punct]) & valid[None]).double()


def _punctuation_mask(tokenizer: Any, input_ids: np.ndarray, lookup: dict[int, bool]) -> torch.Tensor:
    special = set(tokenizer.all_special_ids)
    for token_id in np.unique(input_ids).tolist():
        if token_id not in lookup:
            lookup[token_id] = token_id not in special and is_punctuation(tokenizer.decode([token_id]))
    return torch.tensor([[lookup[i] for i in row] for row in input_ids.tolist()], dtype=torch.bool)


def split_pass(ctx: StepContext, split: str) -> SplitPass:
    """Run the model once over ``split`` (length-sorted batches): probabilities and head statistics."""
    from tqdm.auto import tqdm

    from roberta_math.evaluation.scoring import length_sorted_batches, pad_batch, token_ids
    from roberta_math.model.loading import quiet_transformers
    from roberta_math.model.preprocessing import apply_preprocessing

    loaded = ctx.loaded()
    sentences = ctx.split(split)
    config = loaded.model.config
    layers, heads = config.num_hidden_layers, config.num_attention_heads
    pad_id = config.pad_token_id if config.pad_token_id is not None else 1
    with quiet_transformers():
        texts = apply_preprocessing([s.text for s in sentences], loaded.preprocess)  # as score_texts does
        ids, _ = token_ids(texts, loaded.tokenizer, loaded.max_tokens)
    columns = list(loaded.label_columns)
    temperature = float(getattr(loaded, "temperature", 1.0))  # the fitted T, as score_texts applies it
    probabilities = np.zeros((len(sentences), len(LABELS)))  # (n, 3)
    totals = torch.zeros(len(HEAD_STATISTICS), layers, heads, dtype=torch.float64)
    uniform = torch.zeros(len(HEAD_STATISTICS), dtype=torch.float64)
    queries = torch.zeros(len(HEAD_STATISTICS), dtype=torch.float64)
    lookup: dict[int, bool] = {}
    batches = length_sorted_batches([len(row) for row in ids], ctx.params.batch_size)
    with torch.inference_mode(), tqdm(total=len(sentences), desc=f"attention on the {split} split", unit="sentence",
                                      disable=not ctx.progress, leave=False) as bar:
        for batch in batches:
            input_ids, attention_mask = pad_batch([ids[i] for i in batch], pad_id)  # (b, seq) each
            ids_t, mask_t = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
            out = loaded.model(input_ids=ids_t, attention_mask=mask_t, output_attentions=True)
            ctx.count_forward(len(batch))
            probabilities[batch] = torch.softmax(out.logits.double() / temperature, dim=-1)[:, columns].numpy()
            mask = mask_t.bool()
            selection = key_selections(ids_t, mask, _punctuation_mask(loaded.tokenizer, input_ids, lookup))  # (S, b, q, k)
            # "previous" has no key for the first query: it is left out of that average.
            query_ok = mask.double()[None].repeat(len(HEAD_STATISTICS), 1, 1)  # (S, b, q)
            query_ok[HEAD_STATISTICS.index("previous"), :, 0] = 0.0
            for l, att in enumerate(out.attentions):  # att: (b, heads, q, k)
                share = torch.einsum("bhqk,sbqk->sbhq", att.double(), selection)  # (S, b, heads, q)
                totals[:, l] += torch.einsum("sbhq,sbq->sh", share, query_ok)
            lengths = mask.sum(-1, keepdim=True).double()  # (b, 1)
            uniform += torch.einsum("sbq,sbq->s", selection.sum(-1) / lengths[None], query_ok)
            queries += query_ok.sum((1, 2))
            bar.update(len(batch))
    denominator = queries.clamp_min(1.0)
    return SplitPass(
        split=split,
        sentences=list(sentences),
        probabilities=probabilities,
        shares=(totals / denominator[:, None, None]).numpy(),
        uniform=(uniform / denominator).numpy(),
        queries=queries.numpy(),
    )


def cached_split_pass(ctx: StepContext) -> SplitPass:
    """:func:`split_pass` over the evaluation split, computed once per build."""
    split = ctx.params.evaluation_split
    return ctx.memo(f"split_pass:{split}", lambda: split_pass(ctx, split))


def head_statistics_rows(result: SplitPass) -> list[dict[str, Any]]:
    """One JSON row per (layer, head), 1-based, with the five shares."""
    _, layers, heads = result.shares.shape
    return [
        {"layer": l + 1, "head": h + 1, **{s: float(result.shares[i, l, h]) for i, s in enumerate(HEAD_STATISTICS)}}
        for l in range(layers)
        for h in range(heads)
    ]


def head_statistics_figure(result: SplitPass, model_name: str) -> bytes:
    """Heatmap of the five shares per head, values written in; one colour bar on a 0-1 scale.

    Up to 32 heads: one row per (layer, head), one column per statistic, with the
    uniform-attention row below for reference. More heads (roberta-base has 144): one
    layers-by-heads panel per statistic.
    """
    import matplotlib.pyplot as plt

    stats, layers, heads = result.shares.shape
    n = len(result.sentences)
    # Colour scale up to the largest share (rounded up to a tenth): small shares keep some contrast.
    top = max(0.1, math.ceil(10 * float(max(result.shares.max(), result.uniform.max())) - 1e-9) / 10)
    title = f"Share of attention per head, over every token of the {n:,} {result.split}-split sentences"
    if layers * heads <= 32:
        values = result.shares.reshape(stats, layers * heads).T  # (layers*heads, stats)
        rows = [f"layer {l + 1}, head {h + 1}" for l in range(layers) for h in range(heads)]
        fig, (ax, ax_uniform) = plt.subplots(
            2, 1, figsize=(7.6, 0.34 * len(rows) + 2.0), sharex=True,
            gridspec_kw={"height_ratios": (len(rows), 1.2), "hspace": 0.08},
        )
        image = ax.imshow(values, cmap=ATTENTION_CMAP, vmin=0.0, vmax=top, aspect="auto")
        ax_uniform.imshow(result.uniform[None, :], cmap=ATTENTION_CMAP, vmin=0.0, vmax=top, aspect="auto")
        for axis, table in ((ax, values), (ax_uniform, result.uniform[None, :])):
            for i in range(table.shape[0]):
                for j in range(stats):
                    v = table[i, j]
                    axis.text(j, i, f"{100 * v:.0f}%", ha="center", va="center", fontsize=8.5,
                              color="black" if v > 0.55 * top else "white")
            for spine in axis.spines.values():
                spine.set_visible(False)
        ax.set_yticks(range(len(rows)), rows, fontsize=8.5)
        ax_uniform.set_yticks([0], ["uniform attention"], fontsize=8.5, style="italic")
        ax_uniform.set_xticks(range(stats), [plain(STATISTIC_TITLES[s]) for s in HEAD_STATISTICS], rotation=20, ha="right")
        ax.tick_params(axis="x", length=0)
        ax.set_title(title, fontsize=10.5, loc="left")
        colourbar = fig.colorbar(image, ax=[ax, ax_uniform], fraction=0.04, pad=0.03)
    else:
        ncols = 3
        nrows = math.ceil(stats / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols + 1.0, 3.8 * nrows + 0.6), squeeze=False)
        image = None
        for index, ax in enumerate(axes.flat):
            if index >= stats:
                ax.axis("off")
                continue
            image = ax.imshow(result.shares[index], cmap=ATTENTION_CMAP, vmin=0.0, vmax=top)
            name = HEAD_STATISTICS[index]
            ax.set_title(f"{plain(STATISTIC_TITLES[name])} (uniform: {result.uniform[index]:.2f})", fontsize=10)
            ax.set_xticks(range(heads), [str(h + 1) for h in range(heads)], fontsize=7)
            ax.set_yticks(range(layers), [str(l + 1) for l in range(layers)], fontsize=7)
            ax.set_xlabel("head", fontsize=9)
            ax.set_ylabel("layer", fontsize=9)
            for spine in ax.spines.values():
                spine.set_visible(False)
        fig.suptitle(title, fontsize=11, fontweight="bold")
        colourbar = fig.colorbar(image, ax=list(axes.flat), fraction=0.03, pad=0.03)
    colourbar.set_label("share of attention")
    fig.text(0.01, 0.005, f"model: {plain(short_model_name(model_name))}", fontsize=7, color="0.5")
    return svg_bytes(fig)


def head_statistics_markdown(rows: Sequence[dict[str, Any]], uniform: Sequence[float]) -> str:
    """The per-head shares as a percent table, with the uniform-attention row for reference."""
    header = ["layer", "head", *[markdown_cell(STATISTIC_TITLES[s].removeprefix("on ")) for s in HEAD_STATISTICS]]
    body = [[r["layer"], r["head"], *[f"{100 * r[s]:.1f}%" for s in HEAD_STATISTICS]] for r in rows]
    body.append(["*uniform*", "", *[f"*{100 * u:.1f}%*" for u in uniform]])
    return markdown_table(header, body, align="rr" + "r" * len(HEAD_STATISTICS))


def model_score_spread(ctx: StepContext, sentences: Sequence[Any]) -> dict[str, Any]:
    r"""Per head: the within-row variance of the scaled scores, after training and at initialisation.

    The measurement is :func:`roberta_math.model.score_spread.row_centred_score_variance`,
    run on the same sentences twice: with the model that builds the site, and with the
    same architecture freshly initialised (:func:`~roberta_math.model.score_spread.initialised_like`,
    seed ``ctx.params.seed``). This function only prepares the batches and arranges the result.
    """
    from roberta_math.evaluation.scoring import length_sorted_batches, pad_batch, token_ids
    from roberta_math.model.loading import quiet_transformers
    from roberta_math.model.preprocessing import apply_preprocessing
    from roberta_math.model.score_spread import initialised_like, row_centred_score_variance

    loaded = ctx.loaded()
    config = loaded.model.config
    pad_id = config.pad_token_id if config.pad_token_id is not None else 1
    with quiet_transformers():
        texts = apply_preprocessing([s.text for s in sentences], loaded.preprocess)  # as score_texts does
        ids, _ = token_ids(texts, loaded.tokenizer, loaded.max_tokens)
    batches = []
    for batch in length_sorted_batches([len(r) for r in ids], ctx.params.batch_size):
        input_ids, attention_mask = pad_batch([ids[i] for i in batch], pad_id)
        batches.append((torch.from_numpy(input_ids), torch.from_numpy(attention_mask)))
    trained = row_centred_score_variance(loaded.model, batches)  # (layers, heads)
    ctx.count_forward(len(sentences))
    with quiet_transformers():
        fresh = initialised_like(loaded.model, seed=ctx.params.seed)
    initial = row_centred_score_variance(fresh, batches)  # (layers, heads)
    ctx.count_forward(len(sentences))
    layers, heads = trained.shape
    return {
        "sentences": len(sentences),
        "query_rows": int(sum(int(mask.sum()) for _, mask in batches)),
        "initializer_range": float(getattr(config, "initializer_range", 0.02)),
        "init_seed": ctx.params.seed,
        "numbering": "1-based",
        "rows": [
            {"layer": l + 1, "head": h + 1, "initial": float(initial[l, h]), "trained": float(trained[l, h])}
            for l in range(layers)
            for h in range(heads)
        ],
    }


def _ratio(x: float) -> str:
    """A ratio for prose and tables: whole numbers from 100 up (4,757, not 4.76e+03), three significant digits below.

    >>> _ratio(4757.2), _ratio(44.04), _ratio(0.5)
    ('4,757', '44', '0.5')
    """
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def score_spread_markdown(result: dict[str, Any]) -> str:
    """A one-paragraph summary of the measured range, then the per-head table."""
    rows = result["rows"]
    initial = [r["initial"] for r in rows]
    trained = [r["trained"] for r in rows]
    ratios = [t / i for t, i in zip(trained, initial, strict=True)]
    summary = (
        f"Measured on {result['sentences']} test sentences ({result['query_rows']:,} query rows) for each of the "
        f"{len(rows)} heads: at initialisation the within-row variance lies between {min(initial):.3g} and "
        f"{max(initial):.3g}; after training, between {min(trained):.3g} and {max(trained):.3g}, "
        f"{_ratio(min(ratios))} to {_ratio(max(ratios))} times the same head's value at initialisation.\n\n"
    )
    header = ["layer", "head", "at initialisation", "after training", "after / at init"]
    body = [[r["layer"], r["head"], f"{r['initial']:.4g}", f"{r['trained']:.4g}", _ratio(r["trained"] / r["initial"])]
            for r in rows]
    return summary + markdown_table(header, body, align="rrrrr")


def score_spread_figure(result: dict[str, Any], model_name: str) -> bytes:
    r"""One point pair per head, grouped by layer, on a log scale: at initialisation and after training."""
    import matplotlib.pyplot as plt

    rows = result["rows"]
    layers = sorted({r["layer"] for r in rows})
    heads = max(r["head"] for r in rows)
    x = np.array([(r["layer"] - 1) * (heads + 1) + r["head"] for r in rows], dtype=float)
    initial = np.array([r["initial"] for r in rows])
    trained = np.array([r["trained"] for r in rows])
    fig, ax = plt.subplots(figsize=(min(11.0, max(7.0, 3.0 + 0.28 * len(rows))), 4.0))
    ax.vlines(x, np.minimum(initial, trained), np.maximum(initial, trained), color="0.75", linewidth=1)
    ax.scatter(x, initial, s=22, facecolors="none", edgecolors=PALETTE[0], label="at initialisation", zorder=3)
    ax.scatter(x, trained, s=22, color=PALETTE[1], label="after training", zorder=3)
    ax.set_yscale("log")
    centres = [(layer - 1) * (heads + 1) + (heads + 1) / 2 for layer in layers]
    ax.set_xticks(centres, [f"layer {layer}" for layer in layers], fontsize=8 if len(layers) > 6 else 10)
    ax.set_xlim(0, len(layers) * (heads + 1))
    ax.set_ylabel("mean over rows of $\\mathrm{Var}_j(S_{ij})$")
    ax.set_title(f"Spread of each head's scaled scores within a query row ({heads} heads per layer)", fontsize=10)
    ax.grid(axis="y", which="major", color="0.9")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.035))
    fig.text(0.01, 0.005, f"model: {plain(short_model_name(model_name))}; {result['sentences']} sentences; "
             f"initialisation: N(0, {result['initializer_range']:g}^2), seed {result['init_seed']}",
             fontsize=7, color="0.5")
    return svg_bytes(fig)


def build_head_statistics(ctx: StepContext) -> dict[str, bytes]:
    """The ``heads`` step: per-head attention shares on the test split, and the model's q.k variance."""
    from roberta_math.figures.head_summary import sink_heads_markdown

    result = cached_split_pass(ctx)
    name = ctx.loaded().provenance.name
    rows = head_statistics_rows(result)
    data = {
        "split": result.split,
        "sentences": len(result.sentences),
        "statistics": list(HEAD_STATISTICS),
        "definitions": {s: STATISTIC_TITLES[s] for s in HEAD_STATISTICS},
        "numbering": "1-based",
        "rows": rows,
        "uniform": {s: float(u) for s, u in zip(HEAD_STATISTICS, result.uniform, strict=True)},
        "query_tokens": {s: int(q) for s, q in zip(HEAD_STATISTICS, result.queries, strict=True)},
    }
    # Every k-th sentence, so that all four domains are in the sample (the split is in corpus order).
    stride = max(1, len(result.sentences) // max(ctx.params.model_qk_sentences, 1))
    spread = model_score_spread(ctx, result.sentences[::stride][: ctx.params.model_qk_sentences])
    return {
        "head_statistics.json": json_bytes(round_floats(data, 6)),
        "head_statistics.md": head_statistics_markdown(rows, result.uniform.tolist()).encode(),
        "sink_heads.md": (sink_heads_markdown(rows, data["uniform"], (f"the {COMPACT_MODEL_TITLE}" if name == "embedded"
                                                                      else f"`{short_model_name(name)}`")) + "\n").encode(),
        "head_statistics.svg": head_statistics_figure(result, name),
        "score_spread_model.json": json_bytes(round_floats(spread, 6)),
        "score_spread_model.md": score_spread_markdown(spread).encode(),
        "score_spread_model.svg": score_spread_figure(spread, name),
    }

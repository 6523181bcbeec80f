r"""The explorer's JSON: tokens, every layer and head's attention, and the prediction, per sentence.

The attention weights and the logits are computed by the package's own forward pass,
:func:`~roberta_math.model.forward.classify_from_scratch` (checked against ``transformers``
by the equivalence tests: logits within 1e-4, attention weights within 1e-5), so the
explorer shows the equations at work; for layer $\ell$ and head $h$,

$$A^{(\ell, h)} = \operatorname{softmax}\!\left(\frac{Q^{[h]} K^{[h]\top}}{\sqrt{d_h}} + M\right),
\qquad p = \operatorname{softmax}(z).$$

Layout of ``explorer.json`` (weights rounded to 4 decimals; layers and heads 0-based
in the arrays, shown 1-based on the page)::

    {"format": 1, "model": {"name", "layers", "heads"}, "labels": [...],
     "examples": [{"text", "tokens", "display", "ids",
                   "attention": [layer][head][query][key],
                   "prediction": {"label", "probabilities": {label: p}} | null}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from roberta_math.figures.render import json_bytes

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext
    from roberta_math.model.loading import LoadedModel

FORMAT_VERSION = 1
ASSET_DIR = Path(__file__).resolve().parent
ASSETS: tuple[str, ...] = ("explorer.js", "explorer.css")
"""Static files the explorer page loads, copied next to ``explorer.json``."""


def explorer_example(loaded: LoadedModel, text: str, digits: int = 4) -> dict[str, Any]:
    """One sentence for the explorer: its tokens, all attention matrices and the model's prediction.

    ``attention[l][h][i][j]`` is the weight query token ``i`` gives key token ``j`` in head
    ``h`` of layer ``l``; each row sums to 1 (up to the rounding to ``digits`` decimals).
    """
    from roberta_math.figures.model_figures import token_display
    from roberta_math.model.forward import classify_from_scratch

    tokenizer = loaded.tokenizer
    from roberta_math.model.preprocessing import apply_preprocessing
    from roberta_math.model.truncation import encode_truncated  # cut with a TruncationWarning, as predict does

    encoded = encode_truncated(tokenizer, apply_preprocessing([text], getattr(loaded, "preprocess", "none"))[0], loaded.max_tokens)
    input_ids = encoded["input_ids"]  # (1, seq)
    logits, attentions = classify_from_scratch(loaded.model, input_ids, encoded["attention_mask"])
    weights = torch.stack([a[0] for a in attentions]).double()  # (layers, heads, seq, seq)
    tokens = tokenizer.convert_ids_to_tokens(input_ids[0].tolist())
    prediction = None
    if loaded.labels:
        probs = torch.softmax(logits.double(), dim=-1)[0, list(loaded.label_columns)]  # (3,) in LABELS order
        best = int(probs.argmax())
        prediction = {
            "label": loaded.labels[best],
            "probabilities": {name: round(float(p), digits) for name, p in zip(loaded.labels, probs, strict=True)},
        }
    return {
        "text": text,
        "tokens": tokens,
        "display": [token_display(tokenizer, t) for t in tokens],
        "ids": input_ids[0].tolist(),
        "attention": [[[[round(float(w), digits) for w in row] for row in head] for head in layer] for layer in weights],
        "prediction": prediction,
    }


def explorer_payload(loaded: LoadedModel, sentences: Sequence[str], digits: int = 4) -> dict[str, Any]:
    """The whole ``explorer.json`` document for ``sentences`` (see the module docstring)."""
    config = loaded.model.config
    return {
        "format": FORMAT_VERSION,
        "model": {
            "name": loaded.provenance.name,
            "layers": int(config.num_hidden_layers),
            "heads": int(config.num_attention_heads),
        },
        "labels": list(loaded.labels),
        "examples": [explorer_example(loaded, text, digits) for text in sentences],
    }


def explorer_assets() -> dict[str, bytes]:
    """``explorer.js`` and ``explorer.css``, as shipped in the package."""
    return {name: (ASSET_DIR / name).read_bytes() for name in ASSETS}


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``explorer`` step: ``explorer.json`` for the configured sentences, plus the JS and CSS."""
    sentences = ctx.params.explorer_sentences
    payload = explorer_payload(ctx.loaded(), sentences)
    ctx.count_forward(len(sentences))
    return {"explorer.json": json_bytes(payload, compact=True), **explorer_assets()}

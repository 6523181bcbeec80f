r"""The explorer's JSON: tokens, every layer and head's attention, and the prediction, per sentence.

The attention weights and the logits are computed by the package's own forward pass,
:func:`~roberta_math.model.forward.classify_from_scratch` (checked against ``transformers``
by the equivalence tests: logits within 1e-4, attention weights within 1e-5), so the
explorer shows the equations at work; for layer $\ell$ and head $h$,

$$A^{(\ell, h)} = \operatorname{softmax}\!\left(\frac{Q^{[h]} K^{[h]\top}}{\sqrt{d_h}} + M\right),
\qquad p = \operatorname{softmax}(z / T).$$

Each sentence also carries the per-token attributions $\chi_t$ of its predicted class's logit
(see :mod:`roberta_math.interpret`): Integrated Gradients (the ``<mask>`` baseline,
:data:`ATTRIBUTION_STEPS` Gauss-Legendre steps), gradient $\times$ input, leave-one-out
occlusion by ``<mask>`` and attention rollout, one score per token of ``tokens``.

Layout of ``explorer.json`` (weights rounded to 4 decimals, attributions to 6; layers and
heads 0-based in the arrays, shown 1-based on the page)::

    {"format": 1, "model": {"name", "layers", "heads"}, "labels": [...],
     "attribution_methods": [[method, name], ...],  (a list: the buttons' order)
     "examples": [{"text", "tokens", "display", "ids",
                   "attention": [layer][head][query][key],
                   "prediction": {"label", "probabilities": {label: p}} | null,
                   "attributions": {"label", "scores": {method: [phi_t per token]},
                                    "completeness_error"} | null}]}
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
ATTRIBUTION_METHODS: dict[str, str] = {
    "ig": "Integrated Gradients",
    "gradxinput": "gradient \u00d7 input",
    "occlusion": "occlusion (<mask>)",
    "rollout": "attention rollout",
}
"""The methods the explorer colours tokens by (keys of :data:`roberta_math.interpret.explain.METHODS`), with their names."""
ATTRIBUTION_STEPS = 50
"""Integrated Gradients steps $m$ for the explorer's sentences."""
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
    from roberta_math.model.truncation import (
        encode_truncated,  # cut with a TruncationWarning, as predict does
    )

    encoded = encode_truncated(tokenizer, apply_preprocessing([text], getattr(loaded, "preprocess", "none"))[0], loaded.max_tokens)
    input_ids = encoded["input_ids"]  # (1, seq)
    logits, attentions = classify_from_scratch(loaded.model, input_ids, encoded["attention_mask"])
    weights = torch.stack([a[0] for a in attentions]).double()  # (layers, heads, seq, seq)
    tokens = tokenizer.convert_ids_to_tokens(input_ids[0].tolist())
    prediction = None
    if loaded.labels:
        temperature = float(getattr(loaded, "temperature", 1.0))  # fitted on validation, as score_texts applies it
        probs = torch.softmax(logits.double() / temperature, dim=-1)[0, list(loaded.label_columns)]  # (3,) in LABELS order
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
        "attributions": explorer_attributions(loaded, input_ids, logits[0]) if prediction else None,
    }


def explorer_attributions(loaded: LoadedModel, input_ids: torch.Tensor, logits: torch.Tensor, digits: int = 6) -> dict[str, Any]:
    r"""Each method of :data:`ATTRIBUTION_METHODS`: $\chi_t$ for every token of ``input_ids`` ``(1, seq)``, for the predicted class.

    ``logits``: $z$ ``(num_labels,)`` of the same input (its argmax is the class explained).
    Returns ``{"label", "scores": {method: [phi_t]}, "completeness_error"}`` (Integrated Gradients' error).
    """
    from roberta_math.interpret.explain import scores_for_ids
    from roberta_math.model.weights import read_weights

    weights = read_weights(loaded.model)
    column = int(logits.argmax())
    tokenizer = loaded.tokenizer
    scores, error = {}, None
    for method in ATTRIBUTION_METHODS:
        phi, extra = scores_for_ids(weights, input_ids, method, column, mask_id=tokenizer.mask_token_id,
                                    special_ids=(tokenizer.bos_token_id, tokenizer.eos_token_id), steps=ATTRIBUTION_STEPS)
        scores[method] = [round(float(v), digits) for v in phi]
        error = extra.get("completeness_error", error)
    label = loaded.labels[list(loaded.label_columns).index(column)]
    return {"label": label, "scores": scores, "completeness_error": error}


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
        "attribution_methods": [[key, name] for key, name in ATTRIBUTION_METHODS.items()],
        "examples": [explorer_example(loaded, text, digits) for text in sentences],
    }


def explorer_assets() -> dict[str, bytes]:
    """``explorer.js`` and ``explorer.css``, as shipped in the package."""
    return {name: (ASSET_DIR / name).read_bytes() for name in ASSETS}


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``explorer`` step: ``explorer.json`` for the configured sentences, plus the JS and CSS."""
    sentences = ctx.params.explorer_sentences
    from roberta_math.figures.build import one_torch_thread

    with one_torch_thread():  # the attributions sum float32 gradients: one order, the same bytes each build
        payload = explorer_payload(ctx.loaded(), sentences)
    ctx.count_forward(len(sentences))
    return {"explorer.json": json_bytes(payload, compact=True), **explorer_assets()}

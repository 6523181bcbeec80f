r"""Head ablation (Michel, Levy and Neubig 2019): the classifier's accuracy with attention heads masked out.

Multi-head attention concatenates the heads' outputs and projects them,
$\operatorname{MHA}(X) = [O^{[1]}, \ldots, O^{[H]}]\, W_O^\top + b_O$, so head $h$ reaches the
layer's output only through the columns $(h-1) d_h + 1, \ldots, h\, d_h$ of $W_O$:

$$\operatorname{MHA}(X) = \sum_{h=1}^{H} \xi_h\, O^{[h]}\, \big(W_O^{[h]}\big)^\top + b_O,
\qquad \xi_h \in \{0, 1\},$$

where $W_O^{[h]}$ is the $d \times d_h$ block of those columns. Masking head $h$ ($\xi_h = 0$,
Michel et al. 2019, section 2) is therefore exactly zeroing that block. Two experiments: each head
masked alone, and each head kept alone in its layer (every other head of that layer masked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from roberta_math.math import Linear
from roberta_math.model.weights import RobertaWeights


def mask_heads(weights: RobertaWeights, heads: Iterable[tuple[int, int]]) -> RobertaWeights:
    r"""A copy of ``weights`` with $\xi_h = 0$ for each ``(layer, head)`` (0-based, as in code).

    Raises ``ValueError`` for a layer or head out of range.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> w = mask_heads(read_weights(tiny_model()), [(1, 0)])  # d = 8, 2 heads: columns 0..3 of layer 2's W_O
    >>> w.layers[1].attention.output.weight[:, :4].abs().sum().item(), bool(w.layers[1].attention.output.weight[:, 4:].abs().sum() > 0)
    (0.0, True)
    """
    layers = list(weights.layers)
    d = weights.embeddings.word.shape[1]
    width = d // weights.num_heads  # d_h
    for layer, head in heads:
        if not (0 <= layer < len(layers) and 0 <= head < weights.num_heads):
            raise ValueError(f"no head ({layer}, {head}): the model has {len(layers)} layers of {weights.num_heads} heads (0-based)")
        attention = layers[layer].attention
        w_o = attention.output.weight.clone()  # (d, d): columns = the heads' concatenated outputs
        w_o[:, head * width:(head + 1) * width] = 0.0
        layers[layer] = layers[layer]._replace(attention=attention._replace(output=Linear(w_o, attention.output.bias)))
    return dataclasses.replace(weights, layers=tuple(layers))


def _scores(weights: RobertaWeights, rows: Sequence[Sequence[int]], labels: Sequence[int], columns: Sequence[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    from roberta_math.interpret.faithfulness import probabilities

    probs = probabilities(weights, rows)[:, list(columns)]  # (N, 3) in the project's class order
    predicted = probs.argmax(-1).tolist()
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2], zero_division=0))}


@torch.no_grad()
def head_ablation(
    weights: RobertaWeights, rows: Sequence[Sequence[int]], labels: Sequence[int], columns: Sequence[int] = (0, 1, 2)
) -> dict[str, Any]:
    """Accuracy and macro-F1: unmasked, each head masked, each head kept alone in its layer.

    - ``rows``: token ids per sentence; ``labels``: classes in the project's order; ``columns``:
      the logit column of each class (``LoadedModel.label_columns``).
    - Returns ``{"full": {...}, "masked": [[{...} per head] per layer], "alone": [[...]]}``.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> r = head_ablation(read_weights(tiny_model()), [[0, 5, 2], [0, 6, 7, 2]], [0, 2])
    >>> len(r["masked"]), len(r["masked"][0]), sorted(r["full"])
    (2, 2, ['accuracy', 'macro_f1'])
    """
    layers, heads = len(weights.layers), weights.num_heads
    result: dict[str, Any] = {"full": _scores(weights, rows, labels, columns), "masked": [], "alone": []}
    for layer in range(layers):
        result["masked"].append([_scores(mask_heads(weights, [(layer, h)]), rows, labels, columns) for h in range(heads)])
        result["alone"].append([
            _scores(mask_heads(weights, [(layer, g) for g in range(heads) if g != h]), rows, labels, columns)
            for h in range(heads)
        ])
    return result

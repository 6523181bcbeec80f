r"""Head ablation (Michel, Levy and Neubig 2019): the classifier's accuracy with attention heads masked out.

Multi-head attention concatenates the heads' outputs into $G = [G^{[1]}, \ldots, G^{[H]}]$ and projects
them, $\operatorname{MHA}(X) = G\, W_O^\top + b_O$, so head $h$ reaches the layer's output only through
the columns $(h-1) d_h + 1, \ldots, h\, d_h$ of $W_O$:

$$\begin{gathered}
\operatorname{MHA}(X) = \sum_{h=1}^{H} \operatorname{gate}_h\, G^{[h]}\, \big(W_O^{[h]}\big)^\top + b_O,
\\ \operatorname{gate}_h \in \{0, 1\},
\end{gathered}$$

where $W_O^{[h]}$ is the $d \times d_h$ block of those columns. Masking head $h$ ($\operatorname{gate}_h = 0$,
Michel et al. 2019, section 2) is therefore exactly zeroing that block. Two experiments: each head
masked alone, and each head kept alone in its layer (every other head of that layer masked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from roberta_math.interpret.parallel import BatchRunner
from roberta_math.math import Linear
from roberta_math.model.weights import RobertaWeights


def mask_heads(weights: RobertaWeights, heads: Iterable[tuple[int, int]]) -> RobertaWeights:
    r"""A copy of ``weights`` with $\operatorname{gate}_h = 0$ for each ``(layer, head)`` (0-based, as in code).

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


def _scores(probs: torch.Tensor, labels: Sequence[int], columns: Sequence[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    predicted = probs[:, list(columns)].argmax(-1).tolist()  # (N,) in the project's class order
    return {"accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2], zero_division=0))}


def configurations(layers: int, heads: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """Every run of :func:`head_ablation`: ``(layer, heads masked)``; none first, then each layer's "masked" and "alone" runs.

    >>> configurations(1, 2)
    [(0, []), (0, [(0, 0)]), (0, [(0, 1)]), (0, [(0, 1)]), (0, [(0, 0)])]
    """
    runs: list[tuple[int, list[tuple[int, int]]]] = [(0, [])]
    for layer in range(layers):
        runs += [(layer, [(layer, h)]) for h in range(heads)]
        runs += [(layer, [(layer, g) for g in range(heads) if g != h]) for h in range(heads)]
    return runs


@torch.no_grad()
def _batch_probabilities(weights: RobertaWeights, rows: Sequence[Sequence[int]]) -> Tensor:
    r"""softmax(z) of one batch under every configuration, ``(runs, batch, num_labels)``.

    The inputs $X^{(0)}, \ldots, X^{(L-1)}$ of the unmasked layers are computed once; a run that
    masks heads of layer $\ell$ starts from $X^{(\ell-1)}$, which the masks do not change.
    """
    from roberta_math.interpret.faithfulness import _pad
    from roberta_math.interpret.gradients import (
        _stem,
        input_embeddings,
        logits_from_hidden,
    )
    from roberta_math.math import encoder_layer, layer_norm

    ids, mask = _pad(rows, weights.padding_idx)  # (batch, seq)
    hidden = layer_norm(input_embeddings(weights, ids) + _stem(weights, ids), weights.embeddings.ln_gamma,
                        weights.embeddings.ln_beta, weights.layer_norm_eps)  # X^(0)
    inputs = [hidden]
    for layer in weights.layers[:-1]:
        hidden, _ = encoder_layer(hidden, layer, weights.num_heads, mask, weights.layer_norm_eps)
        inputs.append(hidden)  # X^(l): the input of layer l + 1
    runs = configurations(len(weights.layers), weights.num_heads)
    return torch.stack([
        torch.softmax(logits_from_hidden(mask_heads(weights, masked), inputs[layer], mask, layer), dim=-1)
        for layer, masked in runs
    ])  # (runs, batch, C)


@torch.no_grad()
def head_ablation(
    weights: RobertaWeights,
    rows: Sequence[Sequence[int]],
    labels: Sequence[int],
    columns: Sequence[int] = (0, 1, 2),
    *,
    batch_size: int = 256,
    runner: BatchRunner | None = None,
) -> dict[str, Any]:
    r"""Accuracy and macro-F1: unmasked, each head masked, each head kept alone in its layer.

    - ``rows``: token ids per sentence; ``labels``: classes in the project's order; ``columns``:
      the logit column of each class (``LoadedModel.label_columns``).
    - ``runner``: a :class:`~roberta_math.interpret.parallel.BatchRunner` of the same weights
      to spread the batches over processes (the result is the same).
    - Returns ``{"full": {...}, "masked": [[{...} per head] per layer], "alone": [[...]]}``.

    Masking heads of layer $\ell$ leaves the layers below it unchanged, so each run starts from
    the unmasked model's $X^{(\ell-1)}$, computed once.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> r = head_ablation(read_weights(tiny_model()), [[0, 5, 2], [0, 6, 7, 2]], [0, 2])
    >>> len(r["masked"]), len(r["masked"][0]), sorted(r["full"])
    (2, 2, ['accuracy', 'macro_f1'])
    """
    layers, heads = len(weights.layers), weights.num_heads
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))  # similar lengths together, longest (costliest) first
    chunks = [order[start:start + batch_size] for start in range(0, len(rows), batch_size)]
    jobs = [([rows[i] for i in chunk],) for chunk in chunks]
    done = runner.map(_batch_probabilities, jobs) if runner is not None else [_batch_probabilities(weights, *j) for j in jobs]
    probs = torch.empty(len(configurations(layers, heads)), len(rows), done[0].shape[-1] if done else 3)
    for chunk, p in zip(chunks, done):
        probs[:, torch.tensor(chunk, dtype=torch.long)] = p  # (runs, N, C) in the order of rows
    scores = [_scores(p, labels, columns) for p in probs]
    result: dict[str, Any] = {"full": scores[0], "masked": [], "alone": []}
    for layer in range(layers):
        first = 1 + layer * 2 * heads
        result["masked"].append(scores[first:first + heads])
        result["alone"].append(scores[first + heads:first + 2 * heads])
    return result

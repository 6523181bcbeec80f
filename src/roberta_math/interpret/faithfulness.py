r"""How faithful are the attributions? ERASER's comprehensiveness and sufficiency, rank agreement, a lexicon.

For a sentence $x$ whose predicted class is $c$ with probability $p_c(x)$, and $r_k$ the
$k$ per cent of its tokens (``<s>`` and ``</s>`` excluded, at least one) that a method ranks
highest (DeYoung et al. 2020, ERASER, section 4):

$$\text{comprehensiveness}_k = p_c(x) - p_c(x \setminus r_k), \qquad
\text{sufficiency}_k = p_c(x) - p_c(r_k),$$

where $x \setminus r_k$ deletes those tokens and $r_k$ keeps only them (in their order, between
``<s>`` and ``</s>``). Both are averaged over the sentences, and over the bins
$k \in \{10, 20, 50\}$ into the area over the perturbation curve,

$$\text{AOPC} = \frac{1}{|K|} \sum_{k \in K} \text{comprehensiveness}_k \quad
\text{(and the same for sufficiency)}.$$

A faithful ranking has *high* comprehensiveness (removing its top tokens hurts) and *low*
sufficiency (its top tokens alone keep the prediction). A random order of the tokens, drawn
with a fixed seed, is the baseline every method must beat.

Rank agreement: Kendall's $\tau_b$ between two methods' scores over one sentence's tokens,
averaged over the sentences with at least three. Lexicon: Spearman's $\rho$ between a
method's score of a whole-word token and that word's VADER valence (Hutto and Gilbert 2014),
the score oriented towards *positive* ($+\phi$ when $c$ is positive, $-\phi$ when negative;
sentences predicted neutral are left out); for the unsigned methods (gradient norm, rollout)
$\rho$ is taken with $|$valence$|$.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from roberta_math.interpret.gradients import (
    input_embeddings,
    logit_gradient,
    logits_from_embeddings,
)
from roberta_math.interpret.integrated_gradients import integrated_gradients
from roberta_math.interpret.rollout import rollout_from_start
from roberta_math.model.weights import RobertaWeights

METHODS: tuple[str, ...] = ("ig", "gradxinput", "gradient", "rollout", "occlusion", "random")
"""The rankings compared: five attribution methods and a random order."""
SIGNED: frozenset[str] = frozenset({"ig", "gradxinput", "occlusion"})
FRACTIONS: tuple[float, ...] = (0.1, 0.2, 0.5)


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(list(r), dtype=torch.long)
    return ids, ids.ne(pad_id).long()


@torch.no_grad()
def probabilities(weights: RobertaWeights, rows: Sequence[Sequence[int]], batch_size: int = 256) -> Tensor:
    r"""$\operatorname{softmax}(z)$ of each id list (any lengths), ``(len(rows), num_labels)``, from the from-scratch forward pass.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> p = probabilities(read_weights(tiny_model()), [[0, 5, 2], [0, 5, 6, 7, 2]])
    >>> p.shape, torch.allclose(p.sum(-1), torch.ones(2))
    (torch.Size([2, 3]), True)
    """
    out = []
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # similar lengths together: less padding
    for start in range(0, len(rows), batch_size):
        chunk = [rows[i] for i in order[start:start + batch_size]]
        ids, mask = _pad(chunk, weights.padding_idx)
        out.append(torch.softmax(logits_from_embeddings(weights, ids, input_embeddings(weights, ids), mask), dim=-1))
    probs = torch.cat(out) if out else torch.zeros(0, weights.head_out.weight.shape[0])  # type: ignore[union-attr]
    result = torch.empty_like(probs)
    result[torch.tensor(order, dtype=torch.long)] = probs
    return result


def attribute_batch(
    weights: RobertaWeights,
    rows: Sequence[Sequence[int]],
    *,
    steps: int = 16,
    mask_id: int = 4,
    seed: int = 0,
) -> tuple[Tensor, dict[str, list[Tensor]]]:
    r"""Every method's scores for a batch of id lists (no padding inside): the predicted classes and ``{method: [(n_i,), ...]}``.

    The class $c$ of each sentence is its predicted one; Integrated Gradients uses the ``<mask>``
    baseline and ``steps`` Gauss-Legendre nodes; occlusion replaces each token by ``<mask>``;
    ``random`` is a uniform score per token from a generator seeded with ``seed``.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> c, scores = attribute_batch(read_weights(tiny_model()), [[0, 5, 6, 2], [0, 7, 2]], steps=4)
    >>> sorted(scores), [len(s) for s in scores["ig"]]
    (['gradient', 'gradxinput', 'ig', 'ig_completeness_error', 'occlusion', 'random', 'rollout'], [4, 3])
    """
    from roberta_math.model.forward import encode_from_scratch

    ids, mask = _pad(rows, weights.padding_idx)  # (batch, seq)
    lengths = [len(r) for r in rows]
    grads = logit_gradient(weights, ids, None, None, mask)
    target = grads.target  # (batch,): predicted classes
    scores: dict[str, Tensor] = {
        "gradxinput": (grads.gradient * grads.embeddings).sum(-1),
        "gradient": grads.gradient.norm(dim=-1),
    }
    ig = integrated_gradients(weights, ids, target, baseline_id=mask_id, steps=steps, attention_mask=mask,
                              chunk=max(256, ids.shape[0]))
    scores["ig"] = ig.attributions
    with torch.no_grad():
        _, attentions = encode_from_scratch(weights, ids, mask)
    scores["rollout"] = rollout_from_start(attentions)
    # occlusion: every content token of every sentence replaced by <mask>, all in one batch
    variants, where = [], []
    for i, r in enumerate(rows):
        for t in range(1, len(r) - 1):
            changed = list(r)
            changed[t] = mask_id
            variants.append(changed)
            where.append((i, t))
    with torch.no_grad():
        z_full = logits_from_embeddings(weights, ids, input_embeddings(weights, ids), mask)  # (batch, C)
    occ = torch.zeros(ids.shape, dtype=z_full.dtype)
    if variants:
        vids, vmask = _pad(variants, weights.padding_idx)
        z_var = torch.cat([
            logits_from_embeddings(weights, vids[s:s + 512], input_embeddings(weights, vids[s:s + 512]), vmask[s:s + 512])
            for s in range(0, len(variants), 512)
        ]) if len(variants) else None
        for k, (i, t) in enumerate(where):
            occ[i, t] = z_full[i, target[i]] - z_var[k, target[i]]  # type: ignore[index]
    scores["occlusion"] = occ
    generator = torch.Generator().manual_seed(seed)
    scores["random"] = torch.rand(ids.shape, generator=generator)
    per_sentence = {m: [s[i, : lengths[i]].detach().clone() for i in range(len(rows))] for m, s in scores.items()}
    per_sentence["ig_completeness_error"] = list(ig.completeness_error)
    return target, per_sentence


def top_k(scores: Tensor, fraction: float) -> list[int]:
    r"""Positions of the $\lceil \text{fraction} \cdot (n - 2) \rceil$ highest-scoring content tokens (at least one); ties by position.

    >>> top_k(torch.tensor([9.0, 0.1, 0.5, 0.3, 0.5, 9.0]), 0.5)
    [2, 4]
    """
    content = list(range(1, scores.shape[0] - 1))
    k = max(1, math.ceil(fraction * len(content) - 1e-9))
    ranked = sorted(content, key=lambda t: (-float(scores[t]), t))
    return sorted(ranked[:k])


def erase_and_keep(ids: Sequence[int], chosen: Sequence[int]) -> tuple[list[int], list[int]]:
    """``x`` without the ``chosen`` positions, and ``<s>`` + the chosen tokens + ``</s>``.

    >>> erase_and_keep([0, 10, 11, 12, 2], [1, 3])
    ([0, 11, 2], [0, 10, 12, 2])
    """
    drop = set(chosen)
    return [t for i, t in enumerate(ids) if i not in drop], [ids[0], *(ids[i] for i in sorted(drop)), ids[-1]]


def _kendall(a: Tensor, b: Tensor) -> float:
    from scipy.stats import kendalltau

    tau = kendalltau(a.numpy(), b.numpy()).statistic
    return float(tau)


def faithfulness(
    weights: RobertaWeights,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    label_of_column: Sequence[str] = ("negative", "neutral", "positive"),
    steps: int = 16,
    batch_size: int = 64,
    max_tokens: int = 128,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Comprehensiveness, sufficiency, AOPC, Kendall's tau and lexicon correlations over ``texts`` (see the module's equations).

    - ``label_of_column``: the class name of each logit column (to orient scores for the lexicon).
    - ``progress``: called with the number of sentences done after each batch.
    - Returns a JSON-ready dict: ``sentences``, ``steps``, ``ig_completeness`` (mean and max error),
      ``comprehensiveness`` / ``sufficiency`` ``{method: {"10": .., "20": .., "50": .., "aopc": ..}}``,
      ``kendall`` ``{a: {b: tau}}``, ``lexicon`` ``{method: {"rho": .., "tokens": ..}}``.

    >>> from roberta_math.model.loading import load_model
    >>> loaded = load_model("embedded")
    >>> from roberta_math.model.weights import read_weights
    >>> r = faithfulness(read_weights(loaded.model), loaded.tokenizer, ["A good day.", "Awful food, rude staff."], steps=4)
    >>> r["sentences"], sorted(r["comprehensiveness"]["ig"])
    (2, ['10', '20', '50', 'aopc'])
    """
    from scipy.stats import spearmanr
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else 4
    from roberta_math.model.loading import quiet_transformers

    with quiet_transformers():  # longer texts are cut to max_tokens below, </s> kept last
        encoded = [ids[:max_tokens] for ids in tokenizer(list(texts))["input_ids"]]
    encoded = [ids if ids[-1] == tokenizer.eos_token_id else [*ids[:-1], tokenizer.eos_token_id] for ids in encoded]
    all_scores: dict[str, list[Tensor]] = {m: [None] * len(encoded) for m in METHODS}  # type: ignore[list-item]
    targets: list[int] = [0] * len(encoded)
    errors: list[float] = [0.0] * len(encoded)
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))  # batches of similar lengths
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        target, scores = attribute_batch(weights, [encoded[i] for i in chosen], steps=steps, mask_id=mask_id,
                                         seed=seed + start)
        for j, i in enumerate(chosen):
            targets[i] = int(target[j])
            errors[i] = float(scores["ig_completeness_error"][j])
            for m in METHODS:
                all_scores[m][i] = scores[m][j]
        if progress is not None:
            progress(len(chosen))
    # ERASER: one forward pass over every distinct erased / kept input
    variants: dict[tuple[int, ...], int] = {}
    plan: dict[tuple[str, str, float], list[tuple[int, int]]] = {}
    for m in METHODS:
        for fraction in FRACTIONS:
            erased_keys, kept_keys = [], []
            for i, ids in enumerate(encoded):
                erased, kept = erase_and_keep(ids, top_k(all_scores[m][i], fraction))
                erased_keys.append(variants.setdefault(tuple(erased), len(variants)))
                kept_keys.append(variants.setdefault(tuple(kept), len(variants)))
            plan[m, "comp", fraction] = list(enumerate(erased_keys))
            plan[m, "suff", fraction] = list(enumerate(kept_keys))
    full = probabilities(weights, encoded)  # (N, C)
    probs = probabilities(weights, list(variants))  # (V, C)
    p_full = full[torch.arange(len(encoded)), torch.tensor(targets)]  # (N,)
    result: dict[str, Any] = {"sentences": len(encoded), "steps": steps, "variants": len(variants),
                              "comprehensiveness": {}, "sufficiency": {}}
    for m in METHODS:
        for kind, name in (("comp", "comprehensiveness"), ("suff", "sufficiency")):
            row: dict[str, float] = {}
            for fraction in FRACTIONS:
                keys = torch.tensor([k for _, k in plan[m, kind, fraction]])
                p = probs[keys, torch.tensor(targets)]
                row[str(round(fraction * 100))] = float((p_full - p).mean())
            row["aopc"] = sum(row.values()) / len(FRACTIONS)
            result[name][m] = row
    # rank agreement
    ranked = [m for m in METHODS if m != "random"]
    kendall: dict[str, dict[str, float]] = {}
    for a in ranked:
        kendall[a] = {}
        for b in ranked:
            taus = [_kendall(x[1:-1], y[1:-1]) for x, y in zip(all_scores[a], all_scores[b]) if x.shape[0] - 2 >= 3]
            taus = [t for t in taus if not math.isnan(t)]
            kendall[a][b] = sum(taus) / len(taus) if taus else float("nan")
    result["kendall"] = kendall
    # lexicon
    special = set(tokenizer.all_special_ids)
    lex: dict[str, dict[str, Any]] = {}
    for m in ranked:
        xs, ys = [], []
        for i, ids in enumerate(encoded):
            name = label_of_column[targets[i]]
            if name == "neutral":
                continue
            sign = 1.0 if name == "positive" else -1.0
            for t in range(1, len(ids) - 1):
                if ids[t] in special:
                    continue
                piece = tokenizer.decode([ids[t]])
                after = tokenizer.decode([ids[t + 1]]) if ids[t + 1] not in special else " "
                starts = piece.startswith(" ") or t == 1
                ends = not after[:1].isalnum()
                word = piece.strip().lower()
                if starts and ends and word in lexicon:
                    valence = float(lexicon[word])
                    score = float(all_scores[m][i][t])
                    if m in SIGNED:
                        xs.append(sign * score)
                        ys.append(valence)
                    else:
                        xs.append(score)
                        ys.append(abs(valence))
        rho = float(spearmanr(xs, ys).statistic) if len(xs) >= 3 else float("nan")
        lex[m] = {"rho": rho, "tokens": len(xs), "against": "valence" if m in SIGNED else "|valence|"}
    result["lexicon"] = lex
    result["ig_completeness"] = {"mean": sum(errors) / max(1, len(errors)), "max": max(errors, default=0.0)}
    result["predicted"] = {name: targets.count(k) for k, name in enumerate(label_of_column)}
    return result

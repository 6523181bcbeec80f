r"""How faithful are the attributions? ERASER's comprehensiveness and sufficiency, rank agreement, a lexicon.

For a sentence $x$ whose predicted class is $c$ with probability $p_c(x) = \operatorname{softmax}(z(x)/\tau)_c$
(at the model's fitted temperature $\tau$, the probability every scorer reports), and $\operatorname{top}_k(x)$
the $k$ per cent of its tokens (``<s>`` and ``</s>`` excluded, at least one) that a method ranks
highest (DeYoung et al. 2020, ERASER, section 4):

$$\begin{gathered}
\text{comprehensiveness}_k = p_c(x) \\ - p_c\big(x \setminus \operatorname{top}_k(x)\big), \\[4pt]
\text{sufficiency}_k = p_c(x) - p_c\big(\operatorname{top}_k(x)\big),
\end{gathered}$$

where $x \setminus \operatorname{top}_k(x)$ deletes those tokens and $\operatorname{top}_k(x)$ keeps only
them (in their order, between ``<s>`` and ``</s>``). Both are averaged over the sentences, and over the bins
$k \in \{10, 20, 50\}$ into the area over the perturbation curve (ERASER's released scorer uses the five
bins 1, 5, 10, 20 and 50 per cent; three keep the build's forward passes down),

$$\begin{gathered}
\text{AOPC} = \frac{1}{3} \sum_{k \in \{10, 20, 50\}} \text{comprehensiveness}_k \\
\text{(and the same for sufficiency)}.
\end{gathered}$$

A faithful ranking has *high* comprehensiveness (removing its top tokens hurts) and *low*
sufficiency (its top tokens alone keep the prediction). A random order of the tokens, drawn
with a fixed seed, is the baseline every method must beat.

Rank agreement: Kendall's $\tau_b$ between two methods' scores over one sentence's tokens
(:func:`kendall_tau_b`), averaged over the sentences with at least three. Lexicon: Spearman's
rank correlation $r_\text{rank}$ (Pearson's $r$ of the ranks) between a
method's score of a whole-word token and that word's VADER valence (Hutto and Gilbert 2014),
the score oriented towards *positive* ($+\chi$ when $c$ is positive, $-\chi$ when negative;
sentences predicted neutral are left out); for the unsigned methods (gradient norm, rollout)
$r_\text{rank}$ is taken with $|$valence$|$.
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
from roberta_math.interpret.parallel import BatchRunner
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
def _probability_chunk(weights: RobertaWeights, chunk: Sequence[Sequence[int]], temperature: float = 1.0) -> Tensor:
    ids, mask = _pad(chunk, weights.padding_idx)
    logits = logits_from_embeddings(weights, ids, input_embeddings(weights, ids), mask)  # (batch, C)
    return torch.softmax(logits / temperature, dim=-1)


@torch.no_grad()
def probabilities(
    weights: RobertaWeights,
    rows: Sequence[Sequence[int]],
    batch_size: int = 256,
    runner: BatchRunner | None = None,
    temperature: float = 1.0,
) -> Tensor:
    r"""$\operatorname{softmax}(z / \tau)$ of each id list (any lengths), ``(len(rows), num_labels)``, from the from-scratch forward pass.

    $\tau$ is ``temperature`` (a finite number $> 0$, else ``ValueError``; 1 leaves the logits as they are).

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> p = probabilities(read_weights(tiny_model()), [[0, 5, 2], [0, 5, 6, 7, 2]])
    >>> p.shape, torch.allclose(p.sum(-1), torch.ones(2))
    (torch.Size([2, 3]), True)
    """
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature}")
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))  # similar lengths together, longest first
    chunks = [([rows[i] for i in order[start:start + batch_size]], temperature) for start in range(0, len(rows), batch_size)]
    out = runner.map(_probability_chunk, chunks) if runner is not None else [_probability_chunk(weights, *c) for c in chunks]
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
    (['gradient', 'gradxinput', 'ig', 'ig_completeness_error', 'ig_logit_change', 'occlusion', 'random', 'rollout'], [4, 3])
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
                              chunk=ids.shape[0])  # one path point per pass: smaller tensors, about 10 % faster
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
    z_full = grads.logits  # (batch, C): z at the input, from the gradient's forward pass
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
    per_sentence["ig_logit_change"] = list((ig.logit - ig.baseline_logit).abs())  # |z_c(x) - z_c(baseline)|
    return target, per_sentence


def _attribute_job(weights: RobertaWeights, rows: Sequence[Sequence[int]], steps: int, mask_id: int,
                   seed: int) -> tuple[Tensor, dict[str, list[Tensor]]]:
    return attribute_batch(weights, rows, steps=steps, mask_id=mask_id, seed=seed)


def top_k(scores: Tensor, fraction: float) -> list[int]:
    r"""Positions of the $\lceil \text{fraction} \cdot (n - 2) \rceil$ highest-scoring content tokens (at least one); ties by position.

    >>> top_k(torch.tensor([9.0, 0.1, 0.5, 0.3, 0.5, 9.0]), 0.5)
    [2, 4]
    """
    values = scores.tolist()  # Python floats: one conversion instead of one per comparison
    content = list(range(1, len(values) - 1))
    k = max(1, math.ceil(fraction * len(content) - 1e-9))
    ranked = sorted(content, key=lambda t: (-values[t], t))
    return sorted(ranked[:k])


def erase_and_keep(ids: Sequence[int], chosen: Sequence[int]) -> tuple[list[int], list[int]]:
    """``x`` without the ``chosen`` positions, and ``<s>`` + the chosen tokens + ``</s>``.

    >>> erase_and_keep([0, 10, 11, 12, 2], [1, 3])
    ([0, 11, 2], [0, 10, 12, 2])
    """
    drop = set(chosen)
    return [t for i, t in enumerate(ids) if i not in drop], [ids[0], *(ids[i] for i in sorted(drop)), ids[-1]]


def kendall_tau_b(scores: Tensor) -> Tensor:
    r"""Kendall's $\tau_b$ between every pair of rows of ``scores`` ``(methods, n)``: a ``(methods, methods)`` float64 tensor.

    With $\operatorname{sgn}^{(a)}_{ij} = \operatorname{sgn}(\chi^{(a)}_i - \chi^{(a)}_j)$ for the scores
    $\chi^{(a)}$ of method $a$, summed over the pairs $i \ne j$,

    $$\tau_b(a, b) = \frac{\sum_{i \ne j} \operatorname{sgn}^{(a)}_{ij} \operatorname{sgn}^{(b)}_{ij}}
    {\sqrt{\sum_{i \ne j} (\operatorname{sgn}^{(a)}_{ij})^2 \, \sum_{i \ne j} (\operatorname{sgn}^{(b)}_{ij})^2}},$$

    concordant minus discordant pairs over the geometric mean of the pairs each leaves untied
    (Kendall 1945); ``nan`` where a row is all ties. One product of sign matrices gives every pair
    at once; ``tests/test_interpret.py`` checks it against ``scipy.stats.kendalltau``.

    >>> kendall_tau_b(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, 3.0, 2.0]]))[0].tolist()
    [1.0, -1.0, 0.3333333333333333]
    """
    x = scores.to(torch.float64)
    signs = torch.sign(x[:, :, None] - x[:, None, :]).flatten(1)  # (methods, n * n); the diagonal i = j is 0
    products = signs @ signs.T  # (methods, methods): sums of sign products over the ordered pairs
    untied = products.diagonal()  # (methods,): pairs with no tie
    return products / torch.sqrt(untied[:, None] * untied[None, :])  # 0 / 0 = nan where all tie


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
    temperature: float = 1.0,
    progress: Callable[[int], None] | None = None,
    runner: BatchRunner | None = None,
) -> dict[str, Any]:
    """Comprehensiveness, sufficiency, AOPC, Kendall's tau and lexicon correlations over ``texts`` (see the module's equations).

    - ``label_of_column``: the class name of each logit column (to orient scores for the lexicon).
    - ``temperature``: the model's softmax temperature $\tau$ (``LoadedModel.temperature``), so that
      $p_c$ is the probability the model reports; the rankings do not depend on it, the AOPCs do.
    - ``progress``: called with the number of sentences done after each batch.
    - ``runner``: a :class:`~roberta_math.interpret.parallel.BatchRunner` of the same weights to
      spread the batches over processes (the result is the same as without one).
    - Returns a JSON-ready dict: ``sentences``, ``steps``, ``ig_completeness`` (mean and largest
      completeness error, the mean error relative to ``|z_c(x) - z_c(baseline)|``, the count above 0.1),
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
    changes: list[float] = [0.0] * len(encoded)  # |z_c(x) - z_c(baseline)|, what the IG scores must add up to
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))  # batches of similar lengths
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    jobs = [([encoded[i] for i in chosen], steps, mask_id, seed + k * batch_size) for k, chosen in enumerate(batches)]
    # The longest sentences first: their batches cost most (occlusion grows as n^2 per sentence), and
    # a long one left for last would keep one worker busy while the others wait. Same results.
    batches, jobs = batches[::-1], jobs[::-1]
    done = runner.imap(_attribute_job, jobs) if runner is not None else (_attribute_job(weights, *job) for job in jobs)
    for chosen, (target, scores) in zip(batches, done):
        for j, i in enumerate(chosen):
            targets[i] = int(target[j])
            errors[i] = float(scores["ig_completeness_error"][j])
            changes[i] = float(scores["ig_logit_change"][j])
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
    full = probabilities(weights, encoded, runner=runner, temperature=temperature)  # (N, C)
    probs = probabilities(weights, list(variants), runner=runner, temperature=temperature)  # (V, C)
    p_full = full[torch.arange(len(encoded)), torch.tensor(targets)]  # (N,)
    result: dict[str, Any] = {"sentences": len(encoded), "steps": steps, "variants": len(variants), "temperature": temperature,
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
    tau_sum = torch.zeros(len(ranked), len(ranked), dtype=torch.float64)
    tau_count = torch.zeros(len(ranked), len(ranked), dtype=torch.float64)
    for i in range(len(encoded)):
        if len(encoded[i]) - 2 < 3:
            continue
        tau = kendall_tau_b(torch.stack([all_scores[m][i][1:-1] for m in ranked]))  # (methods, methods)
        defined = ~torch.isnan(tau)
        tau_sum += torch.where(defined, tau, 0.0)
        tau_count += defined
    result["kendall"] = {
        a: {b: float(tau_sum[j, k] / tau_count[j, k]) if tau_count[j, k] else float("nan") for k, b in enumerate(ranked)}
        for j, a in enumerate(ranked)
    }
    # lexicon
    special = set(tokenizer.all_special_ids)
    pieces: dict[int, str] = {}  # each id decoded once

    def piece_of(token_id: int) -> str:
        if token_id not in pieces:
            pieces[token_id] = tokenizer.decode([token_id])
        return pieces[token_id]

    # (sentence, position, sign towards positive, valence) of every whole-word lexicon token
    words: list[tuple[int, int, float, float]] = []
    for i, ids in enumerate(encoded):
        name = label_of_column[targets[i]]
        if name == "neutral":
            continue
        sign = 1.0 if name == "positive" else -1.0
        for t in range(1, len(ids) - 1):
            if ids[t] in special:
                continue
            piece = piece_of(ids[t])
            after = piece_of(ids[t + 1]) if ids[t + 1] not in special else " "
            starts = piece.startswith(" ") or t == 1
            ends = not after[:1].isalnum()
            word = piece.strip().lower()
            if starts and ends and word in lexicon:
                words.append((i, t, sign, float(lexicon[word])))
    lex: dict[str, dict[str, Any]] = {}
    for m in ranked:
        if m in SIGNED:
            xs = [sign * float(all_scores[m][i][t]) for i, t, sign, _ in words]
            ys = [valence for *_, valence in words]
        else:
            xs = [float(all_scores[m][i][t]) for i, t, _, _ in words]
            ys = [abs(valence) for *_, valence in words]
        rho = float(spearmanr(xs, ys).statistic) if len(xs) >= 3 else float("nan")
        lex[m] = {"rho": rho, "tokens": len(xs), "against": "valence" if m in SIGNED else "|valence|"}
    result["lexicon"] = lex
    relative = [e / c for e, c in zip(errors, changes) if c > 0]
    result["ig_completeness"] = {"mean": sum(errors) / max(1, len(errors)), "max": max(errors, default=0.0),
                                 "mean_relative": sum(relative) / max(1, len(relative)),
                                 "above_0.1": sum(e > 0.1 for e in errors)}
    result["predicted"] = {name: targets.count(k) for k, name in enumerate(label_of_column)}
    return result

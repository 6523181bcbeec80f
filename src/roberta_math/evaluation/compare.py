r"""RoBERTa beside VADER on the VADER paper's own human-rated corpora.

:func:`compare` returns one JSON-ready dict:

``full``
    VADER on every sentence of the four corpora, evaluated as Hutto & Gilbert (2014,
    Table 4) evaluate it: Pearson :math:`r` of the compound score with the mean of the
    human raters, and three-class precision / recall / F1 with the :math:`\pm 0.05`
    band. A model appears here only for domains it never trained on.
``test``
    Every method on the held-out test split (the same split the embedded model never
    saw): METHOD -> DOMAIN -> METRICS, DOMAIN one of the four corpora or ``all``.
``paper``
    The published Table 4 numbers (:data:`PAPER_TABLE_4`), with the citation.
``full_vs_paper``
    Ours minus the paper's, and how close each way of reading the paper's P / R / F1
    comes (:func:`versus_paper`): weighted averaging with the human classes taken by the
    sign of the mean rating comes within about 0.01 on average.
``individual_humans``
    The paper's "Ind. Humans" row recomputed from ``*_anonDataRatings.txt``
    (method in :func:`individual_human_metrics`).
``bootstrap``
    Paired-bootstrap 95 % intervals of each method's metric minus VADER's on the test split.
``error_analysis``
    Accuracy of each method on test sentences tagged by simple text rules (:data:`TAG_RULES`).
``disagreements``
    Per domain, the test sentences on which a method's signed score and VADER's differ most.
``meta``
    What was compared, the score definitions, and the cache key.

A method's *signed score* lies in :math:`[-1, 1]`: VADER's compound :math:`c`; for a
classifier with class probabilities :math:`p = (p_\text{neg}, p_\text{neu}, p_\text{pos})`,

$$ s = p_\text{pos} - p_\text{neg}, $$

which is what gets correlated with the human mean valence. A classifier's *label* is
its own :math:`\arg\max_k p_k`; VADER's label is its compound through the paper's band.

The result is cached under ``cache_root()/"compare"/<key>.json``; the key hashes the
package version, the source of the modules that produce the numbers, the model's
weights and tokenizer, the corpus files and the parameters (:func:`cache_key`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roberta_math.cache import sha256_file
from roberta_math.cache import atomic_write_text, cache_root
from roberta_math.data.corpus import (
    CITATION,
    DOMAINS,
    SPLIT_SEED,
    Sentence,
    corpus_dir,
    load_corpus,
    load_individual_ratings,
    split_corpus,
    split_fingerprint,
)
from roberta_math.errors import UserError
from roberta_math.evaluation import metrics as M
from roberta_math.evaluation.vader import THRESHOLD, compound_scores, labels_from_scores, vader_version
from roberta_math.labels import LABELS

ALL = "all"
"""The pseudo-domain that pools the four corpora."""

DOMAIN_KEYS: tuple[str, ...] = (*DOMAINS, ALL)
REFERENCE = "vader"
"""The method every other method is compared against."""

FORMAT_VERSION = 1
"""Bumped when the layout of the result changes (part of the cache key)."""

TOP_DISAGREEMENTS = 5
"""Sentences listed per domain and method in ``disagreements``."""

HUMAN_DRAWS = 100
"""Random single-rater draws averaged for the ``individual_humans`` row."""

BOOTSTRAP_METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "macro_recall", "f1", "pearson_r")
"""Metrics whose method-minus-VADER difference gets a bootstrap interval."""

PAPER_TABLE_4: dict[str, Any] = {
    "source": "Hutto & Gilbert (2014), ICWSM, Table 4",
    "citation": CITATION,
    "note": (
        "Correlation with the mean of the human raters, and 3-class precision / recall / F1 "
        "with thresholds -0.05 and +0.05 on scores normalised to [-1, 1]. The averaging over "
        "classes is not stated; support-weighted averaging, with the human classes taken by the sign "
        "of the mean rating, is the closest reading (see full_vs_paper)."
    ),
    "vader": {
        "tweets": {"pearson_r": 0.881, "precision": 0.99, "recall": 0.94, "f1": 0.96},
        "movie_reviews": {"pearson_r": 0.451, "precision": 0.70, "recall": 0.55, "f1": 0.61},
        "amazon_reviews": {"pearson_r": 0.565, "precision": 0.78, "recall": 0.55, "f1": 0.63},
        "nyt_editorials": {"pearson_r": 0.492, "precision": 0.69, "recall": 0.49, "f1": 0.55},
    },
    "individual_humans": {
        "tweets": {"pearson_r": 0.888, "f1": 0.84},
        "movie_reviews": {"pearson_r": 0.899, "f1": 0.92},
        "amazon_reviews": {"pearson_r": 0.911, "f1": 0.85},
        "nyt_editorials": {"pearson_r": 0.745, "f1": 0.65},
    },
}
"""The published VADER and individual-rater rows of Table 4 (Hutto & Gilbert, ICWSM 2014)."""

# Methods trained on the train split and evaluated on the test split, beside VADER and
# the model: name -> "module:function", the function mapping (train, test) sentences to
# Predictions for the test sentences. Imported only when compare() runs; a module here
# must live under roberta_math/evaluation/ so its source is part of the cache key.
BASELINES: dict[str, str] = {"tfidf_logreg": "roberta_math.evaluation.baseline:tfidf_logreg"}

# Files whose source decides the numbers (besides the whole evaluation package).
_KEYED_MODULES: tuple[str, ...] = ("roberta_math.data.corpus", "roberta_math.labels", "roberta_math.model.loading")


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Predictions:
    """One method's output on a list of sentences: labels ``(n,)`` and signed scores ``(n,)``."""

    labels: np.ndarray  # (n,) class indices, LABELS order
    scores: np.ndarray  # (n,) signed score in [-1, 1]

    def take(self, mask: np.ndarray) -> Predictions:
        """The rows selected by a boolean ``mask`` of shape ``(n,)``."""
        return Predictions(self.labels[mask], self.scores[mask])


def predictions_from_probabilities(probabilities: np.ndarray) -> Predictions:
    r"""Labels :math:`\arg\max_k p_k` and signed scores :math:`p_\text{pos} - p_\text{neg}`.

    ``probabilities`` has shape ``(n, 3)`` in :data:`~roberta_math.labels.LABELS` order.

    >>> p = predictions_from_probabilities(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    >>> p.labels.tolist(), p.scores.round(2).tolist()
    ([0, 2], [-0.6, 0.5])
    """
    probs = np.asarray(probabilities, dtype=np.float64)  # (n, 3)
    if probs.ndim != 2 or probs.shape[1] != len(LABELS):
        raise ValueError(f"expected probabilities of shape (n, {len(LABELS)}), got {probs.shape}")
    return Predictions(probs.argmax(axis=1).astype(np.int64), probs[:, 2] - probs[:, 0])


def vader_predictions(texts: Sequence[str], *, progress: bool = False) -> Predictions:
    """VADER's compound scores and the paper's three classes for ``texts``.

    >>> vader_predictions(["I love it", "It rains"]).labels.tolist()
    [2, 1]
    """
    scores = compound_scores(texts, progress=progress)
    return Predictions(labels_from_scores(scores, THRESHOLD), scores)


# --------------------------------------------------------------------------- metric tables


def _domain_masks(sentences: Sequence[Sentence]) -> dict[str, np.ndarray]:
    domains = np.array([s.domain for s in sentences], dtype=object)
    masks = {d: domains == d for d in DOMAINS}
    masks[ALL] = np.ones(len(sentences), dtype=bool)
    return masks


def metrics_by_domain(
    sentences: Sequence[Sentence],
    predictions: Predictions,
    domains: Sequence[str] = DOMAIN_KEYS,
    *,
    truth: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """DOMAIN -> METRICS (:func:`~roberta_math.evaluation.metrics.classification_metrics`).

    The true classes are the sentences' labels unless ``truth`` (shape ``(n,)``) replaces
    them, e.g. with :func:`sign_labels` to read the paper another way.

    >>> rows = [Sentence("tweets", "1", 2.0, "good"), Sentence("tweets", "2", -2.0, "bad")]
    >>> table = metrics_by_domain(rows, Predictions(np.array([2, 2]), np.array([0.5, 0.1])), ["tweets"])
    >>> table["tweets"]["n"], table["tweets"]["accuracy"], table["tweets"]["pearson_r"]
    (2, 0.5, 1.0)
    """
    if truth is None:
        truth = np.array([s.label for s in sentences], dtype=np.int64)  # (n,)
    valence = np.array([s.valence for s in sentences], dtype=np.float64)  # (n,)
    masks = _domain_masks(sentences)
    return {
        d: M.classification_metrics(
            truth[masks[d]], predictions.labels[masks[d]], predictions.scores[masks[d]], valence[masks[d]]
        )
        for d in domains
    }


# --------------------------------------------------------------------------- individual raters


def _label_array(valence_over_4: np.ndarray) -> np.ndarray:
    return labels_from_scores(valence_over_4, THRESHOLD)


def sign_labels(valence: Sequence[float] | np.ndarray) -> np.ndarray:
    r"""Classes by the sign of a human score alone: :math:`v < 0` negative, :math:`v = 0` neutral, :math:`v > 0` positive.

    This is the :math:`\pm 0.05` band applied to the *unnormalised* scale :math:`[-4, 4]`
    for single integer ratings and for means of 20 ratings (multiples of 0.05), and it is
    the reading of the human classes that brings our P / R / F1 closest to the paper's
    Table 4 (see ``full_vs_paper`` in :func:`compare`).

    >>> sign_labels([-0.05, 0.0, 0.05, 2.0]).tolist()
    [0, 1, 2, 2]
    """
    v = np.asarray(valence, dtype=np.float64)  # (n,)
    return np.where(v < 0, 0, np.where(v > 0, 2, 1)).astype(np.int64)


def individual_human_metrics(
    sentences: Sequence[Sentence],
    ratings: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    draws: int = HUMAN_DRAWS,
    seed: int = 0,
) -> dict[str, Any]:
    r"""The "Ind. Humans" row: how well one rater's score matches the group mean.

    The rating files list each sentence's ratings anonymously and their order is not a
    rater identity (the raters of one sentence are not those of the next), so "an
    individual rater" is simulated: for every sentence one of its ratings
    :math:`x_s = v_{s,J_s}` is drawn uniformly (:math:`J_s` seeded), and :math:`x`
    is scored like a method against the published ground truth:
    Pearson :math:`r(x, \bar v)` and the class of :math:`x_s/4` (same :math:`\pm 0.05`
    band) against the class of :math:`\bar v_s/4`. The reported numbers are the means over
    ``draws`` draws, with the 2.5 / 97.5 percentiles across draws as ``*_range`` (how
    much the choice of rater moves them, not a sampling interval).

    The drawn rating is part of the mean it is compared with, which flatters the
    rater; the paper does not say whether it did this, but its numbers for Amazon and
    NYT (exactly 20 ratings per sentence) are matched by this reading. A stricter
    ``leave_one_out`` variant compares :math:`x_s` with the mean of the *other*
    ratings, :math:`(\sum_j v_{s,j} - x_s)/(m_s - 1)`. ``sign_labels`` repeats the
    classification with both classes taken from the sign alone (:func:`sign_labels`).

    ``ratings`` maps domain -> sentence id -> that sentence's ratings; domains missing
    from it are skipped.

    >>> rows = [Sentence("tweets", str(i), v, "t") for i, v in enumerate([2.0, -2.0, 0.0, 1.0])]
    >>> ratings = {"tweets": {"0": [2, 2], "1": [-2, -2], "2": [0, 0], "3": [1, 1]}}
    >>> row = individual_human_metrics(rows, ratings, draws=3)
    >>> row["tweets"]["pearson_r"], row["tweets"]["f1"], row["tweets"]["n"]
    (1.0, 1.0, 4)
    """
    rng = np.random.default_rng(seed)
    per_domain: dict[str, dict[str, np.ndarray]] = {}
    for domain in DOMAINS:
        table = ratings.get(domain)
        rows = [s for s in sentences if s.domain == domain]
        if table is None or not rows:
            continue
        missing = [s.id for s in rows if s.id not in table or len(table[s.id]) < 2]
        if missing:
            raise UserError(
                f"no individual ratings (or fewer than 2) for {domain} sentence {missing[0]!r}; "
                "use the published *_anonDataRatings.txt next to the ground-truth files"
            )
        lists = [np.asarray(table[s.id], dtype=np.float64) for s in rows]
        width = max(len(x) for x in lists)
        padded = np.zeros((len(rows), width))  # (n, max ratings)
        counts = np.array([len(x) for x in lists])  # (n,)
        for i, x in enumerate(lists):
            padded[i, : len(x)] = x
        per_domain[domain] = {
            "padded": padded,
            "counts": counts,
            "sums": padded.sum(axis=1),
            "mean": np.array([s.valence for s in rows]),
        }
    if not per_domain:
        return {}

    collected: dict[str, dict[str, list[float]]] = {d: {} for d in [*per_domain, ALL]}
    for _ in range(draws):
        pooled: dict[str, list[np.ndarray]] = {"x": [], "mean": [], "loo": []}
        for domain, data in per_domain.items():
            n = len(data["counts"])
            pick = np.floor(rng.random(n) * data["counts"]).astype(np.int64)  # (n,) a rating per sentence
            x = data["padded"][np.arange(n), pick]  # (n,)
            loo = (data["sums"] - x) / (data["counts"] - 1)  # (n,) mean of the others
            _record_human_draw(collected[domain], x, data["mean"], loo)
            pooled["x"].append(x)
            pooled["mean"].append(data["mean"])
            pooled["loo"].append(loo)
        _record_human_draw(
            collected[ALL], np.concatenate(pooled["x"]), np.concatenate(pooled["mean"]), np.concatenate(pooled["loo"])
        )

    result: dict[str, Any] = {}
    for domain, series in collected.items():
        n = int(sum(len(d["counts"]) for d in per_domain.values())) if domain == ALL else len(per_domain[domain]["counts"])
        counts = (
            np.concatenate([d["counts"] for d in per_domain.values()]) if domain == ALL else per_domain[domain]["counts"]
        )
        entry: dict[str, Any] = {"n": n, "ratings_per_sentence": [int(counts.min()), int(counts.max())]}
        for name in ("pearson_r", "accuracy", "precision", "recall", "f1", "macro_f1", "macro_recall"):
            values = np.asarray(series[name])
            entry[name] = float(values.mean())
            entry[f"{name}_range"] = [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))]
        entry["leave_one_out"] = {
            name: float(np.mean(series[f"loo_{name}"])) for name in ("pearson_r", "accuracy", "f1", "macro_f1")
        }
        entry["sign_labels"] = {
            name: float(np.mean(series[f"sign_{name}"])) for name in ("accuracy", "precision", "recall", "f1", "macro_f1")
        }
        result[domain] = entry
    return result


def _record_human_draw(store: dict[str, list[float]], x: np.ndarray, mean: np.ndarray, loo: np.ndarray) -> None:
    predicted = _label_array(x / 4.0)
    truth = _label_array(mean / 4.0)
    m = M.classification_metrics(truth, predicted, x, mean)
    for name in ("pearson_r", "accuracy", "precision", "recall", "f1", "macro_f1", "macro_recall"):
        store.setdefault(name, []).append(float(m[name]))  # type: ignore[arg-type]
    m_loo = M.classification_metrics(_label_array(loo / 4.0), predicted, x, loo)
    for name in ("pearson_r", "accuracy", "f1", "macro_f1"):
        store.setdefault(f"loo_{name}", []).append(float(m_loo[name]))  # type: ignore[arg-type]
    m_sign = M.classification_metrics(sign_labels(mean), sign_labels(x))
    for name in ("accuracy", "precision", "recall", "f1", "macro_f1"):
        store.setdefault(f"sign_{name}", []).append(float(m_sign[name]))  # type: ignore[arg-type]


PAPER_READINGS: dict[str, str] = {
    "weighted": "support-weighted P/R/F1; human class by the +/-0.05 band on mean/4 (our labels)",
    "macro": "macro P/R/F1; human class by the +/-0.05 band on mean/4 (our labels)",
    "weighted_sign_labels": (
        "support-weighted P/R/F1; human class by the sign of the mean valence (the band applied to the "
        "unnormalised -4..4 scale); VADER's class unchanged"
    ),
}
"""Ways of reading the paper's P / R / F1 that :func:`versus_paper` measures against Table 4."""


def _cell(paper: float, ours: float | None) -> dict[str, float | None]:
    return {"paper": paper, "ours": ours, "difference": None if ours is None else round(ours - paper, 12)}


def versus_paper(
    vader_full: Mapping[str, Mapping[str, Any]],
    humans: Mapping[str, Mapping[str, Any]] | None = None,
    vader_full_sign_labels: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    r"""Ours beside :data:`PAPER_TABLE_4`, per domain, and how close each reading of the paper comes.

    ``vader`` and ``individual_humans`` hold paper / ours / difference for the paper-style
    row (weighted, our labels). ``readings`` recomputes VADER's precision, recall and F1
    under each of :data:`PAPER_READINGS` (and the rater row's F1 where it exists), and
    ``mean_abs_difference`` averages :math:`|\text{ours} - \text{paper}|` over the four
    domains and the three metrics for each reading: the smallest is the likeliest way
    the paper computed its numbers.

    >>> ours = {d: {**v, "f1": v["f1"] + 0.03, **{f"macro_{k}": v[k] - 0.2 for k in ("precision", "recall", "f1")}}
    ...         for d, v in PAPER_TABLE_4["vader"].items()}
    >>> out = versus_paper(ours)
    >>> out["vader"]["tweets"]["f1"], {k: round(v, 3) for k, v in out["mean_abs_difference"].items()}
    ({'paper': 0.96, 'ours': 0.99, 'difference': 0.03}, {'weighted': 0.01, 'macro': 0.2})
    """
    prf = ("precision", "recall", "f1")
    tables: dict[str, Mapping[str, Mapping[str, Any]]] = {"weighted": vader_full, "macro": vader_full}
    if vader_full_sign_labels is not None:
        tables["weighted_sign_labels"] = vader_full_sign_labels
    out: dict[str, Any] = {"vader": {}, "individual_humans": {}, "readings": {}}
    for domain in DOMAINS:
        ours, theirs = vader_full.get(domain), PAPER_TABLE_4["vader"][domain]
        if ours is not None:
            out["vader"][domain] = {key: _cell(theirs[key], ours.get(key)) for key in ("pearson_r", *prf)}
        if humans and domain in humans:
            paper_h = PAPER_TABLE_4["individual_humans"][domain]
            out["individual_humans"][domain] = {key: _cell(paper_h[key], humans[domain].get(key)) for key in ("pearson_r", "f1")}
    mean_abs: dict[str, float | None] = {}
    for reading, table in tables.items():
        prefix = "macro_" if reading == "macro" else ""
        domains: dict[str, Any] = {}
        gaps: list[float] = []
        for domain in DOMAINS:
            if domain not in table:
                continue
            cells = {key: _cell(PAPER_TABLE_4["vader"][domain][key], table[domain].get(prefix + key)) for key in prf}
            gaps += [abs(c["difference"]) for c in cells.values() if c["difference"] is not None]
            entry: dict[str, Any] = {"vader": cells}
            human = (humans or {}).get(domain)
            if human is not None and reading != "macro":
                f1 = human["f1"] if reading == "weighted" else human.get("sign_labels", {}).get("f1")
                entry["individual_humans_f1"] = _cell(PAPER_TABLE_4["individual_humans"][domain]["f1"], f1)
            domains[domain] = entry
        mean_abs[reading] = float(np.mean(gaps)) if gaps else None
        out["readings"][reading] = {"description": PAPER_READINGS[reading], "domains": domains}
    out["mean_abs_difference"] = mean_abs
    return out


# --------------------------------------------------------------------------- bootstrap


def _bootstrap_metric(name: str) -> Callable[..., float]:
    if name == "pearson_r":
        return M.pearson_r
    if name == "accuracy":
        return M.accuracy
    if name == "macro_f1":
        return M.macro_f1
    if name == "macro_recall":
        return M.macro_recall
    if name == "f1":
        return lambda t, p: M.averaged_precision_recall_f1(t, p, "weighted")[2]
    raise ValueError(f"no bootstrap for metric {name!r}")


def bootstrap_differences(
    sentences: Sequence[Sentence],
    methods: Mapping[str, Predictions],
    *,
    reference: str = REFERENCE,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, dict[str, dict[str, float | int]]]]:
    r"""METHOD -> DOMAIN -> METRIC -> interval of (METHOD's metric) - (reference's metric).

    Within a domain every metric and method uses the same resampled rows
    (:func:`~roberta_math.evaluation.metrics.paired_bootstrap_ci`); the rows are drawn
    from a generator seeded by ``seed`` and the domain's position, so adding a method
    does not change another's interval.

    >>> rows = [Sentence("tweets", str(i), (-1.0) ** i, "t") for i in range(20)]
    >>> truth = np.array([s.label for s in rows])
    >>> methods = {"vader": Predictions(np.full(20, 2), np.full(20, 0.5) + np.arange(20) / 100),
    ...            "m": Predictions(truth, truth - 1.0)}
    >>> ci = bootstrap_differences(rows, methods, n_resamples=50)["m"]["tweets"]["accuracy"]
    >>> ci["estimate"], ci["low"] <= 0.5 <= ci["high"]
    (0.5, True)
    """
    truth = np.array([s.label for s in sentences], dtype=np.int64)
    valence = np.array([s.valence for s in sentences], dtype=np.float64)
    masks = _domain_masks(sentences)
    out: dict[str, dict[str, dict[str, dict[str, float | int]]]] = {}
    for method, pred in methods.items():
        if method == reference:
            continue
        out[method] = {}
        base = methods[reference]
        for position, domain in enumerate(DOMAIN_KEYS):
            mask = masks[domain]
            n = int(mask.sum())
            if n < 2 or n_resamples < 1:
                continue
            # One index matrix per domain, shared by every metric of this domain.
            indices = M.bootstrap_indices(n, n_resamples, seed + 1000 * position)  # (B, n)
            entry: dict[str, dict[str, float | int]] = {}
            for name in BOOTSTRAP_METRICS:
                if name == "pearson_r":
                    a: tuple[np.ndarray, ...] = (pred.scores[mask], valence[mask])
                    b: tuple[np.ndarray, ...] = (base.scores[mask], valence[mask])
                else:
                    a = (truth[mask], pred.labels[mask])
                    b = (truth[mask], base.labels[mask])
                ci = M.paired_bootstrap_ci(_bootstrap_metric(name), a, b, level=level, seed=seed, indices=indices)
                entry[name] = ci.as_dict()
            out[method][domain] = entry
    return out


# --------------------------------------------------------------------------- error analysis

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NEGATIONS = frozenset(
    "not no never nothing nobody none neither nor nowhere cannot without "
    "dont doesnt didnt cant couldnt wont wouldnt shouldnt isnt wasnt arent werent "
    "havent hasnt hadnt aint".split()
)
_INTENSIFIERS = frozenset(
    "very really extremely incredibly absolutely totally completely utterly highly hugely truly "
    "remarkably especially exceptionally particularly thoroughly terribly awfully immensely "
    "enormously super".split()
)
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_EMOTICON = re.compile(
    r"(?:^|(?<=\s))"
    r"(?:[:;=]['\-o^]?[()\[\]dDpP/\\|*3oO]|<3|[xX][dDpP]|[()\[\]dD/\\]['\-o^]?[:;=])"
    r"(?=\s|$|[.,!?])"
)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f1e6-\U0001f1ff]")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _has_negation(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in _words(text))


def _has_but(text: str) -> bool:
    return "but" in _words(text)


def _has_intensifier(text: str) -> bool:
    return any(w in _INTENSIFIERS for w in _words(text))


def _has_caps(text: str) -> bool:
    return _CAPS_WORD.search(text) is not None


def _has_exclamation(text: str) -> bool:
    return "!" in text


def _has_emoticon(text: str) -> bool:
    return _EMOTICON.search(text) is not None or _EMOJI.search(text) is not None


TAG_RULES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "negation": ("a negation word (not, no, never, nothing, without, ...) or a word ending in n't", _has_negation),
    "but": ('the word "but" (a contrastive conjunction)', _has_but),
    "intensifier": ("a degree adverb (very, really, extremely, totally, ...)", _has_intensifier),
    "all_caps": ("a word of three or more letters in capitals (acronyms such as DVD count too)", _has_caps),
    "exclamation": ('an exclamation mark "!"', _has_exclamation),
    "emoticon": ("an emoticon such as :) :-( :D <3, or an emoji", _has_emoticon),
}
"""Tag name -> (rule in words, predicate on the raw text). Each rule is deliberately simple."""


def tag_sentence(text: str) -> list[str]:
    """The names of the :data:`TAG_RULES` that fire on ``text``.

    >>> tag_sentence("I did NOT like it, but the ending was really good :)")
    ['negation', 'but', 'intensifier', 'all_caps', 'emoticon']
    >>> tag_sentence("http://url_removed is fine!")
    ['exclamation']
    """
    return [name for name, (_, rule) in TAG_RULES.items() if rule(text)]


def error_analysis(sentences: Sequence[Sentence], methods: Mapping[str, Predictions]) -> dict[str, Any]:
    """Accuracy of each method on the sentences each rule tags, and on the rest.

    >>> rows = [Sentence("tweets", "1", 2.0, "so GOOD!"), Sentence("tweets", "2", -2.0, "not good")]
    >>> out = error_analysis(rows, {"vader": Predictions(np.array([2, 2]), np.zeros(2))})
    >>> out["negation"]["n"], out["negation"]["accuracy"]["vader"], out["negation"]["accuracy_untagged"]["vader"]
    (1, 0.0, 1.0)
    """
    truth = np.array([s.label for s in sentences], dtype=np.int64)
    domains = np.array([s.domain for s in sentences], dtype=object)
    out: dict[str, Any] = {}
    for name, (description, rule) in TAG_RULES.items():
        tagged = np.array([rule(s.text) for s in sentences], dtype=bool)  # (n,)
        entry: dict[str, Any] = {
            "rule": description,
            "n": int(tagged.sum()),
            "n_untagged": int((~tagged).sum()),
            "n_by_domain": {d: int((tagged & (domains == d)).sum()) for d in DOMAINS},
            "accuracy": {},
            "accuracy_untagged": {},
        }
        for method, pred in methods.items():
            correct = pred.labels == truth  # (n,)
            entry["accuracy"][method] = float(correct[tagged].mean()) if tagged.any() else None
            entry["accuracy_untagged"][method] = float(correct[~tagged].mean()) if (~tagged).any() else None
        out[name] = entry
    return out


# --------------------------------------------------------------------------- disagreements


def top_disagreements(
    sentences: Sequence[Sentence],
    methods: Mapping[str, Predictions],
    *,
    reference: str = REFERENCE,
    top_k: int = TOP_DISAGREEMENTS,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    r"""METHOD -> DOMAIN -> the ``top_k`` sentences where METHOD and the reference differ most.

    Disagreement is the gap between the two signed scores, :math:`|s_\text{method} - s_\text{vader}|
    \in [0, 2]`; ties go to the smaller id. Each row says which of the two got the human label.

    >>> rows = [Sentence("tweets", str(i), v, f"t{i}") for i, v in enumerate([2.0, -2.0, 1.0])]
    >>> methods = {"vader": Predictions(np.array([2, 2, 2]), np.array([0.9, 0.8, 0.3])),
    ...            "m": Predictions(np.array([2, 0, 2]), np.array([0.9, -0.9, 0.2]))}
    >>> top = top_disagreements(rows, methods, top_k=1)["m"]["tweets"][0]
    >>> top["id"], top["gap"], top["correct"]
    ('1', 1.7, {'vader': False, 'm': True})
    """
    masks = _domain_masks(sentences)
    base = methods[reference]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for method, pred in methods.items():
        if method == reference:
            continue
        gap = np.abs(pred.scores - base.scores)  # (n,)
        out[method] = {}
        for domain in DOMAINS:
            index = np.flatnonzero(masks[domain])
            order = sorted(index, key=lambda i: (-round(float(gap[i]), 12), sentences[i].id))[:top_k]
            rows = []
            for i in order:
                s = sentences[i]
                rows.append(
                    {
                        "id": s.id,
                        "text": s.text,
                        "valence": s.valence,
                        "label": LABELS[s.label],
                        "gap": round(float(gap[i]), 6),
                        "scores": {reference: float(base.scores[i]), method: float(pred.scores[i])},
                        "predictions": {reference: LABELS[int(base.labels[i])], method: LABELS[int(pred.labels[i])]},
                        "correct": {reference: bool(base.labels[i] == s.label), method: bool(pred.labels[i] == s.label)},
                    }
                )
            out[method][domain] = rows
    return out


# --------------------------------------------------------------------------- cache key


def _file_sha256(path: Path) -> str:
    return sha256_file(path)


def evaluation_source_digest() -> str:
    """SHA-256 over the source of every module whose code decides the comparison's numbers.

    That is every ``.py`` file of ``roberta_math.evaluation`` plus the corpus, labels and
    model-loading modules (a module that does not exist yet is skipped).

    >>> len(evaluation_source_digest())
    64
    """
    digest = hashlib.sha256()
    package_dir = Path(__file__).resolve().parent
    files = sorted(package_dir.glob("*.py"))
    for name in _KEYED_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def model_checksum(loaded: Any) -> str:
    """SHA-256 identifying a loaded model: its weights, tokenizer and class-column order.

    The weights part is ``provenance.sha256`` (the SHA-256 of the weight files, see
    :class:`roberta_math.model.loading.Provenance`); without one, the tensors in memory
    (names, dtypes, shapes, bytes) are hashed instead.
    """
    digest = hashlib.sha256()
    weights = getattr(getattr(loaded, "provenance", None), "sha256", None)
    if weights:
        digest.update(b"weights\0" + str(weights).encode() + b"\0")
    else:
        import torch

        state = loaded.model.state_dict()
        for name in sorted(state):
            tensor = state[name].detach().to("cpu").contiguous()
            digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
            if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: hash the raw bits
                tensor = tensor.view(torch.int16)
            digest.update(tensor.numpy().tobytes())
    backend = getattr(loaded.tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:  # pragma: no cover - slow tokenizers have no serialised form
        digest.update(json.dumps(sorted(loaded.tokenizer.get_vocab().items())).encode())
    digest.update(repr(tuple(getattr(loaded, "label_columns", ()))).encode())
    return digest.hexdigest()


def corpus_digest(source: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over the ground-truth and individual-rating files in use."""
    directory = corpus_dir(source)
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*_GroundTruth.txt")) + sorted(directory.glob("*_anonDataRatings.txt")):
        digest.update(path.name.encode() + b"\0" + _file_sha256(path).encode() + b"\0")
    return digest.hexdigest()


def cache_key(parts: Mapping[str, Any]) -> str:
    """SHA-256 (first 32 hex digits) of the canonical JSON of ``parts``.

    >>> cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
    True
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cache_path(key: str) -> Path:
    """Where the result with cache key ``key`` is stored."""
    return cache_root() / "compare" / f"{key}.json"


def _read_cached(path: Path, key: str) -> dict[str, Any] | None:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, truncated or not JSON: recompute
    if not isinstance(result, dict) or not isinstance(result.get("meta"), dict):
        return None
    if result["meta"].get("cache_key") != key or not {"full", "test"} <= result.keys():
        return None
    return result


# --------------------------------------------------------------------------- the comparison


def _json_ready(value: Any) -> Any:
    # NaN/inf are not JSON: they become null.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return _json_ready(value.item())
    return value


def _model_training_domains(loaded: Any) -> set[str]:
    """Domains the model may have trained on.

    Only a model that provably never saw a domain is evaluated on that domain's full
    corpus. Unless its provenance lists its training domains, a model counts as having
    seen all four: true for the embedded model (trained on the train split of every
    domain), unknown for a hub model. Such a model appears under ``test`` only.
    """
    provenance = getattr(loaded, "provenance", None)
    for attribute in ("training_domains", "trained_on_domains"):
        value = getattr(provenance, attribute, None)
        if value is not None:
            return {str(d) for d in value}
    return set(DOMAINS)


def _load_model(model_name: str) -> Any:
    from roberta_math.model.loading import load_model

    return load_model(model_name)


def _load_baseline(spec: str) -> Callable[[list[Sentence], list[Sentence]], Predictions]:
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


def _score_model(loaded: Any, sentences: Sequence[Sentence], *, progress: bool) -> Predictions:
    # Looked up at call time so the scorer can be wrapped (e.g. counted in a test).
    from roberta_math.evaluation import scoring

    if not sentences:
        return Predictions(np.zeros(0, dtype=np.int64), np.zeros(0))
    probabilities = scoring.score_texts([s.text for s in sentences], loaded, progress=progress)  # (n, 3)
    return predictions_from_probabilities(np.asarray(probabilities))


def compare(
    model_name: str | None = "embedded",
    *,
    source: str | os.PathLike[str] | None = None,
    progress: bool = True,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """VADER and ``model_name`` on the VADER corpora, as one JSON-ready dict (cached).

    ``source`` is the corpus directory (default: the verified cache, see
    :func:`roberta_math.data.corpus.corpus_dir`); ``bootstrap`` the number of paired
    resamples for the test-split intervals (0 skips them); ``seed`` seeds the bootstrap
    and the individual-rater draws. Scoring shows a progress bar on stderr when
    ``progress`` is true. ``model_name=None`` compares nothing with VADER (a VADER-only
    result, e.g. before a model exists). The layout is described in this module's docstring.
    """
    if bootstrap < 0:
        raise UserError(f"--bootstrap must be 0 or more, got {bootstrap}")
    from roberta_math import __version__

    sentences = load_corpus(source)
    loaded = None if model_name is None else _load_model(model_name)
    name = None if loaded is None else str(getattr(loaded.provenance, "name", model_name))
    if name == REFERENCE:
        raise UserError(f"the model's name {name!r} clashes with the VADER baseline; rename the model")

    parts = {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "source_sha256": evaluation_source_digest(),
        "vaderSentiment": vader_version(),
        "model_name": model_name,
        "model_sha256": None if loaded is None else model_checksum(loaded),
        "corpus_sha256": corpus_digest(source),
        "parameters": {
            "bootstrap": bootstrap,
            "seed": seed,
            "split_seed": SPLIT_SEED,
            "top_disagreements": TOP_DISAGREEMENTS,
            "human_draws": HUMAN_DRAWS,
            "baselines": BASELINES,
        },
    }
    key = cache_key(parts)
    path = cache_path(key)
    cached = _read_cached(path, key)
    if cached is not None:
        return cached

    result = _compute(sentences, loaded, name, source=source, progress=progress, bootstrap=bootstrap, seed=seed)
    result["meta"].update(
        {
            "model": name,
            "model_requested": model_name,
            "model_sha256": parts["model_sha256"],
            "corpus_sha256": parts["corpus_sha256"],
            "source_sha256": parts["source_sha256"],
            "package_version": __version__,
            "vaderSentiment": parts["vaderSentiment"],
            "cache_key": key,
        }
    )
    result = _json_ready(result)
    atomic_write_text(path, json.dumps(result, indent=1, allow_nan=False) + "\n")
    return result


def _compute(
    sentences: list[Sentence],
    loaded: Any,
    name: str | None,
    *,
    source: str | os.PathLike[str] | None,
    progress: bool,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Everything :func:`compare` returns, without the cache."""
    parts = split_corpus(sentences)
    test = parts["test"]
    index_of = {(s.domain, s.id): i for i, s in enumerate(sentences)}
    test_rows = np.array([index_of[(s.domain, s.id)] for s in test], dtype=np.int64)

    vader_all = vader_predictions([s.text for s in sentences], progress=progress)

    # ---- full corpora: VADER everywhere, the model only where it never trained.
    full: dict[str, dict[str, Any]] = {REFERENCE: metrics_by_domain(sentences, vader_all)}
    # The same scores against the human classes read by sign alone (see versus_paper).
    vader_sign = metrics_by_domain(
        sentences, vader_all, DOMAINS, truth=sign_labels([s.valence for s in sentences])
    )
    unseen = [] if loaded is None else [d for d in DOMAINS if d not in _model_training_domains(loaded)]
    if unseen and name is not None:
        rows = [s for s in sentences if s.domain in unseen]
        model_full = _score_model(loaded, rows, progress=progress)
        keys = [*unseen, ALL] if len(unseen) == len(DOMAINS) else unseen
        full[name] = metrics_by_domain(rows, model_full, keys)

    # ---- the held-out test split: every method.
    methods: dict[str, Predictions] = {
        REFERENCE: Predictions(vader_all.labels[test_rows], vader_all.scores[test_rows]),
    }
    if name is not None:
        methods[name] = _score_model(loaded, test, progress=progress)
    for baseline, spec in BASELINES.items():
        methods[baseline] = _load_baseline(spec)(parts["train"], test)
    test_table = {method: metrics_by_domain(test, pred) for method, pred in methods.items()}

    # ---- individual raters, where the files allow it.
    ratings: dict[str, dict[str, list[float]]] = {}
    unavailable: dict[str, str] = {}
    for domain in DOMAINS:
        try:
            ratings[domain] = load_individual_ratings(domain, source)
        except UserError as exc:
            unavailable[domain] = str(exc)
    humans = individual_human_metrics(sentences, ratings, seed=seed)

    return {
        "full": full,
        "test": test_table,
        "paper": PAPER_TABLE_4,
        "full_vs_paper": versus_paper(full[REFERENCE], humans, vader_sign),
        "individual_humans": {
            "method": (
                "for each sentence one of its individual ratings is drawn at random (seeded) and "
                "scored like a method against the published mean: Pearson r with the mean and the "
                "+/-0.05 classes of rating/4 against those of mean/4, support-weighted P/R/F1 as in "
                "the paper-style row; means over the draws, *_range the 2.5-97.5 percentiles across "
                "draws; leave_one_out compares the rating with the mean of the other ratings instead"
            ),
            "draws": HUMAN_DRAWS,
            "seed": seed,
            "unavailable": unavailable,
            "domains": humans,
        },
        "bootstrap": {
            "split": "test",
            "reference": REFERENCE,
            "n_resamples": bootstrap,
            "seed": seed,
            "level": 0.95,
            "interval": "percentile, paired (both methods on the same resampled sentences)",
            "differences": bootstrap_differences(test, methods, n_resamples=bootstrap, seed=seed) if bootstrap else {},
        },
        "error_analysis": {"split": "test", "tags": error_analysis(test, methods)},
        "disagreements": {
            "split": "test",
            "reference": REFERENCE,
            "measure": "|signed score of the method - VADER compound|, scores in [-1, 1]",
            "top_k": TOP_DISAGREEMENTS,
            "by_method": top_disagreements(test, methods),
        },
        "meta": {
            "methods": {"full": list(full), "test": list(methods)},
            "domains": list(DOMAIN_KEYS),
            "labels": list(LABELS),
            "label_rule": "human label: mean valence / 4 <= -0.05 negative, >= 0.05 positive, else neutral",
            "scores": {
                REFERENCE: "VADER compound score; label by the same +/-0.05 band",
                **{
                    method: "P(positive) - P(negative); label = argmax of the three probabilities"
                    for method in methods
                    if method != REFERENCE
                },
            },
            "averaging": (
                "precision/recall/f1 are support-weighted over the three classes (the paper-style "
                "row: its recall equals accuracy); macro_* weight each class equally"
            ),
            "split": {
                "seed": SPLIT_SEED,
                "sizes": {k: len(v) for k, v in parts.items()},
                "fingerprint_sha256": split_fingerprint(parts),
            },
            "model_training_domains": None if loaded is None else sorted(_model_training_domains(loaded)),
        },
    }


def _main() -> None:  # pragma: no cover - a quick manual entry point
    json.dump(compare(sys.argv[1] if len(sys.argv) > 1 else "embedded"), sys.stdout, indent=1)


__all__ = [
    "ALL",
    "BASELINES",
    "DOMAIN_KEYS",
    "PAPER_TABLE_4",
    "Predictions",
    "TAG_RULES",
    "bootstrap_differences",
    "cache_key",
    "cache_path",
    "compare",
    "corpus_digest",
    "error_analysis",
    "evaluation_source_digest",
    "individual_human_metrics",
    "metrics_by_domain",
    "model_checksum",
    "predictions_from_probabilities",
    "tag_sentence",
    "top_disagreements",
    "vader_predictions",
    "versus_paper",
    "sign_labels",
    "PAPER_READINGS",
]

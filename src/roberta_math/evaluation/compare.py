r"""RoBERTa beside VADER on the VADER paper's own human-rated corpora: the comparison that composes the parts.

:func:`compare` returns one JSON-ready dict:

``full``
    VADER on every sentence of the four corpora, evaluated as Hutto & Gilbert (2014,
    Table 4) evaluate it: Pearson :math:`r` of the compound score with the mean of the
    human raters, and three-class precision / recall / F1 with the :math:`\pm 0.05`
    band. A model appears here only for domains it never trained on.
``test``
    Every method on the held-out test split (the same split the embedded model never
    saw): METHOD -> DOMAIN -> METRICS, DOMAIN one of the four corpora or ``all``
    (:func:`~roberta_math.evaluation.predictions.metrics_by_domain`).
``paper``, ``full_vs_paper``, ``individual_humans``
    The published Table 4, ours minus the paper's under each reading of its averaging,
    and the "Ind. Humans" row recomputed (:mod:`roberta_math.evaluation.paper_table`).
``bootstrap``
    Paired-bootstrap 95 % intervals of each method's metric minus VADER's on the test
    split (:mod:`roberta_math.evaluation.resampling`).
``error_analysis``, ``disagreements``
    Accuracy on test sentences tagged by simple text rules, and the sentences on which a
    method and VADER differ most (:mod:`roberta_math.evaluation.error_analysis`).
``meta``
    What was compared, the score definitions, and the cache key.

A method's signed score and label are defined in :mod:`roberta_math.evaluation.predictions`.
The result is cached (:mod:`roberta_math.evaluation.result_cache`): a second call with
the same model, corpus, code and parameters reads it back and scores nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from roberta_math.cache import atomic_write_text, json_ready
from roberta_math.data.corpus import (
    DOMAINS,
    SPLIT_SEED,
    Sentence,
    load_corpus,
    load_individual_ratings,
    split_corpus,
    split_fingerprint,
)
from roberta_math.errors import UserError
from roberta_math.evaluation.error_analysis import TAG_RULES, TOP_DISAGREEMENTS, error_analysis, tag_sentence, top_disagreements
from roberta_math.evaluation.paper_table import (
    HUMAN_DRAWS,
    PAPER_READINGS,
    PAPER_TABLE_4,
    individual_human_metrics,
    sign_labels,
    versus_paper,
)
from roberta_math.evaluation.predictions import (
    ALL,
    DOMAIN_KEYS,
    REFERENCE,
    Predictions,
    metrics_by_domain,
    predictions_from_probabilities,
    vader_predictions,
)
from roberta_math.evaluation.resampling import BOOTSTRAP_METRICS, bootstrap_differences
from roberta_math.evaluation.result_cache import (
    cache_key,
    cache_path,
    corpus_digest,
    evaluation_source_digest,
    model_checksum,
    read_cached,
)
from roberta_math.evaluation.vader import vader_version
from roberta_math.labels import LABELS

FORMAT_VERSION = 1
"""Bumped when the layout of the result changes (part of the cache key)."""

# Methods trained on the train split and evaluated on the test split, beside VADER and
# the model: name -> "module:function", the function mapping (train, test) sentences to
# Predictions for the test sentences. Imported only when compare() runs; a module here
# must live under roberta_math/evaluation/ so its source is part of the cache key.
BASELINES: dict[str, str] = {"tfidf_logreg": "roberta_math.evaluation.baseline:tfidf_logreg"}

Scorer = Callable[[list[str]], np.ndarray]
"""Texts -> the model's class probabilities, shape ``(n, 3)`` in :data:`~roberta_math.labels.LABELS` order."""


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


def _load_baseline(spec: str) -> Callable[[list[Sentence], list[Sentence]], Predictions]:
    module_name, _, function = spec.partition(":")
    return getattr(importlib.import_module(module_name), function)


def _default_scorer(loaded: Any, *, progress: bool) -> Scorer:
    def score(texts: list[str]) -> np.ndarray:
        # Looked up at call time so the scorer can be wrapped (e.g. counted in a test).
        from roberta_math.evaluation import scoring

        return scoring.score_texts(texts, loaded, progress=progress)  # (n, 3)

    return score


def _score_model(score: Scorer, sentences: Sequence[Sentence]) -> Predictions:
    if not sentences:
        return Predictions(np.zeros(0, dtype=np.int64), np.zeros(0))
    return predictions_from_probabilities(np.asarray(score([s.text for s in sentences])))  # (n, 3) -> (n,)


def compare(
    model_name: str | None = "embedded",
    *,
    loaded: Any | None = None,
    score: Scorer | None = None,
    source: str | os.PathLike[str] | None = None,
    progress: bool = True,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """VADER and ``model_name`` on the VADER corpora, as one JSON-ready dict (cached).

    ``loaded`` is the model ``model_name`` names when the caller has already loaded it
    (:func:`roberta_math.model.loading.load_model`); otherwise compare loads it.
    ``score`` maps a list of texts to that model's probabilities ``(n, 3)``; it lets a
    caller hand over probabilities it has already computed (the default runs
    :func:`roberta_math.evaluation.scoring.score_texts`). Either way, a cached result
    is returned without calling it. ``source`` is the corpus directory (default: the
    verified cache, see :func:`roberta_math.data.corpus.corpus_dir`); ``bootstrap`` the
    number of paired resamples for the test-split intervals (0 skips them); ``seed``
    seeds the bootstrap and the individual-rater draws. Scoring shows a progress bar on
    stderr when ``progress`` is true. ``model_name=None`` compares nothing with VADER (a
    VADER-only result, e.g. before a model exists). The layout is described in this
    module's docstring.
    """
    if bootstrap < 0:
        raise UserError(f"--bootstrap must be 0 or more, got {bootstrap}")
    if model_name is None and (loaded is not None or score is not None):
        raise ValueError("compare(None, ...) is VADER only: pass the model's name with loaded= or score=")
    from roberta_math import __version__

    sentences = load_corpus(source)
    if model_name is not None and loaded is None:
        from roberta_math.model.loading import load_model

        loaded = load_model(model_name)
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
    cached = read_cached(path, key)
    if cached is not None:
        return cached

    if loaded is not None and score is None:
        score = _default_scorer(loaded, progress=progress)
    result = _compute(sentences, loaded, name, source=source, progress=progress, bootstrap=bootstrap, seed=seed,
                      score=score)
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
    result = json_ready(result)
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
    score: Scorer | None = None,
) -> dict[str, Any]:
    """Everything :func:`compare` returns, without the cache."""
    if loaded is not None and score is None:
        score = _default_scorer(loaded, progress=progress)
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
    if unseen and name is not None and score is not None:
        rows = [s for s in sentences if s.domain in unseen]
        keys = [*unseen, ALL] if len(unseen) == len(DOMAINS) else unseen
        full[name] = metrics_by_domain(rows, _score_model(score, rows), keys)

    # ---- the held-out test split: every method.
    methods: dict[str, Predictions] = {
        REFERENCE: Predictions(vader_all.labels[test_rows], vader_all.scores[test_rows]),
    }
    if name is not None and score is not None:
        methods[name] = _score_model(score, test)
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


# The parts compare composes stay importable from here, where they lived before the split.
__all__ = [
    "ALL",
    "BASELINES",
    "BOOTSTRAP_METRICS",
    "DOMAIN_KEYS",
    "FORMAT_VERSION",
    "HUMAN_DRAWS",
    "LABELS",
    "PAPER_READINGS",
    "PAPER_TABLE_4",
    "REFERENCE",
    "TAG_RULES",
    "TOP_DISAGREEMENTS",
    "Predictions",
    "Scorer",
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
    "sign_labels",
    "tag_sentence",
    "top_disagreements",
    "vader_predictions",
    "versus_paper",
]

r"""One method's output on a list of sentences, and its metrics per domain.

A method gives every sentence a class and a *signed score* in :math:`[-1, 1]`: VADER its
compound score :math:`\psi_\text{VADER}` (class by the paper's :math:`\pm 0.05` band); a classifier with class
probabilities :math:`p = (p_\text{neg}, p_\text{neu}, p_\text{pos})` its
:math:`\arg\max_c p_c` and

$$ \psi = p_\text{pos} - p_\text{neg}, $$

which is what gets correlated with the human mean valence. :func:`metrics_by_domain`
scores a :class:`Predictions` per corpus and on the pooled ``all``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from roberta_math.data.corpus import DOMAINS, Sentence
from roberta_math.evaluation import metrics as M
from roberta_math.evaluation.vader import THRESHOLD, compound_scores, labels_from_scores
from roberta_math.labels import LABELS

ALL = "all"
"""The pseudo-domain that pools the four corpora."""

DOMAIN_KEYS: tuple[str, ...] = (*DOMAINS, ALL)
REFERENCE = "vader"
"""The method every other method is compared against."""


@dataclass(frozen=True)
class Predictions:
    """One method's output on a list of sentences: labels ``(n,)`` and signed scores ``(n,)``."""

    labels: np.ndarray  # (n,) class indices, LABELS order
    scores: np.ndarray  # (n,) signed score in [-1, 1]

    def take(self, mask: np.ndarray) -> Predictions:
        """The rows selected by a boolean ``mask`` of shape ``(n,)``."""
        return Predictions(self.labels[mask], self.scores[mask])


def predictions_from_probabilities(probabilities: np.ndarray) -> Predictions:
    r"""Labels :math:`\arg\max_c p_c` and signed scores :math:`p_\text{pos} - p_\text{neg}`.

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


def domain_masks(sentences: Sequence[Sentence]) -> dict[str, np.ndarray]:
    """DOMAIN -> boolean mask ``(n,)`` of the sentences in it; ``all`` selects every one.

    >>> rows = [Sentence("tweets", "1", 2.0, "a"), Sentence("nyt_editorials", "2", 0.0, "b")]
    >>> {d: m.tolist() for d, m in domain_masks(rows).items() if m.any()}
    {'tweets': [True, False], 'nyt_editorials': [False, True], 'all': [True, True]}
    """
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
    them, e.g. with :func:`~roberta_math.evaluation.paper_table.sign_labels` to read the paper another way.

    >>> rows = [Sentence("tweets", "1", 2.0, "good"), Sentence("tweets", "2", -2.0, "bad")]
    >>> table = metrics_by_domain(rows, Predictions(np.array([2, 2]), np.array([0.5, 0.1])), ["tweets"])
    >>> table["tweets"]["n"], table["tweets"]["accuracy"], table["tweets"]["pearson_r"]
    (2, 0.5, 1.0)
    """
    if truth is None:
        truth = np.array([s.label for s in sentences], dtype=np.int64)  # (n,)
    valence = np.array([s.valence for s in sentences], dtype=np.float64)  # (n,)
    masks = domain_masks(sentences)
    return {
        d: M.classification_metrics(
            truth[masks[d]], predictions.labels[masks[d]], predictions.scores[masks[d]], valence[masks[d]]
        )
        for d in domains
    }


__all__ = ["ALL", "DOMAIN_KEYS", "REFERENCE", "Predictions", "domain_masks", "metrics_by_domain",
           "predictions_from_probabilities", "vader_predictions"]

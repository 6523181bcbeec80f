r"""VADER, the rule-based baseline: compound scores and the paper's three classes.

VADER (Hutto & Gilbert, ICWSM 2014) sums the lexicon valences of a sentence's words,
adjusted by its rules (negation, "but", boosters, ALL-CAPS, "!"), and squashes the
sum :math:`u` into :math:`(-1, 1)`, the compound score:

$$ \psi_\text{VADER} = \frac{u}{\sqrt{u^2 + \alpha}}, \qquad \alpha = 15 $$

The paper turns any score on :math:`[-1, 1]` into a class with thresholds
:math:`\pm 0.05` (this project applies the same rule to the human mean valence
:math:`\bar\nu/4`, see :func:`roberta_math.data.corpus.label_from_valence`; the paper does not
say how it classed the ratings):

$$\begin{gathered} \hat y = 0 \text{ if } \psi \le -0.05, \quad 2 \text{ if } \psi \ge 0.05, \\ 1 \text{ otherwise.} \end{gathered}$$

The ``vaderSentiment`` package is imported on first use, not with this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

THRESHOLD = 0.05
"""Half-width of the neutral band on the normalised scale, as in the paper."""


@functools.lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    """The one shared ``SentimentIntensityAnalyzer`` (reading its lexicon takes ~0.1 s).

    >>> analyzer() is analyzer()
    True
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_version() -> str:
    """The installed ``vaderSentiment`` version (part of the comparison's cache key).

    >>> vader_version()
    '3.3.2'
    """
    from importlib.metadata import version

    return version("vaderSentiment")


def compound_scores(texts: Iterable[str], *, progress: bool = False) -> np.ndarray:
    r"""VADER's compound score :math:`c \in [-1, 1]` for each text, shape ``(n,)``.

    >>> c = compound_scores(["The book was good.", "A really bad, horrible book.", "It is a book."])
    >>> c.round(4).tolist()
    [0.4404, -0.8211, 0.0]
    """
    texts = list(texts)
    sia = analyzer()
    iterator: Iterable[str] = texts
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(texts, desc="VADER", unit="sentence", leave=False)
    return np.array([sia.polarity_scores(text)["compound"] for text in iterator], dtype=np.float64)


def labels_from_scores(scores: Sequence[float] | np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    r"""Three classes from signed scores on :math:`[-1, 1]`, with the paper's :math:`\pm 0.05` band.

    Both boundaries belong to the outer classes (:math:`\le -0.05` is negative,
    :math:`\ge 0.05` positive), as in ``label_from_valence``.

    >>> labels_from_scores([-0.5, -0.05, 0.0, 0.049, 0.05]).tolist()
    [0, 0, 1, 1, 2]
    """
    s = np.asarray(scores, dtype=np.float64)  # (n,)
    return np.where(s <= -threshold, 0, np.where(s >= threshold, 2, 1)).astype(np.int64)


def vader_labels(texts: Iterable[str]) -> np.ndarray:
    """VADER's three-class prediction for each text (0 negative, 1 neutral, 2 positive).

    >>> vader_labels(["I love it", "It is Tuesday", "I hate it"]).tolist()
    [2, 1, 0]
    """
    return labels_from_scores(compound_scores(texts))

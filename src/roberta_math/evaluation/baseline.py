r"""A strong non-neural reference: TF-IDF n-grams and multinomial logistic regression.

Every text becomes one sparse vector, the concatenation of two TF-IDF blocks learnt on
the training texts only: word 1- and 2-grams, and character 2- to 5-grams taken inside
word boundaries (so ``"goood"`` still shares ``"goo"`` and ``"od"`` with ``"good"``).
A term :math:`\omega` of training text :math:`i` weighs

$$ w_{\omega,i} = \bigl(1 + \log \operatorname{tf}_{\omega,i}\bigr)\,
   \Bigl(1 + \log \frac{1 + N}{1 + \operatorname{df}_\omega}\Bigr), $$

with :math:`N` training texts, :math:`\operatorname{df}_\omega` of which contain :math:`\omega`;
each block is then scaled to unit length. A multinomial logistic regression maps the
row vector :math:`\chi_i \in \mathbb R^{1 \times N_\text{feat}}` of text :math:`i` to class
probabilities (the site's row convention)

$$ \begin{gathered}
    p_i = \operatorname{softmax}\bigl(\chi_i W_\text{lr}^\top + b_\text{lr}\bigr), \\
    W_\text{lr} \in \mathbb R^{C \times N_\text{feat}},
    \end{gathered}$$

fitted by minimising

$$ \frac{1}{N} \sum_{i=1}^{N} -\log p_{i, y_i} + \frac{1}{2\, C_\text{reg} N} \lVert W_\text{lr} \rVert^2 $$

with :math:`C_\text{reg} = 1`: scikit-learn's ``LogisticRegression(C=C_reg)`` minimises
:math:`C_\text{reg} \sum_i -\log p_{i, y_i} + \frac12 \lVert W_\text{lr} \rVert^2`, the same
objective times :math:`C_\text{reg} N`; the bias is not penalised (default solver, lbfgs).
The settings are fixed in advance and never tuned on any split.

``roberta-math compare`` reports it under ``test`` as ``tfidf_logreg``
(:func:`tfidf_logreg`, registered in
:data:`~roberta_math.evaluation.compare.BASELINES`). scikit-learn is imported only
when a model is fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.labels import LABELS

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.data.corpus import Sentence
    from roberta_math.evaluation.predictions import Predictions

WORD_NGRAMS: tuple[int, int] = (1, 2)
"""Word n-gram lengths of the first TF-IDF block."""

CHAR_NGRAMS: tuple[int, int] = (2, 5)
"""Character n-gram lengths (within word boundaries) of the second block."""

INVERSE_REGULARISATION = 1.0
r""":math:`C`, the inverse strength of the :math:`\ell_2` penalty."""

MAX_ITERATIONS = 2000
"""Iterations allowed to the L-BFGS solver (it converges well before on this corpus)."""


def tfidf_logreg_pipeline(seed: int = 0) -> Any:
    """The unfitted scikit-learn pipeline: two TF-IDF blocks side by side, then logistic regression.

    ``seed`` fixes the solver's ``random_state`` (L-BFGS itself draws nothing, so the
    fit is deterministic either way; the seed is recorded for completeness).

    >>> [name for name, _ in tfidf_logreg_pipeline().steps]
    ['featureunion', 'logisticregression']
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, sublinear_tf=True, lowercase=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, lowercase=True),
        ),
        LogisticRegression(C=INVERSE_REGULARISATION, max_iter=MAX_ITERATIONS, random_state=seed),
    )


def tfidf_logreg_probabilities(
    train_texts: Sequence[str], train_labels: Sequence[int], texts: Sequence[str], *, seed: int = 0
) -> np.ndarray:
    r"""Fit on ``train_texts`` / ``train_labels`` and return :math:`p(y \mid x)` for ``texts``, shape ``(n, 3)``.

    Columns follow :data:`~roberta_math.labels.LABELS`; a class absent from the training
    labels gets probability 0 in its column.

    >>> p = tfidf_logreg_probabilities(["good film", "bad film", "a film"] * 4, [2, 0, 1] * 4, ["so good", "bad"])
    >>> p.shape, p.argmax(axis=1).tolist(), bool(np.allclose(p.sum(axis=1), 1.0))
    ((2, 3), [2, 0], True)
    """
    if len(train_texts) != len(train_labels):
        raise ValueError(f"{len(train_texts)} training texts but {len(train_labels)} labels")
    if len(set(train_labels)) < 2:
        raise ValueError("the training labels hold fewer than two classes: nothing to separate")
    model = tfidf_logreg_pipeline(seed)
    model.fit(list(train_texts), np.asarray(train_labels, dtype=np.int64))
    probabilities = np.zeros((len(texts), len(LABELS)), dtype=np.float64)  # (n, 3)
    if len(texts):
        probabilities[:, model.classes_] = model.predict_proba(list(texts))  # (n, classes seen)
    return probabilities


def tfidf_logreg(train: Sequence[Sentence], test: Sequence[Sentence]) -> Predictions:
    r"""The ``tfidf_logreg`` method of ``roberta-math compare``: fit on ``train``, predict ``test``.

    Labels are :math:`\arg\max_c p_c` and signed scores :math:`p_\text{pos} - p_\text{neg}`,
    as for every classifier in the comparison.

    >>> from roberta_math.data.corpus import Sentence
    >>> train = [Sentence("tweets", str(i), v, t) for i, (v, t) in
    ...          enumerate([(2.5, "great fun"), (-2.5, "awful mess"), (0.0, "on Tuesday")] * 4)]
    >>> tfidf_logreg(train, [Sentence("tweets", "x", 2.0, "great")]).labels.tolist()
    [2]
    """
    from roberta_math.evaluation.predictions import predictions_from_probabilities

    probabilities = tfidf_logreg_probabilities([s.text for s in train], [s.label for s in train], [s.text for s in test])
    return predictions_from_probabilities(probabilities)

r"""Where the methods fail: accuracy on sentences tagged by simple text rules, and the largest disagreements.

:data:`TAG_RULES` tags a sentence for a negation, a contrastive "but", an intensifier,
a word in capitals, an exclamation mark or an emoticon (VADER has a rule for each);
:func:`error_analysis` gives each method's accuracy on the tagged sentences and on the
rest. :func:`top_disagreements` lists, per domain, the sentences on which a method's
signed score and VADER's differ most.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from roberta_math.data.corpus import DOMAINS, Sentence
from roberta_math.evaluation.predictions import REFERENCE, Predictions, domain_masks
from roberta_math.labels import LABELS

TOP_DISAGREEMENTS = 5
"""Sentences listed per domain and method in ``disagreements``."""

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
    masks = domain_masks(sentences)
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


__all__ = ["TAG_RULES", "TOP_DISAGREEMENTS", "error_analysis", "tag_sentence", "top_disagreements"]

r"""Behavioural tests of a sentiment classifier, in the manner of CheckList.

Ribeiro, Wu, Guestrin & Singh (2020), "Beyond Accuracy: Behavioral Testing of NLP
Models with CheckList" (ACL), test a model the way software is tested: one
*capability* at a time (vocabulary, negation, ...), with sentences generated from
templates, and three *test types*:

* **MFT** (minimum functionality test): each sentence has a label (or a set of acceptable
  labels) that any sentiment model should give it. A case fails when the predicted class
  :math:`\hat y` is not among them.
* **INV** (invariance): a pair, a sentence :math:`T` and a perturbed copy :math:`T'` that
  should have the same sentiment (another name, a typo). A case fails when the two
  predicted classes differ, :math:`\hat y(T') \ne \hat y(T)`, whether or not the first one
  was right.
* **DIR** (directional expectation): a pair whose signed score should move one way or not
  at all: "very good" should not be less positive than "good". With the signed score
  :math:`\psi = p_\text{pos} - p_\text{neg}` of a classifier (VADER's compound score for
  VADER, see :mod:`roberta_math.evaluation.predictions`) and the expected direction
  :math:`\zeta \in \{+1, -1\}`, a case fails when
  :math:`\zeta\,\bigl(\psi(T') - \psi(T)\bigr) < -\epsilon_\text{DIR}`, with :math:`\epsilon_\text{DIR} = 0.05`
  (:data:`TOLERANCE`, our choice: a smaller change is read as "no change").

The failure rate of a test is the number of failing cases over its :math:`n` cases. The
templates and word lists below are this project's own (written for this page, not taken
from CheckList's suite); only the method is CheckList's. Sentences are drawn with a fixed
seed (:func:`checklist_suite`), so every run tests the same few hundred sentences.

Any method that maps texts to :class:`~roberta_math.evaluation.predictions.Predictions`
can be tested (:func:`run_checklist`): the model through
:func:`~roberta_math.evaluation.scoring.score_texts` (:func:`model_scorer`, the same
probabilities ``predict`` and ``evaluate`` print), VADER (:func:`vader_scorer`) and the
TF-IDF baseline fitted on the train split only (:func:`tfidf_scorer`, cached).
:func:`checklist_report` runs all three; ``roberta-math checklist`` prints it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.errors import UserError
from roberta_math.labels import LABELS

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.data.corpus import Sentence
    from roberta_math.evaluation.predictions import Predictions

NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
"""Class indices, in :data:`~roberta_math.labels.LABELS` order."""

FORMAT_VERSION = 1
"""Bumped when the layout of :func:`checklist_report`'s result changes."""

SEED = 0
"""The seed of the template fills: the same seed gives the same sentences."""

CASES_PER_TEST = 30
"""Cases drawn per test (fewer when a template grid holds fewer)."""

TOLERANCE = 0.05
r""":math:`\epsilon_\text{DIR}`, the signed-score change a DIR test lets pass in the wrong direction."""

EXAMPLES_KEPT = 3
"""Failing cases kept per test and method in the report."""

TEST_TYPES: dict[str, str] = {
    "MFT": "minimum functionality: the predicted class must be one of the expected classes",
    "INV": "invariance: the perturbed sentence must get the same predicted class as the original",
    "DIR": "directional expectation: the signed score must not move the wrong way by more than the tolerance",
}

# --------------------------------------------------------------------------- word lists (our own)

# --8<-- [start:word-lists]
NOUNS: tuple[str, ...] = ("film", "book", "hotel", "meal", "phone", "concert", "game", "flight", "coffee",
                          "class", "show", "restaurant")
POSITIVE_ADJECTIVES: tuple[str, ...] = ("good", "great", "excellent", "wonderful", "lovely", "fantastic",
                                        "delightful", "enjoyable", "superb", "brilliant", "pleasant", "amazing")
NEGATIVE_ADJECTIVES: tuple[str, ...] = ("bad", "terrible", "awful", "horrible", "dreadful", "poor",
                                        "disappointing", "boring", "unpleasant", "miserable", "annoying", "lousy")
POSITIVE_VERBS: tuple[tuple[str, str], ...] = (("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"),
                                               ("adored", "adore"), ("admired", "admire"))
"""(past tense, base form) pairs."""
NEGATIVE_VERBS: tuple[tuple[str, str], ...] = (("hated", "hate"), ("disliked", "dislike"), ("despised", "despise"),
                                               ("loathed", "loathe"), ("detested", "detest"))
INTENSIFIERS: tuple[str, ...] = ("very", "really", "extremely", "incredibly", "truly", "so")
DIMINISHERS: tuple[str, ...] = ("somewhat", "slightly", "a little", "kind of", "mildly", "a bit")
NAMES: tuple[str, ...] = ("Anna", "Mohammed", "Wei", "Priya", "Olusegun", "Maria", "John", "Yuki", "Fatima",
                          "Dmitri", "Aisha", "Carlos")
PLACES: tuple[str, ...] = ("Paris", "Lagos", "Chicago", "Mumbai", "Lima", "Oslo", "Cairo", "Seoul", "Dublin",
                           "Nairobi", "Manila", "Toronto")
DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIMES: tuple[str, ...] = ("nine o'clock", "noon", "half past six", "ten in the morning", "eight tonight")
POSITIVE_EMOJI: tuple[str, ...] = ("\U0001F60A", "\U0001F60D", "\U0001F600", "\U0001F44D", "\u2764\ufe0f", "\U0001F970")
"""Smiling face with smiling eyes, heart eyes, grinning face, thumbs up, red heart, smiling face with hearts."""
NEGATIVE_EMOJI: tuple[str, ...] = ("\U0001F621", "\U0001F622", "\U0001F61E", "\U0001F44E", "\U0001F620", "\U0001F494")
"""Pouting face, crying face, disappointed face, thumbs down, angry face, broken heart."""
# --8<-- [end:word-lists]

# --------------------------------------------------------------------------- cases and tests


@dataclass(frozen=True)
class Case:
    r"""One test case: a sentence (MFT) or a pair (INV, DIR), and what it expects.

    ``texts`` is ``(T,)`` for an MFT, ``(T, T')`` for INV and DIR. ``expected`` holds the
    acceptable classes of an MFT; ``direction`` is :math:`\zeta = +1` (:math:`T'` must not be
    less positive than :math:`T`) or :math:`-1` (not more positive) for a DIR.
    """

    texts: tuple[str, ...]
    expected: tuple[int, ...] = ()
    direction: int = 0


@dataclass(frozen=True)
class CheckTest:
    """One behavioural test: its capability, type, expected behaviour and cases."""

    name: str
    capability: str
    type: str  # "MFT", "INV" or "DIR"
    expectation: str
    cases: tuple[Case, ...] = field(repr=False)

    def failed(self, labels: Sequence[np.ndarray], scores: Sequence[np.ndarray], tolerance: float = TOLERANCE) -> np.ndarray:
        r"""Which cases fail, shape ``(n,)``, given the predictions of each case's texts.

        ``labels[k]`` and ``scores[k]`` are the predicted classes and signed scores of
        the ``k``-th text of every case (``k = 0`` the sentence or original, ``k = 1`` the
        perturbed sentence), each of shape ``(n,)``. The rule is the test type's (see the
        module docstring).

        >>> t = CheckTest("t", "c", "DIR", "x", (Case(("a", "b"), direction=1), Case(("a", "b"), direction=-1)))
        >>> t.failed([np.array([2, 2]), np.array([2, 2])], [np.array([0.5, 0.5]), np.array([0.3, 0.3])]).tolist()
        [True, False]
        """
        if self.type == "MFT":
            allowed = np.array([[c in case.expected for c in range(len(LABELS))] for case in self.cases])  # (n, 3)
            return ~allowed[np.arange(len(self.cases)), np.asarray(labels[0], dtype=np.int64)]
        if self.type == "INV":
            return np.asarray(labels[1]) != np.asarray(labels[0])
        if self.type == "DIR":
            direction = np.array([case.direction for case in self.cases], dtype=np.float64)  # (n,)
            change = np.asarray(scores[1], dtype=np.float64) - np.asarray(scores[0], dtype=np.float64)  # (n,)
            return direction * change < -tolerance
        raise ValueError(f"unknown test type {self.type!r}: choose from {sorted(TEST_TYPES)}")


def _draw(rng: random.Random, grids: Sequence[Iterable[Any]], k: int) -> list[Any]:
    """``k`` items drawn without replacement, shared as evenly as possible among ``grids``
    (one grid per template, so a large template does not crowd out a small one), interleaved
    grid by grid: first item of each grid, then the second, ...

    >>> _draw(random.Random(0), [["a1", "a2", "a3"], ["b1"]], 3)
    ['a2', 'b1', 'a3']
    """
    lists = [list(grid) for grid in grids]
    shares = [k // len(lists) + (1 if i < k % len(lists) else 0) for i in range(len(lists))]
    drawn = [rng.sample(items, min(share, len(items))) for items, share in zip(lists, shares, strict=True)]
    return [item for row in itertools.zip_longest(*drawn) for item in row if item is not None]


def _other(rng: random.Random, choices: Sequence[str], current: str) -> str:
    return rng.choice([c for c in choices if c != current])


def _polar_statements(rng: random.Random, k: int) -> list[tuple[str, int]]:
    """``k`` plain positive or negative sentences with their class (half each), the base of the robustness tests."""
    positive = [(f"The {n} was {a}.", POSITIVE) for n, a in itertools.product(NOUNS, POSITIVE_ADJECTIVES)]
    negative = [(f"The {n} was {a}.", NEGATIVE) for n, a in itertools.product(NOUNS, NEGATIVE_ADJECTIVES)]
    return _draw(rng, [positive, negative], k)


def vocabulary_test(polarity: int, rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """MFT: sentences whose sentiment rests on one clearly positive (or negative) word.

    Templates: "The {noun} was {adjective}.", "What a {adjective} {noun}!", "I {verb} the
    {noun}.", "This is a {adjective} {noun}." with words of ``polarity``.
    Expected: the class of ``polarity``. Failure: any other predicted class.

    >>> t = vocabulary_test(POSITIVE, random.Random(0), k=4)
    >>> t.type, len(t.cases), {c.expected for c in t.cases}
    ('MFT', 4, {(2,)})
    """
    adjectives = POSITIVE_ADJECTIVES if polarity == POSITIVE else NEGATIVE_ADJECTIVES
    verbs = POSITIVE_VERBS if polarity == POSITIVE else NEGATIVE_VERBS
    grid = [
        [f"The {n} was {a}." for n, a in itertools.product(NOUNS, adjectives)],
        [f"What a{'n' if a[0] in 'aeiou' else ''} {a} {n}!" for n, a in itertools.product(NOUNS, adjectives)],
        [f"I {v} the {n}." for n, (v, _) in itertools.product(NOUNS, verbs)],
        [f"This is a{'n' if a[0] in 'aeiou' else ''} {a} {n}." for n, a in itertools.product(NOUNS, adjectives)],
    ]
    word = LABELS[polarity]
    return CheckTest(
        f"vocabulary_{word}", "vocabulary", "MFT", f"a sentence built on a clearly {word} word is {word}",
        tuple(Case((text,), (polarity,)) for text in _draw(rng, grid, k)),
    )


def negation_test(polarity: int, rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """MFT: a positive (or negative) word under "not".

    Templates: "The {noun} was not {adjective}.", "I did not {verb} the {noun}.", "I don't
    think the {noun} was {adjective}.", "The {noun} was not {adjective} at all."
    Expected: a negated positive word is negative; a negated negative word is neutral or
    positive ("not bad" is not praise, but it is not a complaint either; CheckList's
    negation tests read it the same way). Failure: a class outside those.

    >>> t = negation_test(NEGATIVE, random.Random(0), k=2)
    >>> {c.expected for c in t.cases}
    {(1, 2)}
    """
    adjectives = POSITIVE_ADJECTIVES if polarity == POSITIVE else NEGATIVE_ADJECTIVES
    verbs = POSITIVE_VERBS if polarity == POSITIVE else NEGATIVE_VERBS
    grid = [
        [f"The {n} was not {a}." for n, a in itertools.product(NOUNS, adjectives)],
        [f"I did not {v} the {n}." for n, (_, v) in itertools.product(NOUNS, verbs)],
        [f"I don't think the {n} was {a}." for n, a in itertools.product(NOUNS, adjectives)],
        [f"The {n} was not {a} at all." for n, a in itertools.product(NOUNS, adjectives)],
    ]
    if polarity == POSITIVE:
        expected, said = (NEGATIVE,), "negative"
    else:
        expected, said = (NEUTRAL, POSITIVE), "neutral or positive"
    word = LABELS[polarity]
    return CheckTest(
        f"negated_{word}", "negation", "MFT", f"a negated {word} word is {said}",
        tuple(Case((text,), expected) for text in _draw(rng, grid, k)),
    )


def neutral_test(rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """MFT: statements of fact with no opinion in them.

    Templates: "The {noun} is on {day}.", "The {noun} starts at {time}.", "{name} is in
    {place} this week.", "We talked about the {noun} on {day}.", "The {noun} was moved to
    {day}.", "{name} read about the {noun} at {time}."
    Expected: neutral. Failure: positive or negative.

    >>> [c.texts[0] for c in neutral_test(random.Random(0), k=2).cases]
    ['The flight is on Monday.', 'The class starts at ten in the morning.']
    """
    grid = [
        [f"The {n} is on {d}." for n, d in itertools.product(NOUNS, DAYS)],
        [f"The {n} starts at {t}." for n, t in itertools.product(NOUNS, TIMES)],
        [f"{m} is in {p} this week." for m, p in itertools.product(NAMES, PLACES)],
        [f"We talked about the {n} on {d}." for n, d in itertools.product(NOUNS, DAYS)],
        [f"The {n} was moved to {d}." for n, d in itertools.product(NOUNS, DAYS)],
        [f"{m} read about the {n} at {t}." for m, n, t in itertools.product(NAMES, NOUNS, TIMES)],
    ]
    return CheckTest("neutral_facts", "neutral facts", "MFT", "a statement of fact with no opinion is neutral",
                     tuple(Case((text,), (NEUTRAL,)) for text in _draw(rng, grid, k)))


def degree_test(kind: str, rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    r"""DIR: an intensifier ("very") or a diminisher ("slightly") before a sentiment adjective.

    Pairs: "The {noun} was {adjective}." and "The {noun} was {modifier} {adjective}.", half
    with positive adjectives, half with negative ones. Expected: an intensifier does not
    weaken the sentiment (positive: :math:`\zeta = +1`, negative: :math:`\zeta = -1`); a
    diminisher does not strengthen it (the opposite :math:`\zeta`). Failure:
    :math:`\zeta\,(\psi(T') - \psi(T)) < -\epsilon_\text{DIR}`.

    >>> c = degree_test("intensifier", random.Random(0), k=2).cases
    >>> [(x.texts, x.direction) for x in c]
    [(('The concert was fantastic.', 'The concert was truly fantastic.'), 1), (('The show was miserable.', 'The show was extremely miserable.'), -1)]
    """
    if kind not in ("intensifier", "diminisher"):
        raise ValueError(f"kind must be 'intensifier' or 'diminisher', got {kind!r}")
    modifiers = INTENSIFIERS if kind == "intensifier" else DIMINISHERS
    sign = 1 if kind == "intensifier" else -1
    positive = [(n, a, m, sign) for n, a, m in itertools.product(NOUNS, POSITIVE_ADJECTIVES, modifiers)]
    negative = [(n, a, m, -sign) for n, a, m in itertools.product(NOUNS, NEGATIVE_ADJECTIVES, modifiers)]
    drawn = _draw(rng, [positive, negative], k)
    if kind == "intensifier":
        expectation = "an intensifier does not make a positive sentence less positive, nor a negative one less negative"
    else:
        expectation = "a diminisher does not make a positive sentence more positive, nor a negative one more negative"
    return CheckTest(
        f"{kind}s", "intensifiers and diminishers", "DIR", expectation,
        tuple(Case((f"The {n} was {a}.", f"The {n} was {m} {a}."), direction=d) for n, a, m, d in drawn),
    )


def contrast_test(rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """MFT: two clauses of opposite sentiment joined by "but".

    Templates: "The {noun} was {adjective}, but the {noun'} was {adjective'}." and "I
    {verb} the {noun}, but I {verb'} the {noun'}.", half ending positive, half negative.
    Expected: the class of the clause after "but" (the contrast that the conjunction marks
    as the point; VADER's rules weigh that clause more too). Failure: any other class.

    >>> c = contrast_test(random.Random(0), k=2).cases
    >>> [(x.texts[0], x.expected) for x in c]
    [('The flight was boring, but the restaurant was amazing.', (2,)), ('The coffee was superb, but the flight was poor.', (0,))]
    """
    def grid(first: int) -> list[tuple[str, int]]:
        a1, a2 = (NEGATIVE_ADJECTIVES, POSITIVE_ADJECTIVES) if first == NEGATIVE else (POSITIVE_ADJECTIVES, NEGATIVE_ADJECTIVES)
        v1, v2 = (NEGATIVE_VERBS, POSITIVE_VERBS) if first == NEGATIVE else (POSITIVE_VERBS, NEGATIVE_VERBS)
        last = POSITIVE if first == NEGATIVE else NEGATIVE
        return [
            [(f"The {n1} was {x}, but the {n2} was {y}.", last)
             for n1, n2 in itertools.permutations(NOUNS, 2) for x, y in itertools.product(a1, a2)],
            [(f"I {x} the {n1}, but I {y} the {n2}.", last)
             for n1, n2 in itertools.permutations(NOUNS, 2) for (x, _), (y, _) in itertools.product(v1, v2)],
        ]

    ending_positive, ending_negative = grid(NEGATIVE), grid(POSITIVE)
    drawn = _draw(rng, [ending_positive[0], ending_negative[0], ending_positive[1], ending_negative[1]], k)
    return CheckTest("but_contrast", "contrast", "MFT", 'the class follows the clause after "but"',
                     tuple(Case((text,), (label,)) for text, label in drawn))


def emoji_test(rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """MFT: an opinion-free sentence that ends in a clearly positive or negative emoji.

    Templates: "Thinking about the {noun} {emoji}", "Just read about the {noun} {emoji}",
    "Saw the {noun} on {day} {emoji}", "{name} mentioned the {noun} {emoji}".
    Expected: the emoji's class. Failure: any other class.

    >>> c = emoji_test(random.Random(0), k=2).cases
    >>> [x.expected for x in c]
    [(2,), (0,)]
    """
    frames = [
        [f"Thinking about the {n}" for n in NOUNS],
        [f"Just read about the {n}" for n in NOUNS],
        [f"Saw the {n} on {d}" for n, d in itertools.product(NOUNS, DAYS)],
        [f"{m} mentioned the {n}" for m, n in itertools.product(NAMES, NOUNS)],
    ]
    grids = [[(f"{f} {e}", label) for f, e in itertools.product(group, emoji)]
             for group in frames for emoji, label in ((POSITIVE_EMOJI, POSITIVE), (NEGATIVE_EMOJI, NEGATIVE))]
    drawn = _draw(rng, grids, k)
    return CheckTest("emoji", "emoji", "MFT", "a neutral sentence ending in a positive (negative) emoji is positive (negative)",
                     tuple(Case((text,), (label,)) for text, label in drawn))


def entity_test(kind: str, rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """INV: the same opinion said by another person, or about another city.

    Names: "{name} thought the {noun} was {adjective}." with the name replaced by another
    from :data:`NAMES`. Places: "The {noun} in {place} was {adjective}." with another
    city from :data:`PLACES`. Half positive, half negative adjectives.
    Expected: the predicted class does not change. Failure: it changes.

    >>> [c.texts for c in entity_test("names", random.Random(0), k=1).cases]
    [('Maria thought the concert was superb.', 'Yuki thought the concert was superb.')]
    """
    if kind == "names":
        entities, template = NAMES, "{e} thought the {n} was {a}."
    elif kind == "places":
        entities, template = PLACES, "The {n} in {e} was {a}."
    else:
        raise ValueError(f"kind must be 'names' or 'places', got {kind!r}")
    positive = list(itertools.product(entities, NOUNS, POSITIVE_ADJECTIVES))
    negative = list(itertools.product(entities, NOUNS, NEGATIVE_ADJECTIVES))
    drawn = _draw(rng, [positive, negative], k)
    cases = tuple(
        Case((template.format(e=e, n=n, a=a), template.format(e=_other(rng, entities, e), n=n, a=a)))
        for e, n, a in drawn
    )
    what = "name" if kind == "names" else "place"
    return CheckTest(f"change_{what}", "invariance to names and places", "INV",
                     f"changing the {what} does not change the class", cases)


def swap_adjacent_characters(text: str, rng: random.Random) -> str:
    """A typo: two neighbouring letters of one word (of four letters or more) swapped.

    >>> swap_adjacent_characters("The film was good.", random.Random(1))
    'The fiml was good.'
    """
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if sum(ch.isalpha() for ch in w) >= 4]
    if not candidates:
        raise ValueError(f"no word of four letters or more to misspell in {text!r}")
    i = rng.choice(candidates)
    word = words[i]
    # A position j such that word[j] and word[j + 1] are two different letters.
    positions = [j for j in range(len(word) - 1) if word[j].isalpha() and word[j + 1].isalpha() and word[j] != word[j + 1]]
    j = rng.choice(positions)
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(words)


def robustness_test(kind: str, rng: random.Random, k: int = CASES_PER_TEST) -> CheckTest:
    """INV: a typo, or the whole sentence in lower or upper case.

    Base sentences: "The {noun} was {adjective}." (half positive, half negative).
    Typos: two neighbouring letters of one word swapped (:func:`swap_adjacent_characters`).
    Case: every other sentence in lower case, the rest in upper case.
    Expected: the predicted class does not change. Failure: it changes.

    >>> [c.texts for c in robustness_test("case", random.Random(0), k=2).cases]
    [('The coffee was excellent.', 'the coffee was excellent.'), ('The coffee was lousy.', 'THE COFFEE WAS LOUSY.')]
    """
    bases = _polar_statements(rng, k)
    if kind == "typos":
        cases = tuple(Case((text, swap_adjacent_characters(text, rng))) for text, _ in bases)
        return CheckTest("typos", "robustness to typos and case", "INV",
                         "a typo (two neighbouring letters swapped) does not change the class", cases)
    if kind == "case":
        cases = tuple(Case((text, text.lower() if i % 2 == 0 else text.upper())) for i, (text, _) in enumerate(bases))
        return CheckTest("case", "robustness to typos and case", "INV",
                         "writing the sentence in lower or upper case does not change the class", cases)
    raise ValueError(f"kind must be 'typos' or 'case', got {kind!r}")


def checklist_suite(seed: int = SEED, cases_per_test: int = CASES_PER_TEST) -> tuple[CheckTest, ...]:
    """Every behavioural test, its sentences drawn with ``seed`` (one generator per test, so
    adding a test leaves the others' sentences unchanged).

    >>> suite = checklist_suite()
    >>> [(t.name, t.type, len(t.cases)) for t in suite][:3]
    [('vocabulary_positive', 'MFT', 30), ('vocabulary_negative', 'MFT', 30), ('negated_positive', 'MFT', 30)]
    >>> len(suite), len(suite_texts(suite)) > 300, suite == checklist_suite()
    (13, True, True)
    """
    if cases_per_test < 1:
        raise UserError(f"cases per test must be at least 1, got {cases_per_test}")
    k = cases_per_test
    makers: list[tuple[str, Callable[[random.Random], CheckTest]]] = [
        ("vocabulary_positive", lambda r: vocabulary_test(POSITIVE, r, k)),
        ("vocabulary_negative", lambda r: vocabulary_test(NEGATIVE, r, k)),
        ("negated_positive", lambda r: negation_test(POSITIVE, r, k)),
        ("negated_negative", lambda r: negation_test(NEGATIVE, r, k)),
        ("neutral_facts", lambda r: neutral_test(r, k)),
        ("intensifiers", lambda r: degree_test("intensifier", r, k)),
        ("diminishers", lambda r: degree_test("diminisher", r, k)),
        ("but_contrast", lambda r: contrast_test(r, k)),
        ("emoji", lambda r: emoji_test(r, k)),
        ("change_name", lambda r: entity_test("names", r, k)),
        ("change_place", lambda r: entity_test("places", r, k)),
        ("typos", lambda r: robustness_test("typos", r, k)),
        ("case", lambda r: robustness_test("case", r, k)),
    ]
    return tuple(make(random.Random(f"{seed}/{name}")) for name, make in makers)


def suite_texts(suite: Sequence[CheckTest]) -> list[str]:
    """Every distinct text of ``suite``, in order of first appearance.

    >>> suite_texts([CheckTest("t", "c", "INV", "x", (Case(("a", "b")), Case(("b", "c"))))])
    ['a', 'b', 'c']
    """
    return list(dict.fromkeys(text for test in suite for case in test.cases for text in case.texts))


def suite_digest(suite: Sequence[CheckTest]) -> str:
    """SHA-256 of the suite's texts, in order (part of the TF-IDF cache key)."""
    return hashlib.sha256("\n".join(suite_texts(suite)).encode()).hexdigest()


# --------------------------------------------------------------------------- running a suite

TextScorer = Callable[[list[str]], "Predictions"]
"""Texts -> :class:`~roberta_math.evaluation.predictions.Predictions` (classes and signed scores)."""


def _example(test: CheckTest, case: Case, labels: Sequence[int], scores: Sequence[float]) -> dict[str, Any]:
    return {
        "texts": list(case.texts),
        "predicted": [LABELS[int(label)] for label in labels],
        "scores": [float(s) for s in scores],
        "expected": [LABELS[c] for c in case.expected] if test.type == "MFT" else None,
        "direction": case.direction if test.type == "DIR" else None,
    }


def run_test(test: CheckTest, predictions: dict[str, tuple[int, float]], *, tolerance: float = TOLERANCE,
             examples: int = EXAMPLES_KEPT) -> dict[str, Any]:
    """Failures of one test, given ``text -> (class, signed score)`` for each of its texts.

    Returns ``{"n", "failures", "failure_rate", "examples"}``: the number of cases, how
    many fail, their share, and the first ``examples`` failing cases (texts, predicted
    classes, signed scores, the expected classes of an MFT, the direction of a DIR).

    >>> t = CheckTest("t", "c", "MFT", "x", (Case(("good",), (2,)), Case(("bad",), (0,))))
    >>> r = run_test(t, {"good": (2, 0.9), "bad": (2, 0.4)})
    >>> r["n"], r["failures"], r["failure_rate"], r["examples"][0]["texts"]
    (2, 1, 0.5, ['bad'])
    """
    width = len(test.cases[0].texts) if test.cases else 0
    labels = [np.array([predictions[case.texts[k]][0] for case in test.cases], dtype=np.int64) for k in range(width)]
    scores = [np.array([predictions[case.texts[k]][1] for case in test.cases], dtype=np.float64) for k in range(width)]
    failed = test.failed(labels, scores, tolerance) if test.cases else np.zeros(0, dtype=bool)
    shown = [
        _example(test, test.cases[i], [labels[k][i] for k in range(width)], [scores[k][i] for k in range(width)])
        for i in np.flatnonzero(failed)[:examples]
    ]
    n = len(test.cases)
    return {"n": n, "failures": int(failed.sum()), "failure_rate": float(failed.sum()) / n if n else None,
            "examples": shown}


def run_checklist(score: TextScorer, suite: Sequence[CheckTest] | None = None, *, tolerance: float = TOLERANCE,
                  examples: int = EXAMPLES_KEPT) -> dict[str, dict[str, Any]]:
    """Run every test of ``suite`` (default :func:`checklist_suite`) on one method: TEST NAME -> :func:`run_test`'s result.

    ``score`` is called once, on every distinct text of the suite.

    >>> from roberta_math.evaluation.predictions import vader_predictions
    >>> result = run_checklist(vader_predictions)
    >>> result["negated_positive"]["n"], 0 <= result["negated_positive"]["failure_rate"] <= 1
    (30, True)
    """
    if examples < 0:
        raise UserError(f"examples must be 0 or more, got {examples}")
    suite = checklist_suite() if suite is None else suite
    texts = suite_texts(suite)
    predicted = score(texts)
    if len(predicted.labels) != len(texts) or len(predicted.scores) != len(texts):
        raise ValueError(f"the scorer returned {len(predicted.labels)} predictions for {len(texts)} texts")
    by_text = {t: (int(c), float(s)) for t, c, s in zip(texts, predicted.labels, predicted.scores, strict=True)}
    return {test.name: run_test(test, by_text, tolerance=tolerance, examples=examples) for test in suite}


# --------------------------------------------------------------------------- the three methods


def model_scorer(loaded: Any, *, batch_size: int = 64, progress: bool = False,
                 counted: Callable[[int], None] | None = None) -> TextScorer:
    r"""A model's classes and signed scores :math:`\psi = p_\text{pos} - p_\text{neg}`, from
    :func:`~roberta_math.evaluation.scoring.score_texts` (the probabilities ``predict``
    prints, with every adjustment that function applies). ``counted(n)`` is told how many
    texts each call scores (the figure build counts forward passes with it).
    """
    from roberta_math.evaluation.predictions import predictions_from_probabilities

    def score(texts: list[str]) -> Predictions:
        from roberta_math.evaluation import (
            scoring,  # looked up at call time, so a test can wrap it
        )

        if counted is not None and texts:
            counted(len(texts))
        return predictions_from_probabilities(scoring.score_texts(texts, loaded, batch_size=batch_size, progress=progress))

    return score


def vader_scorer() -> TextScorer:
    """VADER's compound scores and the paper's three classes (:func:`~roberta_math.evaluation.predictions.vader_predictions`)."""
    from roberta_math.evaluation.predictions import vader_predictions

    return lambda texts: vader_predictions(texts)


def tfidf_cache_key(train: Sequence[Sentence], texts: Sequence[str]) -> str:
    """What the TF-IDF probabilities depend on: the training texts and labels, the baseline's
    source, scikit-learn's version, and the texts scored (first 32 hex digits of a SHA-256)."""
    from importlib.metadata import version
    from pathlib import Path

    from roberta_math.evaluation import baseline

    digest = hashlib.sha256()
    for s in train:
        digest.update(f"{s.label}\t{s.text}\n".encode())
    digest.update(b"\0" + Path(baseline.__file__).read_bytes())
    digest.update(b"\0" + version("scikit-learn").encode())
    digest.update(b"\0" + "\n".join(texts).encode())
    return digest.hexdigest()[:32]


def tfidf_scorer(train: Sequence[Sentence] | None = None, *, seed: int = 0, progress: bool = False) -> TextScorer:
    """The TF-IDF baseline of ``roberta-math compare``
    (:func:`~roberta_math.evaluation.baseline.tfidf_logreg_probabilities`), fitted on
    ``train`` (default: the train split) and nothing else.

    Fitting takes a few seconds, so the probabilities are cached under
    ``cache_root()/checklist`` keyed by :func:`tfidf_cache_key`; a cached file that is
    truncated or was written under another key is recomputed. ``progress=True`` says on
    stderr when a fit starts.
    """
    from roberta_math.cache import atomic_write_text, cache_root
    from roberta_math.evaluation.baseline import tfidf_logreg_probabilities
    from roberta_math.evaluation.predictions import predictions_from_probabilities

    def score(texts: list[str]) -> Predictions:
        sentences = train
        if sentences is None:
            from roberta_math.data.corpus import load_split

            sentences = load_split("train")
        key = tfidf_cache_key(sentences, texts)
        path = cache_root() / "checklist" / f"tfidf-{key}.json"
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            probabilities = np.asarray(stored["probabilities"], dtype=np.float64)  # (n, 3)
            if stored.get("key") != key or probabilities.shape != (len(texts), len(LABELS)):
                raise ValueError("stale")
        except (OSError, ValueError, KeyError, TypeError):
            if progress:
                print(f"checklist: fitting the TF-IDF baseline on {len(sentences)} training sentences (cached afterwards)",
                      file=sys.stderr, flush=True)
            probabilities = tfidf_logreg_probabilities([s.text for s in sentences], [s.label for s in sentences],
                                                       texts, seed=seed)
            atomic_write_text(path, json.dumps({"key": key, "probabilities": probabilities.tolist()}) + "\n")
        return predictions_from_probabilities(probabilities)

    return score


BASELINE_METHODS: dict[str, str] = {"vader": "VADER", "tfidf_logreg": "TF-IDF + logistic regression"}
"""The methods tested beside the model, and their display names."""


def checklist_report(
    model_name: str | None = "embedded",
    *,
    loaded: Any | None = None,
    score: TextScorer | None = None,
    baselines: bool = True,
    train: Sequence[Sentence] | None = None,
    seed: int = SEED,
    examples: int = EXAMPLES_KEPT,
    progress: bool = False,
) -> dict[str, Any]:
    """The suite run on the model ``model_name`` and (with ``baselines``) on VADER and the TF-IDF baseline, as JSON-ready data.

    ``loaded`` is the model when the caller has loaded it already; ``score`` replaces the
    model's scorer (default :func:`model_scorer`); ``train`` the TF-IDF training
    sentences (default: the train split). ``model_name=None`` tests the baselines only.

    The result::

        {"format": 1, "seed": 0, "tolerance": 0.05, "model": NAME or None,
         "methods": [NAME, "vader", "tfidf_logreg"], "method_titles": {METHOD: TITLE},
         "test_types": {TYPE: MEANING},
         "tests": [{"name", "capability", "type", "expectation", "n",
                    "results": {METHOD: {"n", "failures", "failure_rate", "examples"}}}, ...]}
    """
    if model_name is None and not baselines:
        raise UserError("nothing to test: give a model or keep the baselines")
    suite = checklist_suite(seed)
    methods: dict[str, TextScorer] = {}
    titles: dict[str, str] = {}
    name = None
    if model_name is not None:
        if loaded is None and score is None:
            from roberta_math.model.loading import load_model

            loaded = load_model(model_name)
        name = str(getattr(getattr(loaded, "provenance", None), "name", None) or model_name)
        if name in BASELINE_METHODS:
            raise UserError(f"the model's name {name!r} clashes with a baseline; rename the model")
        methods[name] = score if score is not None else model_scorer(loaded, progress=progress)
        titles[name] = name
    if baselines:
        methods["vader"] = vader_scorer()
        methods["tfidf_logreg"] = tfidf_scorer(train, progress=progress)
        titles.update(BASELINE_METHODS)
    results = {method: run_checklist(scorer, suite, examples=examples) for method, scorer in methods.items()}
    return {
        "format": FORMAT_VERSION,
        "seed": seed,
        "tolerance": TOLERANCE,
        "model": name,
        # which weights, preprocessing and softmax temperature (DIR results depend on it)
        "provenance": loaded.provenance.as_dict() if getattr(loaded, "provenance", None) is not None else None,
        "methods": list(methods),
        "method_titles": titles,
        "test_types": dict(TEST_TYPES),
        "tests": [
            {"name": t.name, "capability": t.capability, "type": t.type, "expectation": t.expectation,
             "n": len(t.cases), "results": {method: results[method][t.name] for method in methods}}
            for t in suite
        ],
    }


__all__ = [
    "BASELINE_METHODS", "CASES_PER_TEST", "EXAMPLES_KEPT", "FORMAT_VERSION", "SEED", "TEST_TYPES", "TOLERANCE",
    "Case", "CheckTest", "TextScorer", "checklist_report", "checklist_suite", "contrast_test", "degree_test",
    "emoji_test", "entity_test", "model_scorer", "negation_test", "neutral_test", "robustness_test", "run_checklist",
    "run_test", "suite_digest", "suite_texts", "swap_adjacent_characters", "tfidf_cache_key", "tfidf_scorer",
    "vader_scorer", "vocabulary_test",
]

r"""The VADER paper's Table 4, reproduced: VADER on the full corpora and the individual raters.

Hutto & Gilbert (2014, Table 4) report, per corpus, the Pearson :math:`r` of VADER's
compound score with the mean of the human raters and three-class precision / recall /
F1 with the :math:`\pm 0.05` band; and the same for an individual rater ("Ind. Humans").
This module holds

* :data:`PAPER_TABLE_4`, the published numbers, with the citation;
* :func:`individual_human_metrics`, the "Ind. Humans" row recomputed from the
  ``*_anonDataRatings.txt`` files;
* :func:`sign_labels` and :data:`PAPER_READINGS`, the ways of reading the paper's
  unstated averaging, and :func:`versus_paper`, which measures how close each comes:
  support-weighted averaging with the human classes taken by the sign of the mean
  rating comes within about 0.01 on average.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from roberta_math.data.corpus import CITATION, DOMAINS, Sentence
from roberta_math.errors import UserError
from roberta_math.evaluation import metrics as M
from roberta_math.evaluation.predictions import ALL
from roberta_math.evaluation.vader import THRESHOLD, labels_from_scores

HUMAN_DRAWS = 100
"""Random single-rater draws averaged for the ``individual_humans`` row."""

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


def _label_array(valence_over_4: np.ndarray) -> np.ndarray:
    return labels_from_scores(valence_over_4, THRESHOLD)


def sign_labels(valence: Sequence[float] | np.ndarray) -> np.ndarray:
    r"""Classes by the sign of a human score alone: :math:`v < 0` negative, :math:`v = 0` neutral, :math:`v > 0` positive.

    This is the :math:`\pm 0.05` band applied to the *unnormalised* scale :math:`[-4, 4]`
    for single integer ratings and for means of 20 ratings (multiples of 0.05), and it is
    the reading of the human classes that brings our P / R / F1 closest to the paper's
    Table 4 (see ``full_vs_paper`` in :func:`~roberta_math.evaluation.compare.compare`).

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


__all__ = ["HUMAN_DRAWS", "PAPER_READINGS", "PAPER_TABLE_4", "individual_human_metrics", "sign_labels", "versus_paper"]

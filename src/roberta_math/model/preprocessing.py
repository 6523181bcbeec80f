r"""Per-model text preprocessing: the same rewriting of a text that the model saw in training.

A model is only as good as the match between its training text and yours. The
cardiffnlp Twitter models (TweetEval, Barbieri et al. 2020, Findings of EMNLP) were
trained on tweets whose user names were replaced by ``@user`` and whose links by
``http``; their model card asks callers to do the same before scoring. Fed a raw
``@anonymous`` or ``https://...``, the model sees tokens it never saw in training.

So preprocessing is part of loading a model (:func:`~roberta_math.model.loading.load_model`
sets ``LoadedModel.preprocess`` and ``Provenance.preprocess``) and is applied by
:func:`~roberta_math.evaluation.scoring.score_texts`, the one scorer behind ``predict``,
``evaluate``, ``compare`` and the figures. Where the name comes from, first match wins:

1. a ``preprocess.json`` file in the model directory, ``{"preprocess": "<name>"}``;
2. :data:`KNOWN_PREPROCESSING`, for hub models whose model card declares it;
3. ``"none"`` (the embedded model was trained on untouched text).

Names (:data:`PREPROCESSORS`):

* ``none``: the text as given;
* ``twitter-user-http``: split at single spaces; a word that starts with ``@`` and has
  more characters becomes ``@user``; a word that starts with ``http`` becomes ``http``
  (the rule of the cardiffnlp model card's ``preprocess`` function).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from roberta_math.errors import UserError

PREPROCESS_FILE = "preprocess.json"
"""A model directory may declare its preprocessing here: ``{"preprocess": "twitter-user-http"}``."""


def no_preprocessing(text: str) -> str:
    """The text unchanged.

    >>> no_preprocessing("@bob see https://x.y")
    '@bob see https://x.y'
    """
    return text


def twitter_user_http(text: str) -> str:
    r"""Mask user names as ``@user`` and links as ``http``, word by word (words split at single spaces).

    >>> twitter_user_http("@bob loved it https://t.co/x @ home")
    '@user loved it http @ home'
    >>> twitter_user_http("email@host.org  httpd")  # only words that *start* with @ or http
    'email@host.org  http'
    """
    words = text.split(" ")  # single spaces, so runs of spaces and other whitespace survive
    for i, word in enumerate(words):
        if word.startswith("@") and len(word) > 1:
            words[i] = "@user"
        elif word.startswith("http"):
            words[i] = "http"
    return " ".join(words)


PREPROCESSORS: dict[str, Callable[[str], str]] = {
    "none": no_preprocessing,
    "twitter-user-http": twitter_user_http,
}
"""Every preprocessing the loader knows, by the name a model declares."""

KNOWN_PREPROCESSING: dict[str, str] = {
    # The model cards of these checkpoints replace user names and links before scoring.
    "cardiffnlp/twitter-roberta-base-sentiment": "twitter-user-http",
    "cardiffnlp/twitter-roberta-base-sentiment-latest": "twitter-user-http",
    "cardiffnlp/twitter-xlm-roberta-base-sentiment": "twitter-user-http",
}
"""Preprocessing of hub models whose model card declares it (their directories do not)."""


def check_preprocess(name: str, where: str = "") -> str:
    """``name`` if it is a known preprocessing, else a :class:`~roberta_math.errors.UserError`.

    >>> check_preprocess("none")
    'none'
    >>> check_preprocess("lowercase", "m/preprocess.json")
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: m/preprocess.json: unknown preprocessing 'lowercase': use one of none, twitter-user-http
    """
    if name not in PREPROCESSORS:
        prefix = f"{where}: " if where else ""
        raise UserError(f"{prefix}unknown preprocessing {name!r}: use one of {', '.join(PREPROCESSORS)}")
    return name


def preprocessing_for(name: str, source: str, directory: Path | None) -> str:
    """The preprocessing of a model: its directory's ``preprocess.json``, else the known table, else ``none``.

    >>> preprocessing_for("cardiffnlp/twitter-roberta-base-sentiment", "hub", None)
    'twitter-user-http'
    >>> preprocessing_for("embedded", "embedded", None)
    'none'
    """
    if directory is not None and (directory / PREPROCESS_FILE).is_file():
        path = directory / PREPROCESS_FILE
        try:
            declared = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: not a JSON object ({error}); write {{\"preprocess\": \"none\"}} or remove the file") from None
        if not isinstance(declared, dict) or not isinstance(declared.get("preprocess"), str):
            raise UserError(f"{path}: needs a string \"preprocess\" key, e.g. {{\"preprocess\": \"twitter-user-http\"}}")
        return check_preprocess(declared["preprocess"], str(path))
    if source == "hub" and name in KNOWN_PREPROCESSING:
        return KNOWN_PREPROCESSING[name]
    return "none"


def apply_preprocessing(texts: Sequence[str], name: str) -> list[str]:
    """Each text rewritten by the preprocessing ``name`` (see :data:`PREPROCESSORS`).

    >>> apply_preprocessing(["@ann hi", "ok"], "twitter-user-http")
    ['@user hi', 'ok']
    """
    function = PREPROCESSORS[check_preprocess(name)]
    return list(texts) if function is no_preprocessing else [function(t) for t in texts]

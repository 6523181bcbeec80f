r"""One sentence in, one attribution per token out: the methods of this package behind one call.

:func:`explain` tokenizes a text as the model's tokenizer does, runs one method and returns
the tokens, their scores $\chi_t$, the class $c$ explained and, for Integrated Gradients, the
completeness error. ``roberta-math explain`` prints it; the faithfulness measures and the
site's figures call it too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from roberta_math.errors import UserError

METHODS: dict[str, str] = {
    "ig": "Integrated Gradients from the <mask> baseline (Gauss-Legendre)",
    "gradxinput": "gradient x input, the gradient of z_c dotted with the token's embedding row",
    "gradient": "gradient L2 norm, of z_c with respect to the token's embedding row",
    "rollout": "attention rollout, <s> row",
    "occlusion": "leave-one-out occlusion, token replaced by <mask>",
    "occlusion-remove": "leave-one-out occlusion, token removed",
}
"""The method names :func:`explain` accepts, with a one-line description each."""


@dataclass
class Explanation:
    """What :func:`explain` returns; :meth:`as_dict` is what ``--json`` prints."""

    text: str
    method: str
    tokens: list[str]  # each token as text (byte-level BPE decoded), <s> and </s> included
    scores: list[float]  # chi_t, one per token
    label: str  # the class c explained
    logits: dict[str, float]  # z, by label name
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. IG's completeness error and steps

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


def readable_token(token: str) -> str | None:
    r"""A byte-level BPE token as text; bytes that are only part of a character shown as ``<0xNN>``.

    An emoji is 4 UTF-8 bytes and may be split over several tokens; a token holding part
    of a character cannot be decoded alone (``decode`` would print U+FFFD, "�"), so its
    bytes are shown as ``<0xNN>``, the byte-token notation of SentencePiece. Returns
    ``None`` for a token that is not byte-level BPE (another tokenizer's).

    >>> readable_token("Ġgood"), readable_token("ðŁĺ"), readable_token("Ģ")
    (' good', '<0xF0><0x9F><0x98>', '<0x80>')
    >>> readable_token("ðŁĺĢ")  # all four bytes of U+1F600 in one token
    '😀'
    >>> readable_token("\u2581good") is None   # a SentencePiece token: not byte-level BPE
    True
    """
    from roberta_math.tokenization.byte_level_bpe import bytes_to_unicode

    to_byte = {c: b for b, c in bytes_to_unicode().items()}
    if not token or any(c not in to_byte for c in token):
        return None
    raw = bytes(to_byte[c] for c in token)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(f"<0x{b:02X}>" for b in raw)


def token_texts(tokenizer: Any, ids: list[int]) -> list[str]:
    r"""Each id decoded alone (``Ġgood`` becomes ``" good"``), special tokens as their names.

    Part of a multi-byte character (an emoji split over tokens) shows as ``<0xNN>``, not
    as "�" (:func:`readable_token`).
    """
    special = set(getattr(tokenizer, "all_special_ids", []))
    out = []
    for i in ids:
        if i in special:
            out.append(tokenizer.convert_ids_to_tokens(i))
            continue
        text = readable_token(tokenizer.convert_ids_to_tokens(i))
        out.append(text if text is not None else tokenizer.decode([i]))
    return out


def scores_for_ids(
    weights: Any,
    ids: torch.Tensor,
    method: str,
    column: int,
    *,
    mask_id: int | None = 4,
    special_ids: tuple[int | None, int | None] = (0, 2),
    steps: int = 50,
) -> tuple[torch.Tensor, dict[str, Any]]:
    r"""One method's scores $\chi_t$ ``(seq,)`` for the logit column ``column`` of one unpadded sentence ``ids`` ``(1, seq)``.

    Returns the scores and, for Integrated Gradients, ``{"steps", "rule", "baseline",
    "completeness_error", "logit", "baseline_logit"}`` (else ``{}``). ``mask_id``: the ``<mask>``
    id, the Integrated Gradients baseline and the occlusion token (4 when ``None``);
    ``special_ids``: ``<s>`` and ``</s>``, never occluded. :func:`explain` and the explorer's
    data call it.

    >>> from roberta_math.interpret.examples import tiny_model
    >>> from roberta_math.model.weights import read_weights
    >>> phi, extra = scores_for_ids(read_weights(tiny_model()), torch.tensor([[0, 7, 9, 2]]), "ig", 1, steps=64)
    >>> phi.shape, extra["completeness_error"] < 1e-4
    (torch.Size([4]), True)
    """
    from roberta_math.interpret.gradients import gradient_norm, gradient_x_input
    from roberta_math.interpret.integrated_gradients import integrated_gradients
    from roberta_math.interpret.occlusion import occlusion
    from roberta_math.interpret.rollout import rollout_from_start
    from roberta_math.model.forward import encode_from_scratch

    mask_id = 4 if mask_id is None else mask_id
    specials = (0 if special_ids[0] is None else special_ids[0], 2 if special_ids[1] is None else special_ids[1])
    extra: dict[str, Any] = {}
    if method == "ig":
        result = integrated_gradients(weights, ids, column, baseline_id=mask_id, steps=steps)
        scores = result.attributions[0]
        extra = {"steps": steps, "rule": "gausslegendre", "baseline": "<mask>",
                 "completeness_error": float(result.completeness_error[0]),
                 "logit": float(result.logit[0]), "baseline_logit": float(result.baseline_logit[0])}
    elif method == "gradxinput":
        scores = gradient_x_input(weights, ids, column)[0]
    elif method == "gradient":
        scores = gradient_norm(weights, ids, column)[0]
    elif method == "rollout":
        with torch.no_grad():
            _, attentions = encode_from_scratch(weights, ids)
        scores = rollout_from_start(attentions)[0]
    elif method in ("occlusion", "occlusion-remove"):
        variant = "remove" if method == "occlusion-remove" else "mask"
        scores = occlusion(weights, ids[0], column, variant=variant, mask_id=mask_id, special_ids=specials)
    else:
        raise UserError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    return scores.detach(), extra


def check_request(text: str, method: str, steps: int = 50) -> None:
    """The checks of :func:`explain` that need no model: a known method, ``steps`` in range for ``"ig"``, a visible text.

    Raises :class:`~roberta_math.errors.UserError` (one line); the command line calls it before loading the model.

    >>> check_request("good", "ig", 2000)
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: gausslegendre needs from 1 to 1024 steps (N_IG), got 2000: 64 Gauss-Legendre nodes already bring the completeness error below 1e-4, and more only cost time and memory
    """
    from roberta_math.data.readers import blank_reason
    from roberta_math.interpret.integrated_gradients import check_steps

    if method not in METHODS:
        raise UserError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if method == "ig":
        try:
            check_steps(steps)
        except ValueError as error:  # before any model work: one line with the allowed range
            raise UserError(str(error)) from None
    blank = blank_reason(text)
    if blank == "empty text":
        raise UserError("nothing to explain: give a non-empty text")
    if blank is not None:  # only invisible characters (zero-width spaces, control characters)
        raise UserError(f"nothing to explain: the text has {blank}; give some words")


def explain(
    text: str,
    loaded: Any,
    method: str = "ig",
    *,
    label: str | None = None,
    steps: int = 50,
) -> Explanation:
    r"""Attribute the logit $z_c$ of one text to its tokens with ``method`` (a key of :data:`METHODS`).

    - ``loaded``: a :class:`~roberta_math.model.loading.LoadedModel`; ``label``: the class to
      explain by name (default: the predicted one); ``steps``: $N_\text{IG}$ for Integrated Gradients,
      from 1 to :data:`~roberta_math.interpret.integrated_gradients.MAX_STEPS` (1024).
    - Raises :class:`~roberta_math.errors.UserError` (one line) for an empty text (or one of
      invisible characters only, as the file readers skip them), a text longer
      than the model's positions, an unknown method or label, or ``steps`` out of range with ``"ig"``.

    >>> from roberta_math.model.loading import load_model
    >>> e = explain("What a wonderful day", load_model("embedded"), "occlusion")
    >>> e.tokens, e.label
    (['<s>', 'What', ' a', ' wonderful', ' day', '</s>'], 'positive')
    >>> max(range(6), key=lambda t: e.scores[t])  # the token whose masking costs most
    3
    """
    from roberta_math.interpret.gradients import (
        input_embeddings,
        logits_from_embeddings,
    )
    from roberta_math.model.loading import quiet_transformers
    from roberta_math.model.weights import read_weights

    check_request(text, method, steps)
    tokenizer = loaded.tokenizer
    with quiet_transformers():  # no "longer than the maximum" log line: the error below says it once
        ids_list = tokenizer(text)["input_ids"]
    if len(ids_list) > loaded.max_tokens:
        raise UserError(f"the text has {len(ids_list)} tokens but the model reads at most {loaded.max_tokens}: shorten it")
    weights = read_weights(loaded.model)
    if weights.head_dense is None:
        raise UserError("this model has no classification head: explain needs a sentiment classifier")
    ids = torch.tensor([ids_list])  # (1, n)
    with torch.no_grad():
        logits = logits_from_embeddings(weights, ids, input_embeddings(weights, ids))[0]  # (num_labels,)
    labels = list(loaded.labels)
    columns = list(loaded.label_columns)
    if label is None:
        column = int(logits.argmax())
        label = labels[columns.index(column)]
    elif label not in labels:
        raise UserError(f"unknown label {label!r}: use one of {', '.join(labels)}")
    column = columns[labels.index(label)]
    scores, extra = scores_for_ids(weights, ids, method, column, mask_id=tokenizer.mask_token_id,
                                   special_ids=(tokenizer.bos_token_id, tokenizer.eos_token_id), steps=steps)
    return Explanation(
        text=text,
        method=method,
        tokens=token_texts(tokenizer, ids_list),
        scores=[float(s) for s in scores],
        label=label,
        logits={name: float(logits[col]) for name, col in zip(labels, columns)},
        extra=extra,
    )

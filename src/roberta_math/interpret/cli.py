"""``roberta-math explain "text"``: per-token attributions of the predicted class, as a table or JSON."""

from __future__ import annotations

import argparse
import json

from roberta_math.cli import Subcommand
from roberta_math.errors import UserError
from roberta_math.interpret.explain import METHODS
from roberta_math.interpret.integrated_gradients import MAX_STEPS
from roberta_math.labels import LABEL_SPELLINGS, LABELS, parse_label

DEFAULT_STEPS = 50
"""Integrated Gradients nodes when ``--steps`` is not given."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="the sentence to explain")
    parser.add_argument("--method", default="ig", choices=list(METHODS),
                        help="attribution method (default: ig, Integrated Gradients from <mask>)")
    parser.add_argument("--label", help="explain this class instead of the predicted one: negative, neutral, positive "
                        "(any case) or 0, 1, 2, as in evaluate's data files")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"Integrated Gradients steps N_IG, 1 to {MAX_STEPS} (default: {DEFAULT_STEPS}); only with --method ig")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def format_explanation(result: dict) -> str:
    """The table ``explain`` prints: one line per token, its score and a bar of its share of the largest |score|.

    >>> print(format_explanation({"method": "rollout", "label": "positive", "logits": {"positive": 1.0},
    ...                           "tokens": ["<s>", " good", "</s>"], "scores": [0.5, 0.25, 0.25], "extra": {}}))
    explaining positive (logits: positive +1.000) with rollout: attention rollout, <s> row
    token      score
    <s>      +0.5000  ++++++++++++++++++++
    ' good'  +0.2500  ++++++++++
    </s>     +0.2500  ++++++++++
    """
    scores = result["scores"]
    top = max((abs(s) for s in scores), default=0.0) or 1.0
    shown = [t if t.startswith("<") and t.endswith(">") else repr(t) for t in result["tokens"]]
    width = max([5, *(len(s) for s in shown)])
    logits = " ".join(f"{k} {v:+.3f}" for k, v in result["logits"].items())
    lines = [f"explaining {result['label']} (logits: {logits}) with {result['method']}: {METHODS[result['method']]}",
             f"{'token':<{width}}  {'score':>7}"]
    for token, score in zip(shown, scores):
        bar = ("+" if score >= 0 else "-") * round(20 * abs(score) / top)
        lines.append(f"{token:<{width}}  {score:>+7.4f}  {bar}")
    extra = result.get("extra") or {}
    if "completeness_error" in extra:
        lines.append(
            f"completeness: sum of scores {sum(scores):+.5f}, z(x) - z(baseline) = {extra['logit'] - extra['baseline_logit']:+.5f},"
            f" error {extra['completeness_error']:.2e} ({extra['steps']} {extra['rule']} steps)"
        )
    return "\n".join(lines)


def _label_name(given: str | None) -> str | None:
    """``--label`` as a class name, read as data files read labels (:func:`~roberta_math.labels.parse_label`).

    >>> _label_name("2"), _label_name(" Negative"), _label_name(None)
    ('positive', 'negative', None)
    """
    if given is None:
        return None
    index = parse_label(given)
    if index is None:
        raise UserError(f"unknown label {given!r}: use {LABEL_SPELLINGS}")
    return LABELS[index]


def _run(args: argparse.Namespace) -> int:
    from roberta_math.interpret.explain import check_request, explain
    from roberta_math.model.loading import load_model

    if args.steps is not None and args.method != "ig":
        raise UserError(f"--steps sets Integrated Gradients' nodes and does not apply to --method {args.method}: drop it")
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    check_request(args.text, args.method, steps)  # before the model is loaded: bad input fails at once
    label = _label_name(args.label)
    loaded = load_model(args.model)
    result = explain(args.text, loaded, args.method, label=label, steps=steps).as_dict()
    print(json.dumps(result, ensure_ascii=False) if args.json else format_explanation(result))
    return 0


SUBCOMMAND = Subcommand("explain", "per-token attributions of a text's predicted class", _add_arguments, _run)

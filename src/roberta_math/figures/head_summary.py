r"""The sentence the further-exploration page says about attention sinks, written from the numbers.

A *sink head* here is a head that puts, on average over every query token of the test
split, at least half of its attention on one special token, ``<s>`` or ``</s>`` (Clark
et al., 2019, section 3, report BERT heads that send over half of their attention to
``[SEP]``). :func:`sink_heads_markdown` counts them in the per-head shares of the
``heads`` figure step and states the count, the largest shares and the uniform
reference, so the page says what the model that built the site does, whichever it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SINK_THRESHOLD = 0.5
"""A head is a sink when its mean share on ``<s>`` or on ``</s>`` is at least this."""

_TOKENS = {"bos": "`<s>`", "eos": "`</s>`"}


def sink_heads(rows: Sequence[Mapping[str, Any]], threshold: float = SINK_THRESHOLD) -> list[Mapping[str, Any]]:
    """The rows (one per head) whose share on ``<s>`` or ``</s>`` is at least ``threshold``.

    >>> rows = [{"layer": 1, "head": 1, "bos": 0.7, "eos": 0.1}, {"layer": 1, "head": 2, "bos": 0.1, "eos": 0.2}]
    >>> [(r["layer"], r["head"]) for r in sink_heads(rows)]
    [(1, 1)]
    """
    return [r for r in rows if max(r["bos"], r["eos"]) >= threshold]


def sink_heads_markdown(rows: Sequence[Mapping[str, Any]], uniform: Mapping[str, float], model: str) -> str:
    """One paragraph: how many of the model's heads are sinks, and the largest shares on ``<s>`` and ``</s>``.

    - ``rows``: one mapping per head with ``layer``, ``head`` (1-based) and the shares
      ``bos``, ``eos`` in [0, 1]; ``uniform``: the shares under uniform attention;
      ``model``: the name shown, as Markdown. Raises ``ValueError`` for no rows.

    >>> rows = [{"layer": 1, "head": 1, "bos": 0.018, "eos": 0.017}, {"layer": 2, "head": 4, "bos": 0.034, "eos": 0.033}]
    >>> print(sink_heads_markdown(rows, {"bos": 0.036, "eos": 0.036}, "the compact model"))
    In the compact model, **none of the 2 heads is a sink head** (at least 50% of its attention on `<s>` or on `</s>`, averaged over the test split). The largest share on `<s>` is 3.4% (layer 2, head 4), on `</s>` 3.3% (layer 2, head 4); uniform attention would give 3.6% and 3.6%.
    """
    if not rows:
        raise ValueError("no per-head rows: the heads step produced no statistics")
    sinks = sink_heads(rows)
    total = len(rows)
    if not sinks:
        count = f"**none of the {total} heads is a sink head**"
    else:
        where = ", ".join(f"layer {r['layer']} head {r['head']}" for r in sinks[:12])
        more = f" and {len(sinks) - 12} more" if len(sinks) > 12 else ""
        count = f"**{len(sinks)} of the {total} heads {'is a sink head' if len(sinks) == 1 else 'are sink heads'}** ({where}{more})"
    largest = []
    for key in ("bos", "eos"):
        top = max(rows, key=lambda r: r[key])
        largest.append(f"{100 * top[key]:.1f}% (layer {top['layer']}, head {top['head']})")
    return (
        f"In {model}, {count} (at least {100 * SINK_THRESHOLD:.0f}% of its attention on `<s>` or on `</s>`, "
        f"averaged over the test split). The largest share on `<s>` is {largest[0]}, on `</s>` {largest[1]}; "
        f"uniform attention would give {100 * uniform['bos']:.1f}% and {100 * uniform['eos']:.1f}%."
    )

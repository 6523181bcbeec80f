"""The statements of "Reading the numbers" (docs/attributions.md) against the numbers the build published.

The page interprets the compact model's faithfulness, agreement, lexicon and head-ablation tables
in words, inside an ``embedded-model`` block (dropped when another model builds the site). Each
sentence of that block is checked here against ``figures/attributions.json`` and
``figures/head_ablation.json`` of the same build, so a retrained model that changes the ranking
fails this test instead of leaving the words behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SIGNED = ("ig", "gradxinput", "occlusion")
UNSIGNED = ("gradient", "rollout")
BLOCK_TITLE = "What the tables show for the compact model"


@pytest.fixture(scope="module")
def built(site_dir: Path) -> dict[str, Any]:
    page = (site_dir / "attributions" / "index.html").read_text(encoding="utf-8")
    return {
        "has_block": BLOCK_TITLE in page,
        "faithfulness": json.loads((site_dir / "figures" / "attributions.json").read_text(encoding="utf-8"))["faithfulness"],
        "ablation": json.loads((site_dir / "figures" / "head_ablation.json").read_text(encoding="utf-8")),
    }


def _require_block(built: dict[str, Any]) -> None:
    # The suite's site is built with the compact model; a build with another model drops the block
    # (tests/test_model_specific_pages.py checks that) and has nothing here to check.
    assert built["has_block"], f"the block {BLOCK_TITLE!r} is missing from the attributions page"


def test_ig_and_occlusion_are_the_two_most_faithful(built):
    _require_block(built)
    comp = {m: v["aopc"] for m, v in built["faithfulness"]["comprehensiveness"].items()}
    suff = {m: v["aopc"] for m, v in built["faithfulness"]["sufficiency"].items()}
    by_comp = sorted(comp, key=comp.get, reverse=True)  # most faithful first
    by_suff = sorted(suff, key=suff.get)
    assert by_comp[0] == "ig" and by_suff[0] == "occlusion"
    assert set(by_comp[:2]) == set(by_suff[:2]) == {"ig", "occlusion"}
    assert abs(comp["ig"] - comp["occlusion"]) <= 0.02 and abs(suff["ig"] - suff["occlusion"]) <= 0.02
    assert by_comp[2] == by_suff[2] == "gradxinput"
    assert all(comp[m] > comp["random"] and suff[m] < suff["random"] for m in comp if m != "random")
    assert suff["ig"] < 0 and suff["occlusion"] < 0  # "negative sufficiency" is on the table


def test_agreement_between_methods(built):
    _require_block(built)
    tau = built["faithfulness"]["kendall"]
    assert tau["ig"]["occlusion"] > max(tau["ig"]["gradxinput"], tau["occlusion"]["gradxinput"])
    pairs = {(a, b): tau[a][b] for a in tau for b in tau if a < b}
    assert max(pairs, key=pairs.get) == ("gradient", "rollout")
    signed_among_themselves = min(tau[a][b] for a in SIGNED for b in SIGNED if a != b)
    assert max(tau[u][s] for u in UNSIGNED for s in SIGNED) < signed_among_themselves
    comp = built["faithfulness"]["comprehensiveness"]
    assert max(comp[u]["aopc"] for u in UNSIGNED) < min(comp[s]["aopc"] for s in SIGNED)


def test_signed_scores_rise_with_the_lexicon_valence(built):
    _require_block(built)
    lexicon = built["faithfulness"]["lexicon"]
    for m in SIGNED:
        assert lexicon[m]["against"] == "valence" and lexicon[m]["rho"] > 0
    for m in UNSIGNED:
        assert lexicon[m]["against"] == "|valence|"


def test_head_ablation_statements(built):
    _require_block(built)
    ablation = built["ablation"]
    full = ablation["full"]
    moves = [abs(h[k] - full[k]) for layer in ablation["masked"] for h in layer for k in ("accuracy", "macro_f1")]
    assert max(moves) <= 0.02  # "accuracy and macro-F1 by at most two hundredths"
    alone_cost = []
    for masked, alone in zip(ablation["masked"], ablation["alone"]):
        worst_single_mask = max(full["macro_f1"] - h["macro_f1"] for h in masked)
        assert min(full["macro_f1"] - h["macro_f1"] for h in alone) > worst_single_mask
        alone_cost.append(sum(full["macro_f1"] - h["macro_f1"] for h in alone) / len(alone))
    assert alone_cost[0] > alone_cost[1]  # "on average more in the first layer than in the second"


def test_the_negation_example(built, site_dir):
    _require_block(built)
    examples = json.loads((site_dir / "figures" / "attributions.json").read_text(encoding="utf-8"))["examples"]
    rows = [e for e in examples if e["text"] == "The movie was not bad at all."]
    assert {e["method"] for e in rows} >= set(SIGNED)
    for e in rows:
        assert e["label"] == "negative"  # "is predicted negative"
        if e["method"] in SIGNED:  # "give their largest score to ' movie', not to ' bad'"
            content = list(zip(e["tokens"][1:-1], e["scores"][1:-1]))
            assert max(content, key=lambda ts: abs(ts[1]))[0] == " movie"

"""The explorer's attribution view on the built site: switching methods colours each token as the JSON says.

For one sentence and every method, the test clicks the method's button and compares each
token's score, its printed value and its background colour with ``figures/explorer.json``;
the expected colour is worked out here from the rule the page states (green where the score
raises the predicted class's logit, red where it lowers it, the accent colour for rollout,
opacity 0.75 times the score's share of the sentence's largest |score|).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

GREEN, RED = (44, 160, 44), (214, 39, 40)
ALPHA_TOLERANCE = 1 / 255 + 0.005
ACCENT = {"light": (0, 114, 178), "dark": (86, 180, 233)}  # --rm-accent-rgb in explorer.css


@pytest.fixture(scope="module")
def explorer_json(site_dir: Path) -> dict:
    return json.loads((site_dir / "figures" / "explorer.json").read_text(encoding="utf-8"))


def _open(chromium: Any, site_url: str, scheme: str, width: int = 1400) -> Any:
    context = chromium.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site_url + "explorer/", wait_until="networkidle")
    page.wait_for_selector(".rm-explorer.rm-ready .rm-attr-token")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _rgba(css: str) -> tuple[float, float, float, float]:
    numbers = [float(x) for x in re.findall(r"[\d.]+", css)]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)  # type: ignore[return-value]


def _expected(score: float, top: float, signed: bool, accent: tuple[int, int, int]) -> tuple[float, float, float, float]:
    share = max(-1.0, min(1.0, score / top)) if top > 0 else 0.0
    rgb = accent if not signed else (GREEN if share >= 0 else RED)
    return (*rgb, 0.75 * abs(share))  # type: ignore[return-value]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_switching_methods_colours_tokens_as_the_json_says(chromium: Any, site_url: str, explorer_json: dict, scheme: str) -> None:
    names = dict(explorer_json["attribution_methods"])
    methods = [key for key, _ in explorer_json["attribution_methods"]]
    assert methods == ["ig", "gradxinput", "occlusion", "rollout"]
    page = _open(chromium, site_url, scheme)
    buttons = page.eval_on_selector_all(".rm-attr-method", "nodes => nodes.map(n => [n.dataset.method, n.textContent])")
    assert buttons == [list(pair) for pair in explorer_json["attribution_methods"]]
    sentence = 2  # "The movie was not bad at all.": negation, where the methods disagree most
    page.select_option(".rm-sentence-select", str(sentence))
    example = explorer_json["examples"][sentence]
    assert example["text"] == "The movie was not bad at all."
    attributions = example["attributions"]
    assert attributions["label"] == example["prediction"]["label"]
    seen_colours = {}
    for method in methods:
        page.click(f".rm-attr-method[data-method='{method}']")
        assert page.get_attribute(f".rm-attr-method[data-method='{method}']", "aria-pressed") == "true"
        chips = page.eval_on_selector_all(
            ".rm-attr-token",
            """nodes => nodes.map(n => ({index: Number(n.dataset.index), score: n.dataset.score,
                 text: n.querySelector('.rm-attr-text').textContent, value: n.querySelector('.rm-attr-value').textContent,
                 colour: getComputedStyle(n).backgroundColor}))""",
        )
        scores = attributions["scores"][method]
        assert len(scores) == len(example["tokens"])
        assert [c["index"] for c in chips] == list(range(1, len(scores) - 1))  # every token but <s> and </s>
        content = scores[1:-1]
        top = max(abs(s) for s in content)
        signed = method != "rollout"
        for chip, score in zip(chips, content):
            assert float(chip["score"]) == score
            assert chip["text"] == example["display"][chip["index"]]
            assert abs(float(chip["value"]) - score) <= 5e-4 + 1e-12
            got = _rgba(chip["colour"])
            want = _expected(score, top, signed, ACCENT[scheme])
            # Chromium keeps alpha in 8 bits and prints it with two decimals: 1/255 + 0.005 at most.
            assert got[:3] == pytest.approx(want[:3]) and got[3] == pytest.approx(want[3], abs=ALPHA_TOLERANCE), (method, chip, want)
        # The token with the largest |score| is the most opaque.
        strongest = max(range(len(content)), key=lambda t: abs(content[t]))
        assert _rgba(chips[strongest]["colour"])[3] == pytest.approx(0.75, abs=ALPHA_TOLERANCE)
        seen_colours[method] = [c["colour"] for c in chips]
        caption = page.text_content(".rm-attr-caption")
        assert names[method].lower() in caption.lower()
    assert len({tuple(v) for v in seen_colours.values()}) == len(methods)  # each method colours differently
    # The choice of method stays when the sentence changes.
    page.select_option(".rm-sentence-select", "0")
    assert page.get_attribute(".rm-attr-method[data-method='rollout']", "aria-pressed") == "true"
    first = explorer_json["examples"][0]["attributions"]["scores"]["rollout"]
    assert page.eval_on_selector_all(".rm-attr-token", "nodes => nodes.map(n => Number(n.dataset.score))") == first[1:-1]
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_integrated_gradients_caption_gives_the_completeness_error(chromium: Any, site_url: str, explorer_json: dict) -> None:
    page = _open(chromium, site_url, "light")
    error = explorer_json["examples"][0]["attributions"]["completeness_error"]
    caption = page.text_content(".rm-attr-caption")
    shown = re.search(r"with an error of ([-+.\de]+) ", caption)
    assert shown is not None, caption
    assert float(shown.group(1)) == pytest.approx(error, rel=0.06, abs=1e-12)
    page.context.close()


def test_on_a_phone_the_tokens_wrap_inside_the_screen(chromium: Any, site_url: str) -> None:
    page = _open(chromium, site_url, "light", width=390)
    page.select_option(".rm-sentence-select", "3")  # the longest sentence
    outside = page.eval_on_selector_all(
        ".rm-attr-token, .rm-attr-method",
        "nodes => nodes.filter(n => n.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).length",
    )
    assert outside == 0
    page.context.close()

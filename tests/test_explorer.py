"""The attention explorer: its JSON is the model's real attention, and the page shows data as text.

The JSON is computed with the package's own forward pass; here it is checked against
``transformers``' implementation of the same model. The browser test serves explorer.js,
explorer.css and a JSON written by the real writer from a temporary folder, clicks tokens
in Debian's chromium and compares what the page shows with the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from figure_helpers import tiny_model_with_log

from roberta_math.evaluation.scoring import score_texts
from roberta_math.figures.explorer.data import explorer_assets, explorer_payload
from roberta_math.labels import LABELS
from roberta_math.model.loading import load_model
from site_tools.browser import serve

SENTENCES = [
    "The film was not good.",
    "I loved the coffee, but the service was slow.",
    "<script>alert(1)</script> <img src=x onerror=alert(2)> & \"quotes\"",
]
HOSTILE = 2  # index of the sentence that would run code if it were parsed as HTML


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    return load_model(str(tiny_model_with_log(tmp_path_factory.mktemp("explorer-model") / "model")))


@pytest.fixture(scope="module")
def payload(loaded) -> dict:
    # Through JSON and back, exactly as the page receives it.
    return json.loads(json.dumps(explorer_payload(loaded, SENTENCES)))


def test_tokens_attention_and_prediction_match_transformers(loaded, payload: dict) -> None:
    config = loaded.model.config
    assert payload["model"]["layers"] == config.num_hidden_layers and payload["model"]["heads"] == config.num_attention_heads
    assert payload["labels"] == list(LABELS)
    probabilities = score_texts(SENTENCES, loaded)  # (n, 3), the project's batch scorer
    for index, (text, example) in enumerate(zip(SENTENCES, payload["examples"], strict=True)):
        encoded = loaded.tokenizer(text, return_tensors="pt")
        assert example["text"] == text
        assert example["ids"] == encoded["input_ids"][0].tolist()
        assert example["tokens"] == loaded.tokenizer.convert_ids_to_tokens(example["ids"])
        with torch.no_grad():
            reference = loaded.model(**encoded, output_attentions=True).attentions  # transformers' own kernel
        expected = torch.stack([a[0] for a in reference]).numpy()  # (layers, heads, seq, seq)
        got = np.array(example["attention"])
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 5e-5 + 1e-6  # rounding to 4 decimals, nothing more
        # Each of the n rounded weights is off by at most 5e-5, so a row sums to 1 within n * 5e-5.
        assert np.abs(got.sum(-1) - 1.0).max() <= got.shape[-1] * 5e-5 + 1e-6
        shown = np.array([example["prediction"]["probabilities"][name] for name in LABELS])
        assert np.abs(shown - probabilities[index]).max() <= 5e-5 + 1e-6
        assert example["prediction"]["label"] == LABELS[int(probabilities[index].argmax())]


def test_attributions_match_direct_model_calls(loaded, payload: dict) -> None:
    """Each sentence's attributions: occlusion against transformers' forward pass, rollout and IG by their defining sums."""
    assert [key for key, _ in payload["attribution_methods"]] == ["ig", "gradxinput", "occlusion", "rollout"]
    mask_id = loaded.tokenizer.mask_token_id
    for example in payload["examples"]:
        a = example["attributions"]
        assert a["label"] == example["prediction"]["label"]
        column = list(loaded.label_columns)[list(loaded.labels).index(a["label"])]
        ids = torch.tensor([example["ids"]])
        n = ids.shape[1]
        assert all(len(a["scores"][m]) == n for m in a["scores"])
        with torch.no_grad():
            full = loaded.model(ids).logits[0, column]
            for t in range(1, n - 1):
                changed = ids.clone()
                changed[0, t] = mask_id
                expected = float(full - loaded.model(changed).logits[0, column])
                assert abs(a["scores"]["occlusion"][t] - expected) < 1e-5
        assert a["scores"]["occlusion"][0] == 0.0 and a["scores"]["occlusion"][-1] == 0.0
        assert abs(sum(a["scores"]["rollout"]) - 1.0) < n * 5e-7 + 1e-5  # the <s> row of a product of stochastic matrices
        assert a["completeness_error"] is not None and a["completeness_error"] < 1e-3


def test_the_rows_differ_between_tokens(payload: dict) -> None:
    # The browser test below needs two queries whose weights differ; a degenerate model would not do.
    matrix = np.array(payload["examples"][0]["attention"][-1][0])
    assert np.abs(matrix[1] - matrix[2]).max() > 1e-3


# --------------------------------------------------------------------------- in a real browser

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>explorer test</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="explorer.css"></head>
<body>
<div class="rm-explorer" data-src="explorer.json"><noscript>needs JavaScript</noscript></div>
<script src="explorer.js"></script>
</body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, payload: dict) -> Iterator[str]:
    root = tmp_path_factory.mktemp("explorer-site")
    for name, data in explorer_assets().items():
        (root / name).write_bytes(data)
    (root / "explorer.json").write_text(json.dumps(payload), encoding="utf-8")
    (root / "index.html").write_text(PAGE, encoding="utf-8")

    with serve(root) as base_url:  # the same local server the site's browser tests use
        yield base_url + "index.html"


@pytest.fixture(scope="module")
def browser_page(site: str) -> Iterator[dict]:
    from playwright.sync_api import sync_playwright

    events: dict = {"errors": [], "dialogs": [], "console": [], "foreign": [], "failed": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("pageerror", lambda error: events["errors"].append(str(error)))
        page.on("console", lambda message: events["console"].append(message.text) if message.type == "error" else None)
        page.on("dialog", lambda dialog: (events["dialogs"].append(dialog.message), dialog.dismiss()))
        page.on("response", lambda response: events["failed"].append(response.url) if response.status >= 400 else None)
        page.on("request", lambda request: events["foreign"].append(request.url)
                if not request.url.startswith(site.rsplit("/", 1)[0]) else None)
        page.goto(site)
        page.wait_for_selector(".rm-explorer.rm-ready .rm-query")
        yield {"page": page, "events": events}
        browser.close()


def _key_weights(page) -> list[str | None]:
    return page.eval_on_selector_all(".rm-key", "nodes => nodes.map(n => n.getAttribute('data-weight'))")


def _shown_weights(page) -> list[str]:
    return page.eval_on_selector_all(".rm-key .rm-weight", "nodes => nodes.map(n => n.textContent)")


@pytest.mark.browser
def test_clicking_a_token_shows_its_weights_from_the_json(browser_page: dict, payload: dict) -> None:
    page = browser_page["page"]
    example = payload["examples"][0]
    layers, heads = payload["model"]["layers"], payload["model"]["heads"]
    layer, head = layers - 1, 0  # what the explorer opens with
    assert page.eval_on_selector_all(".rm-query", "nodes => nodes.map(n => n.textContent)") == example["display"]
    assert _key_weights(page) == [None] * len(example["display"])  # nothing highlighted yet

    page.click(".rm-query[data-index='1']")
    first = _key_weights(page)
    assert first == [f"{w:.4f}" for w in example["attention"][layer][head][1]]
    assert _shown_weights(page) == first
    assert page.get_attribute(".rm-query[data-index='1']", "aria-pressed") == "true"

    page.click(".rm-query[data-index='2']")
    second = _key_weights(page)
    assert second == [f"{w:.4f}" for w in example["attention"][layer][head][2]]
    assert second != first

    # Another head, picked in the grid: the selected query keeps its place, the weights follow.
    page.click(f".rm-cell[data-layer='0'][data-head='{heads - 1}']")
    assert page.input_value(".rm-layer-select") == "0" and page.input_value(".rm-head-select") == str(heads - 1)
    assert _key_weights(page) == [f"{w:.4f}" for w in example["attention"][0][heads - 1][2]]

    # The highlight follows the weight: the heaviest key has the most opaque background.
    alphas = page.eval_on_selector_all(".rm-key", "nodes => nodes.map(n => getComputedStyle(n).backgroundColor)")
    weights = example["attention"][0][heads - 1][2]
    heaviest = int(np.argmax(weights))
    assert alphas[heaviest] != alphas[int(np.argmin(weights))]

    page.click(".rm-query[data-index='2']")  # a second click releases the selection
    assert _key_weights(page) == [None] * len(example["display"])
    events = browser_page["events"]
    assert events["errors"] == [] and events["console"] == [] and events["failed"] == []


@pytest.mark.browser
def test_markup_in_a_sentence_is_shown_as_text(browser_page: dict, payload: dict) -> None:
    page = browser_page["page"]
    hostile = payload["examples"][HOSTILE]
    page.select_option(".rm-sentence-select", str(HOSTILE))
    page.wait_for_function(f"document.querySelectorAll('.rm-query').length === {len(hostile['display'])}")
    options = page.eval_on_selector_all(".rm-sentence-select option", "nodes => nodes.map(n => n.textContent)")
    assert options[HOSTILE] == SENTENCES[HOSTILE]
    assert page.text_content(".rm-sentence") == f"\u201c{SENTENCES[HOSTILE]}\u201d"  # the whole sentence, as text
    assert page.eval_on_selector_all(".rm-query", "nodes => nodes.map(n => n.textContent)") == hostile["display"]
    page.click(".rm-query[data-index='1']")
    page.wait_for_timeout(200)
    # Nothing from the data became markup: no script or img element inside the explorer, no dialog, no request.
    assert page.eval_on_selector(".rm-explorer", "root => root.querySelectorAll('script, img, iframe').length") == 0
    assert browser_page["events"]["dialogs"] == []
    assert browser_page["events"]["foreign"] == []
    assert browser_page["events"]["errors"] == []

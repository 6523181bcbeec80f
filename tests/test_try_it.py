"""The Try it page in Chromium: the reader's sentence through the model in the browser, equal to Python.

The page is served from this process on 127.0.0.1; every request to another host is
recorded and blocked (so the test also shows the page works with the network off).
Sentences are typed into the page, and the logits and probabilities it shows (read from
the page's elements, full precision in their ``data-value``) are compared with
``roberta-math predict --json`` (probabilities) and with ``transformers``' own forward pass
(logits, which predict does not print), within 1e-5.

Set ``ROBERTA_MATH_SITE_DIR`` to a built site, or the test builds one (``mkdocs build
--strict``). Without /usr/bin/chromium it skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from site_tools.browser import CHROMIUM, launch, serve  # noqa: E402

pytestmark = pytest.mark.browser

SENTENCES = [
    "I absolutely loved this film, the cast was superb!",
    "The food was cold and the waiter was rude.",
    "Tickets go on sale on Monday at 9 a.m. at the box office.",
]
HOSTILE = [
    '<img src="x" onerror="window.__pwned = 1">',
    "<script>window.__pwned = 2</script> and <b onmouseover=\"window.__pwned=3\">bold</b>",
]
TOLERANCE = 1e-5
PAGE_TAGS = {"p", "span", "strong", "code", "label", "select", "option", "textarea", "div", "table", "tbody", "tr", "th",
             "td", "canvas", "button", "input"}


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ROBERTA_MATH_SITE_DIR")
    if given:
        path = Path(given)
        if not (path / "try-it" / "index.html").is_file():
            pytest.fail(f"ROBERTA_MATH_SITE_DIR={given} has no try-it/index.html: rebuild the site")
        return path
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{build.stderr[-4000:]}")
    return out


@pytest.fixture(scope="module")
def chromium(site: Path) -> Iterator[tuple[Any, str]]:
    """One Chromium for the module (Playwright's sync API allows one at a time) and the site's URL."""
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install -e '.[test]')")
    with serve(site) as base, sync_playwright() as p:
        browser = launch(p)
        yield browser, base
        browser.close()


@pytest.fixture(scope="module")
def page(chromium: tuple[Any, str]) -> Iterator[tuple[Any, dict[str, list]]]:
    browser, base = chromium
    seen: dict[str, list] = {"hosts": [], "urls": [], "blocked": [], "errors": [], "failed": []}
    # one context, shared by the tests that type into the page
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname
        seen["hosts"].append(host)
        seen["urls"].append(r.request.url)
        if host != "127.0.0.1":
            seen["blocked"].append(r.request.url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)  # also sees the worker's fetches
    tab = context.new_page()
    tab.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: seen["errors"].append(str(e)))
    tab.on("response", lambda r: seen["failed"].append(r.url) if r.status >= 400 else None)
    tab.goto(base + "try-it/", wait_until="networkidle")
    tab.wait_for_selector("#rm-tryit[data-ready='true']", timeout=30_000)
    yield tab, seen
    context.close()


def _show(tab: Any, text: str, *, keyboard: bool = False) -> dict:
    """Type ``text`` into the page and wait until the page shows its result; returns what it shows."""
    box = tab.locator("textarea.rm-tryit-text")
    box.fill("")
    if keyboard:
        box.press_sequentially(text)  # one input event per key: the page must end on the whole text
    else:
        box.fill(text)
    tab.wait_for_function("t => window.robertaMath.lastTiming && window.robertaMath.lastTiming.text === t", arg=text,
                          timeout=30_000)
    return tab.evaluate("""() => ({
      probabilities: Object.fromEntries([...document.querySelectorAll('.rm-probability')].map(e => [e.dataset.label, +e.dataset.value])),
      logits: Object.fromEntries([...document.querySelectorAll('.rm-logit')].map(e => [e.dataset.label, +e.dataset.value])),
      label: document.querySelector('.rm-label').textContent,
      tokenTexts: [...document.querySelectorAll('td.rm-tok')].map(e => e.dataset.text),
      tokenCells: [...document.querySelectorAll('td.rm-tok')].map(e => e.textContent),
      notice: document.querySelector('.rm-tryit-notice').hidden ? null : document.querySelector('.rm-tryit-notice').textContent,
    })""")


def _predict_json(texts: list[str], model: str) -> list[dict]:
    run = subprocess.run([sys.executable, "-m", "roberta_math", "predict", "--json", "--model", model, *texts],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_typed_sentences_match_predict_and_transformers(page: tuple[Any, dict], site: Path) -> None:
    import torch

    from roberta_math.model.loading import load_model

    tab, seen = page
    manifest = json.loads((site / "figures" / "live-model.json").read_text())
    loaded = load_model(manifest["model"]["name"])
    assert loaded.provenance.sha256 == manifest["model"]["sha256"], "the page's weights are not the model predict loads"
    assert manifest["model"]["sha256"] in tab.locator(".rm-tryit-model").text_content()
    shown = [_show(tab, text, keyboard=(i == 0)) for i, text in enumerate(SENTENCES)]
    predicted = _predict_json(SENTENCES, manifest["model"]["name"])
    worst_p = worst_z = 0.0
    for text, page_result, reference in zip(SENTENCES, shown, predicted, strict=True):
        for label, p in reference["scores"].items():
            worst_p = max(worst_p, abs(page_result["probabilities"][label] - p))
        assert page_result["label"] == reference["label"]
        with torch.no_grad():
            ids = loaded.tokenizer(text, return_tensors="pt")["input_ids"]
            logits = loaded.model(input_ids=ids).logits[0].double()
        for k, label in enumerate(loaded.labels):
            worst_z = max(worst_z, abs(page_result["logits"][label] - float(logits[loaded.label_columns[k]])))
        api = tab.evaluate("t => window.robertaMath.classify(t)", text)
        assert api["input_ids"] == ids[0].tolist()
        assert api["position_ids"] == list(range(2, ids.shape[1] + 2))
        assert api["probabilities"] == [page_result["probabilities"][label] for label in api["labels"]]
        assert len(api["attentions"]) == loaded.model.config.num_hidden_layers
        assert len(api["attentions"][0][0]) == ids.shape[1]
    print(f"\nmax |page - predict| probability {worst_p:.3e}, max |page - transformers| logit {worst_z:.3e}")
    assert worst_p <= TOLERANCE and worst_z <= TOLERANCE
    assert set(seen["hosts"]) == {"127.0.0.1"} and not seen["blocked"], seen["blocked"]
    # the worker's own fetches went through the same check
    assert any(url.endswith("/figures/live-model.bin") for url in seen["urls"]), seen["urls"]
    assert not seen["failed"] and not seen["errors"], (seen["failed"], seen["errors"])


def test_typed_html_is_text_and_runs_nothing(page: tuple[Any, dict]) -> None:
    tab, seen = page
    for text in HOSTILE:
        result = _show(tab, text, keyboard=True)
        assert "".join(result["tokenTexts"]) == text  # every character shown, literally
        assert "<" in "".join(result["tokenCells"])
        assert tab.evaluate("() => window.__pwned") is None
        # Only the elements the page itself makes: a tag typed by the reader (or the <s> token
        # itself, were any text parsed as HTML) would add an element outside this list.
        tags = tab.evaluate("""() => [...document.querySelectorAll('#rm-tryit *, .rm-tryit-stage *')]
          .map(e => e.tagName.toLowerCase())""")
        assert set(tags) <= PAGE_TAGS, set(tags) - PAGE_TAGS
        token_list = tab.locator(".rm-tryit-token-list").text_content()
        assert token_list.startswith("<s> \u00b7 ") and token_list.endswith(" \u00b7 </s>")
    assert not seen["errors"], seen["errors"]


def test_empty_and_whitespace_input_show_a_prompt(page: tuple[Any, dict]) -> None:
    tab, seen = page
    box = tab.locator("textarea.rm-tryit-text")
    box.fill("")
    status = tab.locator(".rm-tryit-status")
    assert "Type a sentence" in status.text_content()
    box.fill("   \n\t  ")
    assert "Only whitespace" in status.text_content()
    assert tab.locator(".rm-tryit-empty").count() == 4
    message = tab.evaluate("() => window.robertaMath.classify('   ').then(() => 'resolved', e => e.message)")
    assert "nothing to classify" in message
    assert not seen["errors"], seen["errors"]


def test_a_long_text_is_cut_as_predict_cuts_it(page: tuple[Any, dict], site: Path) -> None:
    tab, _ = page
    manifest = json.loads((site / "figures" / "live-model.json").read_text())
    text = "an absolutely wonderful and moving film " * 40
    result = _show(tab, text)
    run = subprocess.run([sys.executable, "-m", "roberta_math", "predict", "--json", "--model", manifest["model"]["name"], text],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    warning = [line for line in run.stderr.splitlines() if "truncated" in line]
    assert warning and result["notice"] and result["notice"].startswith(warning[0])
    reference = json.loads(run.stdout)[0]["scores"]
    assert max(abs(result["probabilities"][k] - v) for k, v in reference.items()) <= TOLERANCE
    assert len(result["tokenTexts"]) == manifest["max_tokens"]


def test_the_temperature_slider_reruns_only_the_softmax(page: tuple[Any, dict]) -> None:
    """Moving the slider changes the probabilities to softmax(z / tau) of the shown logits; no new forward pass."""
    import math

    tab, seen = page
    result = _show(tab, SENTENCES[1])
    before = tab.evaluate("() => window.robertaMath.workerRequests")
    z = result["logits"]
    for position in ("-1.2", "0.9"):
        tab.evaluate("""v => { const s = document.querySelector('.rm-tryit-slider'); s.value = v;
                              s.dispatchEvent(new Event('input', {bubbles: true})); }""", position)
        tau = math.exp(float(position))
        shown = tab.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.rm-probability')]
                                 .map(e => [e.dataset.label, +e.dataset.value]))""")
        top = max(v / tau for v in z.values())
        total = sum(math.exp(v / tau - top) for v in z.values())
        for label, v in z.items():
            assert abs(shown[label] - math.exp(v / tau - top) / total) < 1e-12
        assert tab.locator(".rm-label").text_content() == result["label"]
    assert tab.evaluate("() => window.robertaMath.workerRequests") == before  # the model did not run again
    # Back to the model's fitted temperature, where predict scores (the slider snaps to it).
    fitted = tab.evaluate("() => window.robertaMath.ready.then(m => m.temperature || 1)")
    tab.evaluate("""v => { const s = document.querySelector('.rm-tryit-slider'); s.value = String(v);
                            s.dispatchEvent(new Event('input', {bubbles: true})); }""", math.log(fitted))
    assert tab.evaluate("() => window.robertaMath.state.temperature") == fitted
    assert not seen["errors"], seen["errors"]


def test_the_page_starts_at_the_fitted_temperature_and_shows_occlusion(page: tuple[Any, dict], site: Path) -> None:
    """The slider starts at calibration.json's tau; the occlusion row equals roberta_math.interpret.occlusion."""
    import torch

    from roberta_math.interpret.occlusion import occlusion
    from roberta_math.model.loading import load_model
    from roberta_math.model.weights import read_weights

    tab, seen = page
    manifest = json.loads((site / "figures" / "live-model.json").read_text())
    text = "The plot made no sense, but the acting was brilliant."
    _show(tab, text)
    assert tab.evaluate("() => window.robertaMath.state.temperature") == manifest["temperature"]
    tab.wait_for_function("""t => { const m = window.robertaMath; return m.lastTiming.text === t && m.lastOcclusion
                                     && m.state.result && m.lastOcclusion.id === m.state.result.id; }""",
                          arg=text, timeout=30_000)
    shown = tab.evaluate("() => [...document.querySelectorAll('tr.rm-tok-occlusion td.rm-occ')].map(e => +e.dataset.value)")
    loaded = load_model(manifest["model"]["name"])
    tok = loaded.tokenizer
    ids = torch.tensor(tok(text)["input_ids"])
    expected = occlusion(read_weights(loaded.model), ids, mask_id=tok.mask_token_id,
                         special_ids=(tok.bos_token_id, tok.eos_token_id)).tolist()
    assert len(shown) == len(expected)
    assert max(abs(a - b) for a, b in zip(shown, expected)) < 1e-4
    assert not seen["errors"], seen["errors"]


def test_a_substituted_model_is_named_at_the_top(site: Path, chromium: tuple[Any, str]) -> None:
    """When the site's model is too large for a page, the banner names both models and their SHA-256."""
    browser, base = chromium
    manifest = json.loads((site / "figures" / "live-model.json").read_text())
    big = {"name": "roberta-base-sentiment", "sha256": "ab" * 32, "parameters": 124_647_939, "float32_bytes": 498_591_756}
    substituted = {**manifest, "substituted": True, "site_model": big}
    context = browser.new_context()
    context.route("**/figures/live-model.json", lambda r: r.fulfill(status=200, content_type="application/json",
                                                                    body=json.dumps(substituted)))
    tab = context.new_page()
    tab.goto(base + "try-it/", wait_until="networkidle")
    tab.wait_for_selector("#rm-tryit[data-ready='true']", timeout=30_000)
    banner = tab.locator(".rm-tryit-model").text_content()
    context.close()
    assert "runs the compact model, not the site's model" in banner
    assert big["name"] in banner and big["sha256"][:12] in banner
    assert manifest["model"]["name"] in banner and manifest["model"]["sha256"] in banner

"""The site says what *its* model does only from that model's numbers.

A statement about what the embedded model does either comes from the build (a
``figures/*.md`` snippet written from the model that built the site) or sits in an
``!!! embedded-model`` block, which ``hooks/model_blocks.py`` drops when another model
builds the site. The fast tests check the block mechanism and that the known
embedded-model facts sit in such blocks; the slow one builds the pages that state what a
model does with a second, small random RoBERTa and a toy corpus, and fails if any page states an
embedded-model fact next to that model's figures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import pytest
from figure_helpers import write_toy_corpus
from helpers_models import tiny_classifier

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT))
from site_tools.model_blocks import (
    BLOCK_TYPE,
    drop_embedded_blocks,
    embedded_blocks,
    is_embedded,
)

# Statements of what the embedded model does that once stood in fixed prose beside the
# figures of whichever model built the site (issue 16). Each must now be inside an
# embedded-model block of its page; the built-site test checks they vanish.
KNOWN_FACTS: dict[str, tuple[str, ...]] = {
    "index.md": ("It is not a pre-trained RoBERTa", "only 2 layers and 1.45 million"),
    "further-exploration.md": ("none of them parks", "heads stay close to the uniform row"),
    "roberta-vs-vader.md": (
        'It reads "not bad" as negative',
        "beats VADER on accuracy",
        "calls both \"but\" sentences negative",
        "it is still right less than half the time",
    ),
}

_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# ------------------------------------------------------------------ the block mechanism

PAGE = """# Title

Numbers from the build:

--8<-- "figures/sink_heads.md"

!!! embedded-model "The embedded compact model"

    It has no sink heads.

    ```pycon
    >>> 1 + 1
    2
    ```

    - and a list

Text after the block.

??? embedded-model "Collapsed"
    One line.
After, with no blank line.
"""


def test_blocks_are_kept_for_the_embedded_model_and_dropped_for_another() -> None:
    assert drop_embedded_blocks(PAGE, "embedded") == PAGE
    other = drop_embedded_blocks(PAGE, "/tmp/some-model")
    assert "sink heads" not in other and ">>> 1 + 1" not in other and "a list" not in other
    assert "One line." not in other
    for kept in ("# Title", "Numbers from the build:", '--8<-- "figures/sink_heads.md"', "Text after the block.",
                 "After, with no blank line."):
        assert kept in other
    assert len(embedded_blocks(PAGE)) == 2


def test_the_embedded_model_is_recognised_by_name_or_folder() -> None:
    assert is_embedded("embedded")
    assert is_embedded(str(ROOT / "src" / "roberta_math" / "model" / "embedded"))
    assert not is_embedded("cardiffnlp/twitter-roberta-base-sentiment-latest")


def test_every_embedded_block_names_the_embedded_model_in_its_title() -> None:
    untitled = []
    for page in sorted(DOCS.glob("*.md")):
        for block in embedded_blocks(page.read_text(encoding="utf-8")):
            title = block.splitlines()[0]
            named = title.lower().split(BLOCK_TYPE, 1)[1]
            if "embedded" not in named and "compact model" not in named:  # the identifier, or the site's name for it
                untitled.append(f"{page.name}: {title}")
    assert not untitled, untitled


@pytest.mark.parametrize("page", sorted(KNOWN_FACTS))
def test_known_embedded_model_facts_sit_in_embedded_model_blocks(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    outside = _flat(_FENCE.sub("", drop_embedded_blocks(text, "another-model")))
    inside = _flat("".join(embedded_blocks(text)))
    for fact in KNOWN_FACTS[page]:
        assert fact in inside, f"{page}: {fact!r} is no longer in an embedded-model block (moved or reworded?)"
        assert fact not in outside, f"{page}: {fact!r} stands outside an embedded-model block"


# ------------------------------------------------------------------ a site built with another model


def _visible_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return _flat(unescape(re.sub(r"(?s)<[^>]+>", "", html)))


def _sentences_of_blocks() -> dict[str, list[str]]:
    """Per page source, the prose sentences (at least 40 characters) of its embedded-model blocks."""
    found: dict[str, list[str]] = {}
    for page in sorted(DOCS.glob("*.md")):
        for block in embedded_blocks(page.read_text(encoding="utf-8")):
            body = _FENCE.sub("", "\n".join(block.splitlines()[1:]))
            body = re.sub(r"`([^`]*)`", r"\1", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", body))  # links, code
            body = re.sub(r"[*_]{1,2}", "", body)
            for sentence in re.split(r"(?<=[.!?])\s+", _flat(body)):
                sentence = sentence.strip(" -")
                if len(sentence) >= 40:
                    found.setdefault(page.name, []).append(sentence)
    return found


# The pages that state what a model does: built with the other model, the rest left out.
BUILT_PAGES = ("index.md", "further-exploration.md", "roberta-vs-vader.md", "attention-visualization.md",
               "explorer.md", "fine-tuning.md", "behaviour.md", "attributions.md")


def _child_config(site: Path) -> str:
    """mkdocs.yml with only :data:`BUILT_PAGES` (it inherits everything else, hooks included)."""
    keep = "\n".join(f"  !/{page}" for page in BUILT_PAGES)
    nav = "\n".join(f"  - {page}" for page in BUILT_PAGES)
    return (
        "INHERIT: mkdocs.yml\n"
        f"site_dir: {site}\n"
        "strict: false  # links to the pages left out are warnings\n"
        f"exclude_docs: |\n  conftest.py\n  __pycache__/\n  *.ipynb\n  *.md\n{keep}\n"
        f"nav:\n{nav}\n"
    )


@pytest.fixture(scope="module")
def other_model_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The pages of :data:`BUILT_PAGES`, built with a random 2-layer model and a toy corpus, in
    a cache of their own (the figures step runs in full for that model)."""
    base = tmp_path_factory.mktemp("other-model")
    model = tiny_classifier(base / "tiny-random-roberta", max_tokens=126)  # the example sentences fit
    corpus = write_toy_corpus(base / "corpus")
    site = base / "site"
    # INHERIT resolves the parent's relative paths (hooks, src, overrides) from the child's
    # folder, so the child config sits in the project root for the length of the build.
    config = ROOT / f".test-other-model-{os.getpid()}.yml"
    config.write_text(_child_config(site), encoding="utf-8")
    env = {
        **os.environ,
        "ROBERTA_MATH_MODEL": str(model),
        "ROBERTA_MATH_CORPUS": str(corpus),
        "ROBERTA_MATH_CACHE": str(base / "cache"),
        "ROBERTA_MATH_FIGURES_DIR": str(base / "figures"),
        "NO_MKDOCS_2_WARNING": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    start = time.perf_counter()
    try:
        build = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--config-file", str(config)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )
    finally:
        config.unlink()
    if build.returncode != 0:
        pytest.fail(f"the build with a random model failed:\n{build.stderr[-4000:]}")
    print(f"{len(BUILT_PAGES)} pages with {model.name} built in {time.perf_counter() - start:.0f} s")
    return site, model.name


@pytest.mark.slow
def test_no_page_states_an_embedded_model_fact_beside_another_models_figures(other_model_site: tuple[Path, str]) -> None:
    site, model_name = other_model_site
    pages = {(site / "index.html" if p == "index.md" else site / p[:-3] / "index.html"): p for p in BUILT_PAGES}
    assert all(path.is_file() for path in pages), sorted(str(p) for p in pages if not p.is_file())
    # the figures are the other model's: the overview's model table and the sink-head sentence name it
    assert model_name in _visible_text((site / "index.html").read_text(encoding="utf-8"))
    exploration = _visible_text((site / "further-exploration" / "index.html").read_text(encoding="utf-8"))
    assert f"In {model_name}," in exploration
    block_sentences = _sentences_of_blocks()
    assert block_sentences, "no embedded-model block found in docs/: the test would check nothing"
    problems = []
    assert set(block_sentences) <= set(BUILT_PAGES), "a page with embedded-model blocks is not built by this test"
    for html_file, source in pages.items():
        html = html_file.read_text(encoding="utf-8")
        text = _visible_text(html)
        if f"admonition {BLOCK_TYPE}" in html:
            problems.append(f"{source}: an embedded-model block was rendered")
        for fact in KNOWN_FACTS.get(source, ()):
            if fact in text:
                problems.append(f"{source}: states {fact!r}")
        for sentence in block_sentences.get(source, []):
            if sentence in text:
                problems.append(f"{source}: states {sentence[:80]!r}")
    assert not problems, "\n".join(problems)

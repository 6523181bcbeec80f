"""The pages the documentation sources promise, known before the site is built, and
the outbound links the built-site tests find (listed at the end of the run)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOCS_DIR = PROJECT_ROOT / "docs"

_FENCE = re.compile(r"^([ \t]*)(`{3,}|~{3,}).*?^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)
_MATH_IN_SOURCE = re.compile(r"\$|\\\(|\\\[|\\begin\{")

# The external references a page may link to: a host (its subdomains too) or a host and
# a path prefix. Anything else fails test_built_site: a link to a repository that is not
# this project's, a tracker, a host nobody reviewed. Add an entry only for a reference a
# page cites (a paper's publisher, a library's own repository).
ALLOWED_EXTERNAL_LINKS: tuple[str, ...] = (
    "squidfunk.github.io/mkdocs-material",  # the theme's footer credit
    "github.com/cjhutto/vaderSentiment",  # VADER's source, cited on roberta-vs-vader
    "github.com/huggingface/transformers",  # the reference implementation, cited by file
    "github.com/pytorch/pytorch",  # PyTorch's source, cited by file
    "arxiv.org",
    "doi.org",
    "aclanthology.org",
    "proceedings.neurips.cc",
    "openreview.net",
    "ojs.aaai.org",
    "pytorch.org/docs",
    "docs.python.org",
)
REPO_URL_ENV = "ROBERTA_MATH_REPO_URL"  # mkdocs.yml's repo_url, set by the deploy workflow


def allowed_external_links() -> tuple[str, ...]:
    """The allow-list, plus the repository that ``$ROBERTA_MATH_REPO_URL`` names (the
    header's one link to the source, when the deploy workflow sets it)."""
    import os
    from urllib.parse import urlsplit

    repo = os.environ.get(REPO_URL_ENV, "").strip()
    if repo:
        parts = urlsplit(repo)
        return (*ALLOWED_EXTERNAL_LINKS, f"{parts.hostname}{parts.path.rstrip('/')}")
    return ALLOWED_EXTERNAL_LINKS


# url -> pages that link to it; filled by test_built_site, printed by conftest.
EXTERNAL_LINKS: dict[str, set[str]] = defaultdict(set)


class _TolerantLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose ``!relative`` and ``!!python/name:`` tags are not needed here."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _nav_files(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [] if "://" in nav else [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def source_pages() -> list[str]:
    """URL paths of the pages in mkdocs.yml's nav (``softmax.md`` -> ``softmax/``,
    ``index.md`` -> ``""``), so tests can be parametrized per page before anything is
    built. (MkDocs' ``validation.omitted_files`` already fails the build when a
    Markdown page in docs/ is missing from the nav.)"""
    config = yaml.load((PROJECT_ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_TolerantLoader)
    urls = []
    for source in _nav_files(config["nav"]):
        rel = source.rsplit(".", 1)[0]
        if rel == "index":
            urls.append("")
        elif rel.endswith("/index"):
            urls.append(rel[: -len("index")])
        else:
            urls.append(rel + "/")
    return urls


def page_file(site_dir: Path, page: str) -> Path:
    """The HTML file of a page URL path (``softmax/`` -> ``softmax/index.html``)."""
    return site_dir / page if page.endswith(".html") else site_dir / page / "index.html"


def source_has_math(page: str) -> bool:
    """Whether the page's Markdown has math outside code, or documents the API with
    mkdocstrings (every public function's docstring carries its equation)."""
    source = DOCS_DIR / ((page.rstrip("/") or "index") + ".md")
    if not source.is_file():
        return False
    text = _FENCE.sub("", source.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]+`", "", text)  # inline code
    return bool(_MATH_IN_SOURCE.search(text)) or bool(re.search(r"^:::", text, re.MULTILINE))

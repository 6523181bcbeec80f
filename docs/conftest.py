"""Run every Python snippet of the site's pages as a test (Sybil).

What runs, one pytest item per block, named ``docs/<page>.md::line:<N>,column:<C>``:

- ```` ```python ```` fences: executed as code; a fence whose first line starts with
  ``>>>`` is a doctest instead.
- ```` ```pycon ```` fences: doctests (each ``>>>`` output is compared).
- Fences indented inside admonitions (``!!! note``), collapsible blocks (``???``) and
  content tabs (``=== "Tab"``) are found like top-level ones.
- A fence whose body is a snippet include (``--8<-- "roberta_math/math/softmax.py"``)
  runs the included file, resolved the way mkdocs.yml's ``base_path`` resolves it.

All blocks of one page share one namespace, top to bottom, as a reader's session
would; each page starts fresh, with ``torch.manual_seed(0)``.

A block that must not run is marked, with the reason, in an HTML comment just
before it (invisible on the site)::

    <!-- skip: next "downloads a model from the hub" -->

(``skip: start "..."`` / ``skip: end`` bracket several blocks.) A mark without a
reason is an error. Marked blocks show as pytest skips, and the summary prints how
many blocks ran and how many were marked.
"""

from __future__ import annotations

import doctest
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, SkipParser

DOCS_DIR = Path(__file__).resolve().parent
# pytest still loads this file as a conftest; this only stops --doctest-modules from
# importing it a second time as a module named "conftest" (which clashes with the
# other conftest.py files of the suite).
collect_ignore = ["conftest.py"]
PROJECT_ROOT = DOCS_DIR.parent
# Same order as pymdownx.snippets' base_path in mkdocs.yml.
SNIPPET_BASE_PATHS = (DOCS_DIR, PROJECT_ROOT / "src", PROJECT_ROOT)
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

_SNIPPET_LINE = re.compile(r'^[ \t]*--8<--[ \t]+"(?P<spec>[^"]+)"[ \t]*$', re.MULTILINE)


def _line_of(document: Document, offset: int) -> int:
    return document.text.count("\n", 0, offset) + 1


def _resolve_snippet(spec: str, where: str) -> str:
    """The text a ``--8<-- "spec"`` line stands for: a whole file, ``file:start:end``
    (1-based lines) or ``file:section`` (between ``--8<-- [start:section]`` and
    ``--8<-- [end:section]`` markers)."""
    name, _, selector = spec.partition(":")
    for base in SNIPPET_BASE_PATHS:
        path = base / name
        if path.is_file():
            break
    else:
        raise ValueError(f"{where}: snippet {name!r} not found under docs/, src/ or the root")
    text = path.read_text(encoding="utf-8")
    if not selector:
        return text
    lines = text.splitlines(keepends=True)
    if re.fullmatch(r"\d+(:\d+)?", selector):
        start, _, end = selector.partition(":")
        return "".join(lines[int(start) - 1 : int(end) if end else None])
    section = re.compile(rf"--8<--\s*\[(start|end):{re.escape(selector)}\]")
    marks = [i for i, line in enumerate(lines) if section.search(line)]
    if len(marks) != 2:
        raise ValueError(f"{where}: section {selector!r} not marked once in {path}")
    return "".join(lines[marks[0] + 1 : marks[1]])


def _expand_snippets(source: str, where: str) -> str:
    return _SNIPPET_LINE.sub(lambda m: _resolve_snippet(m["spec"], where), source)


def _run_python(example: Example) -> None:
    where = f"{example.path}:{example.line}"
    source = _expand_snippets(str(example.parsed), where)
    code = compile(source, f"{example.path} (block at line {example.line})", "exec")
    exec(code, example.namespace)


def _run_doctest(example: Example) -> str | None:
    """Run a whole doctest block; a failure names the page and the line of the ``>>>``."""
    where = f"{example.path}:{example.line}"
    source = _expand_snippets(str(example.parsed), where)
    test = doctest.DocTestParser().get_doctest(
        source,
        example.namespace,
        name=where,
        filename=str(example.path),
        lineno=example.line,  # doctest adds 1 plus the example's own line in the block
    )
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    report = io.StringIO()
    result = runner.run(test, out=report.write, clear_globs=False)
    example.namespace.update(test.globs)  # DocTest ran on a copy; later blocks see its names
    return report.getvalue() if result.failed else None


class PythonAndPyconParser:
    """``python``/``py`` fences run as code (as doctests when they open with ``>>>``);
    ``pycon`` fences run as doctests. One region, hence one test, per block."""

    def __init__(self) -> None:
        self._fences = {
            language: CodeBlockParser(language=language) for language in ("python", "py", "pycon")
        }

    def __call__(self, document: Document) -> Iterable[Region]:
        for language, parser in self._fences.items():
            for region in parser(document):
                doctest_block = language == "pycon" or str(region.parsed).lstrip().startswith(">>>")
                region.evaluator = _run_doctest if doctest_block else _run_python
                yield region


class ReasonedSkipParser(SkipParser):
    """Sybil's ``<!-- skip: ... -->`` marks, where ``next`` and ``start`` need a reason
    (without one Sybil would pass the block silently instead of reporting a skip)."""

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in super().__call__(document):
            action, reason = region.parsed
            if action in ("next", "start") and not reason:
                raise ValueError(
                    f"{document.path}, line {_line_of(document, region.start)}: "
                    f'`skip: {action}` needs a reason, e.g. <!-- skip: {action} "needs the hub model" -->'
                )
            yield region


def _seed(namespace: dict[str, Any]) -> None:
    import torch

    torch.manual_seed(0)


pytest_collect_file = Sybil(
    parsers=[ReasonedSkipParser(), PythonAndPyconParser()],
    patterns=["*.md"],
    # tests.md shows the test files themselves (snippet includes): pytest runs those files.
    excludes=["tests.md"],
    path=str(DOCS_DIR),
    setup=_seed,
).pytest()


# Sybil makes each <!-- skip: ... --> mark an item of its own; they are not snippets.
_SKIP_MARK_ITEMS: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        example = getattr(item, "example", None)
        if example is not None and isinstance(example.region.evaluator, Skipper):
            _SKIP_MARK_ITEMS.add(item.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many page snippets ran and how many were marked not to run."""

    def snippet_reports(outcome: str) -> list[Any]:
        return [
            r
            for r in terminalreporter.stats.get(outcome, [])
            if getattr(r, "nodeid", "").split("::")[0].endswith(".md")
            and r.nodeid not in _SKIP_MARK_ITEMS
        ]

    ran = [r for r in snippet_reports("passed") + snippet_reports("failed") if r.when == "call"]
    skipped = snippet_reports("skipped")
    if ran or skipped:
        terminalreporter.write_line(
            f"doc snippets: {len(ran)} blocks ran, {len(skipped)} blocks marked skip"
        )

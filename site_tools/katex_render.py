r"""Render the site's math to HTML at build time with KaTeX.

Markdown marks math with pymdownx.arithmatex in its ``generic`` mode, which leaves
``<span class="arithmatex">\(...\)</span>`` (inline) and
``<div class="arithmatex">\[...\]</div>`` (display) in the HTML; mkdocstrings runs the
same Markdown over docstrings, so their ``$...$`` and ``$$...$$`` arrive the same way.
This module replaces each marked formula with KaTeX's HTML (plus MathML for screen
readers), so pages need no JavaScript for math, and copies KaTeX's stylesheet and
fonts into the site.

KaTeX runs in one long-lived Node process (``site_tools/katex_server.js``, the npm
``katex`` package from ``node_modules``): starting Node takes about 0.12 s, so one
process per formula would add minutes to a large site, while one batch per page costs
well under 1 ms per formula (the site's 87 distinct formulas: 56 ms).

Nothing here depends on MkDocs: ``hooks/katex.py`` calls :func:`render_math_in_html`
per page, and ``python -m site_tools.katex_render SITE_DIR`` does the same to every
HTML file of a site built by another tool.
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVER_SCRIPT = Path(__file__).resolve().with_name("katex_server.js")

# Where the stylesheet and fonts go, relative to the site root.
ASSETS_SUBDIR = "assets/katex"
STYLESHEET = "katex.min.css"

# An arithmatex wrapper: its tag, its attributes, and its escaped TeX (never nested tags).
_ARITHMATEX = re.compile(
    r'<(?P<tag>span|div)(?P<attrs>\s[^>]*?\bclass="(?:[^"]*\s)?arithmatex(?:\s[^"]*)?"[^>]*)>'
    r"(?P<body>[^<]*)</(?P=tag)>",
)
_INLINE = re.compile(r"^\\\((?P<tex>.*)\\\)$", re.DOTALL)
_DISPLAY = re.compile(r"^\\\[(?P<tex>.*)\\\]$", re.DOTALL)
_LEGACY_FONT_SOURCES = re.compile(
    r',\s*url\([^)]*\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)'
)
_CSS_URL = re.compile(r"url\((?P<q>['\"]?)(?P<url>[^)'\"]+)(?P=q)\)")


class MathError(Exception):
    """One or more formulas that KaTeX refuses, each with where it was found."""


@dataclass(frozen=True)
class Formula:
    """A TeX string and whether it is set as a display (block) formula."""

    tex: str
    display: bool


def katex_dist_dir(project_root: Path = PROJECT_ROOT) -> Path:
    """``node_modules/katex/dist`` of the project, or an error that says how to get it.

    >>> katex_dist_dir().name
    'dist'
    """
    dist = project_root / "node_modules" / "katex" / "dist"
    if not (dist / STYLESHEET).is_file():
        raise MathError(
            f"KaTeX is not installed ({dist} is missing): run `npm ci` in {project_root}"
        )
    return dist


class KatexRenderer:
    """A Node process running KaTeX, fed batches of formulas; results are memoized.

    >>> with KatexRenderer() as katex:
    ...     html = katex.render([Formula("x^2", display=False)])[0]
    >>> html.startswith('<span class="katex">') and "<msup>" in html
    True
    """

    def __init__(
        self,
        project_root: Path = PROJECT_ROOT,
        node: str | None = None,
        macros: dict[str, str] | None = None,
    ) -> None:
        self.project_root = project_root
        self.node = node or os.environ.get("NODE", "node")
        self.macros = dict(macros or {})
        self.katex_version: str | None = None
        self._process: subprocess.Popen[str] | None = None
        self._cache: dict[Formula, str | Exception] = {}

    def __enter__(self) -> KatexRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        katex_dist_dir(self.project_root)  # fail early with the fix if npm ci never ran
        if shutil.which(self.node) is None:
            raise MathError(
                f"Node.js ('{self.node}') is needed to render the math: install Node.js 20+ "
                "(Debian: apt-get install nodejs npm), then run `npm ci`"
            )
        self._process = subprocess.Popen(
            [self.node, str(SERVER_SCRIPT), json.dumps(self.macros)],
            cwd=self.project_root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        hello = json.loads(self._readline())
        self.katex_version = hello["ready"]
        return self._process

    def _readline(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            code = self._process.wait()
            raise MathError(f"the KaTeX process ({SERVER_SCRIPT.name}) exited with status {code}")
        return line

    def render_outcomes(self, formulas: Sequence[Formula]) -> list[str | Exception]:
        """KaTeX HTML for each formula, or the exception describing why it failed."""
        todo = list(dict.fromkeys(f for f in formulas if f not in self._cache))
        if todo:
            process = self._start()
            assert process.stdin is not None
            request = [{"tex": f.tex, "display": f.display} for f in todo]
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            replies = json.loads(self._readline())
            for formula, reply in zip(todo, replies, strict=True):
                if "html" in reply:
                    self._cache[formula] = reply["html"]
                else:
                    self._cache[formula] = MathError(reply["error"])
        return [self._cache[f] for f in formulas]

    def render(self, formulas: Sequence[Formula]) -> list[str]:
        """KaTeX HTML for each formula; a :class:`MathError` naming every bad one."""
        outcomes = self.render_outcomes(formulas)
        problems = [
            _describe(f, o) for f, o in zip(formulas, outcomes) if isinstance(o, Exception)
        ]
        if problems:
            raise MathError("; ".join(problems))
        return [o for o in outcomes if isinstance(o, str)]

    def close(self) -> None:
        """Stop the Node process (it is restarted on the next render)."""
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None


def _describe(formula: Formula, error: Exception) -> str:
    """One line: the formula as its author wrote it, then KaTeX's complaint."""
    tex = " ".join(formula.tex.split())
    written = f"$${tex}$$" if formula.display else f"${tex}$"
    message = " ".join(str(error).split())
    return f"bad formula {written} ({message})"


def _formula_of(body: str) -> Formula | None:
    r"""The formula inside an arithmatex wrapper's (HTML-escaped) text.

    >>> _formula_of(r"\(a &lt; b\)")
    Formula(tex='a < b', display=False)
    >>> _formula_of("\\[\nx\n\\]")
    Formula(tex='\nx\n', display=True)
    """
    text = html_lib.unescape(body).strip()
    if m := _DISPLAY.match(text):
        return Formula(m["tex"], display=True)
    if m := _INLINE.match(text):
        return Formula(m["tex"], display=False)
    return None


def render_math_in_html(
    html: str, renderer: KatexRenderer, where: str, search_exclude: bool = True
) -> str:
    r"""Replace every arithmatex wrapper in ``html`` by KaTeX's rendering.

    The wrapper element stays (its class keeps the theme's scrolling for wide formulas);
    with ``search_exclude`` it gains ``data-search-exclude``, so that Material's search
    index holds the prose rather than KaTeX's glyphs (Material removes the attribute
    after indexing).
    A formula KaTeX rejects raises :class:`MathError` naming ``where`` and the formula.

    >>> with KatexRenderer() as katex:
    ...     out = render_math_in_html('<p><span class="arithmatex">\\(x\\)</span></p>', katex, "t.md")
    >>> '<span class="katex">' in out and "\\(" not in out
    True
    """
    matches = list(_ARITHMATEX.finditer(html))
    if not matches:
        return html
    formulas: list[Formula] = []
    for m in matches:
        formula = _formula_of(m["body"])
        if formula is None:
            raise MathError(f"{where}: math without \\( \\) or \\[ \\] delimiters: {m['body']!r}")
        formulas.append(formula)
    try:
        rendered = renderer.render(formulas)
    except MathError as err:
        raise MathError(f"{where}: {err}") from None
    extra = ' data-search-exclude="math"' if search_exclude else ""
    pieces: list[str] = []
    last = 0
    for m, katex_html in zip(matches, rendered):
        pieces.append(html[last : m.start()])
        pieces.append(f'<{m["tag"]}{m["attrs"]}{extra}>{katex_html}</{m["tag"]}>')
        last = m.end()
    pieces.append(html[last:])
    return "".join(pieces)


def render_math_in_text(text: str, renderer: KatexRenderer, where: str) -> str:
    r"""Render ``\(...\)`` found in plain text (a table-of-contents title, say) to HTML.

    >>> with KatexRenderer() as katex:
    ...     out = render_math_in_text(r"Why \(\sqrt{d_k}\)?", katex, "t.md")
    >>> out.startswith("Why <span") and "sqrt" in out
    True
    """
    if "\\(" not in text:
        return text
    wrapped = re.sub(
        r"\\\((.+?)\\\)",
        lambda m: f'<span class="arithmatex">\\({html_lib.escape(m[1], quote=False)}\\)</span>',
        text,
    )
    return render_math_in_html(wrapped, renderer, where, search_exclude=False)


# Notebook markdown cells reach the HTML with their math as plain text between
# delimiters (nbconvert leaves it for MathJax): $$...$$ and \[...\] are display math,
# $...$ and \(...\) inline; a $ followed by a space or preceded by one at the closing
# end is a plain dollar, as in Jupyter.
_TEXT_MATH = re.compile(
    r"\$\$(?P<d1>.+?)\$\$|\\\[(?P<d2>.+?)\\\]|\\\((?P<i1>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<i2>[^\s$](?:[^$]*?[^\s\\$])?)\$(?![\w$])",
    re.DOTALL,
)
_TAG_OR_TEXT = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
_NOT_MATH_TAGS = ("pre", "code", "script", "style", "textarea", "kbd", "samp")


def mark_text_math(html: str, container_class: str = "jp-MarkdownOutput") -> str:
    r"""Wrap delimited math found in the text of ``container_class`` elements the way
    arithmatex does, so :func:`render_math_in_html` renders it; code is left alone.

    For notebook pages (mkdocs-jupyter), whose markdown cells are not processed by
    arithmatex.

    >>> mark_text_math('<div class="jp-MarkdownOutput"><p>Cost $x^2$, not $5 or $ 6.</p>'
    ...                '<pre>$y$</pre></div><p>$z$</p>')
    '<div class="jp-MarkdownOutput"><p>Cost <span class="arithmatex">\\(x^2\\)</span>, not $5 or $ 6.</p><pre>$y$</pre></div><p>$z$</p>'
    """
    opening = re.compile(rf'<div\b[^>]*\bclass="(?:[^"]*\s)?{re.escape(container_class)}(?:\s[^"]*)?"[^>]*>')
    out: list[str] = []
    pos = 0
    for start in opening.finditer(html):
        if start.start() < pos:
            continue  # nested inside a container already handled
        out.append(html[pos : start.start()])
        pieces = _TAG_OR_TEXT.split(html[start.start() :])
        depth = 0  # open <div>s of this container
        skipping: list[str] = []  # open code-like elements
        consumed = 0
        for piece in pieces:
            consumed += len(piece)
            if piece.startswith("<"):
                tag = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
                name = tag[1].lower() if tag else ""
                closing = piece.startswith("</")
                if name == "div":
                    depth += -1 if closing else 1
                elif name in _NOT_MATH_TAGS and not piece.endswith("/>"):
                    if closing and skipping and skipping[-1] == name:
                        skipping.pop()
                    elif not closing:
                        skipping.append(name)
                out.append(piece)
                if depth == 0:
                    break
            elif skipping:
                out.append(piece)
            else:
                out.append(_TEXT_MATH.sub(_wrap_text_math, piece))
        pos = start.start() + consumed
    out.append(html[pos:])
    return "".join(out)


def _wrap_text_math(m: re.Match[str]) -> str:
    if m["d1"] is not None or m["d2"] is not None:
        return f'<div class="arithmatex">\\[{m["d1"] if m["d1"] is not None else m["d2"]}\\]</div>'
    return f'<span class="arithmatex">\\({m["i1"] if m["i1"] is not None else m["i2"]}\\)</span>'


def copy_assets(site_dir: Path, project_root: Path = PROJECT_ROOT) -> list[Path]:
    """Copy KaTeX's stylesheet (woff2 fonts only) and the fonts it uses into the site.

    Returns the files written, under ``site_dir / ASSETS_SUBDIR``.
    """
    dist = katex_dist_dir(project_root)
    # Each font is offered as woff2, woff and ttf; every browser that runs the theme
    # reads woff2, so only those are shipped (about 300 KB instead of 1.1 MB).
    css = _LEGACY_FONT_SOURCES.sub("", (dist / STYLESHEET).read_text(encoding="utf-8"))
    target = site_dir / ASSETS_SUBDIR
    target.mkdir(parents=True, exist_ok=True)
    written = [target / STYLESHEET]
    written[0].write_text(css, encoding="utf-8")
    for url in sorted({m["url"] for m in _CSS_URL.finditer(css)}):
        if url.startswith(("data:", "#")):
            continue
        source = (dist / url).resolve()
        if not source.is_relative_to(dist.resolve()) or not source.is_file():
            raise MathError(f"{STYLESHEET} refers to {url!r}, which KaTeX's dist/ does not have")
        dest = target / url
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        written.append(dest)
    return written


def render_site(site_dir: Path, renderer: KatexRenderer) -> int:
    """Render the math of every HTML file under ``site_dir`` in place, copy the assets,
    and link the stylesheet from pages that have math but no link yet. Returns the
    number of formulas rendered."""
    copy_assets(site_dir, renderer.project_root)
    count = 0
    for page in sorted(site_dir.rglob("*.html")):
        original = page.read_text(encoding="utf-8")
        count += len(_ARITHMATEX.findall(original))
        out = render_math_in_html(original, renderer, str(page.relative_to(site_dir)))
        if out != original and STYLESHEET not in out and "</head>" in out:
            href = os.path.relpath(site_dir / ASSETS_SUBDIR / STYLESHEET, page.parent)
            out = out.replace("</head>", f'<link rel="stylesheet" href="{href}">\n</head>', 1)
        if out != original:
            page.write_text(out, encoding="utf-8")
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m site_tools.katex_render SITE_DIR``: render a built site's math."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("site_dir", type=Path, help="a built site (HTML from arithmatex generic)")
    args = parser.parse_args(argv)
    if not args.site_dir.is_dir():
        print(f"error: {args.site_dir} is not a directory (build the site first)", file=sys.stderr)
        return 2
    try:
        with KatexRenderer() as renderer:
            count = render_site(args.site_dir, renderer)
    except MathError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"rendered {count} formulas with KaTeX {renderer.katex_version} in {args.site_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

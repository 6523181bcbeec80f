"""What the built-site tests need to know about one HTML page, from the standard library.

:func:`scan_html` walks a page once and returns its anchors, the addresses it refers
to (by tag and attribute), its visible text (outside code, scripts and rendered math),
and what it says about math: KaTeX elements, KaTeX error elements, and arithmatex
wrappers that were never rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "param", "source", "track", "wbr",
}  # fmt: skip
# Text inside these is not prose a reader sees as such (code may show TeX on purpose).
NOT_PROSE = {"script", "style", "template", "noscript", "code", "pre", "kbd", "samp", "textarea"}
# (tag, attribute) pairs that make the browser fetch something when the page loads.
LOADED = {
    ("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"),
    ("source", "src"), ("source", "srcset"), ("iframe", "src"), ("embed", "src"),
    ("object", "data"), ("video", "src"), ("video", "poster"), ("audio", "src"),
    ("track", "src"), ("input", "src"), ("image", "href"), ("use", "href"),
}  # fmt: skip

# TeX that should have become KaTeX HTML: delimiters and the commands our pages use.
UNRENDERED_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]"
    r"|\\(?:frac|sqrt|sum|prod|operatorname|math[a-z]+|text|begin|end|left|right|cdot|top|"
    r"alpha|beta|gamma|delta|epsilon|sigma|mu|pi|tau|theta|infty|log|exp|max|partial|qquad)\b"
    r"|\$[^$\n]{0,200}?[\\^_][^$\n]{0,200}?\$"
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(?P<url>[^)'"]+)\1\s*\)|@import\s+(['"])(?P<imp>[^'"]+)\3""")


@dataclass
class PageScan:
    """What :func:`scan_html` found in one page."""

    ids: set[str] = field(default_factory=set)
    # (tag, attribute, value) of every address in the page.
    refs: list[tuple[str, str, str]] = field(default_factory=list)
    visible_text: list[str] = field(default_factory=list)
    katex_elements: int = 0
    katex_errors: list[str] = field(default_factory=list)
    unrendered_math: list[str] = field(default_factory=list)
    inline_css: list[str] = field(default_factory=list)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        # One entry per open element: (tag, is_excluded_from_prose, arithmatex_state)
        self.stack: list[tuple[str, bool, dict[str, object] | None]] = []

    def _excluded(self) -> bool:
        return any(excluded for _, excluded, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        classes = values.get("class", "").split()
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.scan.ids.add(values[key])
        for key, value in values.items():
            if key in ("href", "src", "srcset", "data", "poster", "xlink:href", "action"):
                attr = "href" if key == "xlink:href" else key
                if key == "srcset":
                    for candidate in value.split(","):
                        if candidate.strip():
                            self.scan.refs.append((tag, attr, candidate.split()[0]))
                else:
                    self.scan.refs.append((tag, attr, value))
            if key == "style" and "url(" in value:
                self.scan.inline_css.append(value)
        if "katex" in classes:
            self.scan.katex_elements += 1
            # KaTeX's HTML keeps the TeX source in a MathML annotation: not prose.
        if "katex-error" in classes:
            self.scan.katex_errors.append(values.get("title", "") or "(no message)")
        for _, _, state in self.stack:
            if state is not None and "katex" in classes:
                state["rendered"] = True
        if tag in VOID:
            return
        excluded = tag in NOT_PROSE or "katex" in classes or "katex-error" in classes
        state: dict[str, object] | None = None
        if "arithmatex" in classes:
            state = {"rendered": False, "text": []}
        self.stack.append((tag, excluded, state))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        # Pop up to the matching element; an unmatched end tag is ignored.
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, _, state in self.stack[i:]:
                    if state is not None and not state["rendered"]:
                        self.scan.unrendered_math.append("".join(state["text"]).strip())  # type: ignore[arg-type]
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for _, _, state in self.stack:
            if state is not None:
                state["text"].append(data)  # type: ignore[union-attr]
        if self.stack and self.stack[-1][0] == "style":
            self.scan.inline_css.append(data)
        if not self._excluded() and data.strip():
            self.scan.visible_text.append(data)


def scan_html(html: str) -> PageScan:
    """Scan one page.

    >>> s = scan_html('<p id="a">Hi \\\\(x\\\\) <code>\\\\frac</code></p><a href="#a">go</a>')
    >>> sorted(s.ids), s.refs, s.visible_text
    (['a'], [('a', 'href', '#a')], ['Hi \\\\(x\\\\) ', 'go'])
    """
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    # Whatever is still open at the end of the document closes now.
    for _, _, state in scanner.stack:
        if state is not None and not state["rendered"]:
            scanner.scan.unrendered_math.append("".join(state["text"]).strip())  # type: ignore[arg-type]
    return scanner.scan


def css_urls(css: str) -> list[str]:
    """Every ``url(...)`` and ``@import`` address in a stylesheet.

    >>> css_urls('@font-face{src:url(fonts/a.woff2) format("woff2")} @import "b.css";')
    ['fonts/a.woff2', 'b.css']
    """
    return [m["url"] or m["imp"] for m in _CSS_URL.finditer(css)]


def is_external(url: str) -> bool:
    """Whether ``url`` points at another host (``http(s)://``, ``//host``).

    >>> is_external("https://example.org/x"), is_external("//cdn.test/a.js"), is_external("../a/")
    (True, True, False)
    """
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "data", "mailto", "javascript", "blob", "tel")


def is_local_reference(url: str) -> bool:
    """Whether ``url`` is a path in the site (not ``data:``, ``mailto:``, external, ...)."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def url_path_of(site_dir: Path, file: Path) -> str:
    """The URL path under which ``file`` is served (``/softmax/index.html`` -> ``/softmax/``)."""
    rel = PurePosixPath(file.relative_to(site_dir).as_posix())
    path = "/" + str(rel)
    return path[: -len("index.html")] if rel.name == "index.html" else path


def resolve(site_dir: Path, base_url_path: str, url: str) -> tuple[Path | None, str]:
    """The file a local ``url`` on the page at ``base_url_path`` serves, and its fragment.

    A directory URL serves its ``index.html``; a missing file gives ``None``.
    """
    joined = urlsplit(urljoin(base_url_path, url))
    target = site_dir / unquote(joined.path).lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    return (target if target.is_file() else None), unquote(joined.fragment)


# --- The checks, as functions returning problems, so tests can seed failures. ---


def math_problems(scan: PageScan, expect_math: bool) -> list[str]:
    """Unrendered TeX in visible text, KaTeX error elements, unrendered arithmatex
    wrappers, and (when ``expect_math``) a page without any KaTeX element."""
    problems = []
    for text in scan.visible_text:
        for m in UNRENDERED_TEX.finditer(text):
            problems.append(f"unrendered TeX {m.group(0)!r} in visible text {text.strip()[:100]!r}")
    problems += [f"KaTeX error element: {e}" for e in scan.katex_errors]
    problems += [f"arithmatex wrapper never rendered: {t!r}" for t in scan.unrendered_math]
    if expect_math and scan.katex_elements == 0:
        problems.append("the source has math but the page has no KaTeX element")
    return problems


def external_resources(scan: PageScan) -> list[str]:
    """Everything the page would load from another host (scripts, stylesheets, images,
    frames, fonts or images in inline CSS); plain ``<a href>`` links are not loads."""
    loaded = [f"<{tag} {attr}={url!r}>" for tag, attr, url in scan.refs if (tag, attr) in LOADED and is_external(url)]
    return loaded + [f"url({u}) in inline CSS" for css in scan.inline_css for u in css_urls(css) if is_external(u)]


def link_is_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    """Whether an outbound ``url`` is in the allow-list: an entry is a host
    (``arxiv.org``, which allows its subdomains too) or a host and path prefix
    (``github.com/cjhutto/vaderSentiment``, which allows that repository only).

    >>> allowed = ("arxiv.org", "github.com/cjhutto/vaderSentiment")
    >>> link_is_allowed("https://arxiv.org/abs/1907.11692", allowed)
    True
    >>> link_is_allowed("https://export.arxiv.org/abs/1", allowed), link_is_allowed("https://notarxiv.org/", allowed)
    (True, False)
    >>> link_is_allowed("https://github.com/cjhutto/vaderSentiment/blob/master/x.py", allowed)
    True
    >>> link_is_allowed("https://github.com/roberta-math/roberta-math/blob/main/tests/t.py", allowed)
    False
    >>> link_is_allowed("https://github.com/cjhutto/vaderSentimentFork", allowed)
    False
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/").lower()
    for entry in allowed:
        entry_host, _, entry_path = entry.lower().partition("/")
        if host != entry_host and not host.endswith("." + entry_host):
            continue
        if not entry_path or path == "/" + entry_path.rstrip("/") or path.startswith("/" + entry_path.rstrip("/") + "/"):
            return True
    return False


def unknown_outbound_links(scan: PageScan, allowed: tuple[str, ...]) -> list[str]:
    """The page's ``<a href>`` links to another host that the allow-list does not name."""
    return [
        f"<a href={url!r}>: host not in the allow-list of external references"
        for tag, attr, url in scan.refs
        if tag == "a" and attr == "href" and is_external(url) and urlsplit(url).scheme in ("http", "https", "")
        and not link_is_allowed(url, allowed)
    ]


def broken_links(site_dir: Path, page: Path, scans: dict[Path, PageScan]) -> list[str]:
    """Local addresses of ``page`` that name no file, or an ``#anchor`` the target lacks.

    ``scans`` caches :func:`scan_html` results by file."""

    def scan_of(path: Path) -> PageScan:
        if path not in scans:
            scans[path] = scan_html(path.read_text(encoding="utf-8"))
        return scans[path]

    base = url_path_of(site_dir, page)
    broken = []
    for tag, attr, url in scan_of(page).refs:
        if not url or not is_local_reference(url):
            continue
        target, fragment = resolve(site_dir, base, url)
        if target is None:
            broken.append(f"<{tag} {attr}={url!r}>: no such file")
        elif fragment and target.suffix == ".html" and fragment not in scan_of(target).ids:
            broken.append(f"<{tag} {attr}={url!r}>: no id {fragment!r} in {target.relative_to(site_dir)}")
    return broken


def stylesheet_problems(site_dir: Path) -> list[str]:
    """``url()``/``@import`` in the site's stylesheets that are external or missing."""
    problems = []
    for sheet in sorted(site_dir.rglob("*.css")):
        for url in css_urls(sheet.read_text(encoding="utf-8")):
            if is_external(url):
                problems.append(f"{sheet.relative_to(site_dir)}: external {url}")
            elif is_local_reference(url):
                local = urlsplit(url).path
                if local and not (sheet.parent / unquote(local)).is_file():
                    problems.append(f"{sheet.relative_to(site_dir)}: missing {url}")
    return problems

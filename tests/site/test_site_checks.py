"""The built-site checks catch what they promise to: seeded failures on a tiny hand-made
site, next to a clean page that must pass (TeX inside code and inside KaTeX's own
MathML annotation is not "unrendered")."""

from __future__ import annotations

from pathlib import Path

from htmlscan import (
    broken_links,
    external_resources,
    math_problems,
    scan_html,
    stylesheet_problems,
    unknown_outbound_links,
)
from site_pages import ALLOWED_EXTERNAL_LINKS

CLEAN = """<!doctype html><html><head>
<link rel="stylesheet" href="../assets/site.css"><script src="../assets/app.js"></script>
</head><body><h2 id="intro">Intro</h2>
<p>Prose with <span class="arithmatex"><span class="katex"><span class="katex-mathml"><math><semantics>
<mi>x</mi><annotation encoding="application/x-tex">\\frac{1}{2}</annotation></semantics></math></span>
<span class="katex-html" aria-hidden="true">x</span></span></span> rendered.</p>
<pre><code>r"$$\\frac{a}{b}$$ \\(x\\)"</code></pre>
<p>See <a href="#intro">intro</a>, <a href="../other/#part">part</a>, <a href="../other/">other</a>,
<a href="https://example.org/paper">a paper</a>, <a href="mailto:a@b.c">mail</a>.</p>
<img src="../assets/fig.png" alt="figure"></body></html>"""

BROKEN = """<!doctype html><html><head>
<script src="https://cdn.example.net/katex.js"></script>
<link rel="stylesheet" href="//fonts.example.com/css">
<style>body { background: url(https://img.example.com/bg.png) }</style>
</head><body>
<p>Left over: \\frac{a}{b} and $$x^2$$ and \\(y\\).</p>
<p><span class="arithmatex">\\(z\\)</span></p>
<p><span class="katex-error" title="ParseError: Expected '}'">\\sqrt{</span></p>
<img src="https://img.example.com/plot.png" alt="remote">
<a href="#nowhere">x</a> <a href="../missing/">y</a> <a href="../other/#no-such-part">z</a>
</body></html>"""


def make_site(root: Path) -> Path:
    for rel, text in {
        "clean/index.html": CLEAN,
        "broken/index.html": BROKEN,
        "other/index.html": '<html><body><h2 id="part">Part</h2></body></html>',
        "assets/site.css": "@font-face{src:url(fonts/a.woff2)} .x{background:url('data:image/png;base64,AA')}",
        "assets/bad.css": '@import "https://fonts.example.com/x.css"; @font-face{src:url(fonts/gone.woff2)}',
        "assets/app.js": "",
        "assets/fig.png": "png",
        "assets/fonts/a.woff2": "font",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_clean_page_has_no_problems(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    scan = scan_html(CLEAN)
    assert math_problems(scan, expect_math=True) == []
    assert external_resources(scan) == []
    assert broken_links(site, site / "clean/index.html", {}) == []


def test_unrendered_tex_and_katex_errors_are_reported() -> None:
    problems = "\n".join(math_problems(scan_html(BROKEN), expect_math=True))
    for seeded in ("'\\\\frac'", "'$$'", "'\\\\('", "never rendered: '\\\\(z\\\\)'", "ParseError", "no KaTeX element"):
        assert seeded in problems, f"{seeded} not reported in:\n{problems}"


def test_every_kind_of_external_load_is_reported() -> None:
    problems = "\n".join(external_resources(scan_html(BROKEN)))
    for host in ("cdn.example.net", "fonts.example.com", "img.example.com/bg.png", "img.example.com/plot.png"):
        assert host in problems, f"{host} not reported in:\n{problems}"


def test_missing_pages_and_anchors_are_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    problems = broken_links(site, site / "broken/index.html", {})
    assert len(problems) == 3, problems
    assert any("'#nowhere'" in p for p in problems)
    assert any("'../missing/'" in p and "no such file" in p for p in problems)
    assert any("no id 'no-such-part' in other/index.html" in p for p in problems)


def test_stylesheets_with_external_or_missing_urls_are_reported(tmp_path: Path) -> None:
    problems = stylesheet_problems(make_site(tmp_path))
    assert problems == [
        "assets/bad.css: external https://fonts.example.com/x.css",
        "assets/bad.css: missing fonts/gone.woff2",
    ]


def test_links_to_hosts_outside_the_allow_list_are_reported() -> None:
    page = scan_html(
        '<a href="https://arxiv.org/abs/1907.11692">paper</a>'
        '<a href="https://github.com/cjhutto/vaderSentiment">VADER</a>'
        '<a href="https://github.com/roberta-math/roberta-math/blob/main/tests/t.py">tests</a>'
        '<a href="//tracker.example.com/x">tracker</a>'
        '<a href="../softmax/">local</a><a href="mailto:a@b.c">mail</a>'
    )
    problems = unknown_outbound_links(page, ALLOWED_EXTERNAL_LINKS)
    assert len(problems) == 2, problems
    assert "roberta-math/roberta-math" in problems[0] and "tracker.example.com" in problems[1]

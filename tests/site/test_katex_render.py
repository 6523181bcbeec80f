"""site_tools/katex_render.py: build-time KaTeX, without MkDocs (needs Node and `npm ci`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from htmlscan import css_urls
from site_pages import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT))
from site_tools import katex_render  # noqa: E402
from site_tools.katex_render import Formula, KatexRenderer, MathError  # noqa: E402


@pytest.fixture(scope="module")
def katex() -> Iterator[KatexRenderer]:
    with KatexRenderer() as renderer:
        yield renderer


def test_inline_and_display_math_become_katex_html(katex: KatexRenderer) -> None:
    html = (
        '<p>If <span class="arithmatex">\\(a &lt; b\\)</span> then</p>\n'
        '<div class="arithmatex">\\[\n\\frac{1}{\\sqrt{d_k}}\n\\]</div>'
    )
    out = katex_render.render_math_in_html(html, katex, "page.md")
    assert "\\(" not in out and "\\[" not in out
    # The escaped "<" reached KaTeX as "<": MathML has the operator, not "&amp;lt;".
    assert "<mo>&lt;</mo>" in out and "&amp;lt;" not in out
    assert out.count('class="katex"') == 2
    assert out.count('class="katex-display"') == 1  # only the \[ \] formula is display
    assert "<mfrac>" in out and "<msqrt>" in out


def test_a_bad_formula_names_the_page_and_the_formula(katex: KatexRenderer) -> None:
    html = '<p><span class="arithmatex">\\(\\frac{1}{\\)</span> <span class="arithmatex">\\(x\\)</span></p>'
    with pytest.raises(MathError) as caught:
        katex_render.render_math_in_html(html, katex, "softmax.md")
    message = str(caught.value)
    assert message.startswith("softmax.md: bad formula $\\frac{1}{$")
    assert "KaTeX parse error" in message
    assert "\n" not in message


def test_non_standard_tex_is_an_error_too(katex: KatexRenderer) -> None:
    # KaTeX only warns about unicode letters in math mode; the build treats it as a bug.
    with pytest.raises(MathError, match="unicodeTextInMathMode"):
        katex.render([Formula("é", display=False)])


def test_toc_titles_get_their_math_rendered(katex: KatexRenderer) -> None:
    out = katex_render.render_math_in_text("Why \\(\\sqrt{d_k}\\)?", katex, "attention.md")
    assert out.startswith("Why <span") and out.endswith("</span>?") and "<msqrt>" in out


def test_assets_ship_woff2_fonts_for_every_url_in_the_stylesheet(tmp_path: Path) -> None:
    written = katex_render.copy_assets(tmp_path)
    css_path = tmp_path / "assets/katex/katex.min.css"
    assert css_path in written
    urls = css_urls(css_path.read_text(encoding="utf-8"))
    fonts = [u for u in urls if not u.startswith("data:")]
    assert len(fonts) >= 15  # KaTeX has about 20 font faces (main, math, AMS, sizes, ...)
    assert all(u.endswith(".woff2") for u in fonts)
    assert all((css_path.parent / u).is_file() for u in fonts)


def test_the_command_line_renders_a_site_built_by_another_tool(tmp_path: Path) -> None:
    page = tmp_path / "a" / "index.html"
    page.parent.mkdir()
    page.write_text('<html><head></head><body><span class="arithmatex">\\(x^2\\)</span></body></html>')
    run = subprocess.run(
        [sys.executable, "-m", "site_tools.katex_render", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    out = page.read_text()
    assert '<span class="katex">' in out
    assert '<link rel="stylesheet" href="../assets/katex/katex.min.css">' in out
    assert (tmp_path / "assets/katex/katex.min.css").is_file()


def test_the_command_line_fails_on_a_bad_formula(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text('<span class="arithmatex">\\(\\left(\\)</span>')
    run = subprocess.run(
        [sys.executable, "-m", "site_tools.katex_render", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "index.html: bad formula $\\left($" in run.stderr


def test_notebook_markdown_math_is_found_outside_code_only(katex: KatexRenderer) -> None:
    # As mkdocs-jupyter writes a markdown cell: math left as text for MathJax.
    html = (
        '<div class="jp-Cell"><div class="jp-RenderedHTMLCommon jp-MarkdownOutput">'
        "<p>Scores $QK^\\top/\\sqrt{d_k}$ cost $5 each.</p>\n<p>$$\nA = \\operatorname{softmax}(S)\n$$</p>"
        "<div><p>nested \\(x\\)</p></div><pre><code>price = \"$a$\"</code></pre></div></div>"
        "<p>Outside the cell: $y$ stays text.</p>"
    )
    marked = katex_render.mark_text_math(html)
    out = katex_render.render_math_in_html(marked, katex, "notebook.ipynb")
    assert out.count('class="katex"') == 3  # two inline, one display
    assert out.count('class="katex-display"') == 1
    assert "cost $5 each" in out  # a lone dollar is money, not math
    assert 'price = "$a$"' in out  # code is left alone
    assert "Outside the cell: $y$ stays text." in out

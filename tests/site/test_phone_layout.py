"""Every page on a phone (390 px wide, touch): nothing sticks out of the screen unless it
sits in a box that scrolls and says so, and every figure opens at full size on a tap.

"Says so": docs/assets/javascripts/reader.js gives a box that scrolls sideways the class
``rm-scrolls`` (its right edge fades) and puts a visible "scroll sideways for more" line
right above it. The test finds every element whose box reaches past the right edge of the
screen and requires a scrolling ancestor that is marked and preceded by that visible line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from site_pages import source_pages

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Elements past the right edge of the viewport, each with the scroll box that holds it (if any).
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  // A box that scrolls sideways, or one that clips (hides) what sticks out of it.
  const scrolls = n => /(auto|scroll)/.test(getComputedStyle(n).overflowX) && n.scrollWidth > n.clientWidth + 1;
  const clips = n => /(hidden|clip)/.test(getComputedStyle(n).overflowX);
  const describe = n => {
    const cls = typeof n.className === 'string' ? n.className : (n.className && n.className.baseVal) || '';
    return n.tagName.toLowerCase() + (cls ? '.' + cls.trim().split(/\\s+/).join('.') : '') +
      ' "' + (n.textContent || '').trim().slice(0, 40) + '"';
  };
  const out = [];
  const main = document.querySelector('.md-content') || document.body;
  // Read by screen readers only, clipped to nothing on screen.
  const unseen = '.katex-mathml, .md-visually-hidden, script, style, template';
  for (const n of main.querySelectorAll('*')) {
    if (n.closest(unseen)) continue;
    const r = n.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= vw + 1) continue;
    if (getComputedStyle(n).visibility === 'hidden') continue;
    let box = n.parentElement;
    while (box && box !== document.body && !scrolls(box) && !clips(box)) box = box.parentElement;
    if (!box || box === document.body) { out.push({element: describe(n), problem: 'no scroll box'}); continue; }
    // Clipped: what sticks out is not drawn (the clipping box is checked in its own turn).
    if (!scrolls(box)) continue;
    // The scroll box itself must end inside the screen, and say that it scrolls.
    const boxRight = box.getBoundingClientRect().right;
    if (boxRight > vw + 1) { out.push({element: describe(box), problem: 'scroll box wider than the screen'}); continue; }
    if (!box.classList.contains('rm-scrolls')) { out.push({element: describe(n), problem: 'scroll box without a cue: ' + describe(box)}); continue; }
    const anchor = box.tagName === 'CODE' && box.parentElement.tagName === 'PRE' ? box.parentElement : box;
    const hint = anchor.previousElementSibling;
    if (!hint || !hint.classList.contains('rm-scroll-hint') || hint.hidden || hint.getBoundingClientRect().height === 0) {
      out.push({element: describe(box), problem: 'marked, but no visible hint'});
    }
  }
  // One report per scroll box is enough.
  const seen = new Set();
  return out.filter(o => !seen.has(o.problem + o.element) && seen.add(o.problem + o.element));
}"""


REVEAL_TAB_JS = """img => {
  const block = img.closest('.tabbed-block');
  if (!block) return;
  const set = block.closest('.tabbed-set');
  const index = [...block.parentElement.children].indexOf(block);
  set.querySelectorAll(':scope > .tabbed-labels > label')[index].click();
}"""


@pytest.fixture(scope="module")
def phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def desktop(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    yield context
    context.close()


@pytest.mark.parametrize("page_path", source_pages())
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_nothing_wider_than_a_phone_except_what_says_it_scrolls(
    request: pytest.FixtureRequest, site_url: str, page_path: str, device: str
) -> None:
    """At 390 px (a phone) and at 1400 px (a desktop, where wide tables also occur)."""
    page = request.getfixturevalue(device).new_page()
    page.goto(site_url + page_path, wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    # Pages that draw with their own script (the explorer, Try it) settle within a few seconds.
    for _ in range(30):
        page.wait_for_timeout(100)
        problems = page.evaluate(OVERFLOW_JS)
        if not problems:
            break
    page.close()
    assert problems == [], "\n".join(f"{p['problem']}: {p['element']}" for p in problems[:15])


@pytest.mark.parametrize("page_path", source_pages())
def test_every_figure_opens_at_full_size(phone: Any, site_url: str, page_path: str) -> None:
    page = phone.new_page()
    page.goto(site_url + page_path, wait_until="networkidle")
    figures = page.locator(".md-content .md-typeset img")
    opened = []
    for index in range(figures.count()):
        figure = figures.nth(index)
        # A figure in a content tab that is not open: open its tab first, as a reader would.
        figure.evaluate(REVEAL_TAB_JS)
        figure.scroll_into_view_if_needed()
        shown = figure.bounding_box()
        natural = figure.evaluate("img => img.naturalWidth")
        box = figure.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        dialog = page.locator("dialog.rm-lightbox[open]")
        dialog.wait_for(timeout=3000)
        big = page.locator("dialog.rm-lightbox[open] img")
        page.wait_for_function("() => { const i = document.querySelector('dialog[open] img'); return i && i.complete; }")
        width = big.evaluate("img => img.getBoundingClientRect().width")
        src = (big.get_attribute("src"), figure.evaluate("img => img.currentSrc || img.src"))
        opened.append((src[1].rsplit("/", 1)[-1], round(shown["width"]), natural, round(width)))
        assert src[0] == src[1]
        # At least its own size (the content box, without the frame's padding), and larger than in the column.
        assert width >= natural, opened[-1]
        assert width > shown["width"] or shown["width"] >= natural, opened[-1]
        page.keyboard.press("Escape")
        assert page.locator("dialog.rm-lightbox[open]").count() == 0
    page.close()


# Display equations written in the pages (not the docstrings that `:::` blocks include) whose
# box is wider than it is shown, each with the start of its TeX.
WIDE_EQUATIONS_JS = """() => [...document.querySelectorAll('.md-content div.arithmatex')]
  .filter(box => box.querySelector('.katex-display') && !box.closest('.doc'))
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => ((box.querySelector('annotation') || {}).textContent || '').trim().slice(0, 70))"""


@pytest.mark.parametrize("page_path", source_pages())
def test_page_equations_fit_a_phone_without_scrolling(phone: Any, site_url: str, page_path: str) -> None:
    """A long display equation is broken over lines (`aligned`, `gathered`) rather than left to
    scroll sideways: on a phone, no display equation of a page's own text is wider than the
    column. (Equations of included docstrings are counted by the issue's survey, not here.)"""
    page = phone.new_page()
    page.goto(site_url + page_path, wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    wide = page.evaluate(WIDE_EQUATIONS_JS)
    page.close()
    assert wide == [], f"{len(wide)} display equation(s) scroll sideways at 390 px: {wide[:5]}"

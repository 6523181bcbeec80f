"""The attention explorer on the built site clicks what the reader aims at, on a desktop and a phone.

Each query token is clicked (and, on the phone, tapped) at the centre of the box it
occupied *before* the pointer arrived, the way a reader aims; the token the explorer
then pins must be that token. Hovering changes the explorer's text, so if anything
above the token list changed height the list would move under the pointer and the
click would land on a neighbour. Also on the phone: the weight column and the grid's
last column are inside the viewport, a tapped grid cell brings the head view into
sight, the instructions say "tap" rather than "hover", and the lines and highlights
keep their contrast in dark mode.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1400, 900), "phone": (390, 844)}


def _open(chromium: Any, site_url: str, size: str, scheme: str = "light", touch: bool = False) -> Any:
    width, height = SIZES[size]
    context = chromium.new_context(
        viewport={"width": width, "height": height}, color_scheme=scheme, has_touch=touch, is_mobile=touch
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site_url + "explorer/", wait_until="networkidle")
    page.wait_for_selector(".rm-explorer.rm-ready .rm-query")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _centre(page: Any, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _pinned(page: Any) -> list[int]:
    return page.eval_on_selector_all(
        ".rm-query[aria-pressed='true']", "nodes => nodes.map(n => Number(n.dataset.index))"
    )


def _aim_and_click(page: Any, index: int, tap: bool) -> list[int]:
    """Click (or tap) where token ``index`` is on screen now; return the pinned tokens."""
    selector = f".rm-query[data-index='{index}']"
    page.locator(selector).scroll_into_view_if_needed()
    x, y = _centre(page, selector)
    if tap:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)
    page.wait_for_timeout(30)
    return _pinned(page)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_click_pins_the_token_under_the_pointer(chromium: Any, site_url: str, size: str) -> None:
    page = _open(chromium, site_url, size)
    count = page.locator(".rm-query").count()
    assert count >= 5
    wrong = []
    for index in range(count):
        page.mouse.move(1, 1)  # away from the list: no hover, as before a reader aims
        if _pinned(page):  # release the last pin by clicking it again
            page.locator(".rm-query[aria-pressed='true']").click()
            page.mouse.move(1, 1)
        pinned = _aim_and_click(page, index, tap=False)
        if pinned != [index]:
            wrong.append((index, pinned))
    assert wrong == [], f"at {size} width, (aimed at, pinned): {wrong}"
    # Pinning while another token is pinned (its caption differs) also lands.
    page.locator(".rm-query[aria-pressed='true']").click()
    page.mouse.move(1, 1)
    for index in (count - 1, 1, count // 2):
        assert _aim_and_click(page, index, tap=False) == [index]
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_tap_pins_the_token_under_the_finger(chromium: Any, site_url: str) -> None:
    page = _open(chromium, site_url, "phone", touch=True)
    count = page.locator(".rm-query").count()
    wrong = []
    for index in range(count):
        pinned = _aim_and_click(page, index, tap=True)
        if pinned != [index]:
            wrong.append((index, pinned))
    assert wrong == [], f"(tapped, pinned): {wrong}"
    page.context.close()


def test_nothing_above_the_list_changes_height_on_hover(chromium: Any, site_url: str) -> None:
    page = _open(chromium, site_url, "phone")
    # Distance from the top of the document, whatever the page's scroll position.
    top_js = "node => node.getBoundingClientRect().top + window.scrollY"
    top = page.eval_on_selector(".rm-query", top_js)
    for index in range(page.locator(".rm-query").count()):
        page.locator(f".rm-query[data-index='{index}']").hover()
        assert page.eval_on_selector(".rm-query", top_js) == top, f"hovering token {index} moved the list"
    page.context.close()


def _inside_viewport(page: Any, selector: str) -> list[str]:
    """Elements matching ``selector`` that stick out of the viewport on the right."""
    return page.eval_on_selector_all(
        selector,
        """nodes => nodes.filter(n => n.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
                     .map(n => (n.className.baseVal ?? n.className) + ' ' + n.textContent.slice(0, 20))""",
    )


def test_on_a_phone_everything_fits_and_says_tap(chromium: Any, site_url: str) -> None:
    page = _open(chromium, site_url, "phone", touch=True)
    assert _aim_and_click(page, 1, tap=True) == [1]
    # Every weight, every token and every head column of the grid is on screen.
    assert _inside_viewport(page, ".rm-weight, .rm-key, .rm-query, .rm-cell, .rm-grid-head") == []
    weights = page.eval_on_selector_all(".rm-weight", "nodes => nodes.map(n => n.textContent)")
    assert all(len(w) == 6 for w in weights), weights  # "0.1234", not cut to "0."
    text = page.locator(".rm-explorer").inner_text().lower()
    assert "hover" not in text and "tap" in text

    # A tapped grid cell opens that head in the view above, which comes into sight.
    last = page.locator(".rm-cell").last
    last.scroll_into_view_if_needed()
    page.touchscreen.tap(*_centre(page, ".rm-cell >> nth=-1"))
    page.wait_for_timeout(800)  # smooth scrolling
    assert last.get_attribute("class").split().count("rm-selected") == 1
    view = page.locator(".rm-headview").bounding_box()
    assert view["y"] < SIZES["phone"][1] and view["y"] + view["height"] > 0, view
    page.context.close()


def test_the_desktop_says_hover(chromium: Any, site_url: str) -> None:
    page = _open(chromium, site_url, "desktop")
    assert "hover" in page.locator(".rm-explorer").inner_text().lower()
    page.context.close()


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_lines_and_highlights_read_in_both_schemes(chromium: Any, site_url: str, scheme: str) -> None:
    page = _open(chromium, site_url, "desktop", scheme=scheme)
    colours = page.evaluate(
        """() => {
          const parse = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
          let bg = null;
          for (let n = document.querySelector('.rm-explorer'); n && !bg; n = n.parentElement) {
            const c = getComputedStyle(n).backgroundColor;
            if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') bg = c;
          }
          bg = bg || getComputedStyle(document.body).backgroundColor;
          const line = document.querySelector('.rm-lines line');
          return {bg: parse(bg), line: parse(line.getAttribute('stroke'))};
        }"""
    )
    # The line colour at full weight against the page: WCAG's 3:1 for graphics.
    assert _contrast(tuple(colours["line"]), tuple(colours["bg"])) >= 3.0, colours
    caption = page.locator(".rm-explorer").inner_text().lower()
    assert "darker = more weight" not in caption
    page.context.close()

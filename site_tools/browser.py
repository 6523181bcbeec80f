"""Debian's Chromium on a built site: a local server, the launch flags, screenshots.

The site is served from a thread of this process on 127.0.0.1 (port 0: a free one);
Playwright drives ``/usr/bin/chromium`` (never ``playwright install``). tests/site uses
:func:`serve` and :func:`launch`; people use the screenshots to look at the pages:

    python -m site_tools.browser SITE_DIR OUT_DIR [--page softmax/ ...] [--width 1400]

writes ``OUT_DIR/<page>-light.png`` and ``-dark.png`` (full page) for each page, every
page of the site when none is named. Below about 1220 px Material hides the side
navigation, hence the default width of 1400.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a container), and none of Chromium's own network chatter.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir`` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def page_urls(site_dir: Path) -> list[str]:
    """URL paths of every page of a built site (``softmax/``, ``""`` for the home page)."""
    pages = []
    for html in sorted(site_dir.rglob("index.html")):
        rel = html.parent.relative_to(site_dir).as_posix()
        if not rel.startswith("assets"):
            pages.append("" if rel == "." else rel + "/")
    return pages


def take(site_dir: Path, out_dir: Path, pages: Sequence[str], width: int = 1400) -> list[Path]:
    """Full-page light and dark screenshots of ``pages``; returns the PNG paths."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with serve(site_dir) as base, sync_playwright() as p:
        browser = launch(p)
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
            tab = context.new_page()
            for page in pages:
                tab.goto(base + page, wait_until="networkidle")
                tab.evaluate("document.fonts.ready")
                name = (page.strip("/").replace("/", "-") or "index") + f"-{scheme}.png"
                tab.screenshot(path=str(out_dir / name), full_page=True)
                written.append(out_dir / name)
            context.close()
        browser.close()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot pages of a built site.")
    parser.add_argument("site_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--page", action="append", help="a page URL path such as softmax/ (repeatable)")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    pages = args.page or page_urls(args.site_dir)
    for path in take(args.site_dir, args.out_dir, pages, args.width):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

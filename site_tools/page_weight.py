"""Bytes a reader's browser transfers for each page of a built site, measured in Chromium.

    python -m site_tools.page_weight SITE_DIR [--page softmax/ ...] [--width 1400]

Each page is opened in a fresh browser context (an empty cache), the way a first visit
loads it; the bytes are the sum of every response's body and headers as Chromium reports
them (``Request.sizes()``), after the page is idle and Material's search worker has
fetched ``search/search_index.json`` (which it does on every page, sometimes only after
the page looks idle). The local server does not compress,
so the numbers are an upper bound for a host that gzips HTML, CSS and JS.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from site_tools.browser import launch, page_urls, serve


SEARCH_INDEX = "search/search_index.json"


def page_weights(site_dir: Path, pages: Sequence[str], width: int = 1400) -> dict[str, tuple[int, int]]:
    """``{page: (bytes transferred, number of requests)}`` for each page, each with an empty cache."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    weights: dict[str, tuple[int, int]] = {}
    with serve(site_dir) as base, sync_playwright() as p:
        browser = launch(p)
        for page in pages:
            context = browser.new_context(viewport={"width": width, "height": 900})
            tab = context.new_page()
            finished: list = []
            tab.on("requestfinished", lambda request, seen=finished: seen.append(request))
            # Material's search worker fetches the index after the page is idle or before,
            # depending on timing: wait for it, so that every page counts it (or none has it).
            try:
                with tab.expect_request_finished(lambda r: r.url.endswith(SEARCH_INDEX), timeout=15_000):
                    tab.goto(base + page, wait_until="networkidle")
            except PlaywrightTimeout:
                pass  # a page without Material's search
            tab.wait_for_load_state("networkidle")
            total = 0
            for request in finished:
                sizes = request.sizes()
                total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            weights[page] = (total, len(finished))
            context.close()
        browser.close()
    return weights


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bytes transferred per page of a built site, in Chromium.")
    parser.add_argument("site_dir", type=Path)
    parser.add_argument("--page", action="append", help="a page URL path such as softmax/ (repeatable)")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    pages = args.page or page_urls(args.site_dir)
    for page, (size, count) in page_weights(args.site_dir, pages, args.width).items():
        print(f"{size / 1024:10.1f} KiB  {count:4d} requests  /{page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

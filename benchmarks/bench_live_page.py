"""Benchmark: the Try it page, keystroke to updated probabilities, beside the Python forward pass.

Run:  python benchmarks/bench_live_page.py --site /tmp/site   (a built site; about a minute)

In one run, for sentences of 16, 64 and 128 tokens (the embedded model's tokenizer
counts them, ``<s>`` and ``</s>`` included):

1. headless Chromium (Debian's, through Playwright) with the page at 1400 px: the text
   minus its last character is in the box; the benchmark types the last character and
   the page reports the time from that input event to the moment its probabilities are
   redrawn (tokenizer, forward pass in the worker, message back, every stage drawn).
   Then Backspace and again, ``--runs`` times after ``--warmup`` unmeasured ones;
2. right after each measured keystroke, the same token ids through the model in Python,
   one thread (the worker has one too): ``transformers``' forward pass and the package's
   ``classify_from_scratch``. Paired in time, so load from elsewhere on a shared machine
   falls on both alike.

Then, in Node (the same V8 engine), the CPU time of the page's forward pass alone, which
a busy machine does not inflate. It prints medians and 90th percentiles, the ratio page / Python, whether the page meets
the target (under 50 ms at 64 tokens), and the bytes the page transferred to load (a
fresh browser context, weights included), by file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LENGTHS = (16, 64, 128)
TARGET_MS_AT_64 = 50.0
WORDS = ("the movie was not bad at all but the plot made no sense and the acting was good "
         "I loved the music yet the ending felt slow and the food was cold").split()


def sentence_of(tokens: int, tokenizer) -> str:
    """A sentence of exactly ``tokens`` tokens (``<s>``/``</s>`` included), built from single-token words."""
    words: list[str] = []
    i = 0
    while True:
        candidate = " ".join([*words, WORDS[i % len(WORDS)]])
        n = len(tokenizer(candidate)["input_ids"])
        if n > tokens:
            i += 1
            if i > 10 * tokens:
                raise SystemExit(f"bench_live_page: cannot build a sentence of {tokens} tokens")
            continue
        words.append(WORDS[i % len(WORDS)])
        i += 1
        if n == tokens:
            return candidate


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def browser_times(site: Path, texts: dict[int, str], runs: int, warmup: int, parts: dict,
                  python_step) -> tuple[dict[int, list[float]], dict[str, int]]:
    """Page timings per length; after each measured keystroke, ``python_step(n)`` times Python on the same text."""
    from playwright.sync_api import sync_playwright

    from site_tools.browser import launch, serve

    times: dict[int, list[float]] = {}
    sizes: dict[str, int] = {}
    with serve(site) as base, sync_playwright() as p:
        browser = launch(p)
        # transferred bytes: a fresh context, the page loaded once until the model is ready
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        tab = context.new_page()
        responses = []
        tab.on("requestfinished", lambda r: responses.append(r))
        tab.goto(base + "try-it/", wait_until="networkidle")
        tab.wait_for_selector("#rm-tryit[data-ready='true']", timeout=60_000)
        tab.wait_for_load_state("networkidle")
        for request in responses:
            s = request.sizes()
            name = request.url.replace(base, "")
            sizes[name] = sizes.get(name, 0) + s["responseBodySize"] + s["responseHeadersSize"]
        box = tab.locator("textarea.rm-tryit-text")
        for n, text in texts.items():
            box.fill(text[:-1])
            tab.wait_for_function("t => window.robertaMath.lastTiming && window.robertaMath.lastTiming.text === t",
                                  arg=text[:-1], timeout=60_000)
            measured = []
            for k in range(warmup + runs):
                box.press("End")
                tab.keyboard.type(text[-1])
                tab.wait_for_function("t => window.robertaMath.lastTiming && window.robertaMath.lastTiming.text === t",
                                      arg=text, timeout=60_000)
                timing = tab.evaluate("() => window.robertaMath.lastTiming")
                if timing["tokens"] != n:
                    raise SystemExit(f"bench_live_page: the page counted {timing['tokens']} tokens, Python {n}")
                if k >= warmup:
                    measured.append(timing["keystroke_to_probabilities_ms"])
                    for part in ("forward_ms", "worker_round_trip_ms", "render_ms"):
                        parts.setdefault((n, part), []).append(timing[part])
                    python_step(n)  # paired: the same moment's load falls on both
                tab.keyboard.press("Backspace")
                tab.wait_for_function("t => window.robertaMath.lastTiming && window.robertaMath.lastTiming.text === t",
                                      arg=text[:-1], timeout=60_000)
            times[n] = measured
        context.close()
        browser.close()
    return times, sizes


def python_timer(loaded, texts: dict[int, str]):
    """A function that times one forward pass of each kind on the text of ``n`` tokens, and the timings it collected."""
    import torch

    from roberta_math.model.forward import classify_from_scratch

    torch.set_num_threads(1)
    ids = {n: loaded.tokenizer(text, return_tensors="pt")["input_ids"] for n, text in texts.items()}
    out: dict[int, dict[str, list[float]]] = {n: {"transformers": [], "from_scratch": []} for n in texts}
    with torch.inference_mode():  # warm up
        for x in ids.values():
            loaded.model(input_ids=x)
            classify_from_scratch(loaded.model, x)

    def step(n: int) -> None:
        with torch.inference_mode():
            t = time.perf_counter()
            loaded.model(input_ids=ids[n])
            out[n]["transformers"].append((time.perf_counter() - t) * 1e3)
            t = time.perf_counter()
            classify_from_scratch(loaded.model, ids[n])
            out[n]["from_scratch"].append((time.perf_counter() - t) * 1e3)

    return step, out


def forward_cpu_ms(site: Path) -> dict[str, float] | None:
    """Median CPU milliseconds of math.js's forward pass per length, measured by live_forward_cpu.mjs in Node."""
    import json
    import shutil
    import subprocess

    if shutil.which("node") is None:
        return None
    script = Path(__file__).resolve().parent / "live_forward_cpu.mjs"
    run = subprocess.run(["node", str(script), str(site / "figures"), *map(str, LENGTHS)], capture_output=True, text=True)
    return json.loads(run.stdout) if run.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=os.environ.get("ROBERTA_MATH_SITE_DIR"),
                        help="a built site (mkdocs build --site-dir DIR); default $ROBERTA_MATH_SITE_DIR")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    if args.site is None or not (Path(args.site) / "try-it" / "index.html").is_file():
        raise SystemExit("bench_live_page: give --site DIR with a built site (mkdocs build --strict --site-dir DIR)")
    import json

    from roberta_math.model.loading import load_model

    manifest = json.loads((Path(args.site) / "figures" / "live-model.json").read_text())
    loaded = load_model(manifest["model"]["name"])
    texts = {n: sentence_of(n, loaded.tokenizer) for n in LENGTHS}
    parts: dict = {}
    step, python = python_timer(loaded, texts)
    page, sizes = browser_times(Path(args.site), texts, args.runs, args.warmup, parts, step)

    print(f"model {manifest['model']['name']} (sha256 {manifest['model']['sha256'][:12]}), {args.runs} runs after {args.warmup} warm-up")
    print(f"{'tokens':>6}  {'page median':>11}  {'page p90':>8}  {'transformers':>12}  {'from scratch':>12}  {'page/transformers':>17}")
    for n in LENGTHS:
        med = statistics.median(page[n])
        hf = statistics.median(python[n]["transformers"])
        ours = statistics.median(python[n]["from_scratch"])
        print(f"{n:>6}  {med:>8.1f} ms  {pct(page[n], 0.9):>5.1f} ms  {hf:>9.2f} ms  {ours:>9.2f} ms  {med / hf:>16.1f}x")
    print("page, median parts: forward pass in the worker / worker round trip (incl. tokenizer, messages) / drawing every stage")
    for n in LENGTHS:
        f, w, r = (statistics.median(parts[(n, k)]) for k in ("forward_ms", "worker_round_trip_ms", "render_ms"))
        print(f"{n:>6}  {f:>6.1f} ms / {w:>6.1f} ms / {r:>6.1f} ms")
    cpu = forward_cpu_ms(Path(args.site))
    if cpu:
        print("the same forward pass in Node (same V8 engine), median CPU time, unaffected by other processes: " +
              ", ".join(f"{n} tokens {cpu[str(n)]:.1f} ms" for n in LENGTHS))
    print(f"load average of this machine at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    at64 = statistics.median(page[64])
    print(f"target: keystroke to probabilities under {TARGET_MS_AT_64:.0f} ms at 64 tokens: "
          f"{'met' if at64 < TARGET_MS_AT_64 else 'NOT met'} ({at64:.1f} ms)")
    total = sum(sizes.values())
    print(f"page load transferred {total / 1e6:.2f} MB in {len(sizes)} responses; largest:")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {size / 1e3:>9.1f} kB  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: ``roberta-math predict --input`` on a large file: peak memory, throughput, order.

Run:  python benchmarks/bench_large_input.py                 (100,000 lines; several minutes on 2 shared cores)
      python benchmarks/bench_large_input.py --n 20000      (a quicker look)

One run, side by side, each in a fresh process whose peak resident memory is read with
``os.wait4`` (the child's own ``ru_maxrss``):

1. ``predict --input FILE --json`` on ``n/10`` lines and on ``n`` lines: the command as
   shipped, which checks the file in one streaming pass and then scores and prints it
   chunk by chunk (:data:`roberta_math.cli.CHUNK_ROWS` rows at a time);
2. the whole-file way the command used before (every row read into a list, every text
   scored in one call, one ``json.dumps`` of everything) on the same ``n`` lines, for
   reference.

It prints lines per second, peak memory, and two ratios: peak memory at ``n`` over peak
memory at ``n/10`` for the streamed command (bounded memory means close to 1, where
memory growing with the file would give close to 10), and the whole-file peak over the
streamed peak. Each output is checked: one prediction per line, in the input order, texts
unaltered.

The lines are synthetic short reviews (8 to 20 words), numbered so that order is checkable;
a fixed seed makes the file the same on every run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("the service was slow but the food was great and I would come back again not bad at all "
         "terrible awful lovely staff movie plot acting phone battery died after a week best day ever "
         "meeting moved to Tuesday coffee cold warm friendly rude price fair").split()

WHOLE_FILE = """
import json, sys
from roberta_math.cli import read_rows
from roberta_math.evaluation.scoring import score_texts
from roberta_math.model.loading import load_model
rows = read_rows(sys.argv[1])
texts = [r.text for r in rows.rows]
loaded = load_model("embedded")
p = score_texts(texts, loaded, batch_size=64)
items = [{"text": t, "label": loaded.labels[int(q.argmax())], "scores": dict(zip(loaded.labels, map(float, q)))}
         for t, q in zip(texts, p)]
print(json.dumps(items, ensure_ascii=False, indent=2))
"""


def write_lines(path: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` numbered synthetic reviews, one per line (LF), written to ``path``; returns them."""
    rng = random.Random(seed)
    lines = [f"review {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))) for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def run_measured(argv: list[str], stdout_path: Path) -> tuple[float, float]:
    """Run ``argv`` with stdout to a file; return (wall seconds, peak resident MiB of that child)."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    with open(stdout_path, "w", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    err = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench_large_input: {' '.join(argv[:4])} ... failed:\n{err}")
    return seconds, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def check_output(stdout_path: Path, lines: list[str]) -> None:
    """One prediction per input line, in input order, with the text unaltered."""
    items = json.loads(stdout_path.read_text(encoding="utf-8"))
    if [item["text"] for item in items] != lines:
        raise SystemExit(f"bench_large_input: {stdout_path.name}: texts or their order differ from the input")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="lines in the large file (default: 100000)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the whole-file reference run")
    args = parser.parse_args(argv)
    small_n = max(args.n // 10, 1)
    with tempfile.TemporaryDirectory(prefix="bench-large-input-") as tmp:
        root = Path(tmp)
        results = {}
        for label, n in (("streamed", small_n), ("streamed", args.n)):
            path = root / f"lines-{n}.txt"
            lines = write_lines(path, n)
            out = root / f"out-{label}-{n}.json"
            command = [sys.executable, "-m", "roberta_math", "predict", "--input", str(path), "--json", "--no-progress"]
            seconds, peak = run_measured(command, out)
            check_output(out, lines)
            results[(label, n)] = (seconds, peak)
            print(f"{label:<10} {n:>8} lines  {n / seconds:>8.0f} lines/s  peak {peak:>7.0f} MiB  ({seconds:.1f} s)", flush=True)
            out.unlink()
        if not args.no_baseline:
            path = root / f"lines-{args.n}.txt"
            lines = path.read_text(encoding="utf-8").splitlines()
            out = root / "out-whole.json"
            seconds, peak = run_measured([sys.executable, "-c", WHOLE_FILE, str(path)], out)
            check_output(out, lines)
            results[("whole-file", args.n)] = (seconds, peak)
            print(f"{'whole-file':<10} {args.n:>8} lines  {args.n / seconds:>8.0f} lines/s  peak {peak:>7.0f} MiB  ({seconds:.1f} s)")
    small, large = results[("streamed", small_n)], results[("streamed", args.n)]
    print(f"streamed peak memory, {args.n} lines / {small_n} lines: {large[1] / small[1]:.2f}x "
          "(1 = bounded; 10 = grows with the file)")
    if ("whole-file", args.n) in results:
        whole = results[("whole-file", args.n)]
        print(f"whole-file / streamed at {args.n} lines: peak memory {whole[1] / large[1]:.2f}x, time {whole[0] / large[0]:.2f}x")
    print("order and texts: every output matched its input line by line")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: what the figures cost a site build, cold and warm, against a build without them.

Run:  python benchmarks/bench_build.py                 (about 2-3 minutes on 2 cores)
      python benchmarks/bench_build.py --model DIR     (figures from another model)
      python benchmarks/bench_build.py --check-identical   (plus a second cold figure run, compared byte by byte)

In one run, with the same mkdocs.yml and pages:

1. **cold**: ``mkdocs build`` with the figures hook and an empty figure folder (every
   figure is made: the model runs over the test split);
2. **warm**: the same build again (the hook's subprocess finds every figure up to date);
3. **plain**: ``mkdocs build`` with ``ROBERTA_MATH_FIGURES=0`` (no figure step at all;
   the files the warm build left are published as they are, so the pages are the same).

Warm and plain run ``--repeat`` times each, interleaved (the machine is shared, so load
from elsewhere falls on both alike); the table shows every time and the ratio of the
medians, warm / plain (target: at most 1.3). The cold build's own figure time comes from
the manifest. If mkdocs.yml does not list ``hooks/figures.py`` yet, a copy of it with the
hook added is written to a temporary folder and used with ``mkdocs build -f``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOK_LINE = "hooks/figures.py"
NAV_LINE = "Attention explorer: explorer.md"


def config_with_hook(work: Path) -> Path:
    """``mkdocs.yml`` if it lists the figures hook and the explorer page; otherwise a copy (absolute paths) that does."""
    source = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    has_hook = re.search(r"^\s*-\s*hooks/figures\.py\s*$", source, flags=re.M)
    has_page = re.search(r"^\s*-\s*.*:\s*explorer\.md\s*$", source, flags=re.M)
    if has_hook and has_page:
        return ROOT / "mkdocs.yml"
    text = source.replace("$config_dir/", f"{ROOT}/")
    text = re.sub(r"^docs_dir:\s*(\S+)\s*$", lambda m: f"docs_dir: {ROOT / m.group(1)}", text, flags=re.M)
    if not re.search(r"^docs_dir:", text, flags=re.M):
        text = f"docs_dir: {ROOT / 'docs'}\n" + text
    text = re.sub(r"^(\s*-\s*)(hooks/\S+\.py)\s*$", lambda m: f"{m.group(1)}{ROOT / m.group(2)}", text, flags=re.M)
    if not re.search(r"^hooks:", text, flags=re.M):
        text += "\nhooks:\n"
    if not has_hook:
        text = re.sub(r"^hooks:\s*\n", f"hooks:\n  - {ROOT / HOOK_LINE}\n", text, count=1, flags=re.M)
    if not has_page:
        text = re.sub(r"^(\s*)- (.*): attention-visualization\.md\s*\n",
                      lambda m: f"{m.group(0)}{m.group(1)}- {NAV_LINE}\n", text, count=1, flags=re.M)
    text = re.sub(r"^watch:\s*\n(?:\s+-.*\n)+", "", text, flags=re.M)  # relative watch paths; not needed to build
    path = work / "mkdocs.yml"
    path.write_text(text, encoding="utf-8")
    return path


def mkdocs_build(config: Path, site: Path, env: dict[str, str], *, strict: bool) -> float:
    """Seconds for one ``mkdocs build`` (run from the repository root); raises with its output if it fails."""
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(site), "--strict" if strict else "--no-strict"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return seconds


def figure_files(folder: Path) -> dict[str, bytes]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return {n: (folder / n).read_bytes() for entry in manifest["steps"].values() for n in entry["files"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("ROBERTA_MATH_MODEL", "embedded"),
                        help="model the figures come from (default: $ROBERTA_MATH_MODEL or embedded)")
    parser.add_argument("--repeat", type=int, default=3, help="warm and plain builds each (default 3)")
    parser.add_argument("--check-identical", action="store_true", help="also run a second cold figure build and compare the files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rm-bench-build-") as tmp:
        work = Path(tmp)
        config = config_with_hook(work)
        figures = work / "build" / "figures"  # the hook builds into $ROBERTA_MATH_FIGURES_DIR/figures
        env = {**os.environ, "ROBERTA_MATH_MODEL": args.model, "ROBERTA_MATH_FIGURES_DIR": str(figures.parent),
               "NO_MKDOCS_2_WARNING": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TOKENIZERS_PARALLELISM": "false"}
        print(f"config: {config}{' (temporary copy with the figures hook)' if config.parent == work else ''}")
        print(f"model:  {args.model}")

        cold = mkdocs_build(config, work / "site-cold", env, strict=True)
        manifest = json.loads((figures / "manifest.json").read_text())
        figure_seconds = manifest["run"]["seconds"]
        print(f"cold build   {cold:7.1f} s   (figures: {figure_seconds:.1f} s, "
              f"{manifest['run']['forward_sentences']} sentences through the model)")

        warm, plain = [], []
        for _ in range(args.repeat):
            warm.append(mkdocs_build(config, work / "site-warm", env, strict=True))
            run = json.loads((figures / "manifest.json").read_text())["run"]
            if run["steps_run"] or run["model_loads"] or run["forward_sentences"]:
                raise SystemExit(f"a warm build did model work: {run}")
            plain.append(mkdocs_build(config, work / "site-plain", {**env, "ROBERTA_MATH_FIGURES": "0"}, strict=True))
        print("warm builds  " + "  ".join(f"{t:6.1f}" for t in warm) + " s   (no step rebuilt, no model loaded)")
        print("plain builds " + "  ".join(f"{t:6.1f}" for t in plain) + " s   (ROBERTA_MATH_FIGURES=0)")
        ratio = statistics.median(warm) / statistics.median(plain)
        print(f"warm / plain = {statistics.median(warm):.2f} / {statistics.median(plain):.2f} = {ratio:.2f}"
              f"   (target <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'})")
        print(f"cold / warm  = {cold / statistics.median(warm):.1f}")

        if args.check_identical:
            again = work / "figures-again" / "figures"
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "roberta_math.figures", "--out", str(again), "--model", args.model,
                                   "--no-progress"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            a, b = figure_files(figures), figure_files(again)
            differing = sorted(n for n in a.keys() | b.keys() if a.get(n) != b.get(n))
            print(f"second cold figure run {time.perf_counter() - started:.1f} s: {len(a)} files, "
                  f"{'byte-identical' if not differing else 'DIFFERENT: ' + ', '.join(differing)}")
        shutil.rmtree(work / "site-cold", ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Build the documentation site into site/ — the one command on a fresh clone:
#
#     bash scripts/build_site.sh                    # extra arguments go to `mkdocs build`,
#     bash scripts/build_site.sh --site-dir /tmp/s  # e.g. another output folder
#
# 1. scripts/setup.sh --docs: .venv (created if missing), PyTorch's CPU build pinned
#    first, the package with its docs extra, KaTeX from package-lock.json (npm ci).
#    Each step is skipped when already done, so a re-run is quick.
# 2. `mkdocs build --strict`: any warning fails the build (a broken link or anchor, a
#    missing snippet file); hooks/katex.py renders the math to HTML and fails the build
#    on a formula KaTeX cannot typeset, naming the page and the formula.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --docs

# Material prints a banner about its end of life on every run; it is not a build
# warning, so silencing it hides nothing that --strict would catch.
export NO_MKDOCS_2_WARNING=1
exec .venv/bin/mkdocs build --strict "$@"

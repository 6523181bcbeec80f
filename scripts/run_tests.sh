#!/usr/bin/env bash
# Set up, build the site with --strict, then run every test: unit, property, doctests,
# doc snippets, notebook, browser, links and the offline build. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export NO_MKDOCS_2_WARNING=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
export ROBERTA_MATH_SITE_DIR="$PWD/site"
echo "== building the site (mkdocs build --strict)"
.venv/bin/mkdocs build --strict --site-dir "$ROBERTA_MATH_SITE_DIR"
echo "== running the test suite"
.venv/bin/python -m pytest "$@"

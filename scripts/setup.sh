#!/usr/bin/env bash
# Set up a fresh clone: a virtual environment in .venv with the CPU build of PyTorch,
# the package (editable) with the extras asked for, the npm packages the site build
# uses (KaTeX), and, with --test, Debian's chromium for the browser tests.
# Usage: bash scripts/setup.sh [--docs] [--test]      (idempotent; fast when done)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --docs) extras+=(docs) ;;
    --test) extras+=(docs test); want_browser=1 ;;
    *) echo "setup.sh: unknown option $arg (use --docs and/or --test)" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python

# PyTorch first and pinned: an unpinned torch would resolve to a multi-GB CUDA build.
torch_version=$("$PY" -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true)
if [ "${torch_version%%+*}" != "2.13.0" ]; then
  echo "== installing torch 2.13.0 (CPU build)"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -c constraints.txt "torch==2.13.0"
fi

spec="."
if [ ${#extras[@]} -gt 0 ]; then
  spec=".[$(printf '%s\n' "${extras[@]}" | sort -u | paste -sd, -)]"
fi
stamp=".venv/.roberta-math-installed-$(printf '%s' "$spec" | tr -c 'a-z' '_')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # constraints.txt: the exact versions of the CI run, so a new release cannot change the site.
  echo "== installing roberta-math $spec (versions from constraints.txt)"
  "$PY" -m pip install --quiet -c constraints.txt -e "$spec"
  touch "$stamp"
fi

if [ -f package-lock.json ] && { [ ${#extras[@]} -gt 0 ]; }; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    if ! command -v npm >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing Node.js and npm (Debian packages) for the KaTeX renderer"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
      else
        echo "setup.sh: the site build needs Node.js >= 18 and npm: install them (e.g. 'sudo apt-get install nodejs npm') and rerun" >&2
        exit 2
      fi
    fi
    echo "== installing npm packages (KaTeX)"
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup.sh: browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'" >&2
    exit 2
  fi
fi
echo "== setup done ($spec)"

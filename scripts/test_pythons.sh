#!/usr/bin/env bash
# Run the unit tests (no site build, no browser, nothing marked slow) on each Python the
# package supports, each in its own virtual environment, and print one summary line per
# interpreter. The default test command (scripts/run_tests.sh) keeps to .venv's Python.
#
# Usage: bash scripts/test_pythons.sh [VERSION ...]     (default: 3.10 3.11 3.12 3.13)
#   Interpreters come from pyenv (~/.pyenv/versions/X.Y.*/bin/python) or python3.X on PATH.
#   Environments live in $ROBERTA_MATH_PYTHONS (default ~/.cache/roberta-math-pythons/X.Y)
#   and are reused; extra pytest arguments go after "--".
#
# torch: the CPU build (torch==2.13.0+cpu) lies on this machine's disk for Python 3.11
# only. For 3.10, 3.12 and 3.13 pip takes torch 2.13.0 from PyPI, the CUDA build, which
# runs on the CPU and costs about 4.6 GB per environment (its nvidia-* libraries). Point
# PIP_EXTRA_INDEX_URL at https://download.pytorch.org/whl/cpu where that host is
# reachable to get CPU wheels instead.
#
# Versions: everything is installed with constraints.txt (the exact versions of the CI
# run, Python 3.11) where that Python can install them; where it cannot (on 3.10:
# NumPy >= 2.3, SciPy >= 1.16, transformers >= 5.21 and the docs tools need Python
# >= 3.11), pip resolves within pyproject.toml's ranges, without the docs extra (the unit
# tests need only its Markdown libraries). The versions used are printed and saved to
# $ROBERTA_MATH_PYTHONS/X.Y/freeze.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
versions=()
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; pytest_args=("$@"); break ;;
    *) versions+=("$1"); shift ;;
  esac
done
[ ${#versions[@]} -gt 0 ] || versions=(3.10 3.11 3.12 3.13)
envs="${ROBERTA_MATH_PYTHONS:-$HOME/.cache/roberta-math-pythons}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"
export NO_MKDOCS_2_WARNING=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false

find_python() {
  local v=$1 p
  for p in "$HOME"/.pyenv/versions/"$v".*/bin/python; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  command -v "python$v" || true
}

# The runtime dependencies of constraints.txt, local version labels (+cpu) dropped so
# that a torch built for another variant still satisfies "torch==2.13.0".
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
sed -e 's/+[A-Za-z0-9.]*$//' constraints.txt > "$constraints"

summaries=()
status=0
for v in "${versions[@]}"; do
  python=$(find_python "$v")
  if [ -z "$python" ]; then
    summaries+=("Python $v: not found (install it with pyenv)")
    status=1
    continue
  fi
  env="$envs/$v"
  echo "== Python $v ($python) in $env"
  [ -x "$env/bin/python" ] || "$python" -m venv "$env"
  if ! "$env/bin/python" -c "import torch" 2>/dev/null; then
    echo "== installing torch 2.13.0"
    "$env/bin/python" -m pip install --quiet "torch==2.13.0"
  fi
  stamp="$env/.roberta-math-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    echo "== installing roberta-math[docs,test] with constraints.txt"
    if "$env/bin/python" -m pip install --quiet -c "$constraints" -e ".[docs,test]"; then
      echo "constraints.txt" > "$stamp"
    else
      # The docs extra pins tools that need Python >= 3.11 (mkdocstrings-python 2.0.10+);
      # the unit tests only need its Markdown libraries.
      echo "== constraints.txt does not install on Python $v: resolving within pyproject.toml's ranges"
      "$env/bin/python" -m pip install --quiet -e ".[test]" markdown pymdown-extensions
      echo "pyproject.toml ranges" > "$stamp"
    fi
    "$env/bin/python" -m pip freeze --exclude-editable > "$env/freeze.txt"
  fi
  echo "== versions: $(grep -i -E '^(torch|numpy|scipy|scikit-learn|transformers|tokenizers|matplotlib)==' "$env/freeze.txt" | paste -sd' ')"
  log="$env/pytest.log"
  set +e
  (cd "$root" && "$env/bin/python" -m pytest tests src -m "not slow and not browser" --ignore=tests/site \
      -q "${pytest_args[@]}") 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  set -e
  [ "$code" = 0 ] || status=1
  summaries+=("Python $("$env/bin/python" -c 'import platform; print(platform.python_version())') \
($(cat "$stamp")): $(grep -E '^(=+ )?[0-9]+ (passed|failed)|(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//')")
done
echo
echo "== summary"
printf '%s\n' "${summaries[@]}"
exit "$status"

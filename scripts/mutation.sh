#!/usr/bin/env bash
# Mutation testing of the math core with mutmut (configuration: [tool.mutmut] in pyproject.toml).
# Not part of the default test command: 53 minutes for all 1697 mutants, one at a time, on 2 shared cores.
#
#   bash scripts/mutation.sh [MUTANT_NAME ...]
#
# Runs on a copy of the committed tree (MUTATION_REF, default HEAD) in MUTATION_WORKDIR (default:
# a new directory under /tmp), so the checkout never holds mutated code. Prints the score and
# writes results.txt (one line per mutant) and summary.json beside the run. Mutant names (as
# results.txt shows them, wildcards allowed) rerun just those mutants in an existing MUTATION_WORKDIR.
# The report of the last full run and the equivalent mutants: tests/mutation/REPORT.md.
#
# MUTATION_TIMEOUT="MULTIPLIER CONSTANT" overrides [tool.mutmut]'s timeout_multiplier and
# timeout_constant in the copy (a mutant gets (its tests' clean time + CONSTANT) x MULTIPLIER x 2
# CPU seconds); MUTATION_MEMORY_KB caps the address space of the run (ulimit -v), so that a mutant
# looping forever while it appends to a list fails with MemoryError instead of filling the
# machine's memory. The tokenization's run uses MUTATION_TIMEOUT="3 2" MUTATION_MEMORY_KB=4000000.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
MUTMUT_VERSION=3.8.1
if ! "$PY" -m pip show mutmut 2>/dev/null | grep -qx "Version: $MUTMUT_VERSION"; then
    "$PY" -m pip install "mutmut==$MUTMUT_VERSION"
fi
WORK=${MUTATION_WORKDIR:-$(mktemp -d /tmp/roberta-math-mutation.XXXXXX)}
if [ ! -f "$WORK/pyproject.toml" ]; then
    mkdir -p "$WORK"
    git archive "${MUTATION_REF:-HEAD}" | tar -x -C "$WORK"
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
    TOKENIZERS_PARALLELISM=false NO_MKDOCS_2_WARNING=1
cd "$WORK"
if [ -n "${MUTATION_TIMEOUT:-}" ]; then
    read -r multiplier constant <<< "$MUTATION_TIMEOUT"
    sed -i -E "s/^timeout_multiplier = .*/timeout_multiplier = $multiplier/; s/^timeout_constant = .*/timeout_constant = $constant/" pyproject.toml
fi
if [ -n "${MUTATION_MEMORY_KB:-}" ]; then
    ulimit -v "$MUTATION_MEMORY_KB"
fi
echo "== mutmut $MUTMUT_VERSION in $WORK (log: $WORK/run.log)"
"$PY" -m mutmut run --max-children "${MUTATION_JOBS:-1}" "$@" > run.log 2>&1 || true
"$PY" -m mutmut results --all true > results.txt
"$PY" - <<'PY'
import collections, json, re

rows = [line.strip() for line in open("results.txt") if ": " in line]
by_module = collections.defaultdict(collections.Counter)
for row in rows:
    name, status = row.rsplit(": ", 1)
    module = re.sub(r"\.x[^.]*__mutmut_\d+$|\.x[^.]*$", "", name.split("__mutmut_")[0])
    by_module[module.rsplit(".", 1)[0] if "ǁ" in module else module][status] += 1
total = collections.Counter()
for counts in by_module.values():
    total.update(counts)
summary = {"total": dict(total), "by_module": {m: dict(c) for m, c in sorted(by_module.items())}}
json.dump(summary, open("summary.json", "w"), indent=2)
for module, counts in sorted(by_module.items()):
    print(f"{module:45s} " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))
print("total", dict(total))
PY
echo "== results: $WORK/results.txt, $WORK/summary.json"

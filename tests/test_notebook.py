"""The notebook runs top to bottom with the embedded model, and says what it claims to show."""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"
SEED_FUNCTIONS = ("def self_attention(query, key, value, mask=None)", "def cross_entropy_loss(logits, labels)")


def _parameters(function_def: ast.FunctionDef) -> tuple[list[str], list[object]]:
    return [a.arg for a in function_def.args.args], [ast.literal_eval(d) for d in function_def.args.defaults]


def assert_seed_functions_shown(printed: str) -> None:
    """Each seed function's source, as the package has it, is in the printed text, and its
    parameter names and defaults are the seed's (type annotations may differ)."""
    import roberta_math.math as package

    for signature in SEED_FUNCTIONS:
        seed_def = ast.parse(signature + ": pass").body[0]
        source = inspect.getsource(getattr(package, seed_def.name))
        assert source in printed, f"the notebook does not print {seed_def.name}'s source from the package"
        assert _parameters(ast.parse(textwrap.dedent(source)).body[0]) == _parameters(seed_def), \
            f"{seed_def.name} no longer has the seed's signature {signature}"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    workdir = tmp_path_factory.mktemp("notebook")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def test_committed_notebook_has_no_outputs() -> None:
    """Outputs come from the build, never from a stale run saved in git."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_notebook_keeps_the_seed_sections_and_pipeline() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("#")]
    for section in ("Setup", "1. Tokenization and embeddings", "2. Transformer architecture", "3. Fine-tuning for sentiment",
                    "4. Loss function and optimization", "5. Attention visualization", "Comparative performance",
                    "Further exploration"):
        assert any(section in h for h in headings), section
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert 'pipeline(\n    "sentiment-analysis"' in source
    assert "get_attention_weights(" in source and "TODO" not in source


@pytest.mark.slow
def test_notebook_runs_and_matches_its_claims(executed: nbformat.NotebookNode) -> None:
    code = [c for c in executed.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    everything = "\n".join(_text(c) for c in code)
    # the seed's functions are shown from the package, with the seed's signatures
    assert_seed_functions_shown(everything)
    # from-scratch logits equal the model's
    diff = float(re.search(r"max \|difference\| of logits: ([0-9.e-]+)", everything).group(1))
    assert diff <= 1e-4
    # the seed's cross-entropy example, recomputed here by hand
    rows = [(2.0, [2.0, 1.0, 0.1]), (2.0, [0.1, 2.0, 1.0]), (2.0, [0.1, 0.1, 2.0])]
    by_hand = sum(-math.log(math.exp(t) / sum(math.exp(v) for v in z)) for t, z in rows) / 3
    assert f"Cross-entropy loss: {by_hand:.4f}" in everything
    # the pipeline classified all three sample texts; the comparison ran on the test split
    assert everything.count("Sentiment: ") == 3
    assert re.search(r"model accuracy: 0\.\d{3}", everything)
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the toy attention map and the model's heads

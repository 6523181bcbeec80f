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


def _without_docstring(function_def: ast.FunctionDef) -> ast.FunctionDef:
    body = function_def.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        function_def.body = body[1:]
    return function_def


def assert_seed_functions_shown(outputs: list[str]) -> None:
    """Each seed function's code, as the package has it, is printed by a cell of its own: the
    printed definition parses to the same syntax tree as the package's minus its docstring,
    none of the docstring's lines is printed, and its parameter names and defaults are the
    seed's (type annotations may differ)."""
    import roberta_math.math as package

    for signature in SEED_FUNCTIONS:
        seed_def = ast.parse(signature + ": pass").body[0]
        function = getattr(package, seed_def.name)
        source = textwrap.dedent(inspect.getsource(function))
        shown = [text for text in outputs if text.startswith(f"def {seed_def.name}(")]
        assert len(shown) == 1, f"no cell prints {seed_def.name}'s code from the package (or more than one)"
        printed_def = ast.parse(shown[0]).body[0]
        package_def = _without_docstring(ast.parse(source).body[0])
        assert ast.dump(printed_def) == ast.dump(package_def), f"the notebook prints other code than the package's {seed_def.name}"
        docstring = inspect.getdoc(function) or ""
        assert docstring, f"{seed_def.name} lost its docstring: nothing left to keep out"
        printed_doc_lines = [line for line in docstring.splitlines() if len(line.strip()) > 8 and line.strip() in shown[0]]
        assert not printed_doc_lines, f"{seed_def.name}'s docstring is printed: {printed_doc_lines[:3]}"
        assert _parameters(package_def) == _parameters(seed_def), \
            f"{seed_def.name} no longer has the seed's signature {signature}"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _html(cells) -> list[str]:
    return [o["data"]["text/html"] for c in cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]


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
    assert_seed_functions_shown([_text(c) for c in code])
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
    # the toy attention map and the model's heads, each a PNG with a description
    figures = [html for html in _html(code) if "<img" in html]
    assert len(figures) >= 2
    for html in figures:
        alt = re.search(r'<img src="data:image/png;base64,[^"]+" alt="([^"]*)"', html)
        assert alt and len(alt.group(1)) >= 80, "a figure without a real description (alt text)"
    assert not [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})], \
        "a bare figure output (Jupyter gives it no alt text): use show_figure"


@pytest.mark.slow
def test_notebook_outputs_leak_no_paths_or_warnings(executed: nbformat.NotebookNode) -> None:
    """No stderr (warnings print a kernel file's path there), and no path of this machine."""
    code = [c for c in executed.cells if c.cell_type == "code"]
    stderr = [o.get("text", "") for c in code for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not stderr, stderr
    import roberta_math

    text = "\n".join(_text(c) for c in code) + "\n".join(re.sub(r"base64,[^\"]+", "", h) for h in _html(code))
    places = {str(Path(roberta_math.__file__).resolve().parents[2]), str(Path.home()), "/tmp/", "site-packages", "ipykernel"}
    leaked = [place for place in places if place in text]
    assert not leaked, f"the outputs show local paths: {leaked}"

"""MkDocs hook: build the figures before every build and publish them under ``figures/``.

Thin on purpose: the work is ``python -m roberta_math.figures``, run in a subprocess so
that ``mkdocs serve`` always runs the current code in ``src/`` (an in-process import would
keep the version loaded at start-up). The figure cache makes a rebuild with nothing
changed cost about a second and no model work. A failure stops the build with the
subprocess's own error output. The files are added to the site as generated files
(nothing is written into ``docs/``); the Markdown table snippets are not pages, they are
reachable from pages with ``--8<-- "figures/token_table.md"`` (this hook adds the cache
folder to pymdownx.snippets' base paths).

Environment:

- ``ROBERTA_MATH_FIGURES=0``: build nothing. Files an earlier build left in the output
  folder are still published (so pages keep their images while you edit prose, and the
  plain-build benchmark renders the same pages); with no earlier build, nothing is.
- ``ROBERTA_MATH_MODEL``: the model the figures come from (default ``embedded``; a
  directory or a hub id also work).
- ``ROBERTA_MATH_FIGURES_DIR``: the folder in which the figures are built into a
  ``figures/`` subfolder (default ``<cache>/figures/<model>``, so the files land in
  ``<cache>/figures/<model>/figures``). The subfolder keeps the name ``figures`` so that
  a snippet path and an image path read the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

SITE_FOLDER = "figures"
PUBLISHED_SUFFIXES = (".svg", ".png", ".json", ".js", ".css", ".bin")  # .bin: the Try it page's weights
ERROR_LINES = 40


def enabled() -> bool:
    """False when ``ROBERTA_MATH_FIGURES`` is 0/false/no/off."""
    return os.environ.get("ROBERTA_MATH_FIGURES", "1").strip().lower() not in {"0", "false", "no", "off"}


def model_name() -> str:
    """The model the figures come from: ``$ROBERTA_MATH_MODEL`` or ``embedded``."""
    return os.environ.get("ROBERTA_MATH_MODEL", "").strip() or "embedded"


def out_dir() -> Path:
    """``$ROBERTA_MATH_FIGURES_DIR/figures``, or the package's default folder for the model."""
    if os.environ.get("ROBERTA_MATH_FIGURES_DIR"):
        return Path(os.environ["ROBERTA_MATH_FIGURES_DIR"]).resolve() / SITE_FOLDER
    from roberta_math.figures.cache import default_out_dir  # path logic only, no model code

    return default_out_dir(model_name())


def _manifest(target: Path) -> dict[str, Any] | None:
    import json

    try:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def on_config(config: Any) -> Any:
    if not enabled() and _manifest(out_dir()) is None:
        return config
    snippets = config.get("mdx_configs", {}).get("pymdownx.snippets")
    if snippets is not None:
        # The snippet base path is the folder *holding* figures/, so a page writes the
        # same "figures/<name>" for a table snippet as for an image.
        base = snippets.get("base_path", ["."])
        base = [base] if isinstance(base, str) else list(base)
        snippets["base_path"] = [*base, str(out_dir().parent)]
    return config


def on_pre_build(config: Any) -> None:
    if not enabled():
        return
    target = out_dir()
    command = [sys.executable, "-m", "roberta_math.figures", "--out", str(target), "--model", model_name()]
    tail: deque[str] = deque(maxlen=ERROR_LINES)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   encoding="utf-8", errors="replace", bufsize=1)
    except OSError as error:
        raise PluginError(f"figures: cannot start {' '.join(command)}: {error}") from None
    assert process.stdout is not None
    for line in process.stdout:  # echo progress as it comes, keep the end for an error report
        sys.stderr.write(line)
        tail.append(line.rstrip("\n").rsplit("\r", 1)[-1])
    status = process.wait()
    if status != 0:
        report = "\n".join(line for line in tail if line.strip())
        raise PluginError(f"figures: `{' '.join(command)}` failed with exit status {status}:\n{report}")


def on_files(files: Files, config: Any) -> Files:
    target = out_dir()
    manifest = _manifest(target)
    if manifest is None:
        if not enabled():
            return files
        raise PluginError(f"figures: no readable manifest in {target}; run python -m roberta_math.figures --out {target}")
    names = sorted({name for entry in manifest.get("steps", {}).values() for name in entry.get("files", {})})
    for name in names:
        if not name.endswith(PUBLISHED_SUFFIXES):
            continue  # Markdown snippets are included into pages, not published as pages
        uri = f"{SITE_FOLDER}/{name}"
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"figures: docs/{uri} exists, but {SITE_FOLDER}/ belongs to the figures hook; remove it from docs/")
        files.append(File.generated(config, uri, abs_src_path=str(target / name)))
    return files

"""MkDocs hook: key mkdocs-jupyter's execution cache on everything the notebook runs.

mkdocs-jupyter caches an executed notebook under a key made of the notebook and the
plugin's settings only, so after an edit in ``src/`` (or a retrained model) it would
serve the old outputs. This hook points its ``cache_dir`` at a folder named by a hash
of the notebook, every source file of the package and the selected model's files: any
change there is a cache miss, and the notebook is executed again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def notebook_inputs_key(model: str) -> str:
    """SHA-256 over the notebooks in docs/, the package's sources and the model's files."""
    from roberta_math.cache import cache_root  # noqa: F401  (path logic only)
    from roberta_math.figures.cache import directory_fingerprint, model_directory

    digest = hashlib.sha256(model.encode())
    tracked = sorted((ROOT / "docs").glob("*.ipynb")) + sorted((ROOT / "src" / "roberta_math").rglob("*.py"))
    for path in tracked:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    directory = model_directory(model)
    digest.update((directory_fingerprint(directory) if directory else "unknown-model").encode())
    return digest.hexdigest()[:20]


def kernel_over_ipc() -> Path:
    """Make the notebook's kernel talk to the build over IPC sockets instead of TCP ports.

    ipykernel warns that TCP traffic is unencrypted; local IPC sockets give it nothing to
    warn about. The sockets go to a fresh private directory of this build (a relative
    default would put them in the working directory, where two builds would collide);
    nbconvert reads the setting from the directory added to ``JUPYTER_CONFIG_PATH``.
    """
    import atexit
    import json
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="roberta-math-kernel-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    settings = {"KernelManager": {"transport": "ipc", "ip": str(directory / "kernel")}}
    (directory / "jupyter_nbconvert_config.json").write_text(json.dumps(settings), encoding="utf-8")
    paths = [p for p in os.environ.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(directory), *paths])
    return directory


def on_config(config: Any) -> Any:
    plugin = config["plugins"].get("mkdocs-jupyter")
    if plugin is None:
        return config
    kernel_over_ipc()
    from roberta_math.cache import cache_root

    model = os.environ.get("ROBERTA_MATH_MODEL", "").strip() or "embedded"
    plugin.config["cache_dir"] = str(cache_root() / "notebook" / notebook_inputs_key(model))
    return config

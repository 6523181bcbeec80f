"""Where the project keeps what it downloads or computes (never inside the repository).

The root is ``$ROBERTA_MATH_CACHE`` when set, else ``$XDG_CACHE_HOME/roberta-math``,
else ``~/.cache/roberta-math``. Writes go through :func:`atomic_write_bytes` so that an
interrupted run never leaves a half-written file under its final name.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    """The per-user cache directory (created on first use).

    >>> import os, tempfile
    >>> os.environ["ROBERTA_MATH_CACHE"] = d = tempfile.mkdtemp()
    >>> str(cache_root()) == d
    True
    >>> del os.environ["ROBERTA_MATH_CACHE"]
    """
    env = os.environ.get("ROBERTA_MATH_CACHE")
    if env:
        root = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "roberta-math"
    root.mkdir(parents=True, exist_ok=True)
    return root


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a" / "b.txt"
    >>> atomic_write_bytes(p, b"hi")
    >>> p.read_bytes()
    b'hi'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8, ``\\n`` line ends)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and infinities become ``None``, numpy scalars Python numbers, tuples lists.

    Applied recursively through mappings and sequences, so ``json.dumps(..., allow_nan=False)`` cannot fail on them.

    >>> import numpy as np
    >>> json_ready({"r": float("nan"), "n": np.int64(3), "v": (1.5, float("inf"), np.float32(0.5))})
    {'r': None, 'n': 3, 'v': [1.5, None, 0.5]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # a numpy scalar
        return json_ready(value.item())
    return value

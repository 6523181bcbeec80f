r"""The figure cache: content-hash keys, a manifest with per-file SHA-256, atomic writes.

Each figure step (a family of figures) has a key

$$\kappa_\text{step} = \operatorname{SHA256}\big(\text{step},\ \text{parameters},\
h_\text{model},\ h_\text{corpus},\ \text{library versions}\big),$$

where $h_\text{model}$ hashes every file of the model directory and $h_\text{corpus}$ the
four ground-truth files (each only for steps that read them). The package's source is
keyed file by file: when a step has run, its manifest entry records the SHA-256 of every
package module loaded at that point (plus the package's ``*.js`` and ``*.css``), so an
edit to any code the step ran, or could have run, invalidates it, while an edit to a
module it never imported (say, the training recipe for the math figures) does not.

``manifest.json`` in the output directory records, per step, its key, those source
hashes and the SHA-256 of each file it wrote. A step is reused only if all three still
match, so a truncated, edited or missing output file makes the step run again. Files
are written atomically (temporary file + rename) and the manifest entry of a step is
written only after all of its files, so an interrupted build never looks complete.

Nothing here imports ``torch`` or ``matplotlib``: a warm rebuild only hashes files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from roberta_math.cache import atomic_write_text, cache_root

FORMAT_VERSION = 1
"""Bumped when the manifest layout changes (old manifests are then ignored)."""

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
SOURCE_SUFFIXES = (".py", ".js", ".css")
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_MODEL_DIR = PACKAGE_ROOT / "model" / "embedded"


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``.

    >>> sha256_bytes(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"")
    >>> sha256_file(p) == sha256_bytes(b"")
    True
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_tree(files: list[tuple[str, str]]) -> str:
    # One line per file, "relative/path<TAB>sha256", in sorted order: renames count too.
    text = "".join(f"{name}\t{digest}\n" for name, digest in sorted(files))
    return sha256_bytes(text.encode())


def loaded_sources(root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """SHA-256 of each package module loaded in this process, and of every ``*.js``/``*.css`` file of the package.

    Keys are paths relative to the package root. A step's output can only depend on
    package code that was imported when it ran (or on the static assets it copies).

    >>> sources = loaded_sources()
    >>> "figures/cache.py" in sources and "figures/explorer/explorer.js" in sources
    True
    """
    files: dict[str, str] = {}
    for module in list(sys.modules.values()):
        location = getattr(module, "__file__", None)
        if not location:
            continue
        path = Path(location).resolve()
        if root in path.parents and path.suffix == ".py" and path.is_file():
            files[path.relative_to(root).as_posix()] = sha256_file(path)
    for path in root.rglob("*"):
        if path.suffix in (".js", ".css") and path.is_file() and EMBEDDED_MODEL_DIR not in path.parents:
            files[path.relative_to(root).as_posix()] = sha256_file(path)
    return dict(sorted(files.items()))


def sources_unchanged(recorded: Any, root: Path = PACKAGE_ROOT, memo: dict[str, str | None] | None = None) -> bool:
    """True if every source file recorded in a manifest entry still has its hash (``memo`` caches hashes per run).

    >>> sources_unchanged({"figures/cache.py": sha256_file(PACKAGE_ROOT / "figures" / "cache.py")})
    True
    >>> sources_unchanged({"figures/cache.py": "0" * 64}), sources_unchanged({"gone.py": "0" * 64}), sources_unchanged(None)
    (False, False, False)
    """
    if not isinstance(recorded, dict) or not recorded:
        return False
    memo = {} if memo is None else memo
    for name, digest in recorded.items():
        if name not in memo:
            path = root / name
            memo[name] = sha256_file(path) if path.is_file() else None
        if memo[name] != digest:
            return False
    return True


def directory_fingerprint(directory: Path) -> str:
    """SHA-256 over every file below ``directory`` (relative paths and contents).

    In a Hugging Face cache snapshot the files are links to blobs named by their own
    content hash; that name is used instead of reading (possibly 500 MB of) weights.
    """
    files = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        target = Path(os.readlink(path)) if path.is_symlink() else None
        if target is not None and target.parent.name == "blobs":
            digest = f"blob:{target.name}"
        else:
            digest = sha256_file(path)
        files.append((path.relative_to(directory).as_posix(), digest))
    return _hash_tree(files)


def model_directory(name: str) -> Path | None:
    """Where the files of model ``name`` are, without loading it (``None`` if unknown here).

    ``"embedded"`` is the package's own model; an existing directory is itself; a hub id
    is looked up in the local Hugging Face cache only (no network).

    >>> model_directory("embedded") == EMBEDDED_MODEL_DIR
    True
    """
    if name == "embedded":
        return EMBEDDED_MODEL_DIR
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    # The hub cache as load_model reads it (HF_HUB_CACHE, else HF_HOME/hub, else the default).
    cache_dir = os.environ.get("HF_HUB_CACHE") or (str(Path(os.environ["HF_HOME"]) / "hub") if os.environ.get("HF_HOME") else None)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, local_files_only=True, cache_dir=cache_dir))
    except Exception:  # not cached, not a valid id, or huggingface_hub missing
        return None


def model_fingerprint(name: str) -> str | None:
    """SHA-256 of every file of model ``name``, or ``None`` if its files cannot be found locally."""
    directory = model_directory(name)
    if directory is None or not directory.is_dir():
        return None
    return directory_fingerprint(directory)


def model_slug(name: str) -> str:
    """A directory name for a model: ``embedded``, ``owner--repo``, or ``dir-<hash>`` for a path.

    >>> model_slug("embedded"), model_slug("cardiffnlp/twitter-roberta-base-sentiment")
    ('embedded', 'cardiffnlp--twitter-roberta-base-sentiment')
    >>> model_slug("/tmp").startswith("dir-")
    True
    """
    if name == "embedded":
        return name
    path = Path(name).expanduser()
    if path.is_dir():
        return "dir-" + sha256_bytes(str(path.resolve()).encode())[:12]
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-") or "model"


def default_out_dir(model: str = "embedded") -> Path:
    """The default output directory of the figures of ``model``: ``<cache>/figures/<slug>/figures``.

    The last component is ``figures`` so that the parent can serve as a snippet base
    path in which ``figures/<file>`` names the same file as on the site.
    """
    return cache_root() / "figures" / model_slug(model) / "figures"


def step_key(inputs: Mapping[str, Any]) -> str:
    """SHA-256 of a step's inputs, as canonical JSON (sorted keys, no whitespace).

    >>> step_key({"a": 1, "b": [2]}) == step_key({"b": [2], "a": 1})
    True
    """
    return sha256_bytes(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode())


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of ``out_dir``; an empty one if it is missing, unreadable or of another format.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / MANIFEST_NAME).write_text("{ half-writ")
    >>> read_manifest(d)["steps"]
    {}
    """
    empty: dict[str, Any] = {"format": FORMAT_VERSION, "steps": {}}
    try:
        manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        return empty
    if not isinstance(manifest.get("steps"), dict):
        return empty
    return manifest


def entry_is_valid(out_dir: Path, entry: Any, key: str, memo: dict[str, str | None] | None = None) -> bool:
    """True if a manifest entry has key ``key``, unchanged sources, and every file it lists still has its hash."""
    if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("files"), dict):
        return False
    if not sources_unchanged(entry.get("sources"), memo=memo):
        return False
    for name, digest in entry["files"].items():
        path = out_dir / name
        if not path.is_file() or sha256_file(path) != digest:
            return False
    return True


def write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``manifest.json`` atomically (sorted keys, so equal manifests are equal bytes)."""
    atomic_write_text(out_dir / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


@contextlib.contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` (two builds never write the same files at once)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_NAME, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

"""The comparison's cache: what its key hashes, where a result is stored, and reading it back.

A result of :func:`~roberta_math.evaluation.compare.compare` is stored as JSON under
``cache_root()/"compare"/<key>.json``. The key (:func:`cache_key`) hashes everything
that decides the numbers: the package version, the source of the evaluation package and
of the corpus, labels and model-loading modules (:func:`evaluation_source_digest`), the
model's weights and tokenizer (:func:`model_checksum`), the corpus files
(:func:`corpus_digest`) and the parameters. A file that is absent, truncated or written
under another key is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roberta_math.cache import cache_root, sha256_file
from roberta_math.data.corpus import corpus_dir

# Files whose source decides the numbers (besides the whole evaluation package).
_KEYED_MODULES: tuple[str, ...] = (
    "roberta_math.data.corpus",
    "roberta_math.data.readers",
    "roberta_math.labels",
    "roberta_math.model.loading",
)


def evaluation_source_digest() -> str:
    """SHA-256 over the source of every module whose code decides the comparison's numbers.

    That is every ``.py`` file of ``roberta_math.evaluation`` plus the corpus, labels and
    model-loading modules (a module that does not exist yet is skipped).

    >>> len(evaluation_source_digest())
    64
    """
    digest = hashlib.sha256()
    package_dir = Path(__file__).resolve().parent
    files = sorted(package_dir.glob("*.py"))
    for name in _KEYED_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def model_checksum(loaded: Any) -> str:
    """SHA-256 identifying a loaded model: weights, tokenizer, class-column order, preprocessing, temperature.

    The weights part is ``provenance.sha256`` (the SHA-256 of the weight files, see
    :class:`roberta_math.model.loading.Provenance`); without one, the tensors in memory
    (names, dtypes, shapes, bytes) are hashed instead.
    """
    digest = hashlib.sha256()
    weights = getattr(getattr(loaded, "provenance", None), "sha256", None)
    if weights:
        digest.update(b"weights\0" + str(weights).encode() + b"\0")
    else:
        import torch

        state = loaded.model.state_dict()
        for name in sorted(state):
            tensor = state[name].detach().to("cpu").contiguous()
            digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
            if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: hash the raw bits
                tensor = tensor.view(torch.int16)
            digest.update(tensor.numpy().tobytes())
    backend = getattr(loaded.tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:  # pragma: no cover - slow tokenizers have no serialised form
        digest.update(json.dumps(sorted(loaded.tokenizer.get_vocab().items())).encode())
    digest.update(repr(tuple(getattr(loaded, "label_columns", ()))).encode())
    # The preprocessing changes the texts the model sees, so it changes every score.
    digest.update(b"preprocess\0" + str(getattr(loaded, "preprocess", "none")).encode())
    # So does the softmax temperature (calibration.json can change without the weights).
    temperature = float(getattr(loaded, "temperature", 1.0))
    if temperature != 1.0:  # keys of models without one stay as they were
        digest.update(b"temperature\0" + repr(temperature).encode())
    return digest.hexdigest()


def corpus_digest(source: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over the ground-truth and individual-rating files in use."""
    directory = corpus_dir(source)
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*_GroundTruth.txt")) + sorted(directory.glob("*_anonDataRatings.txt")):
        digest.update(path.name.encode() + b"\0" + sha256_file(path).encode() + b"\0")
    return digest.hexdigest()


def cache_key(parts: Mapping[str, Any]) -> str:
    """SHA-256 (first 32 hex digits) of the canonical JSON of ``parts``.

    >>> cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1})
    True
    """
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cache_path(key: str) -> Path:
    """Where the result with cache key ``key`` is stored."""
    return cache_root() / "compare" / f"{key}.json"


def read_cached(path: Path, key: str) -> dict[str, Any] | None:
    """The result stored at ``path`` if it is whole and was written under ``key``, else ``None``."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, truncated or not JSON: recompute
    if not isinstance(result, dict) or not isinstance(result.get("meta"), dict):
        return None
    if result["meta"].get("cache_key") != key or not {"full", "test"} <= result.keys():
        return None
    return result


__all__ = ["cache_key", "cache_path", "corpus_digest", "evaluation_source_digest", "model_checksum",
           "read_cached"]

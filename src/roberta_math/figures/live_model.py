r"""The "Try it" page's model: the selected model's weights for the browser, and the page's scripts.

The page runs the whole forward pass in the reader's browser (``roberta_math/web/``,
plain JavaScript mirroring :mod:`roberta_math.math`), so the build ships:

* ``live-model.bin``: every tensor the forward pass reads, float32 little-endian, one
  after the other;
* ``live-model.json``: the manifest (tensor names as in the state dict, shapes, byte
  offsets; the model's name and SHA-256, label names and logit columns, the hyper-
  parameters, the pad id, the truncation length ``roberta-math predict`` uses, the preset
  sentences);
* ``live-tokenizer.json``: the model's byte-level BPE vocabulary and merges (its
  ``vocab.json`` / ``merges.txt``) and its special tokens;
* the name of the model's text preprocessing (``none``, or ``twitter-user-http``, which
  the page applies as :mod:`roberta_math.model.preprocessing` does);
* the scripts and stylesheet of ``roberta_math/web/``, prefixed ``live-``.

A model whose float32 weights exceed :data:`MAX_PAGE_BYTES` (roberta-base: about 500 MB)
is too large for a page: the page then runs the embedded model, and the manifest says
so (``substituted``) next to both models' names and SHA-256, so the page never shows one
model under another's name.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from roberta_math.figures.render import json_bytes

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext
    from roberta_math.model.loading import LoadedModel

FORMAT_VERSION = 1
MAX_PAGE_BYTES = 50_000_000
"""Largest float32 weight file the page downloads (50 MB); a larger model is replaced by the embedded one."""

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
WEB_ASSETS: tuple[str, ...] = ("math.js", "tokenizer.js", "worker.js", "try-it.js", "try-it.css")
"""Files of ``roberta_math/web/`` the page loads, published as ``live-<name>``."""

def truncation_notice_template() -> str:
    """The line ``roberta-math predict`` prints for cut texts, with ``{n_cut}``, ``{n_texts}``, ``{limit}`` to fill in.

    Made from :class:`~roberta_math.model.truncation.TruncationWarning` itself, so the page
    cannot drift from the command line (a test compares it with predict's stderr).

    >>> truncation_notice_template().format(n_cut=1, n_texts=1, limit=128)
    'roberta-math: warning: 1 of 1 texts were longer than 128 tokens and were truncated to their first 128 tokens'
    """
    from roberta_math.cli import PROG
    from roberta_math.model.truncation import TruncationWarning

    return f"{PROG}: warning: " + str(TruncationWarning.of("{n_cut}", "{n_texts}", "{limit}"))  # type: ignore[arg-type]


# Prefixes of the state-dict entries the forward pass reads (embeddings, encoder, head).
_NEEDED = ("roberta.embeddings.", "roberta.encoder.", "classifier.")


def exported_tensors(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The floating-point state-dict entries the forward pass reads, in state-dict order.

    Integer buffers (``position_ids``, ``token_type_ids``) and anything outside the
    embeddings, the encoder and the classification head are left out.

    >>> from transformers import RobertaConfig, RobertaForSequenceClassification
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                        intermediate_size=16, max_position_embeddings=12, num_labels=3)
    >>> names = [n for n, _ in exported_tensors(RobertaForSequenceClassification(config))]
    >>> len(names), names[0], names[-1]
    (25, 'roberta.embeddings.word_embeddings.weight', 'classifier.out_proj.bias')
    """
    return [
        (name, tensor.detach())
        for name, tensor in model.state_dict().items()
        if name.startswith(_NEEDED) and tensor.is_floating_point()
    ]


def pack_weights(tensors: list[tuple[str, torch.Tensor]]) -> tuple[bytes, list[dict[str, Any]]]:
    """Concatenate the tensors as float32 little-endian; returns the bytes and one entry per tensor.

    Each entry is ``{"name", "shape", "offset", "length"}`` (offset in bytes, length in floats).

    >>> data, entries = pack_weights([("a", torch.tensor([1.0, 2.0])), ("b", torch.ones(2, 3))])
    >>> len(data), entries[1]
    (32, {'name': 'b', 'shape': [2, 3], 'offset': 8, 'length': 6})
    >>> data[:4] == bytes.fromhex("0000803f")  # 1.0 in float32, little-endian
    True
    """
    import numpy as np

    chunks, entries, offset = [], [], 0
    for name, tensor in tensors:
        array = np.ascontiguousarray(tensor.to(torch.float32).cpu().numpy(), dtype="<f4")
        chunks.append(array.tobytes())
        entries.append({"name": name, "shape": list(array.shape), "offset": offset, "length": int(array.size)})
        offset += array.nbytes
    return b"".join(chunks), entries


def tokenizer_spec(tokenizer: Any) -> dict[str, Any]:
    """The byte-level BPE the page reproduces: vocabulary, merges in rank order, special tokens.

    Read from the tokenizer's own ``tokenizer.json`` (the content of its ``vocab.json`` and
    ``merges.txt``). Raises ``ValueError`` for a tokenizer that is not byte-level BPE.
    """
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model, pre = spec["model"], spec.get("pre_tokenizer") or {}
    if model.get("type") != "BPE" or pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise ValueError(f"the page reproduces byte-level BPE only, not {model.get('type')} with {pre.get('type')}")
    if spec.get("normalizer"):
        raise ValueError(f"the page does not reproduce the normalizer {spec['normalizer'].get('type')}")
    merges = [m.split(" ", 1) if isinstance(m, str) else list(m) for m in model["merges"]]
    letters, numbers = regex_class_ranges()
    return {
        "letter_ranges": letters,
        "number_ranges": numbers,
        "vocab": model["vocab"],
        "merges": merges,
        "added_tokens": [
            {k: t[k] for k in ("id", "content", "lstrip", "rstrip", "single_word", "special")}
            for t in spec.get("added_tokens", [])
        ],
        "add_prefix_space": bool(pre.get("add_prefix_space", False)),
        "bos_token": tokenizer.bos_token or tokenizer.cls_token,
        "eos_token": tokenizer.eos_token or tokenizer.sep_token,
    }


# Planes with assigned letters or digits (1-3: supplementary, ideographs; 14: tags). 4-13
# are unassigned and 15-16 private use, which is neither \p{L} nor \p{N}.
_PROBED_PLANES = ((0x0, 0x40000), (0xE0000, 0xF0000))


def regex_class_ranges() -> tuple[list[list[int]], list[list[int]]]:
    r"""The code points the Rust tokenizer's pre-tokenizer regex counts as ``\p{L}`` and as ``\p{N}``, as ranges.

    Each browser's regular expressions follow its own Unicode version, which can be newer
    than the tables compiled into ``tokenizers``: a letter added in Unicode 16 is a letter
    to Chromium and punctuation to the Rust library. So the page does not use ``\p{L}``;
    it gets the library's own classes, probed through the library: ``"a" + c`` is one
    pre-token exactly when ``c`` is a letter, ``"1" + c`` when ``c`` is a number.
    Returns inclusive ``[first, last]`` ranges (about 2-3 s of probing).

    >>> letters, numbers = regex_class_ranges()
    >>> [ord("A"), ord("Z")] in letters, [ord("0"), ord("9")] in numbers
    (True, True)
    """
    letters, numbers = _probed_class_ranges()  # probed once per process
    return [list(r) for r in letters], [list(r) for r in numbers]


@functools.lru_cache(maxsize=1)
def _probed_class_ranges() -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    from tokenizers.pre_tokenizers import ByteLevel

    pre = ByteLevel(add_prefix_space=False, use_regex=True).pre_tokenize_str
    letters: list[list[int]] = []
    numbers: list[list[int]] = []
    for lo, hi in _PROBED_PLANES:
        for cp in range(lo, hi):
            if 0xD800 <= cp < 0xE000:
                continue
            c = chr(cp)
            if len(pre("a" + c)) == 1:
                target = letters
            elif len(pre("1" + c)) == 1:
                target = numbers
            else:
                continue
            if target and target[-1][1] == cp - 1:
                target[-1][1] = cp
            else:
                target.append([cp, cp])
    return tuple((a, b) for a, b in letters), tuple((a, b) for a, b in numbers)


def live_manifest(
    loaded: LoadedModel,
    entries: list[dict[str, Any]],
    data: bytes,
    presets: tuple[str, ...],
    site_model: LoadedModel | None = None,
) -> dict[str, Any]:
    """The manifest of ``live-model.bin`` (see the module docstring)."""
    config = loaded.model.config
    if getattr(config, "hidden_act", "gelu") != "gelu":
        raise ValueError(f"the page computes the exact GELU only; this model uses {config.hidden_act}")
    provenance = loaded.provenance
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": {
            "name": provenance.name,
            "source": provenance.source,
            "sha256": provenance.sha256,
            "parameters": provenance.parameters,
        },
        "substituted": site_model is not None,
        "site_model": None,
        "config": {
            "hidden": int(config.hidden_size),
            "layers": int(config.num_hidden_layers),
            "heads": int(config.num_attention_heads),
            "intermediate": int(config.intermediate_size),
            "vocab_size": int(config.vocab_size),
            "max_positions": int(config.max_position_embeddings),
            "pad_id": int(config.pad_token_id),
            "eps": float(config.layer_norm_eps),
            "num_labels": int(config.num_labels),
        },
        "labels": list(loaded.labels),
        "label_columns": list(loaded.label_columns),
        "max_tokens": int(loaded.max_tokens),
        "truncation_notice": truncation_notice_template(),
        "preprocess": getattr(loaded, "preprocess", "none"),
        "temperature": float(getattr(loaded, "temperature", 1.0)),  # fitted on validation (calibration.json), else 1
        "presets": list(presets),
        "weights": {"file": "live-model.bin", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                    "dtype": "float32", "byte_order": "little"},
        "tokenizer": "live-tokenizer.json",
        "tensors": entries,
    }
    if site_model is not None:
        manifest["site_model"] = {
            "name": site_model.provenance.name,
            "sha256": site_model.provenance.sha256,
            "parameters": site_model.provenance.parameters,
            "float32_bytes": site_model.provenance.parameters * 4,
        }
    return manifest


def web_assets() -> dict[str, bytes]:
    """The page's scripts and stylesheet from ``roberta_math/web/``, named ``live-<name>``."""
    return {f"live-{name}": (WEB_DIR / name).read_bytes() for name in WEB_ASSETS}


def live_files(loaded: LoadedModel, presets: tuple[str, ...], site_model: LoadedModel | None = None) -> dict[str, bytes]:
    """Every file of the page for ``loaded`` (``site_model``: the too-large model it stands in for)."""
    data, entries = pack_weights(exported_tensors(loaded.model))
    manifest = live_manifest(loaded, entries, data, presets, site_model)
    return {
        "live-model.bin": data,
        "live-model.json": json_bytes(manifest),
        "live-tokenizer.json": json_bytes(tokenizer_spec(loaded.tokenizer), compact=True),
        **web_assets(),
    }


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``live_model`` step: the page's model (the selected one, or the embedded one if too large)."""
    loaded = ctx.loaded()
    presets = ctx.params.explorer_sentences
    if loaded.provenance.parameters * 4 <= MAX_PAGE_BYTES:
        return live_files(loaded, presets)
    from roberta_math.model.loading import load_model

    ctx.log(f"live_model: {loaded.provenance.name} is {loaded.provenance.parameters * 4 / 1e6:.0f} MB in float32; "
            "the page runs the embedded model instead")
    return live_files(load_model("embedded"), presets, site_model=loaded)

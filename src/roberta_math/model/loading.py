r"""One door for every model the project runs: the embedded one, a local directory, or a hub id.

:func:`load_model` returns a :class:`LoadedModel`: the ``transformers`` model in eval mode,
its tokenizer, the class names in the project's order (negative, neutral, positive), the
column of the model's logits that holds each of them, and a :class:`Provenance` record
(what was loaded, from where, how many parameters, and the SHA-256 of the weights) so a
figure or a metric can always say which weights produced it.

Where a name leads:

* ``"embedded"`` (the default): the compact model shipped inside the package
  (``roberta_math/model/embedded``), trained by ``roberta-math train``.
* an existing directory: anything written by ``save_pretrained`` (config, weights, tokenizer).
* anything else shaped like ``org/name`` or ``name``: a Hugging Face hub id. When
  ``HF_HUB_OFFLINE`` is set, or one quick connection to the hub fails, the files are read
  from the local hub cache only (``HF_HUB_CACHE``), so a model downloaded once keeps working
  on a plane. A model that is neither there nor reachable is a :class:`~roberta_math.errors.UserError`;
  the loader never swaps in another model.

Label names are read from ``config.id2label`` (``negative``/``neg``, ``neutral``/``neu``,
``positive``/``pos``, any case). ``cardiffnlp/twitter-roberta-base-sentiment`` names its
classes ``LABEL_0..2``; its model card says they mean negative, neutral, positive, and
the loader knows that. Any other model whose classes cannot be named is refused, unless you
pass ``label_names=`` yourself or ask for ``task="encoder"``: the bare encoder (for example
``roberta-base``) without a classification head, which the attention pages use; it has no
labels, and :func:`~roberta_math.evaluation.scoring.score_texts` refuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from roberta_math.errors import UserError
from roberta_math.labels import LABELS

Source = Literal["embedded", "hub", "local"]
Task = Literal["sentiment", "encoder"]

EMBEDDED_DIR: Path = Path(__file__).resolve().parent / "embedded"
"""Where the package keeps its own trained model (written by ``roberta-math train``)."""

KNOWN_LABEL_NAMES: dict[str, tuple[str, ...]] = {
    # The model card of this checkpoint maps LABEL_0/1/2 to negative/neutral/positive;
    # its config.json does not, so the loader has to.
    "cardiffnlp/twitter-roberta-base-sentiment": LABELS,
}
"""Label names, by output column, for hub models whose config only says ``LABEL_i``."""

_LABEL_ALIASES: dict[str, str] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}

# A hub id is "name" or "org/name" made of letters, digits, "-", "_" and "."; a string
# with more slashes, a leading "." or "~", or a backslash is meant as a path.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")

# Model types whose base model takes ``add_pooling_layer``: the encoder task drops the
# pooler, which a masked-LM checkpoint such as roberta-base would leave randomly initialised.
_POOLER_MODEL_TYPES = frozenset({"roberta", "xlm-roberta", "camembert", "bert", "roberta-prelayernorm"})

_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


@dataclass(frozen=True)
class Provenance:
    """Which weights a result came from.

    ``sha256`` is the SHA-256 of the weights file when there is one file (so it equals
    ``sha256sum model.safetensors``); for a sharded checkpoint it is the SHA-256 of the
    lines ``"<file name> <sha256>\\n"`` of its shards in name order.

    >>> p = Provenance("embedded", "embedded", 1_450_000, "ab" * 32)
    >>> p.as_dict()["source"], p.short()
    ('embedded', 'embedded (embedded, 1.45M parameters, sha256 abababababab)')
    """

    name: str
    source: Source
    parameters: int
    sha256: str
    location: str = ""
    """The directory the files were read from (a hub snapshot for hub ids)."""
    revision: str | None = None
    """The hub commit of the snapshot, for hub ids."""
    preprocess: str = "none"
    """The text preprocessing applied before scoring (see :mod:`roberta_math.model.preprocessing`)."""
    temperature: float = 1.0
    """The softmax temperature tau every scorer applies, p = softmax(z / tau) (1: none fitted)."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy of the record."""
        return asdict(self)

    def short(self) -> str:
        """One line for logs and figure captions (the preprocessing is named when there is one)."""
        extra = "" if self.preprocess == "none" else f", preprocess {self.preprocess}"
        extra += "" if self.temperature == 1.0 else f", temperature {self.temperature:.3f}"
        return f"{self.name} ({self.source}, {self.parameters / 1e6:.2f}M parameters, sha256 {self.sha256[:12]}{extra})"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run, with what it takes to read its output.

    ``labels`` is :data:`~roberta_math.labels.LABELS` for a sentiment classifier and ``()``
    for an encoder; ``label_columns[k]`` is the column of the model's logits holding
    ``labels[k]``, so ``logits[:, label_columns]`` puts any checkpoint's classes in the
    project's order. ``max_tokens`` is the longest input, special tokens included, that
    the position embeddings allow (512 for roberta-base). ``preprocess`` names the text
    preprocessing the scorer applies first (:mod:`roberta_math.model.preprocessing`).
    """

    model: Any
    tokenizer: Any
    labels: tuple[str, ...]
    provenance: Provenance
    label_columns: tuple[int, ...] = (0, 1, 2)
    task: Task = "sentiment"
    max_tokens: int = 512
    preprocess: str = "none"
    temperature: float = 1.0
    """Softmax temperature fitted on validation data (``calibration.json``), else 1."""


# --------------------------------------------------------------------------- quiet transformers


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence ``transformers`` and ``huggingface_hub`` progress bars and log chatter inside the block.

    Loading prints a bar per file and a "load report"; the tokenizer warns about long
    inputs that the scorer truncates on purpose. Errors still raise; the previous settings
    come back on exit.

    >>> with quiet_transformers():
    ...     import transformers.utils.logging as hf_logging
    ...     hf_logging.is_progress_bar_enabled()
    False
    """
    import huggingface_hub.utils as hub_utils
    import transformers.utils.logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars_on = hf_logging.is_progress_bar_enabled()
    hub_bars_off = hub_utils.are_progress_bars_disabled()
    hub_logger = logging.getLogger("huggingface_hub")
    hub_level = hub_logger.level
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    hub_utils.disable_progress_bars()
    hub_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_on:
            hf_logging.enable_progress_bar()
        if not hub_bars_off:
            hub_utils.enable_progress_bars()
        hub_logger.setLevel(hub_level)


# --------------------------------------------------------------------------- small pure helpers


def canonical_label(name: str) -> str | None:
    """The project's name for a model's class name, or ``None`` when it is not a sentiment class.

    >>> canonical_label("Negative"), canonical_label("neu"), canonical_label("LABEL_0")
    ('negative', 'neutral', None)
    """
    return _LABEL_ALIASES.get(name.strip().lower())


def label_columns_for(names: Sequence[str]) -> tuple[int, int, int] | None:
    """Column of each of negative, neutral, positive among a model's class ``names``.

    Returns ``None`` unless the names are exactly the three sentiment classes, each once.

    >>> label_columns_for(["positive", "negative", "neutral"])
    (1, 2, 0)
    >>> label_columns_for(["LABEL_0", "LABEL_1", "LABEL_2"]) is None
    True
    """
    canonical = [canonical_label(str(n)) for n in names]
    if len(canonical) != len(LABELS) or sorted(c or "" for c in canonical) != sorted(LABELS):
        return None
    return tuple(canonical.index(label) for label in LABELS)  # type: ignore[return-value]


def max_tokens_for(config: Any) -> int:
    """The longest input, special tokens included, that a model's position embeddings allow.

    RoBERTa numbers positions from ``padding_idx + 1`` (= 2), so
    :math:`T_{\\max} = P - 2` for :math:`P` = ``max_position_embeddings``:
    514 gives 512 (roberta-base), 130 gives 128 (the embedded model).

    >>> from types import SimpleNamespace
    >>> max_tokens_for(SimpleNamespace(model_type="roberta", max_position_embeddings=514, pad_token_id=1))
    512
    >>> max_tokens_for(SimpleNamespace(model_type="bert", max_position_embeddings=512, pad_token_id=0))
    512
    """
    positions = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert", "roberta-prelayernorm"}:
        pad = getattr(config, "pad_token_id", 1)
        return positions - ((1 if pad is None else int(pad)) + 1)
    return positions


CALIBRATION_FILE = "calibration.json"
"""The file beside a model's weights holding its fitted softmax temperature."""


def read_temperature(directory: Path | None) -> float:
    r"""The softmax temperature $\tau$ in ``directory / calibration.json``, or 1 if there is no such file.

    The file is ``{"temperature": tau, ...}`` as :func:`roberta_math.training.recipe.train_embedded`
    writes it (fitted on the validation split, :func:`~roberta_math.evaluation.calibration.fit_temperature`).
    Raises :class:`~roberta_math.errors.UserError` if the file is not JSON, has no
    ``"temperature"`` key, or $\tau$ is not a positive finite number.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> read_temperature(d)
    1.0
    >>> _ = (d / "calibration.json").write_text('{"temperature": 1.5}')
    >>> read_temperature(d)
    1.5
    >>> _ = (d / "calibration.json").write_text('{"temperature": 0}')
    >>> read_temperature(d)
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: .../calibration.json: temperature must be a positive finite number, got 0: fix or delete the file
    """
    if directory is None or not (Path(directory) / CALIBRATION_FILE).is_file():
        return 1.0
    path = Path(directory) / CALIBRATION_FILE
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UserError(f"{path}: not a calibration file ({_one_line(error)}): fix or delete the file") from None
    if not isinstance(content, dict) or "temperature" not in content:
        raise UserError(f'{path}: not a calibration file (no number under the key "temperature"): fix or delete the file')
    value = content["temperature"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise UserError(f"{path}: temperature must be a positive finite number, got {value!r}: fix or delete the file")
    return float(value)


def weights_sha256(directory: Path) -> str:
    """SHA-256 of the weights in ``directory`` (see :class:`Provenance` for shards).

    Safetensors files win over ``pytorch_model*.bin`` when both are present, as in
    ``from_pretrained``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "model.safetensors").write_bytes(b"abc")
    >>> weights_sha256(d) == hashlib.sha256(b"abc").hexdigest()
    True
    """
    for pattern in _WEIGHT_PATTERNS:
        files = sorted(directory.glob(pattern))
        if files:
            break
    else:
        raise UserError(f"no weights (*.safetensors or pytorch_model*.bin) in {directory}: pass a directory written by save_pretrained")
    digests = [(f.name, _file_sha256(f)) for f in files]
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{n} {h}\n" for n, h in digests).encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # follows hub-cache symlinks into blobs/
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."


# --------------------------------------------------------------------------- where a name leads


@dataclass(frozen=True)
class _Where:
    source: Source
    path_or_id: str
    local_files_only: bool = True
    cache_dir: str | None = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_cache_dir() -> str | None:
    # Read at call time (huggingface_hub reads it once, at import).
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether one TCP connection to the hub (or the HTTPS proxy) opens within ``timeout`` seconds.

    ``transformers`` retries an unreachable hub for minutes before it looks in the cache;
    this probe lets :func:`load_model` go straight to the cache instead. ``HF_HUB_OFFLINE``
    makes it answer ``False`` without touching the network.

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}):
    ...     hub_reachable()
    False
    """
    if _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    target = urlparse(proxy) if proxy and endpoint.scheme == "https" else endpoint
    host = target.hostname
    port = target.port or (443 if target.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _resolve(name: str) -> _Where:
    if name == "embedded":
        if not (EMBEDDED_DIR / "config.json").is_file():
            raise UserError(
                f"the embedded model is not installed ({EMBEDDED_DIR} has no config.json): "
                "reinstall roberta-math, or train one with `roberta-math train --out DIR` and pass --model DIR"
            )
        return _Where("embedded", str(EMBEDDED_DIR))
    if not name.strip():
        raise UserError("--model is empty: pass embedded, a model directory or a hub id such as org/name")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"{path} has no config.json: pass a directory written by save_pretrained (config.json, weights, tokenizer files)")
        return _Where("local", str(path.resolve()))
    if path.exists():
        raise UserError(f"{name} is a file, not a model directory: pass the directory that holds config.json")
    if not _HUB_ID.match(name) or ".." in name:
        raise UserError(f"no model directory {name}: check the path, or use --model embedded or a hub id such as org/name")
    return _Where("hub", name, local_files_only=not hub_reachable(), cache_dir=_hub_cache_dir())


def _load_error(name: str, where: _Where, error: BaseException) -> UserError:
    if where.source == "hub" and where.local_files_only:
        cache = where.cache_dir or "the Hugging Face cache"
        why = "HF_HUB_OFFLINE is set" if _env_flag("HF_HUB_OFFLINE") else "the hub is unreachable"
        return UserError(
            f"model {name} is not in {cache} and {why}: download it once while online, "
            "or pass --model with a local directory, or use --model embedded"
        )
    if where.source == "hub":
        return UserError(f"cannot load model {name} from the hub ({_one_line(error)}): check the id, or pass a local directory")
    return UserError(f"cannot load model {name} from {where.path_or_id} ({_one_line(error)}): pass a directory written by save_pretrained")


def _hub_kwargs(where: _Where) -> dict[str, Any]:
    if where.source != "hub":
        return {}
    kwargs: dict[str, Any] = {"local_files_only": where.local_files_only}
    if where.cache_dir:
        kwargs["cache_dir"] = where.cache_dir
    return kwargs


def _snapshot_dir(where: _Where) -> tuple[Path, str | None]:
    if where.source != "hub":
        return Path(where.path_or_id), None
    from transformers.utils.hub import cached_file

    # After a successful load config.json is cached; its folder is the snapshot, named by commit.
    config_file = Path(cached_file(where.path_or_id, "config.json", **{**_hub_kwargs(where), "local_files_only": True}))
    return config_file.parent, config_file.parent.name


def _label_names(name: str, where: _Where, config: Any, label_names: Sequence[str] | None) -> tuple[str, ...]:
    if label_names is not None:
        return tuple(label_names)
    names = tuple(str(config.id2label[i]) for i in range(int(config.num_labels)))
    if label_columns_for(names) is not None:
        return names
    if where.source == "hub" and name in KNOWN_LABEL_NAMES and len(names) == len(KNOWN_LABEL_NAMES[name]):
        return KNOWN_LABEL_NAMES[name]
    if where.source == "embedded" and names == tuple(f"LABEL_{i}" for i in range(len(LABELS))):
        return LABELS  # the project's own training uses class index i = LABELS[i]
    return names


# --------------------------------------------------------------------------- the loader


def load_model(
    name: str = "embedded",
    *,
    attn_implementation: str = "eager",
    task: Task = "sentiment",
    label_names: Sequence[str] | None = None,
) -> LoadedModel:
    """Load a sentiment classifier (or, with ``task="encoder"``, a bare encoder) by name.

    ``name`` is ``"embedded"``, a directory, or a hub id (see the module docstring).
    ``attn_implementation="eager"`` keeps ``output_attentions=True`` working (the ``sdpa``
    default returns no attention weights). ``label_names`` overrides ``config.id2label``,
    one name per output column, for checkpoints that only say ``LABEL_i``.

    Raises :class:`~roberta_math.errors.UserError` (one line, with the fix) when the model
    cannot be found or loaded, or when its classes are not negative/neutral/positive.

    >>> load_model("no/such/dir")
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: no model directory no/such/dir: check the path, or use --model embedded or a hub id such as org/name
    """
    if task not in ("sentiment", "encoder"):
        raise UserError(f"unknown task {task!r}: use 'sentiment' or 'encoder'")
    where = _resolve(name)

    import transformers

    kwargs = _hub_kwargs(where)
    with quiet_transformers():
        try:
            config = transformers.AutoConfig.from_pretrained(where.path_or_id, **kwargs)
        except (OSError, ValueError, KeyError) as error:
            raise _load_error(name, where, error) from None

        columns: tuple[int, ...] = ()
        labels: tuple[str, ...] = ()
        if task == "sentiment":
            names = _label_names(name, where, config, label_names)
            found = label_columns_for(names)
            if found is None:
                raise UserError(
                    f"model {name} has classes {list(names)}, not negative/neutral/positive: use a 3-class "
                    "sentiment model, or in Python load_model(..., label_names=[...]) or task='encoder' for a bare encoder"
                )
            columns, labels = found, LABELS

        try:
            if task == "sentiment":
                model, info = transformers.AutoModelForSequenceClassification.from_pretrained(
                    where.path_or_id, attn_implementation=attn_implementation, output_loading_info=True, **kwargs
                )
            else:
                extra = {"add_pooling_layer": False} if config.model_type in _POOLER_MODEL_TYPES else {}
                model, info = transformers.AutoModel.from_pretrained(
                    where.path_or_id, attn_implementation=attn_implementation, output_loading_info=True, **extra, **kwargs
                )
            tokenizer = transformers.AutoTokenizer.from_pretrained(where.path_or_id, **kwargs)
        except Exception as error:  # noqa: BLE001 - any failure to read these files is the files' fault (corrupt, partial, foreign)
            raise _load_error(name, where, error) from None

    missing = sorted(info.get("missing_keys", ()))
    if missing:
        # A checkpoint without these weights would run with random ones: refuse instead.
        hint = "it has no trained classification head; use task='encoder' for a bare encoder" if task == "sentiment" else "the checkpoint is incomplete"
        raise UserError(f"model {name} lacks weights {missing[:3]}{'...' if len(missing) > 3 else ''}: {hint}")

    model.eval()  # dropout off: scores are deterministic
    directory, revision = _snapshot_dir(where)
    from roberta_math.model.preprocessing import preprocessing_for

    preprocess = preprocessing_for(name, where.source, directory)
    temperature = read_temperature(directory) if task == "sentiment" else 1.0
    provenance = Provenance(
        name=name,
        source=where.source,
        parameters=sum(p.numel() for p in model.parameters()),
        sha256=weights_sha256(directory),
        location=str(directory),
        revision=revision,
        preprocess=preprocess,
        temperature=temperature,
    )
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        labels=labels,
        provenance=provenance,
        label_columns=columns,
        task=task,
        max_tokens=max_tokens_for(config),
        preprocess=preprocess,
        temperature=temperature,
    )

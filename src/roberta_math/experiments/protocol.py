r"""What one experimental run is, and how it is trained and scored.

A run is named by a :class:`RunSpec`: a *method* (``roberta``, ``tfidf_logreg``,
``vader`` or the ``masked_lm`` pre-training), the *training set* (one domain or
``all``), the *fraction* of that training set whose labels are used, the
*initialisation* of a ``roberta`` run (``random`` or ``masked_lm``) and a *seed*.
:func:`execute` turns a spec into a JSON-ready record whose ``test`` entry holds the
metrics on the test split of every domain.

Choices that decide the numbers, fixed here for every run:

- **Labelled subsets** (:func:`stratified_sample`): within every (domain, label) group
  of the training split, sentences are ordered by
  :math:`\operatorname{SHA256}(\texttt{"\{seed\}/\{salt\}/\{domain\}/\{id\}"})` and the
  first :math:`\max(1, \lfloor f n + \tfrac12 \rfloor)` are kept, so a subset keeps the
  class balance, depends on the seed, and the 5 % subset of a seed lies inside its 10 %
  subset.
- **Tokenizer**: byte-level BPE learnt from *all* training-split texts of the run's
  domains (unlabelled text; the labels of a fraction are what is scarce), so a
  pre-trained and a from-scratch run of the same training set read identical tokens,
  and a single-domain model never sees another domain's vocabulary.
- **Pre-training** (``masked_lm``): :func:`~roberta_math.training.recipe.pretrain_masked_lm`
  on every training-split text of all four domains, once, shared by every
  pre-trained run of every fraction and seed.
- **Fine-tuning**: :func:`~roberta_math.training.recipe.finetune` with the embedded
  recipe; model selection on the validation split of the run's own domains (a
  practitioner has no labelled data of the other domains), the test split touched once.
- **Schedule** (``schedule``): ``"epochs"`` gives every fraction the recipe's number of
  epochs, so a run on 5 % of the labels takes 5 % of the optimizer steps; ``"steps"``
  scales the epochs by :math:`\lceil N_{100\%}/B \rceil / \lceil N_f/B \rceil` (rounded) so
  every fraction takes about as many optimizer steps as the full set.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.cache import sha256_file
from roberta_math.data.corpus import DOMAINS, Sentence
from roberta_math.training.recipe import Recipe

if TYPE_CHECKING:  # pragma: no cover
    import torch

ALL = "all"
"""The training set (and pseudo test domain) that pools the four corpora."""

TRAIN_SETS: tuple[str, ...] = (*DOMAINS, ALL)
METHODS: tuple[str, ...] = ("roberta", "tfidf_logreg", "vader", "masked_lm")
INITS: tuple[str, ...] = ("random", "masked_lm")
SCHEDULES: tuple[str, ...] = ("epochs", "steps")

PROTOCOL_FORMAT = 1
"""Bumped when the meaning of a run record changes (part of the cache key)."""

DATA_SEED = 0
"""Seed of the shared down-sampling of every split in the tiny configuration."""


EXPERIMENT_RECIPE = Recipe(num_threads=1, pretrain_epochs=5, class_weighting="none", label_smoothing=0.0,
                           pretrain_text="train", tokenizer_text="train")
"""The recipe the committed experiments ran: the compact model's recipe as it was before the recipe
search (training-split text only, an unweighted loss), pinned so that the results stay reproducible."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything the experiments depend on, besides the corpus and the code.

    ``seeds`` are the fine-tuning seeds of the pre-training curves, ``fractions`` the
    shares of the labelled training split they use; ``transfer_seeds`` the seeds of the
    transfer matrix. ``data_fraction`` < 1 down-samples every split first (the tiny
    configuration only). ``threads`` is the torch thread count during training.

    >>> DEFAULT_CONFIG.fractions, DEFAULT_CONFIG.seeds, DEFAULT_CONFIG.schedule
    ((0.05, 0.1, 0.25, 0.5, 1.0), (0, 1, 2), 'epochs')
    """

    name: str = "default"
    recipe: Recipe = field(default_factory=lambda: EXPERIMENT_RECIPE)
    seeds: tuple[int, ...] = (0, 1, 2)
    fractions: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)
    transfer_seeds: tuple[int, ...] = (0,)
    pretrain_seed: int = 0
    schedule: str = "epochs"
    threads: int = 1
    data_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not self.seeds or not self.fractions or not self.transfer_seeds:
            raise ValueError("seeds, fractions and transfer_seeds must not be empty")
        if any(not 0.0 < f <= 1.0 for f in (*self.fractions, self.data_fraction)):
            raise ValueError("fractions must lie in (0, 1]")
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the recipe as a nested dict).

        >>> DEFAULT_CONFIG.as_dict()["recipe"]["hidden_size"]
        128
        """
        out = asdict(self)
        out["seeds"], out["fractions"], out["transfer_seeds"] = list(self.seeds), list(self.fractions), list(self.transfer_seeds)
        return out


DEFAULT_CONFIG = ExperimentConfig()
"""The configuration behind the committed results: 5 fractions x 3 seeds, 1 transfer seed, 1 thread."""

TINY_CONFIG = ExperimentConfig(
    name="tiny",
    recipe=Recipe(num_threads=1, vocab_size=400, num_layers=1, hidden_size=32, num_heads=2, ffn_size=64,
                  batch_size=16, pretrain_epochs=1, finetune_epochs=1),
    seeds=(0,),
    fractions=(0.25, 1.0),
    data_fraction=0.02,
)
"""A seconds-long configuration for tests: 2 % of every split, a one-layer model, one epoch each."""


# --------------------------------------------------------------------------- runs


def fraction_tag(fraction: float) -> str:
    """A file-name-safe percentage: ``0.05 -> "5pct"``, ``0.025 -> "2.5pct"``.

    >>> [fraction_tag(f) for f in (0.05, 0.025, 1.0)]
    ['5pct', '2.5pct', '100pct']
    """
    return f"{round(fraction * 100, 6):g}pct"


@dataclass(frozen=True)
class RunSpec:
    """One run: method, training set, labelled fraction, initialisation and seed.

    >>> RunSpec("roberta", "all", 0.05, "masked_lm", 2).run_id
    'roberta-all-5pct-masked_lm-s2'
    >>> RunSpec("vader").run_id, RunSpec("masked_lm", seed=0).run_id
    ('vader', 'masked_lm-all-s0')
    """

    method: str
    train_on: str = ALL
    fraction: float = 1.0
    init: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}")
        if self.train_on not in TRAIN_SETS:
            raise ValueError(f"unknown training set {self.train_on!r}")
        if (self.method == "roberta") != (self.init is not None) or (self.init is not None and self.init not in INITS):
            raise ValueError(f"a roberta run needs init in {INITS}; other methods take none")
        if self.init == "masked_lm" and self.train_on != ALL:
            raise ValueError("the masked-LM encoder is pre-trained on all four domains: train_on must be 'all'")

    @property
    def run_id(self) -> str:
        """The run's name and the stem of its record file."""
        if self.method == "vader":
            return "vader"
        if self.method == "masked_lm":
            return f"masked_lm-{self.train_on}-s{self.seed}"
        middle = f"{self.train_on}-{fraction_tag(self.fraction)}"
        return f"{self.method}-{middle}-{self.init}-s{self.seed}" if self.init else f"{self.method}-{middle}-s{self.seed}"


def planned_runs(config: ExperimentConfig) -> list[RunSpec]:
    """Every run the two experiments need, each once, cheapest and most needed first.

    VADER and TF-IDF first (seconds), then the transfer matrix, the pre-training, and
    the learning curves seed by seed, so an interrupted session leaves whole seeds. A
    run shared by both experiments (``roberta-all-100pct-random-s0``) appears once;
    TF-IDF + logistic regression is deterministic, so on the full set it runs for one seed only.

    >>> ids = [s.run_id for s in planned_runs(TINY_CONFIG)]
    >>> ids[:2]
    ['vader', 'tfidf_logreg-tweets-100pct-s0']
    >>> ids[ids.index("masked_lm-all-s0"):]
    ['masked_lm-all-s0', 'roberta-all-25pct-random-s0', 'roberta-all-25pct-masked_lm-s0', 'roberta-all-100pct-masked_lm-s0']
    >>> len(ids) == len(set(ids))
    True
    """
    specs: list[RunSpec] = [RunSpec("vader")]
    specs += [RunSpec("tfidf_logreg", t, 1.0, None, 0) for t in TRAIN_SETS]
    for seed in config.seeds:
        specs += [RunSpec("tfidf_logreg", ALL, f, None, seed) for f in sorted(config.fractions) if f < 1.0]
    for seed in config.transfer_seeds:
        specs += [RunSpec("roberta", t, 1.0, "random", seed) for t in TRAIN_SETS]
    specs.append(RunSpec("masked_lm", ALL, 1.0, None, config.pretrain_seed))
    for seed in config.seeds:
        for f in sorted(config.fractions):
            specs += [RunSpec("roberta", ALL, f, init, seed) for init in INITS]
    unique: dict[str, RunSpec] = {}
    for spec in specs:
        unique.setdefault(spec.run_id, spec)
    return list(unique.values())


# --------------------------------------------------------------------------- data


def stratified_sample(sentences: Sequence[Sentence], fraction: float, seed: int, salt: str = "subset") -> list[Sentence]:
    r"""A seeded, class-balanced share of ``sentences``, nested across fractions, in input order.

    Per (domain, label) group of :math:`n` sentences, order by
    :math:`\operatorname{SHA256}(\texttt{"\{seed\}/\{salt\}/\{domain\}/\{id\}"})` and keep
    the first :math:`\max(1, \lfloor f n + \tfrac12\rfloor)`.

    >>> rows = [Sentence("tweets", str(i), (-2.0, 0.0, 2.0)[i % 3], "t") for i in range(60)]
    >>> small, large = stratified_sample(rows, 0.1, 0), stratified_sample(rows, 0.5, 0)
    >>> len(small), len(large), set(small) <= set(large)
    (6, 30, True)
    >>> sorted(s.label for s in small)
    [0, 0, 1, 1, 2, 2]
    >>> stratified_sample(rows, 0.1, 1) == small   # another seed, another subset
    False
    """
    if fraction >= 1.0:
        return list(sentences)
    groups: dict[tuple[str, int], list[int]] = {}
    for index, sentence in enumerate(sentences):
        groups.setdefault((sentence.domain, sentence.label), []).append(index)
    keep: set[int] = set()
    for (domain, _), members in groups.items():
        ordered = sorted(members, key=lambda i: hashlib.sha256(f"{seed}/{salt}/{domain}/{sentences[i].id}".encode()).hexdigest())
        keep.update(ordered[: max(1, math.floor(fraction * len(ordered) + 0.5))])
    return [s for i, s in enumerate(sentences) if i in keep]


def domain_rows(sentences: Sequence[Sentence], train_on: str) -> list[Sentence]:
    """The sentences of one domain, or all of them for ``"all"``.

    >>> rows = [Sentence("tweets", "1", 1.0, "a"), Sentence("nyt_editorials", "1", 1.0, "b")]
    >>> [s.text for s in domain_rows(rows, "tweets")], len(domain_rows(rows, "all"))
    (['a'], 2)
    """
    return [s for s in sentences if train_on == ALL or s.domain == train_on]


def finetune_epochs(recipe: Recipe, schedule: str, full_size: int, size: int) -> int:
    r"""Epochs of a fine-tuning run on ``size`` of ``full_size`` labelled sentences.

    ``"epochs"``: the recipe's :math:`E`. ``"steps"``:
    :math:`\max(1, \operatorname{round}(E \lceil N/B \rceil / \lceil n/B \rceil))`, about the
    optimizer steps of the full set.

    >>> r = Recipe(finetune_epochs=4, batch_size=64)
    >>> finetune_epochs(r, "epochs", 18961, 948), finetune_epochs(r, "steps", 18961, 948), finetune_epochs(r, "steps", 18961, 18961)
    (4, 79, 4)
    """
    if schedule == "epochs":
        return recipe.finetune_epochs
    full_steps = math.ceil(full_size / recipe.batch_size) * recipe.finetune_epochs
    return max(1, round(full_steps / math.ceil(size / recipe.batch_size)))


# --------------------------------------------------------------------------- scoring


def split_metrics(sentences: Sequence[Sentence], labels: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, Any]]:
    r"""Per test domain (and ``all``): n, accuracy, macro-F1, Pearson r of the signed score with valence, confusion.

    ``labels`` ``(n,)`` are predicted classes, ``scores`` ``(n,)`` signed scores in
    :math:`[-1, 1]`; definitions from :func:`roberta_math.evaluation.metrics.classification_metrics`.

    >>> rows = [Sentence("tweets", "1", 2.0, "a"), Sentence("tweets", "2", -2.0, "b"), Sentence("nyt_editorials", "1", 2.0, "c")]
    >>> m = split_metrics(rows, np.array([2, 2, 2]), np.array([0.9, 0.1, 0.5]))
    >>> list(m), m["tweets"]["accuracy"], m["all"]["n"], m["all"]["confusion"]
    (['tweets', 'nyt_editorials', 'all'], 0.5, 3, [[0, 0, 1], [0, 0, 0], [0, 0, 2]])
    """
    from roberta_math.evaluation.metrics import classification_metrics

    truth = np.array([s.label for s in sentences], dtype=np.int64)  # (n,)
    valence = np.array([s.valence for s in sentences], dtype=np.float64)  # (n,)
    domains = np.array([s.domain for s in sentences], dtype=object)
    out: dict[str, dict[str, Any]] = {}
    for domain in (*DOMAINS, ALL):
        mask = np.ones(len(sentences), dtype=bool) if domain == ALL else domains == domain
        if not mask.any():
            continue
        m = classification_metrics(truth[mask], labels[mask], scores[mask], valence[mask])
        r = m["pearson_r"]
        out[domain] = {
            "n": m["n"],
            "accuracy": round(float(m["accuracy"]), 6),
            "macro_f1": round(float(m["macro_f1"]), 6),
            "pearson_r": None if r is None or not math.isfinite(r) else round(float(r), 6),
            "confusion": m["confusion"],
        }
    return out


# --------------------------------------------------------------------------- the workspace


def _sha256_file(path: Path) -> str:
    return sha256_file(path)


@dataclass
class Workspace:
    """The data and shared artefacts of one session, built lazily (a fully resumed session builds nothing).

    ``splits`` are the (possibly down-sampled) train / validation / test splits;
    ``encoder_dir`` is where pre-trained encoders are stored as safetensors.
    """

    config: ExperimentConfig
    splits: dict[str, list[Sentence]]
    encoder_dir: Path
    progress: bool = True
    _tokenizers: dict[str, Any] = field(default_factory=dict)
    _encoded: dict[tuple[str, str], list[list[int]]] = field(default_factory=dict)
    _encoders: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)

    def tokenizer(self, train_on: str) -> Any:
        """BPE learnt from every training-split text of ``train_on`` (memoised)."""
        if train_on not in self._tokenizers:
            from roberta_math.training.tokenizer import train_bpe

            texts = [s.text for s in domain_rows(self.splits["train"], train_on)]
            self._tokenizers[train_on] = train_bpe(texts, vocab_size=self.config.recipe.vocab_size)
        return self._tokenizers[train_on]

    def encoded(self, train_on: str, split: str) -> list[list[int]]:
        """Token ids of the ``train_on`` rows of ``split`` (``test``: every domain) under ``train_on``'s tokenizer."""
        key = (train_on, split)
        if key not in self._encoded:
            rows = self.splits[split] if split == "test" else domain_rows(self.splits[split], train_on)
            tok = self.tokenizer(train_on)
            self._encoded[key] = tok([s.text for s in rows], truncation=True, max_length=self.config.recipe.max_tokens)["input_ids"]
        return self._encoded[key]

    def encoder_path(self, spec: RunSpec) -> Path:
        """Where the encoder of a ``masked_lm`` run is stored."""
        return self.encoder_dir / f"{spec.run_id}.safetensors"

    def encoder(self, spec: RunSpec, record: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The pre-trained encoder state of a finished ``masked_lm`` run, checked against its record."""
        if spec.run_id not in self._encoders:
            from safetensors.torch import load_file

            path = self.encoder_path(spec)
            if not path.is_file() or _sha256_file(path) != record.get("encoder_sha256"):
                raise FileNotFoundError(f"{path} is missing or altered")
            self._encoders[spec.run_id] = load_file(str(path))
        return self._encoders[spec.run_id]

    def remember_encoder(self, spec: RunSpec, state: dict[str, torch.Tensor]) -> str:
        """Store a freshly pre-trained encoder atomically; return its SHA-256."""
        import os
        import tempfile

        from safetensors.torch import save_file

        path = self.encoder_path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            save_file({k: v.contiguous() for k, v in state.items()}, tmp)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._encoders[spec.run_id] = state
        return _sha256_file(path)


# --------------------------------------------------------------------------- one run


def _run_vader(spec: RunSpec, ws: Workspace) -> dict[str, Any]:
    from roberta_math.evaluation.vader import THRESHOLD, compound_scores, labels_from_scores

    test = ws.splits["test"]
    scores = compound_scores([s.text for s in test])  # (n,)
    return {"test": split_metrics(test, labels_from_scores(scores, THRESHOLD), scores)}


def _run_tfidf(spec: RunSpec, ws: Workspace) -> dict[str, Any]:
    from roberta_math.evaluation.baseline import tfidf_logreg_probabilities

    train = stratified_sample(domain_rows(ws.splits["train"], spec.train_on), spec.fraction, spec.seed)
    test = ws.splits["test"]
    probs = tfidf_logreg_probabilities([s.text for s in train], [s.label for s in train], [s.text for s in test], seed=spec.seed)
    return {"train_size": len(train), "test": split_metrics(test, probs.argmax(axis=1), probs[:, 2] - probs[:, 0])}


def _run_masked_lm(spec: RunSpec, ws: Workspace) -> dict[str, Any]:
    from roberta_math.training.recipe import pretrain_masked_lm, roberta_config

    recipe = replace(ws.config.recipe, seed=spec.seed)
    tokenizer = ws.tokenizer(spec.train_on)
    config = roberta_config(recipe, vocab_size=len(tokenizer))
    state, log = pretrain_masked_lm(config, tokenizer, ws.encoded(spec.train_on, "train"),
                                    ws.encoded(spec.train_on, "validation"), recipe, ws.progress)
    return {
        "train_size": len(ws.encoded(spec.train_on, "train")),
        "epochs": recipe.pretrain_epochs,
        "steps": len(log["step_loss"]),
        "validation_curve": log["epochs"],
        "final_train_loss": log["step_loss"][-1] if log["step_loss"] else None,
        "encoder_sha256": ws.remember_encoder(spec, state),
    }


def _run_roberta(spec: RunSpec, ws: Workspace, encoder: dict[str, torch.Tensor] | None) -> dict[str, Any]:
    from roberta_math.training.recipe import finetune, predict_probabilities, roberta_config

    full = domain_rows(ws.splits["train"], spec.train_on)
    full_ids = ws.encoded(spec.train_on, "train")
    keep = {(s.domain, s.id) for s in stratified_sample(full, spec.fraction, spec.seed)}
    rows = [i for i, s in enumerate(full) if (s.domain, s.id) in keep]
    train, train_ids = [full[i] for i in rows], [full_ids[i] for i in rows]
    epochs = finetune_epochs(ws.config.recipe, ws.config.schedule, len(full), len(train))
    recipe = replace(ws.config.recipe, seed=spec.seed, finetune_epochs=epochs)
    tokenizer = ws.tokenizer(spec.train_on)
    config = roberta_config(recipe, vocab_size=len(tokenizer))
    validation = domain_rows(ws.splits["validation"], spec.train_on)
    model, log = finetune(config, train_ids, train, ws.encoded(spec.train_on, "validation"), validation, recipe,
                          encoder_state=encoder, name=spec.run_id, progress=ws.progress)
    probs = predict_probabilities(model, ws.encoded(spec.train_on, "test"), config.pad_token_id).double().numpy()  # (n, 3)
    return {
        "train_size": len(train),
        "validation_size": len(validation),
        "vocab_size": len(tokenizer),
        "epochs": epochs,
        "steps": len(log["step_loss"]),
        "best_epoch": log["best_epoch"],
        "validation_curve": [
            {"epoch": e["epoch"], "train_loss": e["train_loss"],
             **{k: e["validation"][k] for k in ("loss", "accuracy", "macro_f1")}}
            for e in log["epochs"]
        ],
        "test": split_metrics(ws.splits["test"], probs.argmax(axis=1), probs[:, 2] - probs[:, 0]),
    }


def execute(spec: RunSpec, ws: Workspace, encoder: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Train (if the method trains) and score one run; return its record without bookkeeping fields.

    ``encoder`` is the pre-trained encoder state for a ``roberta`` run initialised from
    ``masked_lm``. The record holds ``spec``, ``wall_seconds`` and, except for the
    pre-training, ``test``: test domain -> metrics (:func:`split_metrics`).
    """
    started = time.perf_counter()
    if spec.method == "vader":
        body = _run_vader(spec, ws)
    elif spec.method == "tfidf_logreg":
        body = _run_tfidf(spec, ws)
    elif spec.method == "masked_lm":
        body = _run_masked_lm(spec, ws)
    else:
        if (spec.init == "masked_lm") != (encoder is not None):
            raise ValueError(f"{spec.run_id}: an encoder is needed exactly when init is 'masked_lm'")
        body = _run_roberta(spec, ws, encoder)
    return {"spec": asdict(spec), **body, "wall_seconds": round(time.perf_counter() - started, 2)}


# --------------------------------------------------------------------------- the cache key


NUMBER_DEFINITIONS: dict[str, tuple[str, ...] | None] = {
    "training/recipe.py": ("Recipe", "roberta_config", "pretrain_masked_lm", "finetune", "predict_probabilities"),
    "training/tokenizer.py": ("train_bpe",),
    "training/masking.py": ("mask_tokens", "IGNORE_INDEX"),
    "training/metrics.py": ("classification_metrics",),
    "evaluation/metrics.py": ("classification_metrics",),
    "evaluation/vader.py": ("compound_scores", "labels_from_scores", "THRESHOLD", "analyzer"),
    "evaluation/baseline.py": ("tfidf_logreg_probabilities",),
    "experiments/protocol.py": ("execute", "stratified_sample", "DATA_SEED", "PROTOCOL_FORMAT"),
}
"""Package files (relative to ``roberta_math/``) and the top-level names in them that decide a run's numbers.

``None`` would mean the whole module. Each name is fingerprinted with everything it uses from
its own module (helpers, constants, imported names), so an edit elsewhere in the file
(another command, a docstring) leaves finished runs valid.
"""


def _strip_docstrings(tree: Any) -> Any:
    import ast

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def code_fingerprint(source: str, names: Sequence[str] | None = None) -> str:
    r"""SHA-256 of the code behind ``names`` in a module's ``source`` (all of it for ``None``), without docs.

    The syntax tree is compared, so comments, docstrings and layout do not count. With
    ``names``, only those top-level definitions count, together with every top-level
    definition, constant and imported name they refer to, transitively.

    >>> src = 'import math\nK = 2\ndef f(x):\n    "Twice."\n    return K * g(x)\ndef g(x):\n    return x\ndef h():\n    return 1\n'
    >>> a = code_fingerprint(src, ["f"])
    >>> a == code_fingerprint(src.replace('"Twice."', '"Double, reworded."'), ["f"])   # a docstring
    True
    >>> a == code_fingerprint(src.replace("return 1", "return 5"), ["f"])             # h is not used by f
    True
    >>> a == code_fingerprint(src.replace("return x", "return -x"), ["f"])            # g is
    False
    >>> a == code_fingerprint(src.replace("K = 2", "K = 3"), ["f"])                   # and so is K
    False
    >>> code_fingerprint(src, ["gone"])
    Traceback (most recent call last):
    ...
    KeyError: "no top-level definition 'gone'"
    """
    import ast

    tree = _strip_docstrings(ast.parse(source))
    if names is None:
        return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()
    defined: dict[str, str] = {}  # name -> dump of the statement (or import alias) that binds it
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined[node.name] = ast.dump(node, include_attributes=False)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        defined[leaf.id] = ast.dump(node, include_attributes=False)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                defined[bound] = f"import {getattr(node, 'module', None)}:{alias.name} as {alias.asname}"
    statements = {ast.dump(n, include_attributes=False): n for n in tree.body}
    wanted, queue = set(), list(names)
    while queue:
        name = queue.pop()
        if name in wanted:
            continue
        if name not in defined:
            raise KeyError(f"no top-level definition {name!r}")
        wanted.add(name)
        node = statements.get(defined[name])
        if node is not None:  # a definition, not an import: follow what it refers to
            queue += [leaf.id for leaf in ast.walk(node) if isinstance(leaf, ast.Name) and leaf.id in defined]
    text = "\n".join(f"{name}={defined[name]}" for name in sorted(wanted))
    return hashlib.sha256(text.encode()).hexdigest()


def source_digest() -> str:
    """SHA-256 over :func:`code_fingerprint` of every entry of :data:`NUMBER_DEFINITIONS`.

    >>> len(source_digest())
    64
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path, names in NUMBER_DEFINITIONS.items():
        try:
            fingerprint = code_fingerprint((root / path).read_text(encoding="utf-8"), names)
        except KeyError as error:
            raise RuntimeError(f"{path}: {error.args[0]}; update NUMBER_DEFINITIONS in {__name__}") from None
        digest.update(f"{path}:{names}".encode() + b"\0" + fingerprint.encode() + b"\0")
    return digest.hexdigest()


def config_hash(config: ExperimentConfig, corpus_sha256: dict[str, str], split_fingerprint: str, versions: dict[str, str]) -> str:
    """The directory name of a configuration's run records: SHA-256 (first 16 hex digits).

    It covers everything a run's numbers depend on except the run's own identity (its
    seed, fraction, ...): the recipe, schedule, thread count, down-sampling, corpus
    files, split, library versions and the code of :data:`NUMBER_DEFINITIONS`. Seeds and
    fractions are not in it, so ``--seeds 5`` after ``--seeds 3`` reuses the first three.

    >>> a = config_hash(DEFAULT_CONFIG, {"f": "1"}, "s", {"torch": "2"})
    >>> a == config_hash(replace(DEFAULT_CONFIG, seeds=(0, 1)), {"f": "1"}, "s", {"torch": "2"}), len(a)
    (True, 16)
    >>> a == config_hash(replace(DEFAULT_CONFIG, threads=2), {"f": "1"}, "s", {"torch": "2"})
    False
    """
    parts = {
        "format": PROTOCOL_FORMAT,
        "recipe": asdict(config.recipe),
        "schedule": config.schedule,
        "threads": config.threads,
        "data_fraction": config.data_fraction,
        "data_seed": DATA_SEED,
        "corpus": corpus_sha256,
        "split": split_fingerprint,
        "versions": versions,
        "source": source_digest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]

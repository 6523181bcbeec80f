"""Build every figure of the site into one directory, redoing only the steps whose inputs changed.

A *step* makes one family of figures (and the JSON behind them) and returns its files
as ``{name: bytes}``; :func:`build_figures` writes them atomically, records their
SHA-256 in ``manifest.json`` and skips the step next time if nothing it depends on
changed (see :mod:`roberta_math.figures.cache`). The model is loaded at most once per
run, and only if a step that needs it has to run: a warm rebuild loads nothing.

The manifest's ``run`` section counts what the run did (steps run and reused, model
loads, sentences sent through the model, seconds), so a caller can check a warm build.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roberta_math.cache import atomic_write_bytes
from roberta_math.figures import cache

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.data.corpus import Sentence
    from roberta_math.model.loading import LoadedModel

EXPLORER_SENTENCES: tuple[str, ...] = (
    "The acting was brilliant, but the plot made no sense.",
    "The movie was not good.",
    "The movie was not bad at all.",
    "I wanted to love this phone, but it stopped working after a week.",
    "Not the worst coffee I have had, but far from the best.",
    "What a wonderful, heartfelt film!",
    "The service was slow and the food was cold.",
    "The meeting has been moved to Tuesday.",
)
"""Example sentences of the explorer: negation, double negation, "but" contrasts, plain cases."""


@dataclass(frozen=True)
class FigureParams:
    """Every setting the figures depend on (part of each step's cache key).

    >>> FigureParams().heatmap_layer, FigureParams(seed=1).seed
    (-1, 1)
    """

    example_sentence: str = "The acting was brilliant, but the plot made no sense."
    explorer_sentences: tuple[str, ...] = EXPLORER_SENTENCES
    heatmap_layer: int = -1  # python-style index: -1 is the last layer
    heatmap_head: int = 0
    softmax_logits: tuple[float, ...] = (2.0, 1.0, 0.1, -1.0)
    softmax_temperatures: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0)
    random_qk_dims: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    random_qk_samples: int = 20_000
    model_qk_sentences: int = 256
    evaluation_split: str = "test"
    batch_size: int = 64
    reliability_bins: int = 15  # as Guo et al. (2017) and the embedded model's metrics.json
    backprop_steps: int = 60  # the from-scratch fine-tuning run of the backpropagation page
    backprop_deep_layers: int = 12  # depth of the post-LN gradient profile at initialisation
    seed: int = 0


def params_from_mapping(values: dict[str, Any]) -> FigureParams:
    """:class:`FigureParams` with the given fields replaced (lists become tuples).

    >>> params_from_mapping({"seed": 3, "softmax_temperatures": [1, 2]}).softmax_temperatures
    (1, 2)
    >>> params_from_mapping({"colour": "red"})
    Traceback (most recent call last):
    ...
    roberta_math.errors.UserError: unknown figure parameter(s) ['colour']: see FigureParams in roberta_math.figures.build
    """
    from dataclasses import fields, replace

    from roberta_math.errors import UserError

    known = {f.name for f in fields(FigureParams)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"unknown figure parameter(s) {unknown}: see FigureParams in roberta_math.figures.build")
    return replace(FigureParams(), **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True)
class Step:
    """One family of figures: the function that makes it and what its cache key includes."""

    name: str
    function: str  # "module:function", relative to roberta_math.figures
    uses_model: bool
    uses_corpus: bool
    description: str


STEPS: tuple[Step, ...] = (
    # Cheap steps first: a broken input (say, a damaged training log) fails in seconds.
    Step("math", "math_figures:build", False, False, "softmax, cross-entropy, q.k variance of random vectors"),
    Step("training", "training_figures:build", True, False, "training curves from the model's training log"),
    Step("model", "model_figures:build_model_views", True, False, "tokens, attention maps of one sentence, provenance"),
    Step("explorer", "explorer.data:build", True, False, "attention explorer data and assets"),
    Step("heads", "model_figures:build_head_statistics", True, True, "per-head attention statistics, q.k variance of the model"),
    Step("evaluation", "evaluation_figures:build", True, True, "confusion matrices, reliability, per-domain bars"),
    Step("checklist", "checklist_figures:build", True, True, "behavioural tests (CheckList) of the model, VADER and TF-IDF"),
    Step("experiments", "experiment_figures:build", False, False, "domain transfer and pre-training curves from experiments/results.json"),
    Step("live_model", "live_model:build", True, False, "the Try it page's float32 weights, tokenizer and scripts"),
    Step("backprop", "backprop_figures:build", True, True, "a fine-tuning run with the from-scratch backward, autograd check, FLOPs"),
    Step("attributions", "attribution_figures:build", True, True, "attribution faithfulness on the test split, method agreement, examples"),
    # Last: a step records every module loaded before it ran, so an edit to this one reruns only itself.
    Step("architecture", "architecture_figures:build", True, False, "multi-head attention and encoder layer diagrams, embeddings of one sentence"),
)


@dataclass
class StepContext:
    """What a step can ask for: parameters, the model (loaded once, lazily), corpus splits.

    ``counters`` records the model work of the run; every forward pass goes through
    :meth:`count_forward` so a warm build can prove it did none.
    """

    model_name: str
    params: FigureParams
    progress: bool = True
    counters: dict[str, int] = field(default_factory=lambda: {"model_loads": 0, "forward_passes": 0, "forward_sentences": 0})
    _loaded: Any = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def loaded(self) -> LoadedModel:
        """The selected model (``load_model(model_name)``), loaded on first use."""
        if self._loaded is None:
            from roberta_math.model.loading import load_model

            self.log(f"loading model {self.model_name}")
            self._loaded = load_model(self.model_name)
            self.counters["model_loads"] += 1
        return self._loaded

    def count_forward(self, sentences: int) -> None:
        """Record one forward pass over ``sentences`` sentences."""
        self.counters["forward_passes"] += 1
        self.counters["forward_sentences"] += int(sentences)

    def split(self, name: str) -> list[Sentence]:
        """One corpus split (``ROBERTA_MATH_CORPUS`` or the cached corpus)."""
        from roberta_math.data.corpus import load_split

        return self.memo(f"split:{name}", lambda: load_split(name))

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """A value shared by the steps of one run (e.g. the test-split forward pass)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def log(self, message: str) -> None:
        """One progress line on stderr (when ``progress`` is on)."""
        if self.progress:
            print(f"figures: {message}", file=sys.stderr, flush=True)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block on one torch thread, then restore the caller's count.

    A step whose output depends on float32 sums uses it: one thread reduces in one order,
    so two builds write the same bytes.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output ends up in the figures (read without importing them).

    >>> "matplotlib" in library_versions()
    True
    """
    versions = {}
    for name in ("matplotlib", "numpy", "torch", "transformers", "tokenizers", "vaderSentiment"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _run_step(step: Step, ctx: StepContext) -> dict[str, bytes]:
    module_name, _, function = step.function.partition(":")
    module = importlib.import_module(f"roberta_math.figures.{module_name}")
    from roberta_math.figures.render import use_style

    use_style()
    files = getattr(module, function)(ctx)
    for name in files:
        if "/" in name or name.startswith(".") or name == cache.MANIFEST_NAME:
            raise ValueError(f"step {step.name} returned a bad file name {name!r}")
    return files


def _model_fingerprint(ctx: StepContext) -> str:
    found = cache.model_fingerprint(ctx.model_name)
    if found is not None:
        return found
    # No local files to hash (a hub id not cached yet): load it and use the weights' hash.
    return "weights:" + ctx.loaded().provenance.sha256


def _corpus_fingerprint() -> str:
    from roberta_math.data.corpus import corpus_checksums

    return cache.step_key(corpus_checksums())


def build_figures(
    out_dir: str | Path,
    *,
    model: str = "embedded",
    progress: bool = True,
    params: FigureParams | None = None,
    steps: Iterable[str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Make every figure into ``out_dir`` (reusing cached steps) and return the manifest.

    - ``model``: ``"embedded"``, a model directory or a hub id (see ``load_model``).
    - ``steps``: names from :data:`STEPS` to build (default: all); ``force`` ignores the cache.
    - Returns the manifest: ``{"format", "model", "steps": {name: {"key", "files": {file: sha256}}}, "run"}``.

    Raises :class:`~roberta_math.errors.UserError` for a model or corpus that cannot be
    found; any other failure propagates with its traceback (and leaves no step recorded
    that did not finish).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    params = params or FigureParams()
    wanted = set(steps) if steps is not None else {s.name for s in STEPS}
    unknown = wanted - {s.name for s in STEPS}
    if unknown:
        from roberta_math.errors import UserError

        raise UserError(f"unknown figure step(s) {sorted(unknown)}: choose from {[s.name for s in STEPS]}")
    ctx = StepContext(model_name=model, params=params, progress=progress)
    with cache.build_lock(out_dir):
        previous = cache.read_manifest(out_dir)
        common = {"format": cache.FORMAT_VERSION, "versions": library_versions(), "params": asdict(params)}
        source_memo: dict[str, str | None] = {}
        fingerprints: dict[str, str] = {}
        manifest: dict[str, Any] = {
            "format": cache.FORMAT_VERSION,
            "model": {"name": model},
            "steps": dict(previous["steps"]),  # entries of steps not rebuilt this time stay valid
        }
        ran, reused, seconds = [], [], {}
        for step in STEPS:
            if step.name not in wanted:
                continue
            inputs = {**common, "step": step.name}
            if step.name == "experiments":  # its figures are drawn from the committed results file
                from roberta_math.experiments.results import RESULTS_PATH

                inputs["results"] = cache.sha256_file(RESULTS_PATH)
            if step.uses_model:
                if "model" not in fingerprints:
                    fingerprints["model"] = _model_fingerprint(ctx)
                inputs["model"] = fingerprints["model"]
            if step.uses_corpus:
                if "corpus" not in fingerprints:
                    fingerprints["corpus"] = _corpus_fingerprint()
                inputs["corpus"] = fingerprints["corpus"]
            key = cache.step_key(inputs)
            if not force and cache.entry_is_valid(out_dir, previous["steps"].get(step.name), key, source_memo):
                reused.append(step.name)
                ctx.log(f"{step.name}: unchanged, reused")
                continue
            t = time.perf_counter()
            ctx.log(f"{step.name}: {step.description} ...")
            files = _run_step(step, ctx)
            for name, data in sorted(files.items()):
                atomic_write_bytes(out_dir / name, data)
            manifest["steps"][step.name] = {
                "key": key,
                "sources": cache.loaded_sources(),  # every package module this process had loaded
                "files": {name: cache.sha256_bytes(data) for name, data in sorted(files.items())},
            }
            cache.write_manifest(out_dir, manifest)  # only now is the step recorded as done
            seconds[step.name] = round(time.perf_counter() - t, 2)
            ran.append(step.name)
            ctx.log(f"{step.name}: {len(files)} files in {seconds[step.name]:.1f} s")
        # Files that an earlier build wrote but no step claims any more are removed.
        claimed = {name for entry in manifest["steps"].values() for name in entry["files"]}
        for entry in previous["steps"].values():
            for name in entry.get("files", {}):
                if name not in claimed:
                    (out_dir / name).unlink(missing_ok=True)
        manifest["model"].update({"fingerprint": fingerprints.get("model")})
        if ctx._loaded is not None:
            manifest["model"]["provenance"] = ctx._loaded.provenance.as_dict()
        manifest["run"] = {
            "steps_run": ran,
            "steps_reused": reused,
            **ctx.counters,
            "step_seconds": seconds,
            "seconds": round(time.perf_counter() - started, 2),
        }
        cache.write_manifest(out_dir, manifest)
    return manifest


def published_files(out_dir: str | Path) -> list[str]:
    """The names of the files the manifest of ``out_dir`` lists (what the site publishes), sorted."""
    manifest = cache.read_manifest(Path(out_dir))
    return sorted({name for entry in manifest["steps"].values() for name in entry.get("files", {})})

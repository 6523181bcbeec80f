"""The resumable experiment loop: every finished run is a JSON record that is never recomputed.

Records live in ``cache_root()/"experiments"/<config-hash>/runs/<run-id>.json``
(:func:`~roberta_math.experiments.protocol.config_hash` names the directory, the run id
the file; pre-trained encoders sit beside them in ``encoders/``). A record is written
atomically once its run has finished, so an interrupted session loses at most the run
in flight; the next session reads the valid records, trains only what is missing and
writes the results file (:mod:`roberta_math.experiments.results`). A record that is
truncated, unreadable or from another configuration is ignored and its run done again.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from roberta_math.cache import atomic_write_text, cache_root
from roberta_math.experiments.protocol import (
    ALL,
    DATA_SEED,
    DEFAULT_CONFIG,
    ExperimentConfig,
    RunSpec,
    Workspace,
    config_hash,
    execute,
    planned_runs,
    stratified_sample,
)

RECORD_FORMAT = 1
"""Bumped when the layout of a run record changes (older records are then redone)."""


@dataclass
class SessionStats:
    """What one session did: the runs it planned, found finished, and trained."""

    planned: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Counts and the ids of the runs trained in this session."""
        return {"runs_planned": len(self.planned), "runs_reused": len(self.reused),
                "runs_trained": len(self.trained), "trained": list(self.trained)}


class RunStore:
    """The run records of one configuration, one JSON file per run.

    >>> import tempfile
    >>> store = RunStore(Path(tempfile.mkdtemp()), "abc")
    >>> store.load("vader") is None
    True
    >>> store.save("vader", {"spec": {"method": "vader"}, "test": {}, "wall_seconds": 0.1})
    >>> store.load("vader")["config_hash"], RunStore(store.directory, "other").load("vader")
    ('abc', None)
    """

    def __init__(self, directory: Path, hash_: str) -> None:
        self.directory = Path(directory)
        self.config_hash = hash_

    def path(self, run_id: str) -> Path:
        """The record file of ``run_id``."""
        return self.directory / "runs" / f"{run_id}.json"

    def load(self, run_id: str) -> dict[str, Any] | None:
        """The finished record of ``run_id``, or ``None`` if it is absent, damaged or foreign."""
        try:
            record = json.loads(self.path(run_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            return None
        if record.get("run_id") != run_id or record.get("config_hash") != self.config_hash:
            return None
        if not isinstance(record.get("spec"), dict) or not isinstance(record.get("wall_seconds"), (int, float)):
            return None
        if record["spec"].get("method") == "masked_lm":
            return record if isinstance(record.get("encoder_sha256"), str) else None
        return record if isinstance(record.get("test"), dict) else None

    def save(self, run_id: str, body: dict[str, Any]) -> None:
        """Write a finished run's record (atomically) with its bookkeeping fields."""
        record = {
            "format": RECORD_FORMAT,
            "run_id": run_id,
            "config_hash": self.config_hash,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **body,
        }
        atomic_write_text(self.path(run_id), json.dumps(record, indent=1, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- provenance


def cpu_model() -> str:
    """The processor's name as the OS reports it (``/proc/cpuinfo`` on Linux).

    >>> isinstance(cpu_model(), str) and len(cpu_model()) > 0
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def hardware(threads: int) -> dict[str, Any]:
    """CPU model, logical cores (and how many this process may use), torch threads, load average."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "usable_cores": usable,
            "torch_threads": threads, "platform": platform.platform(), "load_average_at_start": load}


def library_versions() -> dict[str, str]:
    """Versions of everything that computes numbers (part of the configuration hash).

    >>> {"python", "torch", "transformers", "scikit-learn"} <= library_versions().keys()
    True
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "tokenizers", "scikit-learn", "numpy", "vaderSentiment", "safetensors"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover
            out[name] = "missing"
    return out


def load_data(config: ExperimentConfig, source: str | os.PathLike[str] | None) -> tuple[dict[str, list], dict[str, Any]]:
    """The corpus split (down-sampled by ``config.data_fraction``) and a description of it."""
    from roberta_math.data import corpus

    parts = corpus.split_corpus(corpus.load_corpus(source))
    fingerprint = corpus.split_fingerprint(parts)
    if config.data_fraction < 1.0:
        parts = {name: stratified_sample(rows, config.data_fraction, DATA_SEED, salt="data") for name, rows in parts.items()}
    checksums = corpus.corpus_checksums(source)
    info = {
        "ground_truth_sha256": checksums,
        "is_published_corpus": checksums == corpus.PUBLISHED_SHA256,
        "split_seed": corpus.SPLIT_SEED,
        "split_fingerprint_sha256": fingerprint,
        "data_fraction": config.data_fraction,
        "sizes": {name: {d: sum(s.domain == d for s in rows) for d in (*corpus.DOMAINS,)} | {ALL: len(rows)}
                  for name, rows in parts.items()},
    }
    return parts, info


def experiments_dir() -> Path:
    """``cache_root()/"experiments"``: one sub-directory of run records per configuration hash."""
    return cache_root() / "experiments"


# --------------------------------------------------------------------------- the loop


def run_experiments(
    config: ExperimentConfig = DEFAULT_CONFIG,
    *,
    out: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    progress: bool = True,
    command: str | None = None,
) -> tuple[dict[str, Any], SessionStats]:
    """Run (or resume) every planned run of ``config``; write and return the results, with what this session did.

    ``out`` is the results file (``None``: return the results without writing them);
    ``source`` the corpus directory (default: the verified cache); ``command`` the
    command line recorded in the results. Progress bars go to stderr.
    """
    import torch
    from threadpoolctl import threadpool_limits
    from tqdm.auto import tqdm

    from roberta_math import __version__
    from roberta_math.experiments import results as R

    started = time.perf_counter()
    splits, corpus_info = load_data(config, source)
    versions = library_versions()
    hash_ = config_hash(config, corpus_info["ground_truth_sha256"], corpus_info["split_fingerprint_sha256"], versions)
    root = experiments_dir() / hash_
    store = RunStore(root, hash_)
    workspace = Workspace(config=config, splits=splits, encoder_dir=root / "encoders", progress=progress)
    machine = hardware(config.threads)
    specs = planned_runs(config)
    stats = SessionStats(planned=[s.run_id for s in specs])
    records: dict[str, dict[str, Any]] = {}
    pretrain_spec = RunSpec("masked_lm", ALL, 1.0, None, config.pretrain_seed)

    def run(spec: RunSpec, bar: Any) -> dict[str, Any]:
        encoder = None
        if spec.method == "roberta" and spec.init == "masked_lm":
            try:
                encoder = workspace.encoder(pretrain_spec, records[pretrain_spec.run_id])
            except FileNotFoundError:  # the record outlived its encoder file: pre-train again
                records[pretrain_spec.run_id] = run(pretrain_spec, bar)
                encoder = workspace.encoder(pretrain_spec, records[pretrain_spec.run_id])
        bar.set_description(spec.run_id)
        body = execute(spec, workspace, encoder)
        store.save(spec.run_id, body)
        stats.trained.append(spec.run_id)
        accuracy = body.get("test", {}).get(ALL, {}).get("accuracy")
        tail = f", test accuracy {accuracy:.3f}" if accuracy is not None else ""
        if progress:
            tqdm.write(f"experiments: {spec.run_id} done in {body['wall_seconds']:.1f} s{tail}", file=sys.stderr)
        return store.load(spec.run_id) or body

    import sklearn.linear_model  # noqa: F401 - loads scipy's BLAS now, so the limit below reaches it

    threads_before = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        # BLAS / OpenMP pools too: on a shared machine an oversubscribed pool spins (measured: 30x slower fits).
        overall = tqdm(total=len(specs), desc="experiments", unit="run", disable=not progress, file=sys.stderr)
        with threadpool_limits(limits=config.threads), overall as bar:
            for spec in specs:
                found = store.load(spec.run_id)
                if found is not None:
                    records[spec.run_id] = found
                    stats.reused.append(spec.run_id)
                else:
                    records[spec.run_id] = run(spec, bar)
                bar.update(1)
    finally:
        torch.set_num_threads(threads_before)

    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    meta = {
        "command": command or "roberta_math.experiments.runner.run_experiments()",
        "package_version": __version__,
        "config_hash": hash_,
        "config": config.as_dict(),
        "hardware": machine,
        "versions": versions,
        "corpus": corpus_info,
        "session": {**stats.as_dict(), "wall_seconds": round(time.perf_counter() - started, 1),
                    "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }
    result = R.build_results(config, records, meta)
    if out is not None:
        R.write_results(Path(out), result)
    return result, stats


def describe_plan(config: ExperimentConfig) -> list[str]:
    """The run ids of ``config`` in the order they run (for ``--dry-run`` and the docs).

    >>> from roberta_math.experiments.protocol import TINY_CONFIG
    >>> describe_plan(TINY_CONFIG)[0]
    'vader'
    """
    return [s.run_id for s in planned_runs(config)]

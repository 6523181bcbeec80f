"""Independent batches of attribution work spread over worker processes, each on one torch thread.

A job is a module-level function called as ``function(weights, *arguments)``. Every job
computes exactly what it would compute in the calling process (the same batch, the same
single-thread reductions, the same memory alignment of the weights), so the results are the
same bytes whatever the number of workers: only the wall-clock time changes. With
``workers=1`` nothing is started.

>>> from roberta_math.interpret.examples import tiny_model
>>> from roberta_math.model.weights import read_weights
>>> with BatchRunner(read_weights(tiny_model()), workers=1) as runner:
...     runner.map(_hidden_size, [(1,), (2,)])
[9, 10]
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_WEIGHTS: Any = None  # the weights of this worker process, set once by _start


def _start(weights: Any) -> None:
    import torch

    global _WEIGHTS
    torch.set_num_threads(1)  # one reduction order, as in the calling process
    _WEIGHTS = weights


def _call(job: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    function, arguments = job
    return function(_WEIGHTS, *arguments)


def _hidden_size(weights: Any, extra: int) -> int:
    return int(weights.embeddings.word.shape[1]) + extra


class BatchRunner:
    """``map(function, [arguments, ...])`` in order, in ``workers`` processes (``spawn``: no state is inherited)."""

    def __init__(self, weights: Any, workers: int = 1) -> None:
        # Every process computes with a fresh copy: how a tensor's memory is aligned decides which
        # SIMD path a kernel takes, and so the last bit of a float32 sum (a copy of the loaded
        # weights, aligned anew, gave attributions 2e-7 apart from the original's).
        self.weights = pickle.loads(pickle.dumps(weights))
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> BatchRunner:  # noqa: PYI034 - typing.Self needs Python 3.11
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start, initargs=(self.weights,))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def map(self, function: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[function(weights, *a) for a in arguments]``, computed by the workers if there are any."""
        if self._pool is None:
            return [function(self.weights, *a) for a in arguments]
        return list(self._pool.map(_call, [(function, tuple(a)) for a in arguments]))

    def imap(self, function: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        """As :meth:`map`, yielding each result as soon as it (and every one before it) is done."""
        if self._pool is None:
            return (function(self.weights, *a) for a in arguments)
        return self._pool.map(_call, [(function, tuple(a)) for a in arguments])

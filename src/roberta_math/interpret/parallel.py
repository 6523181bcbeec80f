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

import ctypes
import ctypes.util
import multiprocessing
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_WEIGHTS: Any = None  # the weights of this worker process, set once by _start
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
REUSED_BLOCK_BYTES = 1 << 30
"""A worker keeps freed blocks up to this size for reuse instead of returning them to the kernel."""


def reuse_freed_memory() -> bool:
    """Have glibc's ``malloc`` keep freed large blocks in this process for reuse; ``False`` where there is no glibc.

    By default glibc serves a block over a threshold (128 KiB, rising to at most 32 MiB) with a
    fresh ``mmap`` and hands it back with ``munmap`` when it is freed, so every short-lived
    activation tensor of a batch costs page faults on memory the kernel zeroes again. On the
    attribution step that was 33 s of system time in 128 s of CPU time (``time`` on a 2-core
    build). Raising the mmap and trim thresholds to ``REUSED_BLOCK_BYTES`` (``mallopt``) serves such
    blocks from the heap and keeps them there when freed; ``tests/test_interpret.py`` checks that a
    16 MiB block is no longer mapped on its own. Only the worker processes call it: they exit when
    the step ends, and with them the memory they kept.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, REUSED_BLOCK_BYTES)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, REUSED_BLOCK_BYTES))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def _start(weights: Any) -> None:
    import torch

    global _WEIGHTS
    reuse_freed_memory()
    torch.set_num_threads(1)  # one reduction order, as in the calling process
    _WEIGHTS = weights


def _call(job: tuple[Callable[..., Any], tuple[Any, ...]]) -> bytes:
    # The result goes back pickled by value: a tensor that multiprocessing pickles itself travels as
    # a shared-memory file descriptor, one authenticated socket handshake per tensor, and a batch of
    # attributions holds hundreds of small ones (12 s of the step's wall-clock time in a profile).
    function, arguments = job
    return pickle.dumps(function(_WEIGHTS, *arguments), protocol=pickle.HIGHEST_PROTOCOL)


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
        return [pickle.loads(b) for b in self._pool.map(_call, [(function, tuple(a)) for a in arguments])]

    def imap(self, function: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        """As :meth:`map`, yielding each result as soon as it (and every one before it) is done."""
        if self._pool is None:
            return (function(self.weights, *a) for a in arguments)
        return (pickle.loads(b) for b in self._pool.map(_call, [(function, tuple(a)) for a in arguments]))

"""Benchmark: what makes the ``attributions`` figure step fast, side by side in one run.

Run:  python benchmarks/bench_attributions.py                  (test and validation sentences, 300 each)
      python benchmarks/bench_attributions.py --sentences 64   (a quick look)

Two comparisons, each measured in this process in alternating turns (the machine is shared,
so load from elsewhere falls on both alike), medians over ``--repeats``:

1. The logits the attributions need, with the last encoder layer computed at ``<s>`` only
   (``logits_from_embeddings``) against every row (``encoder_layer`` then the head): time
   and matrix-product FLOPs (``torch.utils.flop_counter.FlopCounterMode``), and the largest
   difference of the logits.
2. The step's two big computations, ``faithfulness`` on the test sentences and
   ``head_ablation`` on the validation sentences, through a ``BatchRunner`` of 1 and of 2
   single-thread processes: wall-clock time, and whether the results are equal.
3. The same two computations in 2 processes as ``BatchRunner`` runs them (workers keep freed
   memory, :func:`~roberta_math.interpret.parallel.reuse_freed_memory`; results come back pickled
   by value) against a runner without either (glibc's default ``malloc``; tensors sent back as
   shared-memory file descriptors, multiprocessing's default): wall-clock time, the workers'
   user and system CPU time, and whether the results are equal.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from roberta_math.interpret import parallel


def _untuned_start(weights):  # the worker of an untuned runner: default malloc
    global_weights = weights
    torch.set_num_threads(1)
    parallel._WEIGHTS = global_weights


def _untuned_call(job):  # ... and results pickled by multiprocessing (tensors as file descriptors)
    function, arguments = job
    return function(parallel._WEIGHTS, *arguments)


class _UntunedRunner(parallel.BatchRunner):
    """A ``BatchRunner`` whose workers keep glibc's defaults and return tensors as multiprocessing sends them."""

    def __enter__(self):
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_untuned_start, initargs=(self.weights,))
        return self

    def map(self, function, arguments):
        return list(self._pool.map(_untuned_call, [(function, tuple(a)) for a in arguments]))

    def imap(self, function, arguments):
        return self._pool.map(_untuned_call, [(function, tuple(a)) for a in arguments])


def _full_last_layer_logits(weights, ids, mask):  # every row of every layer, as the model's forward pass
    from roberta_math.interpret.gradients import _stem, input_embeddings
    from roberta_math.math import classification_head, encoder_layer, layer_norm

    hidden = layer_norm(input_embeddings(weights, ids) + _stem(weights, ids), weights.embeddings.ln_gamma,
                        weights.embeddings.ln_beta, weights.layer_norm_eps)
    for layer in weights.layers:
        hidden, _ = encoder_layer(hidden, layer, weights.num_heads, mask, weights.layer_norm_eps)
    return classification_head(hidden, weights.head_dense, weights.head_out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from torch.utils.flop_counter import FlopCounterMode

    from roberta_math.data.corpus import load_split
    from roberta_math.interpret.faithfulness import _pad, faithfulness
    from roberta_math.interpret.gradients import (
        input_embeddings,
        logits_from_embeddings,
    )
    from roberta_math.interpret.head_ablation import head_ablation
    from roberta_math.interpret.parallel import BatchRunner
    from roberta_math.model.loading import load_model
    from roberta_math.model.weights import read_weights

    loaded = load_model("embedded")
    weights = read_weights(loaded.model)
    test = [s.text for s in load_split("test")[: args.sentences]]
    validation = load_split("validation")[: args.sentences]
    rows = [ids[: loaded.max_tokens] for ids in loaded.tokenizer([s.text for s in validation])["input_ids"]]
    ids, mask = _pad(rows[:64], weights.padding_idx)

    with torch.no_grad():
        ours, full = [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            a = logits_from_embeddings(weights, ids, input_embeddings(weights, ids), mask)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            b = _full_last_layer_logits(weights, ids, mask)
            full.append(time.perf_counter() - t)
        with FlopCounterMode(display=False) as counter:
            logits_from_embeddings(weights, ids, input_embeddings(weights, ids), mask)
        flops_ours = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            _full_last_layer_logits(weights, ids, mask)
        flops_full = counter.get_total_flops()
    print(f"logits of {ids.shape[0]} sentences x {ids.shape[1]} tokens: last layer at <s> only {statistics.median(ours) * 1e3:.1f} ms, "
          f"every row {statistics.median(full) * 1e3:.1f} ms (ratio {statistics.median(full) / statistics.median(ours):.2f}); "
          f"FLOPs {flops_ours / 1e6:.1f} M vs {flops_full / 1e6:.1f} M (ratio {flops_full / flops_ours:.2f}); "
          f"max |difference| {float((a - b).abs().max()):.1e}")

    results, seconds = {}, {1: [], 2: []}
    for _ in range(args.repeats):
        for workers in (1, 2):
            t = time.perf_counter()
            with BatchRunner(weights, workers=workers) as runner:
                r = faithfulness(weights, loaded.tokenizer, test, steps=8, max_tokens=loaded.max_tokens, runner=runner)
                h = head_ablation(weights, rows, [s.label for s in validation], loaded.label_columns, runner=runner)
            seconds[workers].append(time.perf_counter() - t)
            results[workers] = (r, h)
    one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
    print(f"faithfulness on {len(test)} test + head ablation on {len(rows)} validation sentences: 1 process {one:.1f} s, "
          f"2 processes {two:.1f} s (ratio {one / two:.2f}, process start included); equal results: {results[1] == results[2]}")

    runners = {"tuned": parallel.BatchRunner, "untuned": _UntunedRunner}
    measured: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runners}
    for _ in range(args.repeats):
        for name, runner_class in runners.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers count once they are joined
            t = time.perf_counter()
            with runner_class(weights, workers=2) as runner:
                r = faithfulness(weights, loaded.tokenizer, test, steps=8, max_tokens=loaded.max_tokens, runner=runner)
                h = head_ablation(weights, rows, [s.label for s in validation], loaded.label_columns, runner=runner)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            measured[name].append((wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))
            results[name] = (r, h)
    med = {k: [statistics.median(v[i] for v in rows_) for i in range(3)] for k, rows_ in measured.items()}
    print(f"2 processes, tuned: {med['tuned'][0]:.1f} s wall, workers {med['tuned'][1]:.1f} s user + {med['tuned'][2]:.1f} s system; "
          f"untuned: {med['untuned'][0]:.1f} s wall, workers {med['untuned'][1]:.1f} s user + {med['untuned'][2]:.1f} s system "
          f"(wall ratio {med['untuned'][0] / med['tuned'][0]:.2f}); equal results: {results['tuned'] == results['untuned']}")


if __name__ == "__main__":
    main()

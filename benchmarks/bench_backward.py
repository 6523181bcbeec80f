"""Benchmark: the backward pass against the forward pass, in FLOPs and in time, side by side.

Run:  python benchmarks/bench_backward.py              (about 1-3 minutes on 2 shared cores)
      python benchmarks/bench_backward.py --repeats 3 --skip-base   (a quick look)

For each shape it measures, in one process and in alternating turns (the machine is
shared, so load from elsewhere falls on all alike):

- ours: ``forward_with_cache`` (the from-scratch forward, keeping activations) and
  ``backward_from_logits`` (the from-scratch backward, roberta_math.model.backward);
- autograd: ``RobertaForSequenceClassification`` forward with gradients on, then
  ``loss.backward()``.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (matrix products only,
2 FLOPs per multiply-add); the derivation on the backpropagation page predicts a ratio of
exactly 2 for the products. Times are medians over ``--repeats`` runs.

Shapes: the embedded model's architecture (2 layers, hidden 128, 4 heads, FFN 512, vocab
8000) on a batch of 64 sentences of 32 tokens, and the roberta-base shape (12 layers,
hidden 768, 12 heads, FFN 3072, vocab 50265) with random weights on 4 x 64 tokens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _model(shape: dict, seed: int = 0):
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(seed)
    config = RobertaConfig(**shape, num_labels=3, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    config._attn_implementation = "eager"
    return RobertaForSequenceClassification(config).eval()


def _batch(vocab: int, batch: int, seq: int, seed: int = 0):
    import torch

    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (batch, seq), generator=gen)
    ids[:, 0], ids[:, -1] = 0, 2
    return ids, torch.ones_like(ids), torch.randint(0, 3, (batch,), generator=gen)


def measure(shape: dict, batch: int, seq: int, repeats: int) -> dict[str, float]:
    """FLOPs and median seconds of forward and backward, ours and autograd's."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    from roberta_math.math import cross_entropy_grad
    from roberta_math.model.backward import backward_from_logits, forward_with_cache
    from roberta_math.model.weights import read_weights

    model = _model(shape)
    weights = read_weights(model)
    ids, mask, labels = _batch(shape["vocab_size"], batch, seq)

    def ours_forward():
        return forward_with_cache(weights, ids, mask)

    def ours_backward(state):
        logits, cache = state
        return backward_from_logits(cross_entropy_grad(logits, labels), weights, cache)

    def torch_forward():
        model.zero_grad(set_to_none=True)
        return F.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)

    def torch_backward(loss):
        loss.backward()

    flops = {}
    for name, fwd, bwd in (("ours", ours_forward, ours_backward), ("autograd", torch_forward, torch_backward)):
        with FlopCounterMode(display=False) as counter:
            state = fwd()
        flops[f"{name}_forward"] = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            bwd(state)
        flops[f"{name}_backward"] = counter.get_total_flops()
    times: dict[str, list[float]] = {k: [] for k in flops}
    for _ in range(repeats):
        for name, fwd, bwd in (("ours", ours_forward, ours_backward), ("autograd", torch_forward, torch_backward)):
            t = time.perf_counter()
            state = fwd()
            times[f"{name}_forward"].append(time.perf_counter() - t)
            t = time.perf_counter()
            bwd(state)
            times[f"{name}_backward"].append(time.perf_counter() - t)
    return {**{f"flops_{k}": float(v) for k, v in flops.items()},
            **{f"seconds_{k}": statistics.median(v) for k, v in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-base", action="store_true", help="only the embedded model's shape")
    args = parser.parse_args()
    import torch

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    compact = dict(vocab_size=8000, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=512, max_position_embeddings=130, type_vocab_size=1, layer_norm_eps=1e-5)
    base = dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5)
    cases = [("embedded, 64x32", compact, 64, 32)]  # the embedded model's shape, batch x tokens
    if not args.skip_base:
        cases.append(("roberta-base, 4x64", base, 4, 64))
    print(f"threads={args.threads} repeats={args.repeats}; FLOP ratio and time ratio are backward / forward")
    header = f"{'shape':18s} {'impl':8s} {'fwd GFLOP':>9s} {'bwd GFLOP':>9s} {'ratio':>6s} {'fwd ms':>8s} {'bwd ms':>8s} {'ratio':>6s}"
    print(header)
    print("-" * len(header))
    for title, shape, batch, seq in cases:
        r = measure(shape, batch, seq, args.repeats)
        for impl in ("ours", "autograd"):
            ff, fb = r[f"flops_{impl}_forward"], r[f"flops_{impl}_backward"]
            tf, tb = r[f"seconds_{impl}_forward"], r[f"seconds_{impl}_backward"]
            print(f"{title:18s} {impl:8s} {ff / 1e9:9.3f} {fb / 1e9:9.3f} {fb / ff:6.3f} "
                  f"{tf * 1e3:8.1f} {tb * 1e3:8.1f} {tb / tf:6.2f}", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: the project's batch scorer against ``transformers.pipeline`` on the same model and sentences.

Run:  python benchmarks/bench_scoring.py --threads 1   (2-10 minutes on 2 shared cores)
      python benchmarks/bench_scoring.py --n 500 --n-large 50   (a quick look)

For each model it scores the same corpus sentences three ways, in one process:

1. ``score_texts`` (length-sorted batches, one tokenizer call, ``torch.inference_mode``);
2. ``pipeline("text-classification", model=..., tokenizer=..., top_k=None)`` called on the
   list, with the pipeline's default batch size (1): what a reader would write first;
3. the same pipeline with ``batch_size`` equal to ours, for reference (it pads each batch
   to its longest text, in input order).

The three run in turns on slices of the sentences (the machine is shared, so load from
elsewhere should fall on all three alike). It prints sentences per second, the ratio to
(2) (the target is >= 2x), and the largest difference between the probabilities, which
must be float rounding only.

Models: the embedded model, and a roberta-base-shaped classifier (12 layers, hidden 768,
125M parameters) with random weights, built in a temporary directory because no hub is
reachable here. It uses the embedded model's tokenizer (8k byte-level BPE), so its token
counts are those of the embedded model, not of roberta-base's 50k vocabulary. It is about
50 times slower per sentence, so it gets fewer sentences (``--n-large``, default 200).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def corpus_sample(n: int, seed: int = 0) -> list[str]:
    """``n`` corpus sentences drawn without replacement with a fixed seed (all four domains mixed)."""
    try:
        from roberta_math.data.corpus import load_corpus
    except ImportError as error:  # pragma: no cover - only before the corpus module exists
        raise SystemExit(f"bench_scoring: roberta_math.data.corpus is not available ({error}); install the package") from None
    sentences = load_corpus()
    if n > len(sentences):
        raise SystemExit(f"bench_scoring: asked for {n} sentences but the corpus has {len(sentences)}")
    picked = random.Random(seed).sample(range(len(sentences)), n)
    return [sentences[i].text for i in picked]


def pipeline_probabilities(outputs: list[list[dict]], labels: tuple[str, ...]) -> np.ndarray:
    """The pipeline's ``[{label, score}, ...]`` per text as an ``(n, 3)`` array in ``labels`` order."""
    from roberta_math.model.loading import canonical_label

    rows = []
    for scores in outputs:
        by_label = {canonical_label(item["label"]): item["score"] for item in scores}
        rows.append([by_label[label] for label in labels])
    return np.asarray(rows, dtype=np.float64)


def bench_one(title: str, model_name: str, texts: list[str], batch_size: int, rounds: int = 3) -> dict[str, float]:
    """Time the three ways of scoring ``texts`` with the model ``model_name``; print and return the rates."""
    import torch
    from transformers import pipeline

    from roberta_math.evaluation.scoring import score_texts
    from roberta_math.model.loading import load_model, quiet_transformers

    loaded = load_model(model_name)
    limit = loaded.max_tokens
    with quiet_transformers():
        classify = pipeline("text-classification", model=loaded.model, tokenizer=loaded.tokenizer, top_k=None)
    call = {"truncation": True, "max_length": limit}  # the same cut as score_texts

    # Warm-up: first calls pay for lazy initialisation in torch and the tokenizer.
    with warnings.catch_warnings(), quiet_transformers():
        warnings.simplefilter("ignore")
        score_texts(texts[:16], loaded, batch_size=batch_size)
        classify(texts[:4], **call)

    with quiet_transformers():
        full = [len(ids) for ids in loaded.tokenizer(texts)["input_ids"]]
    tokens = [min(n, limit) for n in full]
    print(f"\n== {title}: {loaded.provenance.short()}")
    print(f"   machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other processes slow both sides alike)")
    print(f"   {len(texts)} sentences, {np.mean(tokens):.1f} tokens on average (max {max(tokens)}; "
          f"{sum(n > limit for n in full)} cut to {limit}), "
          f"torch threads {torch.get_num_threads()}, batch size {batch_size}, {rounds} interleaved rounds")

    # The machine is shared: run the three methods in turns on slices of the sentences,
    # rotating who goes first, so a burst of load elsewhere hits all three alike.
    methods = {
        "score_texts": lambda chunk: score_texts(chunk, loaded, batch_size=batch_size),
        "pipeline": lambda chunk: pipeline_probabilities(classify(chunk, **call), loaded.labels),
        "pipeline_batched": lambda chunk: pipeline_probabilities(classify(chunk, batch_size=batch_size, **call), loaded.labels),
    }
    seconds = dict.fromkeys(methods, 0.0)
    parts: dict[str, list[np.ndarray]] = {key: [] for key in methods}
    bounds = np.linspace(0, len(texts), rounds + 1).astype(int)
    order = list(methods)
    with quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the truncation count is printed above, once
        for r in range(rounds):
            chunk = texts[bounds[r] : bounds[r + 1]]
            for key in order[r % 3 :] + order[: r % 3]:
                started = time.perf_counter()
                parts[key].append(methods[key](chunk))
                seconds[key] += time.perf_counter() - started
    ours, default, batched = (np.concatenate(parts[key]) for key in methods)
    ours_s, default_s, batched_s = (seconds[key] for key in methods)

    n = len(texts)
    rates = {"score_texts": n / ours_s, "pipeline": n / default_s, "pipeline_batched": n / batched_s}
    print(f"   {'method':<38} {'seconds':>8} {'sent/s':>9} {'vs pipeline':>12}")
    for label, seconds, key in (
        ("score_texts (length-sorted batches)", ours_s, "score_texts"),
        ("pipeline(top_k=None), default batch", default_s, "pipeline"),
        (f"pipeline(top_k=None), batch_size={batch_size}", batched_s, "pipeline_batched"),
    ):
        print(f"   {label:<38} {seconds:>8.2f} {rates[key]:>9.1f} {rates[key] / rates['pipeline']:>11.2f}x")
    print(f"   ratio score_texts / pipeline: {rates['score_texts'] / rates['pipeline']:.2f}x (target >= 2x)")
    print(f"   largest |difference| in probabilities: {np.abs(ours - default).max():.2e} (default), "
          f"{np.abs(ours - batched).max():.2e} (batched)")
    return rates


def roberta_base_shaped(directory: Path, tokenizer_dir: Path) -> Path:
    """A roberta-base-shaped 3-class classifier with random (seeded) weights, saved with ``tokenizer_dir``'s tokenizer."""
    import torch
    from transformers import RobertaConfig, RobertaForSequenceClassification

    from roberta_math.labels import LABELS
    from roberta_math.model.loading import quiet_transformers

    config = RobertaConfig(  # roberta-base's published dimensions
        vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
        eos_token_id=2, num_labels=3, id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in enumerate(LABELS)},
    )
    torch.manual_seed(0)
    with quiet_transformers():
        RobertaForSequenceClassification(config).save_pretrained(str(directory))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tokenizer_dir / name, directory / name)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sentences for the embedded model (default 2000)")
    parser.add_argument("--n-large", type=int, default=200, help="sentences for the roberta-base-shaped model (default 200)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default="embedded", help="the small model to benchmark (default: embedded)")
    parser.add_argument("--skip-large", action="store_true", help="leave out the roberta-base-shaped model")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        # On a shared machine, 2 threads on 2 busy cores spend most of a small forward pass
        # waiting for each other; 1 thread gives steadier numbers there.
        torch.set_num_threads(args.threads)

    from roberta_math.model.loading import load_model

    texts = corpus_sample(args.n)
    results = {"small": bench_one(f"{args.model} model", args.model, texts, args.batch_size)}
    if not args.skip_large:
        tokenizer_dir = Path(load_model(args.model).provenance.location)
        with tempfile.TemporaryDirectory(prefix="roberta-base-shaped-") as tmp:
            directory = roberta_base_shaped(Path(tmp), tokenizer_dir)
            subset = texts[: args.n_large]
            print(f"\n(the roberta-base-shaped model gets the first {len(subset)} of the {len(texts)} sentences: "
                  "it is about 50x slower per sentence; random weights, embedded tokenizer)")
            results["large"] = bench_one("roberta-base-shaped model", str(directory), subset, args.batch_size)
    print()
    for key, rates in results.items():
        print(f"summary {key}: score_texts {rates['score_texts']:.1f} sent/s, pipeline {rates['pipeline']:.1f} sent/s, "
              f"ratio {rates['score_texts'] / rates['pipeline']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

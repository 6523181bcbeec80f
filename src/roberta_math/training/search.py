r"""Which recipe? Variants of the embedded model's recipe, scored on the validation split only.

Each variant is a set of overrides of :class:`~roberta_math.training.recipe.Recipe`. A run
learns the tokenizer, pre-trains (if the variant asks), fine-tunes, and records the best
epoch's validation metrics (accuracy, macro-F1, loss). The test split is never read here:
the shipped recipe is the variant with the best validation macro-F1, and the test split is
scored once, by ``roberta-math train``, for that recipe only.

``python -m roberta_math.training.search OUT.json [NAME ...]`` runs the named variants
(default: all) and merges their records into ``OUT.json``, so two processes can run
disjoint halves of the list side by side.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from roberta_math.cache import atomic_write_text, cache_root
from roberta_math.data import corpus
from roberta_math.training.recipe import Recipe, _extra_text, finetune, pretrain_masked_lm, roberta_config

BASE = Recipe(pretrain_epochs=0, compare_from_scratch=False, class_weighting="none", pretrain_text="train")
"""The recipe shipped before this search (fine-tuning from random weights won on validation)."""

FINETUNE_ONLY = ("label_smoothing", "class_weighting", "finetune_epochs", "learning_rate", "compare_from_scratch", "limit")
"""Recipe fields that do not change the pre-trained encoder."""

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "label_smoothing_0.1": {"label_smoothing": 0.1},
    "balanced_classes": {"class_weighting": "balanced"},
    "balanced+smoothing": {"class_weighting": "balanced", "label_smoothing": 0.1},
    "dropout_0.2": {"dropout": 0.2},
    "vocab_4000": {"vocab_size": 4000},
    "epochs_6": {"finetune_epochs": 6},
    "wd_0.1+dropout_0.2": {"weight_decay": 0.1, "dropout": 0.2},
    "mlm_train_5": {"pretrain_epochs": 5},
    "mlm_wordnet_1": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet"},
    "mlm_wordnet_1+balanced+smoothing": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet",
                                         "class_weighting": "balanced", "label_smoothing": 0.1},
    "mlm_wordnet_1+balanced": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet", "class_weighting": "balanced"},
    "mlm_wordnet_1+balanced+epochs_6": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet",
                                        "class_weighting": "balanced", "finetune_epochs": 6},
    "base_seed1": {"seed": 1},
    "balanced_classes_seed1": {"class_weighting": "balanced", "seed": 1},
    "mlm_wordnet_1+balanced_seed1": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet", "class_weighting": "balanced",
                                     "seed": 1},
    "mlm_wordnet_1+tok_wordnet": {"pretrain_epochs": 1, "pretrain_text": "train+wordnet", "tokenizer_text": "train+wordnet"},
}
"""Name -> overrides of :data:`BASE`."""


def run_variant(name: str, overrides: dict[str, Any], num_threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Train one variant; return its recipe, validation metrics of the best epoch and wall time."""
    from roberta_math.training.tokenizer import train_bpe

    recipe = replace(BASE, num_threads=num_threads, **overrides)
    torch.set_num_threads(recipe.num_threads)
    start = time.perf_counter()
    parts = corpus.split_corpus(corpus.load_corpus(None))
    train, validation = parts["train"], parts["validation"]
    extra = _extra_text(recipe)
    tokenizer = train_bpe([s.text for s in train] + (extra if recipe.tokenizer_text == "train+wordnet" else []),
                          vocab_size=recipe.vocab_size)

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=recipe.max_tokens)["input_ids"]

    train_ids, validation_ids = encode([s.text for s in train]), encode([s.text for s in validation])
    config = roberta_config(recipe, vocab_size=len(tokenizer))
    state, pretrain_log = None, None
    if recipe.pretrain_epochs > 0:
        # Variants that differ only in fine-tuning share one pre-trained encoder (cached on disk).
        key = {k: v for k, v in asdict(recipe).items() if k not in FINETUNE_ONLY}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        cached = cache_root() / "recipe-search" / f"pretrained-{digest}.pt"
        if cached.exists():
            state, pretrain_log = torch.load(cached)
        else:
            pretrain_ids = train_ids + (encode(extra) if recipe.pretrain_text == "train+wordnet" else [])
            state, pretrain_log = pretrain_masked_lm(config, tokenizer, pretrain_ids, validation_ids, recipe, progress)
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.save((state, pretrain_log), cached)
    model, log = finetune(config, train_ids, train, validation_ids, validation, recipe,
                      encoder_state=state, name=name, progress=progress)
    return {
        "name": name,
        "overrides": overrides,
        "recipe": asdict(recipe),
        "best_epoch": log["best_epoch"],
        "validation": log["best_validation"],
        "validation_by_epoch": [e["validation"]["macro_f1"] for e in log["epochs"]],
        "pretrain_validation_mlm": pretrain_log["epochs"][-1] if pretrain_log else None,
        "parameters": sum(p.numel() for p in model.parameters()),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }


def main(argv: list[str]) -> int:
    out, names = Path(argv[0]), argv[1:] or list(VARIANTS)
    for name in names:
        record = run_variant(name, VARIANTS[name])
        done = json.loads(out.read_text()) if out.exists() else {"split": "validation", "variants": {}}
        done["variants"][name] = record
        atomic_write_text(out, json.dumps(done, indent=1) + "\n")
        v = record["validation"]
        print(f"{name:32s} val acc {v['accuracy']:.4f}  macro-F1 {v['macro_f1']:.4f}  "
              f"epoch {record['best_epoch']}  {record['wall_seconds']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

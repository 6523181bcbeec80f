"""Inputs for the figure tests: a toy corpus in the published layout and a tiny model with a training log.

The corpus has six sentences per (domain, label) group, so the seeded split puts at least
one of each group in the test split; the model is the random ``tiny_classifier`` of
``helpers_models`` with a ``training_log.json`` in the layout the training recipe writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers_models import tiny_classifier

from roberta_math.data.corpus import DOMAINS, FILE_STEMS

SUBJECTS = ("the film", "this phone", "the service", "the report", "our trip", "the coffee")
TEMPLATES = {
    -2.5: "I hated {s}, it was awful!",
    0.0: "{s} was discussed on Tuesday.",
    2.5: "I loved {s}, it was great.",
}


def write_toy_corpus(directory: Path) -> Path:
    """Four ``*_GroundTruth.txt`` files, 18 sentences each (6 negative, 6 neutral, 6 positive)."""
    directory.mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        rows = []
        for valence, template in TEMPLATES.items():
            for subject in SUBJECTS:
                rows.append(f"{len(rows) + 1}\t{valence}\t{template.format(s=subject).capitalize()} ({domain})\r\n")
        (directory / f"{FILE_STEMS[domain]}_GroundTruth.txt").write_text("".join(rows), encoding="utf-8", newline="")
    return directory


def training_log(epochs: int = 3, steps_per_epoch: int = 4) -> dict:
    """A small log in the recipe's layout: masked-LM pre-training, then two fine-tuning runs."""
    def run(start: float, initialised_from: str) -> dict:
        losses = [round(start - 0.02 * i, 4) for i in range(epochs * steps_per_epoch)]
        return {
            "kind": "classification",
            "initialised_from": initialised_from,
            "step_loss": losses,
            "step_lr": [0.001] * len(losses),
            "epochs": [
                {"epoch": e, "train_loss": losses[e * steps_per_epoch - 1],
                 "validation": {"loss": 1.0 - 0.05 * e, "n": 12, "accuracy": 0.4 + 0.1 * e, "macro_f1": 0.3 + 0.1 * e}}
                for e in range(1, epochs + 1)
            ],
            "best_epoch": epochs,
            "best_validation_accuracy": 0.4 + 0.1 * epochs,
        }

    return {
        "seed": 0,
        "steps_per_epoch": steps_per_epoch,
        "selected_run": "finetune_pretrained",
        "stages": {
            "pretrain": {
                "kind": "masked_lm",
                "step_loss": [round(7.0 - 0.1 * i, 4) for i in range(2 * steps_per_epoch)],
                "epochs": [{"epoch": e, "validation_mlm_loss": 6.0 - e, "validation_mlm_accuracy": 0.05 * e} for e in (1, 2)],
            },
            "finetune_pretrained": run(1.1, "masked_lm"),
            "finetune_from_scratch": run(1.2, "random"),
        },
    }


def tiny_model_with_log(directory: Path) -> Path:
    """``tiny_classifier`` (2 layers, 2 heads, up to 96 tokens) plus a ``training_log.json``."""
    tiny_classifier(directory, max_tokens=96)
    (directory / "training_log.json").write_text(json.dumps(training_log()), encoding="utf-8")
    return directory


SMALL_PARAMS = {
    "explorer_sentences": ["The film was not good.", "I loved the coffee, but the service was slow."],
    "random_qk_dims": [1, 4, 16, 64],
    "random_qk_samples": 2000,
    "model_qk_sentences": 16,
    "batch_size": 16,
    "backprop_steps": 3,
    "backprop_deep_layers": 3,
}
"""Figure parameters that keep a cold build of the tests to a few seconds."""

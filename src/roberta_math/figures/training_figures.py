"""Training curves of the model, drawn from the ``training_log.json`` its recipe wrote.

The log is read by :mod:`roberta_math.training.log` (every step's loss and, per epoch,
the validation metrics, for each stage: ``pretrain`` (masked-LM),
``finetune_pretrained`` and ``finetune_from_scratch``). When both fine-tuning runs are
there, a second figure puts them side by side (transfer learning: does pre-training
help?). A model without a log (a hub model) gets figures that say so, so the pages
that show them still build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.figures.render import PALETTE, json_bytes, svg_bytes
from roberta_math.training.log import LOG_NAME, classification_runs, read_training_log, smooth, training_summary

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

RUN_TITLES: dict[str, str] = {
    "finetune_pretrained": "fine-tuned after masked-LM pre-training",
    "finetune_from_scratch": "fine-tuned from random weights",
}


def placeholder_figure(title: str, message: str) -> bytes:
    """A small figure with a sentence in it, for a model that has no such data."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 1.6))
    ax.axis("off")
    ax.set_title(title, loc="left")
    ax.text(0.0, 0.45, message.replace("$", r"\$"), fontsize=10, ha="left", va="center", wrap=True, transform=ax.transAxes)
    return svg_bytes(fig)


def training_curves_figure(log: dict[str, Any]) -> bytes:
    """The selected run: training loss per step (raw and smoothed), validation loss, accuracy and macro-F1 per epoch."""
    import matplotlib.pyplot as plt

    runs = classification_runs(log)
    selected = log.get("selected_run") if log.get("selected_run") in runs else next(iter(runs))
    stage = runs[selected]
    steps_per_epoch = log.get("steps_per_epoch") or max(len(stage["step_loss"]) // max(len(stage["epochs"]), 1), 1)
    loss = stage["step_loss"]
    step_epochs = np.arange(1, len(loss) + 1) / steps_per_epoch
    epochs = [e["epoch"] for e in stage["epochs"]]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    ax_loss.plot(step_epochs, loss, color=PALETTE[0], alpha=0.25, linewidth=0.8, label="training loss (each step)")
    ax_loss.plot(step_epochs, smooth(loss, max(steps_per_epoch // 10, 1)), color=PALETTE[0], label="training loss (smoothed)")
    ax_loss.plot(epochs, [e["validation"]["loss"] for e in stage["epochs"]], "o-", color=PALETTE[1], label="validation loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.set_ylim(bottom=0)
    ax_loss.set_title("Loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [e["validation"]["accuracy"] for e in stage["epochs"]], "o-", color=PALETTE[2], label="accuracy")
    ax_acc.plot(epochs, [e["validation"]["macro_f1"] for e in stage["epochs"]], "s-", color=PALETTE[3], label="macro-F1")
    best = stage.get("best_epoch")
    if best is not None:
        ax_acc.axvline(best, color="0.6", linestyle=":", linewidth=1)
        # At the top of the panel, clear of the legend in its lower right corner.
        last = best == epochs[-1]
        ax_acc.text(best, 0.97, "kept " if last else " kept", color="0.4", fontsize=8, ha="right" if last else "left",
                    va="top", transform=ax_acc.get_xaxis_transform())
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation score")
    ax_acc.set_xticks(epochs)
    ax_acc.set_ylim(0, 1)
    ax_acc.set_title("Validation")
    ax_acc.legend(loc="lower right")
    fig.suptitle(f"Training the model: {RUN_TITLES.get(selected, selected)}", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return svg_bytes(fig)


def transfer_figure(log: dict[str, Any]) -> bytes:
    """Pre-trained against from-scratch fine-tuning: smoothed training loss and validation accuracy."""
    import matplotlib.pyplot as plt

    runs = classification_runs(log)
    steps_per_epoch = log.get("steps_per_epoch") or 1
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    for colour, name in zip(PALETTE, ("finetune_pretrained", "finetune_from_scratch"), strict=False):
        stage = runs[name]
        loss = stage["step_loss"]
        x = np.arange(1, len(loss) + 1) / steps_per_epoch
        ax_loss.plot(x, smooth(loss, max(steps_per_epoch // 10, 1)), color=colour, label=RUN_TITLES[name])
        epochs = [e["epoch"] for e in stage["epochs"]]
        ax_acc.plot(epochs, [e["validation"]["accuracy"] for e in stage["epochs"]], "o-", color=colour, label=RUN_TITLES[name])
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (smoothed)")
    ax_loss.set_ylim(bottom=0)
    ax_loss.set_title("Training loss")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_xticks([e["epoch"] for e in runs["finetune_pretrained"]["epochs"]])
    ax_acc.set_title("Validation accuracy")
    handles, names = ax_loss.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.02))
    pretrain = log["stages"].get("pretrain") or {}
    epochs_mlm = len(pretrain.get("epochs", []))
    fig.suptitle(f"Transfer learning: {epochs_mlm} epochs of masked-LM pre-training, then the same fine-tuning",
                 fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return svg_bytes(fig)


def pretraining_figure(log: dict[str, Any]) -> bytes:
    """The masked-LM stage: training loss per step and validation masked-token accuracy per epoch."""
    import matplotlib.pyplot as plt

    stage = log["stages"]["pretrain"]
    loss = stage["step_loss"]
    epochs = [e["epoch"] for e in stage["epochs"]]
    per_epoch = max(len(loss) // max(len(epochs), 1), 1)
    x = np.arange(1, len(loss) + 1) / per_epoch
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    ax_loss.plot(x, loss, color=PALETTE[4], alpha=0.3, linewidth=0.8, label="each step")
    ax_loss.plot(x, smooth(loss, max(per_epoch // 10, 1)), color=PALETTE[4], label="smoothed")
    ax_loss.plot(epochs, [e["validation_mlm_loss"] for e in stage["epochs"]], "o-", color=PALETTE[1], label="validation")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("masked-LM cross-entropy")
    ax_loss.set_title("Masked-LM loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [e["validation_mlm_accuracy"] for e in stage["epochs"]], "o-", color=PALETTE[2])
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("masked tokens predicted correctly")
    ax_acc.set_xticks(epochs)
    ax_acc.set_ylim(0, max([e["validation_mlm_accuracy"] for e in stage["epochs"]] + [0.01]) * 1.25)
    ax_acc.set_title("Validation masked-token accuracy")
    fig.suptitle("Pre-training with the masked-language-model objective", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return svg_bytes(fig)


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``training`` step: curves from the model directory's training log (no model run)."""
    from roberta_math.figures.cache import model_directory

    log = read_training_log(model_directory(ctx.model_name))
    name = ctx.model_name
    runs = classification_runs(log) if log else {}
    if not runs:
        why = f"The model {name} has no training log ({LOG_NAME}): it was not trained by this project's recipe."
        curves = placeholder_figure("Training curves", why)
    else:
        curves = training_curves_figure(log)
    if log and {"finetune_pretrained", "finetune_from_scratch"} <= set(runs):
        transfer = transfer_figure(log)
    else:
        transfer = placeholder_figure("Transfer learning", f"The training log of {name} has no pre-trained vs from-scratch comparison.")
    if log and log["stages"].get("pretrain", {}).get("step_loss"):
        pretraining = pretraining_figure(log)
    else:
        pretraining = placeholder_figure("Masked-LM pre-training", f"The training log of {name} has no masked-LM pre-training stage.")
    return {
        "training.json": json_bytes(training_summary(log)),
        "training_curves.svg": curves,
        "transfer_learning.svg": transfer,
        "pretraining.svg": pretraining,
    }

"""Training curves of the model, read from the ``training_log.json`` its recipe wrote.

The embedded model's recipe (:mod:`roberta_math.training.recipe`) logs every step's loss
and, per epoch, the validation metrics, for each stage: ``pretrain`` (masked-LM),
``finetune_pretrained`` and ``finetune_from_scratch``. When both fine-tuning runs are
there, a second figure puts them side by side (transfer learning: does pre-training
help?). A model without a log (a hub model) gets figures that say so, so the pages
that show them still build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roberta_math.errors import UserError
from roberta_math.figures.render import PALETTE, json_bytes, svg_bytes

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

LOG_NAME = "training_log.json"
RUN_TITLES: dict[str, str] = {
    "finetune_pretrained": "fine-tuned after masked-LM pre-training",
    "finetune_from_scratch": "fine-tuned from random weights",
}


def read_training_log(directory: Path | None) -> dict[str, Any] | None:
    """The parsed training log of a model directory, ``None`` if it has none.

    A log that exists but is not valid JSON (or has no ``stages``) is a
    :class:`~roberta_math.errors.UserError` naming the file: a figure must not
    silently drop a broken log.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> read_training_log(d) is None
    True
    >>> _ = (d / LOG_NAME).write_text("{oops")
    >>> try:
    ...     read_training_log(d)
    ... except UserError as error:
    ...     print(str(error).split(": ", 1)[0].endswith("is not valid JSON (line 1, column 2)"))
    True
    """
    if directory is None or not (directory / LOG_NAME).is_file():
        return None
    path = directory / LOG_NAME
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON (line {error.lineno}, column {error.colno}): retrain the model or remove the file") from None
    if not isinstance(log, dict) or not isinstance(log.get("stages"), dict):
        raise UserError(f"{path} has no 'stages' object: it was not written by `roberta-math train`; retrain the model or remove the file")
    return log


def smooth(values: list[float], window: int) -> np.ndarray:
    """Trailing moving average (the first points average what there is so far).

    >>> smooth([1.0, 3.0, 5.0, 7.0], 2).tolist()
    [1.0, 2.0, 4.0, 6.0]
    """
    x = np.asarray(values, dtype=float)
    if window <= 1 or len(x) == 0:
        return x
    cumulative = np.cumsum(np.insert(x, 0, 0.0))
    out = np.empty_like(x)
    for i in range(len(x)):
        start = max(0, i + 1 - window)
        out[i] = (cumulative[i + 1] - cumulative[start]) / (i + 1 - start)
    return out


def _classification_runs(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: stage for name, stage in log["stages"].items() if isinstance(stage, dict) and stage.get("kind") == "classification"}


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

    runs = _classification_runs(log)
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
        ax_acc.text(best, 0.02, "kept ", color="0.4", fontsize=8, ha="right", transform=ax_acc.get_xaxis_transform())
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

    runs = _classification_runs(log)
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


def training_summary(log: dict[str, Any] | None) -> dict[str, Any]:
    """What the figures show, per run: epochs with validation accuracy / macro-F1, the best epoch."""
    if log is None:
        return {"available": False}
    runs = {}
    for name, stage in _classification_runs(log).items():
        runs[name] = {
            "initialised_from": stage.get("initialised_from"),
            "best_epoch": stage.get("best_epoch"),
            "best_validation_accuracy": stage.get("best_validation_accuracy"),
            "epochs": [
                {"epoch": e["epoch"], "train_loss": e.get("train_loss"), "validation_loss": e["validation"].get("loss"),
                 "validation_accuracy": e["validation"].get("accuracy"), "validation_macro_f1": e["validation"].get("macro_f1")}
                for e in stage["epochs"]
            ],
        }
    pretrain = log["stages"].get("pretrain")
    return {
        "available": True,
        "selected_run": log.get("selected_run"),
        "steps_per_epoch": log.get("steps_per_epoch"),
        "runs": runs,
        "pretraining": None if not pretrain else {"epochs": pretrain.get("epochs", [])},
    }


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``training`` step: curves from the model directory's training log (no model run)."""
    from roberta_math.figures.cache import model_directory

    log = read_training_log(model_directory(ctx.model_name))
    name = ctx.model_name
    runs = _classification_runs(log) if log else {}
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

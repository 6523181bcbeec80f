"""The training log the recipe writes beside a model, read back as data.

:func:`roberta_math.training.recipe.train_embedded` writes ``training_log.json``: every
step's loss and, per epoch, the validation metrics, for each stage: ``pretrain``
(masked-LM), ``finetune_pretrained`` and ``finetune_from_scratch``. This module reads
it (:func:`read_training_log`), picks out the fine-tuning runs
(:func:`classification_runs`), summarises them (:func:`training_summary`) and smooths
a loss curve (:func:`smooth`); :mod:`roberta_math.figures.training_figures` draws them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from roberta_math.errors import UserError

LOG_NAME = "training_log.json"
"""The file name of the log in a model directory."""


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


def classification_runs(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fine-tuning stages of a training log (``kind == "classification"``), by name, in the order logged."""
    return {name: stage for name, stage in log["stages"].items() if isinstance(stage, dict) and stage.get("kind") == "classification"}


def training_summary(log: dict[str, Any] | None) -> dict[str, Any]:
    """What the figures show, per run: epochs with validation accuracy / macro-F1, the best epoch."""
    if log is None:
        return {"available": False}
    runs = {}
    for name, stage in classification_runs(log).items():
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


__all__ = ["LOG_NAME", "classification_runs", "read_training_log", "smooth", "training_summary"]

r"""The project's own, seeded recipe for the embedded RoBERTa sentiment classifier.

Stages (each seeded on its own, so any one of them can be rerun alone):

1. **Tokenizer.** Byte-level BPE with RoBERTa's special tokens, learnt from the
   training split only (:mod:`roberta_math.training.tokenizer`).
2. **Masked-LM pre-training** (optional, ``pretrain_epochs > 0``).
   ``RobertaForMaskedLM`` on the training-split texts (and, with ``pretrain_text="train+wordnet"``,
   the default, WordNet 3.0's 170,865 glosses and example sentences from Debian's
   ``wordnet-base``: :mod:`roberta_math.data.wordnet`) with RoBERTa's dynamic 80/10/10
   masking (:func:`~roberta_math.training.masking.mask_tokens`); the loss is the mean
   cross-entropy over the chosen positions :math:`\mathcal M`,
   $$ \mathcal L_{\text{MLM}} = -\frac{1}{|\mathcal M|} \sum_{t \in \mathcal M} \log p_t[x_t], \qquad
      p_t = \operatorname{softmax}\!\Big(\operatorname{LayerNorm}\big(\operatorname{GELU}(X^{(L)}_t W_\text{lm}^\top + b_\text{lm})\big)\, E^{\text{tok}\top} + b_\text{dec}\Big), $$
   the head of ``RobertaLMHead`` in transformers' ``modeling_roberta.py``: a dense layer,
   GELU and LayerNorm, then a decoder whose weight is tied to the word embeddings
   :math:`E^\text{tok}`.
3. **Fine-tuning.** ``RobertaForSequenceClassification`` (encoder initialised from
   stage 2, classification head fresh) minimising the class-weighted cross-entropy
   $$ \mathcal L = -\frac{\sum_{(x, y) \in \text{batch}} w_y \log \operatorname{softmax}\big(z(x)\big)_{y}}
                         {\sum_{(x, y) \in \text{batch}} w_y}, \qquad w_c = \frac{N}{C\,N_c}, $$
   where :math:`z(x) \in \mathbb R^C` are the logits of sentence :math:`x`, read off its
   ``<s>`` row, :math:`y` its class, :math:`N_c` the number of training sentences of class
   :math:`c` (``class_weighting="balanced"``, the default; with ``"none"`` every
   :math:`w_c = 1` and this is the plain mean; the normalisation by :math:`\sum w_y` is
   PyTorch's ``cross_entropy(weight=...)``; symbols: the site's notation page).
   With pre-training on, the same fine-tuning also runs from random weights so the
   two learning curves can be compared.

Every epoch is scored on the validation split; the shipped weights are the epoch (and
run) with the best validation macro-F1 (neutral is rare, so accuracy alone would favour
a model that never says neutral; ties go to accuracy). The test split is touched once, at the end, to
write ``metrics.json``. Before that, the softmax temperature :math:`\tau` is fitted on
the validation split (:func:`~roberta_math.evaluation.calibration.fit_temperature`) and
written to ``calibration.json``; every scorer divides the logits by it. AdamW with a linear warm-up over the first 10 % of steps and a
linear decay to 0; batches of 64 similar-length sentences padded to their longest member; ``torch`` seeded and
held to a fixed thread count (results are bit-identical for the same seed and thread
count on the same machine).
"""

from __future__ import annotations

import copy
import json
import math
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from roberta_math.cache import atomic_write_text
from roberta_math.evaluation.calibration import fit_temperature, negative_log_likelihood, reliability_bins, softmax_rows
from roberta_math.model.loading import CALIBRATION_FILE
from roberta_math.data import corpus
from roberta_math.labels import LABELS
from roberta_math.training.masking import IGNORE_INDEX, mask_tokens
from roberta_math.training.metrics import classification_metrics, metrics_by_domain

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase, RobertaConfig


@dataclass(frozen=True)
class Recipe:
    """Every setting of the recipe; ``metrics.json`` and the model card record all of them.

    >>> Recipe().hidden_size, Recipe(finetune_epochs=2).finetune_epochs
    (128, 2)
    """

    seed: int = 0
    num_threads: int = 1  # one thread: no oversubscription on a busy 2-core machine; results are bit-identical per thread count
    vocab_size: int = 8000
    max_tokens: int = 128  # <s> and </s> included
    num_layers: int = 2
    hidden_size: int = 128
    num_heads: int = 4
    ffn_size: int = 512
    dropout: float = 0.1
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    grad_clip_norm: float = 1.0
    pretrain_epochs: int = 1  # one pass over the training texts and WordNet's glosses (recipe search: training/search.py)
    pretrain_learning_rate: float = 1e-3
    mask_probability: float = 0.15
    finetune_epochs: int = 4
    compare_from_scratch: bool = True
    limit: int | None = None  # at most this many sentences per split (for quick trials)
    label_smoothing: float = 0.0  # epsilon of the smoothed cross-entropy (0: plain cross-entropy)
    class_weighting: str = "balanced"  # "none" or "balanced": weight_c = N / (C N_c) in the loss
    pretrain_text: str = "train+wordnet"  # "train", or "train+wordnet": add WordNet's glosses (data/wordnet.py)
    tokenizer_text: str = "train"  # the text the BPE merges are learnt from: "train" or "train+wordnet"


def roberta_config(recipe: Recipe, vocab_size: int) -> "RobertaConfig":
    """The compact RoBERTa configuration, with RoBERTa's special-token ids and our labels.

    ``max_position_embeddings`` is ``max_tokens + 2``: RoBERTa numbers positions from
    ``pad_token_id + 1 = 2`` (position ids 0 and 1 are never used by real tokens).

    >>> c = roberta_config(Recipe(), vocab_size=8000)
    >>> c.max_position_embeddings, c.pad_token_id, c.id2label[2]
    (130, 1, 'positive')
    """
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=vocab_size,
        hidden_size=recipe.hidden_size,
        num_hidden_layers=recipe.num_layers,
        num_attention_heads=recipe.num_heads,
        intermediate_size=recipe.ffn_size,
        hidden_act="gelu",
        hidden_dropout_prob=recipe.dropout,
        attention_probs_dropout_prob=recipe.dropout,
        max_position_embeddings=recipe.max_tokens + 2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
        problem_type="single_label_classification",
    )


# --------------------------------------------------------------------------- batching


def _pad(encoded: Sequence[Sequence[int]], rows: Sequence[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad the chosen rows to their longest member: ``(input_ids, attention_mask)``."""
    width = max(len(encoded[r]) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)  # (batch, seq)
    for k, r in enumerate(rows):
        ids[k, : len(encoded[r])] = torch.tensor(encoded[r], dtype=torch.long)
    return ids, (ids != pad_id).long()


def shuffled_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[list[int]]:
    """Random batches of similar-length rows: shuffle, sort within pools, shuffle the batches.

    Rows are shuffled, cut into pools of ``pool * batch_size``, each pool is sorted by
    length and cut into batches, and the order of all batches is shuffled. Every row
    appears exactly once per epoch; padding (and so compute) drops about 2.4x on this
    corpus compared with purely random batches, while batch contents still change
    from epoch to epoch.

    >>> g = torch.Generator().manual_seed(0)
    >>> batches = shuffled_batches([5, 1, 4, 2, 3, 6], 2, g, pool=3)
    >>> sorted(i for b in batches for i in b), [len(b) for b in batches]
    ([0, 1, 2, 3, 4, 5], [2, 2, 2])
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    span = pool * batch_size
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])  # stable: ties keep shuffled order
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    permutation = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in permutation]


def _length_sorted_batches(encoded: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    # Evaluation only: similar lengths together means little padding.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float, total_steps: int, warmup_fraction: float):
    # No decay on biases and LayerNorm weights (decaying a LayerNorm gain towards 0 is pointless).
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 else decay).append(parameter)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    warmup = max(1, round(warmup_fraction * total_steps))

    def factor(step: int) -> float:  # linear warm-up, then linear decay to 0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --------------------------------------------------------------------------- stages


def _mlm_loss(model: Any, ids: torch.Tensor, attention: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked-LM loss computed on the target positions only (the vocabulary projection is the cost)."""
    hidden = model.roberta(input_ids=ids, attention_mask=attention).last_hidden_state  # (batch, seq, hidden)
    chosen = labels != IGNORE_INDEX  # (batch, seq)
    logits = model.lm_head(hidden[chosen])  # (targets, vocab)
    target = labels[chosen]  # (targets,)
    return torch.nn.functional.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean()


def pretrain_masked_lm(
    config: "RobertaConfig",
    tokenizer: "PreTrainedTokenizerBase",
    train_ids: Sequence[Sequence[int]],
    validation_ids: Sequence[Sequence[int]],
    recipe: Recipe,
    progress: bool = True,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Masked-LM pre-training; returns the encoder's state dict and the stage's log.

    The log holds the loss of every step, and per epoch the masked-token loss and
    accuracy on the validation texts under one fixed masking (so epochs compare).
    """
    from transformers import RobertaForMaskedLM

    torch.manual_seed(recipe.seed)
    model = RobertaForMaskedLM(config)
    model.train()
    batch_gen = torch.Generator().manual_seed(recipe.seed)
    mask_gen = torch.Generator().manual_seed(recipe.seed + 1)
    steps_per_epoch = math.ceil(len(train_ids) / recipe.batch_size)
    optimizer, schedule = _optimizer(
        model, recipe.pretrain_learning_rate, recipe.weight_decay,
        steps_per_epoch * recipe.pretrain_epochs, recipe.warmup_fraction,
    )
    masking = dict(
        mask_token_id=tokenizer.mask_token_id, vocab_size=config.vocab_size,
        special_ids=tokenizer.all_special_ids, probability=recipe.mask_probability,
    )
    train_lengths = [len(x) for x in train_ids]
    log: dict[str, Any] = {"kind": "masked_lm", "step_loss": [], "epochs": []}
    start = time.perf_counter()
    for epoch in range(1, recipe.pretrain_epochs + 1):
        bar = tqdm(shuffled_batches(train_lengths, recipe.batch_size, batch_gen),
                   desc=f"pre-train (masked LM) {epoch}/{recipe.pretrain_epochs}",
                   disable=not progress, leave=False, file=sys.stderr)
        for rows in bar:
            ids, attention = _pad(train_ids, rows, config.pad_token_id)
            corrupted, labels = mask_tokens(ids, generator=mask_gen, **masking)
            if not bool((labels != IGNORE_INDEX).any()):
                continue  # nothing chosen (tiny batches only): no loss to learn from
            loss, _ = _mlm_loss(model, corrupted, attention, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip_norm)
            optimizer.step()
            schedule.step()
            log["step_loss"].append(round(loss.item(), 4))
            bar.set_postfix(loss=f"{loss.item():.3f}")
        log["epochs"].append({"epoch": epoch, **_mlm_validation(model, validation_ids, config, masking, recipe)})
    log["wall_seconds"] = round(time.perf_counter() - start, 1)
    return {k: v.detach().clone() for k, v in model.roberta.state_dict().items()}, log


@torch.inference_mode()
def _mlm_validation(model: Any, ids_list, config, masking: dict, recipe: Recipe) -> dict[str, float]:
    model.eval()
    generator = torch.Generator().manual_seed(recipe.seed + 2)  # the same masks every epoch
    total_loss = total_correct = total = 0.0
    for rows in _length_sorted_batches(ids_list, 256):
        ids, attention = _pad(ids_list, rows, config.pad_token_id)
        corrupted, labels = mask_tokens(ids, generator=generator, **masking)
        count = int((labels != IGNORE_INDEX).sum())
        if count == 0:
            continue
        loss, accuracy = _mlm_loss(model, corrupted, attention, labels)
        total_loss += loss.item() * count
        total_correct += accuracy.item() * count
        total += count
    model.train()
    return {
        "validation_mlm_loss": round(total_loss / max(total, 1), 4),
        "validation_mlm_accuracy": round(total_correct / max(total, 1), 4),
    }


@torch.inference_mode()
def predict_logits(model: Any, encoded: Sequence[Sequence[int]], pad_id: int = 1, batch_size: int = 256) -> torch.Tensor:
    """Logits :math:`z` for token-id lists, shape ``(n, C)``, rows in input order (length-sorted batches)."""
    was_training = model.training
    model.eval()
    out = torch.empty(len(encoded), model.config.num_labels)
    for rows in _length_sorted_batches(encoded, batch_size):
        ids, attention = _pad(encoded, rows, pad_id)
        out[rows] = model(input_ids=ids, attention_mask=attention).logits.float()  # (batch, C)
    model.train(was_training)
    return out


@torch.inference_mode()
def predict_probabilities(model: Any, encoded: Sequence[Sequence[int]], pad_id: int = 1, batch_size: int = 256) -> torch.Tensor:
    r"""Class probabilities :math:`\operatorname{softmax}(z)` for token-id lists, shape ``(n, 3)``.

    Batches are length-sorted (less padding); rows come back in input order.

    >>> from transformers import RobertaForSequenceClassification
    >>> _ = torch.manual_seed(0)
    >>> m = RobertaForSequenceClassification(roberta_config(Recipe(num_layers=1), vocab_size=50)).eval()
    >>> p = predict_probabilities(m, [[0, 7, 8, 2], [0, 9, 2]])
    >>> p.shape, bool(torch.allclose(p.sum(-1), torch.ones(2)))
    (torch.Size([2, 3]), True)
    """
    was_training = model.training
    model.eval()
    out = torch.empty(len(encoded), model.config.num_labels)
    for rows in _length_sorted_batches(encoded, batch_size):
        ids, attention = _pad(encoded, rows, pad_id)
        out[rows] = model(input_ids=ids, attention_mask=attention).logits.float().softmax(-1)  # (batch, 3)
    model.train(was_training)
    return out


def _evaluate(model: Any, encoded, sentences: Sequence[corpus.Sentence], pad_id: int) -> dict[str, Any]:
    probs = predict_probabilities(model, encoded, pad_id)  # (n, 3)
    labels = [s.label for s in sentences]
    loss = torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(), torch.tensor(labels)).item()
    polarity = (probs[:, 2] - probs[:, 0]).tolist()
    metrics = classification_metrics(labels, probs.argmax(-1).tolist(), polarity, [s.valence for s in sentences])
    return {"loss": round(loss, 4), **metrics}


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    r"""Per-class loss weights $w_c = N / (C\,N_c)$ (scikit-learn's ``"balanced"``), shape ``(C,)``.

    With these weights every class contributes equally to the expected loss, so the rare
    neutral class is not drowned out. Raises ``ValueError`` if a class has no example.

    >>> class_weights(torch.tensor([0, 0, 0, 1, 2, 2]), 3).tolist()
    [0.6666666865348816, 2.0, 1.0]
    """
    counts = torch.bincount(labels, minlength=num_classes).float()  # (C,)
    if bool((counts == 0).any()):
        raise ValueError(f"class_weighting='balanced' needs every class in the training labels; counts {counts.tolist()}")
    return len(labels) / (num_classes * counts)


def finetune(
    config: "RobertaConfig",
    train_ids: Sequence[Sequence[int]],
    train: Sequence[corpus.Sentence],
    validation_ids: Sequence[Sequence[int]],
    validation: Sequence[corpus.Sentence],
    recipe: Recipe,
    encoder_state: dict[str, torch.Tensor] | None = None,
    name: str = "finetune",
    progress: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune a classifier; return the model of the best validation epoch and the stage's log.

    "Best" is the highest validation macro-F1, ties broken by accuracy, then the earlier epoch.

    ``encoder_state`` (from :func:`pretrain_masked_lm`) initialises the encoder; without
    it training starts from random weights. The log holds every step's loss and learning
    rate and, per epoch, the mean training loss and the validation metrics.
    """
    from transformers import RobertaForSequenceClassification

    torch.manual_seed(recipe.seed)
    model = RobertaForSequenceClassification(config)
    if encoder_state is not None:
        model.roberta.load_state_dict(encoder_state)
    model.train()
    labels = torch.tensor([s.label for s in train])
    weight = class_weights(labels, len(config.id2label)) if recipe.class_weighting == "balanced" else None
    generator = torch.Generator().manual_seed(recipe.seed)
    steps_per_epoch = math.ceil(len(train_ids) / recipe.batch_size)
    optimizer, schedule = _optimizer(
        model, recipe.learning_rate, recipe.weight_decay, steps_per_epoch * recipe.finetune_epochs, recipe.warmup_fraction
    )
    log: dict[str, Any] = {
        "kind": "classification", "initialised_from": "masked_lm" if encoder_state is not None else "random",
        "step_loss": [], "step_lr": [], "epochs": [],
    }
    train_lengths = [len(x) for x in train_ids]
    best: tuple[tuple[float, float], int, dict[str, torch.Tensor]] | None = None
    start = time.perf_counter()
    for epoch in range(1, recipe.finetune_epochs + 1):
        losses = []
        bar = tqdm(shuffled_batches(train_lengths, recipe.batch_size, generator),
                   desc=f"{name} {epoch}/{recipe.finetune_epochs}", disable=not progress, leave=False, file=sys.stderr)
        for rows in bar:
            ids, attention = _pad(train_ids, rows, config.pad_token_id)
            logits = model(input_ids=ids, attention_mask=attention).logits  # (batch, 3)
            loss = torch.nn.functional.cross_entropy(logits, labels[rows], weight=weight,
                                                     label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip_norm)
            log["step_lr"].append(float(f"{schedule.get_last_lr()[0]:.3g}"))
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            log["step_loss"].append(round(loss.item(), 4))
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scores = _evaluate(model, validation_ids, validation, config.pad_token_id)
        log["epochs"].append({"epoch": epoch, "train_loss": round(sum(losses) / len(losses), 4), "validation": scores})
        key = (scores["macro_f1"], scores["accuracy"])
        if best is None or key > best[0]:
            best = (key, epoch, copy.deepcopy(model.state_dict()))
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()
    log["best_epoch"] = best[1]
    log["selection"] = "validation macro_f1, then accuracy"
    log["best_validation"] = log["epochs"][best[1] - 1]["validation"]
    log["best_validation_accuracy"] = log["best_validation"]["accuracy"]
    log["wall_seconds"] = round(time.perf_counter() - start, 1)
    return model, log


# --------------------------------------------------------------------------- the whole recipe


def vader_compound(texts: Sequence[str]) -> list[float]:
    """VADER's compound score in [-1, 1] for each text (the rule-based baseline).

    >>> [round(c, 2) for c in vader_compound(["I love it", "meh", "This is awful"])]
    [0.64, -0.08, -0.46]
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [analyzer.polarity_scores(t)["compound"] for t in texts]


def _subset(sentences: list[corpus.Sentence], limit: int | None, seed: int) -> list[corpus.Sentence]:
    if limit is None or limit >= len(sentences):
        return sentences
    keep = set(random.Random(seed).sample(range(len(sentences)), limit))
    return [s for i, s in enumerate(sentences) if i in keep]


TEXT_CHOICES = ("train", "train+wordnet")


def _extra_text(recipe: Recipe) -> list[str]:
    """The unlabelled sentences beyond the training split that the recipe asks for (may be none)."""
    for field_name in ("pretrain_text", "tokenizer_text"):
        if getattr(recipe, field_name) not in TEXT_CHOICES:
            raise ValueError(f"{field_name} must be one of {TEXT_CHOICES}, not {getattr(recipe, field_name)!r}")
    if recipe.class_weighting not in ("none", "balanced"):
        raise ValueError(f"class_weighting must be 'none' or 'balanced', not {recipe.class_weighting!r}")
    if "train+wordnet" not in (recipe.pretrain_text, recipe.tokenizer_text):
        return []
    from roberta_math.data.wordnet import wordnet_sentences

    return wordnet_sentences()


ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (as in Guo et al. 2017)."""


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict[str, float]:
    """NLL and ECE (15 bins) of ``softmax(z)`` and of ``softmax(z / temperature)``, rounded to 4 digits.

    >>> z = np.array([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    >>> r = calibration_report(z, np.array([0, 0, 1, 1]), 4 / np.log(3))
    >>> r["ece_before"], r["ece_after"]   # confidence 0.982 with 75 % right, then 0.75 with 75 % right
    (0.232, 0.0)
    """
    report = {}
    for when, t in (("before", 1.0), ("after", temperature)):
        report[f"nll_{when}"] = round(negative_log_likelihood(logits, labels, t), 4)
        report[f"ece_{when}"] = round(reliability_bins(softmax_rows(logits, t), labels, ECE_BINS)["ece"], 4)
    return report


def _versions() -> dict[str, str]:
    import tokenizers
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "platform": platform.platform(),
    }


def train_embedded(
    out_dir: Path,
    *,
    seed: int = 0,
    pretrain_epochs: int = Recipe.pretrain_epochs,
    finetune_epochs: int = Recipe.finetune_epochs,
    progress: bool = True,
    source: str | Path | None = None,
    limit: int | None = None,
    recipe: Recipe | None = None,
) -> dict[str, Any]:
    """Run the whole recipe and write the model directory; return the metrics dict.

    Writes into ``out_dir``: ``model.safetensors``, ``config.json``, the tokenizer files,
    ``training_log.json``, ``metrics.json`` and ``MODEL_CARD.md``. Files are assembled in
    a scratch directory and moved in at the end, so a failed run leaves ``out_dir`` as
    it was. ``limit`` caps each split's size (quick trials and tests); ``recipe``
    overrides any other setting (``seed``, epochs and ``limit`` given here win).

    The result loads with ``AutoModelForSequenceClassification.from_pretrained(out_dir)``
    and ``AutoTokenizer.from_pretrained(out_dir)``.
    """
    from transformers.utils import logging as hf_logging

    from roberta_math.training.model_card import render_model_card
    from roberta_math.training.tokenizer import save_tokenizer, train_bpe

    recipe = replace(recipe or Recipe(), seed=seed, pretrain_epochs=pretrain_epochs,
                     finetune_epochs=finetune_epochs, limit=limit)
    out_dir = Path(out_dir)
    hf_logging.disable_progress_bar()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(recipe.num_threads)
    wall: dict[str, float] = {}
    started = time.perf_counter()
    try:
        # -- data
        every = corpus.load_corpus(source)
        parts = corpus.split_corpus(every)
        fingerprint = corpus.split_fingerprint(parts)
        train = _subset(parts["train"], recipe.limit, recipe.seed)
        validation = _subset(parts["validation"], recipe.limit, recipe.seed)
        test = _subset(parts["test"], recipe.limit, recipe.seed)

        # -- tokenizer (training split only)
        t = time.perf_counter()
        extra_text = _extra_text(recipe)
        tokenizer_texts = [s.text for s in train] + (extra_text if recipe.tokenizer_text == "train+wordnet" else [])
        tokenizer = train_bpe(tokenizer_texts, vocab_size=recipe.vocab_size)
        wall["tokenizer"] = round(time.perf_counter() - t, 1)

        def encode(rows: Sequence[corpus.Sentence]) -> list[list[int]]:
            return tokenizer([s.text for s in rows], truncation=True, max_length=recipe.max_tokens)["input_ids"]

        train_ids, validation_ids, test_ids = encode(train), encode(validation), encode(test)
        config = roberta_config(recipe, vocab_size=len(tokenizer))
        stages: dict[str, Any] = {}

        # -- optional masked-LM pre-training, then fine-tuning (and the from-scratch control)
        encoder_state = None
        if recipe.pretrain_epochs > 0:
            pretrain_ids = train_ids
            if recipe.pretrain_text == "train+wordnet":
                pretrain_ids = train_ids + tokenizer(extra_text, truncation=True, max_length=recipe.max_tokens)["input_ids"]
            encoder_state, stages["pretrain"] = pretrain_masked_lm(
                config, tokenizer, pretrain_ids, validation_ids, recipe, progress)
            stages["pretrain"]["sentences"] = len(pretrain_ids)
            wall["pretrain"] = stages["pretrain"]["wall_seconds"]
        candidates = {}
        runs = [("finetune_pretrained", encoder_state)] if encoder_state is not None else []
        if encoder_state is None or recipe.compare_from_scratch:
            runs.append(("finetune_from_scratch", None))
        for name, state in runs:
            label = "fine-tune" if state is not None else "fine-tune (from scratch)"
            model, stages[name] = finetune(config, train_ids, train, validation_ids, validation, recipe,
                                           encoder_state=state, name=label, progress=progress)
            wall[name] = stages[name]["wall_seconds"]
            candidates[name] = model
        # Model selection on validation only (ties go to the pre-trained run, listed first).
        selected = max(candidates, key=lambda n: (stages[n]["best_validation"]["macro_f1"],
                                                  stages[n]["best_validation"]["accuracy"]))
        model = candidates[selected]

        # -- the softmax temperature, fitted on the validation split (Guo et al. 2017, section 4.2)
        validation_logits = predict_logits(model, validation_ids, config.pad_token_id).double().numpy()  # (n_val, 3)
        validation_labels = np.array([s.label for s in validation])
        temperature = fit_temperature(validation_logits, validation_labels)

        # -- the test split, once
        t = time.perf_counter()
        test_logits = predict_logits(model, test_ids, config.pad_token_id).double().numpy()  # (n_test, 3)
        probs = torch.from_numpy(softmax_rows(test_logits, temperature))  # (n_test, 3), as predict prints them
        calibration = {
            "method": "temperature scaling (Guo et al. 2017, section 4.2): p = softmax(z / tau), tau fitted on the validation split by minimising its NLL",
            "temperature": temperature,
            "ece_bins": ECE_BINS,
            **{split: calibration_report(z, y, temperature) for split, z, y in (
                ("validation", validation_logits, validation_labels),
                ("test", test_logits, np.array([s.label for s in test])))},
        }
        domains = [s.domain for s in test]
        labels = [s.label for s in test]
        confusion = [[0] * len(LABELS) for _ in LABELS]  # rows: true class, columns: predicted
        for truth, guess in zip(labels, probs.argmax(-1).tolist()):
            confusion[truth][guess] += 1
        valence = [s.valence for s in test]
        test_metrics = metrics_by_domain(domains, labels, probs.argmax(-1).tolist(),
                                         (probs[:, 2] - probs[:, 0]).tolist(), valence, order=corpus.DOMAINS)
        compound = vader_compound([s.text for s in test])
        vader_labels = [0 if c <= -corpus.NEUTRAL_BAND else 2 if c >= corpus.NEUTRAL_BAND else 1 for c in compound]
        vader_metrics = metrics_by_domain(domains, labels, vader_labels, compound, valence, order=corpus.DOMAINS)
        wall["evaluation"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        tfidf = tfidf_baseline([s.text for s in train], [s.label for s in train], [s.text for s in test])  # (n_test, 3)
        tfidf_metrics = metrics_by_domain(domains, labels, tfidf.argmax(-1).tolist(),
                                          (tfidf[:, 2] - tfidf[:, 0]).tolist(), valence, order=corpus.DOMAINS)
        wall["tfidf_baseline"] = round(time.perf_counter() - t, 1)
        train_texts = {s.text for s in train}
        checksums = corpus.corpus_checksums(source)

        metrics: dict[str, Any] = {
            "model": {
                "architecture": "RobertaForSequenceClassification",
                "parameters": sum(p.numel() for p in model.parameters()),
                "vocab_size": config.vocab_size,
                "selected_run": selected,
                "best_epoch": stages[selected]["best_epoch"],
            },
            "test": test_metrics,
            "calibration": calibration,
            "test_confusion": {"rows_true_columns_predicted": list(LABELS), "counts": confusion},
            "vader_test": vader_metrics,
            "tfidf_logreg_test": tfidf_metrics,
            "validation": stages[selected]["epochs"][stages[selected]["best_epoch"] - 1]["validation"],
            "split": {
                "seed": corpus.SPLIT_SEED,
                "algorithm": "per (domain, label) group: order by sha256('{seed}/{domain}/{id}'); "
                             "first floor(n/10+1/2) test, next as many validation, rest train",
                "fingerprint_sha256": fingerprint,
                "sizes": {k: len(v) for k, v in parts.items()},
                "used_sizes": {"train": len(train), "validation": len(validation), "test": len(test)},
                "test_texts_also_in_train": sum(s.text in train_texts for s in test),
            },
            "corpus": {
                "citation": corpus.CITATION,
                "source": f"{corpus.SDIST_REQUIREMENT} sdist, additional_resources/hutto_ICWSM_2014.tar.gz",
                "sdist_sha256": corpus.SDIST_SHA256,
                "ground_truth_sha256": checksums,
                "is_published_corpus": checksums == corpus.PUBLISHED_SHA256,
            },
            "seeds": {"training": recipe.seed, "split": corpus.SPLIT_SEED},
            "recipe": asdict(recipe),
            "num_threads": recipe.num_threads,
            "versions": _versions(),
            "wall_seconds": wall,
        }
        training_log = {
            "seed": recipe.seed,
            "num_threads": recipe.num_threads,
            "recipe": asdict(recipe),
            "steps_per_epoch": math.ceil(len(train_ids) / recipe.batch_size),
            "selected_run": selected,
            "stages": stages,
        }

        # -- write everything into a scratch directory, then move it in
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}-") as scratch_name:
            scratch = Path(scratch_name)
            model.save_pretrained(str(scratch))
            save_tokenizer(tokenizer, scratch)
            atomic_write_text(scratch / CALIBRATION_FILE, json.dumps({
                "temperature": temperature,
                "fitted_on": f"validation split ({len(validation)} sentences)",
                "method": calibration["method"],
                "validation_nll": {"before": calibration["validation"]["nll_before"], "after": calibration["validation"]["nll_after"]},
            }, indent=2) + "\n")
            wall["total"] = round(time.perf_counter() - started, 1)
            atomic_write_text(scratch / "training_log.json", json.dumps(training_log, indent=1) + "\n")
            atomic_write_text(scratch / "metrics.json", json.dumps(metrics, indent=2) + "\n")
            atomic_write_text(scratch / "MODEL_CARD.md", render_model_card(metrics, training_log))
            for item in scratch.iterdir():
                if item.is_file():
                    item.chmod(0o644)  # temporary files are private; shipped files are not
                    shutil.move(str(item), str(out_dir / item.name))
        return metrics
    finally:
        torch.set_num_threads(threads_before)


def tfidf_baseline(
    train_texts: Sequence[str], train_labels: Sequence[int], texts: Sequence[str]
) -> torch.Tensor:
    r"""Class probabilities from TF-IDF n-grams + logistic regression, shape ``(n, 3)``.

    The same baseline as ``roberta-math compare``'s ``tfidf_logreg`` (see
    :mod:`roberta_math.evaluation.baseline`), fitted on ``train_texts`` only, with
    fixed settings not tuned on any split.

    >>> p = tfidf_baseline(["good film", "bad film", "a film"] * 5, [2, 0, 1] * 5, ["good", "bad"])
    >>> p.argmax(-1).tolist()
    [2, 0]
    """
    from roberta_math.evaluation.baseline import tfidf_logreg_probabilities

    return torch.as_tensor(tfidf_logreg_probabilities(train_texts, train_labels, texts)).float()

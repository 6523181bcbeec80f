r"""Figures of the backpropagation page, from a real fine-tuning run computed with the from-scratch backward.

The run: the embedded model's recipe (:mod:`roberta_math.training.recipe`: its architecture,
seeded initialisation, length-pooled batches of 64, AdamW with warm-up and linear decay,
clipping at 1.0) on the training split, for ``FigureParams.backprop_steps`` steps, every gradient from
:func:`~roberta_math.model.backward.gradients_from_scratch` and every update from
:func:`~roberta_math.training.optimizer.adamw_step` (dropout off). Along the way it records
the gradient norm of each parameter group and of the hidden states between layers.

Two checks go with it, computed on the loaded model's own weights and one batch of real
sentences: the largest difference to autograd (float32 and float64), and the FLOPs of the
forward and backward passes counted by ``torch.utils.flop_counter.FlopCounterMode``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from roberta_math.figures.build import one_torch_thread
from roberta_math.figures.render import (
    PALETTE,
    json_bytes,
    markdown_table,
    round_floats,
    svg_bytes,
)

if TYPE_CHECKING:  # pragma: no cover
    from roberta_math.figures.build import StepContext

CHECK_SENTENCES = 16


def parameter_group(name: str) -> tuple[str, str]:
    """``(block, group)`` of a state-dict name: the block is the embeddings, a layer or the head.

    >>> parameter_group("roberta.encoder.layer.1.attention.self.key.weight")
    ('layer 2', 'query, key')
    >>> parameter_group("roberta.embeddings.word_embeddings.weight")
    ('embeddings', 'token table')
    >>> parameter_group("classifier.out_proj.bias")
    ('head', 'out_proj')
    """
    if name.startswith("classifier."):
        return "head", name.split(".")[1]
    if ".embeddings." in name or name.startswith("embeddings."):
        table = {"word_embeddings": "token table", "position_embeddings": "position table",
                 "token_type_embeddings": "token-type table", "LayerNorm": "LayerNorm"}
        return "embeddings", table[name.split("embeddings.", 1)[1].split(".")[0]]
    layer = int(name.split("layer.")[1].split(".")[0])
    if "LayerNorm" in name:
        group = "LayerNorms"
    elif ".attention.self.value." in name:
        group = "value"
    elif ".attention.self." in name:
        group = "query, key"
    elif ".attention.output." in name:
        group = "attention output"
    else:
        group = "feed-forward"
    return f"layer {layer + 1}", group


def _batch_stream(encoded: list[list[int]], labels: torch.Tensor, batch_size: int, seed: int, pad_id: int):
    from roberta_math.training.recipe import _pad, shuffled_batches

    generator = torch.Generator().manual_seed(seed)
    lengths = [len(x) for x in encoded]
    while True:  # epoch after epoch, reshuffled, as the recipe does
        for rows in shuffled_batches(lengths, batch_size, generator):
            ids, mask = _pad(encoded, rows, pad_id)
            yield ids, mask, labels[rows]


def finetune_run(tokenizer: Any, texts: list[str], labels: list[int], steps: int) -> dict[str, Any]:
    """Run the recipe's first ``steps`` fine-tuning steps from scratch and record the gradients' norms."""
    from itertools import islice

    from transformers import RobertaForSequenceClassification

    from roberta_math.training.optimizer import finetune_from_scratch
    from roberta_math.training.recipe import Recipe, roberta_config

    recipe = Recipe()
    config = roberta_config(recipe, vocab_size=len(tokenizer))
    torch.manual_seed(recipe.seed)
    model = RobertaForSequenceClassification(config).eval()  # a store of weights only; never called
    encoded = tokenizer(texts, truncation=True, max_length=recipe.max_tokens)["input_ids"]
    stream = _batch_stream(encoded, torch.tensor(labels), recipe.batch_size, recipe.seed, config.pad_token_id)
    groups: dict[str, dict[str, list[float]]] = {}
    hidden: list[list[float]] = []
    paths: list[dict[str, list[float]]] = []

    def on_step(step: int, loss: torch.Tensor, grads: dict[str, torch.Tensor], record: dict[str, list]) -> None:
        squares: dict[tuple[str, str], float] = {}
        for name, g in grads.items():
            key = parameter_group(name)
            squares[key] = squares.get(key, 0.0) + float(g.double().pow(2).sum())
        for (block, group), total in squares.items():
            groups.setdefault(block, {}).setdefault(group, []).append(total**0.5)
        hidden.append([float(torch.linalg.vector_norm(h)) for h in record["hidden"]])  # layer L down to 0
        paths.append({k: [float(torch.linalg.vector_norm(p[k])) for p in record["paths"]] for k in
                      ("ffn_skip", "ffn_branch", "attention_skip", "attention_branch")})

    log = finetune_from_scratch(model, islice(stream, steps), recipe, total_steps=steps, on_step=on_step)
    return {
        "steps": steps,
        "num_layers": config.num_hidden_layers,
        "recipe": {"batch_size": recipe.batch_size, "learning_rate": recipe.learning_rate,
                   "warmup_fraction": recipe.warmup_fraction, "grad_clip_norm": recipe.grad_clip_norm},
        "loss": log["step_loss"],
        "lr": log["step_lr"],
        "grad_norm": log["grad_norm"],
        "groups": groups,
        "hidden": hidden,
        "paths": paths,
    }


def deep_profile(vocab_size: int, encoded: list[list[int]], labels: list[int], layers: int) -> list[float]:
    r"""$\|\partial\mathcal{L}/\partial X^{(\ell)}\|$ for $\ell = L, \ldots, 0$ in a freshly initialised post-LN model of ``layers`` layers."""
    from transformers import RobertaForSequenceClassification

    from roberta_math.model.backward import gradients_from_scratch
    from roberta_math.training.recipe import Recipe, _pad, roberta_config

    recipe = replace(Recipe(), num_layers=layers)
    config = roberta_config(recipe, vocab_size=vocab_size)
    torch.manual_seed(recipe.seed)
    model = RobertaForSequenceClassification(config).eval()
    rows = list(range(min(recipe.batch_size, len(encoded))))
    ids, mask = _pad(encoded, rows, config.pad_token_id)
    record: dict[str, list] = {}
    gradients_from_scratch(model, ids, mask, torch.tensor(labels)[rows], record)
    return [float(torch.linalg.vector_norm(h)) for h in record["hidden"]]


def autograd_check(model: Any, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """Largest per-tensor relative difference ``||ours - autograd|| / ||autograd||`` in float32 and float64.

    Tensors whose autograd gradient is zero up to rounding (the key biases) are left out of
    the ratio; see the page.
    """
    import copy

    from roberta_math.model.backward import gradients_from_scratch

    out: dict[str, Any] = {}
    for dtype in (torch.float32, torch.float64):
        m = copy.deepcopy(model).to(dtype).eval()
        m.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(input_ids=ids, attention_mask=mask).logits, labels).backward()
        reference = {n: p.grad.detach() for n, p in m.named_parameters()}
        _, grads = gradients_from_scratch(m, ids, mask, labels)
        scale = 1000 * torch.finfo(dtype).eps * max(float(r.norm()) for r in reference.values())
        worst, worst_name = 0.0, ""
        for name, r in reference.items():
            norm = float(r.norm())
            if norm < scale:
                continue
            error = float((grads[name] - r).norm()) / norm
            if error > worst:
                worst, worst_name = error, name
        out[str(dtype).replace("torch.", "")] = {"worst_relative": worst, "tensor": worst_name,
                                                 "max_abs": max(float((grads[n] - r).abs().max()) for n, r in reference.items())}
    return out


def flop_counts(model: Any, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> dict[str, int]:
    """Matrix-product FLOPs of the from-scratch forward and backward, and of autograd's (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    from roberta_math.math import cross_entropy_grad
    from roberta_math.model.backward import backward_from_logits, forward_with_cache
    from roberta_math.model.weights import read_weights

    weights = read_weights(model)
    counts = {}
    with FlopCounterMode(display=False) as counter:
        logits, cache = forward_with_cache(weights, ids, mask)
    counts["ours_forward"] = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        backward_from_logits(cross_entropy_grad(logits, labels), weights, cache)
    counts["ours_backward"] = counter.get_total_flops()
    model.zero_grad(set_to_none=True)
    with FlopCounterMode(display=False) as counter:
        loss = torch.nn.functional.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)
    counts["autograd_forward"] = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        loss.backward()
    counts["autograd_backward"] = counter.get_total_flops()
    model.zero_grad(set_to_none=True)
    return counts


# --------------------------------------------------------------------------- drawing


def _smooth(values: list[float], window: int = 5) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, x[0]), x])
    return np.convolve(padded, kernel, mode="valid")


def gradient_norms_figure(run: dict[str, Any]) -> bytes:
    """One panel per block (embeddings, each layer, head): each parameter group's gradient norm per step."""
    import matplotlib.pyplot as plt

    blocks = ["head"] + [f"layer {i}" for i in range(run["num_layers"], 0, -1)] + ["embeddings"]
    fig, axes = plt.subplots(1, len(blocks), figsize=(2.6 * len(blocks) + 0.6, 3.4), sharey=True)
    steps = np.arange(1, run["steps"] + 1)
    for ax, block in zip(axes, blocks, strict=True):
        for colour, (group, norms) in zip(PALETTE, sorted(run["groups"][block].items()), strict=False):
            ax.plot(steps, norms, color=colour, alpha=0.25, linewidth=0.7)
            ax.plot(steps, _smooth(norms), color=colour, label=group)
        ax.set_yscale("log")
        ax.set_title(block)
        ax.set_xlabel("step")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7.5)
    axes[0].set_ylabel(r"$\|\partial \mathcal{L} / \partial \theta\|_2$ (before clipping)")
    fig.suptitle("Gradient norm per parameter group, from the loss (left) down to the embeddings (right)",
                 fontsize=11, fontweight="bold")
    fig.tight_layout()
    return svg_bytes(fig)


def residual_path_figure(run: dict[str, Any], deep: list[float]) -> bytes:
    """The hidden-state gradient at every layer boundary over the run; skip vs branch; a 12-layer profile at init."""
    import matplotlib.pyplot as plt

    L = run["num_layers"]
    hidden = np.asarray(run["hidden"])  # (steps, L + 1): boundary L first, 0 (the embeddings' output) last
    steps = np.arange(1, run["steps"] + 1)
    fig, (ax_run, ax_paths, ax_deep) = plt.subplots(1, 3, figsize=(12.5, 3.6))
    for k in range(L + 1):
        level = L - k
        label = "$X^{(%d)}$" % level + (" (embeddings' output)" if level == 0 else " (head's input)" if level == L else "")
        ax_run.plot(steps, _smooth(list(hidden[:, k])), color=PALETTE[k % len(PALETTE)], label=label)
    ax_run.set_yscale("log")
    ax_run.set_xlabel("step")
    ax_run.set_ylabel(r"$\|\partial \mathcal{L} / \partial X^{(\ell)}\|_F$")
    ax_run.set_title("Gradient reaching each layer boundary")
    ax_run.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7.5)
    # skip vs branch, averaged over the run; sub-layers from the top of the network down
    names, skip, branch = [], [], []
    for i in range(L):  # record order: the last layer first
        layer = L - i
        for part, title in (("ffn", "FFN"), ("attention", "MHA")):
            names.append(f"{layer}:{title}")
            skip.append(np.mean([p[f"{part}_skip"][i] for p in run["paths"]]))
            branch.append(np.mean([p[f"{part}_branch"][i] for p in run["paths"]]))
    x = np.arange(len(names))
    ax_paths.bar(x - 0.2, skip, 0.4, color=PALETTE[0], label="skip path (identity)")
    ax_paths.bar(x + 0.2, branch, 0.4, color=PALETTE[1], label="through the sub-layer")
    ax_paths.set_xticks(x, names)
    ax_paths.set_xlabel("layer:sub-layer, top to bottom")
    ax_paths.set_ylabel("mean norm over the run")
    ax_paths.set_title("Two terms of each residual")
    ax_paths.legend(fontsize=7.5)
    levels = np.arange(len(deep) - 1, -1, -1)
    ax_deep.plot(levels, deep, "o-", color=PALETTE[2])
    ax_deep.set_yscale("log")
    ax_deep.set_xlabel(r"layer boundary $\ell$ ($0$ = embeddings' output)")
    ax_deep.set_ylabel(r"$\|\partial \mathcal{L} / \partial X^{(\ell)}\|_F$")
    ax_deep.set_ylim(min(deep) / 3, max(deep) * 3)  # a factor of 3 each way: flat looks flat
    ax_deep.set_title(f"{len(deep) - 1} post-LN layers, at initialisation")
    ax_deep.invert_xaxis()
    fig.suptitle("How the gradient travels down the post-LN residual stream", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return svg_bytes(fig)


def loss_figure(run: dict[str, Any]) -> bytes:
    """Loss, learning rate and global gradient norm of the from-scratch run."""
    import matplotlib.pyplot as plt

    steps = np.arange(1, run["steps"] + 1)
    fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(9.0, 3.2))
    ax_loss.plot(steps, run["loss"], color=PALETTE[0], alpha=0.3, linewidth=0.8)
    ax_loss.plot(steps, _smooth(run["loss"]), color=PALETTE[0], label="cross-entropy")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    ax_lr = ax_loss.twinx()
    ax_lr.plot(steps, run["lr"], color="0.5", linestyle=":", label="learning rate")
    ax_lr.set_ylabel("learning rate")
    ax_lr.spines["right"].set_visible(True)
    ax_loss.set_title("Loss (left axis), learning rate (dotted)")
    ax_norm.plot(steps, run["grad_norm"], color=PALETTE[5])
    ax_norm.axhline(run["recipe"]["grad_clip_norm"], color="0.5", linestyle="--", linewidth=1)
    ax_norm.text(steps[-1], run["recipe"]["grad_clip_norm"], " clip", va="bottom", ha="right", fontsize=8, color="0.4")
    ax_norm.set_yscale("log")
    ax_norm.set_xlabel("step")
    ax_norm.set_ylabel(r"$\|g\|_2$ over all parameters")
    ax_norm.set_title("Global gradient norm before clipping")
    fig.suptitle("The from-scratch fine-tuning run behind these figures", fontsize=11, fontweight="bold")
    fig.tight_layout()
    return svg_bytes(fig)


def check_markdown(check: dict[str, Any], flops: dict[str, int], batch_shape: tuple[int, int]) -> str:
    """The table of the page's closing section: autograd differences and FLOP counts."""
    rows = [
        ["largest relative difference to autograd, float32", f"{check['float32']['worst_relative']:.1e}"],
        ["largest relative difference to autograd, float64", f"{check['float64']['worst_relative']:.1e}"],
        ["largest absolute difference, float64", f"{check['float64']['max_abs']:.1e}"],
        ["forward FLOPs, from scratch (matrix products)", f"{flops['ours_forward']:,}"],
        ["backward FLOPs, from scratch", f"{flops['ours_backward']:,}"],
        ["backward / forward, from scratch", f"{flops['ours_backward'] / flops['ours_forward']:.3f}"],
        ["backward / forward, autograd (transformers)", f"{flops['autograd_backward'] / flops['autograd_forward']:.3f}"],
    ]
    note = (f"\nMeasured at build time on the model of this site, one batch of {batch_shape[0]} training "
            f"sentences padded to {batch_shape[1]} tokens.\n")
    return markdown_table(["quantity", "value"], rows, align="lr") + note


def build(ctx: StepContext) -> dict[str, bytes]:
    """The ``backprop`` step: a from-scratch fine-tuning run, the autograd check, FLOP counts.

    Runs on one thread whatever the caller's setting: float32 sums are then reduced in
    one order, so two builds give the same bytes.
    """
    with one_torch_thread():
        return _build(ctx)


def _build(ctx: StepContext) -> dict[str, bytes]:
    from roberta_math.training.recipe import _pad

    loaded = ctx.loaded()
    tokenizer = loaded.tokenizer
    train = ctx.split("train")
    texts, labels = [s.text for s in train], [s.label for s in train]
    steps = ctx.params.backprop_steps
    ctx.log(f"backprop: {steps} fine-tuning steps with the from-scratch backward ...")
    run = finetune_run(tokenizer, texts, labels, steps)
    encoded = tokenizer(texts[:256], truncation=True, max_length=128)["input_ids"]
    deep = deep_profile(len(tokenizer), encoded, labels[:256], ctx.params.backprop_deep_layers)
    rows = list(range(min(CHECK_SENTENCES, len(encoded))))
    ids, mask = _pad(encoded, rows, loaded.model.config.pad_token_id)
    check_labels = torch.tensor(labels[: len(rows)])
    check = autograd_check(loaded.model, ids, mask, check_labels)
    flops = flop_counts(loaded.model, ids, mask, check_labels)
    ctx.count_forward(4 * len(rows))  # the embedded model itself: two dtypes, ours and autograd
    summary = {"run": round_floats(run, 6), "deep_profile": round_floats(deep, 6), "check": check, "flops": flops,
               "check_batch": list(ids.shape)}
    return {
        "backprop.json": json_bytes(summary),
        "backprop_gradient_norms.svg": gradient_norms_figure(run),
        "backprop_residual.svg": residual_path_figure(run, deep),
        "backprop_run.svg": loss_figure(run),
        "backprop_check.md": check_markdown(check, flops, tuple(ids.shape)).encode(),
    }

"""The from-scratch optimizer (AdamW, schedule, clipping) and the fine-tuning loop reproduce torch's.

References: ``torch.optim.AdamW``, ``torch.nn.utils.clip_grad_norm_`` and the recipe's own
``_optimizer`` (``AdamW`` + ``LambdaLR``) driven by autograd, exactly as
``roberta_math.training.recipe.finetune`` drives them.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from roberta_math.training import recipe as recipe_module
from roberta_math.training.optimizer import (
    AdamWState,
    adamw_step,
    clip_by_global_norm,
    decoupled_weight_decay,
    finetune_from_scratch,
    learning_rate,
)


def test_adamw_step_equals_torch_adamw_over_many_steps() -> None:
    gen = torch.Generator().manual_seed(0)
    shapes = {"w": (4, 3), "b": (3,), "e": (5, 2)}
    params = {n: torch.randn(s, generator=gen, dtype=torch.float64) for n, s in shapes.items()}
    theirs = {n: p.clone().requires_grad_() for n, p in params.items()}
    decay = {"w": 0.1, "b": 0.0, "e": 0.01}
    optimizer = torch.optim.AdamW(
        [{"params": [theirs[n]], "weight_decay": decay[n]} for n in shapes], lr=1e-2, betas=(0.8, 0.99), eps=1e-6
    )
    state = AdamWState()
    for step in range(30):
        grads = {n: torch.randn(s, generator=gen, dtype=torch.float64) * (step + 1) for n, s in shapes.items()}
        lr = 1e-2 * (0.9**step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for n, t in theirs.items():
            t.grad = grads[n].clone()
        optimizer.step()
        adamw_step(params, grads, state, lr, decay, betas=(0.8, 0.99), eps=1e-6)
    assert state.step == 30
    for n in shapes:
        assert float((params[n] - theirs[n].detach()).abs().max()) <= 1e-13
        assert torch.allclose(state.exp_avg_sq[n], optimizer.state[theirs[n]]["exp_avg_sq"], rtol=1e-13, atol=0)


def test_adamw_step_names_a_missing_gradient() -> None:
    with pytest.raises(KeyError, match="'b'"):
        adamw_step({"a": torch.zeros(1), "b": torch.zeros(1)}, {"a": torch.zeros(1)}, AdamWState(), lr=1.0)


@pytest.mark.parametrize(("total", "fraction"), [(20, 0.1), (37, 0.1), (5, 0.5), (3, 0.0)])
def test_learning_rate_equals_the_recipes_lambda_schedule(total: int, fraction: float) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer, schedule = recipe_module._optimizer(model, 1e-3, 0.01, total, fraction)
    for step in range(total):
        assert math.isclose(learning_rate(step, 1e-3, total, fraction), schedule.get_last_lr()[0], rel_tol=1e-12)
        optimizer.step()
        schedule.step()


@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_clip_by_global_norm_equals_torch(scale: float) -> None:
    gen = torch.Generator().manual_seed(1)
    grads = {n: torch.randn(s, generator=gen) * scale for n, s in {"a": (3, 4), "b": (7,)}.items()}
    params = [torch.zeros_like(g, requires_grad=True) for g in grads.values()]
    for p, g in zip(params, grads.values()):
        p.grad = g.clone()
    expected_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
    norm = clip_by_global_norm(grads, 1.0)
    assert math.isclose(norm, expected_norm, rel_tol=1e-6)
    for p, g in zip(params, grads.values()):
        assert torch.allclose(g, p.grad, rtol=1e-6, atol=0)


def test_weight_decay_groups_match_the_recipe() -> None:
    from transformers import RobertaForSequenceClassification

    config = recipe_module.roberta_config(recipe_module.Recipe(num_layers=1), vocab_size=50)
    model = RobertaForSequenceClassification(config)
    optimizer, _ = recipe_module._optimizer(model, 1e-3, 0.01, 10, 0.1)
    in_group = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    mine = decoupled_weight_decay(dict(model.named_parameters()), 0.01)
    assert {n: in_group[id(p)] for n, p in model.named_parameters()} == mine


def _recipe_batches(steps: int, recipe: recipe_module.Recipe):
    """The recipe's first ``steps`` training batches: its tokenizer, its length-pooled shuffling, its padding."""
    from roberta_math.data.corpus import load_split
    from roberta_math.model.loading import load_model

    tokenizer = load_model().tokenizer  # the embedded model's tokenizer, trained by the recipe
    train = load_split("train")
    encoded = tokenizer([s.text for s in train], truncation=True, max_length=recipe.max_tokens)["input_ids"]
    labels = torch.tensor([s.label for s in train])
    generator = torch.Generator().manual_seed(recipe.seed)
    rows_list = recipe_module.shuffled_batches([len(x) for x in encoded], recipe.batch_size, generator)[:steps]
    batches = []
    for rows in rows_list:
        ids, mask = recipe_module._pad(encoded, rows, tokenizer.pad_token_id)
        batches.append((ids, mask, labels[rows]))
    return batches, len(tokenizer)


@pytest.mark.slow
def test_twenty_recipe_steps_from_scratch_equal_adamw_and_autograd() -> None:
    from transformers import RobertaForSequenceClassification

    steps = 20
    recipe = recipe_module.Recipe()
    batches, vocab = _recipe_batches(steps, recipe)
    config = recipe_module.roberta_config(recipe, vocab_size=vocab)
    config._attn_implementation = "eager"
    torch.manual_seed(recipe.seed)
    reference = RobertaForSequenceClassification(config).eval()  # eval: dropout off in both runs
    ours = RobertaForSequenceClassification(config).eval()
    ours.load_state_dict(reference.state_dict())
    # the recipe's loop (roberta_math.training.recipe.finetune), autograd and torch.optim
    optimizer, schedule = recipe_module._optimizer(reference, recipe.learning_rate, recipe.weight_decay, steps,
                                                   recipe.warmup_fraction)
    reference_losses = []
    for ids, mask, labels in batches:
        loss = F.cross_entropy(reference(input_ids=ids, attention_mask=mask).logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), recipe.grad_clip_norm)
        optimizer.step()
        schedule.step()
        reference_losses.append(float(loss.detach()))
    # ours: gradients_from_scratch, clip_by_global_norm, adamw_step
    log = finetune_from_scratch(ours, batches, recipe, total_steps=steps)
    assert len(log["step_loss"]) == steps
    assert max(abs(a - b) for a, b in zip(log["step_loss"], reference_losses)) <= 1e-5
    assert reference_losses[-1] < reference_losses[0]  # it did learn something
    diffs = {n: float((p - ours.state_dict()[n]).abs().max()) for n, p in reference.state_dict().items()}
    worst = max(diffs, key=diffs.get)
    print(f"20 recipe steps: largest parameter difference {diffs[worst]:.2e} ({worst})")
    assert diffs[worst] <= 1e-5, (worst, diffs[worst])
    # and the comparison is not vacuous: the weights moved far more than the tolerance
    torch.manual_seed(recipe.seed)
    start = RobertaForSequenceClassification(config)
    moved = max(float((p - start.state_dict()[n]).abs().max()) for n, p in reference.state_dict().items())
    assert moved > 1e-3, moved

"""gradients_from_scratch equals autograd through transformers' RoBERTa, for every parameter.

The reference is ``loss.backward()`` through ``RobertaForSequenceClassification`` (eval mode,
so no dropout) with ``torch.nn.functional.cross_entropy``: an implementation that shares no
code with ours. A negative control plants a transposition or a sign error in one backward
function and checks that the comparison catches it.
"""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
from helpers_models import randomise_biases_and_layer_norms
from transformers import RobertaConfig, RobertaForSequenceClassification

from roberta_math.math import attention as attention_module
from roberta_math.math import encoder as encoder_module
from roberta_math.model.backward import gradients_from_scratch

SMALL = dict(vocab_size=300, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
             intermediate_size=64, max_position_embeddings=34, layer_norm_eps=1e-5)
ROBERTA_BASE = dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                    intermediate_size=3072, max_position_embeddings=514, layer_norm_eps=1e-5, type_vocab_size=1)


def _model(shape: dict, seed: int, dtype: torch.dtype, initializer_range: float = 0.02) -> RobertaForSequenceClassification:
    torch.manual_seed(seed)
    config = RobertaConfig(**shape, num_labels=3, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                           initializer_range=initializer_range)
    config._attn_implementation = "eager"
    # random biases, LayerNorm shifts and gains (transformers starts them at 0, 0 and 1); biases
    # of 2.5 x initializer_range: at roberta-base's shape, biases of 0.5 saturate the softmax and
    # shrink the last layer's query gradient from about 6e-2 to 3e-6 (norm)
    model = RobertaForSequenceClassification(config)
    return randomise_biases_and_layer_norms(model, seed=seed, bias_std=2.5 * initializer_range).to(dtype).eval()


def _padded_batch(vocab: int, lengths: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), max(lengths)), 1)  # <pad> = 1
    for row, n in enumerate(lengths):
        ids[row, 0], ids[row, n - 1] = 0, 2  # <s> ... </s>
        ids[row, 1 : n - 1] = torch.randint(3, vocab, (n - 2,), generator=gen)
    labels = torch.randint(0, 3, (len(lengths),), generator=gen)
    return ids, ids.ne(1).long(), labels


def _autograd(model, ids, mask, labels) -> tuple[float, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, labels)
    loss.backward()
    return float(loss.detach()), {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def _zero_scale(reference: dict[str, torch.Tensor]) -> float:
    """Below this norm a gradient is zero up to rounding: 1000 machine epsilons of the largest tensor norm."""
    dtype = next(iter(reference.values())).dtype
    return 1000 * torch.finfo(dtype).eps * max(float(torch.linalg.vector_norm(r)) for r in reference.values())


def relative_errors(mine: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> dict[str, float]:
    r"""Per tensor: ||mine - reference|| / ||reference||.

    Tensors whose reference gradient is zero up to rounding are left out (the key biases:
    adding $q \cdot b_K$ to every score of a row does not change its softmax, so their exact
    gradient is 0 and a ratio of two rounding errors means nothing); instead both gradients
    must be below the zero scale, which :func:`_check_numerical_zeros` asserts.
    """
    scale = _zero_scale(reference)
    out = {}
    for name, ref in reference.items():
        norm = float(torch.linalg.vector_norm(ref))
        if norm < scale:
            continue
        out[name] = float(torch.linalg.vector_norm(mine[name] - ref)) / norm
    return out


def _check_numerical_zeros(mine: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    scale = _zero_scale(reference)
    tiny = {n for n, r in reference.items() if float(torch.linalg.vector_norm(r)) < scale}
    assert tiny <= {n for n in reference if n.endswith("attention.self.key.bias")}, tiny
    assert all(float(torch.linalg.vector_norm(mine[n])) < scale for n in tiny)


def test_key_bias_gradients_are_zero_up_to_rounding_in_both() -> None:
    model = _model(SMALL, 4, torch.float64, initializer_range=0.2)
    ids, mask, labels = _padded_batch(SMALL["vocab_size"], [10, 6], 4)
    _, reference = _autograd(model, ids, mask, labels)
    _, grads = gradients_from_scratch(model, ids, mask, labels)
    scale = _zero_scale(reference)
    tiny = {n for n, r in reference.items() if float(r.norm()) < scale}
    assert tiny == {n for n in reference if n.endswith("attention.self.key.bias")}
    _check_numerical_zeros(grads, reference)


@pytest.mark.parametrize("seed", [0, 1])
def test_small_model_float64_equals_autograd_for_every_parameter(seed: int) -> None:
    model = _model(SMALL, seed, torch.float64, initializer_range=0.2)  # large weights: non-trivial attention
    ids, mask, labels = _padded_batch(SMALL["vocab_size"], [17, 5, 11, 3, 9], seed)
    ref_loss, reference = _autograd(model, ids, mask, labels)
    loss, grads = gradients_from_scratch(model, ids, mask, labels)
    assert list(grads) == list(model.state_dict())  # exactly the state dict's names, in its order
    assert all(grads[n].shape == t.shape and grads[n].dtype == torch.float64 for n, t in model.state_dict().items())
    assert abs(float(loss) - ref_loss) <= 1e-12
    errors = relative_errors(grads, reference)
    _check_numerical_zeros(grads, reference)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= 1e-9, (worst, errors[worst])
    max_abs = max(float((grads[n] - r).abs().max()) for n, r in reference.items())
    assert max_abs <= 1e-10, max_abs
    # the padding rows get no gradient, in both
    for table in ("word_embeddings", "position_embeddings"):
        name = f"roberta.embeddings.{table}.weight"
        assert torch.all(grads[name][1] == 0) and torch.all(reference[name][1] == 0)
    # every parameter tensor receives some gradient (none silently left at zero)
    assert all(float(g.abs().max()) > 0 for g in grads.values())


def test_attention_mask_none_means_padding_is_masked() -> None:
    model = _model(SMALL, 3, torch.float64, initializer_range=0.2)
    ids, mask, labels = _padded_batch(SMALL["vocab_size"], [8, 4], 3)
    _, with_mask = gradients_from_scratch(model, ids, mask, labels)
    _, without = gradients_from_scratch(model, ids, None, labels)
    assert all(torch.equal(with_mask[n], without[n]) for n in with_mask)


@pytest.mark.slow
def test_roberta_base_shape_float32_equals_autograd() -> None:
    """The full roberta-base shape (125M parameters), a padded batch of unequal lengths, float32."""
    started = time.perf_counter()
    model = _model(ROBERTA_BASE, 0, torch.float32)
    ids, mask, labels = _padded_batch(ROBERTA_BASE["vocab_size"], [10, 6, 3], 0)
    ref_loss, reference = _autograd(model, ids, mask, labels)
    loss, grads = gradients_from_scratch(model, ids, mask, labels)
    assert list(grads) == list(model.state_dict())
    assert abs(float(loss) - ref_loss) <= 1e-5
    errors = relative_errors(grads, reference)
    _check_numerical_zeros(grads, reference)
    worst = max(errors, key=errors.get)
    print(f"roberta-base float32: worst relative error {errors[worst]:.2e} ({worst}); "
          f"{time.perf_counter() - started:.1f} s")
    assert errors[worst] <= 1e-4, (worst, errors[worst])


def _transposed_key_gradient(grad_output, query, key, value, attention_weights):
    dq, dk, dv = _ORIGINAL_SELF_ATTENTION_BACKWARD(grad_output, query, key, value, attention_weights)
    return dq, dk.transpose(-2, -1).contiguous().view(dk.shape), dv  # a transposition error


def _sign_error_layer_norm(grad_output, x, gamma, eps=1e-5):
    dx, dgamma, dbeta = _ORIGINAL_LAYER_NORM_BACKWARD(grad_output, x, gamma, eps)
    return dx, -dgamma, dbeta  # a sign error


_ORIGINAL_SELF_ATTENTION_BACKWARD = attention_module.self_attention_backward
_ORIGINAL_LAYER_NORM_BACKWARD = encoder_module.layer_norm_backward


@pytest.mark.parametrize(
    ("module", "name", "broken", "victim"),
    [
        (attention_module, "self_attention_backward", _transposed_key_gradient, "attention.self.key.weight"),
        (encoder_module, "layer_norm_backward", _sign_error_layer_norm, "output.LayerNorm.weight"),
    ],
)
def test_negative_control_a_planted_error_is_caught(monkeypatch, module, name, broken, victim) -> None:
    model = _model(SMALL, 0, torch.float64, initializer_range=0.2)
    ids, mask, labels = _padded_batch(SMALL["vocab_size"], [8, 8, 8], 0)  # seq = d_k = 8: the transposed dK has the right shape
    _, reference = _autograd(model, ids, mask, labels)
    _, good = gradients_from_scratch(model, ids, mask, labels)
    assert max(relative_errors(good, reference).values()) <= 1e-9
    monkeypatch.setattr(module, name, broken)
    _, bad = gradients_from_scratch(model, ids, mask, labels)
    errors = relative_errors(bad, reference)
    caught = [n for n, e in errors.items() if e > 1e-3]
    assert any(victim in n for n in caught), caught

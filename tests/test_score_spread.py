"""The per-head, row-centred spread of attention scores (roberta_math.model.score_spread)."""

from __future__ import annotations

import pytest
import torch
from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaModel

from roberta_math.model.score_spread import initialised_like, row_centred_score_variance

SMALL = dict(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=32, max_position_embeddings=40, layer_norm_eps=1e-5)


def _model(cls=RobertaForSequenceClassification, scale: float = 5.0, seed: int = 0):
    config = RobertaConfig(**SMALL, num_labels=3, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    config._attn_implementation = "eager"
    model = initialised_like(cls(config), seed)
    with torch.no_grad():  # spread the scores out, so the test sees non-trivial attention
        for name, p in model.named_parameters():
            if "LayerNorm" not in name:
                p.mul_(scale)
    return model


def _batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), max(lengths)), 1)  # <pad> = 1, right padding
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(3, SMALL["vocab_size"], (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = 0, 2
    return ids, ids.ne(1).long()


def _from_attention_probabilities(model, ids, mask) -> torch.Tensor:
    """Independent reference: log A_ij = S_ij - logsumexp_j S_ij on the real keys, so the
    row-centred variance of log A (from transformers' own attention weights) is that of S."""
    with torch.no_grad():
        attentions = model(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
    keep = mask.bool()
    out = []
    for a in attentions:  # (batch, heads, seq, seq)
        per_head = torch.zeros(a.shape[1], dtype=torch.float64)
        for b in range(a.shape[0]):
            n = int(keep[b].sum())
            log_a = a[b, :, :n, :n].log()  # (heads, n, n): real queries and keys only
            per_head += log_a.var(-1, unbiased=False).sum(-1)
        out.append(per_head / int(keep.sum()))
    return torch.stack(out)  # (layers, heads)


@pytest.mark.parametrize("lengths", [[7], [12, 5, 9], [3, 3]])
def test_matches_transformers_attention_weights(lengths: list[int]) -> None:
    model = _model().double()  # float64 throughout, so that the two can agree to 1e-8
    ids, mask = _batch(lengths)
    ours = row_centred_score_variance(model, [(ids, mask)])
    reference = _from_attention_probabilities(model, ids, mask)
    assert ours.shape == (SMALL["num_hidden_layers"], SMALL["num_attention_heads"])
    assert ours.min() > 1e-3  # non-trivial scores
    torch.testing.assert_close(ours, reference, rtol=1e-8, atol=1e-10)


def test_bare_encoder_and_classifier_agree() -> None:
    classifier = _model()
    encoder = RobertaModel(classifier.config, add_pooling_layer=False).eval()
    encoder.load_state_dict({k.removeprefix("roberta."): v for k, v in classifier.state_dict().items()
                             if k.startswith("roberta.")})
    batch = _batch([6, 10])
    torch.testing.assert_close(row_centred_score_variance(encoder, [batch]),
                               row_centred_score_variance(classifier, [batch]))


def test_batches_combine_as_a_mean_over_rows() -> None:
    model = _model()
    first, second = _batch([8], seed=1), _batch([5], seed=2)
    together = row_centred_score_variance(model, [first, second])
    alone = [row_centred_score_variance(model, [b]) for b in (first, second)]
    torch.testing.assert_close(together, (8 * alone[0] + 5 * alone[1]) / 13)
    # padding a sentence into a longer batch changes nothing for it
    padded_ids = torch.cat([first[0], torch.full((1, 3), 1)], dim=1)
    padded = (padded_ids, padded_ids.ne(1).long())
    torch.testing.assert_close(row_centred_score_variance(model, [padded]), alone[0])


def _head_rows(h: int) -> slice:
    d_h = SMALL["hidden_size"] // SMALL["num_attention_heads"]
    return slice(h * d_h, (h + 1) * d_h)


def test_a_joint_rotation_of_a_heads_queries_and_keys_changes_nothing() -> None:
    model = _model().double()  # exact up to float64 rounding
    batch = _batch([9, 6])
    before = row_centred_score_variance(model, [batch])
    d_h = SMALL["hidden_size"] // SMALL["num_attention_heads"]
    gen = torch.Generator().manual_seed(4)
    rotation, _ = torch.linalg.qr(torch.randn(d_h, d_h, generator=gen, dtype=torch.float64))
    attention = model.roberta.encoder.layer[1].attention.self
    rows = _head_rows(2)
    with torch.no_grad():
        for projection in (attention.query, attention.key):  # rows of W (out, in) and of b
            projection.weight[rows] = rotation @ projection.weight[rows]
            projection.bias[rows] = rotation @ projection.bias[rows]
    after = row_centred_score_variance(model, [batch])
    torch.testing.assert_close(after, before, rtol=1e-9, atol=1e-12)
    # and scaling only the queries by 2 multiplies that head's spread by 4
    with torch.no_grad():
        attention.query.weight[rows] *= 2
        attention.query.bias[rows] *= 2
    scaled = row_centred_score_variance(model, [batch])
    torch.testing.assert_close(scaled[1, 2], 4 * before[1, 2])
    torch.testing.assert_close(scaled[1, :2], before[1, :2])


def test_a_shift_shared_by_a_row_changes_nothing() -> None:
    """A key bias adds Q_i . c / sqrt(d_h) to every score of row i: the softmax ignores it, and so does the measure."""
    model = _model().double()
    batch = _batch([9, 6])
    before = row_centred_score_variance(model, [batch])
    key = model.roberta.encoder.layer[0].attention.self.key
    with torch.no_grad():
        key.bias += 3.0
    after = row_centred_score_variance(model, [batch])
    torch.testing.assert_close(after, before, rtol=1e-9, atol=1e-12)
    # the variance pooled over the rows, as the old figure measured it, does move
    ids, mask = batch
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[0]
        q = model.roberta.encoder.layer[0].attention.self.query(hidden)[0, :9, _head_rows(0)]
        k_shifted = key(hidden)[0, :9, _head_rows(0)]
        k_plain = k_shifted - 3.0
        pooled = [(q @ k.T).var().item() for k in (k_shifted, k_plain)]
    assert abs(pooled[0] - pooled[1]) > 1e-3 * pooled[1]


def test_initialisation_is_seeded_and_follows_the_config() -> None:
    config = RobertaConfig(**SMALL)
    model = RobertaModel(config)
    a, b, c = initialised_like(model, 0), initialised_like(model, 0), initialised_like(model, 1)
    weight = a.encoder.layer[0].attention.self.query.weight
    assert torch.equal(weight, b.encoder.layer[0].attention.self.query.weight)
    assert not torch.equal(weight, c.encoder.layer[0].attention.self.query.weight)
    assert abs(weight.std().item() - config.initializer_range) < 0.1 * config.initializer_range
    state = torch.random.get_rng_state()
    initialised_like(model, 5)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is untouched


def test_errors() -> None:
    model = _model()
    with pytest.raises(ValueError, match="no sentences"):
        row_centred_score_variance(model, [])
    ids = torch.tensor([[0, 5, 2]])
    with pytest.raises(ValueError, match="at least one token"):
        row_centred_score_variance(model, [(ids, torch.zeros_like(ids))])

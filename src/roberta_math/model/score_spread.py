r"""How spread out each head's attention scores are within a query row, measured on a model.

Softmax ignores a shift that is the same for every key of a row
($\operatorname{softmax}(S_i + c) = \operatorname{softmax}(S_i)$), so what decides how
peaked a row of attention weights is, is the spread of the scores *around their row
mean*. For layer $\ell$ and head $h$, with $S = Q^{[h]} K^{[h]\top} / \sqrt{d_h}$ computed
from the layer's input and $n$ real (unpadded) tokens,

$$
\operatorname{Var}_\text{row}(S_i) = \frac{1}{n} \sum_{j=1}^{n} \Big(S_{ij} - \frac{1}{n}\sum_{j'=1}^{n} S_{ij'}\Big)^2 ,
$$

and :func:`row_centred_score_variance` averages it over every real query row $i$ of every
sentence: one number per head, ``(layers, heads)``. It is a property of the scores
themselves, so it does not depend on the basis of the head's $d_h$ dimensions (replacing
$W_Q^{[h]}, b_Q^{[h]}, W_K^{[h]}, b_K^{[h]}$ by $R W_Q^{[h]}, R b_Q^{[h]}, R W_K^{[h]},
R b_K^{[h]}$ for one orthogonal $R$ changes no score), and
padded keys and queries are left out.

:func:`initialised_like` builds the same architecture with fresh random weights, so the
same sentences can be measured at initialisation and after training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from roberta_math.math.attention import split_heads
from roberta_math.math.linear import linear


def row_centred_score_variance(model: torch.nn.Module, batches: Iterable[tuple[Tensor, Tensor]]) -> Tensor:
    r"""Mean over real query rows of the within-row variance of the scaled scores, per layer and head.

    $$\begin{gathered}
    \operatorname{spread}_{\ell h} = \operatorname{mean}_{i}\ \operatorname{Var}_{j}\big(S^{(\ell, h)}_{ij}\big), \\
    S^{(\ell, h)} = \frac{Q^{[h]} K^{[h]\top}}{\sqrt{d_h}},\\
    Q = X^{(\ell-1)} W_Q^\top + b_Q,\; K = X^{(\ell-1)} W_K^\top + b_K
    \end{gathered}$$

    - ``model``: a ``transformers`` RoBERTa model (``RobertaForSequenceClassification``
      or ``RobertaModel``), run in evaluation mode (dropout off) and in float64 for the
      scores.
    - ``batches``: ``(input_ids, attention_mask)`` pairs, each ``(batch, seq)``, right
      padded, mask 1 for tokens and 0 for padding; every sentence needs at least one token.
    - Returns a float64 tensor ``(layers, heads)``: the variance over real keys $j$ of the
      scores of a real query $i$, averaged over all real queries (each row weighs the same).
    - Raises ``ValueError`` when ``batches`` is empty or a sentence has no token.

    >>> from transformers import RobertaConfig, RobertaModel
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2,
    ...                        num_attention_heads=2, intermediate_size=16,
    ...                        max_position_embeddings=20)
    >>> model = initialised_like(RobertaModel(config), seed=0)
    >>> ids = torch.tensor([[0, 5, 6, 7, 2], [0, 9, 2, 1, 1]])
    >>> v = row_centred_score_variance(model, [(ids, ids.ne(1).long())])
    >>> v.shape, bool((v >= 0).all())
    (torch.Size([2, 2]), True)
    """
    from roberta_math.model.weights import read_weights

    weights = read_weights(model)
    heads = weights.num_heads
    layers = len(weights.layers)
    total = torch.zeros(layers, heads, dtype=torch.float64)  # sum over rows of Var_row
    rows = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for input_ids, attention_mask in batches:
                keep = attention_mask.bool()  # (batch, seq)
                if (keep.sum(-1) == 0).any():
                    raise ValueError("every sentence needs at least one token (attention_mask has an all-zero row)")
                out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
                key_mask = keep[:, None, None, :].double()  # (batch, 1, 1, seq)
                counts = key_mask.sum(-1, keepdim=True)  # (batch, 1, 1, 1): real keys n
                query_mask = keep[:, None, :].double()  # (batch, 1, seq)
                for index, layer in enumerate(weights.layers):
                    hidden = out.hidden_states[index].double()  # (batch, seq, d): the layer's input
                    attention = layer.attention
                    q = split_heads(linear(hidden, _double(attention.query)), heads)  # (batch, heads, seq, d_h)
                    k = split_heads(linear(hidden, _double(attention.key)), heads)  # (batch, heads, seq, d_h)
                    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (batch, heads, seq, seq)
                    mean = (scores * key_mask).sum(-1, keepdim=True) / counts  # (batch, heads, seq, 1)
                    spread = ((scores - mean) ** 2 * key_mask).sum(-1) / counts[..., 0]  # (batch, heads, seq)
                    total[index] += (spread * query_mask).sum(dim=(0, 2))  # (heads,)
                rows += int(keep.sum())
    finally:
        model.train(was_training)
    if rows == 0:
        raise ValueError("no sentences: batches was empty")
    return total / rows


def _double(params):
    return type(params)(params.weight.double(), params.bias.double())


def initialised_like(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """The same architecture and configuration as ``model``, with fresh random weights.

    ``transformers`` draws every weight matrix from $\\mathcal{N}(0, \\sigma^2)$ with
    $\\sigma$ = ``config.initializer_range`` (0.02 for RoBERTa), biases 0, LayerNorm
    $\\gamma = 1$, $\\beta = 0$. Seeded, in evaluation mode; the global random state is
    left as it was.

    >>> from transformers import RobertaConfig, RobertaModel
    >>> config = RobertaConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
    ...                        num_attention_heads=2, intermediate_size=16)
    >>> a, b = initialised_like(RobertaModel(config), 3), initialised_like(RobertaModel(config), 3)
    >>> torch.equal(a.encoder.layer[0].attention.self.query.weight, b.encoder.layer[0].attention.self.query.weight)
    True
    >>> a.training
    False
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = type(model)(model.config)
    return fresh.eval()

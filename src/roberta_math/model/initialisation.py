r"""The attention scores of a freshly initialised RoBERTa: derived, then measured.

transformers' RoBERTa initialises every weight matrix from $\mathcal{N}(0, \sigma^2)$ with
$\sigma = 0.02$ (``initializer_range``), biases at 0, LayerNorm at $\gamma = 1$,
$\beta = 0$ (``_init_weights`` in transformers' ``modeling_roberta.py``; BERT's released
code, ``create_initializer`` in google-research/bert's ``modeling.py``, uses a normal
truncated at $\pm 2\sigma$ instead, of variance $0.774\,\sigma^2$). The input of
the first layer is the output of the embeddings' LayerNorm, so every row $x$ has mean
0 and mean square $v/(v + \epsilon) \approx 1$: $\lVert x \rVert^2 \approx d$.

A query component is $q_a = \sum_j (W_Q)_{aj} x_j$, a sum of independent terms, so
over the random weights $q_a \sim \mathcal{N}(0, \sigma^2 \lVert x \rVert^2)$, and
likewise $k_a$ for a key row $x'$, independent of $q_a$ because $W_K$ is drawn apart
from $W_Q$. The products $q_a k_a$ have mean 0 and variance
$\sigma^4 \lVert x\rVert^2 \lVert x'\rVert^2$, independently over the $d_h$ components
of a head, so the scaled score of any query row and key row has

$$
\operatorname{Var}\!\left(\frac{q \cdot k}{\sqrt{d_h}}\right)
= \frac{d_h\, \sigma^4 \lVert x\rVert^2 \lVert x'\rVert^2}{d_h}
\approx (\sigma^2 d)^2 ,
$$

whatever the head size: $(0.02^2 \cdot 768)^2 \approx 0.094$ for roberta-base. The
$1/\sqrt{d_h}$ scaling gives scores of unit variance when the components of $q$ and $k$
have zero mean and variances whose product is 1 (unit variances, for instance); at
initialisation they have variance $\sigma^2 d \approx 0.31$ each, so the scores start far
below 1 and every softmax row starts close to uniform.
"""

from __future__ import annotations

import math

import torch

from roberta_math.math.attention import split_heads
from roberta_math.math.linear import linear


def score_variance_at_init(sigma: float, d: int) -> float:
    r"""The variance of the scaled attention scores of a layer whose input rows have
    $\lVert x \rVert^2 = d$, over weights drawn from $\mathcal{N}(0, \sigma^2)$ with zero biases:
    $(\sigma^2 d)^2$.

    - ``sigma``: the weights' standard deviation ($> 0$); ``d``: the hidden size ($\ge 1$).
      Raises ``ValueError`` otherwise.

    >>> round(score_variance_at_init(0.02, 768), 4)  # roberta-base
    0.0944
    >>> round(score_variance_at_init(0.02, 128), 5)  # hidden size 128, as the embedded model
    0.00262
    >>> score_variance_at_init(1 / math.sqrt(768), 768)  # the unit-variance case of Vaswani et al.
    1.0...
    """
    if sigma <= 0 or d < 1:
        raise ValueError(f"sigma must be positive and d at least 1, got sigma={sigma}, d={d}")
    return (sigma * sigma * d) ** 2


@torch.no_grad()
def measured_score_variance(
    d: int = 768,
    num_heads: int = 12,
    sigma: float = 0.02,
    n: int = 32,
    models: int = 4,
    seed: int = 0,
) -> float:
    r"""The variance of the first layer's scaled scores $q \cdot k / \sqrt{d_h}$ in freshly
    initialised ``transformers`` RoBERTa models, pooled over heads, query and key rows.

    Builds ``models`` one-layer ``RobertaModel`` s with hidden size ``d``, ``num_heads``
    heads and ``initializer_range = sigma`` (transformers' own initialisation), feeds each
    a random sequence of ``n`` token ids, and computes the scores from the embeddings'
    output with this package's :func:`~roberta_math.math.linear.linear` and
    :func:`~roberta_math.math.attention.split_heads`. Variance is over the random weights,
    so more models give a tighter estimate; the default (4 models of roberta-base's
    width) takes about a second.

    - Raises ``ValueError`` if ``d`` is not a multiple of ``num_heads`` or a count is below 1.

    >>> v = measured_score_variance(d=256, num_heads=4, models=2)
    >>> 0.8 < v / score_variance_at_init(0.02, 256) < 1.2
    True
    """
    from transformers import RobertaConfig, RobertaModel

    if d % num_heads or min(d, num_heads, n, models) < 1:
        raise ValueError(f"need d divisible by num_heads and counts of at least 1, got d={d}, num_heads={num_heads}")
    d_h = d // num_heads
    variances = []
    generator = torch.Generator().manual_seed(seed)
    for index in range(models):
        torch.manual_seed(seed * 1000 + index)
        config = RobertaConfig(
            vocab_size=1000, hidden_size=d, num_hidden_layers=1, num_attention_heads=num_heads,
            intermediate_size=4 * d, max_position_embeddings=n + 2, initializer_range=sigma,
        )
        model = RobertaModel(config, add_pooling_layer=False).eval()
        ids = torch.randint(5, config.vocab_size, (1, n), generator=generator)  # no special tokens
        x = model.embeddings(input_ids=ids)  # (1, n, d): LayerNorm'd rows, ||x||^2 ~ d
        attention = model.encoder.layer[0].attention.self
        q = split_heads(linear(x, _linear(attention.query)), num_heads)  # (1, H, n, d_h)
        k = split_heads(linear(x, _linear(attention.key)), num_heads)  # (1, H, n, d_h)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_h)  # (1, H, n, n)
        variances.append(scores.pow(2).mean().item())  # the mean is 0 over the weights
    return sum(variances) / len(variances)


def _linear(module: torch.nn.Linear):
    from roberta_math.math.linear import Linear

    return Linear(module.weight, module.bias)

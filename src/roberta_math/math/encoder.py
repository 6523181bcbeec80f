r"""One encoder layer: self-attention and a feed-forward block, each with a residual and a LayerNorm.

RoBERTa (like BERT) normalises *after* adding the residual ("post-LN"):

$$\begin{gathered}
X' = \operatorname{LayerNorm}_1\big(X + \operatorname{MHA}(X)\big), \\
X'' = \operatorname{LayerNorm}_2\big(X' + \operatorname{FFN}(X')\big)
\end{gathered}$$

for the layer input $X$, one row per token (symbols: the site's notation page).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from roberta_math.math.attention import (
    AttentionCache,
    AttentionWeights,
    multi_head_attention,
    multi_head_attention_backward,
    multi_head_attention_with_cache,
)
from roberta_math.math.embeddings import layer_norm, layer_norm_backward
from roberta_math.math.linear import Linear, linear, linear_backward


def gelu(x: Tensor) -> Tensor:
    r"""The Gaussian error linear unit, exact form (RoBERTa's ``hidden_act="gelu"``).

    $$\operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}\frac{x}{\sqrt 2}\right)$$

    >>> gelu(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def feed_forward(x: Tensor, intermediate: Linear, output: Linear) -> Tensor:
    r"""The position-wise feed-forward block.

    $$\operatorname{FFN}(x) = \operatorname{GELU}(x W_1^\top + b_1)\, W_2^\top + b_2$$

    - ``x``: ``(batch, seq, d)``; $W_1$: ``(d_ff, d)`` (3072 x 768 in roberta-base); $W_2$: ``(d, d_ff)``.

    By hand: $W_1$ sends $x = (1, -1)$ to $(1, -1, 0)$; GELU gives $(\Phi(1), -\Phi(-1), 0)$
    (ReLU would give $(1, 0, 0)$); $W_2$ adds them up, $2\Phi(1) - 1 = \operatorname{erf}(1/\sqrt 2)
    = 0.6827$, the chance that a standard normal lies within one standard deviation; $b_2$ adds 1 to
    the second output. ``torch.nn.functional.gelu`` agrees:

    >>> up = Linear(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.zeros(3))  # W_1: (3, 2)
    >>> down = Linear(torch.ones(2, 3), torch.tensor([0.0, 1.0]))  # W_2: (2, 3), b_2
    >>> x = torch.tensor([[[1.0, -1.0]]])
    >>> feed_forward(x, up, down)
    tensor([[[0.6827, 1.6827]]])
    >>> reference = torch.nn.functional.gelu(x @ up.weight.T + up.bias) @ down.weight.T + down.bias
    >>> torch.allclose(feed_forward(x, up, down), reference, atol=1e-6)
    True
    """
    return linear(gelu(linear(x, intermediate)), output)  # (batch, seq, d_ff) -> (batch, seq, d)


class EncoderLayerWeights(NamedTuple):
    """Everything one encoder layer reads."""

    attention: AttentionWeights
    attention_ln_gamma: Tensor  # (d,)
    attention_ln_beta: Tensor  # (d,)
    intermediate: Linear  # (d_ff, d)
    output: Linear  # (d, d_ff)
    output_ln_gamma: Tensor  # (d,)
    output_ln_beta: Tensor  # (d,)


def encoder_layer(
    hidden: Tensor,
    weights: EncoderLayerWeights,
    num_heads: int,
    mask: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor]:
    r"""One post-LN transformer encoder layer.

    $$\begin{gathered}
        X' = \operatorname{LayerNorm}_1\big(X + \operatorname{MHA}(X)\big), \\
        X'' = \operatorname{LayerNorm}_2\big(X' + \operatorname{FFN}(X')\big)
        \end{gathered}$$

    - ``hidden``: $X$, ``(batch, seq, d)``; ``mask``: ``(batch, seq)``, 1 for tokens, 0 for padding.
    - Returns $X''$ ``(batch, seq, d)`` and the attention weights ``(batch, heads, seq, seq)``.

    PyTorch's own post-LN layer (``norm_first=False``, GELU, no dropout) is the same equation; with its
    weights, the two agree on every real token (PyTorch's fast path leaves padded positions at 0):

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, activation="gelu",
    ...                                        batch_first=True).eval()
    >>> _ = [torch.nn.init.normal_(p, std=0.5) for p in ref.parameters()]  # biases, LayerNorm gains: not 0 and 1
    >>> lin = lambda m: Linear(m.weight.detach(), m.bias.detach())
    >>> q, k, v = (Linear(W, b) for W, b in zip(ref.self_attn.in_proj_weight.detach().chunk(3),
    ...                                         ref.self_attn.in_proj_bias.detach().chunk(3)))
    >>> w = EncoderLayerWeights(AttentionWeights(q, k, v, lin(ref.self_attn.out_proj)),
    ...                         ref.norm1.weight.detach(), ref.norm1.bias.detach(), lin(ref.linear1),
    ...                         lin(ref.linear2), ref.norm2.weight.detach(), ref.norm2.bias.detach())
    >>> x, mask = torch.randn(2, 3, 4) * 3, torch.tensor([[1, 1, 1], [1, 1, 0]])
    >>> out, attn = encoder_layer(x, w, num_heads=2, mask=mask)
    >>> out.shape, attn.shape
    (torch.Size([2, 3, 4]), torch.Size([2, 2, 3, 3]))
    >>> with torch.no_grad():
    ...     expected = ref(x, src_key_padding_mask=mask == 0)
    >>> torch.allclose(out[mask.bool()], expected[mask.bool()], atol=1e-5)
    True
    """
    attended, attention_weights = multi_head_attention(hidden, weights.attention, num_heads, mask)
    hidden = layer_norm(hidden + attended, weights.attention_ln_gamma, weights.attention_ln_beta, eps)
    transformed = feed_forward(hidden, weights.intermediate, weights.output)  # (batch, seq, d)
    hidden = layer_norm(hidden + transformed, weights.output_ln_gamma, weights.output_ln_beta, eps)
    return hidden, attention_weights


def gelu_backward(grad_output: Tensor, x: Tensor) -> Tensor:
    r"""Vector-Jacobian product of :func:`gelu` (exact, erf form), element-wise.

    $$\begin{gathered}
        \frac{\mathrm{d}}{\mathrm{d}x}\, x\,\Phi(x) = \Phi(x) + x\,\varphi(x), \\
        \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}, \\
        \mathrm{d}x = \mathrm{d}y \odot \big(\Phi(x) + x\,\varphi(x)\big)
        \end{gathered}$$

    - ``grad_output``: $\mathrm{d}y$; ``x``: the forward input (the pre-activation); same shape.

    Unlike ReLU the slope is not 0 or 1: it dips below 0 for $x < -0.752$ (minimum about $-0.13$
    near $x = -1.41$) and exceeds 1 for $x > 0.752$ (maximum about $1.13$ near $x = 1.41$).

    Source: Hendrycks and Gimpel (2016), section 2; PyTorch's ``GeluBackward`` in
    ``aten/src/ATen/native/cpu/Activation.cpp``.

    >>> gelu_backward(torch.ones(3), torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.0833,  0.5000,  1.0833])
    """
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))  # Phi(x)
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)  # phi(x)
    return grad_output * (cdf + x * pdf)


def feed_forward_backward(
    grad_output: Tensor, x: Tensor, pre_activation: Tensor, intermediate: Linear, output: Linear
) -> tuple[Tensor, Linear, Linear]:
    r"""Vector-Jacobian product of :func:`feed_forward`: gradients of the input and both projections.

    Forward: $U_\text{ff} = X' W_1^\top + b_1$, $G_\text{ff} = \operatorname{GELU}(U_\text{ff})$,
    $Y = G_\text{ff} W_2^\top + b_2$. Backward, one rule per step:

    $$\begin{gathered}
        \mathrm{d}G_\text{ff} = \mathrm{d}Y\, W_2, \quad \mathrm{d}W_2 = \mathrm{d}Y^\top G_\text{ff}, \\
        \mathrm{d}U_\text{ff} = \mathrm{d}G_\text{ff} \odot \operatorname{GELU}'(U_\text{ff}), \\
        \mathrm{d}X' = \mathrm{d}U_\text{ff}\, W_1, \quad \mathrm{d}W_1 = \mathrm{d}U_\text{ff}^\top X'
        \end{gathered}$$

    (bias gradients are column sums; see :func:`~roberta_math.math.linear.linear_backward`).

    - ``grad_output``: $\mathrm{d}Y$ ``(batch, seq, d)``; ``x``: $X'$ ``(batch, seq, d)``;
      ``pre_activation``: $U_\text{ff}$ ``(batch, seq, d_ff)``, saved by the forward.
    - Returns $\mathrm{d}X'$ and the gradients of ``intermediate`` and ``output`` as :class:`Linear`.

    >>> d, d_ff = 2, 3
    >>> up, down = Linear(torch.ones(d_ff, d), torch.zeros(d_ff)), Linear(torch.ones(d, d_ff), torch.zeros(d))
    >>> x = torch.zeros(1, 1, d)
    >>> dx, d_up, d_down = feed_forward_backward(torch.ones(1, 1, d), x, linear(x, up), up, down)
    >>> dx  # GELU'(0) = 1/2, and each of the 3 hidden units adds 2 * 1/2 to each input
    tensor([[[3., 3.]]])
    """
    activation = gelu(pre_activation)  # (batch, seq, d_ff), recomputed element-wise
    grad_activation, grad_output_proj = linear_backward(grad_output, activation, output)  # (batch, seq, d_ff)
    grad_pre = gelu_backward(grad_activation, pre_activation)  # (batch, seq, d_ff)
    grad_x, grad_intermediate = linear_backward(grad_pre, x, intermediate)  # (batch, seq, d)
    return grad_x, grad_intermediate, grad_output_proj


class EncoderLayerCache(NamedTuple):
    """What :func:`encoder_layer_backward` needs from the forward pass."""

    attention: AttentionCache
    attention_residual: Tensor  # (batch, seq, d): H + MHA(H), input of the first LayerNorm
    attended: Tensor  # (batch, seq, d): H' = LayerNorm(H + MHA(H))
    ffn_pre_activation: Tensor  # (batch, seq, d_ff): H' W_1^T + b_1
    ffn_residual: Tensor  # (batch, seq, d): H' + FFN(H'), input of the second LayerNorm


def encoder_layer_with_cache(
    hidden: Tensor,
    weights: EncoderLayerWeights,
    num_heads: int,
    mask: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, EncoderLayerCache]:
    r""":func:`encoder_layer`, also returning the activations its backward needs.

    >>> d = 4
    >>> lin = Linear(torch.eye(d), torch.zeros(d))
    >>> w = EncoderLayerWeights(AttentionWeights(lin, lin, lin, lin), torch.ones(d), torch.zeros(d),
    ...                         lin, lin, torch.ones(d), torch.zeros(d))
    >>> x = torch.randn(2, 3, d)
    >>> out, _, cache = encoder_layer_with_cache(x, w, num_heads=2)
    >>> torch.equal(out, encoder_layer(x, w, num_heads=2)[0])
    True
    """
    attended, attention_weights, attention_cache = multi_head_attention_with_cache(
        hidden, weights.attention, num_heads, mask
    )  # (batch, seq, d)
    attention_residual = hidden + attended  # (batch, seq, d)
    hidden_1 = layer_norm(attention_residual, weights.attention_ln_gamma, weights.attention_ln_beta, eps)
    pre_activation = linear(hidden_1, weights.intermediate)  # (batch, seq, d_ff)
    transformed = linear(gelu(pre_activation), weights.output)  # (batch, seq, d)
    ffn_residual = hidden_1 + transformed  # (batch, seq, d)
    out = layer_norm(ffn_residual, weights.output_ln_gamma, weights.output_ln_beta, eps)
    cache = EncoderLayerCache(attention_cache, attention_residual, hidden_1, pre_activation, ffn_residual)
    return out, attention_weights, cache


def encoder_layer_backward(
    grad_output: Tensor,
    cache: EncoderLayerCache,
    weights: EncoderLayerWeights,
    eps: float = 1e-5,
    paths: dict[str, Tensor] | None = None,
) -> tuple[Tensor, EncoderLayerWeights]:
    r"""Vector-Jacobian product of the post-LN :func:`encoder_layer`.

    Forward: $U_1 = X + \operatorname{MHA}(X)$, $X' = \operatorname{LN}_1(U_1)$,
    $U_2 = X' + \operatorname{FFN}(X')$, $X'' = \operatorname{LN}_2(U_2)$. A residual sum copies its
    gradient to both terms, so each sub-layer's input receives the gradient of the skip path
    *plus* that of the branch:

    $$\begin{gathered}
        \mathrm{d}U_2 = \operatorname{LN}_2^\top(\mathrm{d}X''), \\
        \mathrm{d}X' = \underbrace{\mathrm{d}U_2}_{\text{skip}} + \underbrace{\operatorname{FFN}^\top(\mathrm{d}U_2)}_{\text{branch}},
        \end{gathered}$$

    $$\begin{gathered}
        \mathrm{d}U_1 = \operatorname{LN}_1^\top(\mathrm{d}X'), \\
        \mathrm{d}X = \underbrace{\mathrm{d}U_1}_{\text{skip}} + \underbrace{\operatorname{MHA}^\top(\mathrm{d}U_1)}_{\text{branch}},
        \end{gathered}$$

    where $F^\top(\cdot)$ is the vector-Jacobian product of $F$ (:func:`layer_norm_backward`,
    :func:`feed_forward_backward`, :func:`multi_head_attention_backward`). In post-LN the skip
    path still passes through both LayerNorms: there is no identity path from $X''$ back to $X$.

    - ``grad_output``: $\mathrm{d}X''$ ``(batch, seq, d)``; ``cache``: from :func:`encoder_layer_with_cache`.
    - ``paths``: if a dict is given, it receives the four terms above as ``ffn_skip``,
      ``ffn_branch``, ``attention_skip``, ``attention_branch`` (for the figures).
    - Returns $\mathrm{d}X$ ``(batch, seq, d)`` and an :class:`EncoderLayerWeights` of gradients.

    Source: the post-LN layer of Vaswani et al. (2017), section 3.1, as in ``transformers``'
    ``RobertaLayer``; the gradient analysis of post-LN in Xiong et al. (2020), section 3.

    >>> d = 4
    >>> lin = Linear(torch.eye(d), torch.zeros(d))
    >>> w = EncoderLayerWeights(AttentionWeights(lin, lin, lin, lin), torch.ones(d), torch.zeros(d),
    ...                         lin, lin, torch.ones(d), torch.zeros(d))
    >>> out, _, cache = encoder_layer_with_cache(torch.randn(2, 3, d), w, num_heads=2)
    >>> dh, grads = encoder_layer_backward(torch.ones_like(out), cache, w)  # uniform push: LayerNorm absorbs it
    >>> float(dh.abs().max()) < 1e-6, grads.output_ln_beta
    (True, tensor([6., 6., 6., 6.]))
    """
    grad_residual_2, grad_gamma_2, grad_beta_2 = layer_norm_backward(
        grad_output, cache.ffn_residual, weights.output_ln_gamma, eps
    )  # (batch, seq, d)
    grad_branch_2, grad_intermediate, grad_output_proj = feed_forward_backward(
        grad_residual_2, cache.attended, cache.ffn_pre_activation, weights.intermediate, weights.output
    )
    grad_attended = grad_residual_2 + grad_branch_2  # skip + branch
    grad_residual_1, grad_gamma_1, grad_beta_1 = layer_norm_backward(
        grad_attended, cache.attention_residual, weights.attention_ln_gamma, eps
    )  # (batch, seq, d)
    grad_branch_1, grad_attention = multi_head_attention_backward(grad_residual_1, cache.attention, weights.attention)
    grad_hidden = grad_residual_1 + grad_branch_1  # skip + branch
    if paths is not None:
        paths.update(ffn_skip=grad_residual_2, ffn_branch=grad_branch_2,
                     attention_skip=grad_residual_1, attention_branch=grad_branch_1)
    grads = EncoderLayerWeights(
        attention=grad_attention,
        attention_ln_gamma=grad_gamma_1,
        attention_ln_beta=grad_beta_1,
        intermediate=grad_intermediate,
        output=grad_output_proj,
        output_ln_gamma=grad_gamma_2,
        output_ln_beta=grad_beta_2,
    )
    return grad_hidden, grads

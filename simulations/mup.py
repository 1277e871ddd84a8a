"""Width-scaling rules (muP and SP) as pure functions of width, for four families:
the two-layer ReLU net of the paper's Figures 2 and 5 (``init_std``, ``output_multiplier``,
``lr_multipliers``), the deep MLP under Adam (``deep_mlp_init_std``,
``deep_mlp_lr_multipliers``, the "deep MLP" section below), the Llama-style transformer
(the "Llama-style transformer" section) and the bias-free MLP under SGD (the "MLP under
SGD" section), each checked
against a closed-form table in tests/test_mup.py.

Two-layer ReLU net
------------------
The network at width n is

    f(x) = m(n) * sum_i a_i relu(<w_i, x> + b_i),     w_i in R^d,  i = 1..n,

trained with Adam at learning rate ``H_n = nu * lr_multiplier(n)`` per parameter, nu the
scale-free learning rate (the paper's nu; ``hp = log nu`` in the sweep files).

``mup`` (mean-field form of muP for Adam), with an optional base width n0:
    W ~ N(0, 1/d), b ~ N(0, s_x^2), a ~ N(0, c),  m(n) = 1/n,
    LR multipliers: W 1, b 1, a c,    with c = 1 (``base_width=None``) or c = n0.
    Every coordinate is O(1) and Adam moves every coordinate by O(nu) per step, so each
    feature (w_i, b_i, a_i) moves by Theta(1) and f moves by Theta(1) at every width:
    the mean-field limit, in which nu_star(n) has a limit nu_star(inf).
    With a base width n0 the net at n = n0 IS the standard-parametrisation net (fan-in
    initialisation, one Adam LR for every layer): in the paper's un-normalised form
    f = sum_i A_i relu(...), A_i = a_i / n has std sqrt(n0)/n (1/sqrt(n0) at n0) and
    Adam LR nu n0 / n (nu at n0). This is the usual muP convention ("muP equals SP at
    the base shapes", Yang et al., Tensor Programs V, whose Adam table gives output
    weights of init variance ~ 1/n^2 and LR ~ 1/n, input weights and biases LR Theta(1)).
    ``base_width=None`` is the plain mean-field net (c = 1): the same scaling with the
    output layer's LR and init smaller by n0 and sqrt(n0) (a different HP, not a
    different limit).
``sp`` (standard parametrisation, fan-in initialisation, output multiplier 1):
    W ~ N(0, 1/d), b ~ N(0, s_x^2), a ~ N(0, 1/n),  m(n) = 1,  one global LR.
    f is O(1) at initialisation, but Adam moves each a_i by O(nu), so one step moves f by
    O(n nu): the best nu must shrink with width, like a power of n.

The input dimension is the fan-in of W for both; the bias has fan-in 1 and the std s_x
of one input coordinate (``input_std``), so that b_i and <w_i, x> have the same scale.

Deep MLP
--------
``depth`` = D >= 1 hidden layers of width n, input dimension d_in (un-normalised form, no
output multiplier):

    h_1 = relu(W0 x + b0),  h_{l+1} = relu(W_l h_l + b_l),  out = W_D h_D + b_D,

muP for Adam (Yang et al., Tensor Programs V, Table 3) relative to a base width n0, where
the net IS the standard-parametrisation net (fan-in init, one Adam LR nu):

    layer          init std          Adam LR multiplier
    input W0       1/sqrt(d_in)      1
    hidden W_l     1/sqrt(n)         n0/n           (l = 1 .. D-1)
    output W_D     sqrt(n0)/n        n0/n
    biases b_l     0                 1

At D = 1 the output row is the two-layer family's output weight in un-normalised form,
A = m(n) a with ``base_width`` = n0: std sqrt(n0)/n and LR nu n0/n (one rule, Table 3).
"""

from __future__ import annotations

import math

PARAMS: tuple[str, ...] = ("mup", "sp")
PARAM_KEYS: tuple[str, ...] = ("W", "b", "a")


def _check(width: int, param: str, base_width: int | None = None) -> None:
    if param not in PARAMS:
        raise ValueError(f"param must be one of {PARAMS}, got {param!r}")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    if base_width is not None and (int(base_width) != base_width or base_width < 1):
        raise ValueError(f"base_width must be a positive integer or None, got {base_width!r}")


def _output_scale(param: str, base_width: int | None) -> float:
    """c: the variance of a (mup) and its LR multiplier."""
    return 1.0 if param != "mup" or base_width is None else float(base_width)


def init_std(
    width: int, d: int, param: str, input_std: float = 1.0, base_width: int | None = None
) -> dict[str, float]:
    """Standard deviations of the Gaussian initialisation: {"W", "b", "a"} -> float.

    W: 1/sqrt(d) (fan-in d) for both; a: sqrt(c) (mup; c = 1 or the base width) or
    1/sqrt(n) (sp); b: ``input_std``, the per-coordinate std of the inputs, so that b_i
    has the std of <w_i, x> at initialisation (the ReLU kinks are spread over the data
    at every input scale: 1 for x ~ N(0, I_d), 2/sqrt(d) for the k-index model).
    """
    _check(width, param, base_width)
    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if not input_std > 0:
        raise ValueError(f"input_std must be positive, got {input_std!r}")
    a_std = (
        math.sqrt(_output_scale(param, base_width)) if param == "mup" else 1.0 / math.sqrt(width)
    )
    return {"W": 1.0 / math.sqrt(d), "b": float(input_std), "a": a_std}


def output_multiplier(width: int, param: str) -> float:
    """m(n): 1/n under mup (the mean-field average), 1 under sp."""
    _check(width, param)
    return 1.0 / width if param == "mup" else 1.0


def lr_multipliers(width: int, param: str, base_width: int | None = None) -> dict[str, float]:
    """Per-parameter factor in H_n = nu * multiplier for Adam: W 1, b 1, a c (mup, with
    c = 1 or the base width: Adam's O(1) per-coordinate step is already the mean-field
    scale, so no factor depends on n); 1 for every parameter under sp (a single global
    LR, the practice muP corrects)."""
    _check(width, param, base_width)
    return {"W": 1.0, "b": 1.0, "a": _output_scale(param, base_width)}


# ----------------------------------------------------------------------------- deep MLP
def _check_deep(width: int, depth: int, base_width: int) -> None:
    from fasttransfer.errors import InputError

    for name, value in (("width", width), ("depth", depth), ("base_width", base_width)):
        if int(value) != value or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}", param=name)


def deep_mlp_init_std(width: int, depth: int, base_width: int, d_in: int) -> dict[str, float]:
    """muP init standard deviations of the deep MLP (module docstring, "Deep MLP"):
    {"W0": 1/sqrt(d_in), "W1".."W{D-1}": 1/sqrt(n), "W{D}": sqrt(n0)/n, "b0".."b{D}": 0}."""
    from fasttransfer.errors import InputError

    _check_deep(width, depth, base_width)
    if int(d_in) != d_in or d_in < 1:
        raise InputError(f"d_in must be a positive integer, got {d_in!r}", param="d_in")
    std = {"W0": 1.0 / math.sqrt(d_in)}
    for layer in range(1, depth):
        std[f"W{layer}"] = 1.0 / math.sqrt(width)
    std[f"W{depth}"] = math.sqrt(base_width) / width
    for layer in range(depth + 1):
        std[f"b{layer}"] = 0.0
    return std


def deep_mlp_lr_multipliers(width: int, depth: int, base_width: int) -> dict[str, float]:
    """muP Adam learning-rate multipliers of the deep MLP (H_n = nu * multiplier):
    W0 1, W1..W{D} n0/n, biases 1."""
    _check_deep(width, depth, base_width)
    mult = {"W0": 1.0}
    for layer in range(1, depth + 1):
        mult[f"W{layer}"] = base_width / width
    for layer in range(depth + 1):
        mult[f"b{layer}"] = 1.0
    return mult


# ------------------------------------------------------------ Llama-style transformer
# muP for the pre-norm transformer of simulations.transformer (width n = d_model, heads H
# fixed, d_head = n / H, SwiGLU hidden size r n), relative to a base width n0 at which
# the model IS the standard-parametrisation model (fan-in init, one learning rate nu,
# attention 1/sqrt(d_head), no output multiplier). Weights act as x @ W, W: (fan_in,
# fan_out). Parameter kinds and the rules (Tensor Programs V, Tables 3 and 8; the forward
# output-multiplier form of the readout):
#
#   kind      shapes                 init std          Adam LR mult   Muon LR mult
#   embed     (256, n)               1                 1              1 (Adam)
#   attn      wq wk wv wo (n, n)     1/sqrt(n)         n0/n           sqrt(n0)
#   ffn_in    w1 w3 (n, r n)         1/sqrt(n)         n0/n           sqrt(n0)
#   ffn_out   w2 (r n, n)            1/sqrt(r n)       n0/n           sqrt(n0)
#   unembed   (n, 256)               1/sqrt(n0)        1              1 (Adam)
#   gain      RMSNorm gains (n,)     (init 1)          1              1 (Adam)
#
#   output multiplier  logits = (n0/n) h @ W_unembed;
#   attention scale    sqrt(d0)/d_head with d0 = n0/H: muP's 1/d_head, equal to SP's
#                      1/sqrt(d0) at the base width.
#
# Readout: the multiplier form (init std 1/sqrt(n0), LR 1, output x n0/n) is the same
# model under Adam as the un-normalised form of the deep MLP (std sqrt(n0)/n, LR n0/n):
# the effective weight (n0/n) W_U has std sqrt(n0)/n and moves by nu n0/n per entry.
# Hidden matrices: Adam moves every entry by O(nu), so the LR must fall as 1/fan_in;
# all fan-ins here (n or r n) grow like n, hence n0/n for each.
# Muon (simulations.transformer: Newton-Schulz-orthogonalised momentum times
# sqrt(max(1, fan_out/fan_in))) gives an update of spectral norm about
# sqrt(max(1, fan_out/fan_in)) times its LR, already the spectral condition for feature
# learning (Yang, Simon & Bernstein 2023: ||dW|| ~ sqrt(fan_out/fan_in)) at every width,
# so its multiplier does not depend on n. The constant sqrt(n0) is our choice (not in
# the paper): an orthogonal (n0 x n0) update has entries of RMS 1/sqrt(n0), so at the
# base width Muon's per-entry RMS step matches Adam's sign-like step nu (the RMS
# matching of Liu et al. 2025, "Muon is scalable for LLM training", with their 0.2
# replaced by 1), and one grid of nu serves both optimisers.

TRANSFORMER_KINDS: tuple[str, ...] = ("embed", "attn", "ffn_in", "ffn_out", "unembed", "gain")
TRANSFORMER_OPTIMIZERS: tuple[str, ...] = ("adam", "muon")


def _check_transformer(width: int, base_width: int, heads: int | None = None) -> None:
    _check_deep(width, 1, base_width)
    if heads is not None:
        from fasttransfer.errors import InputError

        if int(heads) != heads or heads < 1:
            raise InputError(f"heads must be a positive integer, got {heads!r}", param="heads")
        for name, value in (("width", width), ("base_width", base_width)):
            if value % heads:
                raise InputError(
                    f"{name} ({value}) must be a multiple of heads ({heads})", param=name
                )


def transformer_init_std(width: int, base_width: int, ffn_ratio: int = 4) -> dict[str, float]:
    """muP init standard deviations per parameter kind of the transformer (table above;
    the RMSNorm gains start at 1 and are not drawn: kind "gain" is absent)."""
    from fasttransfer.errors import InputError

    _check_transformer(width, base_width)
    if int(ffn_ratio) != ffn_ratio or ffn_ratio < 1:
        raise InputError(
            f"ffn_ratio must be a positive integer, got {ffn_ratio!r}", param="ffn_ratio"
        )
    return {
        "embed": 1.0,
        "attn": 1.0 / math.sqrt(width),
        "ffn_in": 1.0 / math.sqrt(width),
        "ffn_out": 1.0 / math.sqrt(ffn_ratio * width),
        "unembed": 1.0 / math.sqrt(base_width),
    }


def transformer_lr_multipliers(
    width: int, base_width: int, optimizer: str = "adam"
) -> dict[str, float]:
    """Learning-rate multipliers per parameter kind (H = nu * multiplier; table above):
    Adam: hidden matrices n0/n, everything else 1; Muon: its matrices sqrt(n0) (width-
    independent), the Adam-trained rest 1."""
    from fasttransfer.errors import InputError

    _check_transformer(width, base_width)
    if optimizer not in TRANSFORMER_OPTIMIZERS:
        raise InputError(
            f"optimizer must be one of {TRANSFORMER_OPTIMIZERS}, got {optimizer!r}",
            param="optimizer",
        )
    hidden = base_width / width if optimizer == "adam" else math.sqrt(base_width)
    return {
        "embed": 1.0,
        "attn": hidden,
        "ffn_in": hidden,
        "ffn_out": hidden,
        "unembed": 1.0,
        "gain": 1.0,
    }


def transformer_output_multiplier(width: int, base_width: int) -> float:
    """The readout's forward multiplier n0/n (1 at the base width)."""
    _check_transformer(width, base_width)
    return base_width / width


def transformer_attention_scale(width: int, base_width: int, heads: int) -> float:
    """Attention logit scale sqrt(d0)/d_head, d_head = n/H, d0 = n0/H (H heads fixed, so
    d_head grows with n): proportional to muP's 1/d_head, SP's 1/sqrt(d_head) at n0."""
    _check_transformer(width, base_width, heads)
    return math.sqrt(base_width / heads) / (width / heads)


# ------------------------------------------------------------------- MLP under SGD
# The bias-free MLP of simulations.mlp_sgd (D >= 1 hidden layers of width n; the paper's
# CIFAR-10 net is D = 1): muP for SGD relative to a base width n0 (Tensor Programs V,
# Table 3, SGD column: LR ~ fan_out for input weights (and biases), 1 for hidden weights,
# 1/fan_in for output weights; init as for Adam), normalised so that at n = n0 the net is
# the standard-parametrisation net with one SGD learning rate nu:
#
#     layer          init std          SGD LR multiplier
#     input W0       1/sqrt(d_in)      n/n0
#     hidden W_l     1/sqrt(n)         1              (l = 1 .. D-1)
#     output W_D     sqrt(n0)/n        n0/n
#
# Why: SGD's step is proportional to the gradient. The output gradient has O(1) entries
# (h is O(1) per coordinate), so an LR n0/n moves the logits by O(1) summed over n units;
# the gradient reaching W0 carries W_D's O(1/n) entries, so an LR n/n0 moves each
# pre-activation by O(1) (feature learning at every width).
def sgd_mlp_init_std(width: int, depth: int, base_width: int, d_in: int) -> dict[str, float]:
    """muP init standard deviations of the bias-free MLP (the Adam column's init, without
    biases): {"W0": 1/sqrt(d_in), "W1".."W{D-1}": 1/sqrt(n), "W{D}": sqrt(n0)/n}."""
    std = deep_mlp_init_std(width, depth, base_width, d_in)
    return {k: v for k, v in std.items() if k.startswith("W")}


def sgd_mlp_lr_multipliers(width: int, depth: int, base_width: int) -> dict[str, float]:
    """muP SGD learning-rate multipliers of the bias-free MLP (H_n = nu * multiplier):
    W0 n/n0, W1..W{D-1} 1, W{D} n0/n."""
    _check_deep(width, depth, base_width)
    mult = {"W0": width / base_width}
    for layer in range(1, depth):
        mult[f"W{layer}"] = 1.0
    mult[f"W{depth}"] = base_width / width
    return mult

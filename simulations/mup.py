"""Width-scaling rules of the two-layer ReLU net (SPEC §5), as pure functions of width.

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


def init_std(width: int, d: int, param: str, input_std: float = 1.0,
             base_width: int | None = None) -> dict[str, float]:
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
    a_std = math.sqrt(_output_scale(param, base_width)) if param == "mup" else 1.0 / math.sqrt(width)
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

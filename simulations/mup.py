"""Width-scaling rules of the two-layer ReLU net (SPEC §5), as pure functions of width.

The network at width n is

    f(x) = m(n) * sum_i a_i relu(<w_i, x> + b_i),     w_i in R^d,  i = 1..n,

trained with Adam at learning rate ``H_n = nu * lr_multiplier(n)`` per parameter, nu the
scale-free learning rate (the paper's nu; ``hp = log nu`` in the sweep files).

``mup`` (mean-field form, the muP of this two-layer net under Adam):
    W ~ N(0, 1/d), b ~ N(0, 1), a ~ N(0, 1),  m(n) = 1/n,  one LR for every parameter.
    Every coordinate is O(1) and Adam moves every coordinate by O(nu) per step, so each
    feature (w_i, b_i, a_i) moves by Theta(1) and f moves by Theta(1) at every width:
    the mean-field limit, in which nu_star(n) has a limit nu_star(inf).
``sp`` (standard parametrisation, fan-in initialisation, output multiplier 1):
    W ~ N(0, 1/d), b ~ N(0, 1), a ~ N(0, 1/n),  m(n) = 1,  one global LR.
    f is O(1) at initialisation, but Adam moves each a_i by O(nu), so one step moves f by
    O(n nu): the best nu must shrink with width, like a power of n.

The input dimension is the fan-in of W for both; the bias has fan-in 1.
"""

from __future__ import annotations

import math

PARAMS: tuple[str, ...] = ("mup", "sp")
PARAM_KEYS: tuple[str, ...] = ("W", "b", "a")


def _check(width: int, param: str) -> None:
    if param not in PARAMS:
        raise ValueError(f"param must be one of {PARAMS}, got {param!r}")
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")


def init_std(width: int, d: int, param: str) -> dict[str, float]:
    """Standard deviations of the Gaussian initialisation: {"W", "b", "a"} -> float.

    W: 1/sqrt(d) (fan-in d) for both; b: 1 for both; a: 1 (mup) or 1/sqrt(n) (sp).
    """
    _check(width, param)
    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    a_std = 1.0 if param == "mup" else 1.0 / math.sqrt(width)
    return {"W": 1.0 / math.sqrt(d), "b": 1.0, "a": a_std}


def output_multiplier(width: int, param: str) -> float:
    """m(n): 1/n under mup (the mean-field average), 1 under sp."""
    _check(width, param)
    return 1.0 / width if param == "mup" else 1.0


def lr_multipliers(width: int, param: str) -> dict[str, float]:
    """Per-parameter factor in H_n = nu * multiplier for Adam: 1 for every parameter in
    both parametrisations (mup: Adam's O(1) per-coordinate step is already the mean-field
    scale; sp: a single global LR, the practice muP corrects)."""
    _check(width, param)
    return {k: 1.0 for k in PARAM_KEYS}

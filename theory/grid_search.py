"""The compute-optimal grid-search model of Theorem 2 (the paper's Section 3.1) and its planner.

Notation of the paper's Theorem 2: cost of one training run at width n: ``n**r``
(in units of one run at width 1; r = 2 is the paper's "standard"); budget F (``C`` in
this module's code). A grid search with K trials over an h-dimensional HP box has
resolution ``rho ~ K**(-1/h)`` (the paper's rho) and leaves a loss excess
``g(K) = G K**(-2/h)`` (the paper's rho^2).

* Direct tuning at width n:     cost ``K n**r``,          excess ``E_D = a_n + g(K)``.
* Transfer from proxy m <= n:   cost ``K m**r + n**r``, excess
  ``E_T = a_n + c_m + g(K)``, where ``c_m = Theta(b_m**2)`` is the transfer
  suboptimality of the HP tuned at m (Theorem 1), here ``c_m = Bc m**(-2 beta)``.

with ``a_n = A n**(-alpha)``. Compute-optimal: minimise each excess under a total cost
<= C. The closed forms (derived symbolically in :mod:`proofs_check.theorem2`)::

    E_D*(C) ~ C**(-alpha / (r + alpha h / 2))
    E_T*(C) ~ C**(-min(alpha / r, 2 beta / (r + beta h)))

and transfer has the strictly larger exponent iff ``beta > alpha/2``. The
compute-optimal widths (:func:`width_exponents`): direct ``n* ~ F**(2/(h alpha + 2r))``;
transfer, as the paper states them, proxy ``~ F**(1/(h beta + r))`` (the paper's n) and
target ``~ F**(1/r)`` (its M). Our code calls the proxy width m and the target width n.

This module holds the exponents and :class:`ExcessModel` (the constants A, alpha, Bc,
beta, G, h, r; built from a synthetic family (docs/paper-setups.md#synthetic-families) by
:meth:`ExcessModel.from_family`). Built on it:

* :mod:`theory.grid_planner` -- :func:`~theory.grid_planner.plan`, the continuous
  optimum (closed form for direct tuning, one scalar root for the transfer budget split)
  rounded to an affordable integer plan;
* :mod:`theory.grid_brute_force` -- exhaustive search over integer (n, K) and (n, m, K),
  vectorised in numpy over budgets x candidates;
* :mod:`theory.grid_optimum` -- the continuous minimiser by zooming grids in log
  variables, at budgets far beyond any integer search (up to F = 1e240), and the width
  exponents;
* :mod:`theory.grid_studies` -- the slope and width studies of the theorem2 check and
  the figure's panels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError

__all__ = [
    "ExcessModel",
    "exponent_direct",
    "exponent_transfer",
    "is_useful",
    "max_count",
    "max_width",
    "validate_exponents",
]


# ----------------------------------------------------------------------------- exponents
def exponent_direct(alpha: float, r: float = 2.0, h: float = 1.0) -> float:
    """``E_D*(C) ~ C**-e``: ``e = alpha / (r + alpha h / 2)``."""
    return alpha / (r + alpha * h / 2.0)


def exponent_transfer(alpha: float, beta: float, r: float = 2.0, h: float = 1.0) -> float:
    """``E_T*(C) ~ C**-e``: ``e = min(alpha / r, 2 beta / (r + beta h))`` -- the
    final run at width n binds (``alpha/r``) or the proxy search does."""
    return min(alpha / r, 2.0 * beta / (r + beta * h))


def is_useful(alpha: float, beta: float) -> bool:
    """Theorem 2: transfer's exponent is strictly better iff ``beta > alpha/2``
    (for every r > 0, h >= 1); decided on the exact inequality, not on two floats."""
    return bool(beta > alpha / 2.0)


def validate_exponents(alpha, beta, r, h, budget=None) -> tuple[float, ...]:
    """Parse and check the planner's inputs; :class:`InputError` names the bad one."""
    out = []
    for name, value in (("alpha", alpha), ("beta", beta), ("r", r), ("h", h), ("budget", budget)):
        if name == "budget" and budget is None:
            continue
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{name}: not a number: {value!r}", param=name) from None
        if not math.isfinite(x):
            raise InputError(f"{name}: must be finite, got {value!r}", param=name)
        out.append(x)
    a, b, r, hh = out[:4]
    if a <= 0:
        raise InputError(
            f"alpha: must be > 0 (loss gap a_n ~ n^-alpha must vanish), got {a:g}", param="alpha"
        )
    if b < 0:
        raise InputError(f"beta: must be >= 0 (b_n ~ n^-beta), got {b:g}", param="beta")
    if r <= 0:
        raise InputError(f"r: must be > 0 (cost of a run ~ n^r), got {r:g}", param="r")
    if hh < 1:
        raise InputError(f"h: must be >= 1 (number of tuned HPs), got {hh:g}", param="h")
    if budget is not None and out[4] <= 1:
        raise InputError(
            f"budget: must be > 1 (units of one run at width 1), got {out[4]:g}", param="budget"
        )
    return tuple(out)


# ----------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class ExcessModel:
    """Constants of the excess model: ``a_n = A n^-alpha``, ``c_m = Bc m^(-2 beta)``,
    ``g(K) = G K^(-2/h)``, run cost ``n^r``."""

    alpha: float
    beta: float
    r: float = 2.0
    h: float = 1.0
    A: float = 1.0
    Bc: float = 1.0
    G: float = 1.0

    @classmethod
    def from_family(
        cls, family, *, r: float = 2.0, h: float = 1.0, box: float = 4.0
    ) -> ExcessModel:
        """The model of a :class:`theory.synthetic.PowerLawFamily`:
        ``a_n = |A| n^-alpha``, ``c_m = kappa/2 B^2 m^(-2 beta)`` exactly, and ``g`` the
        worst case of a regular grid of K points over a box of side ``box`` in each of
        the h (identical, independent) HP directions: spacing ``box K^(-1/h)``, error
        at most half of it per direction, so ``g(K) = kappa/2 * h * (box/2)^2 K^(-2/h)``."""
        return cls(
            alpha=float(family.alpha),
            beta=float(family.beta),
            r=r,
            h=h,
            A=abs(float(family.A)),
            Bc=0.5 * float(family.kappa) * float(family.B) ** 2,
            G=0.5 * float(family.kappa) * h * (box / 2.0) ** 2,
        )

    @property
    def exponent_direct(self) -> float:
        return exponent_direct(self.alpha, self.r, self.h)

    @property
    def exponent_transfer(self) -> float:
        return exponent_transfer(self.alpha, self.beta, self.r, self.h)

    # excess terms (numpy, broadcasting)
    def a(self, n):
        return self.A * np.asarray(n, dtype=np.float64) ** (-self.alpha)

    def c(self, m):
        return self.Bc * np.asarray(m, dtype=np.float64) ** (-2.0 * self.beta)

    def g(self, K):
        return self.G * np.asarray(K, dtype=np.float64) ** (-2.0 / self.h)

    def excess_direct(self, n, K):
        return self.a(n) + self.g(K)

    def excess_transfer(self, n, m, K):
        return self.a(n) + self.c(m) + self.g(K)

    def cost_direct(self, n, K):
        return np.asarray(K, dtype=np.float64) * np.asarray(n, dtype=np.float64) ** self.r

    def cost_transfer(self, n, m, K):
        return (
            np.asarray(K, dtype=np.float64) * np.asarray(m, dtype=np.float64) ** self.r
            + np.asarray(n, dtype=np.float64) ** self.r
        )


# ----------------------------------------------------------------------------- costs
def max_count(budget, width, r):
    """Largest integer K with ``K width^r <= budget`` (float-safe floor)."""
    width = np.asarray(width, dtype=np.float64)
    unit = width**r
    K = np.floor(np.asarray(budget, dtype=np.float64) / unit * (1.0 + 1e-12))
    return np.where(K * unit > budget, K - 1.0, K)


def max_width(budget, r):
    """Largest integer n with ``n^r <= budget`` (0 when budget < 1)."""
    budget = np.asarray(budget, dtype=np.float64)
    b = np.maximum(budget, 1.0)
    n = np.floor(b ** (1.0 / r) * (1.0 + 1e-12))
    n = np.where(n**r > b, n - 1.0, n)
    n = np.where((n + 1.0) ** r <= b, n + 1.0, n)
    return np.where(budget < 1.0, 0.0, n)

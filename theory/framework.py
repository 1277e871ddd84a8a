"""The rate framework of the paper (SPEC §1): the three width-dependent gaps and the
transfer verdict.

Notation (width n, scale-free HP nu, ``phi_n(nu)`` the loss after training at width n):

* ``nu_star(n) = argmin_nu phi_n(nu)``,  ``phi_star(n) = min_nu phi_n(nu)``;
* loss gap          ``a_n = |phi_star(n) - phi_star(inf)|``            (~ n^-alpha);
* HP gap            ``b_n = ||nu_star(n) - nu_star(inf)||``            (~ n^-beta);
* transfer subopt.  ``c_n = phi_inf(nu_star(n)) - phi_star(inf) >= 0`` (Theta(b_n^2));
* finite version    ``c_{m->N} = phi_N(nu_star(m)) - phi_star(N)`` (proxy m, target N).

Fast transfer is ``c_n = o(a_n)``, i.e. ``b_n = o(a_n^(1/2))``, i.e. ``beta > alpha/2``
for power laws (Theorem 1); :func:`transfer_verdict` turns an interval for
``beta - alpha/2`` and an interval for ``beta`` into one of the four verdict words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

VerdictWord = Literal["fast", "weak", "no-transfer", "inconclusive"]
VERDICTS: tuple[str, ...] = ("fast", "weak", "no-transfer", "inconclusive")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its (95%) interval ``ci = (lo, hi)``."""

    estimate: float
    ci: tuple[float, float]

    def contains(self, value: float) -> bool:
        return bool(self.ci[0] <= value <= self.ci[1])

    @property
    def width(self) -> float:
        return float(self.ci[1] - self.ci[0])

    def to_json(self) -> dict:
        return {"estimate": float(self.estimate), "ci": [float(self.ci[0]), float(self.ci[1])]}

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{self.ci[0]:.4g}, {self.ci[1]:.4g}]"


def loss_gap(phi_star_n, phi_star_inf):
    """``a_n = |phi_star(n) - phi_star(inf)|`` (elementwise; any broadcastable shapes)."""
    return np.abs(np.asarray(phi_star_n, dtype=np.float64) - phi_star_inf)


def hp_gap(nu_star_n, nu_star_inf, *, hp_axis: int | None = None):
    """``b_n = ||nu_star(n) - nu_star(inf)||``.

    One HP (``hp_axis=None``): the absolute difference, elementwise. For h HPs pass
    arrays whose axis ``hp_axis`` has length h: the Euclidean norm over that axis.
    """
    diff = np.asarray(nu_star_n, dtype=np.float64) - np.asarray(nu_star_inf, dtype=np.float64)
    if hp_axis is None:
        return np.abs(diff)
    return np.linalg.norm(diff, axis=hp_axis)


def transfer_suboptimality(phi_inf: Callable, nu_star_n, phi_star_inf):
    """``c_n = phi_inf(nu_star(n)) - phi_star(inf)``: the excess limit loss of the HP
    tuned at width n. ``phi_inf`` maps an array of nu to the limit loss."""
    return np.asarray(phi_inf(np.asarray(nu_star_n, dtype=np.float64)), dtype=np.float64) - phi_star_inf


def finite_transfer_suboptimality(phi_N: Callable, nu_star_m, phi_star_N):
    """``c_{m->N} = phi_N(nu_star(m)) - phi_star(N)``: the excess loss at target width N
    of the HP tuned at proxy width m (the measurable stand-in for ``c_m``)."""
    return np.asarray(phi_N(np.asarray(nu_star_m, dtype=np.float64)), dtype=np.float64) - phi_star_N


def transfer_verdict(beta_minus_half_alpha: tuple[float, float],
                     beta: tuple[float, float]) -> VerdictWord:
    """The verdict from two 95% intervals (SPEC §2):

    * ``no-transfer`` -- nu_star does not converge: the whole interval of beta is <= 0
      (b_n does not shrink with width);
    * ``fast``  -- b_n -> 0 (beta interval above 0) and the interval of beta - alpha/2
      lies above 0;
    * ``weak``  -- b_n -> 0 and the interval of beta - alpha/2 does not lie above 0:
      it contains 0 (b_n ~ a_n^(1/2), the trivial rate) or lies below it (b_n -> 0 more
      slowly still, which Theorem 1 excludes when eps_n = O(a_n); still weak transfer);
    * ``inconclusive`` -- convergence of nu_star not established (the beta interval
      straddles 0) or an interval that is not finite.
    """
    d_lo, d_hi = (float(x) for x in beta_minus_half_alpha)
    b_lo, b_hi = (float(x) for x in beta)
    if not all(np.isfinite([d_lo, d_hi, b_lo, b_hi])):
        return "inconclusive"
    if b_hi <= 0.0:
        return "no-transfer"
    if b_lo <= 0.0:
        return "inconclusive"
    if d_lo > 0.0:
        return "fast"
    return "weak"


def is_fast(alpha: float, beta: float) -> bool:
    """Theorem 1 with power laws: fast (and useful) transfer iff ``beta > alpha/2``."""
    return bool(beta > alpha / 2)

"""The rate framework of the paper (its Section 3.1): the three width-dependent gaps and the
transfer verdict.

Notation (width n, scale-free HP nu, ``phi_n(nu)`` the loss after training at width n):

* ``nu_star(n) = argmin_nu phi_n(nu)``,  ``phi_star(n) = min_nu phi_n(nu)``;
* loss gap          ``a_n = |phi_star(n) - phi_star(inf)|``            (~ n^-alpha);
* HP gap            ``b_n = ||nu_star(n) - nu_star(inf)||``            (~ n^-beta);
* transfer subopt.  ``c_n = phi_inf(nu_star(n)) - phi_star(inf) >= 0`` (Theta(b_n^2));
* finite version    ``c_{m->N} = phi_N(nu_star(m)) - phi_star(N)`` (proxy m, target N).

Fast transfer is ``c_n = o(a_n)``, i.e. ``b_n = o(a_n^(1/2))``, i.e. ``beta > alpha/2``
for power laws (Proposition 1); :func:`transfer_verdict` turns the evidence of an analysis
(:class:`Evidence`: intervals, resolution of the gaps, the drift model's comparison, the
estimator's doubts) into one of the five verdict words (docs/paper-setups.md#verdicts) with
its reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

VerdictWord = Literal["fast", "weak", "no-transfer", "below-theory", "inconclusive"]
VERDICTS: tuple[str, ...] = ("fast", "weak", "no-transfer", "below-theory", "inconclusive")
DEFAULT_MARGIN = 0.1  # equivalence margin of beta - alpha/2 (see transfer_verdict)


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
    return (
        np.asarray(phi_inf(np.asarray(nu_star_n, dtype=np.float64)), dtype=np.float64)
        - phi_star_inf
    )


def finite_transfer_suboptimality(phi_N: Callable, nu_star_m, phi_star_N):
    """``c_{m->N} = phi_N(nu_star(m)) - phi_star(N)``: the excess loss at target width N
    of the HP tuned at proxy width m (the measurable stand-in for ``c_m``)."""
    return np.asarray(phi_N(np.asarray(nu_star_m, dtype=np.float64)), dtype=np.float64) - phi_star_N


@dataclass(frozen=True)
class Evidence:
    """What a transfer verdict rests on (intervals are 95%, ``(lo, hi)``).

    d: interval of beta - alpha/2; beta: interval of beta; margin: the equivalence
    margin m (of beta - alpha/2, and of the drift slope s: both are exponents of n);
    drift: the comparison of the drift model ``nu_star = c + s ln n`` with the HP power
    law ("power law", "drift", "indistinguishable", or "untested"); slope /
    slope_estimate: the drift slope s; loss_gap_resolved: the loss improves with width
    (the loss gap at the narrowest width has an interval above 0 and phi_star falls with
    n); hp_drift_resolved: the HP gap at the narrowest width has an interval excluding
    0; flat: the reason when nu_star is consistent with one value at every width (else
    empty); blockers: reasons no verdict can be given at all (no intervals, one seed,
    failed resamples); doubts: reasons the fitted rates cannot be trusted (exponent at
    a search bound, window sensitivity); below_causes: what may explain an interval
    below the margin (data-driven first)."""

    d: tuple[float, float]
    beta: tuple[float, float]
    margin: float = DEFAULT_MARGIN
    drift: str = "untested"
    slope: tuple[float, float] = (float("nan"), float("nan"))
    slope_estimate: float = float("nan")
    loss_gap_resolved: bool = True
    hp_drift_resolved: bool = True
    flat: str = ""
    blockers: tuple[str, ...] = ()
    doubts: tuple[str, ...] = ()
    below_causes: tuple[str, ...] = ()


def _excludes_zero(ci) -> bool:
    lo, hi = (float(x) for x in ci)
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def rescaling_rule(s: float) -> str:
    """The reparametrisation a resolved log drift implies (for a learning rate,
    LR* ~ n^s)."""
    return (
        f"the optimum moves as n^{s:.3g}: reparametrise as HP = nu n^{s:.3g} (tune the "
        f"scale-free nu = HP n^{-s:.3g}, whose optimum then stays put) and rerun the sweep"
    )


def transfer_verdict(ev: Evidence) -> tuple[VerdictWord, list[str]]:
    """The verdict and its reasons (docs/paper-setups.md#verdicts), in this order:

    1. ``inconclusive`` when a blocker holds (no intervals, one seed without the
       independence assertion, too many failed resamples).
    2. Drift versus convergence. The optimum is taken to converge only when the
       likelihood-ratio test rejects the drift model ``nu_star = c + s ln n`` in favour
       of the power law AND beta's interval lies above 0. It is taken not to converge
       (``no-transfer``, with the rescaling it implies) when beta's interval lies below
       the margin (no convergence at a rate that matters, or divergence) and the drift
       is resolved: nu_star is not constant and the slope's interval lies beyond the
       margin (LR* ~ n^s moves by more than 10^m per decade of width). Anything else:
       ``inconclusive`` (the data cannot decide between convergence and drift).
    3. ``inconclusive`` unless the loss gap and the HP drift are resolved and the
       estimator has no doubt about the rates.
    4. From the interval [lo, hi] of beta - alpha/2 and the margin m: ``fast`` when
       lo > m (c_n = o(a_n)); ``weak`` when -m <= lo and hi <= m (c_n ~ a_n within
       n^(+-2m)); ``below-theory`` when hi < -m: b_n shrinks more slowly than
       a_n^(1/2), which Proposition 1 rules out under its assumptions, so one fails or
       the estimate is biased (``below_causes``); else ``inconclusive`` (underpowered:
       the interval straddles a margin).

    The margin m = 0.1 (DEFAULT_MARGIN) is the equivalence region of "weak": within it,
    c_n/a_n = n^(-2 (beta - alpha/2)) changes by less than 10^0.2 = 1.6x per decade of
    width."""
    if ev.blockers:
        return "inconclusive", list(ev.blockers)
    b_lo, b_hi = (float(x) for x in ev.beta)
    m = float(ev.margin)
    if ev.drift == "untested":
        return "inconclusive", ["the drift model was not compared (no standard errors of nu_star)"]
    converges = bool(np.isfinite(b_lo) and b_lo > 0)
    if not (ev.drift == "power law" and converges):
        test = {
            "power law": "the likelihood-ratio test prefers the power law to the drift model "
            "nu_star = c + s ln n",
            "drift": "the drift model nu_star = c + s ln n is preferred to the power law",
            "indistinguishable": "the likelihood-ratio test cannot tell the drift model "
            "nu_star = c + s ln n from a converging power law",
        }[ev.drift]
        s_lo, s_hi = (float(x) for x in ev.slope)
        slope = f"the drift slope s = {ev.slope_estimate:.3g} [{s_lo:.3g}, {s_hi:.3g}]"
        beta = f"beta's interval [{b_lo:.3g}, {b_hi:.3g}]"
        if not (np.isfinite(b_hi) and b_hi < m):
            return "inconclusive", [
                f"{test}, and {beta} does not lie below {m:g}: the data "
                "cannot decide between convergence and drift"
            ]
        if ev.flat:
            return "inconclusive", [f"{test}, but {ev.flat}"]
        if not (np.isfinite(s_lo) and np.isfinite(s_hi) and (s_lo > m or s_hi < -m)):
            return "inconclusive", [
                f"{test}, but {slope} does not lie beyond +-{m:g}: the drift is not resolved"
            ]
        return "no-transfer", [
            f"{test}, {beta} lies below {m:g} and {slope} beyond +-{m:g}: "
            f"{rescaling_rule(ev.slope_estimate)}"
        ]
    reasons = []
    if not ev.loss_gap_resolved:
        reasons.append(
            "the loss gap is not resolved: the loss does not improve measurably "
            "with width (the gap at the narrowest width or the trend of phi_star "
            "has an interval reaching 0)"
        )
    if not ev.hp_drift_resolved:
        reasons.append(
            "the HP drift is not resolved (the HP gap at the narrowest width has "
            "an interval reaching 0)"
        )
    if ev.flat:
        reasons.append(ev.flat)
    reasons.extend(ev.doubts)
    if reasons:
        return "inconclusive", reasons
    lo, hi = (float(x) for x in ev.d)
    span = f"[{lo:.3g}, {hi:.3g}]"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive", ["the interval of beta - alpha/2 is not finite"]
    if lo > m:
        return "fast", [f"beta - alpha/2 in {span}, above the margin +{m:g}: c_n = o(a_n)"]
    if hi < -m:
        return "below-theory", [
            f"beta - alpha/2 in {span}, below the margin -{m:g}: b_n shrinks more slowly than "
            "a_n^(1/2), which Proposition 1 excludes under its assumptions; one of them may "
            "fail or the estimate may be biased",
            *list(ev.below_causes),
        ]
    if -m <= lo and hi <= m:
        return "weak", [
            f"beta - alpha/2 in {span}, inside the equivalence margin +-{m:g}, with "
            "the loss gap and the HP drift resolved: c_n ~ a_n"
        ]
    return "inconclusive", [
        f"underpowered: the interval {span} of beta - alpha/2 straddles the "
        f"equivalence margin +-{m:g} (more seeds, widths or a finer grid "
        "narrow it)"
    ]


def is_fast(alpha: float, beta: float) -> bool:
    """Proposition 1 with power laws: fast (and useful) transfer iff ``beta > alpha/2``."""
    return bool(beta > alpha / 2)

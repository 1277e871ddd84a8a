"""The compute-optimal planner of Theorem 2's grid-search model (:mod:`theory.grid_search`):
the continuous optimum of each strategy (closed form for direct tuning, one scalar root
for the transfer budget split), rounded to an affordable integer plan (``fasttransfer
plan``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.theory.grid_optimum import WidthExponents, width_exponents
from fasttransfer.theory.grid_search import (
    ExcessModel,
    exponent_direct,
    exponent_transfer,
    is_useful,
    max_count,
    max_width,
    validate_exponents,
)

__all__ = ["Plan", "plan"]


# ----------------------------------------------------------------------------- planner
@dataclass(frozen=True)
class Plan:
    """A compute-optimal plan for budget C (integers; every cost <= C)."""

    budget: float
    proxy_width: int
    trials: int
    target_width: int
    excess: float
    direct_width: int
    direct_trials: int
    direct_excess: float
    exponent_transfer: float
    exponent_direct: float
    useful: bool
    r: float
    h: float
    widths: WidthExponents

    def to_json_dict(self) -> dict:
        """The ``fasttransfer plan --json`` schema (docs/paper-setups.md#command-line), plus
        ``r``, ``h`` and the width exponents (``widths ~ F^exponent``)."""
        w = self.widths
        return {
            "transfer": {
                "proxy_width": self.proxy_width,
                "trials": self.trials,
                "target_width": self.target_width,
                "excess": self.excess,
            },
            "direct": {
                "width": self.direct_width,
                "trials": self.direct_trials,
                "excess": self.direct_excess,
            },
            "exponent_transfer": self.exponent_transfer,
            "exponent_direct": self.exponent_direct,
            "useful": self.useful,
            "budget": self.budget,
            "r": self.r,
            "h": self.h,
            "width_exponents": {
                "direct_width": w.direct,
                "proxy_width": {"paper": w.proxy_paper, "argmin": w.proxy},
                "target_width": {"paper": w.target_paper, "argmin": w.target},
                "regime": w.regime,
            },
        }


def _two_term_optimum(c1: float, p1: float, c2: float, p2: float, r: float, Q, w_max=None):
    """Continuous argmin of ``c1 w^-p1 + c2 K^-p2`` s.t. ``K w^r = Q``, 1 <= w <= w_max.

    Substituting ``K = Q w^-r``: ``f(w) = c1 w^-p1 + c2 Q^-p2 w^(r p2)`` is convex in
    log w with stationary point ``w^(p1 + r p2) = p1 c1 Q^p2 / (r p2 c2)`` (the
    Lagrangian balance ``p1 * term1 = r p2 * term2``); convexity makes clipping to
    the box ``[1, min(w_max, Q^(1/r))]`` the constrained optimum. Vectorised over Q
    (and w_max). Returns (w, K).
    """
    Q = np.asarray(Q, dtype=np.float64)
    logQ = np.log(Q)
    hi = logQ / r if w_max is None else np.minimum(logQ / r, np.log(w_max))
    if p1 <= 0.0 or c1 == 0.0:
        logw = np.zeros_like(logQ)  # the first term does not fall with w: all on trials
    else:
        logw = (math.log(p1 * c1 / (r * p2 * c2)) + p2 * logQ) / (p1 + r * p2)
    w = np.exp(np.clip(logw, 0.0, np.maximum(hi, 0.0)))
    return w, Q / w**r


def _near(x: float, span: int = 2) -> np.ndarray:
    """The 2 span + 2 integers from floor(x) - span to floor(x) + span + 1, clipped to
    >= 1 (repeats allowed: fixed size, so candidate sets stack)."""
    return np.clip(np.floor(x) + np.arange(-span, span + 2), 1.0, None)


def _best_integer_direct(model: ExcessModel, C: float, n_cont: float) -> tuple[int, int, float]:
    """Integer (n, K) near the continuous optimum: widths near n_cont with their largest
    affordable K, and trial counts near C/n_cont^r with their largest affordable n."""
    n1 = _near(n_cont)
    n2 = max_width(C / _near(C / n_cont**model.r), model.r)
    n = np.concatenate([n1, n2])
    K = np.concatenate([max_count(C, n1, model.r), _near(C / n_cont**model.r)])
    ok = (K >= 1) & (n >= 1)
    if not np.any(ok):
        raise InputError(f"budget: {C:g} buys no run at width 1", param="budget")
    E = np.where(ok, model.excess_direct(np.maximum(n, 1.0), np.maximum(K, 1.0)), np.inf)
    i = int(np.argmin(E))
    return int(n[i]), int(K[i]), float(E[i])


def plan(alpha, beta, r, h, budget, *, A: float = 1.0, Bc: float = 1.0, G: float = 1.0) -> Plan:
    """The Theorem 2 planner: compute-optimal integer plans for both strategies.

    Direct: the closed-form optimum of ``A n^-alpha + G K^(-2/h)`` on ``K n^r = C``.
    Transfer: the budget splits into the final run ``P = n^r`` and the proxy search
    ``Q = K m^r = C - P``; the proxy search is the same two-term problem in (m, K)
    (closed form, clipped to m <= n), and the split minimises
    ``A P^(-alpha/r) + V(C - P)`` over P (dense scan of log(P/(C-P)), golden
    refinement).
    Widths are rounded to affordable integers (neighbours of the continuous optimum,
    each with its largest affordable K).
    Excess is in the units of the constants (A, Bc, G); exponents are the closed forms.
    """
    alpha, beta, r, h, C = validate_exponents(alpha, beta, r, h, budget)
    if C < 2.0:
        raise InputError(
            f"budget: transfer needs at least two runs at width 1 (budget >= 2), got {C:g}",
            param="budget",
        )
    if math.log10(C) / r > 300.0:  # n = C^(1/r) would overflow float64
        raise InputError(
            f"budget: {C:g} with r = {r:g} implies widths beyond 1e300", param="budget"
        )
    model = ExcessModel(alpha=alpha, beta=beta, r=r, h=h, A=A, Bc=Bc, G=G)
    p = 2.0 / h

    n_d, _ = _two_term_optimum(A, alpha, G, p, r, C)
    dn, dK, dE = _best_integer_direct(model, C, float(n_d))

    def transfer_at(z):
        """Best continuous transfer plan for the split ``z = log(P/Q)`` of C between
        the final run (P = n^r) and the proxy search (Q = K m^r): the logit form
        keeps both shares accurate when one of them is a tiny fraction of C."""
        z = np.asarray(z, dtype=np.float64)
        P, Q = C / (1.0 + np.exp(-z)), C / (1.0 + np.exp(z))
        n = P ** (1.0 / r)
        m, K = _two_term_optimum(Bc, 2.0 * beta, G, p, r, Q, w_max=n)  # m <= n
        return model.excess_transfer(n, m, K), m, n

    # the split: a dense scan of z over [-log(C-1), log(C-1)] (P and Q >= 1; the
    # m <= n constraint can make the objective non-convex), then golden-section
    # refinement inside the best cell.
    zmax = math.log(C) + math.log1p(-1.0 / C)
    grid = np.linspace(-zmax, zmax, 4001)
    with np.errstate(over="ignore"):  # exp(+-z) may overflow to inf: the share -> 0
        E_grid = transfer_at(grid)[0]
        j = int(np.nanargmin(E_grid))
        lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
        gr = (math.sqrt(5.0) - 1.0) / 2.0
        for _ in range(100):
            x1, x2 = hi - gr * (hi - lo), lo + gr * (hi - lo)
            if transfer_at(x1)[0] < transfer_at(x2)[0]:
                hi = x2
            else:
                lo = x1
        _, m_cont, n_cont = transfer_at(0.5 * (lo + hi))
    m_cont, n_cont = float(m_cont), float(n_cont)

    # integer plan, a local search around the continuous optimum: (i) proxy widths
    # near m_cont x target widths near n_cont, each with its largest affordable K;
    # (ii) trial counts near the continuous K x a fine geometric band of proxy widths
    # (m_cont/2 .. 2 m_cont), each with its largest affordable n. (ii) matters when K
    # is small and rounding it moves the best (m, n) by more than a few units.
    m_c = _near(m_cont)[:, None]
    n1 = np.broadcast_to(_near(n_cont)[None, :], (m_c.shape[0], m_c.shape[0]))
    K1 = max_count(C - n1**r, m_c, r)
    K_cont = max((C - n_cont**r) / m_cont**r, 1.0)
    K2 = np.clip(np.floor(K_cont) + np.arange(-3.0, 5.0), 1.0, None)[None, :]
    m2 = np.floor(np.geomspace(max(m_cont / 2.0, 1.0), 2.0 * m_cont + 1.0, 801))[:, None]
    n2 = max_width(C - K2 * m2**r, r)
    nn = np.concatenate([n1.ravel(), n2.ravel()])[None, :]
    KK = np.concatenate([K1.ravel(), np.broadcast_to(K2, n2.shape).ravel()])[None, :]
    mm = np.concatenate(
        [np.broadcast_to(m_c, n1.shape).ravel(), np.broadcast_to(m2, n2.shape).ravel()]
    )[None, :]
    ok = (KK >= 1) & (mm <= nn) & (model.cost_transfer(nn, mm, KK) <= C)
    if not np.any(ok):  # tiny budgets: the smallest proxy and the widest affordable target
        mm, KK = np.array([[1.0]]), np.array([[1.0]])
        nn = max_width(np.array([[C - 1.0]]), r)
        ok = nn >= 1
        if not np.any(ok):
            raise InputError(
                f"budget: {C:g} is too small for a proxy search and a final run", param="budget"
            )
    E = np.where(ok, model.excess_transfer(np.maximum(nn, 1.0), mm, np.maximum(KK, 1.0)), np.inf)
    i = np.unravel_index(int(np.argmin(E)), E.shape)
    return Plan(
        budget=C,
        proxy_width=int(mm[i]),
        trials=int(KK[i]),
        target_width=int(nn[i]),
        excess=float(E[i]),
        direct_width=dn,
        direct_trials=dK,
        direct_excess=dE,
        exponent_transfer=exponent_transfer(alpha, beta, r, h),
        exponent_direct=exponent_direct(alpha, r, h),
        useful=is_useful(alpha, beta),
        r=r,
        h=h,
        widths=width_exponents(alpha, beta, r, h),
    )

"""The continuous compute-optimal widths of Theorem 2's grid-search model
(:mod:`theory.grid_search`): the width exponents in closed form and the minimiser found
by zooming grids in log variables, at budgets far beyond any integer search (up to
F = 1e240)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.theory.grid_search import ExcessModel

__all__ = [
    "WidthExponents",
    "continuous_optimum_direct",
    "continuous_optimum_transfer",
    "paper_plan_log_excess",
    "width_exponents",
]


# ----------------------------------------------------------------------------- widths
@dataclass(frozen=True)
class WidthExponents:
    """Compute-optimal widths ``~ F^exponent`` in the model (F the budget).

    ``direct``: direct tuning's width, ``2/(h alpha + 2r)``.
    ``proxy_paper``, ``target_paper``: the transfer widths the paper states,
    ``1/(h beta + r)`` (its n, where the grid runs) and ``1/r`` (its M, the final run).
    They are rate-optimal: with any constant split of F between the proxy search and
    the final run they attain E_T*'s exponent.
    ``proxy``, ``target``: the exact minimiser of the model. The term that does not bind
    gets a vanishing share of F, so its width grows more slowly than the paper states
    (derived in :func:`proofs_check.theorem2.check_width_exponents`); ``regime`` says
    which: "tie" (e1 = e2, both as stated), "final run binds" (e1 < e2: smaller proxy),
    "proxy search binds" (e1 > e2: smaller target), or "proxy capped at the target"
    (alpha > (h + 2) beta: the unconstrained proxy would outgrow the target; m = n).
    Here e1 = alpha/r and e2 = 2 beta/(r + beta h) are the two transfer exponents.
    """

    direct: float
    proxy_paper: float
    target_paper: float
    proxy: float
    target: float
    regime: str


def width_exponents(alpha: float, beta: float, r: float = 2.0, h: float = 1.0) -> WidthExponents:
    """The compute-optimal width exponents of both strategies (see :class:`WidthExponents`).

    Exact minimiser, with q = log of the proxy search's share and s = log F: the split's
    stationarity ``e1 A P^-(1+e1) = e2 k Q^-(1+e2)`` gives ``q ~ s (1+e1)/(1+e2)`` when
    the final run binds, ``p ~ s (1+e2)/(1+e1)`` when the proxy search does; within its
    share the proxy width is ``Q^(1/(r + h beta))`` and the target ``P^(1/r)``. The
    branches agree at their boundaries, so the exponents are continuous in the inputs.
    """
    e1, e2 = alpha / r, 2.0 * beta / (r + beta * h)
    proxy_paper, target_paper = 1.0 / (h * beta + r), 1.0 / r
    if e1 == e2:
        proxy, target, regime = proxy_paper, target_paper, "tie"
    elif e1 < e2:
        proxy, target = (1.0 + e1) / ((1.0 + e2) * (r + h * beta)), target_paper
        regime = "final run binds"
    elif alpha > (h + 2.0) * beta:
        proxy = target = proxy_paper
        regime = "proxy capped at the target"
    else:
        proxy, target = proxy_paper, (1.0 + e2) / ((1.0 + e1) * r)
        regime = "proxy search binds"
    return WidthExponents(
        direct=2.0 / (h * alpha + 2.0 * r),
        proxy_paper=proxy_paper,
        target_paper=target_paper,
        proxy=proxy,
        target=target,
        regime=regime,
    )


def _zoom_argmin(
    delta, lo, hi, *, coarse: int, fine: int = 41, rounds: int = 16, keep: int = 3, start=None
) -> np.ndarray:
    """Brute-force minimiser over the box [lo, hi] (d axes): a grid of ``coarse`` points
    per axis, then ``rounds`` grids of ``fine`` points per axis on the +-``keep`` cells
    around the best point so far (the box shrinks ~(fine - 1)/(2 keep) per round).

    ``delta(X, x0)`` returns ``(f(X) - f(x0)) / scale(x0)`` for points X (d, N) and the
    reference x0 (d,): differences, so that a term many orders below the total still
    decides the argmin (callers compute each term's change from the change of its log,
    with expm1). A difference is exact relative to f(x0); when the best point of a grid
    is far better than the reference, the grid is compared again against that point
    (until nothing on it beats the reference), so the final choice is always made
    relative to a near-optimal f. ``start``: the first reference (default: the box's
    centre; it must be feasible). Returns the best point (d,).
    """
    lo0, hi0 = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    lo, hi = lo0.copy(), hi0.copy()
    best = 0.5 * (lo + hi) if start is None else np.asarray(start, dtype=np.float64)
    points = coarse
    for _ in range(rounds + 1):
        axes = [np.linspace(lo[i], hi[i], points) for i in range(lo.size)]
        X = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")])
        for _ in range(50):  # each pass gains ~16 decades of f; 50 is never reached
            D = delta(X, best)
            j = int(np.argmin(D))
            if not D[j] < 0.0:
                break
            best = X[:, j]
        step = (hi - lo) / (points - 1)
        lo = np.maximum(lo0, best - keep * step)
        hi = np.minimum(hi0, best + keep * step)
        points = fine
    return best


def _term_change(log_t0, dlog):
    """``(sum_i T_i - sum_i T_i(0)) / max_i T_i(0)`` from the terms' logs at the
    reference, ``log_t0`` (k,), and the changes of their logs, ``dlog`` (k, N).

    A small change (dlog <= 1) is ``w expm1(dlog)``, exact to round-off relative to the
    term however small it is beside the others; a large one is ``exp(log w + dlog) - w``
    (no precision at stake), capped at e^700 so that a point far worse than the
    reference stays finite. The scale keeps F^-e representable at any budget.
    """
    lw = (log_t0 - np.max(log_t0))[:, None]
    with np.errstate(over="ignore"):
        small = np.exp(lw) * np.expm1(np.minimum(dlog, 1.0))
        large = np.exp(np.minimum(lw + dlog, 700.0)) - np.exp(lw)
    return np.sum(np.where(dlog <= 1.0, small, large), axis=0)


def continuous_optimum_direct(model: ExcessModel, log_budgets) -> dict:
    """Minimise ``A n^-alpha + G K^(-2/h)`` s.t. ``K n^r = F`` over real n, K >= 1, by
    brute force in x = log n (no closed form used). ``log_budgets``: natural logs of F
    (B,). Returns arrays (B,): log_n, log_K, log_excess."""
    s_all = np.asarray(log_budgets, dtype=np.float64).reshape(-1)
    lnA, lnG, r, p = math.log(model.A), math.log(model.G), model.r, 2.0 / model.h
    out = {k: np.empty(s_all.size) for k in ("log_n", "log_K", "log_excess")}
    for i, s in enumerate(s_all):

        def log_terms(x, s=s):
            return np.stack([lnA - model.alpha * x, lnG - p * (s - r * x)])

        def delta(X, x0):
            t0 = log_terms(np.asarray([x0[0]]))[:, 0]
            return _term_change(t0, log_terms(X[0]) - t0[:, None])

        x = _zoom_argmin(delta, [0.0], [s / r], coarse=4001)[0]
        out["log_n"][i], out["log_K"][i] = x, s - r * x
        out["log_excess"][i] = float(np.logaddexp.reduce(log_terms(np.asarray([x]))[:, 0]))
    return out


def continuous_optimum_transfer(model: ExcessModel, log_budgets) -> dict:
    """Minimise ``A n^-alpha + Bc m^(-2 beta) + G K^(-2/h)`` s.t. ``n^r + K m^r = F``,
    ``1 <= m <= n``, ``K >= 1``, over real (n, m, K), by brute force (no closed form).

    Coordinates: the split ``z = log(P/Q)`` of F between the final run ``P = n^r`` and
    the proxy search ``Q = K m^r`` (so ``log P = s - softplus(-z)`` keeps a tiny share
    exact), and ``u = log m`` in [0, s/r]; points with K < 1 or m > n are infeasible.
    ``log_budgets``: natural logs of F (B,). Returns arrays (B,): log_n (target), log_m
    (proxy), log_K, log_excess.
    """
    s_all = np.asarray(log_budgets, dtype=np.float64).reshape(-1)
    lnA, lnB, lnG = math.log(model.A), math.log(model.Bc), math.log(model.G)
    r, p, a, b2 = model.r, 2.0 / model.h, model.alpha, 2.0 * model.beta
    out = {k: np.empty(s_all.size) for k in ("log_n", "log_m", "log_K", "log_excess")}
    for i, s in enumerate(s_all):
        zmax = s + math.log(-math.expm1(-s))  # log(F - 1): P >= 1 and Q >= 1

        def log_terms(f1, f2, u, s=s):
            """The three terms' logs from softplus(-z), softplus(z) and u = log m."""
            return np.stack([lnA - a / r * (s - f1), lnB - b2 * u, lnG - p * (s - f2 - r * u)])

        def delta(X, x0, s=s):
            z, u = X
            f1, f2 = np.logaddexp(0.0, -z), np.logaddexp(0.0, z)
            g1, g2 = np.logaddexp(0.0, -x0[0]), np.logaddexp(0.0, x0[0])
            t0 = log_terms(np.asarray([g1]), np.asarray([g2]), np.asarray([x0[1]]))[:, 0]
            dlog = np.stack(
                [a / r * (f1 - g1), -b2 * (u - x0[1]), p * ((f2 - g2) + r * (u - x0[1]))]
            )
            feasible = (u <= (s - f2) / r) & (u <= (s - f1) / r)  # K >= 1, m <= n
            return np.where(feasible, _term_change(t0, dlog), np.inf)

        # start from a feasible reference (m = 1, even split): delta is relative to it
        z, u = _zoom_argmin(delta, [-zmax, 0.0], [zmax, s / r], coarse=201, start=[0.0, 0.0])
        f1, f2 = np.logaddexp(0.0, -z), np.logaddexp(0.0, z)
        out["log_n"][i], out["log_m"][i] = (s - f1) / r, u
        out["log_K"][i] = s - f2 - r * u
        out["log_excess"][i] = float(
            np.logaddexp.reduce(
                log_terms(np.asarray([f1]), np.asarray([f2]), np.asarray([u]))[:, 0]
            )
        )
    return out


def paper_plan_log_excess(model: ExcessModel, log_budgets) -> np.ndarray:
    """log E_T at the paper's transfer widths with an even split of F between the proxy
    search and the final run: proxy ``m = (F/2)^(1/(h beta + r))``, target
    ``n = (F/2)^(1/r)``, ``K = (F/2) m^-r`` (feasible, m <= n and K >= 1, for F >= 2).
    ``log_budgets``: natural logs of F (B,) -> (B,)."""
    s = np.asarray(log_budgets, dtype=np.float64).reshape(-1)
    half = s - math.log(2.0)
    u = half / (model.r + model.h * model.beta)
    terms = np.stack(
        [
            math.log(model.A) - model.alpha * half / model.r,
            math.log(model.Bc) - 2.0 * model.beta * u,
            math.log(model.G) - 2.0 / model.h * (half - model.r * u),
        ]
    )
    return np.logaddexp.reduce(terms, axis=0)

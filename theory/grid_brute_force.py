"""Exhaustive search of Theorem 2's grid-search model (:mod:`theory.grid_search`) over
integer (n, K) (direct tuning) and (n, m, K) (transfer), vectorised in numpy over budgets
x candidates, and the log-log slope of the optimal excess against the budget."""

from __future__ import annotations

import math

import numpy as np

from fasttransfer.theory.fits import loglog_slope
from fasttransfer.theory.grid_search import ExcessModel, max_width

__all__ = ["brute_force_direct", "brute_force_transfer", "fit_slope", "integer_candidates"]


# ----------------------------------------------------------------------------- brute force
def integer_candidates(limit: float, *, dense: int = 256, ratio: float = 1.01) -> np.ndarray:
    """Every integer in ``1..dense`` and, beyond, the distinct integers of a geometric
    grid of ratio ``ratio`` up to ``limit`` (float64, sorted, unique).

    A search over these candidates misses the integer optimum by at most one grid cell
    in each enumerated variable, i.e. a factor <= ratio^p (p the exponent of that
    term) in excess: about 1-2% for ratio 1.01, a constant-order effect that moves a
    log-log slope over 9 decades by ~1e-3.
    """
    limit = float(max(1.0, math.floor(limit)))
    head = np.arange(1.0, min(dense, limit) + 1.0)
    if limit <= dense:
        return head
    num = math.ceil(math.log(limit / dense) / math.log(ratio)) + 1
    tail = np.floor(np.geomspace(dense, limit, num))
    return np.unique(np.concatenate([head, tail]))


def brute_force_direct(model: ExcessModel, budgets, *, ratio: float = 1.01):
    """Optimal direct tuning per budget by exhaustive search over integer (n, K).

    The excess falls with n, so for each trial count K the best width is the largest
    affordable one, ``n = floor((C/K)^(1/r))``; K runs over
    :func:`integer_candidates` up to C. Vectorised over (budget, K).
    Returns arrays (budgets,): excess, n, K.
    """
    budgets = np.asarray(budgets, dtype=np.float64).reshape(-1)
    K = integer_candidates(budgets.max(), ratio=ratio)  # (k,)
    n = max_width(budgets[:, None] / K[None, :], model.r)  # (B, k)
    ok = n >= 1
    E = np.where(ok, model.excess_direct(np.maximum(n, 1.0), K[None, :]), np.inf)
    i = np.argmin(E, axis=1)
    rows = np.arange(budgets.size)
    return E[rows, i], n[rows, i], K[i]


def brute_force_transfer(model: ExcessModel, budgets, *, ratio: float = 1.01):
    """Optimal transfer per budget by exhaustive search over integer (n, m, K), m <= n.

    The excess falls with n, so for each (m, K) the best final width is the largest
    affordable one, ``n = floor((C - K m^r)^(1/r))``, kept only if n >= m; (m, K)
    run over the product of :func:`integer_candidates`, restricted to the cells whose
    proxy search leaves budget for a final run at width m (``K m^r + m^r <= C``,
    about half of the rectangle). Vectorised over those cells, one budget at a time.
    Returns arrays (budgets,): excess, n, m, K.
    """
    budgets = np.asarray(budgets, dtype=np.float64).reshape(-1)
    r = model.r
    out = np.empty((4, budgets.size))
    for j, C in enumerate(budgets):  # one vectorised search per budget (bounded memory)
        m = integer_candidates(max_width(C, r), ratio=ratio)
        K = integer_candidates(C, ratio=ratio)
        mr = m**r
        # feasible cells only: (K + 1) m^r <= C  (proxy search + a final run >= m)
        im, iK = np.nonzero((K[None, :] + 1.0) * mr[:, None] <= C)
        n = max_width(C - K[iK] * mr[im], r)
        E = model.a(np.maximum(n, 1.0)) + model.c(m)[im] + model.g(K)[iK]
        E = np.where(n >= m[im], E, np.inf)
        i = int(np.argmin(E))
        out[:, j] = E[i], n[i], m[im[i]], K[iK[i]]
    return out[0], out[1], out[2], out[3]


def fit_slope(budgets, excess) -> float:
    """Least-squares slope of log(excess) vs log(C) (so E ~ C^slope, slope = -exponent):
    :func:`theory.fits.loglog_slope`."""
    return float(loglog_slope(budgets, excess).slope)

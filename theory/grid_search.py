"""The compute-optimal grid-search model of Theorem 2 (SPEC §1) and its planner.

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

Three tools live here:

* :class:`ExcessModel` -- the constants (A, alpha, Bc, beta, G, h, r); built from a
  synthetic family (SPEC §3) by :meth:`ExcessModel.from_family`;
* :func:`plan` -- the continuous optimum (closed form for direct tuning, one scalar
  root for the transfer budget split) rounded to an affordable integer plan;
* :func:`brute_force_direct` / :func:`brute_force_transfer` -- exhaustive search over
  integer (n, K) and (n, m, K), vectorised in numpy over budgets x candidates;
* :func:`continuous_optimum_direct` / :func:`continuous_optimum_transfer` -- the
  continuous minimiser by zooming grids in log variables, at budgets far beyond any
  integer search (up to F = 1e240), for the width exponents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.theory.errors import InputError
from fasttransfer.theory.fits import line_fit, loglog_slope

__all__ = [
    "ExcessModel", "Plan", "exponent_direct", "exponent_transfer", "is_useful", "plan",
    "integer_candidates", "brute_force_direct", "brute_force_transfer", "fit_slope",
    "validate_exponents", "correction_exponent", "Setting", "SETTINGS", "SlopeStudyConfig",
    "run_study", "slopes_table", "WidthExponents", "width_exponents",
    "continuous_optimum_direct", "continuous_optimum_transfer", "paper_plan_log_excess",
    "WidthStudyConfig", "run_width_study", "width_slopes_table",
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
    for name, value in (("alpha", alpha), ("beta", beta), ("r", r), ("h", h),
                        ("budget", budget)):
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
        raise InputError(f"alpha: must be > 0 (loss gap a_n ~ n^-alpha must vanish), got {a:g}",
                         param="alpha")
    if b < 0:
        raise InputError(f"beta: must be >= 0 (b_n ~ n^-beta), got {b:g}", param="beta")
    if r <= 0:
        raise InputError(f"r: must be > 0 (cost of a run ~ n^r), got {r:g}", param="r")
    if hh < 1:
        raise InputError(f"h: must be >= 1 (number of tuned HPs), got {hh:g}", param="h")
    if budget is not None and out[4] <= 1:
        raise InputError(f"budget: must be > 1 (units of one run at width 1), got {out[4]:g}",
                         param="budget")
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
    def from_family(cls, family, *, r: float = 2.0, h: float = 1.0,
                    box: float = 4.0) -> "ExcessModel":
        """The model of a SPEC §3 :class:`theory.synthetic.PowerLawFamily`:
        ``a_n = |A| n^-alpha``, ``c_m = kappa/2 B^2 m^(-2 beta)`` exactly, and ``g`` the
        worst case of a regular grid of K points over a box of side ``box`` in each of
        the h (identical, independent) HP directions: spacing ``box K^(-1/h)``, error
        at most half of it per direction, so ``g(K) = kappa/2 * h * (box/2)^2 K^(-2/h)``."""
        return cls(alpha=float(family.alpha), beta=float(family.beta), r=r, h=h,
                   A=abs(float(family.A)), Bc=0.5 * float(family.kappa) * float(family.B) ** 2,
                   G=0.5 * float(family.kappa) * h * (box / 2.0) ** 2)

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
        return (np.asarray(K, dtype=np.float64) * np.asarray(m, dtype=np.float64) ** self.r
                + np.asarray(n, dtype=np.float64) ** self.r)


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
    widths: "WidthExponents"

    def to_json_dict(self) -> dict:
        """SPEC §7's ``fasttransfer plan --json`` schema, plus ``r``, ``h`` and the
        width exponents (``widths ~ F^exponent``)."""
        w = self.widths
        return {
            "transfer": {"proxy_width": self.proxy_width, "trials": self.trials,
                         "target_width": self.target_width, "excess": self.excess},
            "direct": {"width": self.direct_width, "trials": self.direct_trials,
                       "excess": self.direct_excess},
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


def _two_term_optimum(c1: float, p1: float, c2: float, p2: float, r: float, Q,
                      w_max=None):
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
    n2 = _max_width(C / _near(C / n_cont**model.r), model.r)
    n = np.concatenate([n1, n2])
    K = np.concatenate([_max_count(C, n1, model.r), _near(C / n_cont**model.r)])
    ok = (K >= 1) & (n >= 1)
    if not np.any(ok):
        raise InputError(f"budget: {C:g} buys no run at width 1", param="budget")
    E = np.where(ok, model.excess_direct(np.maximum(n, 1.0), np.maximum(K, 1.0)), np.inf)
    i = int(np.argmin(E))
    return int(n[i]), int(K[i]), float(E[i])


def _max_count(budget, width, r):
    """Largest integer K with ``K width^r <= budget`` (float-safe floor)."""
    width = np.asarray(width, dtype=np.float64)
    unit = width**r
    K = np.floor(np.asarray(budget, dtype=np.float64) / unit * (1.0 + 1e-12))
    return np.where(K * unit > budget, K - 1.0, K)


def _max_width(budget, r):
    """Largest integer n with ``n^r <= budget`` (0 when budget < 1)."""
    budget = np.asarray(budget, dtype=np.float64)
    b = np.maximum(budget, 1.0)
    n = np.floor(b ** (1.0 / r) * (1.0 + 1e-12))
    n = np.where(n**r > b, n - 1.0, n)
    n = np.where((n + 1.0) ** r <= b, n + 1.0, n)
    return np.where(budget < 1.0, 0.0, n)


def plan(alpha, beta, r, h, budget, *, A: float = 1.0, Bc: float = 1.0,
         G: float = 1.0) -> Plan:
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
        raise InputError(f"budget: transfer needs at least two runs at width 1 "
                         f"(budget >= 2), got {C:g}", param="budget")
    if math.log10(C) / r > 300.0:  # n = C^(1/r) would overflow float64
        raise InputError(f"budget: {C:g} with r = {r:g} implies widths beyond 1e300",
                         param="budget")
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
    K1 = _max_count(C - n1**r, m_c, r)
    K_cont = max((C - n_cont**r) / m_cont**r, 1.0)
    K2 = np.clip(np.floor(K_cont) + np.arange(-3.0, 5.0), 1.0, None)[None, :]
    m2 = np.floor(np.geomspace(max(m_cont / 2.0, 1.0), 2.0 * m_cont + 1.0, 801))[:, None]
    n2 = _max_width(C - K2 * m2**r, r)
    nn = np.concatenate([n1.ravel(), n2.ravel()])[None, :]
    KK = np.concatenate([K1.ravel(), np.broadcast_to(K2, n2.shape).ravel()])[None, :]
    mm = np.concatenate([np.broadcast_to(m_c, n1.shape).ravel(),
                         np.broadcast_to(m2, n2.shape).ravel()])[None, :]
    ok = (KK >= 1) & (mm <= nn) & (model.cost_transfer(nn, mm, KK) <= C)
    if not np.any(ok):  # tiny budgets: the smallest proxy and the widest affordable target
        mm, KK = np.array([[1.0]]), np.array([[1.0]])
        nn = _max_width(np.array([[C - 1.0]]), r)
        ok = nn >= 1
        if not np.any(ok):
            raise InputError(f"budget: {C:g} is too small for a proxy search and a final run",
                             param="budget")
    E = np.where(ok, model.excess_transfer(np.maximum(nn, 1.0), mm, np.maximum(KK, 1.0)), np.inf)
    i = np.unravel_index(int(np.argmin(E)), E.shape)
    return Plan(budget=C, proxy_width=int(mm[i]), trials=int(KK[i]), target_width=int(nn[i]),
                excess=float(E[i]), direct_width=dn, direct_trials=dK, direct_excess=dE,
                exponent_transfer=exponent_transfer(alpha, beta, r, h),
                exponent_direct=exponent_direct(alpha, r, h),
                useful=is_useful(alpha, beta), r=r, h=h,
                widths=width_exponents(alpha, beta, r, h))


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
    num = int(math.ceil(math.log(limit / dense) / math.log(ratio))) + 1
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
    n = _max_width(budgets[:, None] / K[None, :], model.r)  # (B, k)
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
        m = integer_candidates(_max_width(C, r), ratio=ratio)
        K = integer_candidates(C, ratio=ratio)
        mr = m**r
        # feasible cells only: (K + 1) m^r <= C  (proxy search + a final run >= m)
        im, iK = np.nonzero((K[None, :] + 1.0) * mr[:, None] <= C)
        n = _max_width(C - K[iK] * mr[im], r)
        E = model.a(np.maximum(n, 1.0)) + model.c(m)[im] + model.g(K)[iK]
        E = np.where(n >= m[im], E, np.inf)
        i = int(np.argmin(E))
        out[:, j] = E[i], n[i], m[im[i]], K[iK[i]]
    return out[0], out[1], out[2], out[3]


def fit_slope(budgets, excess) -> float:
    """Least-squares slope of log(excess) vs log(C) (so E ~ C^slope, slope = -exponent):
    :func:`theory.fits.loglog_slope`."""
    return float(loglog_slope(budgets, excess).slope)


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
    return WidthExponents(direct=2.0 / (h * alpha + 2.0 * r), proxy_paper=proxy_paper,
                          target_paper=target_paper, proxy=proxy, target=target, regime=regime)


def _zoom_argmin(delta, lo, hi, *, coarse: int, fine: int = 41, rounds: int = 16,
                 keep: int = 3, start=None) -> np.ndarray:
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
        def log_terms(x):
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

        def log_terms(f1, f2, u):
            """The three terms' logs from softplus(-z), softplus(z) and u = log m."""
            return np.stack([lnA - a / r * (s - f1), lnB - b2 * u, lnG - p * (s - f2 - r * u)])

        def delta(X, x0):
            z, u = X
            f1, f2 = np.logaddexp(0.0, -z), np.logaddexp(0.0, z)
            g1, g2 = np.logaddexp(0.0, -x0[0]), np.logaddexp(0.0, x0[0])
            t0 = log_terms(np.asarray([g1]), np.asarray([g2]), np.asarray([x0[1]]))[:, 0]
            dlog = np.stack([a / r * (f1 - g1), -b2 * (u - x0[1]),
                             p * ((f2 - g2) + r * (u - x0[1]))])
            feasible = (u <= (s - f2) / r) & (u <= (s - f1) / r)  # K >= 1, m <= n
            return np.where(feasible, _term_change(t0, dlog), np.inf)

        # start from a feasible reference (m = 1, even split): delta is relative to it
        z, u = _zoom_argmin(delta, [-zmax, 0.0], [zmax, s / r], coarse=201,
                            start=[0.0, 0.0])
        f1, f2 = np.logaddexp(0.0, -z), np.logaddexp(0.0, z)
        out["log_n"][i], out["log_m"][i] = (s - f1) / r, u
        out["log_K"][i] = s - f2 - r * u
        out["log_excess"][i] = float(np.logaddexp.reduce(
            log_terms(np.asarray([f1]), np.asarray([f2]), np.asarray([u]))[:, 0]))
    return out


def paper_plan_log_excess(model: ExcessModel, log_budgets) -> np.ndarray:
    """log E_T at the paper's transfer widths with an even split of F between the proxy
    search and the final run: proxy ``m = (F/2)^(1/(h beta + r))``, target
    ``n = (F/2)^(1/r)``, ``K = (F/2) m^-r`` (feasible, m <= n and K >= 1, for F >= 2).
    ``log_budgets``: natural logs of F (B,) -> (B,)."""
    s = np.asarray(log_budgets, dtype=np.float64).reshape(-1)
    half = s - math.log(2.0)
    u = half / (model.r + model.h * model.beta)
    terms = np.stack([math.log(model.A) - model.alpha * half / model.r,
                      math.log(model.Bc) - 2.0 * model.beta * u,
                      math.log(model.G) - 2.0 / model.h * (half - model.r * u)])
    return np.logaddexp.reduce(terms, axis=0)


# ----------------------------------------------------------------------------- slope study
def correction_exponent(alpha: float, beta: float, r: float = 2.0, h: float = 1.0) -> float:
    """``delta = |e1 - e2| / (1 + max(e1, e2))`` with ``e1 = alpha/r`` and
    ``e2 = 2 beta/(r + beta h)``: the non-binding part of the transfer excess is a
    fraction ``~ C^-delta`` of the total, so finite-budget slopes of E_T* approach
    e_T at that rate (derived in :func:`proofs_check.theorem2.check_correction_exponent`).
    """
    e1, e2 = alpha / r, 2.0 * beta / (r + beta * h)
    return abs(e1 - e2) / (1.0 + max(e1, e2))


@dataclass(frozen=True)
class Setting:
    """One (alpha, beta, r, h) of the slope study, with the synthetic family's
    constants ``A`` (loss gap), ``kappa``, ``B`` (HP drift) and the HP box side."""

    name: str
    alpha: float
    beta: float
    r: float = 2.0
    h: float = 1.0
    A: float = 1.0
    kappa: float = 1.0
    B: float = 1.0
    box: float = 4.0

    def model(self) -> ExcessModel:
        from fasttransfer.theory.synthetic import PowerLawFamily

        fam = PowerLawFamily(A=self.A, alpha=self.alpha, kappa=self.kappa, B=self.B,
                             beta=self.beta)
        return ExcessModel.from_family(fam, r=self.r, h=self.h, box=self.box)


# The Theorem 2 study: fast transfer with each term binding, the weak tie beta = alpha/2,
# beta < alpha/2, and the paper's Llama loss law (A = 13.16, alpha = 0.52; the HP drift
# is ours, see theory.synthetic.llama_family) at the paper's standard cost r = 2. "slow" has a small correction exponent
# delta: its slope fitted over all budgets is still visibly above e_T, which is why the
# criterion is the local slope over the top decade of budgets.
SETTINGS: tuple[Setting, ...] = (
    Setting("fast, final run binds", 0.5, 1.0, 1.0, 1.0),
    Setting("fast, both transfer terms tie", 1.0, 1.0, 2.0, 2.0),
    Setting("fast, proxy search binds", 1.5, 1.0, 1.0, 1.0),
    Setting("weak tie beta = alpha/2", 1.0, 0.5, 1.0, 2.0),
    Setting("weak tie beta = alpha/2, h = 3", 0.6, 0.3, 1.0, 3.0),
    Setting("beta < alpha/2 (transfer worse)", 0.8, 0.2, 1.0, 1.0),
    Setting("Llama loss law, beta = 0.75, r = 2", 0.52, 0.75, 2.0, 1.0, A=13.16, kappa=0.2,
            B=0.5 * 128.0**0.75),
    Setting("slow convergence (small delta)", 0.5, 1.5, 1.0, 2.0),
)


@dataclass(frozen=True)
class SlopeStudyConfig:
    """Budgets ``10^lo .. 10^hi`` with ``per_decade`` points; candidate grid ratio."""

    settings: tuple[Setting, ...] = SETTINGS
    lo: float = 3.0
    hi: float = 12.0
    per_decade: int = 2
    ratio: float = 1.02
    tolerance: float = 0.02

    @classmethod
    def preset(cls, name: str) -> "SlopeStudyConfig":
        if name == "quick":
            return cls()
        if name == "paper":
            return cls(per_decade=4, ratio=1.01)
        raise InputError(f"preset: unknown {name!r} (quick | paper)")

    @property
    def budgets(self) -> np.ndarray:
        return np.logspace(self.lo, self.hi, int(round((self.hi - self.lo) * self.per_decade)) + 1)


def run_study(config: SlopeStudyConfig, settings=None, progress=None):
    """Brute-force optima for every setting and both strategies.

    Returns a tidy DataFrame: setting, strategy (direct | transfer), budget, excess,
    n, m, K (m = n for direct tuning).
    """
    import pandas as pd

    rows = []
    budgets = config.budgets
    for s in (config.settings if settings is None else settings):
        model = s.model()
        Ed, nd, Kd = brute_force_direct(model, budgets, ratio=config.ratio)
        Et, nt, mt, Kt = brute_force_transfer(model, budgets, ratio=config.ratio)
        for strategy, E, n, m, K in (("direct", Ed, nd, nd, Kd), ("transfer", Et, nt, mt, Kt)):
            rows.append(pd.DataFrame({"setting": s.name, "strategy": strategy, "budget": budgets,
                                      "excess": E, "n": n, "m": m, "K": K}))
        if progress is not None:
            progress(s.name)
    return pd.concat(rows, ignore_index=True)


def slopes_table(df, config: SlopeStudyConfig):
    """Per setting and strategy: closed-form exponent, slope fitted over all budgets,
    local slope over the top decade, their errors and delta."""
    import pandas as pd

    out = []
    for s in config.settings:
        for strategy in ("direct", "transfer"):
            sub = df[(df.setting == s.name) & (df.strategy == strategy)].sort_values("budget")
            if sub.empty:
                continue
            C, E = sub.budget.to_numpy(), sub.excess.to_numpy()
            closed = (exponent_direct(s.alpha, s.r, s.h) if strategy == "direct"
                      else exponent_transfer(s.alpha, s.beta, s.r, s.h))
            fitted = -fit_slope(C, E)
            top = C >= C.max() / 10.0 ** 1.0001
            local = -fit_slope(C[top], E[top])
            out.append({"setting": s.name, "alpha": s.alpha, "beta": s.beta, "r": s.r,
                        "h": s.h, "strategy": strategy, "closed_form": closed,
                        "fitted": fitted, "error": fitted - closed,
                        "top_decade": local, "top_error": local - closed,
                        "delta": (correction_exponent(s.alpha, s.beta, s.r, s.h)
                                  if strategy == "transfer" else float("nan"))})
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- width study
@dataclass(frozen=True)
class WidthStudyConfig:
    """Budgets ``F = 10^lo .. 10^hi`` (``points`` of them) for the continuous brute force
    of the width exponents.

    ``tolerance`` on |fitted slope - derived exponent|: finite budgets bias the slope by
    corrections of relative order F^-delta (delta >= 0.14 in :data:`SETTINGS`: < 3e-6 in
    log width at F = 1e40, which moves a slope fitted over ln F in [92, 553] by < 1e-8);
    the zooming grid resolves log widths to ~1e-12. 1e-6 bounds both with room and is
    far below the smallest gap between the paper's exponent and the argmin's in these
    settings (0.036)."""

    settings: tuple[Setting, ...] = SETTINGS
    lo: float = 40.0
    hi: float = 240.0
    points: int = 6
    tolerance: float = 1e-6

    @property
    def log_budgets(self) -> np.ndarray:
        return math.log(10.0) * np.linspace(self.lo, self.hi, self.points)


def run_width_study(config: WidthStudyConfig, settings=None, progress=None):
    """Continuous brute-force optima of both strategies per setting and budget.

    Returns a tidy DataFrame: setting, log10_budget, direct_log_n, direct_log_K,
    direct_log_excess, log_n (target), log_m (proxy), log_K, log_excess,
    paper_log_excess (:func:`paper_plan_log_excess`); logs are natural.
    """
    import pandas as pd

    rows = []
    s = config.log_budgets
    for st in (config.settings if settings is None else settings):
        model = st.model()
        d, t = continuous_optimum_direct(model, s), continuous_optimum_transfer(model, s)
        rows.append(pd.DataFrame({
            "setting": st.name, "log10_budget": s / math.log(10.0),
            "direct_log_n": d["log_n"], "direct_log_K": d["log_K"],
            "direct_log_excess": d["log_excess"], "log_n": t["log_n"], "log_m": t["log_m"],
            "log_K": t["log_K"], "log_excess": t["log_excess"],
            "paper_log_excess": paper_plan_log_excess(model, s)}))
        if progress is not None:
            progress(st.name)
    return pd.concat(rows, ignore_index=True)


def width_slopes_table(df, config: WidthStudyConfig):
    """Per setting and quantity: the log-log slope against F fitted to the brute force,
    the derived exponent (:func:`width_exponents`, :func:`exponent_direct`,
    :func:`exponent_transfer`; excess slopes are negated), the paper's statement, and
    the error fitted - derived. Quantities: direct width, proxy width (the paper's n),
    target width (its M), E_D*, E_T*, and E_T at the paper's widths over E_T* (derived
    and paper: 0, a bounded ratio)."""
    import pandas as pd

    out = []
    for st in config.settings:
        sub = df[df.setting == st.name].sort_values("log10_budget")
        if sub.empty:
            continue
        lnF = sub.log10_budget.to_numpy() * math.log(10.0)
        slope = (lambda col: float(line_fit(lnF, sub[col].to_numpy()).slope))
        w = width_exponents(st.alpha, st.beta, st.r, st.h)
        e_d, e_t = exponent_direct(st.alpha, st.r, st.h), exponent_transfer(st.alpha, st.beta, st.r, st.h)
        ratio = float(line_fit(lnF, (sub.paper_log_excess - sub.log_excess).to_numpy()).slope)
        for quantity, fitted, derived, paper in (
                ("direct width n*", slope("direct_log_n"), w.direct, w.direct),
                ("proxy width (paper's n*)", slope("log_m"), w.proxy, w.proxy_paper),
                ("target width (paper's M*)", slope("log_n"), w.target, w.target_paper),
                ("E_D* (exponent)", -slope("direct_log_excess"), e_d, e_d),
                ("E_T* (exponent)", -slope("log_excess"), e_t, e_t),
                ("E_T(paper widths) / E_T* (slope)", ratio, 0.0, 0.0)):
            out.append({"setting": st.name, "alpha": st.alpha, "beta": st.beta, "r": st.r,
                        "h": st.h, "regime": w.regime, "quantity": quantity, "fitted": fitted,
                        "derived": derived, "paper": paper, "error": fitted - derived})
    return pd.DataFrame(out)


# The two settings Figure "compute_optimal" draws: a fast one and the weak tie.
FIGURE_PANELS = {"fast": "fast, final run binds", "weak": "weak tie beta = alpha/2"}


def excess_panels(df, panels: dict = FIGURE_PANELS) -> dict:
    """What the compute-optimal figure draws, as JSON: {panel: {alpha, beta, r, h,
    series: {strategy: {budget, excess (lists), closed, fitted}}}} from the brute-force
    table of :func:`run_study` (exponents as positive numbers: E ~ F^-exponent)."""
    by_name = {s.name: s for s in SETTINGS}
    out = {}
    for panel, name in panels.items():
        s = by_name[name]
        entry = {"alpha": s.alpha, "beta": s.beta, "r": s.r, "h": s.h, "series": {}}
        for strategy in ("direct", "transfer"):
            sub = df[(df.setting == s.name) & (df.strategy == strategy)].sort_values("budget")
            C, E = sub.budget.to_numpy(np.float64), sub.excess.to_numpy(np.float64)
            closed = (exponent_direct(s.alpha, s.r, s.h) if strategy == "direct"
                      else exponent_transfer(s.alpha, s.beta, s.r, s.h))
            entry["series"][strategy] = {"budget": C.tolist(), "excess": E.tolist(),
                                         "closed": float(closed), "fitted": -fit_slope(C, E)}
        out[panel] = entry
    return out

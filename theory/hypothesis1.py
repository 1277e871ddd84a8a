"""Hypothesis 1 statistics that can fail, on the final profiles of the top-k study
(``profile`` rows width, hp, seed, k, topk, residual; ``final`` rows width, hp, seed,
loss), at Algorithm 1's kappa_hat(n) (:mod:`theory.algorithm1`, whose docstring gives
the notation: hp = log nu, phi_n^k, phi_n^-k, n_max the infinite-width proxy).

Hypothesis 1 statistics (ours; sufficient conditions, each able to fail):
* held out: kappa_hat(n) is chosen by Algorithm 1 on the seed means of the SELECTION
  seeds; the statistics below use the other (TEST) seeds only. With one seed there is
  nothing to hold out (``held_out`` False, the caller reports that).
* convexity: at each n < n_max, phi_n^kappa and phi_nmax^kappa (kappa = kappa_hat(n))
  fitted by a quadratic on 2 window + 1 points around their argmin; holds iff
  mu - t_{df, 0.95} SE(mu) > 0 for all (one-sided 95% Student-t bound, df = points - 3).
* invariance: D_n = sup_nu |phi_n^kappa - phi_nmax^kappa| decays like n^-gamma (log-log
  OLS with a 95% t-interval); a gap that shrinks only as fast as the loss itself moves
  the top-kappa optimum by ~ sqrt(D_n / mu) ~ n^-gamma/2, i.e. weak transfer at best, so
  invariance that supports FAST transfer needs gamma > alpha (the loss law's exponent):
  holds iff the interval's lower end exceeds alpha.
* flatness: the residual moves the optimum by at most eps_flat(n) = Lip_W(phi_n^-kappa)
  / mu_n + Lip_W(phi_nmax^-kappa) / mu_nmax (HP units; Lip over the fit window W around
  the total's argmin, mu the quadratic-fit curvature of the total there); holds iff
  eps_flat(n) <= b_n + 2 SE(nu*(n)) at every n < n_max, with b_n the measured optimum
  shift: a residual allowed to move the optimum further than the shift actually seen
  carries the transfer, not the top-kappa part.
Hypothesis 1's conditions hold iff Algorithm 1 found kappa_hat(n) at every n < n_max and
all three hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fasttransfer.theory.algorithm1 import (
    Algorithm1Settings,
    algorithm1,
    finite_columns,
    grid_step,
    lip,
    profiles,
    rate_bound,
    take_kappa,
)

__all__ = ["Hypothesis1", "hypothesis1", "seed_split"]

# Algorithm 1's default constants (a frozen, shared instance): hypothesis1's default
DEFAULT_SETTINGS = Algorithm1Settings()


def seed_split(seeds) -> tuple[tuple, tuple]:
    """(selection, test): the first half of the sorted seeds (rounded up) chooses kappa,
    the rest tests it; one seed: ((s,), (s,)) -- nothing held out."""
    s = sorted(int(x) for x in seeds)
    if len(s) < 2:
        return tuple(s), tuple(s)
    half = (len(s) + 1) // 2
    return tuple(s[:half]), tuple(s[half:])


@dataclass(frozen=True)
class Hypothesis1:
    """Hypothesis 1's conditions on the test seeds at Algorithm 1's kappa_hat(n) from the
    selection seeds (module docstring). ``per_width``: one row per n < n_max."""

    kappa_hat: dict  # width -> KappaHat (selection seeds)
    selection_seeds: tuple
    test_seeds: tuple
    per_width: Any
    convexity: bool
    invariance: bool
    flatness: bool
    gamma: tuple[float, float, float]  # decay exponent of D_n: estimate, lo, hi (95%)
    alpha: float
    alpha_source: str
    rate: Any  # rate_bound() on the test seeds
    settings: dict
    reasons: tuple[str, ...] = ()
    rules: dict = field(default_factory=dict)

    @property
    def held_out(self) -> bool:
        return set(self.selection_seeds).isdisjoint(self.test_seeds)

    @property
    def found(self) -> bool:
        return all(not k.failed for k in self.kappa_hat.values())

    @property
    def holds(self) -> bool:
        return bool(self.found and self.convexity and self.invariance and self.flatness)


def _fit_window(hp, f, window):
    i = int(np.nanargmin(f))
    idx = np.arange(max(i - window, 0), min(i + window, len(f) - 1) + 1)
    return idx


def _curv_bound(hp, f, window) -> tuple[float, float, float]:
    """(curvature, SE, curvature - t_{df,0.95} SE) of a quadratic on the window around
    argmin f (df = points - 3; NaN bound when df < 1)."""
    from fasttransfer.theory.fits import quadratic_vertex, t_quantile

    idx = _fit_window(hp, f, window)
    fit = quadratic_vertex(hp[idx], f[idx])
    mu, se = float(fit.curvature), float(fit.curvature_se)
    t = float(t_quantile(len(idx) - 3, level=0.90))  # two-sided 90% = one-sided 95%
    return mu, se, mu - t * se


def hypothesis1(
    profile,
    final,
    *,
    seeds=None,
    alpha: float | None = None,
    b: dict | None = None,
    b_se: dict | None = None,
    window: int = 2,
    settings: Algorithm1Settings = DEFAULT_SETTINGS,
) -> Hypothesis1:
    """Hypothesis 1's three conditions (module docstring). ``alpha``: the loss law's
    exponent (from ``analyze_sweep``; None: the log-log slope of the total's gap to
    n_max, same proxy as D_n); ``b``/``b_se``: width -> measured optimum shift and the
    SE of nu*(n) (None: grid-argmin shift, SE = half a grid step)."""
    import pandas as pd

    from fasttransfer.theory.fits import loglog_slope

    all_seeds = sorted(int(s) for s in final["seed"].unique()) if seeds is None else list(seeds)
    sel, test = seed_split(all_seeds)
    khat = algorithm1(profiles(profile, final, sel), settings)
    P = profiles(profile, final, test)
    h = grid_step(P.hp)
    m = len(P.widths) - 1
    rows = []
    for wi, n in enumerate(P.widths[:-1]):
        kh = khat[int(n)]
        cols = finite_columns(P, wi)
        hp = P.hp[cols]
        row = {"width": int(n), "kappa_hat": None if kh.failed else list(kh.kappa)}
        if kh.failed or len(hp) < 3:
            rows.append(row)
            continue
        # kappa_hat lives on the selection seeds' columns; keep the common ones
        kv = np.array([kh.at(x) for x in hp])
        keep = np.isfinite(kv)
        hp, kv = hp[keep], kv[keep].astype(int)
        tn = take_kappa(P.topk[wi][cols][keep], kv)
        tm = take_kappa(P.topk[m][cols][keep], kv)
        rn = take_kappa(P.residual[wi][cols][keep], kv)
        rm = take_kappa(P.residual[m][cols][keep], kv)
        totn, totm = P.total[wi][cols][keep], P.total[m][cols][keep]
        mu_n, se_n, lo_n = _curv_bound(hp, tn, window)
        mu_m, _se_m, lo_m = _curv_bound(hp, tm, window)
        W = _fit_window(hp, totn, window)
        Wm = _fit_window(hp, totm, window)
        cn, _, _ = _curv_bound(hp, totn, window)
        cm, _, _ = _curv_bound(hp, totm, window)
        eps_flat = (
            float(lip(hp[W], rn[W]) / cn + lip(hp[Wm], rm[Wm]) / cm)
            if cn > 0 and cm > 0
            else math.inf
        )
        bn = (
            float(b[int(n)])
            if b is not None and int(n) in b
            else float(abs(hp[np.argmin(totn)] - hp[np.argmin(totm)]))
        )
        sen = float(b_se[int(n)]) if b_se is not None and int(n) in b_se else h / 2
        row.update(
            {
                "mu_topk": mu_n,
                "mu_topk_se": se_n,
                "mu_topk_lower": lo_n,
                "mu_topk_nmax": mu_m,
                "mu_topk_nmax_lower": lo_m,
                "D_n": float(np.max(np.abs(tn - tm))),
                "total_gap": float(np.max(np.abs(totn - totm))),
                "eps_flat": eps_flat,
                "b_n": bn,
                "b_n_se": sen,
                "flat_ok": bool(eps_flat <= bn + 2 * sen),
            }
        )
        rows.append(row)
    pw = pd.DataFrame(rows)
    reasons = []
    have = pw["D_n"].notna() if "D_n" in pw else pd.Series(False, index=pw.index)
    if not all(not k.failed for k in khat.values()):
        reasons.append(
            "Algorithm 1 failed at widths " + ", ".join(str(n) for n, k in khat.items() if k.failed)
        )
    if set(sel) & set(test):
        reasons.append("one seed: kappa_hat is chosen and tested on the same seed")
    sub = pw[have]
    convexity = bool(
        len(sub) > 0 and np.all(sub["mu_topk_lower"] > 0) and np.all(sub["mu_topk_nmax_lower"] > 0)
    )
    fit = (
        loglog_slope(sub["width"].to_numpy(float), sub["D_n"].to_numpy(float)) if len(sub) else None
    )
    if fit is not None and float(fit.df) >= 1:
        gamma = (-float(fit.slope), -float(fit.hi), -float(fit.lo))
    else:
        gamma = (math.nan, math.nan, math.nan)
        reasons.append("fewer than 3 widths with a kappa_hat below n_max: no rate for D_n")
    if alpha is not None and np.isfinite(alpha):
        a_src = "the loss law (analyze_sweep)"
    else:
        gfit = (
            loglog_slope(sub["width"].to_numpy(float), sub["total_gap"].to_numpy(float))
            if len(sub)
            else None
        )
        alpha = -float(gfit.slope) if gfit is not None and float(gfit.df) >= 0 else math.nan
        a_src = "log-log slope of sup |phi_n - phi_nmax| (no loss law given)"
    invariance = bool(np.isfinite(gamma[1]) and np.isfinite(alpha) and gamma[1] > alpha)
    flatness = bool(len(sub) > 0 and np.all(sub["flat_ok"]))
    rules = {
        "convexity": "quadratic curvature of phi_n^kappa and phi_nmax^kappa on "
        f"{2 * window + 1} points around their argmin: mu - t_(df,0.95) SE > 0 "
        "at every n < n_max (test seeds)",
        "invariance": "D_n = sup_nu |phi_n^kappa - phi_nmax^kappa| ~ n^-gamma: the 95% "
        "interval of gamma lies above the loss exponent alpha",
        "flatness": "eps_flat(n) = Lip(phi_n^-kappa)/mu_n + Lip(phi_nmax^-kappa)/mu_nmax "
        "(fit window around the optimum, HP units) <= b_n + 2 SE(nu*(n))",
    }
    return Hypothesis1(
        kappa_hat=khat,
        selection_seeds=tuple(sel),
        test_seeds=tuple(test),
        per_width=pw,
        convexity=convexity,
        invariance=invariance,
        flatness=flatness,
        gamma=gamma,
        alpha=float(alpha),
        alpha_source=a_src,
        rate=rate_bound(P, khat, b=b, window=window),
        settings=settings.describe(h),
        reasons=tuple(reasons),
        rules=rules,
    )

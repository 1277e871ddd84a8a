"""Hypothesis 1 and Algorithm 1 (SPEC §6), operating on the final profiles of the top-k
study (numpy/pandas; the frames of :func:`simulations.topk_training.tidy_results`).

With phi_n^kappa(nu), phi_n^-kappa(nu) the final top-kappa and residual losses at width n
and scale-free learning rate nu (``hp`` = log nu, seed-averaged), nu*(n) the grid argmin
of the total final loss and W_n the ``window`` grid points on either side of it:

1. top-kappa strong convexity: mu_n = curvature (2 x quadratic coefficient) of a
   quadratic fit of phi_n^kappa on 2*window+1 points around its own argmin.
   PASS iff mu_n - 2 SE(mu_n) > 0 at every width (SE from the fit's residual variance).
2. top-kappa invariance: D_n = sup_nu |phi_n^kappa(nu) - phi_nmax^kappa(nu)| over the
   common grid, for n < n_max, and its log-log slope in n with a 95% t-interval.
   PASS iff the whole interval of the slope lies below 0 (D_n decays with width).
3. residual flatness: V_n = max_{nu in W_n} |phi_n^-kappa(nu) - phi_n^-kappa(nu*(n))|,
   ratio R_n = V_n / (mu_n Delta^2 / 2) with Delta the window's half-width in hp. A
   residual with slope s moves the argmin of phi^kappa + phi^-kappa by s/mu_n, and
   R_n ~ 2 s/(mu_n Delta), so R_n < 1 <=> the residual moves the optimum by less than
   half the window. PASS iff R_n < 1 at every width.
Hypothesis 1 holds iff all three pass.

Algorithm 1 -- OUR RECONSTRUCTION (the paper's exact J_proxy is not public):
    J_n(kappa) = sup_nu |phi_n^kappa(nu) - phi_nmax^kappa(nu)|
               + sup_{nu in W_n} |phi_n^-kappa(nu) - phi_n^-kappa(nu*(n))|,
    kappa_hat(n) = argmin_{0 <= kappa <= Kmax} J_n(kappa)   (n < n_max; the first term
    vanishes at n_max, where kappa_hat is undefined and reported as missing).
The first term grows with kappa (more width-dependent directions enter the top part),
the second falls (the residual loses its HP-dependent directions). The statistics above
use one kappa for all widths, the median of kappa_hat(n) (so that D_n compares the
same quantity across widths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Hypothesis1", "kappa_hat", "hypothesis1"]


def _mean_grid(profile, final):
    """Seed means on the hp grid: hp (H,), widths (W,), total (W, H), topk (W, H, K+1),
    residual (W, H, K+1); an (width, hp) cell with any non-finite seed is NaN (diverged)."""
    import pandas as pd

    widths = np.sort(profile["width"].unique())
    hp = np.sort(profile["hp"].unique())
    ks = np.sort(profile["k"].unique())
    p = profile.groupby(["width", "hp", "k"])[["topk", "residual"]].agg(
        lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan)
    f = final.groupby(["width", "hp"])["loss"].agg(
        lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan)
    idx = pd.MultiIndex.from_product([widths, hp, ks])
    p = p.reindex(idx)
    topk = p["topk"].to_numpy().reshape(len(widths), len(hp), len(ks))
    res = p["residual"].to_numpy().reshape(len(widths), len(hp), len(ks))
    tot = f.reindex(pd.MultiIndex.from_product([widths, hp])).to_numpy()
    return hp, widths, ks, tot.reshape(len(widths), len(hp)), topk, res


def _window(i: int, n: int, w: int) -> np.ndarray:
    return np.arange(max(i - w, 0), min(i + w, n - 1) + 1)


def _nanargmin(y: np.ndarray) -> int:
    return int(np.nanargmin(np.where(np.isfinite(y), y, np.nan)))


def kappa_hat(profile, final, *, window: int = 2) -> tuple[dict[int, float], "pd.DataFrame"]:
    """Algorithm 1 (our reconstruction, see the module docstring): kappa_hat(n) for each
    width below n_max, and the table of J_n(kappa) (columns width, k, invariance,
    flatness, J)."""
    import pandas as pd

    hp, widths, ks, tot, topk, res = _mean_grid(profile, final)
    ref = topk[-1]
    rows, out = [], {}
    for wi, n in enumerate(widths):
        i_star = _nanargmin(tot[wi])
        win = _window(i_star, len(hp), window)
        inv = np.nanmax(np.abs(topk[wi] - ref), axis=0)                    # (K+1,)
        flat = np.nanmax(np.abs(res[wi][win] - res[wi][i_star]), axis=0)   # (K+1,)
        J = inv + flat
        for k, a, b, j in zip(ks, inv, flat, J):
            rows.append({"width": int(n), "k": int(k), "invariance": a, "flatness": b, "J": j})
        out[int(n)] = float(ks[int(np.nanargmin(J))]) if wi < len(widths) - 1 else math.nan
    return out, pd.DataFrame(rows)


@dataclass(frozen=True)
class Hypothesis1:
    """The three statistics of Hypothesis 1 with their pass/fail (module docstring)."""

    kappa: int
    kappa_hat: dict
    per_width: Any                       # DataFrame, one row per width
    convexity_pass: bool
    invariance_slope: tuple[float, float, float]   # estimate, lo, hi (95%)
    invariance_pass: bool
    flatness_pass: bool
    rules: dict

    @property
    def holds(self) -> bool:
        return bool(self.convexity_pass and self.invariance_pass and self.flatness_pass)


def _quad_curvature(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Curvature 2a of y ~ a x^2 + b x + c and its standard error (nan if < 5 points)."""
    from fasttransfer.theory.fits import quadratic_vertex

    fit = quadratic_vertex(x, y)
    if fit.n_points < 5:
        return math.nan, math.nan
    return float(fit.curvature), float(fit.curvature_se)


def _loglog_slope(n: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """OLS slope of log y on log n with a 95% t-interval (nan when < 3 usable points)."""
    from fasttransfer.theory.fits import loglog_slope

    fit = loglog_slope(n, y)
    if fit.df < 1:
        return math.nan, math.nan, math.nan
    return float(fit.slope), float(fit.lo), float(fit.hi)


def hypothesis1(profile, final, *, window: int = 2, kappa: int | None = None) -> Hypothesis1:
    """Hypothesis 1 statistics at kappa (default: median of Algorithm 1's kappa_hat)."""
    import pandas as pd

    hp, widths, ks, tot, topk, res = _mean_grid(profile, final)
    khat, _ = kappa_hat(profile, final, window=window)
    if kappa is None:
        vals = [v for v in khat.values() if np.isfinite(v)]
        kappa = int(np.round(np.median(vals))) if vals else int(ks[-1])
    ki = int(np.searchsorted(ks, kappa))
    delta = window * float(np.median(np.diff(hp)))
    rows = []
    for wi, n in enumerate(widths):
        tk, rs = topk[wi, :, ki], res[wi, :, ki]
        i_tk = _nanargmin(tk)
        win_tk = _window(i_tk, len(hp), window)
        edge = i_tk in (0, len(hp) - 1)
        mu, se = _quad_curvature(hp[win_tk], tk[win_tk]) if not edge else (math.nan, math.nan)
        i_star = _nanargmin(tot[wi])
        win = _window(i_star, len(hp), window)
        V = float(np.nanmax(np.abs(rs[win] - rs[i_star])))
        D = float(np.nanmax(np.abs(tk - topk[-1, :, ki]))) if wi < len(widths) - 1 else math.nan
        R = V / (mu * delta**2 / 2) if np.isfinite(mu) and mu > 0 else math.inf
        rows.append({"width": int(n), "kappa_hat": khat[int(n)],
                     "nu_star_total": float(hp[i_star]), "nu_star_topk": float(hp[i_tk]),
                     "phi_star": float(np.nanmin(tot[wi])), "topk_at_opt": float(tk[i_tk]),
                     "curvature": mu, "curvature_se": se, "optimum_on_edge": edge,
                     "sup_diff": D, "residual_var": V, "flatness_ratio": R})
    pw = pd.DataFrame(rows)
    conv = bool(np.all(np.isfinite(pw["curvature"])) and
                np.all(pw["curvature"] - 2 * pw["curvature_se"] > 0))
    slope = _loglog_slope(pw["width"].to_numpy(float)[:-1], pw["sup_diff"].to_numpy()[:-1])
    inv = bool(np.isfinite(slope[2]) and slope[2] < 0)
    flat = bool(np.all(pw["flatness_ratio"] < 1))
    rules = {
        "convexity": "mu_n - 2 SE > 0 at every width (quadratic fit of phi^kappa on "
                     f"{2 * window + 1} points around its argmin)",
        "invariance": "95% interval of the log-log slope of D_n = sup_nu |phi_n^kappa - "
                      "phi_nmax^kappa| in n lies below 0",
        "flatness": "R_n = V_n / (mu_n Delta^2 / 2) < 1 at every width (the residual moves "
                    "the optimum by less than half the window)",
    }
    return Hypothesis1(kappa=int(kappa), kappa_hat=khat, per_width=pw, convexity_pass=conv,
                       invariance_slope=slope, invariance_pass=inv, flatness_pass=flat,
                       rules=rules)

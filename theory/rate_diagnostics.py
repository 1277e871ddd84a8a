"""The estimator's checks on itself (step 6 of :mod:`theory.rates`): the drift model
``nu_star = c + s ln n`` against the power law, the trend of the loss and the
measurability of the drift, the window sensitivity (the rates refitted with other
quadratic windows), and the doubts, blockers and below-theory causes the verdict
(:func:`framework.transfer_verdict`) reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fasttransfer.theory.fits import DriftComparison, drift_vs_power_law, line_fit, t_quantile
from fasttransfer.theory.framework import Estimate
from fasttransfer.theory.rate_bootstrap import (
    ALPHA_RANGE,
    BETA_RANGE,
    BOUND_FRACTION,
    FAILED_FRACTION,
    _Fits,
    _interval,
    _Intervals,
    _LawSettings,
    _Point,
    _rate_fits,
    _Resamples,
)
from fasttransfer.theory.rate_vertex import _vertices, _windows
from fasttransfer.theory.sweep_data import MIN_HP, DenseSweep

LEVEL = 0.05  # the tests' level (drift comparison, constant-optimum test)


def _trend(widths, y0: np.ndarray, yb: np.ndarray | None, factor: float) -> Estimate:
    """Least-squares slope of y against ln n with its bootstrap interval (unweighted:
    weights from standard errors estimated on a few seeds would add their own noise)."""
    point = float(line_fit(np.log(widths), y0).slope)
    if yb is None:
        return Estimate(point, (np.nan, np.nan))
    reps = line_fit(np.log(widths)[None, :], yb).slope
    return _interval(point, reps, factor)


def _drift(widths, nu0: np.ndarray, nu_se: np.ndarray) -> DriftComparison | None:
    if not (np.all(np.isfinite(nu_se)) and np.all(nu_se > 0)):
        return None
    return drift_vs_power_law(widths, nu0, nu_se, exponent_range=BETA_RANGE, level=LEVEL)


def _no_drift_measured(nu0: np.ndarray, nu_se: np.ndarray) -> str | None:
    """Does nu_star move measurably at all? A chi2 test of one common value (weights
    1/se^2) over the W widths; a reason when it is not rejected at 5%."""
    if not (np.all(np.isfinite(nu_se)) and np.all(nu_se > 0)):
        return None
    from scipy.stats import chi2

    wts = 1.0 / nu_se**2
    centre = float(np.sum(wts * nu0) / np.sum(wts))
    stat = float(np.sum(wts * (nu0 - centre) ** 2))
    p_const = float(chi2.sf(stat, nu0.size - 1))
    if p_const <= LEVEL:
        return None
    return (
        f"no measurable HP drift: nu_star is consistent with one value at every width "
        f"(chi2 = {stat:.3g} on {nu0.size - 1} dof, p = {p_const:.2f}), so beta is not "
        "identified; a late shift at larger widths cannot be excluded"
    )


WINDOW_RESAMPLES = 100  # resamples refitted at the other windows (the noise of a difference)


WINDOW_LEVEL = 0.975  # two window comparisons at 2.5% each (two-sided 97.5% quantile)


@dataclass(frozen=True)
class _WindowCheck:
    """The quadratic-fit window (beta - alpha/2 moved by ~0.02 from 5 vs 15 points). fits: {points
    in the window: (alpha, beta)} at the analysis window, 5 and 2 window + 1 points;
    noise: {points: bootstrap sd of the change of beta - alpha/2 against the analysis
    window} (seed bootstrap only: the noise part of a difference between windows)."""

    base: int
    fits: dict
    noise: dict
    quantile: float = float("nan")  # t_{S-1} quantile for the noise (NaN: not measured)

    def changes(self) -> dict:
        a0, b0 = self.fits[self.base]
        return {k: (b - a / 2) - (b0 - a0 / 2) for k, (a, b) in self.fits.items() if k != self.base}

    @property
    def spread(self) -> float:
        vals = [b - a / 2 for a, b in self.fits.values()]
        return float(max(vals) - min(vals)) if len(vals) > 1 else 0.0

    def systematic(self, half: float) -> bool:
        """A window effect larger than the interval's half-width and, where its noise is
        measured, beyond the t_{S-1} quantile (WINDOW_LEVEL, two-sided) of it: the curves
        are not quadratic near the optimum (not noise)."""
        if not np.isfinite(half):
            return False
        q = self.quantile if np.isfinite(self.quantile) else 0.0
        return any(
            abs(c) > max(half, q * self.noise.get(k, 0.0)) for k, c in self.changes().items()
        )


def _window_fit(d: DenseSweep, curves: np.ndarray, k: int, law: _LawSettings) -> tuple[_Fits, bool]:
    win = _windows(d.hp, d.n_hp, curves, k)
    nu, phi, curv, ok = _vertices(win["x"], win["y"], win["m"])
    return _rate_fits(d.widths, nu, phi, curv, win["edge"], law), ok[0].all() and not win["edge"][
        0
    ].any()


def _window_sensitivity(
    point: _Point, window: int, rs: _Resamples | None, fb: _Fits | None
) -> _WindowCheck:
    d, f0 = point.d, point.fits
    base = int(min(window, d.n_hp.min()))
    fits, noise = {base: (float(f0.alpha[0]), float(f0.beta[0]))}, {}
    for w_alt in sorted({MIN_HP, 2 * window + 1}):
        k = int(min(w_alt, d.n_hp.min()))
        if k in fits:
            continue
        fa, ok = _window_fit(d, point.curves, k, point.law)
        if not ok:
            continue
        fits[k] = (float(fa.alpha[0]), float(fa.beta[0]))
        if rs is not None and rs.curves is not None and fb is not None:
            n = min(WINDOW_RESAMPLES, rs.curves.shape[0])
            fk, _ = _window_fit(d, rs.curves[:n], k, point.law)
            diff = (fk.beta - fk.alpha / 2) - (fb.beta[:n] - fb.alpha[:n] / 2)
            noise[k] = float(np.nanstd(diff, ddof=1) * rs.inflate)
    s_eff = int(d.n_seeds.min())
    q = float(t_quantile(s_eff - 1, WINDOW_LEVEL)) if noise and s_eff >= 2 else np.nan
    return _WindowCheck(base, fits, noise, q)


def _doubts(point: _Point, iv: _Intervals, win: _WindowCheck, nu_se: np.ndarray) -> list[str]:
    """The estimator's reasons not to trust the fitted rates."""
    out = []
    f0 = point.fits
    if f0.alpha_bound[0]:
        out.append(
            f"alpha is at its search bound {ALPHA_RANGE} in the point fit: the loss "
            "law is not resolved"
        )
    if f0.beta_bound[0]:
        out.append(
            f"beta is at its search bound {BETA_RANGE} in the point fit: the HP law is not resolved"
        )
    for k, frac in iv.at_bound.items():
        if np.isfinite(frac) and frac > BOUND_FRACTION:
            out.append(
                f"{k} is at its search bound in {100 * frac:.0f}% of the bootstrap "
                f"resamples (more than {100 * BOUND_FRACTION:g}%): its interval reaches "
                "the bound"
            )
    dd = iv.estimates["beta_minus_half_alpha"]
    half = (dd.ci[1] - dd.ci[0]) / 2
    if win.systematic(half):
        out.append(
            f"beta - alpha/2 moves by {win.spread:.3g} across quadratic windows "
            f"{sorted(win.fits)} (more than the interval's half-width {half:.3g} and than "
            "the noise of the change): the loss curves are not quadratic near the optimum"
        )
    return out


def _below_causes(point: _Point, win: _WindowCheck, half: float) -> list[str]:
    """What may put beta - alpha/2 below the margin, data-driven causes first."""
    out = []
    curv = point.fits.curv[0]
    ratio = float(np.nanmax(curv) / np.nanmin(curv)) if np.all(curv > 0) else np.inf
    if ratio > 2:
        out.append(
            f"the curvature phi_n'' changes {ratio:.3g}x across widths: Proposition 1 "
            "needs uniformly bounded, equicontinuous phi_n'' and a locally strongly "
            "convex limit"
        )
    if np.isfinite(half) and win.spread > half / 2:
        out.append(
            "the quadratic window moves the estimate (non-quadratic curves bias the fitted optimum)"
        )
    out.append(
        "the gap may not be locally tight (sup|phi_n - phi_inf| >> a_n: the curves "
        "change shape with width, not only level), or the rates are fitted across a "
        "pre-asymptotic range (alpha over- or beta under-estimated, e.g. nu_inf "
        "extrapolated too far)"
    )
    return out


def _blockers(iv: _Intervals, bootstrap: int, s_eff: int, independent: bool) -> list[str]:
    out = []
    if bootstrap == 0:
        out.append(
            "no intervals (bootstrap = 0): point estimates only, and a verdict needs intervals"
        )
        return out
    if s_eff < 2 and not independent:
        out.append(
            "one seed per width: its intervals come from the quadratic fits' residuals, "
            "which miss a seed-level shift of whole curves (a seed shares initialisation "
            "and batches across HPs); rerun with >= 2 seeds, or assert independent "
            "cells (independent_cells=True / --independent-cells)"
        )
    if iv.failed > FAILED_FRACTION * bootstrap:
        out.append(
            f"{iv.failed} of {bootstrap} bootstrap resamples gave no fit (more than "
            f"{100 * FAILED_FRACTION:g}%): the intervals are not trusted"
        )
    return out

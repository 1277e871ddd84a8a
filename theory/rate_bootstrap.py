"""The rate laws and their intervals (steps 3-5 of :mod:`theory.rates`): the loss law
``phi_star(n) = phi_inf + A n^-alpha`` and the HP law (``nu_star(n) = nu_inf + B n^-beta``
or ``b_n = B n^-beta``) fitted on the vertices, the point estimate they make, and the
bootstrap over whole seeds (or over the quadratic fits' residuals with one seed) that
gives their intervals (the widening and clipping rules are in :mod:`theory.rates`'
docstring, step 5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fasttransfer.theory.fits import EXPONENT_RANGE, loglog_slope, profile_power_law, t_quantile
from fasttransfer.theory.framework import Estimate, hp_gap
from fasttransfer.theory.rate_vertex import _mean_curves, _vertices, _windows
from fasttransfer.theory.sweep_data import DenseSweep

ALPHA_RANGE = EXPONENT_RANGE


BETA_RANGE = (-1.0, 4.0)


Z_975 = 1.959963984540054


# More than this share of resamples on a search bound puts the bound inside the 95%
# interval (its 2.5% tail): the exponent is not resolved there.
BOUND_FRACTION = 0.025


FAILED_FRACTION = 0.05  # more failed resamples than this: the intervals are not trusted


@dataclass(frozen=True)
class _Fits:
    nu: np.ndarray  # (R, W)
    phi: np.ndarray  # (R, W)
    curv: np.ndarray  # (R, W)
    phi_inf: np.ndarray  # (R,)
    A: np.ndarray
    alpha: np.ndarray
    nu_inf: np.ndarray
    B: np.ndarray
    beta: np.ndarray
    alpha_bound: np.ndarray
    beta_bound: np.ndarray
    vertex_edge: np.ndarray  # (R, W) argmin on the edge in that resample


@dataclass(frozen=True)
class _LawSettings:
    """What the point estimate fixes for every later power-law fit: the reference, the
    loss residuals (log or linear), the two Huber thresholds and the floor of phi_inf."""

    reference: str
    log_res: bool
    d_loss: float
    d_hp: float
    floor: float  # phi_inf >= floor (0 when no loss is negative)


def _offset_bounds(phi: np.ndarray, floor: float):
    """phi_inf in [floor, min_n phi_star(n)] per resample row (phi (R, W))."""
    top = np.nanmin(np.where(np.isfinite(phi), phi, np.inf), axis=1)
    top = np.where(np.isfinite(top), top, np.inf)
    return np.full(phi.shape[0], floor), np.maximum(top, floor)


def _rate_fits(widths, nu, phi, curv, edge, law: _LawSettings) -> _Fits:
    """The loss and HP laws for every resample: nu, phi, curv, edge (R, W)."""
    phi_inf, A, alpha, _, a_b = profile_power_law(
        widths,
        phi,
        np.isfinite(phi),
        *ALPHA_RANGE,
        log_res=law.log_res,
        delta=law.d_loss,
        offset_bounds=_offset_bounds(phi, law.floor),
    )
    if law.reference == "extrapolate":
        nu_inf, B, beta, _, b_b = profile_power_law(
            widths, nu, np.isfinite(nu), *BETA_RANGE, log_res=False, delta=law.d_hp
        )
    else:
        nu_ref = nu[:, -1]
        # b_n = B n^-beta: the log-log slope of b_n is -beta
        drift = loglog_slope(widths[:-1], hp_gap(nu[:, :-1], nu_ref[:, None]))
        B, beta = np.exp(drift.intercept), -drift.slope
        nu_inf = nu_ref
        b_b = np.zeros_like(beta, dtype=bool)
    return _Fits(nu, phi, curv, phi_inf, A, alpha, nu_inf, B, beta, a_b, b_b, edge)


@dataclass(frozen=True)
class _Point:
    """The point estimate (resample axis of length 1: every seed once)."""

    d: DenseSweep  # the sweep that is analysed (bad widths dropped)
    curves: np.ndarray  # (1, W, H) seed-mean loss curves
    win: dict  # :func:`_windows` of those curves
    fits: _Fits
    law: _LawSettings
    dropped: tuple  # ((width, reason), ...)


@dataclass(frozen=True)
class _Resamples:
    """Vertex fits of the bootstrap resamples, nu, phi, curv, edge (R, W), and the
    factor f of the interval rule (module docstring, step 5)."""

    nu: np.ndarray
    phi: np.ndarray
    curv: np.ndarray
    edge: np.ndarray
    kind: str
    factor: float
    inflate: float  # sd -> standard error: sqrt(S/(S-1)) for S seeds, 1 for residuals
    method: str
    curves: np.ndarray | None = None  # (R, W, H) resampled mean curves (seed bootstrap)


def _seed_counts(rng: np.random.Generator, d: DenseSweep, R: int) -> np.ndarray:
    """Multiplicities (R, W, S) of each seed slot in R resamples of the seeds: the same
    draw at every width when the widths share seed labels (keeps any correlation
    between widths run with the same seed), independent draws otherwise."""
    W, S = d.present.shape
    if d.shared_seeds:
        s = int(d.n_seeds[0])
        draws = rng.integers(0, s, size=(R, s))
        cnt = np.zeros((R, S))
        np.add.at(cnt, (np.arange(R)[:, None], draws), 1.0)
        return np.broadcast_to(cnt[:, None, :], (R, W, S))
    cnt = np.zeros((R, W, S))
    for j in range(W):  # W is small; the R draws per width are vectorised
        s = int(d.n_seeds[j])
        draws = rng.integers(0, s, size=(R, s))
        np.add.at(cnt[:, j, :], (np.arange(R)[:, None], draws), 1.0)
    return cnt


def _seed_bootstrap(d: DenseSweep, rng: np.random.Generator, R: int, window: int) -> _Resamples:
    """Resample whole seeds (jointly across widths when they share labels)."""
    s_eff = int(d.n_seeds.min())
    curves = _mean_curves(d, _seed_counts(rng, d, R))
    win = _windows(d.hp, d.n_hp, curves, window)
    nu, phi, curv, _ = _vertices(win["x"], win["y"], win["m"])
    kind = "seeds (joint across widths)" if d.shared_seeds else "seeds (per width)"
    factor = float(t_quantile(s_eff - 1)) * float(np.sqrt(s_eff / (s_eff - 1))) / Z_975
    method = (
        f"percentile spread about the estimate, widened by t_{s_eff - 1}(0.975) x "
        f"sqrt(S/(S-1)) / z(0.975) = {factor:.3g} for S={s_eff} seeds, clipped to the "
        "search range"
    )
    return _Resamples(
        nu,
        phi,
        curv,
        win["edge"],
        kind,
        factor,
        float(np.sqrt(s_eff / (s_eff - 1))),
        method,
        curves,
    )


def _residual_bootstrap(win0: dict, rng: np.random.Generator, R: int) -> _Resamples:
    """One seed: redraw each window's quadratic-fit residuals (scaled by sqrt(K/(K-3))
    for the fitted degrees of freedom) around the fitted parabola. Valid only when the
    cells are independent (no seed-level effect shared across HPs)."""
    x, y, m = win0["x"][0], win0["y"][0], win0["m"][0]  # (W, K)
    W = x.shape[0]
    nu_p, phi_p, curv_p, _ = _vertices(x, y, m)
    fitted = phi_p[:, None] + 0.5 * curv_p[:, None] * (x - nu_p[:, None]) ** 2
    K = m.sum(-1)  # points per window
    resid = np.where(m, y - fitted, 0.0) * np.sqrt(K / np.maximum(K - 3, 1))[:, None]
    # draw residuals only among each window's finite points: those come first in
    # ``order``, and a uniform index below K_w picks one of them
    order = np.argsort(~m, axis=-1, kind="stable")  # (W, Kmax)
    u = rng.random((R, W, x.shape[-1]))
    slot = np.minimum((u * K[None, :, None]).astype(np.int64), (K - 1)[None, :, None])
    pick = np.take_along_axis(np.broadcast_to(order, slot.shape), slot, -1)
    yb = fitted[None] + np.take_along_axis(np.broadcast_to(resid, slot.shape), pick, -1)
    nu, phi, curv, _ = _vertices(np.broadcast_to(x, yb.shape), yb, np.broadcast_to(m, yb.shape))
    dof = max(int(K.min()) - 3, 1)
    factor = float(t_quantile(dof)) / Z_975
    return _Resamples(
        nu,
        phi,
        curv,
        np.zeros((R, W), dtype=bool),
        "residuals of the quadratic fits (one seed)",
        factor,
        1.0,
        f"percentile spread about the estimate, widened by t_{dof}(0.975) / "
        f"z(0.975) = {factor:.3g}, clipped to the search range",
    )


def _interval(point: float, reps: np.ndarray, factor: float, bounds=(-np.inf, np.inf)) -> Estimate:
    """Step 5's rule: ``[est - f (q50 - q2.5), est + f (q97.5 - q50)]`` over the finite
    resamples, clipped to ``bounds`` (NaN with fewer than 2 resamples)."""
    r = reps[np.isfinite(reps)]
    if r.size < 2 or not np.isfinite(point):
        return Estimate(float(point), (np.nan, np.nan))
    q_lo, med, q_hi = np.quantile(r, [0.025, 0.5, 0.975])
    lo = max(point - factor * (med - q_lo), bounds[0])
    hi = min(point + factor * (q_hi - med), bounds[1])
    return Estimate(float(point), (float(min(lo, point)), float(max(hi, point))))


@dataclass(frozen=True)
class _Intervals:
    estimates: dict  # name -> Estimate
    nu_se: np.ndarray  # (W,) bootstrap standard errors of nu_star and phi_star
    phi_se: np.ndarray
    failed: int
    at_bound: dict  # exponent -> fraction of resamples on a search bound
    edge_frac: np.ndarray  # (W,) share of resamples with the optimum on the grid edge
    fb: _Fits | None


_NAMES = ("alpha", "beta", "phi_inf", "A", "nu_inf", "B")


def _derived(f: _Fits, widths: np.ndarray, reference: str) -> dict:
    """beta - alpha/2 and the two gaps at the narrowest width n0 (R,): the loss gap
    ``A n0^-alpha`` and the signed HP gap ``nu_star(n0) - nu_star(inf)`` (the fitted
    ``B n0^-beta``; with the largest-width reference, nu_star(n0) - nu_star(n_max))."""
    n0 = widths[0]
    hp_gap0 = f.nu[:, 0] - f.nu_inf if reference == "largest" else f.B * n0**-f.beta
    return {
        "beta_minus_half_alpha": f.beta - f.alpha / 2,
        "loss_gap_n0": f.A * n0**-f.alpha,
        "hp_gap_n0": hp_gap0,
    }


def _no_intervals(f0: _Fits, widths: np.ndarray, reference: str) -> _Intervals:
    W = widths.size
    pts = {k: getattr(f0, k)[0] for k in _NAMES}
    pts.update({k: v[0] for k, v in _derived(f0, widths, reference).items()})
    est = {k: Estimate(float(p), (np.nan, np.nan)) for k, p in pts.items()}
    nan = np.full(W, np.nan)
    return _Intervals(est, nan, nan, 0, {}, np.zeros(W), None)


def _intervals(f0: _Fits, d: DenseSweep, rs: _Resamples, law: _LawSettings) -> _Intervals:
    """Every estimate with its interval from the resamples."""
    fb = _rate_fits(d.widths, rs.nu, rs.phi, rs.curv, rs.edge, law)
    good = (
        np.isfinite(fb.alpha)
        & np.isfinite(fb.beta)
        & np.isfinite(fb.phi_inf)
        & np.isfinite(fb.nu_inf)
    )
    ranges = {
        "alpha": ALPHA_RANGE,
        "beta": BETA_RANGE if law.reference == "extrapolate" else (-np.inf, np.inf),
        "phi_inf": (law.floor, np.inf),
    }
    ranges["beta_minus_half_alpha"] = (
        ranges["beta"][0] - ALPHA_RANGE[1] / 2,
        ranges["beta"][1] - ALPHA_RANGE[0] / 2,
    )
    points = {k: getattr(f0, k)[0] for k in _NAMES}
    points.update({k: v[0] for k, v in _derived(f0, d.widths, law.reference).items()})
    reps = {k: getattr(fb, k) for k in _NAMES}
    reps.update(_derived(fb, d.widths, law.reference))
    est = {
        k: _interval(float(points[k]), reps[k][good], rs.factor, ranges.get(k, (-np.inf, np.inf)))
        for k in points
    }
    se = lambda a: np.nanstd(np.where(good[:, None], a, np.nan), axis=0, ddof=1) * rs.inflate
    at_bound = {"alpha": float(fb.alpha_bound[good].mean()) if good.any() else np.nan}
    if law.reference == "extrapolate":
        at_bound["beta"] = float(fb.beta_bound[good].mean()) if good.any() else np.nan
    return _Intervals(est, se(fb.nu), se(fb.phi), int((~good).sum()), at_bound, rs.edge.mean(0), fb)

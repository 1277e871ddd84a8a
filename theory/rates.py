"""Rate estimation from a width x HP sweep (SPEC §2): the analysis.

Reading and validating a sweep lives in :mod:`fasttransfer.theory.sweep_data`, the fits
in :mod:`fasttransfer.theory.fits`; this module chains them (all numpy, vectorised over
bootstrap resamples):

1. ``nu_star(n), phi_star(n)`` per width: the seed-mean loss curve, its grid argmin,
   then a least-squares quadratic on ``window`` grid points around it (at least 5;
   :func:`fits.quadratic_vertex`); vertex and vertex value. An optimum on the grid's
   edge is an error (:class:`InputError` naming the width), never silently used.
2. Loss law ``phi_star(n) = phi_inf + A n^-alpha``: Huber loss on log residuals
   ``log(phi_inf + A n^-alpha) - log phi_star(n)`` (the Chinchilla choice; plain
   residuals when some phi_star <= 0), fitted by the global profile search of
   :func:`fits.profile_power_law`.
3. HP law: ``nu_star(n) = nu_inf + B n^-beta`` fitted the same way (``reference=
   "extrapolate"``, default), or ``b_n = |nu_star(n) - nu_star(n_max)| = B n^-beta`` on
   the widths below n_max (``reference="largest"``, the paper's proxy; biased near n_max;
   :func:`fits.loglog_slope`).
4. Intervals: bootstrap over seeds (else over the quadratic-fit residuals). A plain
   percentile bootstrap over S ~ 6 seeds is too narrow (SPEC §2: ~2x), so the interval is
   ``estimate +- t_{S-1, 0.975} * sqrt(S/(S-1)) * sd_boot``: the sqrt(S/(S-1)) undoes
   the bootstrap's (S-1)/S variance shrinkage, the t quantile pays for estimating the
   spread from S seeds. Coverage on redrawn synthetic sweeps is measured in
   ``fasttransfer/checks/estimators.py``.
5. Verdict from the interval of ``beta - alpha/2`` (:func:`theory.framework.transfer_verdict`);
   the per-width ``a_n, b_n, c_n`` through :mod:`theory.framework`'s definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from fasttransfer.theory.errors import InputError
from fasttransfer.theory.fits import (EXPONENT_RANGE, huber_threshold, loglog_slope, profile_power_law,
                                      quadratic_vertex, t_quantile, use_log_residuals)
from fasttransfer.theory.framework import (Estimate, hp_gap, loss_gap, transfer_suboptimality,
                                           transfer_verdict)
from fasttransfer.theory.sweep_data import MIN_HP, DenseSweep, densify, fmt_value, validate_sweep

DEFAULT_WINDOW = 7
ALPHA_RANGE = EXPONENT_RANGE
BETA_RANGE = (-1.0, 4.0)


# ------------------------------------------------------------------ loss curves
def _mean_curves(d: DenseSweep, counts: np.ndarray) -> np.ndarray:
    """Seed-mean loss curves for seed multiplicities ``counts`` (R, W, S): (R, W, H),
    NaN where no selected seed has a finite loss (diverged runs are excluded)."""
    fin = d.finite.astype(np.float64)
    num = np.einsum("rws,whs->rwh", counts, np.where(d.finite, d.loss, 0.0))
    den = np.einsum("rws,whs->rwh", counts, fin)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# --------------------------------------------------------------------- vertex fitting
def _vertices(x: np.ndarray, y: np.ndarray, m: np.ndarray):
    """:func:`fits.quadratic_vertex` on windows x, y, m (..., K): nu (vertex), phi (value
    at the vertex), curvature (NaN unless convex), ok (>= 3 points and convex)."""
    v = quadratic_vertex(x, y, m)
    return v.vertex, v.value, np.where(v.ok, v.curvature, np.nan), v.ok


def _windows(hp: np.ndarray, n_hp: np.ndarray, curves: np.ndarray, window: int):
    """Grid argmin of each curve and the ``window`` grid points around it.
    hp (W, H), curves (R, W, H) -> dict of x, y, m (R, W, K) and flags (R, W):
    edge (argmin at the first/last HP with a finite loss), shifted (window could not
    be centred on the argmin)."""
    R, W, H = curves.shape
    K = int(min(window, n_hp.min()))
    fin = np.isfinite(curves)
    i_min = np.argmin(np.where(fin, curves, np.inf), axis=-1)  # (R, W)
    first = np.argmax(fin, axis=-1)
    last = H - 1 - np.argmax(fin[..., ::-1], axis=-1)
    edge = (i_min == first) | (i_min == last)
    i0 = np.clip(i_min - K // 2, 0, (n_hp - K)[None, :])
    shifted = (i0 != i_min - K // 2) | (i_min - K // 2 < first) | (i_min + K // 2 > last)
    idx = i0[..., None] + np.arange(K)  # (R, W, K)
    x = np.take_along_axis(np.broadcast_to(hp, (R, W, H)), idx, axis=-1)
    y = np.take_along_axis(curves, idx, axis=-1)
    m = np.isfinite(y)
    return {"x": x, "y": y, "m": m, "edge": edge, "shifted": shifted,
            "hp_argmin": np.take_along_axis(np.broadcast_to(hp, (R, W, H)), i_min[..., None], -1)[..., 0]}


def fit_vertex(hp, loss, *, window: int = DEFAULT_WINDOW, width: float | None = None):
    """``(nu_star, phi_star)`` of one loss curve: grid argmin, then a least-squares
    quadratic on the ``window`` (>= 5) grid points around it; exact on a parabola.

    hp, loss: shape (H,), any order; non-finite losses are ignored. Raises
    :class:`InputError` (naming ``width`` when given) when the argmin is on the grid's
    edge or the local fit is not convex."""
    hp = np.asarray(hp, dtype=np.float64).reshape(-1)
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    if hp.shape != loss.shape:
        raise InputError(f"fit_vertex: hp and loss differ in length ({hp.size} vs {loss.size})")
    if window < MIN_HP:
        raise InputError(f"window must be at least {MIN_HP} (got {window})", param="window")
    order = np.argsort(hp, kind="stable")
    hp, loss = hp[order], loss[order]
    if np.isfinite(loss).sum() < MIN_HP:
        raise InputError(f"{_where(width)}fewer than {MIN_HP} HP values with a finite loss")
    curves = np.where(np.isfinite(loss), loss, np.nan)[None, None, :]
    win = _windows(hp[None, :], np.array([hp.size]), curves, window)
    nu, phi, _, ok = _vertices(win["x"], win["y"], win["m"])
    _raise_if_bad(win, ok, nu, np.array([np.nan if width is None else width]))
    return float(nu[0, 0]), float(phi[0, 0])


def _where(width) -> str:
    return "" if width is None or not np.isfinite(width) else f"width {fmt_value(width)}: "


def _raise_if_bad(win: dict, ok: np.ndarray, nu: np.ndarray, widths: np.ndarray) -> None:
    """Point-estimate failures (row 0 of the resample axis) -> InputError naming the width."""
    for j, w in enumerate(widths):
        if win["edge"][0, j]:
            raise InputError(
                f"{_where(w)}optimum on the grid edge (hp={fmt_value(win['hp_argmin'][0, j])}); "
                "extend the HP grid past the optimum")
        if not ok[0, j]:
            raise InputError(
                f"{_where(w)}the loss is not convex around its grid minimum "
                f"(hp={fmt_value(win['hp_argmin'][0, j])}); no fitted optimum")
        xs = win["x"][0, j][win["m"][0, j]]
        if not (xs.min() <= nu[0, j] <= xs.max()):
            raise InputError(
                f"{_where(w)}fitted optimum hp={fmt_value(nu[0, j])} lies outside the fit "
                f"window [{fmt_value(xs.min())}, {fmt_value(xs.max())}]; the optimum is at the grid edge "
                "or the curve is too flat")


# ------------------------------------------------------------------------- analysis
@dataclass(frozen=True)
class SweepAnalysis:
    """The result of :func:`analyze_sweep`. ``per_width`` columns: width, nu_star,
    phi_star, a, b, c (+ nu_star_se, curvature, runs, diverged); ``c`` is
    ``curvature_ref/2 * b^2`` with the curvature of the widest loss curve (exact for the
    SPEC §3 family, Theorem 1.3 in general)."""

    alpha: Estimate
    beta: Estimate
    beta_minus_half_alpha: Estimate
    verdict: str
    per_width: pd.DataFrame
    diverged: int
    reference: str
    phi_inf: Estimate
    A: Estimate
    nu_inf: Estimate
    B: Estimate
    n_seeds: int
    bootstrap: int
    bootstrap_kind: str
    interval_method: str
    window: int
    loss_residuals: str
    warnings: tuple[str, ...] = ()
    failed_resamples: int = 0
    window_sensitivity: dict = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        """SPEC §7's ``--json`` schema (plus extra keys)."""
        def num(x):
            x = float(x)
            return x if np.isfinite(x) else None

        per = [{k: num(row[k]) for k in ("width", "nu_star", "phi_star", "a", "b", "c")}
               for _, row in self.per_width.iterrows()]
        est = lambda e: {"estimate": num(e.estimate), "ci": [num(e.ci[0]), num(e.ci[1])]}  # noqa: E731
        return {
            "alpha": est(self.alpha),
            "beta": est(self.beta),
            "beta_minus_half_alpha": est(self.beta_minus_half_alpha),
            "verdict": self.verdict,
            "per_width": per,
            "diverged": int(self.diverged),
            "reference": self.reference,
            "fit": {"phi_inf": est(self.phi_inf), "A": est(self.A), "nu_inf": est(self.nu_inf),
                    "B": est(self.B)},
            "n_seeds": int(self.n_seeds),
            "bootstrap": {"resamples": int(self.bootstrap), "kind": self.bootstrap_kind,
                          "interval": self.interval_method,
                          "failed_resamples": int(self.failed_resamples)},
            "window": int(self.window),
            "loss_residuals": self.loss_residuals,
            "warnings": list(self.warnings),
            "window_sensitivity": {str(k): {"alpha": num(a), "beta": num(b),
                                            "beta_minus_half_alpha": num(b - a / 2)}
                                   for k, (a, b) in self.window_sensitivity.items()},
        }


@dataclass(frozen=True)
class _Fits:
    nu: np.ndarray       # (R, W)
    phi: np.ndarray      # (R, W)
    curv: np.ndarray     # (R, W)
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
    loss residuals (log or linear) and the two Huber thresholds."""

    reference: str
    log_res: bool
    d_loss: float
    d_hp: float


def _rate_fits(widths, nu, phi, curv, edge, law: _LawSettings) -> _Fits:
    """The loss and HP laws for every resample: nu, phi, curv, edge (R, W)."""
    phi_inf, A, alpha, _, a_b = profile_power_law(
        widths, phi, np.isfinite(phi), *ALPHA_RANGE, log_res=law.log_res, delta=law.d_loss)
    if law.reference == "extrapolate":
        nu_inf, B, beta, _, b_b = profile_power_law(
            widths, nu, np.isfinite(nu), *BETA_RANGE, log_res=False, delta=law.d_hp)
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

    curves: np.ndarray  # (1, W, H) seed-mean loss curves
    win: dict           # :func:`_windows` of those curves
    fits: _Fits
    law: _LawSettings


def _point_estimate(d: DenseSweep, window: int, reference: str, warnings: list) -> _Point:
    curves = _mean_curves(d, d.present[None].astype(np.float64))
    win = _windows(d.hp, d.n_hp, curves, window)
    nu, phi, curv, ok = _vertices(win["x"], win["y"], win["m"])
    _raise_if_bad(win, ok, nu, d.widths)
    for j, w in enumerate(d.widths):
        if win["shifted"][0, j]:
            warnings.append(
                f"width {fmt_value(w)}: optimum within {window // 2} grid points of the grid edge "
                f"(hp={fmt_value(win['hp_argmin'][0, j])}); the fit window is not centred")
    log_res = use_log_residuals(phi[0], "auto")
    d_loss = huber_threshold(d.widths, phi, np.isfinite(phi), *ALPHA_RANGE, log_res)
    d_hp = (huber_threshold(d.widths, nu, np.isfinite(nu), *BETA_RANGE, False)
            if reference == "extrapolate" else np.inf)
    law = _LawSettings(reference=reference, log_res=log_res, d_loss=d_loss, d_hp=d_hp)
    f0 = _rate_fits(d.widths, nu, phi, curv, win["edge"], law)
    if f0.alpha_bound[0]:
        warnings.append(f"alpha at its search bound {ALPHA_RANGE}: the loss law is not resolved")
    if f0.beta_bound[0]:
        warnings.append(f"beta at its search bound {BETA_RANGE}: the HP drift is not resolved "
                        "(nu_star may not move measurably with width)")
    return _Point(curves=curves, win=win, fits=f0, law=law)


# -------------------------------------------------------------------- bootstrap
@dataclass(frozen=True)
class _Resamples:
    """Vertex fits of the bootstrap resamples, nu, phi, curv, edge (R, W), and the
    interval rule they call for: ``estimate +- t_dof x inflate x sd``."""

    nu: np.ndarray
    phi: np.ndarray
    curv: np.ndarray
    edge: np.ndarray
    kind: str
    dof: int
    inflate: float


def _seed_bootstrap(d: DenseSweep, rng: np.random.Generator, R: int, window: int) -> _Resamples:
    """Resample the seeds (jointly across widths when they share labels)."""
    s_eff = int(d.n_seeds.min())
    curves = _mean_curves(d, _seed_counts(rng, d, R))
    win = _windows(d.hp, d.n_hp, curves, window)
    nu, phi, curv, _ = _vertices(win["x"], win["y"], win["m"])
    kind = "seeds (joint across widths)" if d.shared_seeds else "seeds (per width)"
    return _Resamples(nu, phi, curv, win["edge"], kind, dof=s_eff - 1,
                      inflate=float(np.sqrt(s_eff / (s_eff - 1))))


def _residual_bootstrap(win0: dict, rng: np.random.Generator, R: int) -> _Resamples:
    """One seed: redraw each window's quadratic-fit residuals (scaled by sqrt(K/(K-3))
    for the fitted degrees of freedom) around the fitted parabola."""
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
    return _Resamples(nu, phi, curv, np.zeros((R, W), dtype=bool),
                      "residuals of the quadratic fits (one seed)", dof=max(int(K.min()) - 3, 1),
                      inflate=1.0)


@dataclass(frozen=True)
class _Intervals:
    estimates: dict      # name -> Estimate: alpha, beta, beta_minus_half_alpha, phi_inf, A, nu_inf, B
    method: str
    nu_se: np.ndarray    # (W,) bootstrap standard error of nu_star
    failed: int
    kind: str


def _intervals(f0: _Fits, d: DenseSweep, rs: _Resamples | None, law: _LawSettings,
               bootstrap: int, warnings: list) -> _Intervals:
    """Every estimate with its interval from the resamples (NaN intervals without)."""
    names = ("alpha", "beta", "phi_inf", "A", "nu_inf", "B")
    points = {k: getattr(f0, k)[0] for k in names}
    points["beta_minus_half_alpha"] = f0.beta[0] - f0.alpha[0] / 2
    if rs is None:
        est = {k: Estimate(float(p), (np.nan, np.nan)) for k, p in points.items()}
        return _Intervals(est, "none (bootstrap = 0)", np.full(d.widths.size, np.nan), 0, "none")
    fb = _rate_fits(d.widths, rs.nu, rs.phi, rs.curv, rs.edge, law)
    edge_frac = rs.edge.mean(0)
    for j, w in enumerate(d.widths):
        if edge_frac[j] > 0.01:
            warnings.append(f"width {fmt_value(w)}: the optimum hit the grid edge in "
                            f"{100 * edge_frac[j]:.0f}% of bootstrap resamples")
    good = np.isfinite(fb.alpha) & np.isfinite(fb.beta) & np.isfinite(fb.phi_inf) & np.isfinite(fb.nu_inf)
    failed = int((~good).sum())
    if failed > 0.05 * bootstrap:
        warnings.append(f"{failed} of {bootstrap} bootstrap resamples gave no fit")
    tq = float(t_quantile(rs.dof))
    reps = {k: getattr(fb, k) for k in names}
    reps["beta_minus_half_alpha"] = fb.beta - fb.alpha / 2
    est = {}
    for k, point in points.items():
        r = reps[k][good]
        if r.size < 2:
            est[k] = Estimate(float(point), (np.nan, np.nan))
            continue
        half = tq * rs.inflate * float(np.std(r, ddof=1))
        est[k] = Estimate(float(point), (float(point - half), float(point + half)))
    s_eff = int(d.n_seeds.min())
    method = (f"estimate +- t_{rs.dof}(0.975) x sqrt(S/(S-1)) x bootstrap sd, S={s_eff}"
              if rs.inflate != 1.0 else f"estimate +- t_{rs.dof}(0.975) x bootstrap sd")
    nu_se = np.nanstd(fb.nu[good], axis=0, ddof=1) * rs.inflate
    return _Intervals(est, method, nu_se, failed, rs.kind)


# ------------------------------------------------------------- systematic checks
def _window_sensitivity(d: DenseSweep, point: _Point, window: int, dd: Estimate,
                        warnings: list) -> dict:
    """Check 1, the quadratic-fit window (SPEC §2 saw ~0.02 from 5 vs 15 points):
    {points in the window: (alpha, beta)} refitted at 5 and 2 window + 1 points."""
    f0 = point.fits
    sens = {int(min(window, d.n_hp.min())): (float(f0.alpha[0]), float(f0.beta[0]))}
    for w_alt in sorted({MIN_HP, 2 * window + 1}):
        k = int(min(w_alt, d.n_hp.min()))
        if k in sens:
            continue
        win_a = _windows(d.hp, d.n_hp, point.curves, k)
        nu_a, phi_a, curv_a, ok_a = _vertices(win_a["x"], win_a["y"], win_a["m"])
        if not ok_a.all() or win_a["edge"].any():
            continue
        fa = _rate_fits(d.widths, nu_a, phi_a, curv_a, win_a["edge"], point.law)
        sens[k] = (float(fa.alpha[0]), float(fa.beta[0]))
    d_by_window = {k: b - a / 2 for k, (a, b) in sens.items()}
    spread = max(d_by_window.values()) - min(d_by_window.values())
    half = (dd.ci[1] - dd.ci[0]) / 2
    if len(sens) > 1 and np.isfinite(half) and spread > half:
        warnings.append(
            f"beta - alpha/2 moves by {spread:.3g} across quadratic windows "
            f"{sorted(sens)} (more than the interval half-width {half:.3g}): the loss "
            "curves are not quadratic near the optimum; compare window values")
    return sens


def _drift_warning(nu0: np.ndarray, nu_se: np.ndarray) -> str | None:
    """Check 2, does nu_star move measurably at all? A chi2 test of one common value
    (weights 1/se^2) over the W widths; a warning when it is not rejected at 5%."""
    if not (np.all(np.isfinite(nu_se)) and np.all(nu_se > 0)):
        return None
    from scipy.stats import chi2

    wts = 1.0 / nu_se**2
    centre = float(np.sum(wts * nu0) / np.sum(wts))
    stat = float(np.sum(wts * (nu0 - centre) ** 2))
    p_const = float(chi2.sf(stat, nu0.size - 1))
    if p_const <= 0.05:
        return None
    return (f"nu_star is consistent with one value at every width (chi2 = {stat:.3g} on "
            f"{nu0.size - 1} dof, p = {p_const:.2f}): no measurable HP drift over these widths, so "
            "beta is not identified; a late shift at larger widths cannot be excluded")


def _per_width(df: pd.DataFrame, d: DenseSweep, f0: _Fits, nu_se: np.ndarray) -> pd.DataFrame:
    """The per-width table; a_n, b_n, c_n by the framework's definitions, c_n with the
    limit loss modelled as ``curvature_ref/2 (nu - nu_inf)^2`` above its minimum
    (measured from phi_star(inf), so no rounding of phi_inf enters c_n)."""
    nu0, phi0, curv0 = f0.nu[0], f0.phi[0], f0.curv[0]
    nu_inf, curv_ref = f0.nu_inf[0], curv0[-1]
    excess_limit: Callable = lambda nu: 0.5 * curv_ref * (nu - nu_inf) ** 2  # noqa: E731
    return pd.DataFrame({
        "width": d.widths, "nu_star": nu0, "phi_star": phi0,
        "a": loss_gap(phi0, f0.phi_inf[0]), "b": hp_gap(nu0, nu_inf),
        "c": transfer_suboptimality(excess_limit, nu0, 0.0),
        "nu_star_se": nu_se, "curvature": curv0,
        "runs": [int((df.width == w).sum()) for w in d.widths],
        "diverged": [int((~np.isfinite(df.loss[df.width == w])).sum()) for w in d.widths],
    })


# --------------------------------------------------------------------- analysis
def _check_arguments(reference: str, bootstrap: int, window: int) -> tuple[int, int]:
    if reference not in ("extrapolate", "largest"):
        raise InputError(f"reference must be 'largest' or 'extrapolate' (got {reference!r})",
                         param="reference")
    if int(bootstrap) < 0:
        raise InputError(f"bootstrap must be >= 0 (got {bootstrap})", param="bootstrap")
    if int(window) < MIN_HP:
        raise InputError(f"window must be at least {MIN_HP} (got {window})", param="window")
    return int(bootstrap), int(window)


def analyze_sweep(df: pd.DataFrame, *, reference: str = "extrapolate", bootstrap: int = 1000,
                  seed: int = 0, window: int = DEFAULT_WINDOW) -> SweepAnalysis:
    """alpha, beta, beta - alpha/2 with 95% intervals, the per-width table and the
    verdict for a sweep (columns width, hp, loss[, seed]; see
    :func:`fasttransfer.theory.sweep_data.read_sweep`).

    ``reference``: ``"extrapolate"`` fits ``nu_star(n) = nu_inf + B n^-beta`` jointly;
    ``"largest"`` uses ``b_n = |nu_star(n) - nu_star(n_max)|`` on the widths below
    n_max. ``bootstrap``: number of resamples (over seeds when the sweep has >= 2 per
    width, else over quadratic-fit residuals); 0 gives point estimates with NaN
    intervals. ``window``: grid points in each quadratic fit (>= 5)."""
    bootstrap, window = _check_arguments(reference, bootstrap, window)
    df = validate_sweep(df)
    d = densify(df)
    if reference == "largest" and d.widths.size < 3:
        raise InputError("reference 'largest' needs at least 3 widths", param="reference")
    warnings: list[str] = []
    point = _point_estimate(d, window, reference, warnings)
    rng = np.random.default_rng(seed)
    s_eff = int(d.n_seeds.min())
    if bootstrap > 0 and s_eff >= 2:
        rs = _seed_bootstrap(d, rng, bootstrap, window)
    elif bootstrap > 0:
        rs = _residual_bootstrap(point.win, rng, bootstrap)
    else:
        rs = None
    iv = _intervals(point.fits, d, rs, point.law, bootstrap, warnings)
    e = iv.estimates
    dd = e["beta_minus_half_alpha"]
    verdict = transfer_verdict(dd.ci, e["beta"].ci)
    sens = _window_sensitivity(d, point, window, dd, warnings)
    drift = _drift_warning(point.fits.nu[0], iv.nu_se) if rs is not None else None
    if drift is not None:
        warnings.append(drift)
    if verdict == "weak" and dd.ci[1] < 0:
        warnings.append("beta - alpha/2 is significantly below 0: b_n shrinks more slowly "
                        "than a_n^(1/2), which Theorem 1 excludes when sup|phi_n - phi_inf| "
                        "= O(a_n)")
    return SweepAnalysis(
        alpha=e["alpha"], beta=e["beta"], beta_minus_half_alpha=dd, verdict=verdict,
        per_width=_per_width(df, d, point.fits, iv.nu_se), diverged=d.diverged,
        reference=reference, phi_inf=e["phi_inf"], A=e["A"], nu_inf=e["nu_inf"], B=e["B"],
        n_seeds=s_eff, bootstrap=bootstrap, bootstrap_kind=iv.kind, interval_method=iv.method,
        window=int(min(window, d.n_hp.min())), loss_residuals="log" if point.law.log_res else "linear",
        warnings=tuple(warnings), failed_resamples=iv.failed, window_sensitivity=sens)


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

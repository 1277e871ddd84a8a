"""Rate estimation from a width x HP sweep (docs/paper-setups.md#rate-estimation): the analysis.

Reading and validating a sweep lives in :mod:`fasttransfer.theory.sweep_data`, the fits
in :mod:`fasttransfer.theory.fits`, the verdict rule in :mod:`fasttransfer.theory.
framework`; the stages in :mod:`~fasttransfer.theory.rate_vertex` (step 2),
:mod:`~fasttransfer.theory.rate_bootstrap` (steps 3-5) and
:mod:`~fasttransfer.theory.rate_diagnostics` (step 6's inputs); this module chains them
into :func:`analyze_sweep` (all numpy, vectorised over bootstrap resamples):

1. Divergence (:class:`sweep_data.DivergenceRule`): diverged runs and the cells they
   spoil are left out and counted per width.
2. ``nu_star(n), phi_star(n)`` per width: the seed-mean loss curve, its grid argmin (a
   tie: the middle of the tied run), then a least-squares quadratic on ``window`` grid
   points around it (at least 5; :func:`fits.quadratic_vertex`); vertex and vertex
   value. A width that cannot be fitted (too few points, optimum on the grid edge, not
   convex) is an error naming it, or, with ``skip_bad_widths``, dropped with a warning.
3. Loss law ``phi_star(n) = phi_inf + A n^-alpha``: Huber loss on log residuals (plain
   residuals when some phi_star <= 0), global profile search
   (:func:`fits.profile_power_law`), phi_inf confined to what the data allow: not
   below 0 when no loss is negative, never above the smallest phi_star.
4. HP law: ``nu_star(n) = nu_inf + B n^-beta`` (``reference="extrapolate"``, default)
   or ``b_n = |nu_star(n) - nu_star(n_max)| = B n^-beta`` (``reference="largest"``, the
   paper's proxy; :func:`fits.loglog_slope`). Beside it the drift model
   ``nu_star(n) = c + s ln n`` (no convergence), compared by a likelihood-ratio test
   (:func:`fits.drift_vs_power_law`).
5. Intervals: bootstrap over whole seeds (a seed's curve shares initialisation and
   batches across HPs, so its cells are not independent); with one seed, over the
   quadratic fits' residuals, which is valid only for independent cells (without the
   user's assertion, the verdict is ``inconclusive``). The interval is centred on the
   estimate with the bootstrap's own asymmetric spread, widened for the few seeds:
   ``[est - f (q50 - q2.5), est + f (q97.5 - q50)]``, ``f = t_{S-1}(0.975)
   sqrt(S/(S-1)) / z_0.975`` (the sqrt undoes the bootstrap's (S-1)/S variance
   shrinkage, the t quantile pays for a spread estimated from S seeds; a plain
   percentile interval over ~6 seeds is ~2x too narrow), then clipped to the exponents'
   search range. A bootstrap piled on a search bound (more than BOUND_FRACTION of the
   resamples) is reported as a reason, never averaged into a spread.
6. Verdict (:func:`framework.transfer_verdict`) from the interval of beta - alpha/2,
   the equivalence margin, the resolution of both gaps, the drift comparison and the
   estimator's own doubts (window sensitivity, bounds, no measurable drift).
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fasttransfer.errors import InputError
from fasttransfer.theory.fits import DriftComparison, huber_threshold, use_log_residuals
from fasttransfer.theory.framework import (
    DEFAULT_MARGIN,
    Estimate,
    Evidence,
    finite_transfer_suboptimality,
    hp_gap,
    loss_gap,
    transfer_suboptimality,
    transfer_verdict,
)
from fasttransfer.theory.rate_bootstrap import (
    ALPHA_RANGE,
    BETA_RANGE,
    _Intervals,
    _intervals,
    _LawSettings,
    _no_intervals,
    _offset_bounds,
    _Point,
    _rate_fits,
    _Resamples,
    _residual_bootstrap,
    _seed_bootstrap,
)
from fasttransfer.theory.rate_diagnostics import (
    _below_causes,
    _blockers,
    _doubts,
    _drift,
    _no_drift_measured,
    _trend,
    _window_sensitivity,
    _WindowCheck,
)
from fasttransfer.theory.rate_vertex import (
    DEFAULT_WINDOW,
    _fit_problems,
    _mean_curves,
    _vertices,
    _windows,
)
from fasttransfer.theory.sweep_data import (
    MIN_HP,
    MIN_WIDTHS,
    DenseSweep,
    DivergenceRule,
    densify,
    fmt_value,
    validate_sweep,
    width_problem,
)

# the default of an estimate not made (an immutable, shared instance)
NAN_ESTIMATE = Estimate(np.nan, (np.nan, np.nan))


@dataclass(frozen=True)
class SweepAnalysis:
    """The result of :func:`analyze_sweep`.

    ``per_width`` columns: width, nu_star, nu_star_se, phi_star, phi_star_se, a, b,
    c (the model: ``curvature_N/2 b^2`` with the curvature of the widest loss curve,
    exact for the synthetic family), c_measured (``c_{m->N} = phi_N(nu_star(m)) -
    phi_star(N)`` against the widest width N, read off its fitted parabola inside the
    fit window and its mean curve beyond), curvature, runs, diverged, excluded_cells,
    fit_lo, fit_hi (the HP range of the quadratic fit).
    ``hp_drift``: the slope s of ``nu_star = c + s ln n`` (LR* ~ n^s); ``drift``: its
    comparison with the HP power law; ``reasons``: why the verdict is what it is;
    ``dropped``: (width, reason) of the widths left out under ``skip_bad_widths``;
    ``diverged_cells``: the per-cell counts of every cell with a diverged run."""

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
    reasons: tuple[str, ...] = ()
    hp_drift: Estimate = NAN_ESTIMATE
    loss_slope: Estimate = NAN_ESTIMATE
    drift: DriftComparison | None = None
    margin: float = DEFAULT_MARGIN
    at_bound: dict = field(default_factory=dict)
    dropped: tuple = ()
    divergence_rule: str = ""
    independent_cells: bool = False
    phi_inf_bounds: tuple[float, float] = (-np.inf, np.inf)
    diverged_cells: tuple = ()  # per-cell counts: {width, hp, runs, diverged, excluded}

    def to_json_dict(self) -> dict:
        """The ``analyze --json`` schema (docs/paper-setups.md#command-line, plus extra
        keys); null where a number is undefined (no interval without a bootstrap)."""

        def num(x):
            x = float(x)
            return x if np.isfinite(x) else None

        est = lambda e: {"estimate": num(e.estimate), "ci": [num(e.ci[0]), num(e.ci[1])]}
        keys = (
            "width",
            "nu_star",
            "nu_star_se",
            "phi_star",
            "phi_star_se",
            "a",
            "b",
            "c",
            "c_measured",
            "curvature",
        )
        per = [
            {
                **{k: num(row[k]) for k in keys},
                **{k: int(row[k]) for k in ("runs", "diverged", "excluded_cells")},
            }
            for _, row in self.per_width.iterrows()
        ]
        dc = self.drift
        return {
            "alpha": est(self.alpha),
            "beta": est(self.beta),
            "beta_minus_half_alpha": est(self.beta_minus_half_alpha),
            "hp_drift": {
                "slope": est(self.hp_drift),
                "model": "nu_star(n) = c + s ln n (for a learning rate, LR* ~ n^s)",
                "comparison": None
                if dc is None
                else {
                    "test": "likelihood ratio, drift model nested in the power law (p -> 0)",
                    "chi2_drift": num(dc.chi2_drift),
                    "chi2_power_law": num(dc.chi2_power),
                    "dispersion": num(dc.dispersion),
                    "statistic": num(dc.statistic),
                    "p_value": num(dc.p_value),
                    "preferred": dc.preferred,
                },
            },
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "margin": float(self.margin),
            "per_width": per,
            "per_width_columns": {
                "c": "model: curvature of the widest curve / 2 x b^2",
                "c_measured": "c_{m->N} = phi_N(nu_star(m)) - phi_star(N), N the widest width",
                "nu_star_se": "bootstrap standard error of nu_star",
            },
            "diverged": int(self.diverged),
            "divergence_rule": self.divergence_rule,
            "diverged_cells": list(self.diverged_cells),
            "dropped_widths": [{"width": float(w), "reason": r} for w, r in self.dropped],
            "reference": self.reference,
            "fit": {
                "phi_inf": est(self.phi_inf),
                "A": est(self.A),
                "nu_inf": est(self.nu_inf),
                "B": est(self.B),
                "loss_slope": est(self.loss_slope),
                "phi_inf_bounds": [num(self.phi_inf_bounds[0]), num(self.phi_inf_bounds[1])],
            },
            "n_seeds": int(self.n_seeds),
            "independent_cells": bool(self.independent_cells),
            "bootstrap": {
                "resamples": int(self.bootstrap),
                "kind": self.bootstrap_kind,
                "interval": self.interval_method,
                "failed_resamples": int(self.failed_resamples),
                "at_bound": {k: num(v) for k, v in self.at_bound.items()},
            },
            "window": int(self.window),
            "loss_residuals": self.loss_residuals,
            "warnings": list(self.warnings),
            "window_sensitivity": {
                str(k): {"alpha": num(a), "beta": num(b), "beta_minus_half_alpha": num(b - a / 2)}
                for k, (a, b) in self.window_sensitivity.items()
            },
        }


def _drop(d: DenseSweep, problems: list, skip: bool, dropped: list, warnings: list) -> DenseSweep:
    """The sweep without the widths in ``problems`` [(index, reason)]: an InputError
    naming the first unless ``skip``, a warning each, at least MIN_WIDTHS kept."""
    if not problems:
        return d
    if not skip:
        raise InputError(problems[0][1])
    for j, reason in problems:
        dropped.append((float(d.widths[j]), reason))
        warnings.append(f"dropped {reason}")
    bad = {j for j, _ in problems}
    keep = [j for j in range(d.widths.size) if j not in bad]
    if len(keep) < MIN_WIDTHS:
        raise InputError(
            f"fewer than {MIN_WIDTHS} widths left after dropping {len(dropped)} "
            f"that cannot be fitted ({dropped[0][1]})",
            param="skip_bad_widths",
        )
    return d.take(keep)


def _vertex_fits(d: DenseSweep, window: int):
    curves = _mean_curves(d, d.present[None].astype(np.float64))
    win = _windows(d.hp, d.n_hp, curves, window)
    return curves, win, _vertices(win["x"], win["y"], win["m"])


def _screen_widths(d: DenseSweep, window: int, skip: bool, warnings: list):
    """Step 2: the widths with a fitted optimum. A width without one -- too few HP
    values that count, then an optimum on the grid edge, a non-convex curve or a vertex
    outside its window -- raises InputError naming it, or with ``skip`` is dropped.
    Returns (sweep, curves, windows, vertex fits, dropped). Each width's fit is its own,
    so dropping one leaves the others' unchanged."""
    dropped: list = []
    usable_hp = d.finite.any(-1).sum(-1)
    data = [
        (j, width_problem(w, int(d.n_hp[j]), int(usable_hp[j]))) for j, w in enumerate(d.widths)
    ]
    d = _drop(d, [(j, p) for j, p in data if p], skip, dropped, warnings)
    curves, win, vert = _vertex_fits(d, window)
    fit = _fit_problems(win, vert[3], vert[0], d.widths)
    if fit:
        d = _drop(d, fit, skip, dropped, warnings)
        curves, win, vert = _vertex_fits(d, window)
    return d, curves, win, vert, tuple(dropped)


def _divergence_warnings(d: DenseSweep) -> list[str]:
    """Widths where the threshold (not NaN/inf) takes more than a quarter of the runs:
    the rule may be cutting into a legitimate curve."""
    out = []
    for j, w in enumerate(d.widths):
        nonfinite = int(d.runs[j]) - int(np.isfinite(d.raw_loss[j]).sum())
        above = int(d.diverged_runs[j]) - nonfinite
        if above > 0.25 * d.runs[j]:
            out.append(
                f"width {fmt_value(w)}: {above} of {int(d.runs[j])} runs count as diverged "
                f"by the threshold ({d.rule}); for a loss that spans decades (e.g. a "
                "regression loss near 0) pass diverged_factor=None (--diverged-factor 0) "
                "or an init_loss column"
            )
    return out


def _point_estimate(
    d: DenseSweep, window: int, reference: str, skip: bool, warnings: list
) -> _Point:
    d, curves, win, (nu, phi, curv, _), dropped = _screen_widths(d, window, skip, warnings)
    if reference == "largest" and d.widths.size < 3:
        raise InputError("reference 'largest' needs at least 3 widths", param="reference")
    warnings.extend(_divergence_warnings(d))
    for j, w in enumerate(d.widths):
        if win["shifted"][0, j]:
            warnings.append(
                f"width {fmt_value(w)}: optimum within {window // 2} grid points of the grid edge "
                f"(hp={fmt_value(win['hp_argmin'][0, j])}); the fit window is not centred"
            )
    log_res = use_log_residuals(phi[0], "auto")
    floor = 0.0 if np.nanmin(d.loss) >= 0 else -np.inf
    bounds = _offset_bounds(phi, floor)
    d_loss = huber_threshold(d.widths, phi, np.isfinite(phi), *ALPHA_RANGE, log_res, bounds)
    d_hp = (
        huber_threshold(d.widths, nu, np.isfinite(nu), *BETA_RANGE, False)
        if reference == "extrapolate"
        else np.inf
    )
    law = _LawSettings(reference=reference, log_res=log_res, d_loss=d_loss, d_hp=d_hp, floor=floor)
    f0 = _rate_fits(d.widths, nu, phi, curv, win["edge"], law)
    return _Point(d=d, curves=curves, win=win, fits=f0, law=law, dropped=dropped)


def _measured_transfer(point: _Point) -> np.ndarray:
    """c_{m->N} = phi_N(nu_star(m)) - phi_star(N) for every m, N the widest width:
    phi_N from its fitted parabola inside its fit window, its seed-mean curve linearly
    interpolated beyond (NaN off the grid)."""
    f0, win = point.fits, point.win
    nu_m = f0.nu[0]
    nu_N, phi_N, curv_N = f0.nu[0, -1], f0.phi[0, -1], f0.curv[0, -1]
    xs = win["x"][0, -1][win["m"][0, -1]]
    hp, curve = point.d.hp[-1], point.curves[0, -1]
    fin = np.isfinite(hp) & np.isfinite(curve)

    def phi_at(nu):
        nu = np.asarray(nu, dtype=np.float64)
        inside = (nu >= xs.min()) & (nu <= xs.max())
        interp = np.interp(nu, hp[fin], curve[fin], left=np.nan, right=np.nan)
        return np.where(inside, phi_N + 0.5 * curv_N * (nu - nu_N) ** 2, interp)

    return finite_transfer_suboptimality(phi_at, nu_m, phi_N)


def _per_width(point: _Point, iv: _Intervals) -> pd.DataFrame:
    """a_n, b_n, c_n by the framework's definitions; c_n (model) with the limit loss
    ``curvature_N/2 (nu - nu_inf)^2`` above its minimum; c_measured beside it."""
    d, f0 = point.d, point.fits
    nu0, phi0, curv0 = f0.nu[0], f0.phi[0], f0.curv[0]
    nu_inf, curv_ref = f0.nu_inf[0], curv0[-1]
    return pd.DataFrame(
        {
            "width": d.widths,
            "nu_star": nu0,
            "nu_star_se": iv.nu_se,
            "phi_star": phi0,
            "phi_star_se": iv.phi_se,
            "a": loss_gap(phi0, f0.phi_inf[0]),
            "b": hp_gap(nu0, nu_inf),
            "c": transfer_suboptimality(lambda nu: 0.5 * curv_ref * (nu - nu_inf) ** 2, nu0, 0.0),
            "c_measured": _measured_transfer(point),
            "curvature": curv0,
            "runs": d.runs,
            "diverged": d.diverged_runs,
            "excluded_cells": d.excluded_cells,
            "fit_lo": np.nanmin(np.where(point.win["m"][0], point.win["x"][0], np.nan), axis=-1),
            "fit_hi": np.nanmax(np.where(point.win["m"][0], point.win["x"][0], np.nan), axis=-1),
        }
    )


def _check_arguments(reference: str, bootstrap: int, window: int, margin: float) -> tuple[int, int]:
    if reference not in ("extrapolate", "largest"):
        raise InputError(
            f"reference must be 'largest' or 'extrapolate' (got {reference!r})", param="reference"
        )
    if int(bootstrap) < 0:
        raise InputError(f"bootstrap must be >= 0 (got {bootstrap})", param="bootstrap")
    if int(window) < MIN_HP:
        raise InputError(f"window must be at least {MIN_HP} (got {window})", param="window")
    if not (np.isfinite(margin) and margin >= 0):
        raise InputError(f"margin must be a finite number >= 0 (got {margin})", param="margin")
    return int(bootstrap), int(window)


def analyze_sweep(
    df: pd.DataFrame,
    *,
    reference: str = "extrapolate",
    bootstrap: int = 1000,
    seed: int = 0,
    window: int = DEFAULT_WINDOW,
    margin: float = DEFAULT_MARGIN,
    skip_bad_widths: bool = False,
    independent_cells: bool = False,
    divergence: DivergenceRule | None = None,
) -> SweepAnalysis:
    """alpha, beta, beta - alpha/2 with 95% intervals, the drift slope, the per-width
    table and the verdict with its reasons for a sweep (columns
    ``width, hp, loss[, seed][, init_loss]``; see
    :func:`fasttransfer.theory.sweep_data.read_sweep`).

    ``reference``: ``"extrapolate"`` fits ``nu_star(n) = nu_inf + B n^-beta`` jointly;
    ``"largest"`` uses ``b_n = |nu_star(n) - nu_star(n_max)|`` on the widths below
    n_max. ``bootstrap``: resamples (over whole seeds with >= 2 seeds per width, else
    over quadratic-fit residuals); 0 gives point estimates without intervals (and an
    ``inconclusive`` verdict saying so). ``window``: grid points in each quadratic fit
    (>= 5). ``margin``: the equivalence margin of ``weak``. ``skip_bad_widths``: drop
    the widths that cannot be fitted (each named in a warning) instead of raising.
    ``independent_cells``: the user asserts that one-seed cells are independent (no
    common random numbers), which allows a verdict from one seed. ``divergence``: the
    :class:`DivergenceRule` (default: DivergenceRule()). No numpy or scipy warning
    escapes."""
    bootstrap, window = _check_arguments(reference, bootstrap, window, margin)
    rule = DivergenceRule() if divergence is None else divergence
    with np.errstate(all="ignore"), _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        return _analyze(
            validate_sweep(df, check_widths=False),
            reference,
            bootstrap,
            seed,
            window,
            float(margin),
            bool(skip_bad_widths),
            bool(independent_cells),
            rule,
        )


def _resample(point: _Point, bootstrap: int, seed: int, window: int, warnings: list):
    """Step 5: (resamples or None, intervals)."""
    d, f0 = point.d, point.fits
    if bootstrap == 0:
        return None, _no_intervals(f0, d.widths, point.law.reference)
    rng = np.random.default_rng(seed)
    rs = (
        _seed_bootstrap(d, rng, bootstrap, window)
        if int(d.n_seeds.min()) >= 2
        else _residual_bootstrap(point.win, rng, bootstrap)
    )
    iv = _intervals(f0, d, rs, point.law)
    for j, w in enumerate(d.widths):
        if iv.edge_frac[j] > 0.01:
            warnings.append(
                f"width {fmt_value(w)}: the optimum hit the grid edge in "
                f"{100 * iv.edge_frac[j]:.0f}% of bootstrap resamples"
            )
    return rs, iv


@dataclass(frozen=True)
class _Trends:
    """The drift slope, the loss trend, the drift model's comparison and the window check."""

    slope: Estimate
    loss_slope: Estimate
    drift: DriftComparison | None
    win: _WindowCheck


def _trends(point: _Point, rs: _Resamples | None, iv: _Intervals, window: int) -> _Trends:
    d, f0, fb = point.d, point.fits, iv.fb
    factor = rs.factor if rs is not None else np.nan
    return _Trends(
        slope=_trend(d.widths, f0.nu[0], None if fb is None else fb.nu, factor),
        loss_slope=_trend(d.widths, f0.phi[0], None if fb is None else fb.phi, factor),
        drift=_drift(d.widths, f0.nu[0], iv.nu_se),
        win=_window_sensitivity(point, window, rs, fb),
    )


def _evidence(
    point: _Point, iv: _Intervals, tr: _Trends, margin: float, bootstrap: int, independent: bool
) -> Evidence:
    """Step 6's input: everything the verdict rests on."""
    e, nu0 = iv.estimates, point.fits.nu[0]
    dd = e["beta_minus_half_alpha"]
    return Evidence(
        d=dd.ci,
        beta=e["beta"].ci,
        margin=margin,
        drift="untested" if tr.drift is None else tr.drift.preferred,
        slope=tr.slope.ci,
        slope_estimate=tr.slope.estimate,
        loss_gap_resolved=bool(e["loss_gap_n0"].ci[0] > 0 and tr.loss_slope.ci[1] < 0),
        hp_drift_resolved=_resolved(e["hp_gap_n0"]),
        flat=_no_drift_measured(nu0, iv.nu_se) or "",
        blockers=tuple(_blockers(iv, bootstrap, int(point.d.n_seeds.min()), independent)),
        doubts=tuple(_doubts(point, iv, tr.win, iv.nu_se)),
        below_causes=tuple(_below_causes(point, tr.win, (dd.ci[1] - dd.ci[0]) / 2)),
    )


def _analyze(
    df, reference, bootstrap, seed, window, margin, skip, independent, rule
) -> SweepAnalysis:
    warnings: list[str] = []
    full = densify(df, rule)
    point = _point_estimate(full, window, reference, skip, warnings)
    rs, iv = _resample(point, bootstrap, seed, window, warnings)
    tr = _trends(point, rs, iv, window)
    verdict, reasons = transfer_verdict(_evidence(point, iv, tr, margin, bootstrap, independent))
    d, f0, e = point.d, point.fits, iv.estimates
    return SweepAnalysis(
        alpha=e["alpha"],
        beta=e["beta"],
        beta_minus_half_alpha=e["beta_minus_half_alpha"],
        verdict=verdict,
        per_width=_per_width(point, iv),
        diverged=full.diverged,
        reference=reference,
        phi_inf=e["phi_inf"],
        A=e["A"],
        nu_inf=e["nu_inf"],
        B=e["B"],
        n_seeds=int(d.n_seeds.min()),
        bootstrap=bootstrap,
        bootstrap_kind="none" if rs is None else rs.kind,
        interval_method="none (bootstrap = 0): point estimates only" if rs is None else rs.method,
        window=int(min(window, d.n_hp.min())),
        loss_residuals="log" if point.law.log_res else "linear",
        warnings=tuple(warnings),
        failed_resamples=iv.failed,
        window_sensitivity=tr.win.fits,
        reasons=tuple(reasons),
        hp_drift=tr.slope,
        loss_slope=tr.loss_slope,
        drift=tr.drift,
        margin=margin,
        at_bound=iv.at_bound,
        dropped=point.dropped,
        divergence_rule=d.rule,
        independent_cells=independent,
        phi_inf_bounds=(point.law.floor, float(np.nanmin(f0.phi[0]))),
        diverged_cells=tuple(full.diverged_cells()),
    )


def _resolved(est: Estimate) -> bool:
    lo, hi = est.ci
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))

"""The small fits every estimator of the package shares (one implementation each).

* :func:`quadratic_vertex` -- weighted least-squares parabola per curve, batched over
  leading axes: the vertex ``x* = argmin``, the value ``y(x*)``, the curvature
  ``y'' = 2 c2`` and their standard errors (delta method on the coefficient covariance).
* :func:`line_fit` / :func:`loglog_slope` -- weighted least-squares line
  ``y = intercept + slope x`` (on ``log y`` against ``log x`` for the second) with a
  Student-t interval for the slope, batched over leading axes.
* :func:`drift_vs_power_law` -- the no-convergence model ``y = c + s ln n`` against the
  offset power law (which nests it as p -> 0): a likelihood-ratio test.
* :func:`fit_offset_power_law` (:func:`profile_power_law` batched) -- the robust fit of
  ``y(n) = c + A n^-e``: Huber loss on log residuals ``log(c + A n^-e) - log y`` (plain
  residuals when some y <= 0), the exponent found by a global profile search: for each
  e on a grid the inner problem in ``(c, A)`` is weighted linear least squares plus a
  few Huber/Gauss-Newton iterations (a profile over e is a multi-start that cannot miss
  the global basin), then the grid is zoomed around the best e.

Pure numpy (scipy for the t quantile); float64 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError

HUBER_K = 1.345  # Huber's 95%-efficiency constant, in units of the residual scale
EXPONENT_RANGE = (0.02, 3.0)  # default search range of the power-law exponent


def t_quantile(df, level: float = 0.95):
    """The two-sided Student-t quantile ``t_{df, (1 + level)/2}`` (NaN where df < 1);
    df any shape."""
    from scipy.stats import t

    df = np.asarray(df, dtype=np.float64)
    q = t.ppf(1.0 - (1.0 - level) / 2.0, np.where(df >= 1, df, 1.0))
    return np.where(df >= 1, q, np.nan)


# ----------------------------------------------------------------- quadratic vertex
@dataclass(frozen=True)
class VertexFit:
    """The result of :func:`quadratic_vertex`; every field has the curves' batch shape
    (...,). ``vertex``, ``value`` (and their standard errors) are NaN unless ``ok`` (>= 3
    points and a convex fit, c2 > 0); ``curvature`` is the fitted second derivative of
    any sign (NaN with < 3 points); the standard errors are NaN with fewer than 4 points
    (no residual degree of freedom)."""

    vertex: np.ndarray
    value: np.ndarray
    curvature: np.ndarray
    vertex_se: np.ndarray
    value_se: np.ndarray
    curvature_se: np.ndarray
    ok: np.ndarray
    n_points: np.ndarray


def quadratic_vertex(x, y, mask=None, weights=None) -> VertexFit:
    """Weighted least-squares ``y ~ c0 + c1 u + c2 u^2`` per curve, ``u = (x - xbar)/s``
    (centred and scaled per curve so the normal equations stay well conditioned).

    x, y: (..., K), broadcast against each other; mask: (..., K) bool, the points that
    take part (default: all; non-finite x or y never do); weights: (..., K) relative
    weights (default 1). The curve's minimum is at ``x* = xbar - s c1/(2 c2)`` with value
    ``c0 - c1^2/(4 c2)`` and curvature ``y'' = 2 c2/s^2``; exact on a parabola. Standard
    errors: coefficient covariance ``sigma^2 (U'WU)^-1`` with ``sigma^2 = sum w r^2 /
    (k - 3)`` (k points), propagated by the delta method (the value's gradient is
    ``(1, u*, u*^2)``, the vertex's ``-(0, 1, 2 u*)/(2 c2)``). Returns a
    :class:`VertexFit` of shape (...,)."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    m = np.isfinite(x) & np.isfinite(y)
    if mask is not None:
        m = m & np.asarray(mask, dtype=bool)
    w = m.astype(np.float64)
    if weights is not None:
        w = np.where(m, np.asarray(weights, dtype=np.float64), 0.0)
    x = np.where(np.isfinite(x), x, 0.0)
    y = np.where(m, y, 0.0)
    npts = m.sum(-1)
    nw = np.maximum(w.sum(-1), 1) if weights is not None else np.maximum(npts, 1)
    xc = (w * x).sum(-1) / nw
    span = np.sqrt((w * (x - xc[..., None]) ** 2).sum(-1) / nw)
    span = np.where(span > 0, span, 1.0)
    u = (x - xc[..., None]) / span[..., None]
    U = np.stack([np.ones_like(u), u, u * u], axis=-1)  # (..., K, 3)
    G = np.einsum("...k,...ki,...kj->...ij", w, U, U)
    rhs = np.einsum("...k,...ki,...k->...i", w, U, y)
    enough = npts >= 3
    G = np.where(enough[..., None, None], G, np.eye(3))
    coef = np.linalg.solve(G, rhs[..., None])[..., 0]
    c0, c1, c2 = coef[..., 0], coef[..., 1], coef[..., 2]
    ok = enough & (c2 > 0)
    c2s = np.where(ok, c2, 1.0)
    u_star = -c1 / (2 * c2s)
    vertex = np.where(ok, xc + span * u_star, np.nan)
    value = np.where(ok, c0 - c1 * c1 / (4 * c2s), np.nan)
    curvature = np.where(enough, 2 * c2 / span**2, np.nan)

    # standard errors: the residual scale on k - 3 degrees of freedom
    dof = npts - 3
    resid = np.where(m, y - np.einsum("...ki,...i->...k", U, coef), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.where(dof > 0, (w * resid**2).sum(-1) / np.maximum(dof, 1), np.nan)
        cov = sigma2[..., None, None] * np.linalg.inv(G)
        g_val = np.stack([np.ones_like(u_star), u_star, u_star**2], axis=-1)
        g_vtx = np.stack([np.zeros_like(u_star), np.ones_like(u_star), 2 * u_star], axis=-1)
        quad = lambda g: np.einsum("...i,...ij,...j->...", g, cov, g)
        value_se = np.where(ok, np.sqrt(np.maximum(quad(g_val), 0.0)), np.nan)
        vertex_se = np.where(
            ok, span * np.sqrt(np.maximum(quad(g_vtx), 0.0)) / (2 * np.abs(c2s)), np.nan
        )
        curvature_se = np.where(
            enough, 2 * np.sqrt(np.maximum(cov[..., 2, 2], 0.0)) / span**2, np.nan
        )
    return VertexFit(
        vertex=vertex,
        value=value,
        curvature=curvature,
        vertex_se=vertex_se,
        value_se=value_se,
        curvature_se=curvature_se,
        ok=ok,
        n_points=npts,
    )


# ------------------------------------------------------------------------ line fits
@dataclass(frozen=True)
class LineFit:
    """The result of :func:`line_fit`; every field has the batch shape (...,).
    ``lo, hi``: the ``level`` Student-t interval of the slope on ``df = k - 2`` degrees
    of freedom (NaN where df < 1)."""

    slope: np.ndarray
    intercept: np.ndarray
    se: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    df: np.ndarray
    level: float

    @property
    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lo, self.hi


def _wls2(w: np.ndarray, X: np.ndarray, y: np.ndarray):
    """Weighted LS of y ~ c + A X over the last axis (closed form, batched)."""
    Sw = w.sum(-1)
    Sx = (w * X).sum(-1)
    Sxx = (w * X * X).sum(-1)
    Sy = (w * y).sum(-1)
    Sxy = (w * X * y).sum(-1)
    det = Sw * Sxx - Sx * Sx
    good = det > 1e-12 * np.maximum(Sw * Sxx, 1e-300)
    det = np.where(good, det, 1.0)
    A = (Sw * Sxy - Sx * Sy) / det
    c = (Sy - A * Sx) / np.where(Sw > 0, Sw, 1.0)
    return np.where(good, c, np.nan), np.where(good, A, np.nan)


def line_fit(
    x, y, *, weights=None, mask=None, level: float = 0.95, errors: str = "scatter"
) -> LineFit:
    """Weighted least squares ``y = intercept + slope x`` over the last axis.

    x, y: (..., K), broadcast; mask: (..., K) bool (non-finite points never take part);
    weights: (..., K), default 1. ``errors="scatter"``: the weights are relative and the
    slope's variance is ``s^2 / S_xx`` with ``s^2 = sum w r^2/(k - 2)`` and ``S_xx =
    sum w (x - xbar_w)^2`` (unit weights: ordinary least squares, ``scipy.stats.
    linregress``'s stderr). ``errors="inverse_variance"``: the weights are ``1/sigma_i^2``
    and the variance is ``max(1, s^2) / S_xx`` -- the model's, or the residual scatter's
    when the points scatter more than their errors say (over-dispersion). Returns a
    :class:`LineFit` of shape (...,)."""
    if errors not in ("scatter", "inverse_variance"):
        raise InputError(
            f"errors must be 'scatter' or 'inverse_variance' (got {errors!r})", param="errors"
        )
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    m = np.isfinite(x) & np.isfinite(y)
    if mask is not None:
        m = m & np.asarray(mask, dtype=bool)
    w = (
        m.astype(np.float64)
        if weights is None
        else np.where(m, np.asarray(weights, dtype=np.float64), 0.0)
    )
    x = np.where(m, x, 0.0)
    y = np.where(m, y, 0.0)
    c, A = _wls2(w, x, y)
    k = m.sum(-1)
    df = k - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(m, y - c[..., None] - A[..., None] * x, 0.0)
        s2 = (w * r * r).sum(-1) / np.where(df > 0, df, 1)
        Sw = w.sum(-1)
        xbar = (w * x).sum(-1) / np.where(Sw > 0, Sw, 1.0)
        Sxx = (w * (x - xbar[..., None]) ** 2).sum(-1)
        scale = s2 if errors == "scatter" else np.maximum(1.0, s2)
        se = np.where((df > 0) & (Sxx > 0), np.sqrt(scale / Sxx), np.nan)
    se = np.where(np.isfinite(A), se, np.nan)
    half = t_quantile(df, level) * se
    return LineFit(slope=A, intercept=c, se=se, lo=A - half, hi=A + half, df=df, level=level)


def loglog_slope(
    x, y, *, weights=None, mask=None, level: float = 0.95, errors: str = "scatter"
) -> LineFit:
    """:func:`line_fit` of ``log y`` on ``log x``: ``y ~ exp(intercept) x^slope``.
    Points with x <= 0 or y <= 0 (log undefined) are left out; shapes as there."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    pos = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if mask is not None:
        pos = pos & np.asarray(mask, dtype=bool)
    lx = np.log(np.where(pos, x, 1.0))
    ly = np.log(np.where(pos, y, 1.0))
    return line_fit(lx, ly, weights=weights, mask=pos, level=level, errors=errors)


# ------------------------------------------------------------- offset power law
def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def _amplitude_given_offset(w: np.ndarray, X: np.ndarray, y: np.ndarray, c: np.ndarray):
    """Weighted LS amplitude of ``y - c ~ A X`` over the last axis, c fixed."""
    den = (w * X * X).sum(-1)
    return (w * X * (y - c[..., None])).sum(-1) / np.where(den > 0, den, 1.0)


def _inner_fit(
    lognx: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    expo: np.ndarray,
    log_res: bool,
    delta: float,
    iters: int = 3,
    weights=None,
    bounds=None,
):
    """For exponents ``expo`` (R, G): best (offset, amplitude) and the Huber objective of
    ``y ~ offset + amp * n^-expo``. lognx = log n (W,); y, mask (R, W); weights (R, W)
    or None (relative weights of the residuals); bounds = (lo, hi) of the offset, each
    (R,): an offset that leaves them is put on the bound and the amplitude refitted
    (the constrained optimum of a convex problem in (offset, amp) lies on the bound)."""
    X = np.exp(-expo[..., None] * lognx)  # (R, G, W)
    yy = y[:, None, :]
    mm = mask[:, None, :].astype(np.float64)
    if weights is not None:
        mm = mm * np.where(mask, weights, 0.0)[:, None, :]
    ys = np.where(mask, y, 1.0)[:, None, :]
    yz = np.where(mask[:, None, :], yy, 0.0)
    if log_res:
        w0 = mm / ys**2  # linearised log residual (m - y)/y
    else:
        w0 = mm * np.ones_like(X)
    lo, hi = (None, None) if bounds is None else (bounds[0][:, None], bounds[1][:, None])

    def bounded(c, A, w):
        if lo is None:
            return c, A
        out = (c < lo) | (c > hi)
        cb = np.clip(c, lo, hi)
        return np.where(out, cb, c), np.where(out, _amplitude_given_offset(w, X, yz, cb), A)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c, A = _wls2(w0 * np.ones_like(X), X, yz)
        c, A = bounded(c, A, w0 * np.ones_like(X))
        for _ in range(iters):
            mdl = c[..., None] + A[..., None] * X
            if log_res:
                valid = mdl > 0
                r = np.where(valid, np.log(np.where(valid, mdl, 1.0)) - np.log(ys), 0.0)
                hw = mm * np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
                # Gauss-Newton on log residuals: J = (1, X)/mdl
                inv = np.where(valid, 1.0 / np.where(valid, mdl, 1.0), 0.0)
                q = hw * inv * inv
                qX = q * X
                hr = hw * inv * r
                a11, a12, a22 = q.sum(-1), qX.sum(-1), (qX * X).sum(-1)
                g1, g2 = hr.sum(-1), (hr * X).sum(-1)
                det = a11 * a22 - a12 * a12
                okd = det > 1e-14 * np.maximum(a11 * a22, 1e-300)
                det = np.where(okd, det, 1.0)
                dc = -(a22 * g1 - a12 * g2) / det
                dA = -(a11 * g2 - a12 * g1) / det
                c_new, A_new = c + np.where(okd, dc, 0.0), A + np.where(okd, dA, 0.0)
                if lo is not None:
                    # on a bound: the offset stays there, one Gauss-Newton step in A alone
                    out = (c_new < lo) | (c_new > hi)
                    c_new = np.where(out, np.clip(c_new, lo, hi), c_new)
                    dA1 = -g2 / np.where(a22 > 0, a22, 1.0)
                    A_new = np.where(out, A + dA1, A_new)
                still = ((c_new[..., None] + A_new[..., None] * X) > 0).all(-1) | (mm == 0).all(-1)
                c = np.where(still, c_new, c)
                A = np.where(still, A_new, A)
            else:
                r = mdl - yy
                hw = mm * np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))
                c, A = bounded(*_wls2(hw, X, yz), hw)
        mdl = c[..., None] + A[..., None] * X
        if log_res:
            valid = (mdl > 0) | (mm == 0)
            r = np.where(mm > 0, np.log(np.where(mdl > 0, mdl, 1.0)) - np.log(ys), 0.0)
            obj = np.where(valid.all(-1), (_huber(r, delta) * mm).sum(-1), np.inf)
        else:
            r = np.where(mm > 0, mdl - yy, 0.0)
            obj = (_huber(r, delta) * mm).sum(-1)
    obj = np.where(np.isfinite(obj) & np.isfinite(c) & np.isfinite(A), obj, np.inf)
    return c, A, obj


def profile_power_law(
    n: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    lo: float,
    hi: float,
    *,
    log_res: bool,
    delta: float,
    n_grid: int = 61,
    rounds: int = 5,
    zoom: int = 9,
    weights=None,
    offset_bounds=None,
):
    """Vectorised robust fit of ``y ~ offset + amp * n^-p`` for every row of y (R, W);
    n (W,), mask (R, W) bool; weights (R, W) or (W,): relative weights of the residuals
    (default 1); offset_bounds = (lo, hi), scalars or (R,): the offset is confined to
    [lo, hi] (e.g. a loss floor that cannot be negative nor above the best loss seen).

    Global search: the profile objective over p on a grid of ``n_grid`` points in
    [lo, hi] (the inner (offset, amp) problem is solved for each p), then ``rounds``
    zooms of ``zoom`` points around the incumbent, then one parabolic-interpolation step
    (the profile is smooth near its minimum, so this lands within ~step^3 of it).
    Returns offset, amp, p, objective (R,) and at_bound (R,): p on the search boundary."""
    lognx = np.log(n)
    R = y.shape[0]
    if weights is not None:
        weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), y.shape)
    if offset_bounds is not None:
        offset_bounds = tuple(
            np.broadcast_to(np.asarray(b, dtype=np.float64), (R,)) for b in offset_bounds
        )
    fit_kw = dict(weights=weights, bounds=offset_bounds)
    grid = np.linspace(lo, hi, n_grid)
    # exponent 0 makes n^-p collinear with the offset: never evaluate it
    grid = grid[np.abs(grid) > 1e-3 * (hi - lo)]
    step = (hi - lo) / (n_grid - 1)
    expo = np.broadcast_to(grid, (R, grid.size))
    # the coarse grid only has to find the basin: one Huber/Gauss-Newton step
    c, A, obj = _inner_fit(lognx, y, mask, expo, log_res, delta, iters=1, **fit_kw)
    rows = np.arange(R)[:, None]

    def incumbent(expo, c, A, obj):
        b = np.argmin(obj, axis=1)[:, None]
        return (expo[rows, b], c[rows, b], A[rows, b], obj[rows, b])

    best = incumbent(expo, c, A, obj)
    offsets = np.linspace(-step, step, zoom)
    for _ in range(rounds):
        expo_new = np.clip(best[0] + offsets[None, :], lo, hi)
        expo_new = np.where(np.abs(expo_new) < 1e-6, 1e-6, expo_new)
        res = _inner_fit(lognx, y, mask, expo_new, log_res, delta, **fit_kw)
        # the incumbent stays a candidate: a zoom never loses the best point so far
        expo, c, A, obj = (
            np.concatenate([b, r], 1) for b, r in zip(best, (expo_new, *res), strict=False)
        )
        best = incumbent(expo, c, A, obj)
        step = step / ((zoom - 1) // 2)
        offsets = np.linspace(-step, step, zoom)
    # parabolic step through (p - h, p, p + h), h = the last zoom spacing
    h = step * ((zoom - 1) // 2) * 2 / (zoom - 1) if rounds else step
    p3 = np.clip(best[0] + np.array([-h, 0.0, h])[None, :], lo, hi)
    _, _, o3 = _inner_fit(lognx, y, mask, p3, log_res, delta, **fit_kw)
    curv = o3[:, 0] - 2 * o3[:, 1] + o3[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(
            curv > 0, 0.5 * h * (o3[:, 0] - o3[:, 2]) / np.where(curv > 0, curv, 1.0), 0.0
        )
    shift = np.where(np.isfinite(shift), np.clip(shift, -h, h), 0.0)
    p_par = np.clip(best[0] + shift[:, None], lo, hi)
    res = _inner_fit(lognx, y, mask, p_par, log_res, delta, **fit_kw)
    expo, c, A, obj = (np.concatenate([b, r], 1) for b, r in zip(best, (p_par, *res), strict=False))
    p, c, A, o = (a[:, 0] for a in incumbent(expo, c, A, obj))
    failed = ~np.isfinite(o)
    tol = 2 * h + 1e-9
    at_bound = ((np.abs(p - lo) < tol) | (np.abs(p - hi) < tol)) & ~failed
    nanify = lambda a: np.where(failed, np.nan, a)
    return nanify(c), nanify(A), nanify(p), o, at_bound


def huber_threshold(n, y, mask, lo, hi, log_res, offset_bounds=None) -> float:
    """Huber threshold: HUBER_K x the residual scale of a least-squares fit (dof W-3) of
    row 0 of y, so that well-behaved points are fitted by least squares and only
    outliers are down-weighted; floored so exact data stay well posed."""
    _c, _A, _p, obj, _ = profile_power_law(
        n, y, mask, lo, hi, log_res=log_res, delta=np.inf, offset_bounds=offset_bounds
    )
    dof = max(int(mask.sum()) - 3, 1)
    # with delta = inf the Huber objective is 0.5 * RSS
    sigma = float(np.sqrt(2 * obj[0] / dof)) if np.isfinite(obj[0]) else 0.0
    scale = 1.0 if log_res else float(np.nanmax(np.abs(y[mask])) + 1e-300)
    return max(HUBER_K * sigma, 1e-6 * scale)


def use_log_residuals(y, residuals: str = "auto") -> bool:
    """``residuals``: "log", "linear", or "auto" (log when every finite y > 0)."""
    if residuals == "log":
        return True
    if residuals == "linear":
        return False
    return bool(np.all(np.asarray(y)[np.isfinite(y)] > 0))


def fit_offset_power_law(
    n,
    y,
    *,
    delta: float | None = None,
    exponent_range=EXPONENT_RANGE,
    residuals: str = "auto",
    offset_bounds=None,
):
    """Robust fit of ``y(n) = y_inf + A n^-p``: returns ``(y_inf, A, p)``.

    n, y: (W,), W >= 3. ``residuals="log"`` uses Huber loss on ``log(model) - log(y)``
    (needs y > 0), ``"linear"`` on ``model - y``; ``"auto"`` picks log when every y > 0.
    ``delta`` is the Huber threshold (None: 1.345 x the least-squares residual scale).
    ``offset_bounds = (lo, hi)`` confines y_inf (None: free).
    The global search profiles p over ``exponent_range`` (see the module docstring)."""
    n = np.asarray(n, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if n.shape != y.shape or n.size < 3:
        raise InputError(
            f"fit_offset_power_law: need >= 3 matching (n, y) points, got {n.size}, {y.size}"
        )
    if (n <= 0).any():
        raise InputError("fit_offset_power_law: widths must be > 0")
    if residuals not in ("auto", "log", "linear"):
        raise InputError(
            f"residuals must be 'auto', 'log' or 'linear' (got {residuals!r})", param="residuals"
        )
    mask = np.isfinite(y)[None, :]
    log_res = use_log_residuals(y, residuals)
    yy = y[None, :]
    lo, hi = exponent_range
    if delta is None:
        delta = huber_threshold(n, yy, mask, lo, hi, log_res, offset_bounds)
    c, A, p, _, _ = profile_power_law(
        n, yy, mask, lo, hi, log_res=log_res, delta=delta, offset_bounds=offset_bounds
    )
    return float(c[0]), float(A[0]), float(p[0])


# ------------------------------------------------ drift versus convergence
@dataclass(frozen=True)
class DriftComparison:
    """The result of :func:`drift_vs_power_law`. ``slope``: s of the drift model
    ``y = c + s ln n`` (weighted LS); ``chi2_drift``, ``chi2_power``: weighted residual
    sums of squares of the two models; ``dispersion``: the over-dispersion factor
    ``max(1, chi2_power/(W - 3))`` (1 when W = 3); ``statistic``: ``(chi2_drift -
    chi2_power)/dispersion``; ``p_value``: P(chi2_1 > statistic); ``preferred``:
    "power law" (p < level), "drift" (statistic < 2: the extra parameter of the power law
    does not pay for itself by AIC) or "indistinguishable"."""

    slope: float
    intercept: float
    chi2_drift: float
    chi2_power: float
    power_exponent: float
    dispersion: float
    statistic: float
    p_value: float
    preferred: str


def drift_vs_power_law(
    n, y, se, *, exponent_range=(-1.0, 4.0), level: float = 0.05
) -> DriftComparison:
    """Does ``y(n)`` converge (``y = y_inf + B n^-p``) or drift forever (``y = c + s ln n``)?

    n, y, se: (W,), W >= 3; se the standard errors of y (weights 1/se^2). The drift model
    is the p -> 0 limit of the power law (``y_inf + B n^-p`` with ``B = -s/p``,
    ``y_inf = c + s/p``), so the power law nests it with one extra parameter and the
    comparison is a likelihood-ratio test: Gaussian errors with variances
    ``dispersion x se^2``, statistic ``(chi2_drift - chi2_power)/dispersion`` against
    chi2 with 1 degree of freedom (a quasi-likelihood test: when the points scatter
    more about the power law than their errors say, the dispersion estimated from its
    W - 3 residual degrees of freedom widens it). Both fits are least squares (no Huber)."""
    n = np.asarray(n, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    se = np.asarray(se, dtype=np.float64).reshape(-1)
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0) & (n > 0)
    if ok.sum() < 3:
        raise InputError(
            f"drift_vs_power_law: need >= 3 points with a finite y and se > 0, got {int(ok.sum())}"
        )
    n, y, w = n[ok], y[ok], 1.0 / se[ok] ** 2
    line = line_fit(np.log(n), y, weights=w)
    chi2_d = float(np.sum(w * (y - line.intercept - line.slope * np.log(n)) ** 2))
    _, _, p, obj, _ = profile_power_law(
        n,
        y[None],
        np.ones((1, n.size), dtype=bool),
        *exponent_range,
        log_res=False,
        delta=np.inf,
        weights=w,
    )
    # the drift model is the power law's p -> 0 limit, which the search (|p| >= 1e-6)
    # only approaches: the closure of the power law fits at least as well as the line
    chi2_p = min(float(2 * obj[0]), chi2_d) if np.isfinite(obj[0]) else chi2_d
    W = n.size
    disp = max(1.0, chi2_p / (W - 3)) if W > 3 else 1.0
    stat = max(chi2_d - chi2_p, 0.0) / disp
    from scipy.stats import chi2

    pval = float(chi2.sf(stat, 1))
    preferred = "power law" if pval < level else ("drift" if stat < 2.0 else "indistinguishable")
    return DriftComparison(
        slope=float(line.slope),
        intercept=float(line.intercept),
        chi2_drift=chi2_d,
        chi2_power=chi2_p,
        power_exponent=float(p[0]),
        dispersion=disp,
        statistic=stat,
        p_value=pval,
        preferred=preferred,
    )


def richardson_limit(x, y) -> float:
    """The first-order Richardson extrapolation to x -> inf of y(x) = L + C/x + O(x^-2)
    from its last two points, which must be an octave apart (x_2 = 2 x_1):
    L = 2 y(x_2) - y(x_1), with a remainder O(x^-2). x, y: (m,) sorted by x, m >= 2."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise InputError("richardson_limit needs two 1-D arrays of the same length >= 2")
    if not np.isclose(x[-1], 2.0 * x[-2], rtol=1e-12):
        raise InputError(
            f"richardson_limit: the last two x must be an octave apart, got {x[-2]:g} and {x[-1]:g}"
        )
    return float(2.0 * y[-1] - y[-2])

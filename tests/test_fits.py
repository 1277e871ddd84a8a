"""theory.fits against closed-form tables, plus invariance properties.

Tolerances: exact data are recovered up to float64 rounding of a 3x3 (or 2x2) least-
squares solve on O(1) numbers, so 1e-12 (absolute, on O(1) quantities); the offset power
law is limited by its profile search (zoom + parabolic step, ~1e-7 in the exponent).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fasttransfer.errors import InputError
from fasttransfer.theory.fits import (
    drift_vs_power_law,
    fit_offset_power_law,
    line_fit,
    loglog_slope,
    profile_power_law,
    quadratic_vertex,
    t_quantile,
)

ESTIMATORS = settings.get_profile("estimators")

EPS = 1e-3
X5 = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
R4 = np.array([1.0, -4.0, 6.0, -4.0, 1.0])  # 4th difference: orthogonal to 1, x, x^2 on X5

# --------------------------------------------------------------- closed-form tables
# y on X5 -> vertex, value, curvature, vertex_se, value_se, curvature_se.
# With residuals EPS * R4 the coefficients are those of the parabola, RSS = 70 EPS^2 on
# 2 dof (s^2 = 35 EPS^2) and cov = s^2 (X'X)^-1 with (X'X)^-1 = [[34, 0, -10], [0, 7, 0],
# [-10, 0, 5]]/70: var c0 = 17, var c1 = 3.5, var c2 = 2.5, cov(c0, c2) = -5 (x EPS^2).
# Vertex gradient -(0, 1, 2x*)/(2 c2), value gradient (1, x*, x*^2).
VERTEX_TABLE = [
    # y,                               x*,  y*,  y'', se(x*),              se(y*),             se(y'')
    (X5**2, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0),
    (3 + 0.5 * (X5 - 0.7) ** 2, 0.7, 3.0, 1.0, 0.0, 0.0, 0.0),
    (
        X5**2 + EPS * R4,
        0.0,
        0.0,
        2.0,
        math.sqrt(0.875) * EPS,
        math.sqrt(17) * EPS,
        math.sqrt(10) * EPS,
    ),
    # (x - 1)^2: se(x*)^2 = (3.5 + 4 x 2.5)/4, se(y*)^2 = 17 + 3.5 + 2.5 - 2 x 5 = 13
    (
        (X5 - 1) ** 2 + EPS * R4,
        1.0,
        0.0,
        2.0,
        math.sqrt(3.375) * EPS,
        math.sqrt(13) * EPS,
        math.sqrt(10) * EPS,
    ),
]


@pytest.mark.parametrize("y, xs, ys, curv, se_x, se_y, se_c", VERTEX_TABLE)
def test_quadratic_vertex_table(y, xs, ys, curv, se_x, se_y, se_c):
    v = quadratic_vertex(X5, y)
    assert v.ok and v.n_points == 5
    got = [
        float(v.vertex),
        float(v.value),
        float(v.curvature),
        float(v.vertex_se),
        float(v.value_se),
        float(v.curvature_se),
    ]
    assert got == pytest.approx([xs, ys, curv, se_x, se_y, se_c], abs=1e-12)


def test_quadratic_vertex_degenerate_cases():
    # concave: curvature reported with its sign, no minimum
    v = quadratic_vertex(X5, -(X5**2))
    assert not v.ok and float(v.curvature) == pytest.approx(-2.0)
    assert np.isnan(v.vertex) and np.isnan(v.value) and np.isnan(v.vertex_se)
    # 3 points: exact fit, no residual dof -> no standard errors
    v = quadratic_vertex(X5[:3], X5[:3] ** 2 + 1.0)
    assert v.ok and float(v.vertex) == pytest.approx(0.0, abs=1e-12) and np.isnan(v.vertex_se)
    # masked and non-finite points take no part
    y = X5**2 + EPS * R4
    v = quadratic_vertex(np.r_[X5, 9.0, 10.0], np.r_[y, np.nan, 5.0], mask=np.r_[[True] * 6, False])
    assert v.n_points == 5 and float(v.value_se) == pytest.approx(math.sqrt(17) * EPS, abs=1e-12)
    # fewer than 3 points: nothing
    v = quadratic_vertex(X5[:2], X5[:2])
    assert not v.ok and np.isnan(v.curvature)


def test_quadratic_vertex_matches_polyfit_covariance():
    """The coefficient covariance is numpy.polyfit's (scaled by RSS/(K-3))."""
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(-1, 2, 9))
    y = 0.3 + 1.7 * (x - 0.4) ** 2 + 0.05 * rng.standard_normal(9)
    coef, cov = np.polyfit(x, y, 2, cov=True)
    v = quadratic_vertex(x, y)
    assert float(v.curvature) == pytest.approx(2 * coef[0], rel=1e-12)
    assert float(v.curvature_se) == pytest.approx(2 * math.sqrt(cov[0, 0]), rel=1e-9)
    a, b, _c = coef
    xs = -b / (2 * a)
    g = np.array([xs**2, xs, 1.0])  # value gradient in polyfit's (a, b, c) order
    assert float(v.value_se) == pytest.approx(math.sqrt(g @ cov @ g), rel=1e-9)


def test_quadratic_vertex_weights_are_replication():
    """Integer weights = repeated points, for the coefficients."""
    x = np.linspace(-1, 1, 6)
    y = 1 - np.cos(x) + 0.1 * x**3  # convex near 0
    w = np.array([1, 3, 2, 1, 4, 2])
    a = quadratic_vertex(x, y, weights=w)
    b = quadratic_vertex(np.repeat(x, w), np.repeat(y, w))
    for f in ("vertex", "value", "curvature"):
        assert float(getattr(a, f)) == pytest.approx(float(getattr(b, f)), abs=1e-12)


def test_quadratic_vertex_is_batched():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, (4, 3, 7)), axis=-1)
    y = 1 + (x - 0.1) ** 2 + 0.01 * rng.standard_normal(x.shape)
    m = rng.random(x.shape) > 0.15
    v = quadratic_vertex(x, y, m)
    assert v.vertex.shape == v.curvature_se.shape == (4, 3)
    for i in np.ndindex(4, 3):
        one = quadratic_vertex(x[i], y[i], m[i])
        for f in ("vertex", "value", "curvature", "vertex_se", "value_se", "curvature_se"):
            np.testing.assert_allclose(getattr(v, f)[i], getattr(one, f), rtol=1e-12)


@ESTIMATORS
@given(
    shift=st.floats(-50, 50),
    k=st.floats(0.01, 100),
    a=st.floats(-100, 100).filter(lambda a: abs(a) > 1e-3),
    b=st.floats(-100, 100),
    seed=st.integers(0, 2**31),
)
def test_quadratic_vertex_affine_equivariance(shift, k, a, b, seed):
    """x -> k x + shift, y -> a y + b: vertex -> k x* + shift, value -> a y* + b,
    curvature -> a y''/k^2; standard errors scale by k, |a|, |a|/k^2."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, 9)
    y = 2 + 0.8 * (x - 0.2) ** 2 + 0.05 * rng.standard_normal(9)
    base = quadratic_vertex(x, y)
    t = quadratic_vertex(k * x + shift, a * y + b)
    if a < 0:  # the minimum becomes a maximum: only the curvature is defined
        assert not t.ok
        assert float(t.curvature) == pytest.approx(a * float(base.curvature) / k**2, rel=1e-8)
        return
    sc = max(1.0, abs(shift))
    assert float(t.vertex) == pytest.approx(k * float(base.vertex) + shift, rel=1e-9, abs=1e-9 * sc)
    assert float(t.value) == pytest.approx(
        a * float(base.value) + b, rel=1e-9, abs=1e-9 * max(1, abs(b))
    )
    assert float(t.curvature) == pytest.approx(a * float(base.curvature) / k**2, rel=1e-8)
    assert float(t.vertex_se) == pytest.approx(k * float(base.vertex_se), rel=1e-6)
    assert float(t.value_se) == pytest.approx(a * float(base.value_se), rel=1e-6)
    assert float(t.curvature_se) == pytest.approx(a * float(base.curvature_se) / k**2, rel=1e-6)


# ------------------------------------------------------------------------ line fits
def test_t_quantile_closed_forms():
    # df = 1: Cauchy, tan(pi (q - 1/2)); df = 2: (2q - 1)/sqrt(2 q (1 - q)); q = 0.975
    assert float(t_quantile(1)) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-12)
    assert float(t_quantile(2)) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-12)
    assert float(t_quantile(2, level=0.5)) == pytest.approx(
        0.5 / math.sqrt(2 * 0.75 * 0.25), rel=1e-12
    )
    assert float(t_quantile(10**7)) == pytest.approx(1.959963984540054, abs=1e-6)
    assert np.isnan(t_quantile(0))


T2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # t_{2, 0.975}
T1 = math.tan(math.pi * 0.475)  # t_{1, 0.975}
LN2 = math.log(2.0)
# n, y -> slope, intercept, se, df: exact power laws and constructed residual sets
# (residuals orthogonal to 1 and log n, so the coefficients are the law's).
SLOPE_TABLE = [
    (2.0 ** np.arange(4), 3 * (2.0 ** np.arange(4)) ** -0.5, -0.5, math.log(3), 0.0, 2),
    (2.0 ** np.arange(5), 7 * (2.0 ** np.arange(5)) ** 1.25, 1.25, math.log(7), 0.0, 3),
    # residuals EPS (1, -1, -1, 1) in log y at k = 0..3: RSS 4 EPS^2 on 2 dof, S_xx = 5 ln2^2
    (
        2.0 ** np.arange(4),
        5 * (2.0 ** np.arange(4)) ** -0.75 * np.exp(EPS * np.array([1, -1, -1, 1])),
        -0.75,
        math.log(5) + 0.0,
        math.sqrt(2 / 5) * EPS / LN2,
        2,
    ),
    # 3 points, residuals EPS (1, -2, 1): RSS 6 EPS^2 on 1 dof, S_xx = 2 ln2^2
    (
        2.0 ** np.arange(3),
        2 * (2.0 ** np.arange(3)) ** -1.0 * np.exp(EPS * np.array([1, -2, 1])),
        -1.0,
        math.log(2),
        math.sqrt(3) * EPS / LN2,
        1,
    ),
]


@pytest.mark.parametrize("n, y, slope, intercept, se, df", SLOPE_TABLE)
def test_loglog_slope_table(n, y, slope, intercept, se, df):
    f = loglog_slope(n, y)
    assert float(f.slope) == pytest.approx(slope, abs=1e-12)
    assert float(f.intercept) == pytest.approx(intercept, abs=1e-12)
    assert float(f.se) == pytest.approx(se, abs=1e-12) and int(f.df) == df
    half = {1: T1, 2: T2}.get(df, float(t_quantile(df))) * se
    assert (float(f.lo), float(f.hi)) == pytest.approx((slope - half, slope + half), abs=1e-12)


def test_line_fit_inverse_variance_errors():
    """Exact line, sigma_i = (1, 2, 1): the model's se 1/sqrt(S_xx,w), S_xx,w = 2 (the
    middle point sits at xbar); scattered points: the scatter's, when larger."""
    x = np.array([0.0, 1.0, 2.0])
    w = 1 / np.array([1.0, 2.0, 1.0]) ** 2
    f = line_fit(x, 1 + 2 * x, weights=w, errors="inverse_variance")
    assert float(f.slope) == pytest.approx(2.0) and float(f.se) == pytest.approx(1 / math.sqrt(2))
    # residuals r = 10 (1, -8, 1), orthogonal to 1 and x under w: weighted RSS = 100 +
    # 6400/4 + 100 = 1800 on 1 dof > 1, so se = sqrt(1800/2) = 30
    r = 10 * np.array([1.0, -8.0, 1.0])
    f = line_fit(x, 1 + 2 * x + r, weights=w, errors="inverse_variance")
    assert float(f.slope) == pytest.approx(2.0) and float(f.se) == pytest.approx(30.0)
    assert float(line_fit(x, 1 + 2 * x + r, weights=w).se) == pytest.approx(30.0)  # same here
    with pytest.raises(InputError, match="errors"):
        line_fit(x, x, errors="absolute")


def test_line_fit_matches_linregress():
    from scipy import stats

    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 3, 8), rng.standard_normal(8)
    f, ref = line_fit(x, y), stats.linregress(x, y)
    assert float(f.slope) == pytest.approx(ref.slope, rel=1e-12)
    assert float(f.intercept) == pytest.approx(ref.intercept, rel=1e-12)
    assert float(f.se) == pytest.approx(ref.stderr, rel=1e-10)


def test_loglog_slope_drops_nonpositive_and_is_batched():
    n = 2.0 ** np.arange(5)
    y = np.stack([n**-0.5, np.r_[0.0, n[1:] ** -1.0], np.r_[np.nan, -1.0, 0.0, 1.0, 2.0]])
    f = loglog_slope(n, y)
    assert f.slope.shape == (3,)
    assert f.slope[:2] == pytest.approx([-0.5, -1.0], abs=1e-12) and list(f.df) == [3, 2, 0]
    assert float(f.slope[2]) == pytest.approx(1.0, abs=1e-12) and np.isnan(f.se[2])
    one = loglog_slope(n[:1], n[:1])  # one point: no line
    assert np.isnan(one.slope) and np.isnan(one.lo)


@ESTIMATORS
@given(
    c=st.floats(1e-3, 1e3),
    k=st.floats(1e-3, 1e3),
    p=st.floats(0.1, 5.0),
    seed=st.integers(0, 2**31),
)
def test_loglog_slope_invariances(c, k, p, seed):
    """y -> c y: slope, se unchanged; n -> k n: slope, se unchanged; y -> y^p: slope and
    se times p. The t interval follows."""
    rng = np.random.default_rng(seed)
    n = 64 * 2.0 ** np.arange(6)
    y = 2 * n**-0.6 * np.exp(0.1 * rng.standard_normal(6))
    base = loglog_slope(n, y)
    for f, s in (
        (loglog_slope(n, c * y), 1.0),
        (loglog_slope(k * n, y), 1.0),
        (loglog_slope(n, y**p), p),
    ):
        assert float(f.slope) == pytest.approx(s * float(base.slope), rel=1e-9, abs=1e-12)
        assert float(f.se) == pytest.approx(s * float(base.se), rel=1e-7)
        assert float(f.hi - f.lo) == pytest.approx(s * float(base.hi - base.lo), rel=1e-7)
    assert float(loglog_slope(n, c * y).intercept) == pytest.approx(
        float(base.intercept) + math.log(c), abs=1e-9
    )


# -------------------------------------------------------------- offset power law
@ESTIMATORS
@given(alpha=st.floats(0.1, 2.0), A=st.floats(0.1, 20.0), y_inf=st.floats(0.5, 5.0))
def test_offset_power_law_exact(alpha, A, y_inf):
    n = 128 * 2.0 ** np.arange(7)
    y = y_inf + A * n**-alpha
    c, _a, p = fit_offset_power_law(n, y)
    # exponent resolution of the profile search; the fit is exact at the optimum
    assert p == pytest.approx(alpha, abs=2e-5)
    assert c == pytest.approx(y_inf, abs=1e-4 * max(1.0, A * n[-1] ** -alpha) + 1e-6)


POWER_TABLE = [  # y_inf, A, e: the paper's Llama law, a negative offset (linear residuals), a fast decay
    (3.137, 13.16, 0.52),
    (-0.5, 4.0, 0.8),
    (1.0, 50.0, 1.5),
]


@pytest.mark.parametrize("y_inf, A, e", POWER_TABLE)
def test_offset_power_law_table(y_inf, A, e):
    n = 128 * 2.0 ** np.arange(7)
    c, a, p = fit_offset_power_law(n, y_inf + A * n**-e)
    # the exponent is resolved to ~2e-5 by the profile search (last zoom spacing 4.8e-5,
    # then a parabolic step); A n^-p held fixed near the data moves A by ln(n) dp
    assert p == pytest.approx(e, abs=2e-5)
    assert a == pytest.approx(A, rel=2e-5 * math.log(n[-1]))
    assert c == pytest.approx(y_inf, abs=1e-4 * max(1.0, A * n[-1] ** -e) + 1e-6)


def test_offset_power_law_resists_an_outlier():
    n = 128 * 2.0 ** np.arange(7)
    y = 3.137 + 13.16 * n**-0.52
    y_bad = y.copy()
    y_bad[3] *= 1.02  # one 2% outlier
    _, _, p_huber = fit_offset_power_law(n, y_bad)
    _, _, p_ls = fit_offset_power_law(n, y_bad, delta=np.inf)  # plain least squares
    assert abs(p_huber - 0.52) < abs(p_ls - 0.52)


def test_offset_power_law_batched_equals_rows_and_rejects_bad_input():
    n = 128 * 2.0 ** np.arange(6)
    y = np.stack([2 + 3 * n**-0.4, 1 + 9 * n**-0.9])
    c, A, p, _, bound = profile_power_law(n, y, np.isfinite(y), 0.02, 3.0, log_res=True, delta=1e-6)
    for i in range(2):
        ci, Ai, pi, _, _ = profile_power_law(
            n, y[i : i + 1], np.isfinite(y[i : i + 1]), 0.02, 3.0, log_res=True, delta=1e-6
        )
        assert (c[i], A[i], p[i]) == (ci[0], Ai[0], pi[0])
    assert p == pytest.approx([0.4, 0.9], abs=2e-5) and not bound.any()  # search resolution
    with pytest.raises(InputError):
        fit_offset_power_law([1, 2], [1, 2])
    with pytest.raises(InputError):
        fit_offset_power_law([0, 1, 2], [1, 2, 3])
    with pytest.raises(InputError, match="residuals"):
        fit_offset_power_law([1, 2, 3], [1, 2, 3], residuals="huber")


# ----------------------------------------------------------- bounded offset
@ESTIMATORS
@given(
    alpha=st.floats(0.3, 1.5),
    A=st.floats(0.5, 20.0),
    y_inf=st.floats(-1.0, 2.0),
    lo=st.floats(-0.5, 3.0),
)
def test_offset_bounds_hold_and_bind_only_when_violated(alpha, A, y_inf, lo):
    """Exact data y = y_inf + A n^-alpha, the offset confined to [lo, min y]: the fit is
    exact when y_inf lies inside, else the offset sits on the nearer bound. (alpha >=
    0.3: below, offset and amplitude are nearly collinear over these widths and the
    offset is resolved only to the exponent's resolution times a large factor.)"""
    n = 128 * 2.0 ** np.arange(6)
    y = y_inf + A * n**-alpha
    hi = float(y.min())
    lo = min(lo, hi)
    c, _a, p = fit_offset_power_law(n, y, offset_bounds=(lo, hi), residuals="linear")
    assert lo - 1e-12 <= c <= hi + 1e-12
    tol = 3e-4 * max(1.0, A * n[-1] ** -alpha) + 1e-6
    if lo <= y_inf + tol:
        # inside: the unconstrained optimum. A bound touching y_inf puts a kink in the
        # profile over p, where the parabolic step does not help: resolution = the last
        # zoom spacing, 4.8e-5 (2e-5 for a smooth profile)
        assert c == pytest.approx(max(y_inf, lo), abs=tol)
        if lo <= y_inf:
            assert p == pytest.approx(alpha, abs=5e-5)
    else:  # violated by more than the fit's resolution: on the bound
        assert c == pytest.approx(lo, abs=1e-12)


def test_offset_bound_keeps_a_crossentropy_floor_nonnegative():
    """Noisy decreasing losses whose least-squares limit is below 0: with the floor at 0
    the fitted limit is 0 (on the bound), with the amplitude refitted."""
    n = 128 * 2.0 ** np.arange(6)
    y = 0.01 + 0.5 * n**-0.1 + np.array([0.004, -0.003, 0.002, 0.004, -0.004, -0.005])
    free, _, _ = fit_offset_power_law(n, y, residuals="linear", delta=np.inf)
    assert free < 0  # the unconstrained fit goes negative
    c, A, _p = fit_offset_power_law(
        n, y, residuals="linear", delta=np.inf, offset_bounds=(0.0, float(y.min()))
    )
    assert c == 0.0 and A > 0


# ------------------------------------------------- drift versus convergence
@ESTIMATORS
@given(
    s=st.floats(-1.5, 1.5).filter(lambda v: abs(v) > 0.05),
    c=st.floats(-5.0, 5.0),
    W=st.integers(4, 9),
    seed=st.integers(0, 2**31),
)
def test_drift_model_is_not_rejected_on_log_drift(s, c, W, seed):
    """y = c + s ln n + noise with its true se: the drift model holds, so the likelihood
    ratio is chi2_1 (p uniform) and the slope is recovered within 5 standard errors."""
    rng = np.random.default_rng(seed)
    n = 128 * 2.0 ** np.arange(W)
    se = np.full(W, 0.01)
    y = c + s * np.log(n) + se * rng.standard_normal(W)
    d = drift_vs_power_law(n, y, se)
    slope_se = 0.01 / np.sqrt(np.sum((np.log(n) - np.log(n).mean()) ** 2))
    assert d.slope == pytest.approx(s, abs=5 * slope_se)
    assert 0.0 <= d.p_value <= 1.0 and d.chi2_power <= d.chi2_drift + 1e-9
    assert d.preferred in ("power law", "drift", "indistinguishable")


@pytest.mark.parametrize(
    "beta, B, preferred",
    [
        (0.75, 20.0, "power law"),  # a clear convergence: the log line misses by >> se
        (0.26, 1.8, "power law"),
    ],
)
def test_drift_model_is_rejected_on_a_converging_power_law(beta, B, preferred):
    n = 128 * 2.0 ** np.arange(7)
    y = -4.6 + B * n**-beta
    d = drift_vs_power_law(n, y, np.full(7, 1e-3))
    assert d.preferred == preferred and d.p_value < 1e-6
    assert d.power_exponent == pytest.approx(beta, abs=1e-3)


def test_drift_comparison_needs_three_points_with_errors():
    with pytest.raises(InputError, match="3 points"):
        drift_vs_power_law([1, 2, 3], [1.0, 2.0, np.nan], [0.1, 0.1, 0.1])
    with pytest.raises(InputError, match="3 points"):
        drift_vs_power_law([1, 2, 3], [1.0, 2.0, 3.0], [0.1, 0.0, 0.1])


def test_richardson_limit_removes_the_first_order_term():
    """y = L + C/x exactly: the octave pair gives L exactly; a pair that is not an octave
    apart is refused (the formula assumes x_2 = 2 x_1)."""
    from fasttransfer.errors import InputError
    from fasttransfer.theory.fits import richardson_limit

    x = np.array([1024.0, 2048.0, 4096.0])
    assert richardson_limit(x, 0.5 + 3.0 / x) == pytest.approx(0.5, rel=1e-14)
    with pytest.raises(InputError, match="octave"):
        richardson_limit(np.array([1.0, 3.0]), np.array([1.0, 2.0]))

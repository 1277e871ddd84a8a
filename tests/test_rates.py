"""theory.rates: per-width vertices, the rate laws, bootstrap intervals and the verdict
(the fits themselves: tests/test_fits.py; reading: tests/test_sweep_data.py).

Tolerances: noise-free recoveries are limited by the profile search (zoom + parabolic
step, ~1e-7 in the exponent) and float64 rounding; noisy recoveries are bounded by a
multiple of the estimator's own 95% half-width, which scales with the injected noise
(its coverage is measured in fasttransfer/checks/estimators.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fasttransfer.theory.errors import InputError
from fasttransfer.theory.fits import loglog_slope
from fasttransfer.theory.framework import hp_gap, loss_gap
from fasttransfer.theory.rates import analyze_sweep, fit_vertex
from fasttransfer.theory.synthetic import PowerLawFamily, llama_family

WIDTHS = 128 * 2 ** np.arange(7)


def sweep(fam, *, seeds=6, noise=1e-3, rng=0, half=3.75, H=31, widths=WIDTHS):
    grid = fam.nu_inf + np.linspace(-half, half, H)
    return fam.sample_sweep(widths, grid, seeds=seeds, noise=noise, rng=rng)


# ----------------------------------------------------------------------- vertex fits
@given(v=st.floats(-2.0, 2.0), k=st.floats(0.01, 100.0), c=st.floats(-10.0, 10.0),
       h=st.floats(0.01, 1.0), H=st.integers(9, 41), window=st.sampled_from([5, 7, 9]))
def test_vertex_exact_on_parabolas(v, k, c, h, H, window):
    # the vertex sits strictly inside the grid: at least 2 points on each side
    hp = np.linspace(-1.0, 1.0, H) * (H // 2) * h
    v = float(np.clip(v, hp[2], hp[-3]))
    loss = c + 0.5 * k * (hp - v) ** 2
    nu, phi = fit_vertex(hp[::-1], loss[::-1], window=window)  # any input order
    scale = max(abs(v), h)
    # exact up to rounding: least squares on 3 coefficients, conditioned by centring
    assert nu == pytest.approx(v, abs=1e-8 * scale * max(1.0, 1.0 / k))
    assert phi == pytest.approx(c, abs=1e-9 * max(1.0, abs(c), k * scale**2))


def test_vertex_edge_and_nonconvex_name_the_width():
    hp = np.linspace(0, 1, 9)
    with pytest.raises(InputError, match="width 512.*edge"):
        fit_vertex(hp, (hp - 1.2) ** 2, width=512)
    with pytest.raises(InputError, match="width 64"):
        fit_vertex(hp, -(hp - 0.5) ** 2 + 0.01 * np.cos(40 * hp), width=64)
    with pytest.raises(InputError, match="window"):
        fit_vertex(hp, (hp - 0.5) ** 2, window=3)


# ------------------------------------------------------------------ whole analysis
@settings(max_examples=12)
@given(alpha=st.floats(0.3, 1.0), beta=st.floats(0.2, 1.2), noise=st.sampled_from([1e-4, 1e-3, 3e-3]),
       rng=st.integers(0, 10**6))
def test_recovery_within_noise_scaled_tolerance(alpha, beta, noise, rng):
    fam = PowerLawFamily(phi_inf_star=2.0, A=10.0, alpha=alpha, kappa=0.2, nu_inf=-4.0,
                         B=0.5 * 128.0**beta, beta=beta)
    r = analyze_sweep(sweep(fam, noise=noise, rng=rng), bootstrap=150, seed=rng)
    for est, true in ((r.alpha, alpha), (r.beta, beta), (r.beta_minus_half_alpha, beta - alpha / 2)):
        half = (est.ci[1] - est.ci[0]) / 2
        # the half-width is ~ t_5 * sd, proportional to the noise; 2 half-widths ~ 5.6 sd
        assert abs(est.estimate - true) <= 2 * half + 1e-6, (est, true)
        assert half < 60 * noise  # intervals shrink with the noise (measured: ~1e-3..1e-2 per 1e-3)


def test_noise_free_recovery_is_exact():
    fam = llama_family(0.75)
    r = analyze_sweep(sweep(fam, seeds=1, noise=0.0), bootstrap=0)
    assert r.alpha.estimate == pytest.approx(0.52, abs=1e-5)
    assert r.beta.estimate == pytest.approx(0.75, abs=1e-5)
    assert r.phi_inf.estimate == pytest.approx(3.137, abs=1e-5)
    pw = r.per_width
    assert np.allclose(pw.nu_star, fam.nu_star(WIDTHS), atol=1e-9)
    assert np.allclose(pw.a, fam.a(WIDTHS), rtol=1e-4)
    assert np.allclose(pw.b, fam.b(WIDTHS), rtol=1e-4)
    assert np.allclose(pw.c, fam.c(WIDTHS), rtol=1e-3)
    assert r.verdict == "inconclusive"  # no intervals without a bootstrap


@settings(max_examples=6)
@given(rng=st.integers(0, 10**6), shift=st.floats(-1.0, 5.0), k=st.sampled_from([0.25, 3.0, 1000.0]))
def test_invariances(rng, shift, k):
    fam = llama_family(0.5)
    df = sweep(fam, noise=1e-3, rng=rng)
    base = analyze_sweep(df, bootstrap=100, seed=1)
    # row order: identical (the analysis sorts; the bootstrap draws are keyed by seed)
    shuffled = analyze_sweep(df.sample(frac=1.0, random_state=rng % 2**32), bootstrap=100, seed=1)
    assert shuffled.alpha == base.alpha and shuffled.beta == base.beta
    # widths scaled by k: n^-p = k^p (kn)^-p is absorbed by the amplitude, so the
    # profile over the exponent is the same function: equal up to rounding
    scaled = analyze_sweep(df.assign(width=df.width * k), bootstrap=100, seed=1)
    assert scaled.alpha.estimate == pytest.approx(base.alpha.estimate, abs=1e-6)
    assert scaled.beta.estimate == pytest.approx(base.beta.estimate, abs=1e-6)
    # loss + constant: nu_star unchanged, so beta is identical; alpha changes only
    # through the log-residual weights 1/phi, a second-order effect at this noise
    shifted = analyze_sweep(df.assign(loss=df.loss + shift), bootstrap=100, seed=1)
    assert shifted.beta.estimate == pytest.approx(base.beta.estimate, abs=1e-9)
    half = (base.alpha.ci[1] - base.alpha.ci[0]) / 2
    assert shifted.alpha.estimate == pytest.approx(base.alpha.estimate, abs=0.25 * half)


@settings(max_examples=10)
@given(alpha=st.floats(0.3, 1.0), gap=st.floats(0.15, 0.6), sign=st.sampled_from([-1.0, 1.0]),
       rng=st.integers(0, 10**6))
def test_verdict_right_away_from_the_boundary(alpha, gap, sign, rng):
    beta = alpha / 2 + sign * gap
    if beta < 0.1:
        beta = alpha / 2 + gap  # keep b_n -> 0 clearly resolvable
        sign = 1.0
    fam = PowerLawFamily(phi_inf_star=2.0, A=10.0, alpha=alpha, kappa=0.2, nu_inf=-4.0,
                         B=0.5 * 128.0**beta, beta=beta)
    r = analyze_sweep(sweep(fam, noise=1e-4, rng=rng), bootstrap=150, seed=rng)
    assert r.verdict == ("fast" if sign > 0 else "weak"), r


def test_verdict_at_the_boundary_is_weak_over_redrawn_sweeps():
    """beta = alpha/2 exactly: 'weak' whenever the 95% interval covers 0. Over 8 redrawn
    sweeps, P(at most 5 weak) < 1% at 95% coverage (binomial), so this is no coin flip."""
    fam = llama_family(0.26)
    words = [analyze_sweep(sweep(fam, noise=1e-3, rng=100 + i), bootstrap=150, seed=i).verdict
             for i in range(8)]
    assert words.count("weak") >= 6, words
    assert "fast" not in words or words.count("fast") <= 2


def test_reference_largest_and_diverged_and_single_seed():
    fam = llama_family(0.75)
    df = sweep(fam, noise=1e-3, rng=5)
    # a diverged (NaN) and an inf run far from the optimum: excluded and counted
    df.loc[df.index[[0, 40]], "loss"] = [np.nan, np.inf]
    r = analyze_sweep(df, bootstrap=100, reference="largest")
    assert r.diverged == 2 and r.reference == "largest"
    assert r.per_width.b.iloc[-1] == 0.0 and r.per_width.c.iloc[-1] == 0.0
    one = analyze_sweep(df[df.seed == 0], bootstrap=100)
    assert "residuals" in one.bootstrap_kind
    assert np.isfinite(one.alpha.ci).all() and one.alpha.contains(0.52)


def test_json_dict_schema():
    import json

    r = analyze_sweep(sweep(llama_family(0.75), rng=2), bootstrap=50)
    d = r.to_json_dict()
    for key in ("alpha", "beta", "beta_minus_half_alpha"):
        assert set(d[key]) >= {"estimate", "ci"} and len(d[key]["ci"]) == 2
    assert d["verdict"] in ("fast", "weak", "no-transfer", "inconclusive")
    assert [set(row) >= {"width", "nu_star", "phi_star", "a", "b", "c"} for row in d["per_width"]] == [True] * 7
    assert d["diverged"] == 0
    json.dumps(d, allow_nan=False)


def test_analyze_rejects_bad_arguments():
    df = sweep(llama_family(0.75), rng=2)
    with pytest.raises(InputError, match="reference"):
        analyze_sweep(df, reference="median")
    with pytest.raises(InputError, match="fewer than 3 widths"):
        analyze_sweep(df[df.width < 300])
    fam = llama_family(0.75)
    # cut the grid at nu_inf + 0.1: the optimum of the widest widths (nu_inf + 0.02..0.06)
    # falls off its left edge
    edge = df[df.hp > fam.nu_inf + 0.1]
    with pytest.raises(InputError, match=r"width \d+: optimum on the grid edge"):
        analyze_sweep(edge)


def test_gaps_follow_the_framework_and_largest_is_the_loglog_slope():
    """a_n, b_n by theory.framework's definitions; c_n = phi''_ref/2 b_n^2; with
    reference 'largest', beta is minus the log-log slope of |nu_star(n) - nu_star(n_max)|."""
    fam = llama_family(0.75)
    df = sweep(fam, noise=1e-3, rng=8)
    for ref in ("extrapolate", "largest"):
        r = analyze_sweep(df, bootstrap=0, reference=ref)
        pw = r.per_width
        assert np.array_equal(pw.a, loss_gap(pw.phi_star, r.phi_inf.estimate))
        assert np.array_equal(pw.b, hp_gap(pw.nu_star, r.nu_inf.estimate))
        assert np.array_equal(pw.c, 0.5 * pw.curvature.iloc[-1] * pw.b**2)
    drift = loglog_slope(pw.width[:-1], pw.b[:-1])
    assert r.beta.estimate == -float(drift.slope) and r.B.estimate == np.exp(float(drift.intercept))

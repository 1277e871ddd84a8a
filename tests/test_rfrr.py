"""Random-feature ridge regression: the two asymptotic formula sets, the optimum lam*,
the rates (theory/rfrr_asymptotics.py), the Monte Carlo estimator and the sweep algebra
(simulations/rfrr_montecarlo.py), the study's store entry (simulations/rfrr.py)."""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import rfrr as study
from fasttransfer.simulations import rfrr_montecarlo as mcm
from fasttransfer.theory import gaussian_coefficients as gc
from fasttransfer.theory import rfrr_asymptotics as rfrr

KW = dict(F1=1.0, Fs=0.5, tau=0.5)
PSI2 = 2.0


# ------------------------------------------------------------------ activation coefficients


def test_relu_closed_form_matches_quadrature():
    q = gc.gaussian_coefficients_quadrature(lambda t: np.maximum(t, 0.0))
    # adaptive quadrature split at the kink, requested to epsrel 1e-13
    for name in ("mu0", "mu1", "mus2"):
        assert getattr(q, name) == pytest.approx(getattr(gc.RELU, name), rel=1e-10, abs=1e-12)
    assert gc.RELU.zeta2 == pytest.approx(0.25 / (0.25 - 1 / (2 * math.pi)), rel=1e-15)


def test_quadrature_matches_gauss_hermite_for_smooth_activation():
    # tanh is analytic: 200-point Gauss-Hermite is exact to ~1e-14, an independent rule;
    # "tanh" is tanh / (E tanh(G)^2)^1/2 (unit Gaussian norm, as Theorem 3 assumes)
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / math.sqrt(2 * math.pi)
    norm = math.sqrt(float(w @ np.tanh(x) ** 2))
    s = np.tanh(x) / norm
    mu0, mu1 = float(w @ s), float(w @ (x * s))
    mus2 = float(w @ s**2) - mu0**2 - mu1**2
    q = gc.activation_coefficients("tanh")
    assert gc.tanh_gaussian_norm() == pytest.approx(norm, rel=1e-12)
    assert q.mu0 == pytest.approx(mu0, abs=1e-12)
    assert q.mu1 == pytest.approx(mu1, rel=1e-10)
    assert q.mus2 == pytest.approx(mus2, rel=1e-9)
    # unit norm, odd: mu0 = 0 and mu1^2 + mus^2 = E sigma^2 = 1
    assert q.mu1**2 + q.mus2 == pytest.approx(1.0, rel=1e-12) and abs(q.mu0) < 1e-14
    # mu1 = E sigma'(G) (Stein): the paper's definition of mu_1
    assert q.mu1 == pytest.approx(float(w @ (1 - np.tanh(x) ** 2)) / norm, rel=1e-10)


def test_single_index_coefficients_of_the_normalised_relu():
    from scipy.integrate import quad

    def moment(g):  # E g(G), split at the kink
        f = lambda t: g(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
        return quad(f, -np.inf, 0, epsabs=1e-13)[0] + quad(f, 0, np.inf, epsabs=1e-13)[0]

    F1, Fs = gc.single_index_coefficients("relu")
    f = lambda t: float(gc.normalised_relu(t))
    # mean 0, unit norm; the linear coefficient E G f(G) = mu_1* (quadrature to ~1e-12)
    assert abs(moment(f)) < 1e-10
    assert moment(lambda t: f(t) ** 2) == pytest.approx(1.0, rel=1e-10)
    assert moment(lambda t: t * f(t)) == pytest.approx(F1, rel=1e-10)
    assert F1**2 == pytest.approx(1 / (2 - 2 / math.pi), rel=1e-15)
    assert F1**2 + Fs**2 == pytest.approx(1.0, rel=1e-15)
    with pytest.raises(InputError, match="target"):
        gc.single_index_coefficients("tanh")


def test_affine_activation_rejected():
    with pytest.raises(InputError, match="activation"):
        gc.activation_coefficients(lambda t: 2.0 * t + 1.0)


# ------------------------------------------------------------------ formula sets agree

GRID_PSI1 = [0.3, 1.0, PSI2 - 1e-3, PSI2, PSI2 + 1e-3, 2.5, 10.0, 1e3, 1e7, math.inf]
GRID_LAMS = [1e-6, 1e-3, 1e-1, 1.0, 30.0]


@pytest.mark.parametrize("psi1", GRID_PSI1)
def test_fixed_point_and_deterministic_equivalent_agree(psi1):
    for lam in GRID_LAMS:
        a = rfrr.risk_fixed_point(psi1, PSI2, lam, **KW)
        b = rfrr.risk_deterministic_equivalent(psi1, PSI2, lam, **KW)
        # the brief's tolerance; measured agreement is ~1e-14
        assert a["R"] == pytest.approx(b["R"], rel=1e-10)
        assert a["B"] == pytest.approx(b["B"], rel=1e-10)
        assert a["V"] == pytest.approx(b["V"], rel=1e-10, abs=1e-14)
        # k = -1/chi links the two (the elimination in the module docstring)
        assert -1.0 / a["chi"] == pytest.approx(b["k"], rel=1e-9)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_formulas_agree_for_other_activations(activation):
    for psi1, lam in [(0.7, 1e-2), (5.0, 0.3), (math.inf, 1e-3)]:
        a = rfrr.risk_fixed_point(psi1, 1.5, lam, activation=activation, **KW)["R"]
        b = rfrr.asymptotic_risk(psi1, 1.5, lam, activation=activation, **KW)
        assert a == pytest.approx(b, rel=1e-10)


def test_psi1_infinity_is_the_limit():
    r_inf = rfrr.asymptotic_risk(math.inf, PSI2, 0.05, **KW)
    r_big = rfrr.asymptotic_risk(1e9, PSI2, 0.05, **KW)
    # R(psi1) - R(inf) = O(1/psi1) with a constant of order 1
    assert abs(r_big - r_inf) < 1e-8


def test_ridgeless_limit_and_interpolation_peak():
    assert rfrr.asymptotic_risk(PSI2, PSI2, 0.0, **KW) == math.inf
    for psi1 in (0.5, 8.0, math.inf):
        r0 = rfrr.asymptotic_risk(psi1, PSI2, 0.0, **KW)
        r_small = rfrr.asymptotic_risk(psi1, PSI2, 1e-12, **KW)
        assert math.isfinite(r0) and r_small == pytest.approx(r0, rel=1e-8)
    # the peak: risk grows without bound as lam -> 0 at psi1 = psi2
    r = [rfrr.asymptotic_risk(PSI2, PSI2, lam, **KW) for lam in (1e-2, 1e-4, 1e-6)]
    assert r[0] < r[1] < r[2] and r[2] > 10 * r[0]


def test_null_predictor_limit():
    # lam -> inf: f_hat -> 0, R -> F1^2 + Fs^2 (B -> 1, V -> 0)
    r = rfrr.asymptotic_risk(3.0, PSI2, 1e8, **KW)
    assert r == pytest.approx(KW["F1"] ** 2 + KW["Fs"] ** 2, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(psi1=0.0), "psi1"),
        (dict(psi1=-1.0), "psi1"),
        (dict(psi1=math.nan), "psi1"),
        (dict(psi2=0.0), "psi2"),
        (dict(psi2=math.inf), "psi2"),
        (dict(lam=-1e-3), "lam"),
        (dict(lam=math.inf), "lam"),
        (dict(tau=-0.1), "tau"),
        (dict(F1=math.nan), "F1"),
        (dict(Fs="x"), "Fs"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(psi1=2.0, psi2=1.0, lam=0.1, **KW)
    args.update(kwargs)
    for fn in (rfrr.asymptotic_risk, rfrr.risk_fixed_point):
        with pytest.raises(ValueError, match=name) as err:
            fn(
                args["psi1"],
                args["psi2"],
                args["lam"],
                F1=args["F1"],
                Fs=args["Fs"],
                tau=args["tau"],
            )
        assert isinstance(err.value, InputError)
    if "lam" not in kwargs:
        with pytest.raises(InputError, match=name):
            rfrr.optimal_lambda(
                args["psi1"], args["psi2"], F1=args["F1"], Fs=args["Fs"], tau=args["tau"]
            )


# ------------------------------------------------------------------ lam*


def test_optimal_lambda_interior():
    res = rfrr.optimal_lambda(4.0, PSI2, **KW)
    lam, r = res  # a plain 2-tuple
    assert res.at_boundary is None and 0 < lam < 1
    # a minimum: R is larger a little to either side (1% in lam: well above the
    # optimiser's xatol of 1e-10 in log lam)
    for f in (0.99, 1.01):
        assert rfrr.asymptotic_risk(4.0, PSI2, lam * f, **KW) > r
    assert r == pytest.approx(rfrr.asymptotic_risk(4.0, PSI2, lam, **KW), rel=1e-14)


@pytest.mark.parametrize(
    "F1, Fs, tau",
    [(1.0, 0.5, 0.5), (1.0, 0.9, 0.2), (1.0, 0.3, 0.1), (2.0, 0.5, 0.5), (0.5, 0.1, 0.2)],
)
def test_kernel_limit_interior_iff_snr_below_zeta2(F1, Fs, tau):
    res = rfrr.optimal_lambda(math.inf, PSI2, F1=F1, Fs=Fs, tau=tau)
    interior = F1**2 / (Fs**2 + tau**2) < gc.RELU.zeta2
    assert (res.at_boundary is None) == interior
    if not interior:
        assert res.lam_star == 0.0 and res.at_boundary == "lam->0"
        assert res.risk_star == pytest.approx(
            rfrr.asymptotic_risk(math.inf, PSI2, 0.0, F1=F1, Fs=Fs, tau=tau), rel=1e-15
        )


def test_float_optimum_matches_mpmath_rates():
    tab = rfrr.rates_table(rfrr.RatesConfig(psi1=(8.0, 64.0), dps=30))
    for _, row in tab.iterrows():
        lam, r = rfrr.optimal_lambda(row.psi1, PSI2, **KW)
        # float64 bounded Brent: lam* to ~1e-8 relative (sqrt of machine eps, flat minimum)
        assert lam == pytest.approx(row.lam_star, rel=1e-5)
        assert r == pytest.approx(row.risk_star, rel=1e-12)


# ------------------------------------------------------------------ rates


def test_rates_slopes_and_constants_converge():
    tab = rfrr.rates_table(rfrr.RatesConfig(psi1=tuple(2.0**e for e in (12, 13, 14, 15))))
    slopes = rfrr.loglog_slopes(tab)
    # Theorem 3: -1, -1, -2; our tolerance 0.02 at large psi1
    assert slopes["a"] == pytest.approx(-1.0, abs=0.02)
    assert slopes["b"] == pytest.approx(-1.0, abs=0.02)
    assert slopes["c"] == pytest.approx(-2.0, abs=0.02)
    fin = tab[np.isfinite(tab.psi1)]
    for key in ("a_psi", "b_psi", "c_psi2"):
        v = fin[key].to_numpy()
        steps = np.abs(np.diff(v))
        # O(1/psi1) convergence: successive changes halve as psi1 doubles
        assert np.all(steps[1:] / steps[:-1] == pytest.approx(0.5, abs=0.05))
    assert not tab.boundary.any()


def test_boundary_case_lam_star_is_zero():
    tab = rfrr.rates_table(rfrr.RatesConfig(F1=1.0, Fs=0.3, tau=0.1, psi1=(4.0, 1024.0), dps=30))
    assert tab.boundary.iloc[-1]  # kernel limit: lam* -> 0
    assert tab.lam_star.iloc[-1] == 0.0
    big = tab[tab.psi1 == 1024.0].iloc[0]
    assert big.boundary and big.b == 0.0 and big.c == 0.0 and big.a > 0


# ------------------------------------------------------------------ Monte Carlo


@pytest.mark.parametrize("n, N", [(30, 50), (60, 40)])
def test_sweep_equals_per_lambda_solves(n, N):
    rng = np.random.default_rng(1)
    p = mcm.draw_problem(rng, 10, N, n, 200, n_targets=3, **KW)
    ridges = np.geomspace(1e-2, 1e3, 7)
    a = mcm.ridge_sweep_risk(p["Z"], p["y"], p["Z_test"], p["f_test"], ridges)
    b = mcm.ridge_per_lambda_risk(p["Z"], p["y"], p["Z_test"], p["f_test"], ridges)
    # same estimator by two exact linear-algebra routes (condition numbers here < 1e7)
    np.testing.assert_allclose(a, b, rtol=1e-8)


def test_target_moments():
    rng = np.random.default_rng(2)
    d, m = 20, 20000
    p = mcm.draw_problem(rng, d, 5, 5, m, n_targets=2, **KW)
    fnl, lin = p["fnl_test"], p["f_test"] - p["fnl_test"]
    # E f_NL = 0, E f_NL^2 = Fs^2, E f_NL <x, beta> = 0, E lin^2 = F1^2 exactly;
    # tolerances 5 standard errors of a mean over m points (variances <= 3 F^4)
    se = 5 * math.sqrt(3.0 / m)
    assert np.all(np.abs(fnl.mean(axis=0)) < 5 * KW["Fs"] / math.sqrt(m))
    assert np.all(np.abs((fnl**2).mean(axis=0) - KW["Fs"] ** 2) < se * KW["Fs"] ** 2)
    assert np.all(np.abs((lin**2).mean(axis=0) - KW["F1"] ** 2) < se * KW["F1"] ** 2)
    assert np.all(np.abs((lin * fnl).mean(axis=0)) < se * KW["F1"] * KW["Fs"])


def _extrapolated_agreement(make, psi, lams, d1, d2, asym, lam_conv=lambda lam: lam):
    """MC at d1 and d2 -> extrapolated mean and se per lam; returns z-scores against
    asym(psi, lam_conv(lam))."""
    a, b = mcm.monte_carlo_risk(make(d1)), mcm.monte_carlo_risk(make(d2))
    mean, se = mcm.extrapolate_in_d(d1, a["mean"], a["se"], d2, b["mean"], b["se"])
    return np.array(
        [(m - asym(psi, lam_conv(lam))) / s for m, s, lam in zip(mean, se, lams, strict=False)]
    )


# family-wise 1% over the (<= 6) cells of a test, Bonferroni
Z_MAX = study.z_threshold(6)


@pytest.mark.parametrize("psi1", [0.5, 4.0])
def test_monte_carlo_matches_asymptotic(psi1):
    lams = (1e-2, 1e-1, 1.0)

    def make(d):
        return mcm.MonteCarloConfig(
            d=d,
            psi1=psi1,
            psi2=PSI2,
            lams=lams,
            repeats=8,
            n_targets=6,
            n_test=600,
            seed=7 + d,
            **KW,
        )

    z = _extrapolated_agreement(
        make, psi1, lams, 25, 50, lambda p1, lam: rfrr.asymptotic_risk(p1, PSI2, lam, **KW)
    )
    assert np.all(np.abs(z) <= Z_MAX), z


def test_monte_carlo_detects_a_wrong_normalisation():
    # the check must be able to fail: the plain penalty lam'||a||^2 with lam' = lam
    # (forgetting the factor N/d = psi1) is visibly off at psi1 = 4
    lams = (0.1, 1.0)

    def make(d):
        return mcm.MonteCarloConfig(
            d=d,
            psi1=4.0,
            psi2=PSI2,
            lams=lams,
            repeats=6,
            n_targets=6,
            n_test=600,
            seed=3 + d,
            **KW,
        )

    z = _extrapolated_agreement(
        make,
        4.0,
        lams,
        25,
        50,
        lambda p1, lam: rfrr.asymptotic_risk(p1, PSI2, lam, **KW),
        lam_conv=lambda lam: lam * 4.0,
    )
    assert np.max(np.abs(z)) > Z_MAX, z


def test_extrapolate_in_d_removes_a_1_over_d_bias():
    d1, d2, r_inf, B = 40.0, 80.0, 0.5, 3.0
    mean, se = mcm.extrapolate_in_d(d1, r_inf + B / d1, 0.01, d2, r_inf + B / d2, 0.01)
    assert mean == pytest.approx(r_inf, rel=1e-14)
    # se = sqrt(d2^2 + d1^2) 0.01/(d2 - d1)
    assert se == pytest.approx(math.sqrt(80**2 + 40**2) * 0.01 / 40, rel=1e-14)
    with pytest.raises(InputError, match="d"):
        mcm.extrapolate_in_d(80, 1, 1, 40, 1, 1)


# ------------------------------------------------------------------ study store


def test_run_study_stores_resumes_and_refuses_stale(tmp_path, caplog):
    from fasttransfer.store import StaleResult

    cfg = study.RFRRConfig.tiny()
    entry = study.run_study(tmp_path, cfg, progress=False)
    assert entry.complete and entry.dir == tmp_path / "rfrr" / "tiny"
    res = study.read_study(entry)
    assert set(res) == set(study.TABLES)
    n_cells = len(cfg.mc_d) * len(cfg.mc_psi_2)
    assert len(res["paper_mc"]) == n_cells * cfg.mc_repeats * len(cfg.mc_lams)
    # reused: nothing rewritten
    stamp = {p.name: p.stat().st_mtime_ns for p in entry.dir.glob("*.csv")}
    caplog.set_level(logging.INFO, logger="fasttransfer")
    again = study.run_study(tmp_path, cfg, progress=False)
    assert any("reused" in m for m in caplog.messages)
    assert {p.name: p.stat().st_mtime_ns for p in again.dir.glob("*.csv")} == stamp
    # an interrupted run: drop one Monte Carlo cell and mark the entry running; only that
    # cell is recomputed, identically (its seed is the cell's)
    import json

    full = res["paper_mc"]
    d0, w0 = cfg.mc_d[0], cfg.mc_psi_2[0]
    keep = full[~((full.d == d0) & (full.psi_2 == w0))]
    keep.to_csv(entry.dir / "paper_mc.csv", index=False)
    man = json.loads((entry.dir / "manifest.json").read_text())
    man["status"] = "running"
    (entry.dir / "manifest.json").write_text(json.dumps(man))
    resumed = study.read_study(study.run_study(tmp_path, cfg, progress=False))
    key = ["d", "psi_2", "lam", "draw"]
    a = resumed["paper_mc"].sort_values(key).reset_index(drop=True)
    b = full.sort_values(key).reset_index(drop=True)
    np.testing.assert_allclose(a.risk.to_numpy(float), b.risk.to_numpy(float), rtol=1e-12)
    # another configuration in the same place is refused, and recomputed on request
    other = replace(cfg, mc_repeats=cfg.mc_repeats + 1)
    with pytest.raises(StaleResult, match="recompute"):
        study.run_study(tmp_path, other, progress=False)
    e = study.run_study(tmp_path, other, recompute=True, progress=False)
    assert e.config["mc_repeats"] == cfg.mc_repeats + 1


def test_study_summary_columns_and_presets():
    from fasttransfer.simulations.rfrr import RFRRConfig

    q, p = RFRRConfig.from_preset("quick"), RFRRConfig.from_preset("paper")
    for cfg in (q, p):
        # the paper's setting and Figure 4's widths
        assert cfg.paper.psi_1 == 4.0 and cfg.paper.sigma_eps == 0.25
        assert cfg.paper.activation == "tanh" and cfg.paper.target == "relu"
        assert cfg.curve_psi_2[0] == 4.0 and cfg.curve_psi_2[-2] == 256.0
        assert math.isinf(cfg.curve_psi_2[-1])
        assert cfg.rates_psi_2[0] == 4.0 and round(cfg.rates_psi_2[-1]) == 181
        assert min(cfg.curve_lams) == pytest.approx(0.08)
        assert max(cfg.curve_lams) == pytest.approx(1.0)
    with pytest.raises(InputError, match="preset"):
        RFRRConfig.from_preset("cpu")
    with pytest.raises(InputError, match="mc_d"):
        RFRRConfig(mc_d=(80, 40))

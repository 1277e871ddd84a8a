"""The paper-convention layer (theory/rfrr_paper.py): labels, the lambda factor
lam_paper = psi_1 lam_MM tested on Monte Carlo draws of the paper's estimator, and the
paper-unit optimum and rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import rfrr_montecarlo as mcm
from fasttransfer.simulations.rfrr import z_threshold
from fasttransfer.theory import gaussian_coefficients as gc
from fasttransfer.theory import rfrr_asymptotics as rfrr
from fasttransfer.theory import rfrr_paper as rp

SETTING = rp.PaperSetting()


def test_labels_and_units():
    assert rp.to_mm(4.0, 16.0, 0.4) == (16.0, 4.0, 0.1)
    assert rp.lam_from_mm(rp.lam_to_mm(0.37, 4.0), 4.0) == pytest.approx(0.37, rel=1e-15)
    kw = SETTING.mm_kwargs()
    F1, Fs = gc.single_index_coefficients("relu")
    assert kw == {"F1": F1, "Fs": Fs, "tau": 0.25, "activation": "tanh"}
    r = rp.paper_risk(SETTING, 16.0, 0.4)
    assert r == rfrr.asymptotic_risk(16.0, 4.0, 0.1, **kw)
    assert SETTING.mu1_sq + gc.activation_coefficients("tanh").mus2 == pytest.approx(1.0)
    with pytest.raises(InputError, match="activation") as err:
        rp.PaperSetting(activation="relu")  # not centred, not unit norm
    assert err.value.param == "activation"
    with pytest.raises(InputError, match="psi_2"):
        rp.paper_risk(SETTING, 0.0, 0.3)


def _paper_objective_risk(p: dict, lam: float) -> float:
    """The paper's estimator written literally: a = argmin sum_i (y_i - <a, z_i>/sqrt(n))^2
    + lam |a|^2 (n = width), the excess risk on the test points (mean over targets)."""
    n = p["Z"].shape[1]
    F, Ft = p["Z"] / math.sqrt(n), p["Z_test"] / math.sqrt(n)
    a = np.linalg.solve(F.T @ F + lam * np.eye(n), F.T @ p["y"])
    return float(np.mean((p["f_test"] - Ft @ a) ** 2))


def test_paper_objective_is_the_ridge_n_lam_on_raw_features():
    rng = np.random.default_rng(5)
    p = mcm.draw_single_index_problem(rng, 12, 48, 48, 300, sigma_eps=0.25, n_targets=2)
    lams = np.array([0.05, 0.35, 2.0])
    sweep = mcm.ridge_sweep_risk(p["Z"], p["y"], p["Z_test"], p["f_test"], 48 * lams)
    direct = [_paper_objective_risk(p, lam) for lam in lams]
    # the same estimator by two exact routes (condition numbers < 1e6 here)
    np.testing.assert_allclose(sweep, direct, rtol=1e-9)


def test_lambda_factor_on_monte_carlo_draws():
    """Monte Carlo of the paper's estimator (Gaussian inputs and weights, tanh, ReLU
    single-index target) agrees with the Mei-Montanari formula at lam/psi_1 and rejects
    lam_MM = lam (factor 1) and lam_MM = lam/(psi_1 psi_2) (a width factor too)."""
    lams = (0.1, 0.35, 1.0)
    psi_2 = 8.0
    d1, d2 = 20, 40
    runs = [
        mcm.monte_carlo_risk(
            mcm.PaperMonteCarloConfig(
                d=d, psi_2=psi_2, lams=lams, repeats=8, n_targets=4, n_test=400, seed=11 + d
            )
        )
        for d in (d1, d2)
    ]
    mean, se = mcm.extrapolate_in_d(
        d1, runs[0]["mean"], runs[0]["se"], d2, runs[1]["mean"], runs[1]["se"]
    )
    kw = SETTING.mm_kwargs()

    def z(factor):
        return np.array(
            [
                (m - rfrr.asymptotic_risk(psi_2, 4.0, lam / factor, **kw)) / s
                for m, s, lam in zip(mean, se, lams, strict=False)
            ]
        )

    z_max = z_threshold(3 * len(lams))  # family-wise 1% over the three conventions' cells
    assert np.all(np.abs(z(4.0)) <= z_max), z(4.0)
    assert np.max(np.abs(z(1.0))) > z_max, z(1.0)
    assert np.max(np.abs(z(4.0 * psi_2))) > z_max, z(4.0 * psi_2)


def test_optimum_in_paper_units_matches_the_closed_form():
    lam, risk, bd = rp.paper_optimal_lambda(SETTING, math.inf)
    m1, m1t, s2 = SETTING.mu1_sq, SETTING.target_mu1_sq, SETTING.sigma_eps**2
    closed = m1 * (s2 + 1 - m1t) / m1t - (1 - m1)
    # bounded Brent in log lam on a flat minimum: the location to ~sqrt(eps) relative
    assert bd is None and lam == pytest.approx(closed, rel=1e-6)
    assert risk == pytest.approx(rp.paper_risk(SETTING, math.inf, closed), rel=1e-12)


def test_paper_rates_are_the_mm_rates_in_paper_units():
    widths = (4.0, 8.0)
    tab = rp.paper_rates(SETTING, widths, dps=20)
    mm = rfrr.rates_table(SETTING.rates_config(widths, dps=20))
    assert list(tab.psi_2) == list(mm.psi1)
    np.testing.assert_allclose(tab.lam_star, 4.0 * mm.lam_star, rtol=1e-15)
    np.testing.assert_allclose(tab.b, 4.0 * mm.b_lin, rtol=1e-15)
    np.testing.assert_allclose(tab.b_log, mm.b, rtol=1e-15)
    np.testing.assert_allclose(tab[["a", "c", "risk_star"]], mm[["a", "c", "risk_star"]])
    # b is |lam*(psi_2) - lam*(inf)| on lam itself
    inf = tab.lam_star.iloc[-1]
    np.testing.assert_allclose(tab.b.iloc[:-1], np.abs(tab.lam_star.iloc[:-1] - inf), rtol=1e-9)
    w = rp.figure4_widths()
    assert len(w) == 12 and w[0] == 4.0 and w[-1] == pytest.approx(4 * 2**5.5)

"""The sympy derivation of Theorem 3's constants from the Mei-Montanari fixed point
(proofs_check/rfrr_constants.py) against the numeric asymptotics (deterministic
equivalent, theory/rfrr_asymptotics.py), and the comparison with the printed formulas."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import sympy as sp

from fasttransfer.proofs_check import rfrr_constants as rc
from fasttransfer.theory import gaussian_coefficients as gc
from fasttransfer.theory import rfrr_asymptotics as rfrr
from fasttransfer.theory import rfrr_paper as rp

SETTING = rp.PaperSetting()
KW = SETTING.mm_kwargs()
Z2 = gc.activation_coefficients("tanh").zeta2
VALS = {
    rc.PSI: 4.0,
    rc.Z2: Z2,
    rc.F1S: KW["F1"] ** 2,
    rc.FS2: KW["Fs"] ** 2,
    rc.N2: KW["Fs"] ** 2 + KW["tau"] ** 2,
}


def _lam_paper(t: float) -> float:
    return float((rc.MU2S * rc.ell()).subs(VALS).subs(rc.T, t))


@pytest.fixture(scope="module")
def derived():
    return rc.derive()


@pytest.mark.parametrize("t", [2.0, 7.5, 15.0])
def test_R0_and_R1_match_the_deterministic_equivalent(derived, t):
    """At fixed lam away from the optimum (where a wrong dchi/deps term would not cancel):
    R0 = R(psi_2 = inf) and R1 = lim psi_2 (R(psi_2) - R0), the latter by Richardson over
    psi_2 = 1e4, 2e4 (remainder O(psi_2^-2) ~ 1e-8 relative)."""
    lam_mm = _lam_paper(t) / 4.0
    R0 = float(derived.R0.subs(VALS).subs(rc.T, t))
    R1 = float(derived.R1.subs(VALS).subs(rc.T, t))
    r_inf = rfrr.asymptotic_risk(math.inf, 4.0, lam_mm, **KW)
    assert R0 == pytest.approx(r_inf, rel=1e-12)
    g = [(rfrr.asymptotic_risk(w, 4.0, lam_mm, **KW) - r_inf) * w for w in (1e4, 2e4)]
    assert 2 * g[1] - g[0] == pytest.approx(R1, rel=1e-6)


def test_printed_kernel_limit_and_the_lambda_factor(derived):
    cmp = rc.compare_symbolic()
    assert cmp["R_inf_diff"] == 0  # printed R_inf = R0 + sigma_eps^2 exactly
    assert cmp["factor"] == rc.PSI  # lam_paper = psi_1 lam_MM
    assert cmp["lam_star_diff"] == 0  # printed lam*(inf) is the optimum of R0


def test_constants_match_the_extrapolated_rates():
    c = rc.constants(
        psi_1=4.0,
        mu1_sq=SETTING.mu1_sq,
        target_mu1_sq=SETTING.target_mu1_sq,
        sigma_eps=0.25,
        dps=30,
    )
    tab = rp.paper_rates(SETTING, (2.0**14, 2.0**15), dps=30)
    fin = tab[np.isfinite(tab.psi_2)]
    assert c["lam_star_inf_derived"] == pytest.approx(tab.lam_star.iloc[-1], rel=1e-10)
    assert c["lam_star_inf_printed"] == pytest.approx(tab.lam_star.iloc[-1], rel=1e-10)
    assert c["risk_star_inf"] == pytest.approx(tab.risk_star.iloc[-1], rel=1e-12)
    for key, col in (
        ("a_psi_derived", "a_psi"),
        ("b_psi_derived", "b_psi"),
        ("c_psi2_derived", "c_psi2"),
    ):
        v = fin[col].to_numpy()
        # Richardson removes the O(1/psi_2) term; the O(psi_2^-2) rest ~ 1e-9 x O(10)
        assert 2 * v[-1] - v[-2] == pytest.approx(c[key], rel=1e-4)
    # lam*(psi_2) > lam*(inf) at large width (Figure 4a: the optimum moves down)
    assert tab.lam_star.iloc[0] > tab.lam_star.iloc[-1] and c["C_lambda_derived"] > 0


def test_comparison_detects_agreement_and_a_wrong_factor(monkeypatch, derived):
    """The printed-vs-derived comparison can say 'agree' (printed replaced by the
    derivation) and finds a planted factor 3."""
    true_printed = rc.printed()

    def planted(C_eta, C_lambda):
        def printed():
            out = dict(true_printed)
            out["C_eta"], out["C_lambda"] = C_eta, C_lambda
            return out

        return printed

    # derived C_eta at the optimum, written back in the printed formula's variables
    eta_as_printed = derived.C_eta
    try:
        monkeypatch.setattr(rc, "printed", planted(eta_as_printed, derived.C_lambda))
        rc.compare_symbolic.cache_clear()
        loc = rc.locate()
        assert loc["C_eta"] == "printed C_eta = derived"
        assert loc["C_lambda"] == "printed C_lambda = derived"
        monkeypatch.setattr(rc, "printed", planted(3 * eta_as_printed, derived.C_lambda))
        rc.compare_symbolic.cache_clear()
        assert sp.simplify(rc.compare_symbolic()["C_eta_ratio"] - sp.Rational(1, 3)) == 0
    finally:
        rc.compare_symbolic.cache_clear()


def test_store_constants_entry(tmp_path, caplog):
    kw = dict(
        psi_1=4.0,
        mu1_sq=SETTING.mu1_sq,
        target_mu1_sq=SETTING.target_mu1_sq,
        sigma_eps=0.25,
        dps=20,
    )
    e = rc.store_constants(tmp_path, "tiny", **kw)
    data = e.read_json("constants.json")
    assert e.complete and set(data) == {"values", "located", "symbolic"}
    assert data["symbolic"]["factor"] == "psi"
    caplog.set_level(logging.INFO, logger="fasttransfer")
    rc.store_constants(tmp_path, "tiny", **kw)
    assert any("reused" in m for m in caplog.messages)

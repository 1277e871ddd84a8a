"""The 1/psi1 expansion of the deterministic equivalent (proofs_check/rfrr_expansion.py)
against the numeric rates of theory/rfrr_asymptotics.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from fasttransfer.proofs_check import rfrr_expansion as ex
from fasttransfer.theory import gaussian_coefficients as gc
from fasttransfer.theory import rfrr_asymptotics as rfrr

SETTING = dict(psi2=2.0, F1=1.0, Fs=0.5, tau=0.5)
KW = dict(F1=1.0, Fs=0.5, tau=0.5)


@pytest.fixture(scope="module")
def constants():
    return ex.expansion_constants(**SETTING)


@pytest.fixture(scope="module")
def table():
    return rfrr.rates_table(rfrr.RatesConfig(psi1=(2.0**13, 2.0**14, 2.0**15)))


def test_kernel_limit_equation_is_the_documented_quadratic():
    assert ex.kernel_quadratic_residual() == 0


def test_relu_constants_match_the_simulation():
    z2, mus2 = ex.relu_constants()
    assert float(z2) == pytest.approx(gc.RELU.zeta2, rel=1e-15)
    assert float(mus2) == pytest.approx(gc.RELU.mus2, rel=1e-15)


def test_first_order_expansion_has_an_eps_squared_remainder():
    e = ex.symbolic_expansion()
    z2, _mus2 = (float(v) for v in ex.relu_constants())
    subs = {ex.Z2: z2, ex.PSI2: SETTING["psi2"], ex.F1S: 1.0, ex.NOISE2: 0.5, ex.FS2: 0.25}
    lam = 0.05
    k0 = rfrr.risk_deterministic_equivalent(math.inf, 2.0, lam, **KW)["k"]
    R0 = float(e.R0.subs(subs).subs(ex.K, k0))
    R1 = float(e.R1.subs(subs).subs(ex.K, k0))
    assert R0 == pytest.approx(rfrr.asymptotic_risk(math.inf, 2.0, lam, **KW), rel=1e-13)
    rem = []
    for psi1 in (200.0, 400.0, 800.0):
        r = rfrr.asymptotic_risk(psi1, 2.0, lam, **KW)
        rem.append((r - R0 - R1 / psi1) * psi1**2)
    # remainder / eps^2 tends to a constant: its changes halve (next order is eps^3)
    d1, d2 = rem[1] - rem[0], rem[2] - rem[1]
    assert abs(d2 / d1 - 0.5) < 0.05
    assert np.isfinite(rem).all()


def test_constants_match_richardson_extrapolated_rates(constants, table):
    fin = table[np.isfinite(table.psi1)].sort_values("psi1")
    assert constants["lam_star_inf"] == pytest.approx(table.lam_star.iloc[-1], rel=1e-9)
    assert constants["risk_star_inf"] == pytest.approx(table.risk_star.iloc[-1], rel=1e-12)
    for key in ("a_psi", "b_psi", "c_psi2"):
        v = fin[key].to_numpy()
        rich = 2 * v[-1] - v[-2]  # cancels the O(1/psi1) correction
        # remaining O(psi1^-2) ~ 1e-9 relative x constants O(10) at psi1 = 2^15;
        # 1e-4 leaves room for the numerical derivatives in the mpmath optimum
        assert rich == pytest.approx(constants[key], rel=1e-4)
        # without extrapolation the table is within O(1/psi1) = 3e-5 x O(10)
        assert v[-1] == pytest.approx(constants[key], rel=3e-3)


def test_c_is_curvature_times_b_squared_over_two(constants, table):
    c = constants
    assert c["c_psi2"] == pytest.approx(c["R0_uu"] * c["b_psi"] ** 2 / 2, rel=1e-12)
    assert c["R0_uu"] > 0 and c["a_psi"] > 0
    # the finite table: c / (R0'' b^2/2) -> 1 as psi1 grows
    big = table[table.psi1 == 2.0**15].iloc[0]
    assert big.c / (c["R0_uu"] * big.b**2 / 2) == pytest.approx(1.0, abs=1e-3)


def test_boundary_case_has_no_interior_minimum():
    with pytest.raises(ValueError, match="boundary"):
        ex.expansion_constants(psi2=2.0, F1=1.0, Fs=0.3, tau=0.1)


def test_symbolic_k1_is_the_implicit_derivative():
    e = ex.symbolic_expansion()
    # check k1 = dk/deps at fixed lam numerically at one point
    z2 = float(ex.relu_constants()[0])
    kk, h = 1.3, 1e-6
    L = ex.de_lambda(ex.K, ex.EPS).subs({ex.Z2: z2, ex.PSI2: 2.0})
    lam0 = float(L.subs({ex.K: kk, ex.EPS: 0}))
    k_h = sp.nsolve(L.subs(ex.EPS, h) - lam0, ex.K, kk, prec=30)
    k1 = float(e.k1.subs({ex.Z2: z2, ex.PSI2: 2.0, ex.K: kk}))
    assert float((k_h - kk) / h) == pytest.approx(k1, rel=1e-4)

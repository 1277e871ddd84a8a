"""Theorem 2: the sympy derivation of both exponents, of the iff and of the widths."""

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.proofs_check import theorem2 as t2
from fasttransfer.theory import grid_optimum as optimum
from fasttransfer.theory import grid_search as gs
from fasttransfer.theory import grid_studies as studies

alpha, beta, r, h = (t2.SYMBOLS[k] for k in ("alpha", "beta", "r", "h"))


@pytest.fixture(scope="module")
def symbolic():
    return {r.name: r for r in t2.check_all()}


def test_symbolic_checks_are_established(symbolic):
    assert set(symbolic) == {
        "direct_exponent",
        "transfer_exponent",
        "correction_exponent",
        "useful_iff",
        "width_exponents",
    }
    assert all(r.ok for r in symbolic.values()), [r.name for r in symbolic.values() if not r.ok]


def test_derived_exponents_equal_closed_forms(symbolic):
    e_d = symbolic["direct_exponent"].expressions["derived e_D"]
    tr = symbolic["transfer_exponent"].expressions
    # the paper's forms: 2 alpha/(h alpha + 2r), alpha/r, 2 beta/(h beta + r)
    assert sp.simplify(e_d - 2 * alpha / (h * alpha + 2 * r)) == 0
    assert sp.simplify(tr["final-run exponent e_1"] - alpha / r) == 0
    assert sp.simplify(tr["proxy-search exponent e_2"] - 2 * beta / (h * beta + r)) == 0
    num = symbolic["useful_iff"].expressions["numerator of e_2 - e_D"]
    assert sp.simplify(num / (r * (2 * beta - alpha))).is_positive


def test_two_term_exponent_derives_a_known_case():
    # min w^-1 + K^-1 s.t. K w = C: balance gives w = K = sqrt(C), E ~ C^-1/2
    e, _parts = t2.two_term_exponent(
        sp.Integer(1), sp.Integer(1), sp.Integer(1), sp.Integer(1), sp.Integer(1)
    )
    assert e == sp.Rational(1, 2)


@given(st.floats(0.01, 5.0), st.floats(0.0, 5.0), st.floats(0.05, 5.0), st.floats(1.0, 8.0))
def test_code_matches_derivation_and_iff(a, b, rr, hh):
    sym = {r_.name: r_ for r_ in (t2.check_direct_exponent(), t2.check_transfer_exponent())}
    subs = {alpha: a, beta: b, r: rr, h: hh}
    e_d = float(sym["direct_exponent"].expressions["derived e_D"].subs(subs))
    e_t = float(sym["transfer_exponent"].expressions["derived e_T"].subs(subs))
    # relative 1e-12: float64 round-off of a few arithmetic operations
    assert gs.exponent_direct(a, rr, hh) == pytest.approx(e_d, rel=1e-12)
    assert gs.exponent_transfer(a, b, rr, hh) == pytest.approx(e_t, rel=1e-12, abs=1e-300)
    if abs(b - a / 2) > 1e-9 * max(a, 1.0):  # away from the tie, floats decide exactly
        assert (e_t > e_d) == gs.is_useful(a, b) == (b > a / 2)


def test_tie_gives_equal_exponents():
    for a, rr, hh in [(0.5, 1.0, 1.0), (1.3, 0.4, 3.0), (2.0, 2.0, 2.0)]:
        assert gs.exponent_transfer(a, a / 2, rr, hh) == pytest.approx(
            gs.exponent_direct(a, rr, hh), rel=1e-14
        )
        assert not gs.is_useful(a, a / 2)


def test_correction_exponent_matches_code(symbolic):
    delta = symbolic["correction_exponent"].expressions["derived delta (e_1 < e_2)"]
    e1, e2 = sp.symbols("e_1 e_2", positive=True)
    # setting "fast, final run binds": e1 = 0.5, e2 = 1.0 -> delta = 0.25
    assert float(delta.subs({e1: 0.5, e2: 1.0})) == pytest.approx(
        studies.correction_exponent(0.5, 1.0, 1.0)
    )


def test_width_exponents_derived(symbolic):
    ex = symbolic["width_exponents"].expressions
    # direct tuning: the paper's n* ~ F^(2/(h alpha + 2r)) is the minimiser
    assert sp.simplify(ex["direct width (derived)"] - 2 / (h * alpha + 2 * r)) == 0
    assert sp.simplify(ex["proxy width within its share Q"] - 1 / (h * beta + r)) == 0
    assert sp.simplify(ex["proxy outgrows the target iff alpha >"] - (h + 2) * beta) == 0
    # the non-binding width differs from the paper's by a factor (1+e1)/(1+e2) != 1
    assert (
        sp.simplify(
            ex["final run binds: proxy width"]
            - (1 + alpha / r) / (1 + 2 * beta / (r + beta * h)) / (r + h * beta)
        )
        == 0
    )
    assert ex["final run binds: proxy minus paper"] != 0


@given(st.floats(0.05, 3.0), st.floats(0.01, 3.0), st.floats(0.2, 4.0), st.floats(1.0, 6.0))
def test_width_code_matches_derivation(a, b, rr, hh):
    code, sym = optimum.width_exponents(a, b, rr, hh), t2.derived_width_exponents(a, b, rr, hh)
    for k in ("direct", "proxy", "target"):
        assert getattr(code, k) == pytest.approx(sym[k], rel=1e-12)  # float64 round-off
    e1, e2 = a / rr, 2 * b / (rr + b * hh)
    if abs(e1 - e2) > 1e-9 and abs(a - (hh + 2) * b) > 1e-9:  # away from the boundaries
        assert code.regime == sym["regime"]
    # at every point the widths are rate-consistent: the proxy never outgrows the target
    assert code.proxy <= code.target + 1e-12


def test_width_check_fails_with_a_wrong_exponent():
    """The brute force discriminates: at the budgets of the check, fitting a width slope
    and comparing it with a wrong (the paper's, where it differs) exponent exceeds the
    tolerance by orders of magnitude."""
    import numpy as np

    cfg = studies.WidthStudyConfig(settings=(studies.SETTINGS[0],), points=3)
    tab = studies.width_slopes_table(studies.run_width_study(cfg), cfg)
    proxy = tab[tab.quantity.str.startswith("proxy width")].iloc[0]
    assert abs(proxy.fitted - proxy.derived) <= cfg.tolerance
    assert abs(proxy.fitted - proxy.paper) > 1e3 * cfg.tolerance
    assert np.all(np.abs(tab.error) <= cfg.tolerance)

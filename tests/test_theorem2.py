"""Theorem 2: the sympy derivation of both exponents and of the iff."""

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.proofs_check import theorem2 as t2
from fasttransfer.theory import grid_search as gs

alpha, beta, rho, h = (t2.SYMBOLS[k] for k in ("alpha", "beta", "rho", "h"))


@pytest.fixture(scope="module")
def symbolic():
    return {r.name: r for r in t2.check_all()}


def test_symbolic_checks_are_established(symbolic):
    assert set(symbolic) == {"direct_exponent", "transfer_exponent", "correction_exponent",
                             "useful_iff"}
    assert all(r.ok for r in symbolic.values()), [r.name for r in symbolic.values() if not r.ok]


def test_derived_exponents_equal_closed_forms(symbolic):
    e_d = symbolic["direct_exponent"].expressions["derived e_D"]
    tr = symbolic["transfer_exponent"].expressions
    assert sp.simplify(e_d - alpha / (rho + alpha * h / 2)) == 0
    assert sp.simplify(tr["final-run exponent e_1"] - alpha / rho) == 0
    assert sp.simplify(tr["proxy-search exponent e_2"] - 2 * beta / (rho + beta * h)) == 0
    num = symbolic["useful_iff"].expressions["numerator of e_2 - e_D"]
    assert sp.simplify(num / (rho * (2 * beta - alpha))).is_positive


def test_two_term_exponent_derives_a_known_case():
    # min w^-1 + K^-1 s.t. K w = C: balance gives w = K = sqrt(C), E ~ C^-1/2
    e, parts = t2.two_term_exponent(sp.Integer(1), sp.Integer(1), sp.Integer(1),
                                    sp.Integer(1), sp.Integer(1))
    assert e == sp.Rational(1, 2)


@given(st.floats(0.01, 5.0), st.floats(0.0, 5.0), st.floats(0.05, 5.0), st.floats(1.0, 8.0))
def test_code_matches_derivation_and_iff(a, b, r, hh):
    sym = {r_.name: r_ for r_ in (t2.check_direct_exponent(), t2.check_transfer_exponent())}
    subs = {alpha: a, beta: b, rho: r, h: hh}
    e_d = float(sym["direct_exponent"].expressions["derived e_D"].subs(subs))
    e_t = float(sym["transfer_exponent"].expressions["derived e_T"].subs(subs))
    # relative 1e-12: float64 round-off of a few arithmetic operations
    assert gs.exponent_direct(a, r, hh) == pytest.approx(e_d, rel=1e-12)
    assert gs.exponent_transfer(a, b, r, hh) == pytest.approx(e_t, rel=1e-12, abs=1e-300)
    if abs(b - a / 2) > 1e-9 * max(a, 1.0):  # away from the tie, floats decide exactly
        assert (e_t > e_d) == gs.is_useful(a, b) == (b > a / 2)


def test_tie_gives_equal_exponents():
    for a, r, hh in [(0.5, 1.0, 1.0), (1.3, 0.4, 3.0), (2.0, 2.0, 2.0)]:
        assert gs.exponent_transfer(a, a / 2, r, hh) == pytest.approx(gs.exponent_direct(a, r, hh),
                                                                       rel=1e-14)
        assert not gs.is_useful(a, a / 2)


def test_correction_exponent_matches_code(symbolic):
    delta = symbolic["correction_exponent"].expressions["derived delta (e_1 < e_2)"]
    e1, e2 = sp.symbols("e_1 e_2", positive=True)
    # setting "fast, final run binds": e1 = 0.5, e2 = 1.0 -> delta = 0.25
    assert float(delta.subs({e1: 0.5, e2: 1.0})) == pytest.approx(gs.correction_exponent(0.5, 1.0))

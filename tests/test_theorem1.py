"""Theorem 1: the sympy derivations and the numeric inequalities on random families."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.proofs_check import theorem1 as t1


@pytest.fixture(scope="module")
def symbolic():
    return {r.name: r for r in t1.check_all()}


def test_symbolic_checks_are_established(symbolic):
    assert set(symbolic) == {"taylor_sandwich", "chain", "exponent_algebra"}
    assert all(r.ok for r in symbolic.values()), [r.name for r in symbolic.values() if not r.ok]


def test_symbolic_expressions_are_the_theorem(symbolic):
    mu, L, b = sp.symbols("mu L b", positive=True)
    eps = sp.symbols("epsilon_n", positive=True)
    alpha = sp.symbols("alpha", positive=True)
    ex = symbolic["taylor_sandwich"].expressions
    assert sp.simplify(ex["lower bound mu * mass"] - mu * b**2 / 2) == 0
    assert sp.simplify(ex["upper bound L * mass"] - L * b**2 / 2) == 0
    ex = symbolic["chain"].expressions
    assert sp.simplify(ex["c_n bound"] - 2 * eps) == 0
    assert sp.simplify(ex["b_n bound"] - 2 * sp.sqrt(eps / mu)) == 0
    ex = symbolic["exponent_algebra"].expressions
    assert sp.simplify(ex["threshold beta"] - alpha / 2) == 0
    assert ex["lim c/a, beta = alpha/2 + d"] == 0
    assert ex["lim b_n n^(alpha/2), beta = alpha/2 - d"] == sp.oo
    # the latex rendering is what the verify report prints
    assert all(v.startswith("$") and v.endswith("$") for v in symbolic["chain"].latex().values())


family_params = st.fixed_dictionaries({
    "mu": st.floats(0.05, 20.0),
    "cond": st.floats(1.0, 50.0),
    "w": st.floats(0.05, 5.0),
    "eps": st.floats(1e-4, 2.0),
    "coef": st.lists(st.floats(-1.0, 1.0).filter(lambda c: abs(c) > 1e-3), min_size=1, max_size=5),
    "freq": st.floats(0.1, 40.0),
    "phase": st.floats(0.0, 6.3),
})


def _family(p, *, declared_eps_factor=1.0):
    J = len(p["coef"])
    coef = np.asarray(p["coef"], dtype=np.float64)[None, :]
    freq = p["freq"] * np.geomspace(1.0, 3.0, J)[None, :]
    phase = p["phase"] + np.arange(J, dtype=np.float64)[None, :]
    g = t1.measure_gaps(np.array([p["mu"]]), np.array([p["mu"] * p["cond"]]),
                        np.array([p["w"]]), np.array([p["eps"]]), coef, freq, phase,
                        points=2001)
    g["eps"] = g["eps"] * declared_eps_factor
    return g


@given(family_params)
def test_every_inequality_holds_on_random_families(p):
    slack = t1.inequality_slack(_family(p))
    assert slack["holds"], slack
    # every bounded ratio is <= 1 (1e-9: the rtol=1e-12 round-off allowance of
    # inequality_slack, relative to quantities that can be ~1e-3 of eps)
    assert all(v <= 1.0 + 1e-9 for k, v in slack.items() if k != "holds"), slack


def test_batched_random_families_hold_and_are_not_trivial():
    g = t1.random_families(np.random.default_rng(1), 60, [64, 256, 1024, 4096])
    slack = t1.inequality_slack(g)
    assert slack["holds"], slack
    # the families really move the optimum: b_n reaches a sizeable share of its bound
    assert slack["b_n / (2 sqrt(eps_n/mu))"] > 0.2
    assert g["a"].shape == (60, 4)


def test_inequality_check_detects_a_false_eps():
    # declare eps 20x smaller than the real perturbation: Theorem 1's bounds must break
    # for a family that moves its optimum (a check that cannot fail would pass here)
    p = {"mu": 1.0, "cond": 2.0, "w": 1.0, "eps": 0.5, "coef": [1.0], "freq": 3.0, "phase": 0.3}
    slack = t1.inequality_slack(_family(p, declared_eps_factor=0.05))
    assert not slack["holds"]


def test_tight_family_ratio_is_constant_across_widths():
    tf = t1.tight_family(np.array([16.0, 256.0, 4096.0, 65536.0]), mu=2.0)
    r_c = tf["c"] / (2 * tf["eps"])
    r_b = tf["b"] / (2 * np.sqrt(tf["eps"] / tf["mu"]))
    # scale invariance makes the ratios identical up to round-off (1e-9 relative)
    np.testing.assert_allclose(r_c, r_c[0], rtol=1e-9)
    np.testing.assert_allclose(r_b, r_b[0], rtol=1e-9)
    assert 0.3 < r_c[0] <= 1.0 and 0.5 < r_b[0] <= 1.0
    assert t1.inequality_slack(tf)["holds"]

"""Proposition 1 (check `theorem1`): the sympy derivations and the numeric inequalities on random families."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.proofs_check import theorem1 as t1


@pytest.fixture(scope="module")
def symbolic():
    return {r.name: r for r in t1.check_all()}


E, MU, L, ALPHA = t1.EPS, t1.MU, t1.L, t1.ALPHA


def test_symbolic_checks_are_established(symbolic):
    assert set(symbolic) == {
        "chain",
        "loss_gap",
        "taylor_sandwich",
        "hp_gap",
        "exponent_conditions",
    }
    assert all(r.ok for r in symbolic.values()), [r.name for r in symbolic.values() if not r.ok]


def test_derived_expressions_are_the_proposition(symbolic):
    ex = symbolic["chain"].expressions
    assert [ex[f"bracket {i} <= (derived)"] for i in (1, 2, 3)] == [E, 0, E]
    assert ex["c_n bound (sum of brackets)"] == 2 * E and ex["a_n bound"] == E
    # the brackets lose nothing: the tightest bound from the same facts is also 2 eps
    assert ex["tightest c_n bound from the facts"] == 2 * E
    ex = symbolic["loss_gap"].expressions
    assert (
        ex["a_n >= (derived)"] == t1.C_LO * t1.ABAR and ex["a_n <= (derived)"] == t1.C_HI * t1.ABAR
    )
    ex = symbolic["taylor_sandwich"].expressions
    assert ex["k_lo = lim lower/b^2"] == MU / 2 and ex["k_hi = lim upper/b^2"] == L / 2
    assert (
        sp.simplify(symbolic["hp_gap"].expressions["b_n bound (derived)"] - 2 * sp.sqrt(E / MU))
        == 0
    )
    ex = symbolic["exponent_conditions"].expressions
    assert ex["threshold beta (derived)"] == ALPHA / 2
    assert ex["lim c/a, beta = threshold + d"] == 0 and ex["lim c/a, beta = threshold - d"] == sp.oo
    assert ex["smallest beta allowed"] == ALPHA / 2
    # the latex rendering is what the verify report prints
    assert all(v.startswith("$") and v.endswith("$") for v in symbolic["chain"].latex().values())


def test_bracket_certificates_use_the_assumptions_they_should():
    facts = t1.uniform_gap() + t1.minimisers()
    nu, nus, pn, pi = t1.NU_N, t1.NU_STAR, t1.PHI_N, t1.PHI_INF
    brackets = [pi(nu) - pn(nu), pn(nu) - pn(nus), pn(nus) - pi(nus)]
    certs = [t1.derive_upper_bound(br, facts).certificate for br in brackets]
    assert certs == [
        {"phi_inf - phi_n <= eps at nu = nu_n": 1},
        {"nu_n minimises phi_n at nu = nu_star": 1},
        {"phi_n - phi_inf <= eps at nu = nu_star": 1},
    ]
    # the report shows them escaped for LaTeX's text mode
    assert r"nu\_n minimises" in str(t1.check_chain().expressions["bracket 2 certificate"])


# ------------------------------------------------------------- mutations: each step can fail
@pytest.mark.parametrize(
    "facts",
    [
        t1.uniform_gap(),  # minimiser properties dropped
        t1.uniform_gap()[:1] + t1.minimisers(),  # one-sided gap: phi_n - phi_inf <= eps only
        t1.uniform_gap()[1:] + t1.minimisers(),  # the other side only
        t1.uniform_gap(2 * E) + t1.minimisers(),  # a weaker gap than the claim needs
        t1.uniform_gap() + t1.minimisers()[1:],  # nu_n not a minimiser of phi_n
    ],
    ids=["no-minimisers", "gap-upper-only", "gap-lower-only", "gap-2eps", "no-argmin-phi_n"],
)
def test_chain_fails_under_a_mutated_assumption(facts):
    assert not t1.check_chain(facts).ok


def test_chain_fails_with_a_wrong_constant():
    assert not t1.check_chain(claimed_c=E).ok
    assert not t1.check_chain(claimed_c=sp.Rational(19, 10) * E).ok
    assert not t1.check_chain(claimed_a=E / 2).ok
    assert t1.check_chain(claimed_c=3 * E).ok  # a weaker (true) claim still follows


@given(st.fractions(min_value=0, max_value=4, max_denominator=50))
def test_chain_claim_follows_iff_its_constant_is_at_least_two(k):
    assert t1.check_chain(claimed_c=sp.Rational(k.numerator, k.denominator) * E).ok == (k >= 2)


def test_bound_not_derivable_reports_why():
    bound = t1.derive_upper_bound(t1.PHI_INF(t1.NU_N) - t1.PHI_INF(t1.NU_STAR), t1.uniform_gap())
    assert bound.value is None and bound.reason


def test_loss_gap_fails_under_mutation():
    assert not t1.check_loss_gap(t1.locally_tight_gap()).ok  # minimisers dropped
    assert not t1.check_loss_gap(claimed=(2 * t1.C_LO * t1.ABAR, t1.C_HI * t1.ABAR)).ok
    assert not t1.check_loss_gap(claimed=(t1.C_LO * t1.ABAR, t1.C_HI * t1.ABAR / 2)).ok
    # a gap that is not tight from below (c = 0): a_n is no longer Theta(abar_n)
    assert not t1.check_loss_gap(
        t1.locally_tight_gap(c=0) + t1.minimisers(), claimed=(0, t1.C_HI * t1.ABAR)
    ).ok


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(gradient=sp.Symbol("g", positive=True)),  # nu* not a stationary point
        dict(gradient=sp.Symbol("g", negative=True)),
        dict(curvature=(0, L)),  # no strong convexity
        dict(curvature=(MU, sp.oo)),  # no smoothness
        dict(claimed=(MU, L / 2)),  # wrong lower constant
        dict(claimed=(MU / 2, L / 4)),  # wrong upper constant
        dict(curvature=(MU / 2, L), claimed=(MU / 2, L / 2)),  # weaker curvature than claimed
    ],
    ids=["grad+", "grad-", "mu=0", "L=oo", "claim-mu", "claim-L/4", "weak-curvature"],
)
def test_taylor_sandwich_fails_under_mutation(kwargs):
    assert not t1.check_taylor_sandwich(**kwargs).ok


def test_taylor_sandwich_derives_other_constants():
    # curvature in [2, 6]: the sandwich derived is [1, 3] b^2 -- nothing is typed in
    r = t1.check_taylor_sandwich(curvature=(2, 6), claimed=(1, 3))
    assert r.ok and r.expressions["k_lo = lim lower/b^2"] == 1
    assert r.expressions["k_hi = lim upper/b^2"] == 3
    # a position-dependent lower curvature mu (1 + (t - x*)^2) still gives mu/2 near 0
    xs = sp.Symbol("x_star", real=True)
    assert t1.check_taylor_sandwich(curvature=(MU * (1 + (t1.T - xs) ** 2), L)).ok


def test_hp_gap_and_exponent_conditions_fail_under_mutation():
    assert not t1.check_hp_gap(claimed=sp.sqrt(E / MU)).ok
    assert not t1.check_hp_gap(k_lo=0).ok  # no strong convexity: b unbounded
    assert not t1.check_hp_gap(chain_bound=4 * E).ok
    assert not t1.check_exponent_conditions(claimed_threshold=ALPHA / 3).ok
    assert not t1.check_exponent_conditions(k_lo=0).ok  # c only O(b^2): no Theta
    assert not t1.check_exponent_conditions(k_hi=sp.oo).ok


family_params = st.fixed_dictionaries(
    {
        "mu": st.floats(0.05, 20.0),
        "cond": st.floats(1.0, 50.0),
        "w": st.floats(0.05, 5.0),
        "eps": st.floats(1e-4, 2.0),
        "coef": st.lists(
            st.floats(-1.0, 1.0).filter(lambda c: abs(c) > 1e-3), min_size=1, max_size=5
        ),
        "freq": st.floats(0.1, 40.0),
        "phase": st.floats(0.0, 6.3),
    }
)


def _family(p, *, declared_eps_factor=1.0):
    J = len(p["coef"])
    coef = np.asarray(p["coef"], dtype=np.float64)[None, :]
    freq = p["freq"] * np.geomspace(1.0, 3.0, J)[None, :]
    phase = p["phase"] + np.arange(J, dtype=np.float64)[None, :]
    g = t1.measure_gaps(
        np.array([p["mu"]]),
        np.array([p["mu"] * p["cond"]]),
        np.array([p["w"]]),
        np.array([p["eps"]]),
        coef,
        freq,
        phase,
        points=2001,
    )
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


def test_certificates_derive_the_finite_width_transfer_bound():
    """The same machinery, two finite widths m < n: c_{m->n} = phi_n(nu_m) - phi_n(nu_n)
    <= 2 (eps_m + eps_n) follows from the two uniform gaps to phi_inf and nu_m minimising
    phi_m (five brackets through phi_inf); without the gap of phi_m it does not."""
    nu_m, nu_n = sp.symbols("nu_m nu_n", real=True)
    phi_m, phi_n = sp.Function("phi_m"), sp.Function("phi_n")
    eps_m, eps_n = sp.symbols("epsilon_m epsilon_n", positive=True)
    gap = lambda f, e: (
        t1.Fact(f"{f} - phi_inf <= e", f(t1.NU) - t1.PHI_INF(t1.NU) <= e),
        t1.Fact(f"phi_inf - {f} <= e", t1.PHI_INF(t1.NU) - f(t1.NU) <= e),
    )
    facts = (
        gap(phi_m, eps_m)
        + gap(phi_n, eps_n)
        + (t1.Fact("nu_m minimises phi_m", phi_m(nu_m) <= phi_m(t1.NU)),)
    )
    target = phi_n(nu_m) - phi_n(nu_n)
    bound = t1.derive_upper_bound(target, facts, points=(nu_m, nu_n))
    assert sp.simplify(bound.value - 2 * (eps_m + eps_n)) == 0
    assert (
        t1.derive_upper_bound(target, gap(phi_n, eps_n) + facts[-1:], points=(nu_m, nu_n)).value
        is None
    )

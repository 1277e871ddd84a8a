"""theory.algorithm1: Algorithm 1 as published and the decomposition rate, on grid
functions and constructed profiles whose answers are known."""

import math
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from topk_profiles import HP, WIDTHS
from topk_profiles import frames as _frames

from fasttransfer.theory.algorithm1 import (
    Algorithm1Settings,
    algorithm1,
    conv_err,
    curvature3,
    decomposition_rate,
    lip,
    minimize_proxy,
    profiles,
    rate_bound,
)


# ------------------------------------------------------------------ grid tools
@settings(max_examples=30, deadline=None)
@given(
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
    c=st.floats(-3, 3),
    steps=st.lists(st.floats(0.1, 1.0), min_size=3, max_size=8),
)
def test_curvature_and_lip_are_exact_on_polynomials(a, b, c, steps):
    x = np.concatenate([[0.0], np.cumsum(steps)])
    # three-point divided differences are exact for a quadratic on any grid
    np.testing.assert_allclose(curvature3(x, a * x**2 + b * x + c), 2 * a, atol=1e-9)
    # the linear interpolant of a line has Lipschitz constant |slope|
    np.testing.assert_allclose(lip(x, b * x + c), abs(b), atol=1e-9)


def test_conv_err_counts_negative_interior_curvature():
    x = np.arange(6.0)
    assert conv_err(x, x**2) == 0.0
    assert conv_err(x, -(x**2)) == 1.0
    # one kink down among 4 interior points
    f = np.array([0.0, 1.0, 4.0, 3.0, 4.0, 7.0])
    assert conv_err(x, f) == np.mean(curvature3(x, f) < 0) == 0.25


def test_tau_pairs_follow_the_published_order():
    pairs = Algorithm1Settings(tau_steps=(0.0, 1.0, 2.0)).tau_pairs(0.5)
    assert pairs[0] == (0.0, 0.0)
    sums = [a + b for a, b in pairs]
    assert sums == sorted(sums)
    for p, q in pairwise(pairs):  # ties broken by the smaller tau_1
        if p[0] + p[1] == q[0] + q[1]:
            assert p[0] < q[0]
    assert len(pairs) == 9


# ------------------------------------------------------------------ Algorithm 1
def test_algorithm1_finds_a_known_constant_kappa():
    prof, final = _frames(5)
    khat = algorithm1(profiles(prof, final))
    assert set(khat) == set(WIDTHS[:-1])
    for kh in khat.values():
        assert kh.kappa == (5,) * len(HP)
        # (0, 0) gives kappa = 0, concave top part: rejected; (0, h/4) is the next pair
        assert kh.tried == 2 and kh.tau == (0.0, 0.125)


def test_algorithm1_returns_a_per_learning_rate_vector():
    k0 = np.array([2, 3, 4, 5, 6, 6, 5, 4, 3])
    prof, final = _frames(k0, s=0.6)  # k0 s > 1 at every point: top^0 concave
    for kh in algorithm1(profiles(prof, final)).values():
        assert kh.kappa == tuple(int(k) for k in k0)


def test_minimize_proxy_starts_at_half_width_and_stops_at_a_coordinate_minimum():
    prof, final = _frames(5)
    P = profiles(prof, final)
    args = (P.hp, P.topk[0], P.topk[-1], P.residual[0], P.residual[-1])
    # tau = (0, 0): the invariance term is 0 for every k <= 5; the start (clipped to
    # K_max) is not a minimiser, so every coordinate moves to the first minimiser, 0
    assert np.all(minimize_proxy(*args, (0.0, 0.0), start=32) == 0)
    # starting at a minimiser already (a strict decrease is needed to move): stays
    assert np.all(minimize_proxy(*args, (0.0, 0.0), start=3) == 3)


def test_algorithm1_fails_when_no_truncation_is_convex():
    # every top-k curve concave: the convexity gate rejects every tau pair
    prof, final = _frames(5, top_override=lambda n, x, k: -(x**2) - k)
    for kh in algorithm1(profiles(prof, final)).values():
        assert kh.failed and kh.tried == 49 and "no tau pair" in kh.reason


def test_algorithm1_fails_when_the_top_part_misplaces_the_optimum():
    # convex top parts with their minimum at the grid's edge, total's minimum in the middle
    prof, final = _frames(5, top_override=lambda n, x, k: (x - 2.0) ** 2 + k)
    final = final.assign(loss=final["hp"] ** 2)
    for kh in algorithm1(profiles(prof, final)).values():
        assert kh.failed


# ---------------------------------------------------------- decomposition rate
def test_decomposition_rate_matches_its_formula():
    # top^k = T + shift(n), T = hp^2 (mu = 2); residual slope 0 at k >= 5
    prof, final = _frames(5, shift=lambda n: 10.0 / n)
    P = profiles(prof, final)
    d = decomposition_rate(P, 0, 5)
    delta = 10.0 / 64 - 10.0 / 2**20
    assert math.isclose(d["eps_inv"], delta / 2.0, rel_tol=1e-9)
    assert d["eps_flat"] == 0.0
    assert math.isclose(d["J"], 2 * math.sqrt(delta / 2.0), rel_tol=1e-9)
    # below k0 the residual has slope (5 - k) s |g'| over the region; eps_flat > 0
    assert decomposition_rate(P, 0, 3)["eps_flat"] > 0
    # concave top part (k = 0): J undefined (inf), excluded from t_n
    assert decomposition_rate(P, 0, 0)["J"] == math.inf
    rb = rate_bound(P, algorithm1(P))
    assert np.all(rb["k_at_t_n"] == 5)
    np.testing.assert_allclose(rb["t_n"], rb["J_kappa_hat"])
    assert rb["bound_holds"].all() and np.all(rb["b_n"] == 0)
    # a measured shift beyond t_n violates the bound
    far = rate_bound(P, b={n: 1.0 for n in WIDTHS[:-1]})
    assert not far["bound_holds"].any() and np.all(far["t_n"] < 1.0)
    # no k with positive curvatures: t_n undefined, the bound neither holds nor fails
    prof, final = _frames(5, top_override=lambda n, x, k: -(x**2) - k)
    und = rate_bound(profiles(prof, final))
    assert np.all(np.isinf(und["t_n"])) and all(v is None for v in und["bound_holds"])


# ---------------------------------------------------------------- Hypothesis 1

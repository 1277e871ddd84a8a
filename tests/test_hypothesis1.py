"""theory.hypothesis1: the Hypothesis 1 statistics, on constructed profiles whose answers
are known."""

import numpy as np
from topk_profiles import K
from topk_profiles import frames as _frames

from fasttransfer.theory.algorithm1 import profiles, rank_bounded
from fasttransfer.theory.hypothesis1 import hypothesis1, seed_split


def test_hypothesis1_holds_on_a_constructed_fast_case():
    prof, final = _frames(5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0)
    h1 = hypothesis1(prof, final, alpha=0.5)
    assert h1.held_out and h1.selection_seeds == (0,) and h1.test_seeds == (1,)
    assert h1.found and h1.convexity and h1.invariance and h1.flatness and h1.holds
    # D_n = 10 (n^-2 - nmax^-2): gamma = 2 to the proxy's tiny bias
    assert abs(h1.gamma[0] - 2.0) < 1e-3
    np.testing.assert_allclose(h1.per_width["mu_topk"], 2.0, rtol=1e-9)


def test_each_condition_fails_on_its_counter_case():
    fast = dict(seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0)
    # convexity: the held-out seed's curves are flat (the selection seed's are convex)
    prof, final = _frames(5, **fast, seed_extra=lambda s, x: (0.0, -(x**2)) if s == 1 else (0, 0))
    h1 = hypothesis1(prof, final, alpha=0.5)
    assert h1.found and not h1.convexity and not h1.holds
    # invariance: the top-kappa gap shrinks like n^-0.2, slower than the loss (alpha 0.5)
    prof, final = _frames(5, seeds=(0, 1), shift=lambda n: 10.0 * n**-0.2)
    h1 = hypothesis1(prof, final, alpha=0.5)
    assert h1.convexity and h1.flatness and not h1.invariance
    assert h1.gamma[2] < 0.5
    # the same gap passes against a slower loss (alpha 0.1): the rule is the rate
    assert hypothesis1(prof, final, alpha=0.1).invariance
    # flatness: the held-out (test) seed's residual has slope 2 at every width, its
    # total's curvature is 2: eps_flat = 2/2 + 2/2 = 2 HP units > b_n + 2 SE = 0 + 2 h/2
    prof, final = _frames(5, **fast, seed_extra=lambda s, x: (2.0 * x, 0.0) if s == 1 else (0, 0))
    h1 = hypothesis1(prof, final, alpha=0.5)
    assert h1.convexity and h1.invariance and not h1.flatness
    np.testing.assert_allclose(h1.per_width["eps_flat"], 2.0, rtol=1e-9)


def test_one_seed_and_rank_bounded_spectra_are_flagged():
    prof, final = _frames(5, shift=lambda n: 10.0 * n**-2.0)
    h1 = hypothesis1(prof, final, alpha=0.5)
    assert not h1.held_out and any("same seed" in r for r in h1.reasons)
    assert seed_split([3, 1, 2]) == ((1, 2), (3,))
    assert not rank_bounded(profiles(prof, final))
    # residual at K_max identically zero (all directions captured): rank-bounded
    prof0 = prof.assign(residual=np.where(prof["k"] == K, 0.0, prof["residual"]))
    assert rank_bounded(profiles(prof0, final))

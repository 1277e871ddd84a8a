"""simulations.hypothesis1: Algorithm 1 and the Hypothesis 1 statistics on profiles with
known answers."""

import numpy as np
import pandas as pd

from fasttransfer.simulations.hypothesis1 import hypothesis1, kappa_hat


def _synthetic_profile(widths, hp, K, a_of_n, b, flat_slope=0.0):
    """phi_n^k(nu) = (nu - 0)^2 + k^2 a_n  (invariance gap k^2 (a_n - a_nmax));
    phi_n^-k(nu) = (K - k) b |nu| / Delta + flat_slope * nu  (variation over the window
    = (K - k) b when flat_slope = 0). Algorithm 1's minimiser: kappa = b / (2 (a_n - a_nmax))."""
    rows, frows = [], []
    delta = 2 * (hp[1] - hp[0])
    for n in widths:
        for x in hp:
            for k in range(K + 1):
                rows.append({"width": n, "hp": x, "seed": 0, "k": k,
                             "topk": x**2 + k**2 * a_of_n(n),
                             "residual": (K - k) * b * abs(x) / delta + flat_slope * x})
            frows.append({"width": n, "hp": x, "seed": 0,
                          "loss": x**2 + K**2 * a_of_n(n) + flat_slope * x})
    return pd.DataFrame(rows), pd.DataFrame(frows)


def test_algorithm1_and_hypothesis1_on_a_known_profile():
    widths = [64, 128, 256, 1024]
    hp = np.linspace(-2, 2, 9)
    K = 20
    a = lambda n: 1.0 / n  # noqa: E731
    b = 0.125
    prof, final = _synthetic_profile(widths, hp, K, a, b)
    khat, J = kappa_hat(prof, final, window=2)
    for n in widths[:-1]:
        expected = b / (2 * (a(n) - a(1024)))
        # J is a convex parabola in k: the integer argmin is within 1/2 of its vertex
        assert abs(khat[n] - min(expected, K)) <= 0.5 + 1e-9
    assert np.isnan(khat[1024])
    h1 = hypothesis1(prof, final, window=2)
    pw = h1.per_width
    # curvature of nu^2 is 2, exactly (a quadratic fitted to a quadratic)
    np.testing.assert_allclose(pw["curvature"], 2.0, rtol=1e-9)
    assert h1.convexity_pass and h1.invariance_pass
    # the residual's window variation (K - kappa) b vs mu Delta^2/2 = 1 * 1^2: flat here
    assert h1.flatness_pass == bool(np.all(pw["flatness_ratio"] < 1))
    assert h1.invariance_slope[2] < 0


def test_hypothesis1_detects_a_sloped_residual_and_a_width_independent_gap():
    widths = [64, 128, 256, 1024]
    hp = np.linspace(-2, 2, 9)
    # residual with slope 3 >> curvature * window: flatness must fail
    prof, final = _synthetic_profile(widths, hp, 8, lambda n: 1.0 / n, 0.0, flat_slope=3.0)
    h1 = hypothesis1(prof, final, window=2, kappa=4)
    assert not h1.flatness_pass and not h1.holds
    # top-k gap that does not shrink with width (a_n alternating): invariance must fail
    prof, final = _synthetic_profile(widths, hp, 8, lambda n: 0.01 * (1 + (n == 128)) if n < 1024
                                     else 0.0, 0.01)
    h1 = hypothesis1(prof, final, window=2, kappa=4)
    assert not h1.invariance_pass
    # concave top-k part: convexity must fail
    prof2 = prof.assign(topk=-prof["topk"])
    h1 = hypothesis1(prof2, final, window=2, kappa=4)
    assert not h1.convexity_pass

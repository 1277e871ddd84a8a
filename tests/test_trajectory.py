"""simulations.trajectory: the EMA recorder, its faithfulness, Hypothesis 1, Algorithm 1."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from fasttransfer.simulations.alignment import alignment_eigenvalues
from fasttransfer.simulations.trajectory import (
    Problem,
    RecorderConfig,
    TrajectoryRecorder,
    hypothesis1,
    kappa_hat,
    run_width,
    tidy_results,
)

F64 = jnp.float64


def _quadratic_problem():
    """phi(w) = 1/2 |A W B - C|^2 + 1/2 |v - c|^2: a quadratic, where the trapezoid rule
    is exact (<(G_a + G_b)/2, b - a> = phi(b) - phi(a) for any quadratic)."""
    rng = np.random.default_rng(0)
    A = jnp.asarray(rng.normal(size=(6, 5)), F64)
    B = jnp.asarray(rng.normal(size=(7, 4)), F64)
    C = jnp.asarray(rng.normal(size=(6, 4)), F64)
    c = jnp.asarray(rng.normal(size=(7,)), F64)

    def eval_loss(p):
        r = A @ p["W"] @ B - C
        return 0.5 * jnp.sum(r * r) + 0.5 * jnp.sum((p["v"] - c) ** 2)

    def init(key):
        k1, k2 = jax.random.split(key)
        return {"W": jax.random.normal(k1, (5, 7), F64), "v": jax.random.normal(k2, (7,), F64)}

    def batch(key):  # noisy gradients: the raw trajectory is rough, the EMA smooth
        return jax.random.normal(key, (5, 7), F64)

    def loss(p, noise):
        return eval_loss(p) + jnp.sum(noise * p["W"])

    mult = {"W": jnp.asarray(1.0, F64), "v": jnp.asarray(1.0, F64)}
    return Problem(init, batch, loss, eval_loss, mult)


def test_trapezoid_is_exact_on_a_quadratic():
    prob = _quadratic_problem()
    cfg = RecorderConfig(ema=0.8, k_max=3, record_every=5, rule="trapezoid")
    lrs = np.array([1e-3, 3e-2])
    res = run_width(prob, lrs, [0, 1], steps=50, config=cfg)
    cum = res["loss0"][..., None] + np.cumsum(res["lin"].sum(-1), -1)
    scale = np.abs(res["loss0"]).max()
    # exact up to float64 rounding of ~10 sums of O(scale) terms
    np.testing.assert_allclose(cum, res["loss"], rtol=0, atol=1e-10 * scale)
    # the loss really moved (the identity is not trivially 0 = 0)
    assert np.all(res["loss0"] - res["loss"][..., -1] > 1e-3 * scale)
    # trace identity per record and layer: top-k (all kept) + rest = <G, dW>
    np.testing.assert_allclose(res["top"].sum(-1) + res["rest"], res["lin"], rtol=0,
                               atol=1e-10 * scale)
    # the left-point rule is not exact there: its error is sum_r 1/2 dW^T H dW > 0
    left = run_width(prob, lrs, [0, 1], steps=50, config=RecorderConfig(
        ema=0.8, k_max=3, record_every=5, rule="left"))
    cum_left = left["loss0"][..., None] + np.cumsum(left["lin"].sum(-1), -1)
    assert np.all(cum_left[..., -1] < left["loss"][..., -1])


def test_records_match_a_hand_computed_spectrum():
    prob = _quadratic_problem()
    cfg = RecorderConfig(ema=0.5, k_max=4, record_every=1, rule="left", side="in")
    rec = TrajectoryRecorder(prob.eval_loss, cfg)
    p0 = prob.init(jax.random.PRNGKey(1))
    p1 = jax.tree_util.tree_map(lambda x: x - 0.1 * jnp.sin(x), p0)
    st = rec.init(p0)
    st = rec.ema_update(st, p1)
    st2, r = rec.record(st, p1)
    G = jax.grad(prob.eval_loss)(p0)
    dW = jax.tree_util.tree_map(lambda e, a: e - a, st.ema, p0)
    np.testing.assert_allclose(np.asarray(dW["W"]), 0.5 * np.asarray(p1["W"] - p0["W"]))
    for i, key in enumerate(sorted(G)):  # tree leaves are in sorted key order
        lam = np.asarray(alignment_eigenvalues(np.asarray(G[key]), np.asarray(dW[key])))
        top = np.zeros(4)
        top[: min(4, len(lam))] = lam[:4]
        np.testing.assert_allclose(np.asarray(r.top[i]), top, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(float(r.lin[i]), np.vdot(G[key], dW[key]), rtol=1e-12)
    np.testing.assert_allclose(float(r.loss), float(prob.eval_loss(st.ema)), rtol=1e-14)
    # the anchor moves to the EMA point
    np.testing.assert_array_equal(np.asarray(st2.anchor["W"]), np.asarray(st.ema["W"]))


def test_jitted_record_does_not_recompile():
    prob = _quadratic_problem()
    traces = []

    def eval_loss(p):
        traces.append(1)  # runs at trace time only
        return prob.eval_loss(p)

    rec = TrajectoryRecorder(eval_loss, RecorderConfig(k_max=2))
    step = jax.jit(lambda st, p: rec.record(rec.ema_update(st, p), p))
    p = prob.init(jax.random.PRNGKey(0))
    st = rec.init(p)
    n0 = len(traces)
    st, _ = step(st, p)
    n1 = len(traces)
    p2 = jax.tree_util.tree_map(lambda x: 0.9 * x, p)
    st, r = step(st, p2)
    assert n1 > n0
    assert len(traces) == n1  # the second call reused the compiled step
    assert np.isfinite(float(r.loss))


def test_tidy_profile_identities():
    prob = _quadratic_problem()
    cfg = RecorderConfig(ema=0.8, k_max=3, record_every=5)
    lrs = np.array([1e-3, 1e-2, 3e-2])
    res = run_width(prob, lrs, [0], steps=20, config=cfg)
    t = tidy_results(7, lrs, [0], res, record_every=5, k_curves=(1, 3))
    prof, final, curves = t["profile"], t["final"], t["curves"]
    assert len(prof) == 3 * 4 and len(final) == 3 and len(curves) == 2 * 3 * 4
    k0 = prof[prof["k"] == 0].set_index("hp")["topk"]
    np.testing.assert_allclose(k0.to_numpy(), final.set_index("hp")["loss0"].to_numpy())
    s = prof.assign(tot=prof["topk"] + prof["residual"]).groupby("hp")["tot"]
    np.testing.assert_allclose(s.max() - s.min(), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.mean().to_numpy(), final.set_index("hp")["linearised"].to_numpy())
    assert np.all(final["faithfulness"] < 1e-8)  # quadratic + trapezoid: exact


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


@pytest.mark.parametrize("bad", [dict(ema=1.0), dict(rule="midpoint"), dict(k_max=0)])
def test_config_validation(bad):
    from fasttransfer.theory.errors import InputError

    with pytest.raises(InputError):
        RecorderConfig(**bad)

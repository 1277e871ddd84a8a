"""simulations.relu_net: the model, data, target and loss of the paper's
Figures 2 and 5."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import chi2

from fasttransfer.simulations import mup, relu_net


@pytest.mark.parametrize("d", [1, 2, 8, 30])
def test_median_radius(d):
    r = relu_net.median_radius(d)
    # P(|x|^2 <= r^2) = 1/2; gammaincinv is accurate to ~1e-14 relative
    assert chi2.cdf(r * r, d) == pytest.approx(0.5, abs=1e-12)
    if d == 1:
        assert r == pytest.approx(0.6744897501960817, rel=1e-12)  # the normal quartile


def test_ball_target():
    x = jnp.asarray([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.5]], jnp.float64)
    y = relu_net.ball_target(x, 1.0)
    assert y.dtype == jnp.float64
    np.testing.assert_array_equal(np.asarray(y), [1.0, 1.0, 0.0, 1.0])  # |x|^2 <= 1 inclusive


def test_ball_target_sides():
    x = jnp.asarray([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], jnp.float64)
    np.testing.assert_array_equal(
        np.asarray(relu_net.ball_target(x, 1.0, side="outside")), [0.0, 0.0, 1.0]
    )
    with pytest.raises(ValueError):
        relu_net.ball_target(x, 1.0, side="on")


def test_kindex_target_exact():
    """y = sqrt((d/(4k)) sum_{i<=k} x_i^2): d = 4, k = 2 -> y = sqrt((x_1^2 + x_2^2)/2)."""
    x = jnp.asarray([[3.0, 4.0, 9.0, 9.0], [1.0, 1.0, 0.0, 5.0]], jnp.float64)
    np.testing.assert_allclose(
        np.asarray(relu_net.kindex_target(x, 2)), [math.sqrt(12.5), 1.0], rtol=1e-15
    )
    with pytest.raises(ValueError):
        relu_net.kindex_target(x, 5)


def test_kindex_task_second_moment():
    """x ~ N(0, (4/d) I): E y^2 = 1 exactly (chi^2_k / k); Monte Carlo within 4 s.e.
    (Var(chi^2_k / k) = 2/k)."""
    M, d, k = 100_000, 64, 15
    task = relu_net.Task(name="kindex", d=d, k=k)
    assert task.input_std == pytest.approx(2 / math.sqrt(d))
    x, y = task.sample(jax.random.PRNGKey(8), M, jnp.float64)
    assert x.shape == (M, d) and y.shape == (M,)
    assert float(jnp.mean(x * x)) == pytest.approx(4 / d, rel=4 * math.sqrt(2 / (M * d)))
    assert abs(float(jnp.mean(y * y)) - 1.0) < 4 * math.sqrt(2 / k / M)


def test_ball_task_is_the_papers_label():
    """The paper's label: y = 1 outside the median ball, classes balanced."""
    task = relu_net.Task(name="ball", d=64)
    x, y = task.sample(jax.random.PRNGKey(9), 4096, jnp.float64)
    np.testing.assert_array_equal(
        np.asarray(y),
        np.asarray(jnp.sum(x * x, axis=1) > relu_net.median_radius(64) ** 2).astype(float),
    )
    with pytest.raises(ValueError):
        relu_net.Task(name="xor")


@pytest.mark.parametrize("f,y", [(0.0, 1.0), (3.0, 0.0), (-40.0, 1.0), (40.0, 1.0)])
def test_bce_is_the_log_loss(f, y):
    s = 1 / (1 + math.exp(-f))
    expected = -(y * math.log(s) if y else 0.0) - ((1 - y) * math.log(1 - s) if y < 1 else 0.0)
    got = float(relu_net.per_sample_loss(jnp.float64(f), jnp.float64(y), "bce"))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    grad = jax.grad(lambda z: relu_net.per_sample_loss(z, jnp.float64(y), "bce"))(jnp.float64(f))
    assert float(relu_net.loss_derivative(jnp.float64(f), jnp.float64(y), "bce")) == pytest.approx(
        float(grad), rel=1e-12, abs=1e-15
    )
    with pytest.raises(ValueError):
        relu_net.per_sample_loss(jnp.float64(f), jnp.float64(y), "hinge")


def test_target_balance():
    """With the median radius half the inputs are inside: Monte-Carlo within 4 standard
    errors (sqrt(1/4 / M))."""
    M, d = 200_000, 8
    x = relu_net.sample_inputs(jax.random.PRNGKey(3), M, d, jnp.float64)
    assert x.shape == (M, d) and x.dtype == jnp.float64
    frac = float(jnp.mean(relu_net.ball_target(x, relu_net.median_radius(d))))
    assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / M)


@pytest.mark.parametrize("param", ["mup", "sp"])
def test_init_scales(param):
    n, d = 4096, 8
    p = relu_net.init_params(jax.random.PRNGKey(0), n, d, param, jnp.float64)
    assert p["W"].shape == (n, d) and p["b"].shape == (n,) and p["a"].shape == (n,)
    std = mup.init_std(n, d, param)
    for k, v in p.items():
        N = v.size
        # sample std of N Gaussians has relative standard error 1/sqrt(2N): 5 of them
        assert float(jnp.std(v)) == pytest.approx(std[k], rel=5 / math.sqrt(2 * N))
    p32 = relu_net.init_params(jax.random.PRNGKey(0), 8, d, param, jnp.float32)
    assert all(v.dtype == jnp.float32 for v in p32.values())


@pytest.mark.parametrize("param", ["mup", "sp"])
def test_forward_matches_explicit_sum(param):
    n, d, B = 16, 3, 5
    p = relu_net.init_params(jax.random.PRNGKey(1), n, d, param, jnp.float64)
    x = relu_net.sample_inputs(jax.random.PRNGKey(2), B, d, jnp.float64)
    W, b, a = (np.asarray(p[k]) for k in ("W", "b", "a"))
    X = np.asarray(x)
    m = mup.output_multiplier(n, param)
    expected = np.array(
        [m * sum(a[i] * max(W[i] @ X[j] + b[i], 0.0) for i in range(n)) for j in range(B)]
    )
    out, acts = relu_net.forward_with_activations(p, x, param)
    assert out.shape == (B,) and acts["preact"].shape == (B, n) and acts["act"].shape == (B, n)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        np.asarray(relu_net.forward(p, x, param)), expected, rtol=1e-12, atol=1e-14
    )
    assert float(jnp.min(acts["act"])) >= 0.0
    y = relu_net.ball_target(x, 1.0)
    loss = float(relu_net.loss_fn(p, x, y, param))
    assert loss == pytest.approx(float(np.mean((expected - np.asarray(y)) ** 2)), rel=1e-12)


def test_chunked_loss_equals_loss():
    n, d, M = 32, 8, 96
    p = relu_net.init_params(jax.random.PRNGKey(4), n, d, "mup", jnp.float64)
    x = relu_net.sample_inputs(jax.random.PRNGKey(5), M, d, jnp.float64)
    y = relu_net.ball_target(x, relu_net.median_radius(d))
    full = float(relu_net.loss_fn(p, x, y, "mup"))
    for chunk in (8, 96):
        # summation order differs: a few ulps
        per_sq = relu_net.chunked_sample_losses(p, x, y, "mup", chunk)
        assert float(jnp.mean(per_sq)) == pytest.approx(full, rel=1e-13)
        per = relu_net.chunked_sample_losses(p, x, y, "mup", chunk, "bce")
        assert per.shape == (M,)
        assert float(jnp.mean(per)) == pytest.approx(
            float(relu_net.loss_fn(p, x, y, "mup", "bce")), rel=1e-13
        )
    with pytest.raises(ValueError):
        relu_net.chunked_sample_losses(p, x, y, "mup", 7)


def test_mup_output_vanishes_at_init_sp_does_not():
    """At initialisation the muP output is an average of n zero-mean terms (~ n^-1/2);
    the SP output is O(1) at every width."""
    d = 8
    x = relu_net.sample_inputs(jax.random.PRNGKey(6), 512, d, jnp.float64)
    rms = {}
    for param in ("mup", "sp"):
        for n in (64, 4096):
            p = relu_net.init_params(jax.random.PRNGKey(7), n, d, param, jnp.float64)
            rms[param, n] = float(jnp.sqrt(jnp.mean(relu_net.forward(p, x, param) ** 2)))
    # 64x the width: muP shrinks ~8x (allow 4x..16x for one draw), SP stays within 2x
    assert 4 < rms["mup", 64] / rms["mup", 4096] < 16
    assert 0.5 < rms["sp", 64] / rms["sp", 4096] < 2

"""simulations.mlp_sgd: the bias-free two-layer ReLU MLP under muP + SGD with momentum."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.errors import InputError
from fasttransfer.simulations import mlp_sgd as S
from fasttransfer.simulations import mup
from fasttransfer.simulations.topk_training import train

SMALL = dict(num_samples=500, n_eval=64, batch=16, dtype="float64")


def test_shapes_and_no_biases():
    n = 48
    p = S.init_params(jax.random.PRNGKey(0), n, 16, jnp.float64)
    assert set(p) == {"W0", "W1"}  # two weight matrices, nothing else
    assert p["W0"].shape == (n, 40) and p["W1"].shape == (10, n)
    x = jax.random.normal(jax.random.PRNGKey(1), (7, 40), jnp.float64)
    assert S.forward(p, x).shape == (7, 10)
    # no bias anywhere: a zero input gives exactly zero logits
    assert not np.any(np.asarray(S.forward(p, jnp.zeros((3, 40), jnp.float64))))


@given(st.floats(0.01, 100.0))
def test_positively_homogeneous(c):
    """Without biases, relu nets are positively homogeneous: f(c x) = c f(x), c > 0
    (equal up to the rounding of the two matmuls: 1e-12 relative in float64)."""
    p = S.init_params(jax.random.PRNGKey(0), 16, 16, jnp.float64)
    x = jax.random.normal(jax.random.PRNGKey(2), (5, 40), jnp.float64)
    np.testing.assert_allclose(
        np.asarray(S.forward(p, jnp.asarray(c, jnp.float64) * x)),
        c * np.asarray(S.forward(p, x)),
        rtol=1e-12,
        atol=1e-300,
    )


def test_init_and_multipliers_follow_the_sgd_mup_rules():
    n, n0 = 512, 32
    p = S.init_params(jax.random.PRNGKey(0), n, n0, jnp.float64)
    std = mup.sgd_mlp_init_std(n, 1, n0, 40)
    for name, x in p.items():
        # sample std of >= 5120 Gaussian draws: relative SE 1/sqrt(2m) <= 0.01; 5 SE
        assert float(jnp.std(x)) == pytest.approx(std[name], rel=0.05), name
    cfg = S.SGDMLPConfig(widths=(n,), base_width=n0, **SMALL)
    mult = S.problem(n, cfg).lr_mult
    assert {k: float(v) for k, v in mult.items()} == mup.sgd_mlp_lr_multipliers(n, 1, n0)


def test_momentum_direction_is_heavy_ball():
    """optax.trace(0.9): direction_0 = g0, direction_1 = g1 + 0.9 g0 (no dampening)."""
    tx = S.problem(16, S.SGDMLPConfig(widths=(16,), **SMALL)).direction
    g0 = {"W0": jnp.full((2, 3), 1.5, jnp.float64), "W1": jnp.full((1, 2), -2.0, jnp.float64)}
    g1 = {"W0": jnp.full((2, 3), 0.25, jnp.float64), "W1": jnp.full((1, 2), 4.0, jnp.float64)}
    state = tx.init(g0)
    d0, state = tx.update(g0, state)
    d1, _ = tx.update(g1, state)
    np.testing.assert_array_equal(np.asarray(d0["W0"]), 1.5)
    np.testing.assert_allclose(np.asarray(d1["W0"]), 0.25 + 0.9 * 1.5, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(d1["W1"]), 4.0 + 0.9 * -2.0, rtol=1e-15)


def test_two_training_steps_by_hand():
    """The Problem's step p <- p - nu mult m_t with m_t = g_t + 0.9 m_{t-1}, on the
    quadratic loss 0.5 |p - c|^2 (g = p - c), against the hand-computed two steps:
    p1 = p0 - nu m g0,  g1 = (1 - nu m) g0,  p2 = p1 - nu m (g1 + 0.9 g0)."""
    cfg = S.SGDMLPConfig(widths=(64,), base_width=16, **SMALL)
    prob = S.problem(64, cfg)
    target = {
        "W0": jnp.full((64, 40), 0.3, jnp.float64),
        "W1": jnp.full((10, 64), -0.1, jnp.float64),
    }

    def quad(p, _batch):
        return 0.5 * sum(jnp.sum((p[k] - target[k]) ** 2) for k in p)

    prob = prob._replace(loss=quad)
    nu = 0.05
    p0 = train(prob, jnp.asarray(nu, jnp.float64), 0, steps=0)
    p2 = train(prob, jnp.asarray(nu, jnp.float64), 0, steps=2)
    for k, m in mup.sgd_mlp_lr_multipliers(64, 1, 16).items():  # W0: 4, W1: 1/4
        g0 = np.asarray(p0[k]) - np.asarray(target[k])
        p1 = np.asarray(p0[k]) - nu * m * g0
        g1 = p1 - np.asarray(target[k])
        expect = p1 - nu * m * (g1 + 0.9 * g0)
        # a few float64 roundings per entry
        np.testing.assert_allclose(np.asarray(p2[k]), expect, rtol=1e-13, atol=1e-15)


def _one_step_changes(n: int, mult: dict) -> tuple[float, float]:
    """(rms change of the logits, rms change of a first-layer pre-activation) after one
    plain SGD step at nu = 0.1 with multipliers ``mult`` from the muP initialisation."""
    x = jax.random.normal(jax.random.PRNGKey(3), (64, 40), jnp.float64)
    y = jnp.arange(64, dtype=jnp.int32) % 10
    p = S.init_params(jax.random.PRNGKey(4), n, 32, jnp.float64)
    g = jax.grad(S.loss_fn)(p, x, y)
    q = {k: p[k] - 0.1 * mult[k] * g[k] for k in p}
    d_out = S.forward(q, x) - S.forward(p, x)
    d_pre = x @ (q["W0"] - p["W0"]).T
    return float(jnp.sqrt(jnp.mean(d_out**2))), float(jnp.sqrt(jnp.mean(d_pre**2)))


def test_mup_sgd_keeps_the_updates_width_independent():
    """muP's defining property: one SGD step moves the logits and each first-layer
    pre-activation by Theta(1) at every width. Between n = 256 and 4096 (16x) the
    changes' log-ratio exponent log(ratio)/log(16) is 0 up to O(n^-1/2) fluctuations,
    while one global LR (SP's practice) gives the logits exponent ~1 and the
    pre-activations ~0 (W_D's gradient is O(1/sqrt(n)) there). |exponent| < 0.25 sits
    halfway between 0 and the nearest wrong scaling (+-1/2 of a square-root rule)."""
    out, pre = {}, {}
    for n in (256, 4096):
        out[n], pre[n] = _one_step_changes(n, mup.sgd_mlp_lr_multipliers(n, 1, 32))
    assert abs(math.log(out[4096] / out[256]) / math.log(16)) < 0.25
    assert abs(math.log(pre[4096] / pre[256]) / math.log(16)) < 0.25
    flat = {n: _one_step_changes(n, {"W0": 1.0, "W1": 1.0})[1] for n in (256, 4096)}
    # with one LR the first layer barely moves at large width: exponent about -1
    assert math.log(flat[4096] / flat[256]) / math.log(16) < -0.75


def test_presets_are_valid():
    quick, cpu, paper = (S.SGDMLPConfig.from_preset(k) for k in ("quick", "cpu", "paper"))
    for cfg in (quick, cpu, paper):
        assert list(cfg.widths) == sorted(set(cfg.widths)) and len(cfg.widths) >= 3
        assert cfg.base_width in cfg.widths  # muP = SP at the narrowest width
        r = np.diff(np.log(cfg.lrs))
        np.testing.assert_allclose(r, r[0], rtol=1e-9)  # log-spaced
        assert len(cfg.lrs) >= 7  # ~3 grid points each side of an interior optimum
        assert cfg.momentum == 0.9
    assert len(cpu.seeds) >= 2  # the seed bootstrap needs >= 2 seeds
    # the paper's setting: widths 128..8192, batch 512, 100 epochs of 4000 sequences
    assert paper.widths == (128, 256, 512, 1024, 2048, 4096, 8192) and paper.batch == 512
    assert paper.steps == S.epochs_to_steps(100, 512) == 782
    assert S.SGDMLPConfig.from_preset("quick", steps=40).steps == 40
    with pytest.raises(InputError):
        S.SGDMLPConfig.from_preset("huge")


@pytest.mark.parametrize(
    "bad", [dict(momentum=1.0), dict(widths=()), dict(lrs=(0.1, -1.0)), dict(batch=0)]
)
def test_config_validation(bad):
    with pytest.raises(InputError):
        S.SGDMLPConfig(**bad)


def test_epochs_to_steps():
    assert S.epochs_to_steps(1, 500) == 8 and S.epochs_to_steps(2, 1000) == 8
    assert S.epochs_to_steps(100, 512) == 782  # 781.25 rounded up
    with pytest.raises(InputError):
        S.epochs_to_steps(0, 512)


def test_problem_trains():
    cfg = S.SGDMLPConfig(widths=(32,), base_width=32, **SMALL)
    prob = S.problem(32, cfg)
    p0 = prob.init(jax.random.PRNGKey(0))
    l0 = float(prob.eval_loss(p0))
    # small logits at init (std ~ 1/sqrt(n0) per unit): cross-entropy near log 10
    assert abs(l0 - math.log(10)) < 0.5
    # nu = 0.03, below the quick grid's centre: with batch 16, SGD at 0.1 is noisy enough
    # that the 60-step loss depends on the batch stream (seeds 0-5: 1.55 to 2.43), at 0.03
    # every seed learns (1.47 to 1.69)
    p = train(prob, jnp.asarray(0.03, jnp.float64), 0, steps=60)
    assert float(prob.eval_loss(p)) < l0 - 0.1  # it learns
    assert isinstance(prob.direction, optax.GradientTransformation)

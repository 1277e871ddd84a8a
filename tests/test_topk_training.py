"""simulations.topk_training: the optax trainer against a reference Adam, the trapezoid
rule's exactness on a quadratic, the tidy frames' identities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tiny_quadratic
from fasttransfer.simulations.recorder import RecorderConfig
from fasttransfer.simulations.topk_training import run_width, sweep_fn, tidy_results, train
from fasttransfer.theory.errors import InputError


def _reference_adam(prob, lr, seed, steps, mult, b1=0.9, b2=0.999, eps=1e-8):
    """Adam written out in numpy (Kingma & Ba, Algorithm 1) with per-leaf step
    lr * mult[leaf], on the problem's batches (k_init, k_data = split(PRNGKey(seed));
    batch t = batch(fold_in(k_data, t))) and its closed-form gradient."""
    k_init, k_data = jax.random.split(jax.random.PRNGKey(seed))
    p = {k: np.asarray(v) for k, v in prob.init(k_init).items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t in range(1, steps + 1):
        g = tiny_quadratic.numpy_grad(p, np.asarray(prob.batch(jax.random.fold_in(k_data, t - 1))))
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat = m[k] / (1 - b1**t)
            v_hat = v[k] / (1 - b2**t)
            p[k] = p[k] - lr * mult[k] * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("steps", [1, 2, 5])
@pytest.mark.parametrize("lr", [1e-2, 0.3])
def test_optax_trainer_matches_a_reference_adam(steps, lr):
    mult = {"W": 0.5, "v": 2.0}  # distinct per leaf: the multiplier must reach its leaf
    prob = tiny_quadratic.problem(mult["W"], mult["v"])
    got = jax.jit(lambda nu: train(prob, nu, 3, steps=steps))(jnp.asarray(lr))
    ref = _reference_adam(prob, lr, 3, steps, mult)
    p0 = prob.init(jax.random.split(jax.random.PRNGKey(3))[0])
    for k in ref:
        # float64, <= 5 steps of O(1) operations each: rounding is ~1e-15 relative; 1e-12
        # leaves room for the amplification of a rounding error through a few steps
        scale = np.max(np.abs(ref[k]))
        np.testing.assert_allclose(np.asarray(got[k]), ref[k], rtol=0, atol=1e-12 * scale)
        # each step moves each coordinate by about lr * mult (Adam's normalised step), so
        # the comparison is not between two unmoved copies of the initialisation
        moved = np.max(np.abs(ref[k] - np.asarray(p0[k])))
        assert moved > 0.5 * lr * mult[k]


def test_trainer_keeps_float32():
    """A float32 problem trains in float32 (the Adam state and the update keep the
    parameters' dtype under x64 and strict promotion)."""
    prob = tiny_quadratic.problem(dtype=jnp.float32)
    out = jax.jit(lambda nu: train(prob, nu, 0, steps=3))(jnp.asarray(1e-2, jnp.float64))
    assert {str(x.dtype) for x in out.values()} == {"float32"}
    plain = sweep_fn(prob, steps=3, config=None)(jnp.asarray([1e-2]), jnp.asarray([0], jnp.int32))
    assert plain.dtype == jnp.float32 and plain.shape == (1, 1)
    np.testing.assert_allclose(np.asarray(plain)[0, 0], float(prob.eval_loss(out)), rtol=1e-6)


def test_trapezoid_is_exact_on_a_quadratic():
    prob = tiny_quadratic.problem()
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


def test_tidy_profile_identities():
    prob = tiny_quadratic.problem()
    cfg = RecorderConfig(ema=0.8, k_max=3, record_every=5, rule="trapezoid")
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


def test_steps_must_be_whole_records():
    with pytest.raises(InputError) as err:
        run_width(tiny_quadratic.problem(), [1e-2], [0], steps=7,
                  config=RecorderConfig(record_every=5))
    assert err.value.param == "steps"

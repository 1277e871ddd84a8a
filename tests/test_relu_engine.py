"""simulations.relu_engine: hand-written gradients, the vmapped, blocked, multi-device
training of one width, and its validation statistics (SPEC §5).

The tests share one tiny configuration so each worker compiles it once."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.simulations import relu_engine, relu_net
from fasttransfer.simulations.relu_config import ReluSweepConfig

TINY = ReluSweepConfig(widths=(8, 16, 32), n_lrs=5, lr_min=1e-3, lr_max=1.0, seeds=2,
                       steps=20, batch=16, d=8, test_size=64, seed_block=1)


@pytest.mark.parametrize("param,task,loss", [("mup", "ball", "bce"), ("sp", "ball", "bce"),
                                             ("mup", "kindex", "squared"),
                                             ("mup", "ball", "squared")])
def test_hand_gradients_equal_autodiff(param, task, loss):
    L, n, d, B = 3, 12, 8, 10
    spec = relu_net.Task(name=task, d=d, k=3)
    keys = jax.random.split(jax.random.PRNGKey(0), L)
    p_L = jax.vmap(lambda k: relu_net.init_params(k, n, d, param, jnp.float64,
                                                  input_std=spec.input_std, base_width=4))(keys)
    x, y = spec.sample(jax.random.PRNGKey(1), B, jnp.float64)
    grads, loss_v = relu_engine.lr_grid_grads(p_L, x, y, param, loss)
    auto = jax.vmap(jax.value_and_grad(relu_net.loss_fn),
                    in_axes=(0, None, None, None, None))(p_L, x, y, param, loss)
    # same arithmetic up to summation order: float64 rounding
    np.testing.assert_allclose(np.asarray(loss_v), np.asarray(auto[0]), rtol=1e-12)
    for k in ("W", "b", "a"):
        assert grads[k].shape == p_L[k].shape
        np.testing.assert_allclose(np.asarray(grads[k]), np.asarray(auto[1][k]), rtol=1e-10, atol=1e-15)


def test_train_width_no_recompile_and_one_vs_two_devices(compile_count):
    assert len(jax.devices()) == 2  # conftest forces two CPU devices
    one = relu_engine.train_width(TINY, 8, devices=jax.devices()[:1])
    two = relu_engine.train_width(TINY, 8, devices=jax.devices())  # compiles for device 2
    with compile_count() as n:
        again = relu_engine.train_width(TINY, 8)
        relu_engine.train_width(TINY, 8, devices=jax.devices()[:1])
    # the same shapes on the same devices compile nothing (the programs are reused)
    assert n() == 0
    assert one.loss.shape == one.se.shape == one.se_next.shape == (TINY.n_lrs, TINY.seeds)
    assert np.isnan(one.se_next[-1]).all() and np.isfinite(one.se_next[:-1]).all()
    assert (one.se > 0).all()
    one, two, again = one.loss, two.loss, again.loss
    assert np.isfinite(one).all()
    # float64, same seed, same configuration: bit-identical on 1 or 2 devices
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one[:, 0], one[:, 1])  # seeds differ


def test_cache_blocked_step_matches_unblocked(monkeypatch):
    """With a tiny cache budget the step runs learning rates in blocks of 1 (the path
    wide models take); the numbers are those of the unblocked step up to summation order,
    and 1 vs 2 devices stay bit-identical."""
    whole = relu_engine.train_width(TINY, 8).loss
    monkeypatch.setattr(relu_engine, "CACHE_BYTES", 16 * 8 * 8)  # one (batch 16, n 8) f64 array
    assert relu_engine._plan(TINY, 8, "cpu").lr_block == 1
    one = relu_engine.train_width(TINY, 8, devices=jax.devices()[:1]).loss
    two = relu_engine.train_width(TINY, 8, devices=jax.devices()).loss
    np.testing.assert_array_equal(one, two)
    # float64 rounding accumulated over 20 Adam steps: far below any loss difference
    np.testing.assert_allclose(one, whole, rtol=1e-12)


def test_common_random_numbers_and_divergence():
    """At a vanishing learning rate every LR of a seed ends at that seed's initial loss
    (same initialisation for every LR); an absurd learning rate overflows: NaN, no crash."""
    cfg = TINY.replace(lr_min=1e-30, lr_max=1e200, n_lrs=5, test_size=64)
    out = relu_engine.train_width(cfg, 8).loss
    assert np.isnan(out[-1]).all()
    key_init = relu_engine._seed_keys(np.arange(2))[0]
    x, y = relu_engine.test_set(cfg)
    for s in range(2):
        p0 = relu_net.init_params(key_init[s], 8, cfg.d, cfg.param, jnp.float64,
                                  input_std=cfg.task_spec().input_std,
                                  base_width=cfg.base_width)
        init_loss = float(relu_net.loss_fn(p0, x, y, cfg.param, cfg.loss))
        # 20 Adam steps of size <= 1e-30 change nothing visible in float64
        assert out[0, s] == pytest.approx(init_loss, rel=1e-12)


def test_float64_without_x64_is_an_error_not_float32():
    """A float64 configuration in a process without JAX's x64 mode would silently run in
    float32 while its results say float64: it raises, naming the fix."""
    from fasttransfer.simulations.dtypes import jax_dtype
    from fasttransfer.theory.errors import InputError

    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(InputError, match="JAX_ENABLE_X64"):
            jax_dtype("float64")
        with pytest.raises(InputError, match="JAX_ENABLE_X64"):
            relu_engine.train_width(TINY, 8)
        assert jax_dtype("float32") == jnp.float32
    finally:
        jax.config.update("jax_enable_x64", True)

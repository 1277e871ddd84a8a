"""simulations.relu_engine: hand-written gradients, the vmapped, blocked, multi-device
training of one width, and its validation statistics.

The tests share one tiny configuration so each worker compiles it once."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tiny_relu

from fasttransfer.simulations import relu_engine, relu_net

TINY = tiny_relu.ENGINE


@pytest.mark.parametrize(
    "param,task,loss",
    [
        ("mup", "ball", "bce"),
        ("sp", "ball", "bce"),
        ("mup", "kindex", "squared"),
        ("mup", "ball", "squared"),
        ("mup", "kindex", "half_squared"),
    ],
)
def test_hand_gradients_equal_autodiff(param, task, loss):
    L, n, d, B = 3, 12, 8, 10
    spec = relu_net.Task(name=task, d=d, k=3)
    keys = jax.random.split(jax.random.PRNGKey(0), L)
    p_L = jax.vmap(
        lambda k: relu_net.init_params(
            k, n, d, param, jnp.float64, input_std=spec.input_std, base_width=4
        )
    )(keys)
    x, y = spec.sample(jax.random.PRNGKey(1), B, jnp.float64)
    grads, loss_v = relu_engine.lr_grid_grads(p_L, x, y, param, loss)
    auto = jax.vmap(jax.value_and_grad(relu_net.loss_fn), in_axes=(0, None, None, None, None))(
        p_L, x, y, param, loss
    )
    # same arithmetic up to summation order: float64 rounding
    np.testing.assert_allclose(np.asarray(loss_v), np.asarray(auto[0]), rtol=1e-12)
    for k in ("W", "b", "a"):
        assert grads[k].shape == p_L[k].shape
        np.testing.assert_allclose(
            np.asarray(grads[k]), np.asarray(auto[1][k]), rtol=1e-10, atol=1e-15
        )


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
        p0 = relu_net.init_params(
            key_init[s],
            8,
            cfg.d,
            cfg.param,
            jnp.float64,
            input_std=cfg.task_spec().input_std,
            base_width=cfg.base_width,
        )
        init_loss = float(relu_net.loss_fn(p0, x, y, cfg.param, cfg.loss))
        # 20 Adam steps of size <= 1e-30 change nothing visible in float64
        assert out[0, s] == pytest.approx(init_loss, rel=1e-12)


def test_float64_without_x64_is_an_error_not_float32():
    """A float64 configuration in a process without JAX's x64 mode would silently run in
    float32 while its results say float64: it raises, naming the fix."""
    from fasttransfer.errors import InputError
    from fasttransfer.simulations.dtypes import jax_dtype

    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(InputError, match="JAX_ENABLE_X64"):
            jax_dtype("float64")
        with pytest.raises(InputError, match="JAX_ENABLE_X64"):
            relu_engine.train_width(TINY, 8)
        assert jax_dtype("float32") == jnp.float32
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize(
    "choices",
    [
        dict(weight_decay=0.1),
        dict(train_size=32, readout_init="zero"),
        dict(first_layer_init="torch", schedule="cosine", base_width=4, out_lr_factor=0.02),
    ],
)
def test_segment_is_optax_adamw_on_autodiff_gradients(choices):
    """The engine's step for every unstated choice (weight decay, a fixed training set,
    the readout and first-layer inits, the schedule, the base width and the layer-wise
    factor) equals, configuration by configuration, optax's adamw on jax.grad of the
    loss with the parameter's own learning rate nu * multiplier * s(t), on the batches
    the engine draws (_batch): float64 rounding only."""

    from fasttransfer.simulations import mup

    cfg = TINY.replace(
        steps=6,
        seeds=1,
        n_lrs=2,
        lr_min=1e-2,
        lr_max=1e-1,
        task="kindex",
        loss="squared",
        k=3,
        **choices,
    )
    width, steps = 8, cfg.steps
    plan = relu_engine._plan(cfg, width, "cpu")
    st = relu_engine._static(cfg, (width,), steps, plan, "cpu")
    init_fn, segment_fn, _ = relu_engine._compiled(st, cfg.n_lrs)
    init_keys, data_keys = relu_engine._seed_keys(np.arange(1))
    params, opt_state = init_fn(init_keys)
    p0 = jax.tree.map(lambda v: v[0, 0], params)
    if cfg.readout_init == "zero":
        assert not np.asarray(p0["a"]).any()
    if cfg.first_layer_init == "torch":
        assert np.abs(np.asarray(p0["W"])).max() <= 1 / np.sqrt(cfg.d)
    got, _ = segment_fn(
        params, opt_state, jnp.asarray(cfg.lrs()), data_keys, jnp.asarray(0, jnp.int32)
    )
    mult = dict(mup.lr_multipliers(width, cfg.param, cfg.base_width))
    mult["a"] *= cfg.out_lr_factor
    train = None if cfg.train_size is None else relu_engine._training_set(st, data_keys[0])
    with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 count in
        ref = [_adamw_reference(cfg, st, p0, nu, mult, data_keys[0], train) for nu in cfg.lrs()]
    for j, p in enumerate(ref):
        for k in p:
            np.testing.assert_allclose(
                np.asarray(got[k][0, j]), np.asarray(p[k]), rtol=1e-9, atol=1e-12
            )


def _adamw_reference(cfg, st, p, nu, mult, data_key, train):
    """cfg.steps of optax.adamw per parameter on jax.grad of the batch loss, learning
    rate nu * multiplier * s(t) (s the cosine factor 0.5 (1 + cos(pi t / T)) or 1)."""
    import optax

    def lr(k):
        if cfg.schedule == "cosine":
            return lambda t: nu * mult[k] * 0.5 * (1 + jnp.cos(jnp.pi * t / cfg.steps))
        return nu * mult[k]

    states = {
        k: optax.adamw(lr(k), b1=cfg.b1, b2=cfg.b2, eps=cfg.eps, weight_decay=cfg.weight_decay)
        for k in p
    }
    opt = {k: states[k].init(p[k]) for k in p}
    for t in range(cfg.steps):
        x, y = relu_engine._batch(st, data_key, jnp.asarray(t, jnp.int32), train)
        if train is not None:  # every row of the batch is a row of the fixed set
            assert np.isin(np.asarray(x[:, 0]), np.asarray(train[0][:, 0])).all()
        g = jax.grad(relu_net.loss_fn)(p, x, y, cfg.param, cfg.loss)
        new = {}
        for k in p:
            u, opt[k] = states[k].update(g[k], opt[k], p[k])
            new[k] = p[k] + u
        p = new
    return p

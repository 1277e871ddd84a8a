"""simulations.relu_pack: several widths in one program, each width's numbers those it
gets alone (float64 rounding), and a diverged width confined to its own segment."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tiny_relu
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.simulations import relu_engine, relu_net, relu_pack

TINY = tiny_relu.ENGINE
PACK = (8, 16)


def test_packs_exact_cases():
    assert relu_pack.packs([181, 256, 362, 512, 724, 1024, 1448, 2048], 4096) == [
        (181, 256, 362, 512, 724, 1024),
        (1448, 2048),
    ]
    assert relu_pack.packs([8, 16, 32], 0) == [(8,), (16,), (32,)]
    assert relu_pack.packs([64, 8], 16) == [(64,), (8,)]  # a wide width stays alone
    assert relu_pack.packs([], 100) == []


@given(
    st.lists(st.integers(1, 5000), unique=True, max_size=12),
    st.integers(0, 20000),
)
def test_packs_cover_each_width_once_within_the_bound(widths, bound):
    out = relu_pack.packs(widths, bound)
    assert [w for p in out for w in p] == widths  # every width once, in order
    for p in out:
        assert len(p) == 1 or sum(p) <= bound
    # greedy: a pack never could have taken the next pack's first width
    for p, q in itertools.pairwise(out):
        assert not bound or sum(p) + q[0] > bound


def _params(key, widths, d, param, spec):
    parts = [
        relu_net.init_params(k, w, d, param, jnp.float64, input_std=spec.input_std)
        for k, w in zip(jax.random.split(key, len(widths)), widths, strict=True)
    ]
    return parts, relu_pack.concat(parts)


@pytest.mark.parametrize(
    "param,loss,formulation",
    [("mup", "bce", "dot"), ("sp", "squared", "reduce"), ("mup", "half_squared", "dot")],
)
def test_pack_gradients_are_each_widths_own(param, loss, formulation):
    L, d, B, widths = 3, 6, 10, (5, 7, 12)
    spec = relu_net.Task(name="ball", d=d)
    _, packed = _params(jax.random.PRNGKey(0), widths, d, param, spec)
    p_L = jax.tree.map(lambda v: jnp.stack([v * (1 + 0.1 * j) for j in range(L)]), packed)
    x, y = spec.sample(jax.random.PRNGKey(1), B, jnp.float64)
    grads, loss_v = relu_engine.lr_grid_grads(p_L, x, y, param, loss, formulation, widths)
    assert loss_v.shape == (L, len(widths))
    for k, (s, e) in enumerate(relu_pack.bounds(widths)):
        own = jax.tree.map(lambda v, s=s, e=e: v[:, s:e], p_L)
        g1, l1 = relu_engine.lr_grid_grads(own, x, y, param, loss, formulation)
        # the same sums over one width's neurons and the batch: float64 rounding
        np.testing.assert_allclose(np.asarray(loss_v[:, k]), np.asarray(l1), rtol=1e-12)
        for name in ("W", "b", "a"):
            np.testing.assert_allclose(
                np.asarray(grads[name][:, s:e]), np.asarray(g1[name]), rtol=1e-10, atol=1e-15
            )


def test_a_diverged_width_stays_in_its_segment():
    d, B, widths = 6, 10, (5, 7)
    spec = relu_net.Task(name="ball", d=d)
    _, packed = _params(jax.random.PRNGKey(0), widths, d, "mup", spec)
    packed["a"] = packed["a"].at[0].set(jnp.inf)  # width 5 has diverged
    p_L = jax.tree.map(lambda v: v[None], packed)
    x, y = spec.sample(jax.random.PRNGKey(1), B, jnp.float64)
    grads, loss_v = relu_engine.lr_grid_grads(p_L, x, y, "mup", "bce", "dot", widths)
    assert not np.isfinite(np.asarray(loss_v[0, 0]))
    assert np.isfinite(np.asarray(loss_v[0, 1]))
    for name in ("W", "b", "a"):
        assert np.isfinite(np.asarray(grads[name][0, 5:])).all()
    per = relu_pack.chunked_sample_losses(packed, x, y, widths, "mup", 5, "bce")
    assert per.shape == (2, B)
    assert np.isfinite(np.asarray(per[1])).all()


def test_pack_forward_and_evaluation_equal_each_width_alone():
    d, widths = 6, (5, 7, 12)
    spec = relu_net.Task(name="kindex", d=d, k=3)
    parts, packed = _params(jax.random.PRNGKey(2), widths, d, "mup", spec)
    x, y = spec.sample(jax.random.PRNGKey(3), 20, jnp.float64)
    f = relu_pack.forward(packed, x, widths, "mup")
    per = relu_pack.chunked_sample_losses(packed, x, y, widths, "mup", 5, "squared")
    assert f.shape == (20, 3) and per.shape == (3, 20)
    for k, p in enumerate(parts):
        np.testing.assert_allclose(f[:, k], relu_net.forward(p, x, "mup"), rtol=1e-12)
        alone = relu_net.chunked_sample_losses(p, x, y, "mup", 5, "squared")
        np.testing.assert_allclose(per[k], alone, rtol=1e-12)
    with pytest.raises(ValueError, match="multiple of chunk"):
        relu_pack.chunked_sample_losses(packed, x, y, widths, "mup", 7, "squared")


def test_train_widths_pack_equals_each_width_alone(compile_count):
    alone = {w: relu_engine.train_width(TINY, w) for w in PACK}
    one = relu_engine.train_widths(TINY, PACK, devices=jax.devices()[:1])
    two = relu_engine.train_widths(TINY, PACK, devices=jax.devices())
    with compile_count() as n:
        again = relu_engine.train_widths(TINY, PACK)
    assert n() == 0  # one program per pack shape, reused
    assert set(one) == set(PACK)
    for w in PACK:
        assert one[w].loss.shape == (TINY.n_lrs, TINY.seeds)
        # one program per seed block on every device: bit-identical on 1 and 2 devices
        np.testing.assert_array_equal(one[w].loss, two[w].loss)
        np.testing.assert_array_equal(one[w].loss, again[w].loss)
        # the same initialisation, batches and Adam steps as alone; float64 rounding
        # accumulated over 20 Adam steps (as the cache-blocked step's test)
        for field in ("loss", "se", "se_next"):
            np.testing.assert_allclose(
                getattr(one[w], field), getattr(alone[w], field), rtol=1e-12, equal_nan=True
            )


def test_train_widths_refuses_repeated_widths():
    with pytest.raises(ValueError, match="distinct"):
        relu_engine.train_widths(TINY, (8, 8))

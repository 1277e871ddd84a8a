"""simulations.mlp_mnist1d: MNIST-1D generated locally, the muP MLP, its Problem."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.simulations import mlp_mnist1d as M
from fasttransfer.simulations.trajectory import RecorderConfig, run_width
from fasttransfer.theory.errors import InputError


def test_dataset_is_generated_locally_and_deterministic():
    x, y, xt, yt = M.load_mnist1d(500)
    assert x.shape == (400, 40) and y.shape == (400,) and xt.shape == (100, 40)
    assert set(np.unique(y)) <= set(range(10)) and len(np.unique(y)) == 10
    x2, y2, _, _ = M.load_mnist1d.__wrapped__(500)  # a fresh generation, same seed
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_mup_scalings():
    n0 = 64
    for n in (64, 256, 1024):
        std, lr = M.init_std(n, 3, n0), M.lr_multipliers(n, 3, n0)
        assert std["W0"] == pytest.approx(1 / math.sqrt(40))
        assert std["W1"] == pytest.approx(1 / math.sqrt(n))
        assert std["W3"] == pytest.approx(math.sqrt(n0) / n)
        assert lr["W0"] == 1.0 and lr["b0"] == 1.0 and lr["b3"] == 1.0
        assert lr["W1"] == pytest.approx(n0 / n) and lr["W3"] == pytest.approx(n0 / n)
    # at the base width muP is the standard parametrisation
    assert M.init_std(n0, 3, n0)["W3"] == pytest.approx(1 / math.sqrt(n0))
    with pytest.raises(InputError, match="depth"):
        M.MLPConfig(depth=2)
    with pytest.raises(InputError, match="preset"):
        M.MLPConfig.preset("huge")


def test_forward_shapes_and_output_scale():
    x, _, _, _ = M.load_mnist1d(500)
    xs = jnp.asarray(x[:256], jnp.float64)
    stds = {}
    for n in (64, 1024):
        p = M.init_params(jax.random.PRNGKey(0), n, 4, 64, jnp.float64)
        assert len([k for k in p if k.startswith("W")]) == 5  # 4 hidden layers + readout
        out = M.forward(p, xs)
        assert out.shape == (256, 10)
        stds[n] = float(jnp.std(out))
    # muP: hidden coordinates O(1), readout std sqrt(n0)/n -> logits ~ sqrt(n0/n):
    # the ratio is sqrt(1024/64) = 4; 25% covers the init randomness of a single draw
    assert stds[64] / stds[1024] == pytest.approx(4.0, rel=0.25)


def test_problem_trains():
    cfg = M.MLPConfig(n_eval=128, batch=32, num_samples=500, dtype="float64")
    prob = M.problem(32, cfg)
    p = prob.init(jax.random.PRNGKey(0))
    l0 = float(prob.eval_loss(p))
    # small logits at init: cross-entropy close to log 10 (10 balanced classes)
    assert abs(l0 - math.log(10)) < 0.3
    res = run_width(prob, [1e-2], [0], steps=30,
                    config=RecorderConfig(ema=0.9, k_max=8, record_every=10))
    assert np.all(np.isfinite(res["loss"]))
    assert res["loss"][0, 0, -1] < res["loss0"][0, 0] - 0.1  # it learns
    assert res["top"].shape == (1, 1, 3, 8, 8)  # (lr, seed, records, leaves, K)

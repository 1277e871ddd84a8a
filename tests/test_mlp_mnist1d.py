"""simulations.mlp_mnist1d: MNIST-1D generated locally, the muP MLP, its Problem."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import mlp_mnist1d as M
from fasttransfer.simulations import mup
from fasttransfer.simulations.recorder import RecorderConfig
from fasttransfer.simulations.topk_training import run_width


def test_dataset_is_generated_locally_and_deterministic():
    x, y, xt, _yt = M.load_mnist1d(500)
    assert x.shape == (400, 40) and y.shape == (400,) and xt.shape == (100, 40)
    assert set(np.unique(y)) <= set(range(10)) and len(np.unique(y)) == 10
    x2, y2, _, _ = M.load_mnist1d.__wrapped__(500)  # a fresh generation, same seed
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


def test_model_uses_the_deep_mlp_mup_rules():
    """init_params draws each weight with mup.deep_mlp_init_std (biases exactly 0) and
    the Problem's multipliers are mup.deep_mlp_lr_multipliers (the rules' values are
    tested against their closed form in test_mup.py)."""
    n, depth, n0 = 512, 3, 64
    p = M.init_params(jax.random.PRNGKey(0), n, depth, n0, jnp.float64)
    std = mup.deep_mlp_init_std(n, depth, n0, M.D_IN)
    assert set(p) == set(std)
    for name, x in p.items():
        if std[name] == 0:
            assert not np.any(np.asarray(x)), name
        else:
            # sample std of m = x.size Gaussian draws: relative SE 1/sqrt(2m) <= 1/sqrt(2*10*512)
            # = 0.01; 5 SE
            assert float(jnp.std(x)) == pytest.approx(std[name], rel=0.05), name
    cfg = M.MLPConfig(widths=(n,), base_width=n0, num_samples=500, dtype="float64")
    mult = M.problem(n, cfg).lr_mult
    assert {k: float(v) for k, v in mult.items()} == mup.deep_mlp_lr_multipliers(n, depth, n0)


def test_config_validation():
    with pytest.raises(InputError, match="depth"):
        M.MLPConfig(depth=2)
    with pytest.raises(InputError, match="preset"):
        M.MLPConfig.from_preset("huge")


def test_forward_shapes_and_output_scale():
    x, _, _, _ = M.load_mnist1d(500)
    xs = jnp.asarray(x[:64], jnp.float64)
    stds = {}
    for n in (64, 1024):
        p = M.init_params(jax.random.PRNGKey(0), n, 4, 64, jnp.float64)
        assert len([k for k in p if k.startswith("W")]) == 5  # 4 hidden layers + readout
        assert M.forward(p, xs).shape == (64, 10)
        keys = jax.random.split(jax.random.PRNGKey(1), 16)
        per_key = jax.vmap(
            lambda k, n=n: jnp.std(M.forward(M.init_params(k, n, 4, 64, jnp.float64), xs))
        )(keys)
        stds[n] = float(jnp.mean(per_key))
    # muP: hidden coordinates O(1), readout std sqrt(n0)/n -> logits ~ sqrt(n0/n):
    # the ratio is sqrt(1024/64) = 4. One draw's logit std (64 inputs) varies by 23%
    # (n = 64) and 16% (n = 1024) relative sd (measured over 40 keys), so the ratio of
    # 16-key means has relative SE sqrt(0.23^2 + 0.16^2) / sqrt(16) = 7%; 25% is 3.5 SE
    assert stds[64] / stds[1024] == pytest.approx(4.0, rel=0.25)


def test_problem_trains():
    cfg = M.MLPConfig(n_eval=128, batch=32, num_samples=500, dtype="float64")
    prob = M.problem(32, cfg)
    p = prob.init(jax.random.PRNGKey(0))
    l0 = float(prob.eval_loss(p))
    # small logits at init: cross-entropy close to log 10 (10 balanced classes)
    assert abs(l0 - math.log(10)) < 0.3
    res = run_width(prob, [1e-2], [0], steps=30, config=RecorderConfig(ema=0.9, k_max=8, every=10))
    assert np.all(np.isfinite(res["loss"]))
    assert res["loss"][0, 0, -1] < res["loss0"][0, 0] - 0.1  # it learns
    assert res["top"].shape == (1, 1, 3, 8, 8)  # (lr, seed, records, leaves, K)


def test_presets_are_valid():
    """Every preset builds; widths increasing, >= 3 of them (the rate fits' minimum);
    a log-spaced LR grid of >= 7 points (an interior optimum with ~3 points each side,
    which CI does not run: measured by benchmarks/mnist1d_presets.py); the cpu preset
    has >= 2 seeds (the transfer analysis bootstraps over seeds)."""
    for name in ("quick", "cpu", "paper"):
        cfg = M.MLPConfig.from_preset(name)
        assert list(cfg.widths) == sorted(set(cfg.widths)) and len(cfg.widths) >= 3, name
        r = np.diff(np.log(cfg.lrs))
        np.testing.assert_allclose(r, r[0], rtol=1e-9)
        assert len(cfg.lrs) >= 7, name
    assert len(M.MLPConfig.from_preset("cpu").seeds) >= 2
    assert M.MLPConfig.from_preset("cpu", steps=40).steps == 40


def test_a_seed_names_the_same_batches_with_and_without_x64():
    """The batch sampler's stream depends on the key only: JAX's x64 mode (on in the
    command line and the tests, off by default in a notebook) must not change which
    sequences a seed trains on."""
    cfg = M.MLPConfig(batch=16)
    key = jax.random.PRNGKey(3)
    with jax.enable_x64(True):
        x64, y64 = M.data(cfg, jnp.float32)[0](key)
    with jax.enable_x64(False):
        x32, y32 = M.data(cfg, jnp.float32)[0](key)
    np.testing.assert_array_equal(np.asarray(x64), np.asarray(x32))
    np.testing.assert_array_equal(np.asarray(y64), np.asarray(y32))
    assert len(np.unique(np.asarray(x64), axis=0)) > 1  # not one repeated sequence


def test_coordinate_check_separates_mup_from_sp():
    """The public coordinate check on this MLP (widths 32..512, 3 seeds, 1 Adam step):
    known answers at t = 0 (muP output slope -1/2, a CLT over n terms scaled by 1/n;
    SP output slope 0) and after one step SP's output grows with width (each of the n
    readout weights moves by Theta(nu), so the output by Theta(n nu)) while muP's does not.
    Intervals: the criterion's simultaneous Student-t bounds from the seed spread."""
    import pandas as pd

    from fasttransfer.simulations import coordcheck as cc

    widths = (32, 128, 512)
    df = pd.concat(
        [
            M.coordinate_check(widths, param=p, steps=1, seeds=3, batch=64, probe=128)
            for p in ("mup", "sp")
        ],
        ignore_index=True,
    )
    assert set(df["module"]) == {"h1", "h2", "h3", "output"}
    assert sorted(df["t"].unique()) == [0, 1]
    tab = cc.criterion(cc.slopes(df)).table.set_index(["param", "module", "t"])
    lo, hi = tab.loc[("mup", "output", 0), ["lo", "hi"]]
    assert lo <= -0.5 <= hi
    lo, hi = tab.loc[("sp", "output", 0), ["lo", "hi"]]
    assert lo <= 0.0 <= hi
    assert tab.loc[("sp", "output", 1), "flag"] == "grows"
    assert tab.loc[("mup", "output", 1), "flag"] != "grows"


def test_coordinate_check_at_the_base_width_is_the_standard_parametrisation():
    """At n = n0 the muP model IS the standard-parametrisation model: same draws, same
    steps, so the two tables agree exactly."""
    kw = dict(steps=2, seeds=2, base_width=64, batch=32, probe=32, dtype="float64")
    mup_ = M.coordinate_check((64,), param="mup", **kw)
    sp = M.coordinate_check((64,), param="sp", **kw)
    np.testing.assert_array_equal(mup_["l1"].to_numpy(), sp["l1"].to_numpy())
    with pytest.raises(InputError, match="param"):
        M.coordinate_check((64,), param="ntk")

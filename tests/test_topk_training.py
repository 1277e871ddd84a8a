"""simulations.topk_training: the optax trainer against a reference Adam, the trapezoid
rule's exactness on a quadratic, the tidy frames' identities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tiny_quadratic

from fasttransfer.errors import InputError
from fasttransfer.simulations.recorder import RecorderConfig, record_times
from fasttransfer.simulations.topk_training import (
    ReluTopkConfig,
    default_variants,
    ema_tradeoff,
    final_losses,
    recorder_config,
    run_width,
    sweep_fn,
    tidy_results,
    train,
    train_with_ema,
    variant_effects,
)


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
    cfg = RecorderConfig(ema=0.8, k_max=3, every=5, rule="trapezoid")
    lrs = np.array([1e-3, 3e-2])
    res = run_width(prob, lrs, [0, 1], steps=50, config=cfg)
    cum = res["loss0"][..., None] + np.cumsum(res["lin"].sum(-1), -1)
    scale = np.abs(res["loss0"]).max()
    # exact up to float64 rounding of ~10 sums of O(scale) terms
    np.testing.assert_allclose(cum, res["loss"], rtol=0, atol=1e-10 * scale)
    # the loss really moved (the identity is not trivially 0 = 0)
    assert np.all(res["loss0"] - res["loss"][..., -1] > 1e-3 * scale)
    # trace identity per record and layer: top-k (all kept) + rest = <G, dW>
    np.testing.assert_allclose(
        res["top"].sum(-1) + res["rest"], res["lin"], rtol=0, atol=1e-10 * scale
    )
    # the left-point rule is not exact there: its error is sum_r 1/2 dW^T H dW > 0
    left = run_width(
        prob, lrs, [0, 1], steps=50, config=RecorderConfig(ema=0.8, k_max=3, every=5, rule="left")
    )
    cum_left = left["loss0"][..., None] + np.cumsum(left["lin"].sum(-1), -1)
    assert np.all(cum_left[..., -1] < left["loss"][..., -1])


def test_tidy_profile_identities():
    prob = tiny_quadratic.problem()
    cfg = RecorderConfig(ema=0.8, k_max=3, every=5, rule="trapezoid")
    lrs = np.array([1e-3, 1e-2, 3e-2])
    res = run_width(prob, lrs, [0], steps=20, config=cfg)
    t = tidy_results(7, lrs, [0], res, k_curves=(1, 3))
    prof, final, curves = t["profile"], t["final"], t["curves"]
    assert len(prof) == 3 * 4 and len(final) == 3 and len(curves) == 2 * 3 * 4
    k0 = prof[prof["k"] == 0].set_index("hp")["topk"]
    np.testing.assert_allclose(k0.to_numpy(), final.set_index("hp")["loss0"].to_numpy())
    s = prof.assign(tot=prof["topk"] + prof["residual"]).groupby("hp")["tot"]
    np.testing.assert_allclose(s.max() - s.min(), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.mean().to_numpy(), final.set_index("hp")["linearised"].to_numpy())
    assert np.all(final["faithfulness"] < 1e-8)  # quadratic + trapezoid: exact
    np.testing.assert_array_equal(np.unique(curves["step"]), [5, 10, 15, 20])


def test_the_last_interval_ends_at_T():
    prob = tiny_quadratic.problem()
    res = run_width(prob, [1e-2], [0], steps=7, config=RecorderConfig(every=5, k_max=2))
    np.testing.assert_array_equal(res["step"], [5, 7])
    assert res["loss"].shape == (1, 1, 2)
    with pytest.raises(InputError) as err:
        run_width(prob, [1e-2], [0], steps=0, config=RecorderConfig())
    assert err.value.param == "steps"


@pytest.mark.parametrize("ema", [None, 0.8])
def test_unrecorded_lanes_are_the_recorded_runs(ema):
    """final_losses trains seed s exactly as run_width does (same batches, same EMA), only
    without records: phi(wbar_T) and phi(w_T) agree with the recorded sweep's last record
    and raw final loss, for any subset of seeds (each lane is independent of the others)."""
    prob = tiny_quadratic.problem()
    lrs = np.array([1e-2, 3e-2, 1e-1])
    cfg = RecorderConfig(ema=ema, ema_warmup=(0.5, 0.9, 20), k_max=3)
    rec = run_width(prob, lrs, [0, 1, 2], steps=30, config=cfg)
    got = final_losses(prob, lrs, [2, 0], steps=30, config=cfg)
    assert got["loss"].shape == got["final_raw"].shape == (3, 2)
    # float64, 30 steps of O(1) operations: only the batching of the vmapped lanes may
    # reorder sums (~1e-16 relative per step); 1e-12 leaves room for its growth
    np.testing.assert_allclose(got["loss"], rec["loss"][:, [2, 0], -1], rtol=1e-12)
    np.testing.assert_allclose(got["final_raw"], rec["final_raw"][:, [2, 0]], rtol=1e-12)
    # the EMA lags the iterate: the two losses are different numbers
    assert np.all(np.abs(got["loss"] - got["final_raw"]) > 1e-6 * np.abs(got["loss"]))
    with pytest.raises(InputError) as err:
        final_losses(prob, lrs, [0], steps=0, config=cfg)
    assert err.value.param == "steps"


def test_train_with_ema_carries_independent_emas_of_the_plain_run():
    """Two recorders' EMAs ride one plain run: its parameters are train()'s, and each EMA
    is the one that recorder carries alone (a constant decay and the warm-up)."""
    from fasttransfer.simulations.recorder import TrajectoryRecorder

    prob = tiny_quadratic.problem()
    const = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.8))
    warm = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema_warmup=(0.5, 0.9, 20)))
    carry, (a, b) = train_with_ema(prob, 3e-2, 1, steps=25, recorders=(const, warm))
    _, (a1,) = train_with_ema(prob, 3e-2, 1, steps=25, recorders=(const,))
    _, (b1,) = train_with_ema(prob, 3e-2, 1, steps=25, recorders=(warm,))
    for x, y in [(carry[0], train(prob, 3e-2, 1, steps=25)), (a.ema, a1.ema), (b.ema, b1.ema)]:
        for u, v in zip(jax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y), strict=False):
            np.testing.assert_array_equal(u, v)  # the same operations in the same order
    assert int(a.t) == int(b.t) == 25
    # the two decays give different averages (the test would pass with one EMA otherwise)
    first = [jax.tree_util.tree_leaves(s.ema)[0] for s in (a, b)]
    assert not np.allclose(*first)


@pytest.mark.parametrize("ema", [None, 0.8])
def test_schedule_telescopes_like_every_step(ema):
    """Quadratic loss + trapezoid rule: each interval's <(G_a + G_b)/2, wbar_b - wbar_a>
    is exactly phi(wbar_b) - phi(wbar_a), so the running sum of lin over the schedule's
    records equals the running sum over every-step records at the schedule's record times
    (the same EMA trajectory: the EMA is updated every step either way), and both equal
    phi(wbar_t) - phi(w_0): an exact identity, up to float64 rounding."""
    prob = tiny_quadratic.problem()
    lrs = np.array([1e-2, 3e-2])
    common = dict(ema=ema, ema_warmup=(0.5, 0.9, 20), k_max=3, rule="trapezoid")
    sched = run_width(
        prob, lrs, [0, 1], steps=40, config=RecorderConfig(every=(2, 5, 30), **common)
    )
    every = run_width(prob, lrs, [0, 1], steps=40, config=RecorderConfig(every=1, **common))
    np.testing.assert_array_equal(sched["step"], record_times((2, 5, 30), 40))
    np.testing.assert_array_equal(every["step"], np.arange(1, 41))
    cum_s = np.cumsum(sched["lin"].sum(-1), -1)
    cum_e = np.cumsum(every["lin"].sum(-1), -1)[..., sched["step"] - 1]
    scale = np.abs(sched["loss0"]).max()
    # 40 float64 terms of size <= scale each: rounding ~40 eps scale; 1e-11 leaves room
    np.testing.assert_allclose(cum_s, cum_e, rtol=0, atol=1e-11 * scale)
    np.testing.assert_allclose(
        cum_s, sched["loss"] - sched["loss0"][..., None], rtol=0, atol=1e-11 * scale
    )
    # same EMA trajectory: the losses at the common record times agree
    np.testing.assert_allclose(sched["loss"], every["loss"][..., sched["step"] - 1], rtol=1e-13)
    assert np.all(sched["loss0"] - sched["loss"][..., -1] > 1e-3 * scale)  # it moved


def test_variant_effects_on_a_quadratic():
    prob = tiny_quadratic.problem()
    base = RecorderConfig(k_max=4, ema_warmup=(0.5, 0.9, 20), every=(2, 4, 20))
    df = variant_effects(prob, 3e-2, 0, steps=40, base=base, ks=(1, 2, 3, 8))
    assert list(df["variant"]) == [
        "default",
        "trapezoid",
        "ema 0.95",
        "vectors decompose",
        "every step",
    ]
    assert [c for c in df.columns if c.startswith("topk_")] == [
        "topk_1",
        "topk_2",
        "topk_3",
        "topk_4",
    ]  # 8 > K_max: left out
    row = df.set_index("variant")
    assert row.loc["default", "profile_diff"] == 0.0
    # a base that records every step gets the schedule as its variant instead
    other = default_variants(RecorderConfig(every=1))
    assert other["schedule (2, 10, 2000)"].every == (2, 10, 2000)
    # the trapezoid rule is exact on a quadratic, the left rule is not
    assert row.loc["trapezoid", "faithfulness"] < 1e-10 < row.loc["default", "faithfulness"]
    # vectors: the split of v moves between top-k and residual, phi_lin does not change
    np.testing.assert_allclose(
        row.loc["vectors decompose", "linearised"], row.loc["default", "linearised"], rtol=1e-12
    )
    assert row.loc["every step", "records"] == 40
    assert row.loc["default", "records"] == len(record_times((2, 4, 20), 40))
    # the same raw run under every variant, and the same EMA but for the constant decay
    np.testing.assert_allclose(df["raw_loss"], df["raw_loss"].iloc[0], rtol=1e-13)
    for v in ("trapezoid", "vectors decompose", "every step"):
        np.testing.assert_allclose(row.loc[v, "loss"], row.loc["default", "loss"], rtol=1e-13)
    assert np.all(np.isfinite(df["profile_diff"])) and np.all(df["profile_diff"] >= 0)
    # profile_diff by hand: the columns cover k = 1..K_max (k = 0 is phi(w_0) for all)
    tops = df[["topk_1", "topk_2", "topk_3", "topk_4"]].to_numpy()
    np.testing.assert_allclose(
        df["profile_diff"], np.max(np.abs(tops - tops[0]), 1) / df["decrease"], rtol=1e-12
    )


def test_ema_tradeoff_runs_a_constant_grid_under_the_warmup_default():
    prob = tiny_quadratic.problem()
    df = ema_tradeoff(prob, 3e-2, 0, steps=20, betas=[0.0, 0.8], config=RecorderConfig(k_max=2))
    np.testing.assert_array_equal(df["beta"], [0.0, 0.8])
    res = run_width(prob, [3e-2], [0], steps=20, config=RecorderConfig(k_max=2, ema=0.8))
    lag = abs(res["loss"][0, 0, -1] - res["final_raw"][0, 0]) / (
        res["loss0"][0, 0] - res["final_raw"][0, 0]
    )
    np.testing.assert_allclose(df["lag"].iloc[1], lag, rtol=1e-12)
    assert df["lag"].iloc[0] < 1e-12  # beta = 0: the EMA is the raw iterate


def test_relu_presets_are_the_published_decomposition():
    for name in ("quick", "cpu", "paper"):
        cfg = ReluTopkConfig.from_preset(name)
        assert recorder_config(cfg) == RecorderConfig(k_max=cfg.k_max)
    assert recorder_config(ReluTopkConfig(), every=1).every == 1
    with pytest.raises(InputError):
        ReluTopkConfig.from_preset("huge")

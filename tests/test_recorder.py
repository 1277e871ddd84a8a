"""simulations.recorder: the EMA recorder's records against a hand-computed spectrum,
one compile per jitted record, configuration validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tiny_quadratic
from fasttransfer.simulations.alignment import alignment_eigenvalues
from fasttransfer.simulations.recorder import RecorderConfig, TrajectoryRecorder, scan_recorded
from fasttransfer.theory.errors import InputError


def test_records_match_a_hand_computed_spectrum():
    prob = tiny_quadratic.problem()
    cfg = RecorderConfig(ema=0.5, k_max=4, record_every=1, rule="left", side="in",
                         vectors="decompose")  # every leaf split: its spectrum is checked
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


def test_scan_recorded_follows_the_ema_of_any_step():
    """scan_recorded with a hand-made step (no optimiser): after s steps the EMA is the
    closed form wbar_s = beta^s w_0 + (1 - beta) sum_t beta^(s-t) w_t, and the record's
    loss is phi there."""
    prob = tiny_quadratic.problem()
    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.7, k_max=2, record_every=3))
    p0 = prob.init(jax.random.PRNGKey(0))

    def step(p):  # w_t = 0.9^t w_0
        return jax.tree_util.tree_map(lambda x: 0.9 * x, p)

    carry, st, loss0, recs = scan_recorded(step, p0, lambda p: p, rec, n_records=2)
    s, b = 6, 0.7
    coef = b**s + (1 - b) * sum(b ** (s - t) * 0.9**t for t in range(1, s + 1))
    np.testing.assert_allclose(np.asarray(st.ema["W"]), coef * np.asarray(p0["W"]), rtol=1e-13)
    np.testing.assert_allclose(float(recs.loss[-1]), float(prob.eval_loss(st.ema)), rtol=1e-13)
    np.testing.assert_allclose(float(loss0), float(prob.eval_loss(p0)), rtol=1e-15)
    assert recs.top.shape == (2, 2, 2)  # (records, leaves, k_max)


def test_jitted_record_does_not_recompile():
    prob = tiny_quadratic.problem()
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


@pytest.mark.parametrize("bad,param", [(dict(ema=1.0), "ema"), (dict(rule="midpoint"), "rule"),
                                       (dict(ema_warmup=(0.99, 0.98, 10)), "ema_warmup"),
                                       (dict(vectors="none"), "vectors"),
                                       (dict(k_max=0), "k_max"), (dict(record_every=0),
                                                                  "record_every")])
def test_config_validation(bad, param):
    with pytest.raises(InputError) as err:
        RecorderConfig(**bad)
    assert err.value.param == param


def test_ema_decay_is_linear_in_the_window():
    from fasttransfer.simulations.recorder import ema_decay

    assert float(ema_decay(0)) == pytest.approx(0.98, rel=1e-15)
    assert float(ema_decay(2000)) == pytest.approx(0.9995, rel=1e-15)
    assert float(ema_decay(10**6)) == pytest.approx(0.9995, rel=1e-15)  # stays after warm-up
    t = np.arange(0, 2001, 250)
    window = 1.0 / (1.0 - np.asarray(ema_decay(t)))
    np.testing.assert_allclose(np.diff(window), (2000.0 - 50.0) / 8, rtol=1e-9)


def test_warmup_schedule_follows_the_time_varying_ema():
    """ema=None (the default, the paper's warm-up): wbar_t = b_t wbar_{t-1} + (1 - b_t) w_t with b_t =
    ema_decay(t), against the same recursion in numpy."""
    from fasttransfer.simulations.recorder import ema_decay

    prob = tiny_quadratic.problem()
    warm = (0.5, 0.9, 4)  # a short warm-up so that the test sees it end
    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(k_max=2, record_every=3,
                                                            ema=None, ema_warmup=warm))
    p0 = prob.init(jax.random.PRNGKey(0))
    _, st, _, _ = scan_recorded(lambda p: jax.tree_util.tree_map(lambda x: 0.9 * x, p), p0,
                                lambda p: p, rec, n_records=2)
    w0 = np.asarray(p0["W"])
    wbar = w0.copy()
    for t in range(1, 7):
        b = float(ema_decay(t, *warm))
        wbar = b * wbar + (1 - b) * 0.9**t * w0
    np.testing.assert_allclose(np.asarray(st.ema["W"]), wbar, rtol=1e-13)
    assert int(st.t) == 6


def test_vectors_full_keeps_vector_leaves_whole():
    """vectors="full" (the paper's split): the vector leaf v records its whole <G, dv> as
    its top-1 entry with rest 0; the matrix leaf W is decomposed as before."""
    prob = tiny_quadratic.problem()
    p0 = prob.init(jax.random.PRNGKey(1))
    p1 = jax.tree_util.tree_map(lambda x: x - 0.1 * jnp.sin(x), p0)
    out = {}
    for mode in ("decompose", "full"):
        rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.5, k_max=3, rule="left",
                                                                vectors=mode))
        _, out[mode] = rec.record(rec.ema_update(rec.init(p0), p1), p1)
    iW, iv = 0, 1  # sorted keys: W, v
    full, dec = out["full"], out["decompose"]
    np.testing.assert_allclose(np.asarray(full.top[iW]), np.asarray(dec.top[iW]), rtol=1e-14)
    np.testing.assert_allclose(float(full.top[iv][0]), float(full.lin[iv]), rtol=1e-14)
    assert np.all(np.asarray(full.top[iv][1:]) == 0) and float(full.rest[iv]) == 0.0
    # the split of the vector leaf differs, its total does not
    np.testing.assert_allclose(float(np.sum(dec.top[iv]) + dec.rest[iv]), float(full.lin[iv]),
                               rtol=1e-12)

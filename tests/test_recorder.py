"""simulations.recorder: the EMA recorder's records against a hand-computed spectrum,
one compile per jitted record, configuration validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tiny_quadratic
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.errors import InputError
from fasttransfer.simulations.alignment import alignment_eigenvalues
from fasttransfer.simulations.recorder import (
    RecorderConfig,
    TrajectoryRecorder,
    interval,
    record_times,
    scan_recorded,
)


def test_records_match_a_hand_computed_spectrum():
    prob = tiny_quadratic.problem()
    cfg = RecorderConfig(
        ema=0.5, k_max=4, every=1, rule="left", side="in", vectors="decompose"
    )  # every leaf split: its spectrum is checked
    rec = TrajectoryRecorder(prob.eval_loss, cfg)
    p0 = prob.init(jax.random.PRNGKey(1))
    p1 = jax.tree_util.tree_map(lambda x: x - 0.1 * jnp.sin(x), p0)
    st = rec.init(p0)
    st = rec.ema_update(st, p1)
    st2, r = rec.record(st)
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
    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.7, k_max=2, every=3))
    p0 = prob.init(jax.random.PRNGKey(0))

    def step(p):  # w_t = 0.9^t w_0
        return jax.tree_util.tree_map(lambda x: 0.9 * x, p)

    _carry, st, loss0, recs = scan_recorded(step, p0, lambda p: p, rec, steps=6)
    s, b = 6, 0.7
    coef = b**s + (1 - b) * sum(b ** (s - t) * 0.9**t for t in range(1, s + 1))
    np.testing.assert_allclose(np.asarray(st.ema["W"]), coef * np.asarray(p0["W"]), rtol=1e-13)
    np.testing.assert_allclose(float(recs.loss[-1]), float(prob.eval_loss(st.ema)), rtol=1e-13)
    np.testing.assert_allclose(float(loss0), float(prob.eval_loss(p0)), rtol=1e-15)
    assert recs.top.shape == (2, 2, 2)  # (records, leaves, k_max)
    np.testing.assert_array_equal(np.asarray(recs.step), [3, 6])


def test_jitted_record_does_not_recompile():
    prob = tiny_quadratic.problem()
    traces = []

    def eval_loss(p):
        traces.append(1)  # runs at trace time only
        return prob.eval_loss(p)

    rec = TrajectoryRecorder(eval_loss, RecorderConfig(k_max=2))
    step = jax.jit(lambda st, p: rec.record(rec.ema_update(st, p)))
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


@pytest.mark.parametrize(
    "bad,param",
    [
        (dict(ema=1.0), "ema"),
        (dict(rule="midpoint"), "rule"),
        (dict(ema_warmup=(0.99, 0.98, 10)), "ema_warmup"),
        (dict(vectors="none"), "vectors"),
        (dict(k_max=0), "k_max"),
        (dict(every=0), "every"),
        (dict(every=(3, 2, 10)), "every"),
        (dict(every=(0, 2, 10)), "every"),
        (dict(every=(2, 10, 0)), "every"),
        (dict(every=(2, 10)), "every"),
        (dict(every=2.5), "every"),
        (dict(every=True), "every"),
    ],
)
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
    rec = TrajectoryRecorder(
        prob.eval_loss, RecorderConfig(k_max=2, every=3, ema=None, ema_warmup=warm)
    )
    p0 = prob.init(jax.random.PRNGKey(0))
    _, st, _, _ = scan_recorded(
        lambda p: jax.tree_util.tree_map(lambda x: 0.9 * x, p), p0, lambda p: p, rec, steps=6
    )
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
        rec = TrajectoryRecorder(
            prob.eval_loss, RecorderConfig(ema=0.5, k_max=3, rule="left", vectors=mode)
        )
        _, out[mode] = rec.record(rec.ema_update(rec.init(p0), p1))
    iW, iv = 0, 1  # sorted keys: W, v
    full, dec = out["full"], out["decompose"]
    np.testing.assert_allclose(np.asarray(full.top[iW]), np.asarray(dec.top[iW]), rtol=1e-14)
    np.testing.assert_allclose(float(full.top[iv][0]), float(full.lin[iv]), rtol=1e-14)
    assert np.all(np.asarray(full.top[iv][1:]) == 0) and float(full.rest[iv]) == 0.0
    # the split of the vector leaf differs, its total does not
    np.testing.assert_allclose(
        float(np.sum(dec.top[iv]) + dec.rest[iv]), float(full.lin[iv]), rtol=1e-12
    )


def test_record_times_follow_the_schedule():
    """Exact cases of tau(t) = tau_0 + floor((tau_1 - tau_0) t / S) (t < S), tau_1 after,
    t_{r+1} = t_r + tau(t_r), the last interval cut at T."""
    # (2, 4, 10): tau = 2 for t in [0, 5), 3 for [5, 10), 4 from 10 on
    assert [interval((2, 4, 10), t) for t in (0, 4, 5, 9, 10, 99)] == [2, 2, 3, 3, 4, 4]
    np.testing.assert_array_equal(
        record_times((2, 4, 10), 30), [2, 4, 6, 9, 12, 16, 20, 24, 28, 30]
    )
    np.testing.assert_array_equal(record_times(3, 10), [3, 6, 9, 10])  # last one cut
    np.testing.assert_array_equal(record_times(1, 4), [1, 2, 3, 4])
    np.testing.assert_array_equal(record_times((5, 5, 7), 12), [5, 10, 12])
    # the paper's schedule: tau = 2..10, each on 250 steps of start times, then 10
    times = record_times((2, 10, 2000), 3000)
    starts = np.concatenate([[0], times[:-1]])
    tau = np.where(starts < 2000, 2 + (8 * starts) // 2000, 10)
    lengths = np.diff(times, prepend=0)
    np.testing.assert_array_equal(lengths[:-1], tau[:-1])
    assert times[-1] == 3000 and 1 <= lengths[-1] <= tau[-1]  # the last one cut at T
    assert sorted(set(lengths[:-1])) == list(range(2, 11))
    # records per phase: ceil(250 / tau) intervals start in each tau's range of start times
    phase = np.minimum(2 + (8 * starts) // 2000, 10)
    assert [int(np.sum(phase == tau)) for tau in (2, 3, 4)] == [125, 84, 62]


@given(a=st.integers(1, 6), extra=st.integers(0, 6), span=st.integers(1, 50), T=st.integers(1, 120))
def test_record_times_properties(a, extra, span, T):
    """Strictly increasing, ending at T, each interval tau(start) long (the last one cut),
    tau non-decreasing between tau_0 and tau_1."""
    every = (a, a + extra, span)
    times = record_times(every, T)
    starts = np.concatenate([[0], times[:-1]])
    taus = np.array([interval(every, int(t)) for t in starts])
    assert times[-1] == T and np.all(np.diff(times) > 0)
    np.testing.assert_array_equal(np.diff(times, prepend=0)[:-1], taus[:-1])
    assert 1 <= times[-1] - starts[-1] <= taus[-1]
    assert np.all(np.diff(taus) >= 0) and a <= taus.min() and taus.max() <= a + extra


def test_scan_recorded_records_carry_the_schedule_times():
    prob = tiny_quadratic.problem()
    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.7, k_max=2, every=(2, 4, 10)))
    p0 = prob.init(jax.random.PRNGKey(0))
    _, st, _, recs = jax.jit(
        lambda p: scan_recorded(
            lambda q: jax.tree_util.tree_map(lambda x: 0.9 * x, q), p, lambda q: q, rec, steps=30
        )
    )(p0)
    np.testing.assert_array_equal(np.asarray(recs.step), record_times((2, 4, 10), 30))
    assert int(st.t) == 30
    with pytest.raises(InputError) as err:
        scan_recorded(lambda q: q, p0, lambda q: q, rec, steps=0)
    assert err.value.param == "steps"


def test_host_and_device_spectra_agree():
    """The single host callback (all layers at once) and the XLA path give the same
    records (float64; both exact up to LAPACK rounding)."""
    prob = tiny_quadratic.problem()
    p0 = prob.init(jax.random.PRNGKey(1))
    p1 = jax.tree_util.tree_map(lambda x: x - 0.1 * jnp.sin(x), p0)
    out = []
    for host in (True, False):
        rec = TrajectoryRecorder(
            prob.eval_loss, RecorderConfig(ema=0.5, k_max=6, host_eigs=host, vectors="decompose")
        )
        out.append(
            jax.jit(lambda a, b, rec=rec: rec.record(rec.ema_update(rec.init(a), b))[1])(p0, p1)
        )
    scale = float(np.max(np.abs(np.asarray(out[0].top))))
    # backward-stable eigensolvers on 7 x 7 matrices: a few hundred eps of the scale
    np.testing.assert_allclose(
        np.asarray(out[0].top), np.asarray(out[1].top), rtol=0, atol=1e-13 * scale
    )
    np.testing.assert_allclose(
        np.asarray(out[0].rest), np.asarray(out[1].rest), rtol=0, atol=1e-13 * scale
    )


@pytest.mark.parametrize("host", [True, False])
def test_non_finite_leaves_give_nan_records(host):
    prob = tiny_quadratic.problem()
    p0 = prob.init(jax.random.PRNGKey(1))
    bad = {"W": jnp.full((5, 7), jnp.nan), "v": p0["v"]}
    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(ema=0.5, k_max=3, host_eigs=host))
    _, r = rec.record(rec.ema_update(rec.init(p0), bad))
    assert np.all(np.isnan(np.asarray(r.top[0]))) and np.isnan(float(r.rest[0]))

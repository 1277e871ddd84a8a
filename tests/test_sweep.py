"""simulations.sweep: the vmapped engine and the resumable result store (SPEC §5, §7).

Engine tests share one tiny configuration so each worker compiles it once."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from fasttransfer.simulations import relu_net, sweep
from fasttransfer.theory.errors import InputError
from fasttransfer.theory.rates import read_sweep

TINY = sweep.ReluSweepConfig(widths=(8, 16, 32), n_lrs=5, lr_min=1e-3, lr_max=1.0, seeds=2,
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
    grads, loss_v = sweep.lr_grid_grads(p_L, x, y, param, loss)
    auto = jax.vmap(jax.value_and_grad(relu_net.loss_fn),
                    in_axes=(0, None, None, None, None))(p_L, x, y, param, loss)
    # same arithmetic up to summation order: float64 rounding
    np.testing.assert_allclose(np.asarray(loss_v), np.asarray(auto[0]), rtol=1e-12)
    for k in ("W", "b", "a"):
        assert grads[k].shape == p_L[k].shape
        np.testing.assert_allclose(np.asarray(grads[k]), np.asarray(auto[1][k]), rtol=1e-10, atol=1e-15)


def test_train_width_no_retrace_and_one_vs_two_devices():
    assert len(jax.devices()) == 2  # conftest forces two CPU devices
    one = sweep.train_width(TINY, 8, devices=jax.devices()[:1])
    before = dict(sweep.TRACE_COUNT)
    two = sweep.train_width(TINY, 8, devices=jax.devices())
    again = sweep.train_width(TINY, 8)
    # the second and third calls trace nothing (the compiled programs are reused)
    assert sweep.TRACE_COUNT == before
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
    whole = sweep.train_width(TINY, 8).loss
    monkeypatch.setattr(sweep, "CACHE_BYTES", 16 * 8 * 8)  # one (batch 16, n 8) f64 array
    assert sweep._plan(TINY, 8, "cpu").lr_block == 1
    one = sweep.train_width(TINY, 8, devices=jax.devices()[:1]).loss
    two = sweep.train_width(TINY, 8, devices=jax.devices()).loss
    np.testing.assert_array_equal(one, two)
    # float64 rounding accumulated over 20 Adam steps: far below any loss difference
    np.testing.assert_allclose(one, whole, rtol=1e-12)


def test_common_random_numbers_and_divergence():
    """At a vanishing learning rate every LR of a seed ends at that seed's initial loss
    (same initialisation for every LR); an absurd learning rate overflows: NaN, no crash."""
    cfg = TINY.replace(lr_min=1e-30, lr_max=1e200, n_lrs=5, test_size=64)
    out = sweep.train_width(cfg, 8).loss
    assert np.isnan(out[-1]).all()
    key_init = sweep._seed_keys(np.arange(2))[0]
    x, y = sweep.test_set(cfg)
    for s in range(2):
        p0 = relu_net.init_params(key_init[s], 8, cfg.d, cfg.param, jnp.float64,
                                  input_std=cfg.task_spec().input_std,
                                  base_width=cfg.base_width)
        init_loss = float(relu_net.loss_fn(p0, x, y, cfg.param, cfg.loss))
        # 20 Adam steps of size <= 1e-30 change nothing visible in float64
        assert out[0, s] == pytest.approx(init_loss, rel=1e-12)


def _fake_losses(calls):
    def fake(config, width, *, devices=None, progress=None, segment_seconds=None):
        calls.append(width)
        out = np.tile((np.log(config.lrs()) + 3.0) ** 2, (config.seeds, 1)).T / width + 1.0 / width
        out = out + 1e-3 * np.arange(config.seeds)[None, :]
        out[-1, 0] = np.nan  # one diverged run
        if progress is not None:
            progress(config.steps * config.seeds)
        se = np.full_like(out, 1e-4)
        se_next = se.copy()
        se_next[-1] = np.nan
        return sweep.WidthResult(loss=out, se=se, se_next=se_next)
    return fake


def test_store_resume_and_analyze_reads_it(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep, "train_width", _fake_losses(calls))
    cfg = TINY.replace(widths=(16, 32, 64, 128))
    df = sweep.run_sweep(cfg, tmp_path, progress=False, log=lambda s: None)
    assert sorted(calls) == [16, 32, 64, 128]
    assert list(df.columns) == list(sweep.FRAME_COLUMNS)
    assert len(df) == 4 * cfg.n_lrs * cfg.seeds
    stored = read_sweep(tmp_path / sweep.CSV_NAME)  # analyze's reader, as is
    assert len(stored) == len(df) and int(stored.loss.isna().sum()) == 4
    prov = json.loads((tmp_path / sweep.PROVENANCE_NAME).read_text())
    assert sorted(prov["cells"]) == ["128", "16", "32", "64"]
    assert {"seconds", "devices", "jax", "code"} <= set(prov["cells"]["16"])
    np.testing.assert_allclose(np.sort(np.unique(stored.hp)), np.log(cfg.lrs()), rtol=1e-15)
    conf = json.loads((tmp_path / sweep.CONFIG_NAME).read_text())
    assert conf["param"] == "mup" and conf["widths"] == [16, 32, 64, 128]
    # re-running recomputes nothing
    calls.clear()
    sweep.run_sweep(cfg, tmp_path, progress=False, log=lambda s: None)
    assert calls == []
    # a lost cell (and a stray temporary file from a killed write) is redone, alone
    os.unlink(sweep.cell_path(tmp_path, 32))
    (tmp_path / sweep.CELLS_DIR / ".width_64.csv.x1.tmp").write_text("width,hp\n1,")
    df2 = sweep.run_sweep(cfg, tmp_path, progress=False, log=lambda s: None)
    assert calls == [32]
    pd.testing.assert_frame_equal(df2.sort_values(["width", "hp", "seed"]).reset_index(drop=True),
                                  df.sort_values(["width", "hp", "seed"]).reset_index(drop=True))


def test_killed_run_keeps_finished_cells(tmp_path, monkeypatch):
    calls = []
    fake = _fake_losses(calls)

    def dies_on_second(config, width, **kw):
        if len(calls) == 1:
            raise KeyboardInterrupt  # killed while training the second width
        return fake(config, width, **kw)

    monkeypatch.setattr(sweep, "train_width", dies_on_second)
    cfg = TINY.replace(widths=(16, 32, 64))
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(cfg, tmp_path, progress=False, log=lambda s: None)
    assert sweep.finished_widths(tmp_path) == [16]
    assert set(pd.read_csv(tmp_path / sweep.CSV_NAME).width) == {16}  # merged so far
    monkeypatch.setattr(sweep, "train_width", fake)
    sweep.run_sweep(cfg, tmp_path, progress=False, log=lambda s: None)
    assert calls == [16, 32, 64]  # 16 was not trained again
    assert sweep.finished_widths(tmp_path) == [16, 32, 64]


def test_changed_config_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "train_width", _fake_losses([]))
    sweep.run_sweep(TINY, tmp_path, progress=False, log=lambda s: None)
    with pytest.raises(InputError, match="steps"):
        sweep.run_sweep(TINY.replace(steps=21), tmp_path, progress=False, log=lambda s: None)
    # more widths are more cells of the same store, not a different configuration
    sweep.run_sweep(TINY.replace(widths=(8, 16, 32, 64)), tmp_path, progress=False, log=lambda s: None)
    assert json.loads((tmp_path / sweep.CONFIG_NAME).read_text())["widths"] == [8, 16, 32, 64]


@pytest.mark.parametrize("bad", [dict(param="ntk"), dict(lr_min=1.0, lr_max=0.1),
                                 dict(widths=(8, 8)), dict(task="xor"), dict(loss="hinge"),
                                 dict(task="kindex", k=65), dict(out_lr_factor=0.0),
                                 dict(matmul_precision="bfloat16"), dict(base_width=0)])
def test_config_validation(bad):
    with pytest.raises(InputError):
        sweep.ReluSweepConfig(**bad)


def test_paper_presets_are_the_papers_setting():
    """PAPER.md: ReLU counterexample d = 64, BCE, outside-ball label, batch 256, T = 2^14,
    14 widths 181..16384 at sqrt(2) spacing, quarter-octave LR grid; k-index model k = 15,
    d = 64, squared loss, T = 2^14, batch 256, 15 widths 128..16384."""
    p = sweep.preset("paper")
    assert (p.task, p.loss, p.d, p.batch, p.steps) == ("ball", "bce", 64, 256, 2**14)
    assert p.widths == (181, 256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096, 5793,
                        8192, 11585, 16384)
    assert p.seeds >= 4 and p.param == "mup" and p.preset == "paper"
    np.testing.assert_allclose(np.diff(np.log2(p.lrs())), 0.25, rtol=1e-12)
    k = sweep.preset("paper", study="kindex")
    assert (k.task, k.loss, k.d, k.k, k.batch, k.steps) == ("kindex", "squared", 64, 15, 256, 2**14)
    assert k.widths == sweep.sqrt2_widths(7, 14) and len(k.widths) == 15
    assert k.widths[0] == 128 and k.widths[-1] == 16384 and k.out_lr_factor == 1
    assert k.lr_max / k.lr_min >= 100  # both modes: 0.1-0.15 and ~1.5e-3 in the paper
    lw = sweep.preset("paper", study="kindex-layerwise")
    assert lw.out_lr_factor == pytest.approx(1 / 50) and lw.replace(out_lr_factor=1.0) == k


@pytest.mark.parametrize("study", sweep.STUDIES)
def test_reduced_presets_keep_the_regime(study):
    """cpu and quick keep d, loss, label, batch and the grid spacing of paper, with fewer
    steps and widths."""
    p, c, q = (sweep.preset(n, study=study) for n in ("paper", "cpu", "quick"))
    for r in (c, q):
        assert (r.task, r.loss, r.d, r.batch, r.k, r.out_lr_factor) == \
            (p.task, p.loss, p.d, p.batch, p.k, p.out_lr_factor)
        np.testing.assert_allclose(np.diff(np.log(r.lrs())), np.diff(np.log(p.lrs()))[0], rtol=1e-12)
        assert r.steps < p.steps and len(r.widths) < len(p.widths)
    s = sweep.preset("quick", "sp")
    assert s.param == "sp" and s.lr_min < q.lr_min or study != "relu"
    assert sweep.ReluSweepConfig.from_json_dict(q.to_json_dict()) == q
    assert sweep.store_dir("R", c).parts[-3:] == (study, "cpu", "mup")

"""simulations.sweep: the ReLU sweep in the results store -- resumable cells, one entry
per configuration and code version, the manifest and the per-cell log."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import tiny_relu

from fasttransfer import store
from fasttransfer.simulations import sweep
from fasttransfer.simulations.relu_engine import WidthResult
from fasttransfer.theory.sweep_data import read_sweep

TINY = tiny_relu.ENGINE


def _per_width(fake):
    """A stand-in for the engine's train_widths from one for a single width."""

    def train_widths(config, widths, **kw):
        return {w: fake(config, w, **kw) for w in widths}

    return train_widths


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
        return WidthResult(loss=out, se=se, se_next=se_next)

    return _per_width(fake)


def test_store_resume_and_analyze_reads_it(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep, "train_widths", _fake_losses(calls))
    cfg = TINY.replace(widths=(16, 32, 64, 128))
    df = sweep.run_sweep(cfg, tmp_path, progress=False)
    assert sorted(calls) == [16, 32, 64, 128]
    assert list(df.columns) == list(sweep.FRAME_COLUMNS)
    assert len(df) == 4 * cfg.n_lrs * cfg.seeds
    entry = sweep.entry_dir(tmp_path, cfg)
    assert entry == tmp_path / "relu" / "custom" / "mup"
    stored = read_sweep(entry / sweep.CSV_NAME)  # analyze's reader, as is
    assert len(stored) == len(df) and int(stored.loss.isna().sum()) == 4
    cells = json.loads((entry / sweep.CELLS_LOG).read_text())
    assert sorted(cells) == ["128", "16", "32", "64"]
    assert {"seconds", "devices", "jax", "git", "engine"} <= set(cells["16"])
    np.testing.assert_allclose(np.sort(np.unique(stored.hp)), np.log(cfg.lrs()), rtol=1e-15)
    manifest = json.loads((entry / store.MANIFEST).read_text())
    assert manifest["config"] == json.loads(json.dumps(cfg.result_key()))
    assert manifest["status"] == "complete" and manifest["result"]["widths"] == [16, 32, 64, 128]
    assert manifest["code_version"] == store.code_version(sweep.CODE_MODULES)
    _, back, e = sweep.read_sweep(tmp_path, cfg)
    assert len(back) == len(df) and e.complete

    # re-running recomputes nothing and writes nothing (every file byte- and time-identical)
    def files():
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in entry.rglob("*") if p.is_file()}

    before = files()
    calls.clear()
    again = sweep.run_sweep(cfg, tmp_path, progress=False)
    assert calls == [] and files() == before
    pd.testing.assert_frame_equal(again, df)
    # a run over fewer widths reuses them and keeps the entry's other cells in its CSV
    sub = sweep.run_sweep(cfg.replace(widths=(16, 32)), tmp_path, progress=False)
    assert calls == [] and sorted(set(sub.width)) == [16, 32] and files() == before
    # a lost cell (and a stray temporary file from a killed write) is redone, alone
    os.unlink(sweep.cell_path(entry, 32))
    (entry / sweep.CELLS_DIR / ".width_64.csv.x1.tmp").write_text("width,hp\n1,")
    df2 = sweep.run_sweep(cfg, tmp_path, progress=False)
    assert calls == [32]
    pd.testing.assert_frame_equal(
        df2.sort_values(["width", "hp", "seed"]).reset_index(drop=True),
        df.sort_values(["width", "hp", "seed"]).reset_index(drop=True),
    )


def test_killed_run_keeps_finished_cells(tmp_path, monkeypatch):
    calls = []
    fake = _fake_losses(calls)

    def dies_on_second(config, widths, **kw):
        if len(calls) == 1:
            raise KeyboardInterrupt  # killed while training the second width
        return fake(config, widths, **kw)

    monkeypatch.setattr(sweep, "train_widths", dies_on_second)
    cfg = TINY.replace(widths=(16, 32, 64))
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(cfg, tmp_path, progress=False)
    entry = sweep.entry_dir(tmp_path, cfg)
    assert sweep.finished_widths(entry) == [16]
    assert set(pd.read_csv(entry / sweep.CSV_NAME).width) == {16}  # merged so far
    with pytest.raises(store.MissingResult, match="unfinished"):  # not for readers yet
        sweep.read_sweep(tmp_path, cfg)
    monkeypatch.setattr(sweep, "train_widths", fake)
    sweep.run_sweep(cfg, tmp_path, progress=False)
    assert calls == [16, 32, 64]  # 16 was not trained again
    assert sweep.finished_widths(entry) == [16, 32, 64]


def test_changed_config_is_stale_until_recomputed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sweep, "train_widths", _fake_losses(calls))
    sweep.run_sweep(TINY, tmp_path, progress=False)
    with pytest.raises(store.StaleResult, match="steps"):
        sweep.run_sweep(TINY.replace(steps=21), tmp_path, progress=False)
    # more widths are more cells of the same entry, not a different configuration
    calls.clear()
    sweep.run_sweep(TINY.replace(widths=(8, 16, 32, 64)), tmp_path, progress=False)
    assert calls == [64]
    entry = sweep.entry_dir(tmp_path, TINY)
    assert json.loads((entry / store.MANIFEST).read_text())["result"]["widths"] == [8, 16, 32, 64]
    calls.clear()
    sweep.run_sweep(TINY.replace(steps=21), tmp_path, recompute=True, progress=False)
    assert calls == [8, 16, 32]


def test_changing_the_engine_code_makes_the_entry_stale(tmp_path, monkeypatch):
    """The entry is keyed on the code of CODE_MODULES: an edited engine is refused by
    the run and by readers (here: a copy of the engine module, then edited)."""
    import shutil

    from fasttransfer.simulations import relu_engine

    pkg = tmp_path / "src"
    pkg.mkdir()
    shutil.copyfile(relu_engine.__file__, pkg / "engine_copy.py")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.setattr(sweep, "CODE_MODULES", (*sweep.CODE_MODULES[:2], "engine_copy"))
    monkeypatch.setattr(sweep, "train_widths", _fake_losses([]))
    root = tmp_path / "out"
    sweep.run_sweep(TINY, root, progress=False)
    assert sweep.read_sweep(root, TINY)[2].complete
    src = (pkg / "engine_copy.py").read_text()
    (pkg / "engine_copy.py").write_text(src.replace("CACHE_BYTES = 2**20", "CACHE_BYTES = 2**21"))
    with pytest.raises(store.StaleResult, match="code version"):
        sweep.read_sweep(root, TINY)
    with pytest.raises(store.StaleResult, match="recompute"):
        sweep.run_sweep(TINY, root, progress=False)


def test_packs_are_one_engine_call_each_with_their_cells_logged(tmp_path, monkeypatch):
    """pack_neurons: the narrow widths go to the engine together; each width is still its
    own cell, whose record names the pack and takes its share of the pack's seconds."""
    packs = []
    inner = _fake_losses([])

    def train_widths(config, widths, **kw):
        packs.append(tuple(widths))
        return inner(config, widths, **kw)

    monkeypatch.setattr(sweep, "train_widths", train_widths)
    seen = []
    cfg = TINY.replace(widths=(16, 32, 64, 128), pack_neurons=48)
    df = sweep.run_sweep(
        cfg, tmp_path, progress=False, on_cell=lambda p, s, seg: seen.append((p, s))
    )
    assert packs == [(16, 32), (64,), (128,)]
    assert [p for p, _ in seen] == packs
    assert sorted(set(df.width)) == [16, 32, 64, 128]
    cells = json.loads((sweep.entry_dir(tmp_path, cfg) / sweep.CELLS_LOG).read_text())
    assert cells["16"]["pack"] == cells["32"]["pack"] == [16, 32] and "pack" not in cells["64"]
    assert cells["16"]["engine"]["pack_neurons"] == 48
    # shares in proportion to the widths (1:2), adding up to the pack's time
    pack_s = seen[0][1]
    assert cells["16"]["seconds"] + cells["32"]["seconds"] == pytest.approx(pack_s, abs=2e-3)
    assert cells["32"]["seconds"] == pytest.approx(2 * cells["16"]["seconds"], abs=2e-3)
    # an engine knob: the same entry as without packs
    assert sweep.read_sweep(tmp_path, TINY)[2].complete

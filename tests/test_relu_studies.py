"""simulations.relu_studies: the paper preset is read from the store or the results bank
and never simulated (unless recompute); a missing entry names the command that makes it;
reduced presets run, and a second call reuses the stored entry."""

import pandas as pd
import pytest

import tiny_relu
from fasttransfer.simulations import relu_config, relu_studies, sweep
from fasttransfer.theory import store
from fasttransfer.theory.errors import InputError


def test_paper_preset_reads_the_bank_and_never_simulates(tmp_path, monkeypatch):
    def no_sim(*a, **k):
        raise AssertionError("the paper preset must not be simulated")

    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    bank = tmp_path / "bank"
    monkeypatch.setattr(store, "BANK", bank)
    cfg = relu_config.preset("paper")
    with pytest.raises(InputError, match="results bank"):
        relu_studies.load_or_run(tmp_path / "out", cfg)
    # a bank entry is read as stored: configuration, frame and its widths
    e = sweep.open_sweep(cfg, bank)
    e.write_csv(sweep.CSV_NAME, pd.DataFrame({
        "width": [181, 181, 256, 256], "hp": [-7.0, -6.0, -7.0, -6.0],
        "loss": [0.3, 0.2, 0.25, 0.2], "seed": [0, 0, 0, 0]}))
    store.finish(e)
    got, df, src = relu_studies.load_or_run(tmp_path / "out", cfg)
    assert got.widths == (181, 256) and len(df) == 4
    assert src.startswith("results bank") and "code " in src


def test_reduced_preset_runs_once_then_reuses(tmp_path):
    cfg = tiny_relu.counterexample()["mup"].replace(widths=(16, 32))
    logs = []
    _, df, src = relu_studies.load_or_run(tmp_path, cfg, log=logs.append)
    assert src.startswith("store: ") and len(df) == 2 * cfg.n_lrs * cfg.seeds
    logs.clear()
    _, df2, _ = relu_studies.load_or_run(tmp_path, cfg, log=logs.append)
    assert any("reused" in m for m in logs) and not any("done in" in m for m in logs)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), df2.reset_index(drop=True))


def test_presets_of_the_studies():
    c = relu_studies.counterexample_configs("paper")
    assert c["mup"].preset == "paper" and c["sp"].preset == "quick" and c["sp"].param == "sp"
    assert c["mup"] == relu_config.preset("paper")
    k = relu_studies.late_shift_configs("cpu")
    assert set(k) == set(relu_studies.LATE_SHIFT_STUDIES)
    assert k["kindex-layerwise"].out_lr_factor == pytest.approx(1 / 50)

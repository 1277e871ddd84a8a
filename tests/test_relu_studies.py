"""simulations.relu_studies: the paper preset is read from the store or the results bank
and never simulated (unless recompute); a missing entry names the command that makes it;
reduced presets run, and a second call reuses the stored entry."""

import logging

import pandas as pd
import pytest
import tiny_relu

from fasttransfer import store
from fasttransfer.errors import InputError
from fasttransfer.simulations import relu_config, relu_studies, sweep


def test_paper_preset_reads_the_bank_and_never_simulates(tmp_path, monkeypatch):
    def no_sim(*a, **k):
        raise AssertionError("the paper preset must not be simulated")

    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    bank = tmp_path / "bank"
    monkeypatch.setattr(store, "BANK", bank)
    cfg = relu_config.ReluSweepConfig.from_preset("paper")
    with pytest.raises(InputError, match="results bank"):
        relu_studies.load_or_run(tmp_path / "out", cfg)
    # a bank entry is read as stored: configuration, frame and its widths
    e = sweep.open_sweep(cfg, bank)
    e.write_csv(
        sweep.CSV_NAME,
        pd.DataFrame(
            {
                "width": [181, 181, 256, 256],
                "hp": [-7.0, -6.0, -7.0, -6.0],
                "loss": [0.3, 0.2, 0.25, 0.2],
                "seed": [0, 0, 0, 0],
            }
        ),
    )
    store.finish(e)
    got, df, src = relu_studies.load_or_run(tmp_path / "out", cfg)
    assert got.widths == (181, 256) and len(df) == 4
    assert src.startswith("results bank") and "code " in src


def test_reduced_preset_runs_once_then_reuses(tmp_path, caplog):
    cfg = tiny_relu.counterexample()["mup"].replace(widths=(16, 32))
    caplog.set_level(logging.INFO, logger="fasttransfer")
    _, df, src = relu_studies.load_or_run(tmp_path, cfg)
    assert src.startswith("store: ") and len(df) == 2 * cfg.n_lrs * cfg.seeds
    assert any("done in" in m for m in caplog.messages)
    caplog.clear()
    _, df2, _ = relu_studies.load_or_run(tmp_path, cfg)
    assert any("reused" in m for m in caplog.messages)
    assert not any("done in" in m for m in caplog.messages)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), df2.reset_index(drop=True))


def test_presets_of_the_studies():
    c = relu_studies.counterexample_configs("paper")
    assert c["mup"].preset == "paper" and c["sp"].preset == "quick" and c["sp"].param == "sp"
    assert c["mup"] == relu_config.ReluSweepConfig.from_preset("paper")
    k = relu_studies.late_shift_configs("cpu")
    assert set(k) == set(relu_studies.LATE_SHIFT_STUDIES)
    assert k["kindex-layerwise"].out_lr_factor == pytest.approx(1 / 50)


def _frame(width, seeds, shift=0.0, scale=1.0):
    """A V-shaped sweep phi = 0.2 (1 + |log2 nu - c|/4) on a quarter-octave grid, c = -7
    + shift, seed s shifted in level by 0.2% s (seed noise of the level only)."""
    import numpy as np

    x = np.arange(-10, -4.01, 0.25)
    rows = [
        pd.DataFrame(
            {
                "width": width,
                "hp": x * np.log(2),
                "seed": s,
                "loss": scale * 0.2 * (1 + np.abs(x - (-7 + shift)) / 4) * (1 + 2e-3 * s),
            }
        )
        for s in seeds
    ]
    return pd.concat(rows, ignore_index=True)


def test_sensitivity_table_moves_only_beyond_the_seed_noise():
    pilot = _frame(181, range(4))
    cfg = relu_config.sensitivity_configs("kindex")
    table = relu_studies.sensitivity_table(
        pilot,
        {
            "same": (cfg["readout_init-zero"], _frame(181, range(2))),
            "moved": (cfg["schedule-cosine"], _frame(181, range(2), shift=1.0)),
            "half": (cfg["loss-half_squared"], _frame(181, range(2), scale=0.5)),
            "lower": (cfg["weight_decay-0.01"], _frame(181, range(2), scale=0.9)),
        },
        grid_octaves=0.25,
    ).set_index("variant")
    assert not table.loc["same", "moves_lr"] and not table.loc["same", "moves_loss"]
    assert table.loc["moved", "moves_lr"] and table.loc["moved", "d_log2_lr"] == pytest.approx(1.0)
    # a half-squared loss is put back on the squared loss's scale: nothing moves
    assert not table.loc["half", "moves_loss"] and table.loc["half", "d_loss"] == pytest.approx(0.0)
    assert table.loc["lower", "moves_loss"] and table.loc["lower", "d_loss"] < 0
    assert (table.seeds == 2).all() and (table.width == 181).all()


def test_bank_keeps_the_base_width_variant_of_the_paper_runs():
    """The paper-preset runs made with base width 128 stay in the bank, labelled as that
    variant, and are read with the configuration their manifest stores."""
    for study in relu_config.STUDIES:
        got = relu_studies.bank_variants(study)
        assert set(got) == {"mup__base_width-128"}
        cfg, df, src = got["mup__base_width-128"]
        assert cfg.base_width == 128 and cfg.steps == 2**14 and src.startswith("results bank")
        assert set(df.width.unique()) == set(cfg.widths) and len(cfg.widths) >= 2

"""simulations.relu_studies: the paper preset is read from the results bank and never
simulated; a missing entry names the command that makes it; reduced presets run."""

import json

import pandas as pd
import pytest

from fasttransfer.simulations import relu_studies


def test_paper_preset_reads_the_bank_and_never_simulates(tmp_path, monkeypatch):
    from fasttransfer.simulations import relu_studies, sweep
    from fasttransfer.theory.errors import InputError

    def no_sim(*a, **k):
        raise AssertionError("the paper preset must not be simulated")

    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    monkeypatch.setattr(sweep, "BANK_DIR", tmp_path / "empty_bank")
    with pytest.raises(InputError, match="results bank"):
        relu_studies.load_or_run(tmp_path, sweep.preset("paper"))
    # a bank entry is read as stored: configuration, frame and its widths
    cfg = sweep.preset("paper")
    dest = sweep.store_dir(tmp_path / "empty_bank", cfg)
    dest.mkdir(parents=True)
    (dest / sweep.CONFIG_NAME).write_text(json.dumps(cfg.to_json_dict()))
    pd.DataFrame({"width": [181, 181, 256, 256], "hp": [-7.0, -6.0, -7.0, -6.0],
                  "loss": [0.3, 0.2, 0.25, 0.2], "seed": [0, 0, 0, 0]}).to_csv(
        dest / sweep.CSV_NAME, index=False)
    got, df, src = relu_studies.load_or_run(tmp_path, cfg)
    assert got.widths == (181, 256) and len(df) == 4 and "results bank" in src


def test_presets_of_the_studies():
    from fasttransfer.simulations import sweep

    c = relu_studies.counterexample_configs("paper")
    assert c["mup"].preset == "paper" and c["sp"].preset == "quick" and c["sp"].param == "sp"
    assert c["mup"] == sweep.preset("paper")
    k = relu_studies.late_shift_configs("cpu")
    assert set(k) == set(relu_studies.LATE_SHIFT_STUDIES)
    assert k["kindex-layerwise"].out_lr_factor == pytest.approx(1 / 50)

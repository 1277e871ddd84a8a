"""The top-k study's registry of settings, its presets and its store use
(simulations/topk_study.py); the transformer's smoke preset end to end."""

import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import topk_study
from fasttransfer.store import MissingResult


def test_every_setting_has_every_preset_it_is_run_at():
    for preset, settings in topk_study.PRESET_SETTINGS.items():
        cfgs = topk_study.configs(preset, settings=settings)
        assert tuple(cfgs) == settings
        for cfg in cfgs.values():  # the fields the study and the recorder read
            assert cfg.widths and cfg.lrs and cfg.seeds and cfg.steps >= 1
            assert {"every", "ema", "k_max", "rule"} <= set(vars(cfg))


def test_unknown_settings_are_refused():
    with pytest.raises(InputError) as err:
        topk_study.configs("quick", settings=("mlp", "cnn"))
    assert err.value.param == "settings"


def test_stored_only_never_trains(tmp_path):
    with pytest.raises(MissingResult):
        topk_study.simulate(
            tmp_path,
            "paper",
            settings=("mlp",),
            stored_only=True,
            progress=False,
        )
    assert not (tmp_path / "topk" / "paper" / "mlp" / "cells").exists()


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_the_transformer_smoke_preset_runs_through_the_study(tmp_path):
    """The muP transformer at its quick (smoke) preset, cut to its two narrowest widths
    and half its steps (each width is one more XLA compilation, ~30 s on a CPU), recorded
    on the paper's schedule: finite losses that fall, a top-k profile that adds up, the
    corpus in the provenance."""
    import numpy as np

    from fasttransfer.simulations.transformer import TransformerConfig

    cfg = TransformerConfig.from_preset("quick", widths=(16, 32), steps=30)
    res = topk_study.simulate(tmp_path, "quick", cfgs={"transformer": cfg}, progress=False)[
        "transformer"
    ]
    final, prof = res["final"], res["profile"]
    cfg = res["config"]
    assert len(final) == len(cfg.widths) * len(cfg.lrs) * len(cfg.seeds)
    assert np.isfinite(final["loss"]).all() and (final["loss"] < final["loss0"]).all()
    # phi^k + phi^-k = phi_lin at every k (the split is a partition of the change)
    merged = prof.merge(final[["width", "hp", "seed", "linearised"]])
    np.testing.assert_allclose(
        merged["topk"] + merged["residual"], merged["linearised"], rtol=1e-6, atol=1e-6
    )  # float32 sums of O(1) terms
    manifest = (tmp_path / "topk" / "quick" / "transformer" / "manifest.json").read_text()
    assert '"corpus"' in manifest and res["variants"] is None


def test_unrecorded_seeds_join_the_transfer_sweep_only(tmp_path):
    """transfer_seeds: trained without records, in transfer.csv and sweep.csv (what the
    transfer verdict reads) beside the recorded seeds, absent from the decomposition's
    frames; the recorded seeds' rows of transfer.csv are their final.csv rows."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from fasttransfer.simulations.mlp_mnist1d import MLPConfig

    cfg = replace(
        MLPConfig.from_preset("quick"),
        widths=(8, 16),
        lrs=(1e-2, 2e-2, 4e-2),
        seeds=(0,),
        transfer_seeds=(1, 2),
        steps=6,
    )
    res = topk_study.simulate(tmp_path, "quick", cfgs={"mlp": cfg}, progress=False, variants=False)[
        "mlp"
    ]
    tr = res["transfer"]
    assert sorted(tr["seed"].unique()) == [0, 1, 2] and len(tr) == 2 * 3 * 3
    assert set(res["final"]["seed"]) == set(res["profile"]["seed"]) == {0}
    assert (tr["recorded"] == (tr["seed"] == 0)).all() and np.isfinite(tr["loss"]).all()
    rec = tr[tr["recorded"]].merge(res["final"], on=["width", "hp", "seed"])
    np.testing.assert_array_equal(rec["loss_x"], rec["loss_y"])
    sweep = pd.read_csv(tmp_path / "topk" / "quick" / "mlp" / "sweep.csv")
    assert len(sweep) == len(tr) and set(sweep["seed"]) == {0, 1, 2}


def test_unrecorded_seeds_never_repeat_recorded_ones():
    from fasttransfer.simulations.mlp_mnist1d import MLPConfig

    with pytest.raises(InputError) as err:
        MLPConfig(seeds=(0, 1), transfer_seeds=(1, 2))
    assert err.value.param == "transfer_seeds"
    # --seeds N moves the unrecorded seeds behind the recorded ones, keeping their number
    cpu = topk_study.configs("cpu", settings=("mlp",))["mlp"]
    over = topk_study.configs("cpu", settings=("mlp",), seeds=20)["mlp"]
    assert over.seeds == tuple(range(20))
    assert over.transfer_seeds == tuple(range(20, 20 + len(cpu.transfer_seeds)))


def test_entries_hold_training_outputs_keyed_on_the_training_code(tmp_path):
    """Store identity = the code that makes the numbers: an entry's code version covers
    the engine (recorder, training loop, alignment spectra, muP rules, the setting's
    model), not the statistics read from it (theory.hypothesis1, the checks); Algorithm
    1's output is computed when read and never written into the entry."""
    from dataclasses import replace

    from fasttransfer import store
    from fasttransfer.simulations.mlp_mnist1d import MLPConfig
    from fasttransfer.theory.algorithm1 import kappa_summary

    for setting, (_, _, extra) in topk_study.SETTING_CODE.items():
        modules = topk_study.CODE_MODULES + extra
        assert all(m.startswith("fasttransfer.simulations.") for m in modules), setting
        assert not any("hypothesis1" in m or ".checks" in m for m in modules), setting
    cfg = replace(
        MLPConfig.from_preset("quick"), widths=(8, 16), lrs=(1e-2, 2e-2, 4e-2), seeds=(0,), steps=6
    )
    res = topk_study.simulate(tmp_path, "quick", cfgs={"mlp": cfg}, progress=False, variants=False)[
        "mlp"
    ]
    entry = tmp_path / "topk" / "quick" / "mlp"
    assert not (entry / "kappa.json").exists()
    assert res["kappa"] == kappa_summary(res["profile"], res["final"])
    manifest = store.read_entry(tmp_path, "topk", "quick", "mlp").manifest
    assert "fasttransfer.theory.hypothesis1" not in manifest["code_modules"]

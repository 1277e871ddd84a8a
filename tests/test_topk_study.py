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


def test_a_width_in_parts_resumed_equals_it_whole(tmp_path):
    """A width trained in parts of its (learning rate, seed) lanes, stopped between
    parts and resumed, gives the whole width's rows in the same order; the parts are
    merged into the width's cell and removed."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    quick = topk_study.configs("quick", settings=("relu",))["relu"]
    cfg = replace(quick, widths=(16,), steps=40, dtype="float64")
    whole = topk_study.simulate_setting("relu", cfg, tmp_path / "a", "tiny", variants=False)
    seen = []

    def four_then_stop(width, left):
        return 4 if len(seen) < 2 else 0

    def on_part(width, lanes, seconds):
        seen.append(lanes)

    root = tmp_path / "b"
    with pytest.raises(topk_study.Deferred, match="width 16"):
        topk_study.simulate_setting(
            "relu", cfg, root, "tiny", variants=False, lanes_now=four_then_stop, on_part=on_part
        )
    entry = root / "topk" / "tiny" / "relu"
    assert seen == [4, 4]
    assert topk_study.lanes_done(entry, 16) == {(0, i) for i in range(8)}
    # resumed: the rest of seed 0's learning rates, then seed 1 whole
    parts = topk_study.simulate_setting(
        "relu", cfg, root, "tiny", variants=False, lanes_now=lambda w, left: 10, on_part=on_part
    )
    n_lr = len(cfg.lrs)
    assert seen == [4, 4, 1, n_lr]
    assert not list(entry.glob("cells/w16_part*")) and (entry / "cells" / "w16.done").exists()
    for name in ("final", "profile", "curves", "transfer"):  # the cell itself stays
        assert (entry / "cells" / f"w16_{name}.csv").exists()
    for name in ("final", "profile", "curves", "transfer"):
        a, b = whole[name], parts[name]
        pd.testing.assert_frame_equal(a[["width", "seed"]], b[["width", "seed"]])
        num = [c for c in a.columns if a[c].dtype.kind == "f"]
        # lanes are independent runs, batched differently: float64 rounding of O(1)
        # losses summed over the R records (R eps64 ~ 3e-14 absolute, hence atol, which
        # covers a residual that cancels to 0 on one side), below the stored frames' 10
        # significant digits, where a value on a rounding boundary may land one unit of
        # the 10th digit apart (rtol)
        np.testing.assert_allclose(b[num].to_numpy(), a[num].to_numpy(), rtol=1e-9, atol=1e-12)

"""The top-k study's registry of settings, its presets and its store use
(simulations/topk_study.py); the transformer's smoke preset end to end."""

import pytest

from fasttransfer.simulations import topk_study
from fasttransfer.theory.errors import InputError
from fasttransfer.theory.store import MissingResult


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
        topk_study.simulate(tmp_path, "paper", settings=("mlp",), stored_only=True,
                            progress=False, log=lambda *_: None)
    assert not (tmp_path / "topk" / "paper" / "mlp" / "cells").exists()


def test_the_transformer_smoke_preset_runs_through_the_study(tmp_path):
    """The muP transformer at its quick (smoke) preset, recorded on the paper's schedule:
    finite losses that fall, a top-k profile that adds up, the corpus in the provenance."""
    import numpy as np

    res = topk_study.simulate(tmp_path, "quick", settings=("transformer",), progress=False,
                              log=lambda *_: None)["transformer"]
    final, prof = res["final"], res["profile"]
    cfg = res["config"]
    assert len(final) == len(cfg.widths) * len(cfg.lrs) * len(cfg.seeds)
    assert np.isfinite(final["loss"]).all() and (final["loss"] < final["loss0"]).all()
    # phi^k + phi^-k = phi_lin at every k (the split is a partition of the change)
    merged = prof.merge(final[["width", "hp", "seed", "linearised"]])
    np.testing.assert_allclose(merged["topk"] + merged["residual"], merged["linearised"],
                               rtol=1e-6, atol=1e-6)  # float32 sums of O(1) terms
    manifest = (tmp_path / "topk" / "quick" / "transformer" / "manifest.json").read_text()
    assert '"corpus"' in manifest and res["variants"] is None

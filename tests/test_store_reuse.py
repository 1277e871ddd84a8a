"""The one store across commands (the single results store): `simulate relu --out R`, then
`verify --only relu --out R` and `figures --out R` reuse the stored run, say so, and
train nothing again; figures never train at all. Tiny stand-ins replace the presets."""

import matplotlib
import pytest

matplotlib.use("Agg")

import tiny_relu

from fasttransfer import store
from fasttransfer.cli import main
from fasttransfer.simulations import relu_config, sweep


@pytest.fixture
def tiny_presets(monkeypatch):
    """relu_config.ReluSweepConfig.from_preset(name, param, study) -> the tiny configuration of that study,
    labelled with the preset's name."""
    table = {
        ("relu", "mup"): tiny_relu.counterexample()["mup"],
        ("relu", "sp"): tiny_relu.counterexample()["sp"],
        **{(s, "mup"): c for s, c in tiny_relu.late_shift().items()},
    }

    def preset(cls, name, param="mup", study="relu", **overrides):
        return table[(study, param)].replace(preset=name, **overrides)

    monkeypatch.setattr(relu_config.ReluSweepConfig, "from_preset", classmethod(preset))


def test_simulate_then_verify_then_figures_reuse_one_run(
    tmp_path, monkeypatch, capsys, tiny_presets
):
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    trained = []
    real_train = sweep.train_widths

    def counting(config, widths, **kw):
        trained.extend((config.study, config.param, w) for w in widths)
        return real_train(config, widths, **kw)

    monkeypatch.setattr(sweep, "train_widths", counting)
    R = str(tmp_path / "R")
    assert main(["simulate", "relu", "--out", R, "--no-progress"]) == 0
    assert sorted(trained) == [("relu", "mup", w) for w in tiny_relu.TINY["widths"]]
    capsys.readouterr()

    trained.clear()
    code = main(["verify", "--only", "relu", "--out", R])
    out, err = capsys.readouterr()  # the report on stdout, progress (logging) on stderr
    assert code == 0, out
    assert "reused finished width(s)" in err and "relu/quick/mup" in err
    assert not [t for t in trained if t[:2] == ("relu", "mup")]  # not recomputed
    for name in ("relu_transfer", "relu_rates", "kindex_late_shift"):
        assert (tmp_path / "R" / "figures" / f"{name}.png").stat().st_size > 1000

    trained.clear()
    (tmp_path / "R" / "figures" / "relu_transfer.png").unlink()
    assert main(["figures", "--out", R, "--only", "relu_transfer,relu_rates"]) == 0
    err = capsys.readouterr().err  # what is reused: status messages (logging), on stderr
    assert "reusing the stored results" in err and "relu/quick/mup" in err
    assert trained == [] and (tmp_path / "R" / "figures" / "relu_transfer.png").exists()


def test_a_stale_store_is_refused_with_the_flag_to_recompute(
    tmp_path, monkeypatch, capsys, tiny_presets
):
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    R = str(tmp_path / "R")
    args = ["simulate", "relu", "--out", R, "--no-progress", "--widths", "16,32"]
    assert main(args) == 0
    assert main([*args[:-2], "--widths", "16,32", "--steps", "30"]) == 2
    assert "--recompute" in capsys.readouterr().err
    assert main([*args[:-2], "--widths", "16,32", "--steps", "30", "--recompute"]) == 0

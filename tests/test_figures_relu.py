"""paper_figures.relu_transfer / relu_rates / kindex_late_shift: main() at tiny size saves
the figures; the figures have the axes, labels and lines the data call for."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import tiny_relu

from fasttransfer.paper_figures import kindex_late_shift, relu_rates, relu_transfer


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_figures_read_the_store_and_never_simulate(tmp_path, monkeypatch):
    """One test, so the tiny sweeps (compile-bound) run once: stored as `simulate relu`
    stores them, then drawn by each figure's main() from the store alone."""
    from fasttransfer import store
    from fasttransfer.simulations import sweep

    out, results = tmp_path, tmp_path / "results"
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    args = ["--out", str(out), "--results", str(results), "--preset", "tiny"]
    with pytest.raises(store.MissingResult, match="simulate relu"):
        relu_transfer.load(results, "tiny")  # nothing stored: a message, not a run
    tiny_relu.run_all(results, {**tiny_relu.counterexample(), **tiny_relu.late_shift()})

    def no_sim(*a, **k):
        raise AssertionError("a figure ran a simulation")

    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    for fig in (relu_transfer, relu_rates, kindex_late_shift):
        assert fig.main(args) == 0
        for ext in ("png", "pdf"):
            assert (out / f"{fig.NAME}.{ext}").stat().st_size > 1000

    data = relu_transfer.load(results, "tiny")
    assert [
        src.split(" (")[0].endswith(f"relu/tiny/{p}") for p, src in data["sources"].items()
    ] == [True, True]  # the entries stored under --results
    fig = relu_transfer.plot(data)
    axes = fig.axes
    assert len(axes) == 2
    n_widths = len(tiny_relu.TINY["widths"])
    for ax, p in zip(axes, ("mup", "sp"), strict=False):
        assert "learning rate" in ax.get_xlabel() and "loss" in ax.get_ylabel()
        assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
        assert "reduced regime" in ax.get_title()
        # one curve and one argmin marker per width
        assert len(ax.get_lines()) == 2 * n_widths
        n_lr = data["configs"][p].n_lrs
        assert sorted({len(line.get_xdata()) for line in ax.get_lines()}) == [1, n_lr]
    assert len(axes[0].get_legend().get_texts()) == n_widths

    data = kindex_late_shift.load(results, "tiny")
    fig = kindex_late_shift.plot(data)
    assert len(fig.axes) == 3
    for ax in fig.axes[:2]:
        assert ax.get_xscale() == "log" and "loss" in ax.get_ylabel()
        assert len(ax.get_lines()) == 2 * 2  # two widths: curve + optimum marker each
    assert "width" in fig.axes[2].get_xlabel()
    assert set(data["optima"]) == {"kindex", "kindex-layerwise"}


def _fake_rates(preset="quick"):
    class E:
        def __init__(self, v):
            self.estimate, self.ci = v, (v - 0.1, v + 0.1)

    widths = np.array([16.0, 32, 64, 128])
    pw = pd.DataFrame(
        {
            "width": widths,
            "nu_star": -3 - 0.1 * np.log(widths),
            "nu_star_se": np.full(4, 0.05),
            "phi_star": 0.1 + widths**-1.0,
            "a": widths**-1.0,
            "b": 2 * widths**-0.5,
            "c": widths**-1.0,
        }
    )
    mup = {
        "per_width": pw,
        "alpha": 1.0,
        "beta": 0.5,
        "A": 1.0,
        "B": 2.0,
        "nu_inf": -3.5,
        "phi_inf": 0.1,
        "verdict": "weak",
        "d": E(0.0),
        "preset": preset,
    }
    sp = dict(mup, per_width=pw.assign(nu_star=-3 - np.log(widths)))
    return {"mup": mup, "sp": sp}


@pytest.mark.parametrize("preset", ["quick", "paper"])
def test_rates_figure_structure(preset):
    fig = relu_rates.plot(_fake_rates(preset))
    ax_phi, ax_nu, ax_ab = fig.axes[:3]
    assert all(ax.get_xscale() == "log" for ax in (ax_phi, ax_nu, ax_ab))
    assert ax_ab.get_yscale() == "log"
    assert "loss" in ax_phi.get_ylabel() and "learning rate" in ax_nu.get_ylabel()
    assert "a_n" in ax_ab.get_ylabel() and "width" in ax_ab.get_xlabel()
    # phi: points + our fit (+ the paper's law at the paper preset)
    assert len(ax_phi.get_lines()) == (3 if preset == "paper" else 2)
    # a_n, b_n points + their two fitted power laws; slopes annotated in the legend
    assert len(ax_ab.get_lines()) == 4
    labels = [t.get_text() for t in ax_ab.get_legend().get_texts()]
    assert any("1.00" in s for s in labels) and any("0.50" in s for s in labels)
    assert "0.00" in ax_ab.get_title()
    assert ("0.017" in ax_ab.get_title()) == (preset == "paper")
    assert ("reduced regime" in ax_phi.get_title()) == (preset != "paper")


def test_pilot_figures_mark_the_papers_read_off_points():
    """At the pilot, the paper's read-off curve of each drawn width it has (open circles,
    dashed, labelled "paper") and its marked optimum sit beside ours."""
    from types import SimpleNamespace

    from fasttransfer.theory.optimum_path import grid_optima
    from fasttransfer.theory.relu_paper import readoff

    def as_sweep(study, widths):
        p = readoff(study)
        p = p[p.width.isin(widths)]
        return pd.DataFrame({"width": p.width, "hp": np.log(p.lr), "loss": 1.1 * p.loss, "seed": 0})

    cfg = SimpleNamespace(preset="pilot", steps=2**14, seeds=1, base_width=None)
    sp = SimpleNamespace(preset="quick", steps=512, seeds=1, base_width=None)
    data = {
        "sweeps": {"mup": as_sweep("relu", (181, 362)), "sp": as_sweep("relu", (181,))},
        "configs": {"mup": cfg, "sp": sp},
    }
    fig = relu_transfer.plot(data)
    mup_ax, sp_ax = fig.axes
    labels = [line.get_label() for line in mup_ax.get_lines()]
    assert labels.count("paper, n = 181") == 1 and labels.count("paper, n = 362") == 1
    assert "pilot" in mup_ax.get_title() and "one LR for both layers" in mup_ax.get_title()
    # ours (curve + optimum) and the paper's (curve + star) per width
    assert len(mup_ax.get_lines()) == 4 * 2
    assert not any(
        lab.startswith("paper") for lab in (line.get_label() for line in sp_ax.get_lines())
    )
    ks = {s: as_sweep(s, (128, 256)) for s in ("kindex", "kindex-layerwise")}
    kdata = {
        "sweeps": ks,
        "configs": {s: cfg for s in ks},
        "optima": {s: grid_optima(d) for s, d in ks.items()},
    }
    fig = kindex_late_shift.plot(kdata)
    for ax in fig.axes[:2]:
        assert sum(line.get_label().startswith("paper") for line in ax.get_lines()) == 2

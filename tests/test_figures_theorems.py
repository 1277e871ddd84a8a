"""The Theorem 1 and 2 figures: views of what their checks store (main() draws the
store; nothing is computed in a figure), then the axes."""

import logging

import matplotlib
import pytest

matplotlib.use("Agg")

from fasttransfer import store
from fasttransfer.checks import CheckContext
from fasttransfer.checks import theorem1 as check1
from fasttransfer.checks import theorem2 as check2
from fasttransfer.paper_figures import FIGURES, compute_optimal, theorem1_gaps
from fasttransfer.theory.grid_studies import SlopeStudyConfig


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    return CheckContext(preset="quick", out=tmp_path / "R")


def _args(ctx):
    return ["--out", str(ctx.out / "figures"), "--results", str(ctx.out), "--preset", "quick"]


def test_registered():
    assert FIGURES["theorem1_gaps"] == "fasttransfer.paper_figures.theorem1_gaps"
    assert FIGURES["compute_optimal"] == "fasttransfer.paper_figures.compute_optimal"


def test_theorem1_gaps_main_and_axes(ctx):
    with pytest.raises(store.MissingResult, match="fasttransfer verify"):
        theorem1_gaps.load(ctx.out, "quick")
    check1._store_gap_curves(ctx)
    assert theorem1_gaps.main(_args(ctx)) == 0
    assert (ctx.out / "figures" / "theorem1_gaps.png").stat().st_size > 0
    data = theorem1_gaps.load(ctx.out, "quick")
    fig = theorem1_gaps.plot(data)
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax, name in zip(axes, ("fast", "weak"), strict=False):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "width" in ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_title().startswith(name)
        assert len(ax.get_lines()) == 3  # a_n, b_n^2, c_n
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("a_n" in s for s in labels) and all("slope" in s for s in labels)
    # the fast panel's c_n slope is -2 beta = -1, the weak panel's -alpha = -0.5
    assert abs(data["families"]["fast"]["slopes"]["c_n"] + 1.0) < 1e-9
    assert abs(data["families"]["weak"]["slopes"]["c_n"] + 0.5) < 1e-9


def test_compute_optimal_main_and_axes(ctx, caplog):
    cfg = SlopeStudyConfig(lo=3.0, hi=6.0, per_decade=1, ratio=1.05)
    df = check2._study(ctx, cfg)  # the check's brute force, stored with the figure's data
    assert compute_optimal.main(_args(ctx)) == 0
    assert (ctx.out / "figures" / "compute_optimal.png").stat().st_size > 0
    data = compute_optimal.load(ctx.out, "quick")
    fig = compute_optimal.plot(data)
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "compute" in ax.get_xlabel() and "excess" in ax.get_ylabel()
        assert len(ax.get_lines()) == 4  # direct, transfer: brute force + closed-form slope
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert sum("closed form" in s for s in labels) == 2
    weak = data["panels"]["weak"]["series"]
    assert weak["direct"]["closed"] == weak["transfer"]["closed"]  # the tie
    assert list(data["panels"]["fast"]["series"]["direct"]["budget"]) == sorted(set(df.budget))
    # the second call reuses the stored study (and says so)
    caplog.set_level(logging.INFO, logger="fasttransfer")
    check2._study(CheckContext(preset="quick", out=ctx.out), cfg)
    assert any(m.startswith("reused") for m in caplog.messages)

"""The RFRR figures are views of the stored study: drawn from a tiny stored run; axes,
labels, line counts; a missing entry names the command that makes it."""

from __future__ import annotations

import math

import pytest

from fasttransfer.paper_figures import rfrr_rates, rfrr_risk
from fasttransfer.store import MissingResult


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from fasttransfer.rfrr_study import study_and_constants
    from fasttransfer.simulations.rfrr import RFRRConfig

    root = tmp_path_factory.mktemp("rfrr_results")
    study_and_constants(root, RFRRConfig.tiny())
    return root


def test_risk_figure(tmp_path, results):
    from fasttransfer.simulations.rfrr import RFRRConfig

    assert (
        rfrr_risk.main(["--out", str(tmp_path), "--results", str(results), "--preset", "tiny"]) == 0
    )
    assert (tmp_path / "rfrr_risk.png").stat().st_size > 0
    assert (tmp_path / "rfrr_risk.pdf").stat().st_size > 0
    cfg = RFRRConfig.tiny()
    fig = rfrr_risk.plot(rfrr_risk.load(results, "tiny"))
    ax, ax2 = fig.axes[:2]
    assert "lambda" in ax.get_xlabel() and "risk" in ax.get_ylabel()
    assert ax.get_xscale() == "log"
    curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(curves) == len(cfg.curve_psi_2)
    # one minimum per curve (all interior) and the paper's two read-off minima
    assert len([line for line in ax.get_lines() if line.get_marker() == "o"]) == len(
        cfg.curve_psi_2
    )
    assert len([line for line in ax.get_lines() if line.get_marker() == "x"]) == len(
        rfrr_risk.PAPER_MINIMA
    )
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("infty" in t for t in texts) and any("paper" in t for t in texts)
    assert len([line for line in ax2.get_lines() if line.get_linestyle() == "-"]) >= len(
        cfg.mc_psi_2
    )
    assert any("extrapolated" in t.get_text() for t in ax2.get_legend().get_texts())


def test_rates_figure(tmp_path, results):
    assert (
        rfrr_rates.main(["--out", str(tmp_path), "--results", str(results), "--preset", "tiny"])
        == 0
    )
    assert (tmp_path / "rfrr_rates.png").stat().st_size > 0
    data = rfrr_rates.load(results, "tiny")
    fig = rfrr_rates.plot(data)
    ax, ax2 = fig.axes[:2]
    assert ax.get_yscale() == "log" and "psi" in ax.get_xlabel() and "a" in ax.get_ylabel()
    # a, b, c curves plus one guide each (slopes -1, -1, -2)
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    guides = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(solid) == 3 and len(guides) == 3
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("guide slope -1" in t for t in texts) == 2
    assert any("guide slope -2" in t for t in texts)
    assert any("paper" in t for t in texts)
    n_fig = sum(
        1
        for p, f in zip(data["rates"].psi_2, data["rates"].figure, strict=False)
        if f and math.isfinite(p)
    )
    assert all(len(line.get_xdata()) == n_fig for line in solid)
    # right: three rescaled curves over every finite width, the printed constants dashed
    n_fin = sum(1 for p in data["rates"].psi_2 if math.isfinite(p))
    assert len([line for line in ax2.get_lines() if len(line.get_xdata()) == n_fin]) == 3
    assert sum("printed" in t.get_text() for t in ax2.get_legend().get_texts()) == 2


def test_figures_only_read(tmp_path):
    for mod in (rfrr_risk, rfrr_rates):
        with pytest.raises(MissingResult, match="fasttransfer simulate rfrr --preset quick"):
            mod.load(tmp_path, "quick")

"""Smoke tests of the RFRR figures: main() at tiny size; axes, labels, line counts."""

from __future__ import annotations

import math

import pytest

from fasttransfer.paper_figures import rfrr_rates, rfrr_risk


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("rfrr_results")


def test_risk_figure(tmp_path, results):
    assert rfrr_risk.main(["--out", str(tmp_path), "--results", str(results)]) == 0
    assert (tmp_path / "rfrr_risk.png").stat().st_size > 0
    assert (tmp_path / "rfrr_risk.pdf").stat().st_size > 0
    cfg = rfrr_risk.tiny_config()
    fig = rfrr_risk.plot(rfrr_risk.load(results, "quick", cfg))
    ax, ax2 = fig.axes[:2]
    assert "lambda" in ax.get_xlabel() and "R" in ax.get_ylabel()
    assert ax.get_xscale() == "log"
    curves = [l for l in ax.get_lines() if l.get_linestyle() == "-"]
    assert len(curves) == len(cfg.curve_psi1)
    # one lam* marker per curve with an interior optimum (all of them here)
    markers = [l for l in ax.get_lines() if l.get_marker() == "o"]
    assert len(markers) == len(cfg.curve_psi1)
    assert any("infty" in t.get_text() for t in ax.get_legend().get_texts())
    assert len([l for l in ax2.get_lines() if l.get_linestyle() == "-"]) >= len(cfg.mc_psi1)
    assert "lambda" in ax2.get_xlabel()


def test_rates_figure(tmp_path, results):
    assert rfrr_rates.main(["--out", str(tmp_path), "--results", str(results)]) == 0
    assert (tmp_path / "rfrr_rates.png").stat().st_size > 0
    cfg = rfrr_risk.tiny_config()
    data = rfrr_rates.load(results, "quick", cfg)
    fig = rfrr_rates.plot(data)
    ax, ax2 = fig.axes[:2]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "psi" in ax.get_xlabel() and "a" in ax.get_ylabel()
    # a, b, c curves plus one guide each (slopes -1, -1, -2)
    solid = [l for l in ax.get_lines() if l.get_linestyle() == "-"]
    guides = [l for l in ax.get_lines() if l.get_linestyle() == ":"]
    assert len(solid) >= 3 and len(guides) == 3
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("guide slope -1" in t for t in texts) == 2 and any("guide slope -2" in t for t in texts)
    assert any("Monte Carlo" in t for t in texts)
    assert len(ax2.get_lines()) == 3
    n_finite = sum(1 for p in data["rates"].psi1 if math.isfinite(p))
    assert all(len(l.get_xdata()) == n_finite for l in ax2.get_lines())

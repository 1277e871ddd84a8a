"""Smoke tests of the top-k figures: main() at tiny size, then the drawn content."""

from pathlib import Path

import pytest

from fasttransfer.paper_figures import FIGURES, topk_curves, topk_final, topk_profile


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("topk_figs")
    assert topk_curves.main(["--out", str(d)]) == 0  # runs the tiny simulation once
    return d


def test_registered():
    for mod in (topk_curves, topk_final, topk_profile):
        assert FIGURES[mod.NAME] == mod.__name__
        assert mod.CAPTION.endswith(".")


def test_curves(out):
    assert (out / "topk_curves.png").exists() and (out / "topk_curves.pdf").exists()
    data = topk_curves.load(out / "tiny_results", "quick", "relu")
    fig = topk_curves.plot(data)
    axes = fig.axes
    assert len(axes) == 3
    for ax in axes:
        assert len(ax.get_lines()) == 3  # one per width (16, 32, 64)
        assert ax.get_xlabel() == "step t"
    assert "top-k" in axes[1].get_title() and "residual" in axes[2].get_title()
    assert axes[0].get_ylabel() == "loss"


def test_final(out):
    cells = out / "tiny_results" / "topk" / "relu" / "cells"
    before = {p.name: p.stat().st_mtime_ns for p in cells.iterdir()}
    assert len([n for n in before if n.endswith(".json")]) == 3  # one marker per width
    assert topk_final.main(["--out", str(out)]) == 0
    # resumable: the second run found every finished cell and recomputed none
    assert {p.name: p.stat().st_mtime_ns for p in cells.iterdir()} == before
    assert (out / "topk_final.png").exists()
    fig = topk_final.plot(topk_final.load(out / "tiny_results", "quick", "relu"))
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log" and "learning rate" in right.get_xlabel()
    assert "kappa" in left.get_title() and "residual" in right.get_title()
    assert len(right.get_lines()) == 3
    assert 3 <= len(left.get_lines()) <= 6  # curves plus the argmin markers


def test_profile(out):
    assert topk_profile.main(["--out", str(out)]) == 0
    assert (out / "topk_profile.png").exists()
    data = topk_profile.load(out / "tiny_results", "quick", "relu")
    fig = topk_profile.plot(data)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("k") and "varphi_n^k" in ax.get_ylabel()
    curves = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(curves) == 3
    # kappa_hat is defined below the widest width only (the reference of J)
    assert data["widths"][64]["kappa_hat"] != data["widths"][64]["kappa_hat"]  # NaN

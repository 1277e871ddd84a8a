"""Smoke tests of the top-k figures: main() at tiny size, then the drawn content."""

from pathlib import Path

import pytest

from fasttransfer.paper_figures import FIGURES, topk_curves, topk_final, topk_profile


TINY = {"widths": (16, 32, 64), "seeds": 1, "steps": 40, "n_lrs": 5}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The tiny relu setting stored as `simulate topk` stores it, then figures drawn
    from the store (main() never simulates)."""
    from fasttransfer.simulations.topk_study import simulate

    d = tmp_path_factory.mktemp("topk_figs")
    simulate(d / "results", "quick", settings=("relu",), progress=False, log=lambda *_: None,
             choose=False, label="tiny", **TINY)
    assert topk_curves.main(ARGS(d)) == 0
    return d


def ARGS(d):
    return ["--out", str(d), "--results", str(d / "results"), "--preset", "tiny"]


def test_registered():
    for mod in (topk_curves, topk_final, topk_profile):
        assert FIGURES[mod.NAME] == mod.__name__
        assert mod.CAPTION.endswith(".")


def test_curves(out):
    assert (out / "topk_curves.png").exists() and (out / "topk_curves.pdf").exists()
    data = topk_curves.load(out / "results", "tiny", "relu")
    fig = topk_curves.plot(data)
    axes = fig.axes
    assert len(axes) == 3
    for ax in axes:
        assert len(ax.get_lines()) == 3  # one per width (16, 32, 64)
        assert ax.get_xlabel() == "step t"
    assert "top-k" in axes[1].get_title() and "residual" in axes[2].get_title()
    assert axes[0].get_ylabel() == "loss"


def test_final(out):
    cells = out / "results" / "topk" / "tiny" / "relu" / "cells"
    before = {p.name: p.stat().st_mtime_ns for p in cells.iterdir()}
    assert len([n for n in before if n.endswith(".done")]) == 3  # one marker per width
    assert topk_final.main(ARGS(out)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in cells.iterdir()} == before  # read only
    assert (out / "topk_final.png").exists()
    fig = topk_final.plot(topk_final.load(out / "results", "tiny", "relu"))
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log" and "learning rate" in right.get_xlabel()
    assert "kappa" in left.get_title() and "residual" in right.get_title()
    assert len(right.get_lines()) == 3
    assert 3 <= len(left.get_lines()) <= 6  # curves plus the argmin markers


def test_profile(out):
    assert topk_profile.main(ARGS(out)) == 0
    assert (out / "topk_profile.png").exists()
    data = topk_profile.load(out / "results", "tiny", "relu")
    fig = topk_profile.plot(data)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("k") and "varphi_n^k" in ax.get_ylabel()
    curves = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(curves) == 3
    # kappa_hat is defined below the widest width only (the reference of J_proxy)
    assert data["widths"][64]["kappa_hat"] != data["widths"][64]["kappa_hat"]  # NaN
    # below it: Algorithm 1's per-learning-rate vector (kappa.json) at the best LR, or
    # NaN where Algorithm 1 failed
    import json
    import math

    from fasttransfer.paper_figures.topk_curves import best_hp, load_setting

    stored = json.loads((out / "results" / "topk" / "tiny" / "relu" / "kappa.json").read_text())
    best = best_hp(load_setting(out / "results", "tiny", "relu")["final"])
    for w in (16, 32):
        ks, hps = stored["kappa_hat"][str(w)], stored["kappa_hat_hp"][str(w)]
        got = data["widths"][w]["kappa_hat"]
        if ks is None:
            assert math.isnan(got)
        else:
            assert got == ks[min(range(len(hps)), key=lambda i: abs(hps[i] - best[w]))]
    # the ReLU net's spectra are rank-bounded (rank <= 2d = K_max): flagged in the store
    assert stored["rank_bounded"] is True and stored["k_max"] == 16

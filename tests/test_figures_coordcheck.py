"""Smoke test of paper_figures/coordcheck.py: main() at tiny size writes the files, and
plot() draws one panel per (param, t) with one line per module, log-log axes, labels."""

import numpy as np
import pandas as pd

from fasttransfer.paper_figures import FIGURES
from fasttransfer.paper_figures import coordcheck as fig_mod
from fasttransfer.simulations import coordcheck as cc


def _table(steps=3, widths=(64, 128, 256), seeds=2, noise=0.0):
    """l1 = 1 everywhere except the SP output at t >= 1, l1 = n (slope exactly 1)."""
    rng = np.random.default_rng(0)
    rows = [
        (
            p,
            n,
            t,
            m,
            s,
            float(np.exp(rng.standard_normal() * noise))
            * (n if p == "sp" and m == "output" and t else 1.0),
        )
        for p in cc.PARAMS
        for n in widths
        for t in range(steps + 1)
        for m in cc.MODULES
        for s in range(seeds)
    ]
    return pd.DataFrame(rows, columns=["param", "width", "t", "module", "seed", "l1"])


def test_registered():
    assert FIGURES["coordcheck"] == "fasttransfer.paper_figures.coordcheck"
    assert fig_mod.NAME == "coordcheck" and fig_mod.CAPTION.endswith(".")


def test_plot_panels_lines_labels():
    fig = fig_mod.plot({"table": _table(steps=3), "slopes": cc.slopes(_table(steps=3))})
    axes = fig.axes
    assert len(axes) == 2 * 4  # rows muP, SP; one column per t = 0..3
    for i, ax in enumerate(axes):
        assert len(ax.get_lines()) == len(cc.MODULES)
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        param = "μP" if i < 4 else "SP"
        assert ax.get_title().replace("$\\mu$P", "μP").startswith(param)
        assert ax.get_title().endswith(f"t = {i % 4}")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(labels) == 3 and all(":" in s for s in labels)  # slope annotated
    assert all(ax.get_xlabel() == "width $n$" for ax in axes[4:])
    assert axes[0].get_ylabel() == r"mean $|x|$" and axes[4].get_ylabel() == r"mean $|x|$"
    # the SP output line at t = 1 is l1 = n: its annotated slope reads +1.00, others 0
    sp_t1 = [t.get_text() for t in axes[5].get_legend().get_texts()]
    assert sp_t1[2].startswith("output") and sp_t1[2].endswith("+1.00"), sp_t1
    assert all(s.endswith("0.00") for s in sp_t1[:2]), sp_t1


def test_main_draws_the_stored_check(tmp_path, monkeypatch):
    """main() reads the store (here: a table stored as the check stores it) and never
    runs the check itself."""
    from fasttransfer import store

    def no_run(*a, **k):
        raise AssertionError("the figure ran the coordinate check")

    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    args = ["--out", str(tmp_path), "--results", str(tmp_path / "r"), "--preset", "tiny"]
    try:
        fig_mod.main(args)
        raise AssertionError("a missing result must be an error")
    except store.MissingResult as err:
        assert "fasttransfer coordcheck" in str(err)
    monkeypatch.setattr(cc, "run_coordcheck", lambda cfg, progress=None: _table())
    cfg = cc.CoordCheckConfig(widths=(64, 128, 256), steps=3, seeds=2)
    cc.stored_coordcheck(tmp_path / "r", cfg, "tiny")
    monkeypatch.setattr(cc, "run_coordcheck", no_run)
    assert fig_mod.main(args) == 0
    assert (tmp_path / "coordcheck.png").stat().st_size > 0
    assert (tmp_path / "coordcheck.pdf").stat().st_size > 0

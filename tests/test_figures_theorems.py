"""Smoke tests of the Theorem 1 and 2 figures: main() at tiny size, then the axes."""

import matplotlib

matplotlib.use("Agg")

from fasttransfer.paper_figures import FIGURES, compute_optimal, theorem1_gaps  # noqa: E402
from fasttransfer.theory.grid_search import SlopeStudyConfig  # noqa: E402


def test_registered():
    assert FIGURES["theorem1_gaps"] == "fasttransfer.paper_figures.theorem1_gaps"
    assert FIGURES["compute_optimal"] == "fasttransfer.paper_figures.compute_optimal"


def test_theorem1_gaps_main_and_axes(tmp_path):
    assert theorem1_gaps.main(["--out", str(tmp_path), "--points", "5"]) == 0
    assert (tmp_path / "theorem1_gaps.png").stat().st_size > 0
    assert (tmp_path / "theorem1_gaps.pdf").exists()
    fig = theorem1_gaps.plot(theorem1_gaps.load(None, "quick", points=5))
    axes = fig.get_axes()
    assert len(axes) == 2
    for ax, name in zip(axes, ("fast", "weak")):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "width" in ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_title().startswith(name)
        assert len(ax.get_lines()) == 3  # a_n, b_n^2, c_n
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("a_n" in s for s in labels) and all("slope" in s for s in labels)
    # the fast panel's c_n slope is -2 beta = -1, the weak panel's -alpha = -0.5
    data = theorem1_gaps.load(None, "quick", points=5)
    assert abs(data["families"]["fast"]["slopes"]["c_n"] + 1.0) < 1e-9
    assert abs(data["families"]["weak"]["slopes"]["c_n"] + 0.5) < 1e-9


def test_compute_optimal_main_and_axes(tmp_path):
    assert compute_optimal.main(["--out", str(tmp_path), "--hi", "6"]) == 0
    assert (tmp_path / "compute_optimal.png").stat().st_size > 0
    cfg = SlopeStudyConfig(lo=3.0, hi=6.0, per_decade=1, ratio=1.05)
    data = compute_optimal.load(None, "quick", config=cfg)
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


def test_compute_optimal_reuses_stored_results(tmp_path):
    import pandas as pd

    from fasttransfer.theory.grid_search import run_study

    cfg = SlopeStudyConfig(lo=3.0, hi=5.0, per_decade=1, ratio=1.05)
    df = run_study(cfg, settings=tuple(compute_optimal._settings().values()))
    df.to_csv(tmp_path / compute_optimal.STORED, index=False)
    data = compute_optimal.load(tmp_path, "quick")
    assert list(data["panels"]["fast"]["series"]["direct"]["budget"]) == sorted(set(df.budget))
    assert isinstance(pd.read_csv(tmp_path / compute_optimal.STORED), pd.DataFrame)

"""Smoke tests of the rate figures: rate_framework, late_shift (FIGURES registry) and
the ``analyze --plot`` figure. They assert what is drawn, not only that it ran."""

import numpy as np

from fasttransfer.paper_figures import FIGURES, late_shift, rate_framework
from fasttransfer.paper_figures.sweep_analysis import plot_analysis


def test_registered():
    assert FIGURES["rate_framework"] == "fasttransfer.paper_figures.rate_framework"
    assert FIGURES["late_shift"] == "fasttransfer.paper_figures.late_shift"
    for mod in (rate_framework, late_shift):
        assert mod.NAME and mod.CAPTION.endswith(".")


def test_rate_framework_main_and_plot(tmp_path):
    assert rate_framework.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "rate_framework.png").stat().st_size > 10_000
    assert (tmp_path / "rate_framework.pdf").exists()
    data = rate_framework.load(tmp_path, "quick", bootstrap=50)
    fig = rate_framework.plot(data)
    axes = fig.axes
    assert len(axes) == 2
    for ax, name in zip(axes, ("fast", "weak")):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "width" in ax.get_xlabel() and "a_n" in ax.get_ylabel()
        assert ax.get_title().startswith(name)
        # a, b, c: an exact line and an estimated marker series each
        assert len(ax.get_lines()) == 6
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("slope" in s for s in labels)
    assert "verdict fast" in axes[0].get_title() and "verdict weak" in axes[1].get_title()


def test_late_shift_main_and_plot(tmp_path):
    assert late_shift.main(["--out", str(tmp_path)]) == 0
    assert (tmp_path / "late_shift.png").stat().st_size > 10_000
    data = late_shift.load(tmp_path, "quick", bootstrap=50)
    # the drawn family is flat below the shift width and moves beyond it
    nu = data["nu_line"]
    n = data["n_line"]
    assert np.ptp(nu[n <= 4096]) < 0.01 < np.ptp(nu[n >= 8192])
    fig = late_shift.plot(data)
    ax1, ax2 = fig.axes
    assert ax1.get_xscale() == "log" and ax2.get_yscale() == "log"
    assert "nu" in ax1.get_ylabel() and "width" in ax1.get_xlabel()
    assert "width" in ax2.get_xlabel()
    assert len(ax2.get_lines()) == 3  # exact c, exact a, estimated c
    assert len(ax2.texts) == 1 and "->" in ax2.texts[0].get_text()


def test_analysis_plot_draws_every_width():
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    fam = llama_family(0.75)
    widths = [128, 256, 512, 1024]
    df = fam.sample_sweep(widths, fam.nu_inf + np.linspace(-2, 2, 17), seeds=2, noise=1e-3)
    an = analyze_sweep(df, bootstrap=30)
    fig = plot_analysis(df, an)
    left, right = fig.axes
    # one curve and one optimum marker per width
    assert len(left.get_lines()) == 2 * len(widths)
    assert "loss" in left.get_ylabel() and "HP" in left.get_xlabel()
    assert right.get_xscale() == "log" and right.get_yscale() == "log"
    assert len(right.get_lines()) == 6  # a, b, c markers + fitted lines
    assert an.verdict in right.get_title()

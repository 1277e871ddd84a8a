"""The rate figures: rate_framework and late_shift (FIGURES registry) are views of the
``estimators`` store entry (the tests store it first, at a tiny size, through the check's
own data function), and the ``analyze --plot`` figure drawn for a person. They assert
what is drawn, not only that it ran."""

import inspect

import numpy as np
import pytest

from fasttransfer.checks import estimators
from fasttransfer.paper_figures import FIGURES, late_shift, rate_framework
from fasttransfer.paper_figures.sweep_analysis import plot_analysis, width_colours, width_label


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    estimators.store_data(root, "quick", draws=1, bootstrap=20)
    return root


def test_registered_and_pure_views():
    assert FIGURES["rate_framework"] == "fasttransfer.paper_figures.rate_framework"
    assert FIGURES["late_shift"] == "fasttransfer.paper_figures.late_shift"
    for mod in (rate_framework, late_shift):
        assert mod.NAME and mod.CAPTION.endswith(".")
        src = inspect.getsource(mod)
        # figures never compute a sweep, a fit or a family: they read the store
        for forbidden in (
            "theory.rates",
            "theory.synthetic",
            "analyze_sweep",
            "sample_sweep",
            "theory.fits",
        ):
            assert forbidden not in src, (mod.NAME, forbidden)
    assert "paper_figures" not in inspect.getsource(estimators)  # verify draws them


def test_rate_framework_main_and_plot(stored, tmp_path):
    out = tmp_path / "figs"
    assert (
        rate_framework.main(["--results", str(stored), "--preset", "quick", "--out", str(out)]) == 0
    )
    assert (out / "rate_framework.png").stat().st_size > 10_000
    assert (out / "rate_framework.pdf").exists()
    data = rate_framework.load(stored, "quick")
    fig = rate_framework.plot(data)
    axes = fig.axes
    assert len(axes) == 2
    for ax, name in zip(axes, ("fast", "weak"), strict=False):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "width" in ax.get_xlabel() and "a_n" in ax.get_ylabel()
        assert ax.get_title().startswith(name)
        # a, b, c: an exact line and an estimated marker series each
        assert len(ax.get_lines()) == 6
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("slope" in s for s in labels) and any("model" in s for s in labels)
    assert "verdict fast" in axes[0].get_title() and "verdict weak" in axes[1].get_title()


def test_late_shift_main_and_plot(stored, tmp_path):
    out = tmp_path / "figs"
    assert late_shift.main(["--results", str(stored), "--preset", "quick", "--out", str(out)]) == 0
    assert (out / "late_shift.png").stat().st_size > 10_000
    data = late_shift.load(stored, "quick")
    # the drawn family is flat below the shift width and moves beyond it
    nu, n = data["nu_line"], data["n_line"]
    assert np.ptp(nu[n <= 4096]) < 0.01 < np.ptp(nu[n >= 8192])
    fig = late_shift.plot(data)
    ax1, ax2 = fig.axes
    assert ax1.get_xscale() == "log" and ax2.get_yscale() == "log"
    assert "nu" in ax1.get_ylabel() and "width" in ax1.get_xlabel()
    assert "width" in ax2.get_xlabel()
    assert len(ax2.get_lines()) == 3  # exact c, exact a, estimated c
    assert len(ax2.texts) == 1 and "->" in ax2.texts[0].get_text()


def test_missing_store_names_the_command(tmp_path):
    from fasttransfer.store import MissingResult

    with pytest.raises(MissingResult, match="fasttransfer verify"):
        rate_framework.load(tmp_path, "nope")


# ------------------------------------------------------------------ the analyze plot
def test_width_labels_and_colours():
    assert [width_label(w) for w in (181, 8192, 16384, 131072, 2.14e8, 999_999, 1.5e9)] == [
        "181",
        "8192",
        "16384",
        "131k",
        "214M",
        "1M",
        "1.5G",
    ]
    few, many = width_colours([1, 2, 3]), width_colours(np.geomspace(1, 100, 9))
    assert len(set(few)) == 3 and len(many) == 9
    # sequential: the map's luminance rises with width
    lum = [0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] for c in many]
    assert np.all(np.diff(lum) > 0)


def _analysis(widths, *, log_hp=False, H=17):
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    fam = llama_family(0.75)
    df = fam.sample_sweep(widths, fam.nu_inf + np.linspace(-2, 2, H), seeds=2, noise=1e-3)
    return df, analyze_sweep(df, bootstrap=30)


def _no_overlap(fig, ax):
    fig.canvas.draw()
    boxes = [
        t.get_window_extent() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()
    ]
    return all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), len(boxes)


def test_analysis_plot_for_a_few_widths():
    widths = [128, 256, 512, 1024]
    df, an = _analysis(widths)
    fig = plot_analysis(df, an)
    left, right = fig.axes
    # per width: the mean curve, the fitted parabola (dashed) and the optimum marker
    assert len(left.get_lines()) == 3 * len(widths)
    assert sum(ln.get_linestyle() == "--" for ln in left.get_lines()) == len(widths)
    assert "loss" in left.get_ylabel() and "HP" in left.get_xlabel()
    assert right.get_xscale() == "log" and right.get_yscale() == "log"
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    # the slope legend carries the slope's sign: a_n falls as n^-alpha
    assert any(f"slope {-an.alpha.estimate:.3f}" in s for s in labels)
    assert any("model" in s for s in labels) and any("measured" in s for s in labels)
    title = fig._suptitle.get_text()
    assert title.startswith(f"verdict: {an.verdict}") and an.reasons[0][:40] in title.replace(
        "\n", " "
    )
    assert _no_overlap(fig, right)[0]


def test_analysis_plot_for_many_widths_and_raw_hp():
    widths = list(np.round(np.geomspace(2e7, 2.2e9, 12)))
    df, an = _analysis(widths)
    fig = plot_analysis(df, an, log_hp=True)
    left, right = fig.axes[0], fig.axes[1]
    cbar = fig.axes[2]  # many widths: a colour bar instead of a legend
    assert left.get_legend() is None and "width" in cbar.get_ylabel()
    assert [t.get_text() for t in cbar.get_yticklabels()][-1] == width_label(max(widths))
    # raw HP on a log axis: the limits are learning rates, not their logs
    assert left.get_xscale() == "log" and 0 < left.get_xlim()[0] < left.get_xlim()[1] < 1
    ok, n = _no_overlap(fig, right)
    assert ok and 2 <= n <= 6
    assert all(t.get_text()[-1] in "MG" for t in right.get_xticklabels() if t.get_text())


def test_importing_the_figures_leaves_the_backend_alone():
    """A notebook user's backend survives importing the figures (the scripts and the CLI
    choose Agg themselves), checked in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import fasttransfer.paper_figures.style, fasttransfer.analysis; "
        "print(matplotlib.get_backend())"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    assert out == "svg"


def test_analyze_and_plot_leave_the_backend_alone():
    """The public API end to end -- import, analyze_sweep, SweepResult.plot() -- keeps a
    backend chosen before it (only the CLI's and the figure scripts' main() set Agg),
    checked in a fresh interpreter without MPLBACKEND."""
    import os
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); import numpy as np; "
        "import fasttransfer as ft; fam = ft.llama_family(beta=0.75); "
        "grid = fam.nu_inf + np.linspace(-3.75, 3.75, 15); "
        "sweep = ft.sample_sweep(fam, 128 * 2 ** np.arange(5), grid, seeds=2, noise=1e-3, rng=0); "
        "r = ft.analyze_sweep(sweep, bootstrap=20, seed=0); r.plot(); "
        "print(matplotlib.get_backend())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    assert out.splitlines()[-1] == "svg"

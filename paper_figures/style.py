"""Shared look of the figures: a colour-blind-safe palette (Okabe-Ito), sizes legible
at column width, and saving as PNG + PDF."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 160,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def colors(n: int) -> list:
    """n colours in order: Okabe-Ito up to 8, a sequential colour-blind-safe map
    (viridis) beyond, so a width sweep reads from dark (narrow) to light (wide)."""
    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def new_figure(
    ncols: int = 1, nrows: int = 1, *, width: float = 3.4 * 2, height: float = 2.8
) -> tuple[Figure, Sequence]:
    """A figure of ``nrows x ncols`` panels with the project's rc settings."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(width, height * nrows), squeeze=False, layout="constrained"
        )
    return fig, axes.ravel()


def save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.png`` and ``.pdf``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
    with plt.rc_context(RC):
        for path in paths:
            fig.savefig(path)
    plt.close(fig)
    return paths


def figure_main(
    argv,
    *,
    name: str,
    caption: str,
    make: Callable[[argparse.Namespace], Figure],
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """The ``main()`` every figure module shares: parse ``--out`` (default
    results/figures) and the module's own ``options``, draw ``make(args)``, save it as
    ``OUT/name.png`` and ``.pdf``, print the paths."""
    # a script writes files only (no display on CI or GPU hosts); importing this module
    # leaves a notebook's backend alone
    matplotlib.use("Agg")
    parser = argparse.ArgumentParser(prog=f"fasttransfer.paper_figures.{name}", description=caption)
    parser.add_argument("--out", type=Path, default=Path("results/figures"))
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    for path in save(make(args), args.out, name):
        print(path)
    return 0


def results_main(argv, *, name: str, caption: str, make: Callable[[Path, str], Figure]) -> int:
    """The ``main()`` of the figures drawn from stored simulation results: ``--results``
    (the store's root, default ``results``; the results bank is read when it holds
    nothing), ``--preset`` (default quick) and ``make(results_dir, preset)``."""

    def options(p):
        p.add_argument(
            "--results",
            type=Path,
            default=Path("results"),
            help="results folder (ROOT/<study>/<preset>/...); default results",
        )
        p.add_argument("--preset", default="quick", help="the preset whose results are drawn")

    return figure_main(
        argv, name=name, caption=caption, options=options, make=lambda a: make(a.results, a.preset)
    )

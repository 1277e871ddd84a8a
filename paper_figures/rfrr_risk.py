"""The paper's Figure 4a (Theorem 3, random-feature ridge regression): excess risk against
the ridge penalty lambda (the paper's units) for widths n/d = 4..256 and infinity with the
minima marked, the values read off the paper's figure beside ours; and the Monte Carlo
risks of the paper's model at two finite d (and extrapolated to d -> inf) against the
asymptotic curves. A view of the stored study (``fasttransfer simulate rfrr``)."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

NAME = "rfrr_risk"
CAPTION = (
    "Random-feature ridge regression in the paper's Figure 4 setting (tanh features, "
    "ReLU single-index target, psi_1 = 4, sigma_eps = 1/4): excess risk versus lambda "
    "for widths n/d = 4..256 and infinity with the minima and the paper's read-off "
    "values (left); Monte Carlo at finite d against the asymptotic curves (right)."
)
PRESETS = ("quick", "paper")
# read off the paper's Figure 4a (approximate): (lambda*, R*) at n/d = 4 and inf
PAPER_MINIMA = {4.0: (0.38, 0.390), math.inf: (0.35, 0.358)}


def load(results_dir: Path | None, preset: str = "quick") -> dict:
    """The stored study entry OUT/rfrr/<preset>/ (raises MissingResult naming the command
    that makes it)."""
    from fasttransfer.paper_figures.stored import entry

    e = entry(results_dir, "rfrr", preset)
    return {
        "curves": e.read_csv("paper_curves.csv"),
        "optima": e.read_csv("paper_optima.csv"),
        "mc": e.read_csv("paper_mc_summary.csv"),
        "paper": e.config["paper"],
        "preset": e.manifest.get("preset", preset),
        "source": e.describe(),
    }


def _label(w: float) -> str:
    return r"$n/d=\infty$" if math.isinf(w) else rf"$n/d={w:g}$"


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, (ax, ax2) = new_figure(2, 1)
        curves, opt = data["curves"], data["optima"]
        widths = sorted(curves.psi_2.unique())
        cols = dict(zip(widths, colors(len(widths)), strict=False))
        for w in widths:
            c = curves[curves.psi_2 == w].sort_values("lam")
            ax.plot(c.lam, c.risk, "-", color=cols[w], lw=1.3, label=_label(w))
            o = opt[opt.psi_2 == w]
            if len(o) and np.isfinite(o.lam_star.iloc[0]) and o.lam_star.iloc[0] > 0:
                ax.plot(
                    [o.lam_star.iloc[0]],
                    [o.risk_star.iloc[0]],
                    "o",
                    color=cols[w],
                    ms=5,
                    mec="k",
                    mew=0.5,
                )
        for i, (lam, r) in enumerate(PAPER_MINIMA.values()):
            ax.plot(
                [lam],
                [r],
                "x",
                color="k",
                ms=6,
                mew=1.2,
                label="paper's figure (read off)" if i == 0 else None,
            )
        ax.set_xscale("log")
        ax.set_xlabel(r"ridge penalty $\lambda$ (paper's units)")
        ax.set_ylabel(r"excess risk")
        p = data["paper"]
        ax.set_title(
            rf"$\psi_1={p['psi_1']:g}$, $\sigma_\varepsilon={p['sigma_eps']:g}$, "
            rf"{p['activation']} features; dots: $\lambda^\star(n/d)$"
        )
        ax.legend(loc="upper center", ncol=2, fontsize=6)

        mc = data["mc"]
        mw = sorted(mc.psi_2.unique())
        mcol = dict(zip(mw, colors(len(mw)), strict=False))
        ds = sorted(d for d in mc.d.unique() if np.isfinite(d))
        marks = dict(zip(ds, ("^", "s"), strict=False))
        for w in mw:
            c = curves[curves.psi_2 == w].sort_values("lam")
            ax2.plot(c.lam, c.risk, "-", color=mcol[w], lw=1.2, label=_label(w) + " asymptotic")
            for d in ds:
                m = mc[(mc.psi_2 == w) & (mc.d == d)].sort_values("lam")
                ax2.errorbar(
                    m.lam,
                    m["mean"],
                    yerr=2 * m["se"],
                    fmt=marks[d],
                    color=mcol[w],
                    ms=3.5,
                    mfc="none",
                    capsize=2,
                    lw=0.8,
                    label=f"Monte Carlo d={int(d)}" if w == mw[0] else None,
                )
            m = mc[(mc.psi_2 == w) & ~(mc.d < math.inf)].sort_values("lam")
            ax2.errorbar(
                m.lam,
                m["mean"],
                yerr=2 * m["se"],
                fmt="o",
                color=mcol[w],
                ms=4,
                capsize=2,
                lw=1.0,
                label=r"extrapolated $d\to\infty$" if w == mw[0] else None,
            )
        ax2.set_xscale("log")
        ax2.set_xlabel(r"ridge penalty $\lambda$ (paper's units)")
        ax2.set_ylabel("excess risk")
        tag = "" if data["preset"] == "paper" else f" [{data['preset']}]"
        ax2.set_title(r"Monte Carlo ($\pm 2$ s.e.) vs asymptotic" + tag)
        ax2.legend(fontsize=6)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument(
            "--results",
            type=Path,
            default=Path("results"),
            help="results folder holding rfrr/<preset>/ (default results)",
        )
        p.add_argument("--preset", default="quick")

    return figure_main(
        argv,
        name=NAME,
        caption=CAPTION,
        options=options,
        make=lambda a: plot(load(a.results, a.preset)),
    )


if __name__ == "__main__":
    raise SystemExit(main())

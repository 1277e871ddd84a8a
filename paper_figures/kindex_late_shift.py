"""Figure 2 of the paper (and its appendix D.1 variant), simulated: the Gaussian
k-index model learned by the two-layer ReLU net under muP with Adam. Validation loss vs
learning rate per width with each width's grid optimum, for one learning rate on both
layers (left) and the second layer's LR divided by 50 (middle), and the path of the
grid optimum across widths (right), where the paper sees an abrupt shift at n = 8192."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PRESETS = ("quick", "pilot", "cpu", "paper")  # the presets its study has
NAME = "kindex_late_shift"
CAPTION = (
    "Gaussian k-index model (k = 15, d = 64, squared loss), two-layer ReLU net under "
    "muP: validation loss vs learning rate per width for a tied LR and for the "
    "second-layer LR / 50 (the paper's Figure 2 points read off at its smallest "
    "widths: open circles, dashed), and the grid optimum against width."
)
TITLES = {"kindex": "one LR for both layers", "kindex-layerwise": "second-layer LR / 50"}


def load(results_dir: Path, preset: str) -> dict:
    """The stored sweeps of both studies (never run here) and their grid optima."""
    from fasttransfer.paper_figures.stored import relu_sweeps
    from fasttransfer.theory.optimum_path import grid_optima

    out = relu_sweeps(results_dir, {s: (s, [preset], "mup") for s in TITLES})
    out["optima"] = {s: grid_optima(df) for s, df in out["sweeps"].items()}
    return out


def plot(data: dict):
    from matplotlib.ticker import NullFormatter

    from fasttransfer.paper_figures.relu_transfer import mark_paper, mean_curves, regime_label
    from fasttransfer.paper_figures.style import colors, new_figure

    studies = [s for s in ("kindex", "kindex-layerwise") if s in data["sweeps"]]
    fig, axes = new_figure(len(studies) + 1, 1, width=3.4 * (len(studies) + 1))
    for ax, s in zip(axes, studies, strict=False):
        curves = mean_curves(data["sweeps"][s])
        cols = colors(len(curves))
        for c, (w, (hp, loss, _)) in zip(cols, sorted(curves.items()), strict=False):
            x = np.exp(hp)
            ax.plot(x, loss, "-", lw=1.1, color=c, label=f"n = {w}")
            if np.isfinite(loss).any():
                i = int(np.nanargmin(loss))
                ax.plot(x[i], loss[i], "*", ms=7, color=c, mec="k", mew=0.4)
        if data["configs"][s].preset in ("pilot", "paper"):
            mark_paper(ax, s, sorted(curves), cols)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: minor labels collide
        ax.set_xlabel(r"learning rate $\nu$")
        ax.set_ylabel("validation squared loss")
        cfg = data["configs"][s]
        ax.set_title(f"{TITLES[s]}\n{regime_label(cfg)}, T = {cfg.steps}", fontsize=8)
    axes[0].legend(loc="best", ncol=3, fontsize=5.5)
    ax = axes[-1]
    for c, s in zip(colors(len(studies)), studies, strict=False):
        o = data["optima"][s]
        ax.plot(o.width, np.exp(o.hp_argmin), "-o", ms=3.5, color=c, label=TITLES[s])
        two = o[np.isfinite(o.hp_second)]
        ax.plot(
            two.width, np.exp(two.hp_second), "x", ms=5, color=c, label=f"{TITLES[s]}: second mode"
        )
    if any(data["configs"][s].preset == "paper" for s in studies):
        ax.axvline(8192, color="0.5", ls=":", lw=1, label="paper: shift at n = 8192")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width $n$")
    ax.set_ylabel(r"grid-optimal learning rate $\hat\nu(n)$")
    ax.set_title("optimum across widths")
    ax.legend(loc="best", fontsize=6)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

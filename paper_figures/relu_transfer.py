"""Figure 5a of the paper: validation loss vs learning rate, one curve per width, with
each width's optimum, for the two-layer ReLU net under muP (left; the paper's setting
at the ``paper`` preset, a reduced regime otherwise) and the standard parametrisation
(right, our contrast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PRESETS = ("quick", "pilot", "cpu", "paper")  # the presets its study has
NAME = "relu_transfer"
CAPTION = (
    "Two-layer ReLU net on the paper's ball task (d = 64, BCE, Adam): seed-mean "
    "validation loss vs learning rate per width, optimum starred, the paper's "
    "Figure 5a points read off at its smallest widths (open circles, dashed); muP "
    "in the paper's parametrisation (left) and the standard parametrisation "
    "(right)."
)
PARAMS = ("mup", "sp")
TITLES = {"mup": "muP (the paper's: one LR for both layers)", "sp": "standard parametrisation"}


# name -> (study, presets tried in order, store key). The SP contrast is not part of the
# paper's runs: at the paper preset it is the quick preset's; the pilot (the paper's own
# runs beside its figure) has none.
def entries(preset: str) -> dict:
    out = {"mup": ("relu", [preset], "mup")}
    if preset != "pilot":
        out["sp"] = ("relu", [preset] + (["quick"] if preset == "paper" else []), "sp")
    return out


def mark_paper(ax, study: str, widths, cols) -> None:
    """The paper's read-off points (theory.relu_paper) of the widths drawn, open circles
    on a dashed line in each width's colour, its marked optimum as an open star."""
    from fasttransfer.theory.relu_paper import STARS, readoff

    paper = readoff(study)
    for c, w in zip(cols, widths, strict=False):
        p = paper[paper.width == w]
        if p.empty:
            continue
        ax.plot(p.lr, p.loss, "--o", ms=3, lw=0.7, color=c, mfc="none", label=f"paper, n = {w}")
        if w in STARS[study]:
            ax.plot(*STARS[study][w], "*", ms=9, mfc="none", mec=c, mew=1.0)


def load(results_dir: Path, preset: str) -> dict:
    """The stored sweeps (never run here): {"sweeps", "configs", "sources"}."""
    from fasttransfer.paper_figures.stored import relu_sweeps

    return relu_sweeps(results_dir, entries(preset))


def mean_curves(df) -> dict:
    """width -> (hp (H,), seed-mean loss (H,), standard error (H,)); diverged runs (NaN)
    are left out of the mean."""
    out = {}
    for w, g in df.groupby("width"):
        stats = g.groupby("hp")["loss"].agg(["mean", "std", "count"]).sort_index()
        se = stats["std"].to_numpy() / np.sqrt(np.maximum(stats["count"].to_numpy(), 1))
        out[int(w)] = (stats.index.to_numpy(), stats["mean"].to_numpy(), se)
    return out


def regime_label(cfg) -> str:
    if cfg.preset == "paper":
        return "paper preset"
    if cfg.preset == "pilot":
        return "pilot: the paper's setup at its smallest widths"
    return f"{cfg.preset} preset: reduced regime"


def plot(data: dict):
    from fasttransfer.paper_figures.style import colors, new_figure

    params = [p for p in PARAMS if p in data["sweeps"]]
    fig, axes = new_figure(len(params), 1, width=3.4 * 2.6)
    for ax, p in zip(axes, params, strict=False):
        curves = mean_curves(data["sweeps"][p])
        cfg = data["configs"][p]
        cols = colors(len(curves))
        for c, (w, (hp, loss, _)) in zip(cols, sorted(curves.items()), strict=False):
            x = np.exp(hp)
            ax.plot(x, loss, "-o", ms=2.5, lw=1.1, color=c, label=f"n = {w}")
            if np.isfinite(loss).any():
                i = int(np.nanargmin(loss))
                ax.plot(x[i], loss[i], "*", ms=8, color=c, mec="k", mew=0.5)
        if p == "mup" and cfg.preset in ("pilot", "paper"):
            mark_paper(ax, "relu", sorted(curves), cols)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(r"learning rate $\nu$ (log scale)")
        ax.set_ylabel(r"validation loss $\varphi_n(\nu)$")
        title = (
            TITLES[p]
            if getattr(cfg, "base_width", None) is None or p == "sp"
            else (f"muP, base width {cfg.base_width} (variant)")
        )
        ax.set_title(
            f"{title}\n{regime_label(cfg)}\nT = {cfg.steps}, {cfg.seeds} seed(s)", fontsize=8
        )
        # beside the panel: inside, it would hide the narrowest widths' optima
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6, borderaxespad=0)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

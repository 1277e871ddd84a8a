"""Figure: final test loss vs log learning rate, one curve per width, for the two-layer
ReLU net under muP (left) and the standard parametrisation (right) (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAME = "relu_transfer"
CAPTION = ("Two-layer ReLU net, Adam: seed-mean test loss vs log learning rate per width; "
           "under muP the optimum settles, under SP it drifts to smaller learning rates.")
PARAMS = ("mup", "sp")
TITLES = {"mup": "muP (mean field)", "sp": "standard parametrisation"}


def store_dir(results_dir: Path, preset: str, param: str) -> Path:
    """Where the check and the figures keep the sweep of one preset and parametrisation."""
    return Path(results_dir) / f"relu_{preset}_{param}"


def load(results_dir: Path, preset: str, *, log=print, configs=None, progress: bool = False) -> dict:
    """Run (or reuse) the muP and SP sweeps of ``preset``; returns
    {"sweeps": {param: DataFrame width,hp,loss,seed}, "configs": {param: ReluSweepConfig}}.
    ``configs`` overrides the preset's configurations (tiny runs)."""
    from simulations import sweep

    configs = configs or {p: sweep.preset(preset, p) for p in PARAMS}
    sweeps = {p: sweep.run_sweep(configs[p], store_dir(results_dir, preset, p),
                                 progress=progress, log=log) for p in PARAMS}
    return {"sweeps": sweeps, "configs": configs}


def mean_curves(df) -> dict:
    """width -> (hp (H,), seed-mean loss (H,), standard error (H,)); diverged runs (NaN)
    are left out of the mean."""
    out = {}
    for w, g in df.groupby("width"):
        stats = g.groupby("hp")["loss"].agg(["mean", "std", "count"]).sort_index()
        se = stats["std"].to_numpy() / np.sqrt(np.maximum(stats["count"].to_numpy(), 1))
        out[int(w)] = (stats.index.to_numpy(), stats["mean"].to_numpy(), se)
    return out


def plot(data: dict):
    from paper_figures.style import colors, new_figure

    fig, axes = new_figure(2, 1)
    for ax, p in zip(axes, PARAMS):
        curves = mean_curves(data["sweeps"][p])
        cols = colors(len(curves))
        for c, (w, (hp, loss, _)) in zip(cols, sorted(curves.items())):
            ax.plot(hp, loss, "-o", ms=2.5, lw=1.1, color=c, label=f"n = {w}")
            if np.isfinite(loss).any():
                i = int(np.nanargmin(loss))
                ax.plot(hp[i], loss[i], "*", ms=8, color=c, mec="k", mew=0.5)
        ax.set_yscale("log")
        ax.set_xlabel(r"$\log \nu$ (learning rate)")
        ax.set_ylabel(r"test loss $\varphi_n(\nu)$")
        ax.set_title(TITLES[p])
    axes[0].legend(loc="best", ncol=2)
    return fig


TINY = dict(widths=(16, 32, 64), n_lrs=9, lr_min=3e-3, lr_max=1.0, seeds=2, steps=60,
            batch=32, test_size=1024)


def tiny_configs():
    from simulations import sweep

    return {"mup": sweep.ReluSweepConfig(**TINY, param="mup"),
            "sp": sweep.ReluSweepConfig(**{**TINY, "lr_min": 3e-5, "n_lrs": 13}, param="sp")}


def main(argv=None) -> int:
    from paper_figures.style import figure_main

    def options(p):
        p.add_argument("--results", type=Path, default=None, help="default: OUT/tiny_results")

    return figure_main(argv, name=NAME, caption=CAPTION, options=options,
                       make=lambda a: plot(load(a.results or a.out / "tiny_results", "tiny",
                                                configs=tiny_configs(), log=lambda s: None)))


if __name__ == "__main__":
    raise SystemExit(main())

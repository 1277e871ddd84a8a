"""Theorem 2: compute-optimal excess versus compute C for direct tuning and for
transfer, in a fast (beta > alpha/2) and a weak (beta = alpha/2) setting.

Markers: brute-force optima over integer (n, m, K) (:mod:`theory.grid_search`);
dashed lines: the closed-form slopes ``-e_D`` and ``-e_T`` through the largest budget.
In the fast panel transfer's line is steeper; in the weak panel the slopes coincide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "compute_optimal"
CAPTION = ("Theorem 2: compute-optimal excess loss versus compute for direct tuning and "
           "transfer (brute force, markers; closed-form slopes, dashed), fast vs weak.")

PANELS = {"fast": "fast, final run binds", "weak": "weak tie beta = alpha/2"}
STORED = "theorem2_excess.csv"


def _settings():
    from fasttransfer.theory.grid_search import SETTINGS

    by_name = {s.name: s for s in SETTINGS}
    return {panel: by_name[name] for panel, name in PANELS.items()}


def load(results_dir: Path | None = None, preset: str = "quick", *, config=None) -> dict:
    """Brute-force optima of the two panel settings: read from ``results_dir/STORED``
    (written by the ``theorem2`` check) when it holds them, else computed."""
    import pandas as pd

    from fasttransfer.theory.grid_search import (SlopeStudyConfig, exponent_direct, exponent_transfer,
                                    fit_slope, run_study)

    settings = _settings()
    df = None
    if config is None and results_dir is not None and (Path(results_dir) / STORED).exists():
        stored = pd.read_csv(Path(results_dir) / STORED)
        if all(name in set(stored.setting) for name in PANELS.values()):
            df = stored
    if df is None:
        cfg = config if config is not None else SlopeStudyConfig.preset(preset)
        df = run_study(cfg, settings=tuple(settings.values()))
    out = {"panels": {}}
    for panel, s in settings.items():
        entry = {"alpha": s.alpha, "beta": s.beta, "rho": s.rho, "h": s.h, "series": {}}
        for strategy in ("direct", "transfer"):
            sub = df[(df.setting == s.name) & (df.strategy == strategy)].sort_values("budget")
            C, E = sub.budget.to_numpy(np.float64), sub.excess.to_numpy(np.float64)
            closed = (exponent_direct(s.alpha, s.rho, s.h) if strategy == "direct"
                      else exponent_transfer(s.alpha, s.beta, s.rho, s.h))
            entry["series"][strategy] = {"budget": C, "excess": E, "closed": closed,
                                         "fitted": -fit_slope(C, E)}
        out["panels"][panel] = entry
    return out


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        cols = colors(2)
        for ax, (panel, entry) in zip(axes, data["panels"].items()):
            for (strategy, ser), col, marker in zip(entry["series"].items(), cols, ("o", "s")):
                C, E = ser["budget"], ser["excess"]
                ax.loglog(C, E, marker, color=col, ms=3.5, linestyle="none",
                          label=f"{strategy}: fitted slope {-ser['fitted']:.3f}")
                anchor = E[-1] * (C / C[-1]) ** (-ser["closed"])
                ax.loglog(C, anchor, "--", color=col, lw=1.0,
                          label=f"{strategy}: closed form {-ser['closed']:.3f}")
            ax.set_title(rf"{panel}: $\alpha$={entry['alpha']:g}, $\beta$={entry['beta']:g}, "
                         rf"$\rho$={entry['rho']:g}, $h$={entry['h']:g}")
            ax.set_xlabel(r"compute budget $C$ (runs at width 1)")
            ax.set_ylabel(r"optimal excess $E^*(C)$")
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo * (lo / hi) ** 0.8, hi)  # room for the legend below the data
            ax.legend(loc="lower left", fontsize=6.5)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import figure_main
    from fasttransfer.theory.grid_search import SlopeStudyConfig

    def options(p):
        p.add_argument("--hi", type=float, default=7.0, help="largest budget 10^hi (tiny run: 7)")

    def make(a):
        cfg = SlopeStudyConfig(lo=3.0, hi=a.hi, per_decade=1, ratio=1.05)
        return plot(load(None, "quick", config=cfg))

    return figure_main(argv, name=NAME, caption=CAPTION, options=options, make=make)


if __name__ == "__main__":
    raise SystemExit(main())

"""Theorem 2: compute-optimal excess versus compute C for direct tuning and for
transfer, in a fast (beta > alpha/2) and a weak (beta = alpha/2) setting.

Markers: brute-force optima over integer (n, m, K) (:mod:`theory.grid_brute_force`);
dashed lines: the closed-form slopes ``-e_D`` and ``-e_T`` through the largest budget.
In the fast panel transfer's line is steeper; in the weak panel the slopes coincide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "compute_optimal"
CAPTION = (
    "Theorem 2: compute-optimal excess loss versus compute for direct tuning and "
    "transfer (brute force, markers; closed-form slopes, dashed), fast vs weak."
)


def load(results_dir: Path | None, preset: str = "quick") -> dict:
    """The two panels the ``theorem2`` check stored (brute-force optima, closed-form and
    fitted exponents) in OUT/theorem2/<preset>/excess/compute_optimal.json."""
    from fasttransfer.paper_figures.stored import entry

    panels = entry(results_dir, "theorem2", preset, "excess").read_json("compute_optimal.json")
    for p in panels.values():
        for ser in p["series"].values():
            ser["budget"] = np.asarray(ser["budget"], dtype=np.float64)
            ser["excess"] = np.asarray(ser["excess"], dtype=np.float64)
    return {"panels": panels}


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        cols = colors(2)
        for ax, (panel, entry) in zip(axes, data["panels"].items(), strict=False):
            for (strategy, ser), col, marker in zip(
                entry["series"].items(), cols, ("o", "s"), strict=False
            ):
                C, E = ser["budget"], ser["excess"]
                ax.loglog(
                    C,
                    E,
                    marker,
                    color=col,
                    ms=3.5,
                    linestyle="none",
                    label=f"{strategy}: fitted slope {-ser['fitted']:.3f}",
                )
                anchor = E[-1] * (C / C[-1]) ** (-ser["closed"])
                ax.loglog(
                    C,
                    anchor,
                    "--",
                    color=col,
                    lw=1.0,
                    label=f"{strategy}: closed form {-ser['closed']:.3f}",
                )
            ax.set_title(
                rf"{panel}: $\alpha$={entry['alpha']:g}, $\beta$={entry['beta']:g}, "
                rf"$r$={entry['r']:g}, $h$={entry['h']:g}"
            )
            ax.set_xlabel(r"compute budget $C$ (runs at width 1)")
            ax.set_ylabel(r"optimal excess $E^*(C)$")
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo * (lo / hi) ** 0.8, hi)  # room for the legend below the data
            ax.legend(loc="lower left", fontsize=6.5)
    return fig


def main(argv=None) -> int:
    """Draw the panels the ``theorem2`` check stored under ``--results``."""
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

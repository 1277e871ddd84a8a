"""Theorem 1 on a log-log plot: c_n, a_n and b_n^2 versus width for a fast
(beta > alpha/2) and a weak (beta = alpha/2) synthetic family
(docs/paper-setups.md#synthetic-families).

``c_n = kappa/2 b_n^2`` runs parallel to ``b_n^2`` in both panels (c = Theta(b^2));
in the fast panel it falls faster than ``a_n`` (c = o(a)), in the weak panel at the
same rate (c = Theta(a)). Fitted log-log slopes are in the legend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "theorem1_gaps"
CAPTION = (
    "Theorem 1: transfer suboptimality c_n, loss gap a_n and squared HP gap b_n^2 "
    "versus width for a fast (beta > alpha/2) and a weak (beta = alpha/2) family."
)


def load(results_dir: Path | None, preset: str = "quick") -> dict:
    """The gap curves the ``theorem1`` check stored (OUT/theorem1/<preset>/gaps.json):
    exact a_n, b_n^2, c_n of a fast and a weak family and their log-log slopes."""
    from fasttransfer.paper_figures.stored import entry

    data = entry(results_dir, "theorem1", preset).read_json("gaps.json")
    data["widths"] = np.asarray(data["widths"], dtype=np.float64)
    for fam in data["families"].values():
        fam["gaps"] = {k: np.asarray(v, dtype=np.float64) for k, v in fam["gaps"].items()}
    return data


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    labels = {
        "a_n": r"$a_n$ (loss gap)",
        "b_n^2": r"$b_n^2$ (HP gap squared)",
        "c_n": r"$c_n$ (transfer suboptimality)",
    }
    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        cols = colors(3)
        for ax, (name, fam) in zip(axes, data["families"].items(), strict=False):
            for (key, values), col, style in zip(
                fam["gaps"].items(), cols, ("-", "--", ":"), strict=False
            ):
                ax.loglog(
                    data["widths"],
                    values,
                    style,
                    color=col,
                    marker="o",
                    ms=2.5,
                    label=f"{labels[key]}, slope {fam['slopes'][key]:.2f}",
                )
            rel = ">" if fam["beta"] > fam["alpha"] / 2 else "="
            ax.set_title(
                rf"{name}: $\alpha$={fam['alpha']:g}, $\beta$={fam['beta']:g} "
                rf"($\beta {rel} \alpha/2$)"
            )
            ax.set_xlabel(r"width $n$")
            ax.set_ylabel(r"gap")
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo / 30.0, hi)  # room for the legend below the curves
            ax.legend(loc="lower left")
    return fig


def main(argv=None) -> int:
    """Draw the curves the ``theorem1`` check stored under ``--results``."""
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

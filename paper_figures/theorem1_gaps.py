"""Theorem 1 on a log-log plot: c_n, a_n and b_n^2 versus width for a fast
(beta > alpha/2) and a weak (beta = alpha/2) synthetic family (SPEC §3).

``c_n = kappa/2 b_n^2`` runs parallel to ``b_n^2`` in both panels (c = Theta(b^2));
in the fast panel it falls faster than ``a_n`` (c = o(a)), in the weak panel at the
same rate (c = Theta(a)). Fitted log-log slopes are in the legend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "theorem1_gaps"
CAPTION = ("Theorem 1: transfer suboptimality c_n, loss gap a_n and squared HP gap b_n^2 "
           "versus width for a fast (beta > alpha/2) and a weak (beta = alpha/2) family.")

ALPHA = 0.5
BETAS = {"fast": 0.5, "weak": 0.25}
B = 0.6  # HP drift size: keeps b_n^2 visibly apart from a_n in the weak panel


def load(results_dir: Path | None = None, preset: str = "quick", *, points: int | None = None) -> dict:
    """Exact gaps of two :class:`theory.synthetic.PowerLawFamily` (synthetic: nothing
    stored; ``results_dir`` unused) and their fitted log-log slopes."""
    from fasttransfer.theory.grid_search import fit_slope
    from fasttransfer.theory.synthetic import PowerLawFamily

    k = points if points is not None else (13 if preset == "quick" else 25)
    widths = np.geomspace(16.0, 65536.0, k)
    out = {"widths": widths, "families": {}}
    for name, beta in BETAS.items():
        fam = PowerLawFamily(A=1.0, alpha=ALPHA, kappa=1.0, B=B, beta=beta)
        gaps = {"a_n": fam.a(widths), "b_n^2": fam.b(widths) ** 2, "c_n": fam.c(widths)}
        out["families"][name] = {
            "alpha": ALPHA, "beta": beta, "gaps": gaps,
            "slopes": {key: fit_slope(widths, v) for key, v in gaps.items()},
        }
    return out


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    labels = {"a_n": r"$a_n$ (loss gap)", "b_n^2": r"$b_n^2$ (HP gap squared)",
              "c_n": r"$c_n$ (transfer suboptimality)"}
    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        cols = colors(3)
        for ax, (name, fam) in zip(axes, data["families"].items()):
            for (key, values), col, style in zip(fam["gaps"].items(), cols, ("-", "--", ":")):
                ax.loglog(data["widths"], values, style, color=col, marker="o", ms=2.5,
                          label=f"{labels[key]}, slope {fam['slopes'][key]:.2f}")
            rel = ">" if fam["beta"] > fam["alpha"] / 2 else "="
            ax.set_title(rf"{name}: $\alpha$={fam['alpha']:g}, $\beta$={fam['beta']:g} "
                         rf"($\beta {rel} \alpha/2$)")
            ax.set_xlabel(r"width $n$")
            ax.set_ylabel(r"gap")
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo / 30.0, hi)  # room for the legend below the curves
            ax.legend(loc="lower left")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument("--preset", choices=("quick", "paper"), default="quick")
        p.add_argument("--points", type=int, default=7, help="widths per family (tiny run: 7)")

    return figure_main(argv, name=NAME, caption=CAPTION, options=options,
                       make=lambda a: plot(load(None, a.preset, points=a.points)))


if __name__ == "__main__":
    raise SystemExit(main())

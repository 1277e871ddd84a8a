"""An illustration of the estimator's blind spot, NOT the paper's Figure 2 (that one is
simulated: kindex_late_shift.py). The late-shift family
(docs/paper-setups.md#synthetic-families): the optimum sits still up to width 8192 and only
then moves to its limit at the weak rate beta = alpha/2. A sweep that stops at 4096 sees a
fixed optimum; the full sweep shows the drift. Loss law: the paper's Llama law L = 3.137 +
13.16 n^-0.52; the drift is ours. A view of the ``estimators`` entry of the results store
(written by the ``estimators`` check)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "late_shift"
CAPTION = (
    "Illustration (synthetic family, not a simulation): the optimal HP is stable up to width 8192, then drifts at the weak "
    "rate beta = alpha/2; a sweep that stops at 4096 cannot tell this from fast transfer."
)
_ARRAYS = ("widths", "nu_star", "nu_se", "b", "a", "c_proxy")


def load(results_dir: Path | None = None, preset: str = "quick") -> dict:
    """The stored data (``estimators`` entry, ``late_shift.json``); arrays as numpy."""
    from fasttransfer.paper_figures.stored import entry

    data = entry(results_dir, "estimators", preset).read_json("late_shift.json")
    for k in ("n_line", "nu_line", "b_line", "a_line", "c_line", "n_c"):
        data[k] = np.asarray(data[k], dtype=np.float64)
    for name in ("small", "full"):
        for ref in ("largest", "extrapolate"):
            an = data[f"{name}_{ref}"]
            for k in _ARRAYS:
                an[k] = np.asarray(an[k], dtype=np.float64)
    return data


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    small_max = data["small_max"]
    with plt.rc_context(RC):
        fig, (ax1, ax2) = new_figure(2, 1)
        c = colors(4)
        ax1.semilogx(
            data["n_line"],
            data["nu_line"],
            "-",
            color=c[0],
            lw=1.3,
            label=r"exact $\nu^\star(n)-\nu_\infty$",
        )
        f = data["full_extrapolate"]
        ax1.errorbar(
            f["widths"],
            f["nu_star"],
            yerr=1.96 * f["nu_se"],
            fmt="o",
            ms=3.5,
            color=c[1],
            label=r"fitted $\hat\nu^\star(n)$" + f" ({data['seeds']} seeds)",
        )
        ax1.axvspan(
            data["n_line"][0],
            small_max,
            color=c[2],
            alpha=0.12,
            label=f"small sweep (n $\\leq$ {small_max:g})",
        )
        ax1.axvline(data["shift_width"], color="k", lw=0.8, ls=":")
        ax1.set_xlabel("width $n$")
        ax1.set_ylabel(r"$\nu^\star(n) - \nu_\infty$")
        ax1.set_title("optimum stable up to n = 8192, then moving")
        ax1.legend(fontsize=6.5, loc="lower left")

        ax2.loglog(
            data["n_c"], data["c_line"], "-", color=c[0], lw=1.3, label=r"exact $c_{128\to N}$"
        )
        ax2.loglog(
            data["n_line"],
            data["a_line"],
            "--",
            color="0.4",
            lw=1,
            label=r"exact $a_N$ (slope $-\alpha$=" + f"{data['alpha']:.2f})",
        )
        keep = (f["widths"] > f["widths"][0]) & (f["c_proxy"] > 0)
        ax2.loglog(
            f["widths"][keep],
            f["c_proxy"][keep],
            "o",
            ms=3.5,
            color=c[1],
            label=r"estimated $c_{128\to N}$ (fitted curves)",
        )
        ax2.axvspan(data["n_line"][0], small_max, color=c[2], alpha=0.12)
        ax2.set_ylim(1e-7, 10.0)  # below ~1e-7 the estimate is noise (vertex SE ~1e-3)
        ax2.set_ylabel(r"excess loss at width $N$")
        ax2.set_xlabel("target width $N$")
        lines = []
        for key, label in (
            ("small_largest", "n$\\leq$4096, largest"),
            ("small_extrapolate", "n$\\leq$4096, extrap."),
            ("full_extrapolate", "full, extrap."),
        ):
            r = data[key]
            lines.append(
                f"{label}: " + r"$\hat\beta$" + f"={r['beta']['estimate']:.2f} -> {r['verdict']}"
            )
        ax2.set_title("transfer from n = 128; truth: weak (" + r"$\beta=\alpha/2$" + ")")
        ax2.text(
            0.98,
            0.02,
            "\n".join(lines),
            transform=ax2.transAxes,
            fontsize=6,
            va="bottom",
            ha="right",
            bbox=dict(fc="white", ec="0.7", alpha=0.9),
        )
        ax2.legend(fontsize=6, loc="upper left")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

"""a_n, b_n, c_n versus width for a fast and a weak synthetic family
(docs/paper-setups.md#synthetic-families): the paper's Llama loss law L = 3.137 + 13.16
n^-0.52 with an HP drift of rate beta = 0.75 (fast: c_n = o(a_n)) and beta = alpha/2 = 0.26
(weak: c_n ~ a_n). Lines: the exact gaps of the family; markers: what ``analyze`` estimates
from a noisy 7-width x 31-HP x 6-seed sweep of it (c_n: its model column, phi''/2 b_n^2). A
view of the ``estimators`` entry of the results store (written by the ``estimators``
check)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "rate_framework"
CAPTION = (
    "Loss gap a_n, HP gap b_n and transfer suboptimality c_n for the Llama loss law "
    "with a fast (beta=0.75) and a weak (beta=alpha/2) HP drift: exact (lines) and "
    "estimated from a noisy sweep (markers; c_n from the fitted curvature)."
)


def load(results_dir: Path | None = None, preset: str = "quick") -> dict:
    """The stored data (``estimators`` entry, ``rate_framework.json``); arrays as numpy."""
    from fasttransfer.paper_figures.stored import entry

    data = entry(results_dir, "estimators", preset).read_json("rate_framework.json")
    for fam in data["families"].values():
        for k in ("a", "b", "c", "a_hat", "b_hat", "c_hat"):
            fam[k] = np.asarray(fam[k], dtype=np.float64)
    data["widths"] = np.asarray(data["widths"], dtype=np.float64)
    return data


def _ci(e) -> str:
    lo, hi = e["ci"]
    return "" if lo is None or hi is None else f" [{lo:.3f}, {hi:.3f}]"


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        n = data["widths"]
        cols = colors(3)
        for ax, (name, f) in zip(axes, data["families"].items(), strict=False):
            slopes = {"a": f["alpha"], "b": f["beta"], "c": 2 * f["beta"]}
            sym = {"a": r"$a_n$", "b": r"$b_n$", "c": r"$c_n$"}
            hat = {"a": r"$\hat\alpha$", "b": r"$\hat\beta$", "c": r"$2\hat\beta$"}
            est = {
                "a": f["alpha_hat"]["estimate"],
                "b": f["beta_hat"]["estimate"],
                "c": 2 * f["beta_hat"]["estimate"],
            }
            what = {"a": "estimated", "b": "estimated", "c": "model"}
            for key, col in zip("abc", cols, strict=False):
                ax.loglog(
                    n,
                    f[key],
                    "-",
                    color=col,
                    lw=1.3,
                    label=f"{sym[key]} exact, slope -{slopes[key]:.2f}",
                )
                ax.loglog(
                    n,
                    f[key + "_hat"],
                    "o",
                    color=col,
                    ms=4,
                    mfc="none",
                    label=f"{sym[key]} {what[key]}, {hat[key]}={est[key]:.3f}",
                )
            d = f["d_hat"]
            ax.set_title(
                f"{name}: "
                + r"$\beta$"
                + f"={f['beta']:.2f}, "
                + r"$\alpha$"
                + f"={f['alpha']:.2f}; verdict {f['verdict']}\n"
                + r"$\beta-\alpha/2$"
                + f" = {d['estimate']:.3f}{_ci(d)}"
            )
            ax.set_xlabel("width $n$")
            ax.set_ylabel(r"$a_n$, $b_n$, $c_n$")
            ax.legend(fontsize=6, loc="lower left")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

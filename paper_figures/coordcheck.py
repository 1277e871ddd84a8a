"""The muP coordinate check of the two-layer ReLU net
(docs/paper-setups.md#relu-counterexample), drawn like microsoft/mup's coord checks: one
panel per step t, mean |x| against width on log-log axes, one line per module
(pre-activation, activation, output); muP on the top row, the standard parametrisation
below. Each legend entry carries the fitted log-log slope (mean over seeds); the band is the
seed range."""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAME = "coordcheck"
CAPTION = (
    "muP coordinate check of the two-layer ReLU net: mean |x| of pre-activations, "
    "activations and output against width after t Adam steps; flat under muP, "
    "the output grows with width under the standard parametrisation."
)

LABELS = {"preact": "pre-act. $h$", "act": r"act. $\mathrm{relu}(h)$", "output": "output $f$"}
ROW_TITLES = {"mup": r"$\mu$P", "sp": "SP"}


def load(results_dir: Path, preset: str):
    """{"table": the stored per-seed table (param, width, t, module, seed, l1), "slopes":
    its log-log slopes per (param, module, t)} of the preset's coordinate check
    (``fasttransfer coordcheck`` or ``verify`` make it)."""
    from fasttransfer.paper_figures.stored import entry

    e = entry(results_dir, "coordcheck", preset)
    return {
        "table": e.read_csv("coordcheck_seeds.csv"),
        "slopes": e.read_csv("coordcheck_slopes.csv"),
    }


def plot(data):
    """data: {"table": the per-seed table of :func:`simulations.coordcheck.run_coordcheck`
    (a table without ``seed`` is drawn as one seed), "slopes": its slopes table
    (:func:`simulations.coordcheck.slopes`: param, module, t, slope)}. Returns the
    Figure: rows = params present (muP first), columns = t."""
    from fasttransfer.paper_figures.style import colors, new_figure

    df = data["table"].copy()
    slope_tab = data["slopes"]
    if "seed" not in df.columns:
        df["seed"] = 0
    present = list(dict.fromkeys(df["param"]))  # any model's label, ours first
    params = [p for p in ROW_TITLES if p in present] + [p for p in present if p not in ROW_TITLES]
    known = [m for m in LABELS if m in set(df["module"])]
    modules = known + [m for m in dict.fromkeys(df["module"]) if m not in known]
    ts = sorted(int(t) for t in df["t"].unique())
    fig, axes = new_figure(ncols=len(ts), nrows=len(params), width=1.55 * len(ts) + 0.6, height=1.9)
    palette = colors(len(modules))
    for r, param in enumerate(params):
        for c, t in enumerate(ts):
            ax = axes[r * len(ts) + c]
            sub = df[(df["param"] == param) & (df["t"] == t)]
            for k, module in enumerate(modules):
                m = sub[sub["module"] == module]
                if m.empty:
                    continue
                g = m.groupby("width")["l1"]
                widths = np.asarray(g.mean().index, dtype=float)
                row = slope_tab[
                    (slope_tab["param"] == param)
                    & (slope_tab["module"] == module)
                    & (slope_tab["t"] == t)
                ]
                s = float(row["slope"].iloc[0]) if not row.empty else float("nan")
                ax.plot(
                    widths,
                    g.mean().to_numpy(),
                    marker="o",
                    ms=2.5,
                    lw=1.2,
                    color=palette[k],
                    label=f"{LABELS.get(module, module)}: {s:+.2f}",
                )
                ax.fill_between(
                    widths,
                    g.min().to_numpy(),
                    g.max().to_numpy(),
                    color=palette[k],
                    alpha=0.18,
                    lw=0,
                )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{ROW_TITLES.get(param, param)}, t = {t}")
            if r == len(params) - 1:
                ax.set_xlabel("width $n$")
            if c == 0:
                ax.set_ylabel(r"mean $|x|$")
            ax.legend(
                title="slope",
                loc="best",
                fontsize=5.5,
                title_fontsize=5.5,
                handlelength=1.2,
                borderpad=0.3,
                labelspacing=0.2,
            )
    return fig


def main(argv=None) -> int:
    """Draw the stored coordinate check of ``--preset`` under ``--results``."""
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

"""Total, top-k and residual loss curves over training for several widths (SPEC §6,
the paper's "temporal decomposition" with k fixed), at each width's best learning rate."""

from __future__ import annotations

from pathlib import Path

NAME = "topk_curves"
CAPTION = ("Loss along the EMA trajectory split into its top-k part (width-stable in the "
           "paper) and the residual (improving with width), at each width's best learning "
           "rate.")
K_DEFAULT = 16


def load_setting(results_dir: Path, preset: str, setting: str) -> dict:
    """The stored top-k frames of one setting ({"final", "profile", "curves"}) and its
    Algorithm 1 output ("kappa"), from the store entry topk/<preset>/<setting>."""
    from fasttransfer.paper_figures.stored import entry

    e = entry(results_dir, "topk", preset, setting)
    out = {n: e.read_csv(f"{n}.csv") for n in ("final", "profile", "curves")}
    out["kappa"] = e.read_json("kappa.json")
    return out


def best_hp(final) -> dict:
    """width -> grid argmin of the seed-mean final loss (finite cells only)."""
    mean = final.groupby(["width", "hp"])["loss"].mean().dropna()
    return {int(w): float(g.idxmin()[1]) for w, g in mean.groupby(level=0)}


def load(results_dir: Path, preset: str, setting: str = "mlp", k: int = K_DEFAULT) -> dict:
    frames = load_setting(results_dir, preset, setting)
    curves = frames["curves"]
    ks = sorted(curves["k"].unique())
    k = min(ks, key=lambda kk: abs(kk - k))
    best = best_hp(frames["final"])
    out = {}
    for width, hp in best.items():
        c = curves[(curves["width"] == width) & (curves["k"] == k) & (curves["hp"] == hp)]
        c = c.groupby("step")[["loss", "topk", "residual"]].mean().reset_index()
        out[width] = {col: c[col].to_numpy() for col in ("step", "loss", "topk", "residual")}
        out[width]["hp"] = hp
    return {"setting": setting, "k": int(k), "widths": out}


def plot(data):
    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(3, 1, width=7.0, height=2.5)
    widths = sorted(data["widths"])
    cols = colors(len(widths))
    titles = (r"total $\varphi(\bar w_t)$", rf"top-k $\varphi^k$ (k = {data['k']})",
              rf"residual $\varphi^{{-k}}$ (k = {data['k']})")
    for ax, key, title in zip(axes, ("loss", "topk", "residual"), titles):
        for c, w in zip(cols, widths):
            d = data["widths"][w]
            ax.plot(d["step"], d[key], color=c, label=f"n = {w}")
        ax.set_xlabel("step t")
        ax.set_title(title)
    axes[0].set_ylabel("loss")
    axes[0].legend(title=data["setting"])
    return fig


def setting_main(argv, *, name: str, caption: str, load, plot) -> int:
    """The ``main()`` of the three top-k figures: draw one stored setting
    (``--setting``) of ``--preset`` under ``--results``."""
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument("--results", type=Path, default=Path("results"))
        p.add_argument("--preset", default="quick")
        p.add_argument("--setting", choices=("relu", "mlp"), default="relu")

    return figure_main(argv, name=name, caption=caption, options=options,
                       make=lambda a: plot(load(a.results, a.preset, a.setting)))


def main(argv=None) -> int:
    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

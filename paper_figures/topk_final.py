"""Top-kappa and residual final loss versus learning rate per width (SPEC §6): the paper's
picture of Hypothesis 1 -- the top-kappa curves overlap across widths and carry the
optimum, the residual is flat near it."""

from __future__ import annotations

from pathlib import Path

NAME = "topk_final"
CAPTION = ("Final top-kappa loss (left) and residual (right) against the learning rate for "
           "each width at one kappa (the median of Algorithm 1's kappa_hat entries, K_max "
           "where it fails); markers: argmin.")


def load(results_dir: Path, preset: str, setting: str = "mlp") -> dict:
    import numpy as np

    from fasttransfer.paper_figures.topk_curves import load_setting

    frames = load_setting(results_dir, preset, setting)
    kappa = frames["kappa"]["kappa"]
    prof = frames["profile"]
    prof = prof[prof["k"] == kappa].groupby(["width", "hp"])[["topk", "residual"]].mean()
    total = frames["final"].groupby(["width", "hp"])["loss"].mean()
    widths = {}
    for w, g in prof.groupby(level=0):
        hp = g.index.get_level_values(1).to_numpy()
        widths[int(w)] = {"hp": hp, "topk": g["topk"].to_numpy(), "residual": g["residual"].to_numpy(),
                          "total": total.loc[w].reindex(hp).to_numpy()}
    return {"setting": setting, "kappa": kappa, "widths": widths,
            "kappa_rule": frames["kappa"]["kappa_rule"], "log_base": float(np.e)}


def plot(data):
    import numpy as np

    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(2, 1, width=6.8, height=2.7)
    widths = sorted(data["widths"])
    for c, w in zip(colors(len(widths)), widths):
        d = data["widths"][w]
        nu = np.exp(d["hp"])
        for ax, key in zip(axes, ("topk", "residual")):
            ax.plot(nu, d[key], "o-", ms=3, color=c, label=f"n = {w}")
            y = np.where(np.isfinite(d[key]), d[key], np.inf)
            if key == "topk" and np.any(np.isfinite(y)):
                i = int(np.argmin(y))
                ax.plot(nu[i], y[i], "*", ms=9, color=c)
    k = data["kappa"]
    axes[0].set_title(rf"top-$\kappa$ loss $\varphi_n^\kappa$ ($\kappa$ = {k})")
    axes[1].set_title(rf"residual $\varphi_n^{{-\kappa}}$ ($\kappa$ = {k})")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"learning rate $\nu$")
    axes[0].set_ylabel("final loss component")
    axes[1].text(0.02, 0.02, rf"$\kappa$: {data['kappa_rule']}", transform=axes[1].transAxes,
                 fontsize=7)
    axes[0].legend(title=data["setting"])
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

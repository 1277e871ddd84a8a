"""Total, top-k and residual loss curves over training for several widths (the
paper's "temporal decomposition" with k fixed, k = 60 in its Figure 1), at each width's
best learning rate. Also the helpers the top-k figures share: reading a stored setting,
seed means, and the truncation drawn at each width (Algorithm 1's kappa_hat or the
stored fixed kappa)."""

from __future__ import annotations

from pathlib import Path

NAME = "topk_curves"
PRESETS = ("quick", "cpu", "paper")  # the presets its study has
CAPTION = (
    "Loss along the EMA trajectory split into its top-k part (width-stable in the "
    "paper) and the residual (improving with width) at k = 60 (the paper's; the "
    "nearest recorded k), at each width's best learning rate."
)
K_DEFAULT = 60  # the paper's temporal-decomposition figure


def load_setting(results_dir: Path, preset: str, setting: str) -> dict:
    """The stored top-k frames of one setting ({"final", "profile", "curves"}) from the
    store entry topk/<preset>/<setting>, and Algorithm 1's output on them ("kappa":
    :func:`theory.algorithm1.kappa_summary`, computed when read, as the check does)."""
    from fasttransfer.paper_figures.stored import entry
    from fasttransfer.theory.algorithm1 import kappa_summary

    e = entry(results_dir, "topk", preset, setting)
    out = {n: e.read_csv(f"{n}.csv") for n in ("final", "profile", "curves")}
    out["kappa"] = kappa_summary(out["profile"], out["final"])
    return out


def seed_mean(df, keys: list, cols: list):
    """Seed means of ``cols`` per ``keys``, NaN where any seed is non-finite (a diverged
    cell, as Algorithm 1 reads it)."""
    import numpy as np

    bad = df[cols].apply(lambda c: ~np.isfinite(c)).assign(**{k: df[k] for k in keys})
    return df.groupby(keys)[cols].mean().mask(bad.groupby(keys)[cols].any())


def best_hp(final) -> dict:
    """width -> grid argmin of the seed-mean final loss (finite cells only)."""
    mean = seed_mean(final, ["width", "hp"], ["loss"])["loss"].dropna()
    return {int(w): float(g.idxmin()[1]) for w, g in mean.groupby(level=0)}


def kappa_vector(kappa: dict, width: int, hp) -> tuple:
    """(kappa (H,) float, label): the truncation drawn at ``width`` on the grid points
    ``hp`` (H,). Algorithm 1's kappa_hat(width, nu) (:func:`theory.algorithm1.kappa_summary`) where it was found
    (NaN at grid points it did not use: diverged columns); at n_max, which has no
    kappa_hat of its own (it is the reference), the kappa_hat of the next narrower width
    (the truncation Algorithm 1 pairs n_max with there); the stored fixed ``kappa`` (every
    grid point) where Algorithm 1 failed. The label says which."""
    import numpy as np

    hp = np.asarray(hp, float)
    found = {int(w): ks for w, ks in kappa["kappa_hat"].items()}
    own = width in found
    source = width if own else max((w for w in found if w < width), default=None)
    ks = found.get(source)
    if ks is None:
        why = "Alg. 1 Fail" if own or source is not None else "no kappa_hat"
        return np.full(len(hp), float(kappa["kappa"])), rf"$\kappa$ = {kappa['kappa']} ({why})"
    grid = np.asarray(kappa["kappa_hat_hp"][str(source)], float)
    out = np.full(len(hp), np.nan)
    for i, x in enumerate(hp):
        hit = np.flatnonzero(np.abs(grid - x) < 1e-9)
        if len(hit):
            out[i] = ks[hit[0]]
    return out, (r"$\hat\kappa(n, \nu)$" if own else rf"$\hat\kappa$({source}, $\nu$)")


def at_k(table, width: int, hp, kv, col: str):
    """``col`` of a (width, hp, k)-indexed table at k = kv_i in grid column i: (H,), NaN
    where kv_i is NaN or the cell is missing."""
    import numpy as np

    out = np.full(len(hp), np.nan)
    for i, (x, k) in enumerate(zip(hp, kv, strict=False)):
        if np.isfinite(k) and (width, x, int(k)) in table.index:
            out[i] = table.at[(width, x, int(k)), col]
    return out


def styled(plot):
    """``plot`` drawn under the project's rc settings (titles, legends and labels are
    created inside ``plot``, after :func:`style.new_figure` returns)."""
    import functools

    @functools.wraps(plot)
    def drawn(data):
        import matplotlib.pyplot as plt

        from fasttransfer.paper_figures.style import RC

        with plt.rc_context(RC):
            return plot(data)

    return drawn


def lr_axis(ax, nu) -> None:
    """A log learning-rate x axis over the grid ``nu``; under two decades every 1-2-5
    tick is labelled (log-scale minor labels collide there)."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_xlabel(r"learning rate $\nu$")
    nu = np.asarray(nu, float)
    nu = nu[np.isfinite(nu) & (nu > 0)]
    if len(nu) and np.log10(nu.max() / nu.min()) < 2:
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def load(results_dir: Path, preset: str, setting: str = "mlp", k: int = K_DEFAULT) -> dict:
    return from_frames(load_setting(results_dir, preset, setting), setting, k)


def from_frames(frames: dict, setting: str, k: int = K_DEFAULT) -> dict:
    """The drawn data from a setting's frames: the recorded k nearest ``k``; per width
    its best learning rate and the seed-mean curves (step, loss, topk, residual)."""
    curves = frames["curves"]
    wanted, k = k, min(sorted(curves["k"].unique()), key=lambda kk: abs(kk - k))
    out = {}
    for width, hp in best_hp(frames["final"]).items():
        c = curves[(curves["width"] == width) & (curves["k"] == k) & (curves["hp"] == hp)]
        c = seed_mean(c, ["step"], ["loss", "topk", "residual"]).reset_index()
        out[width] = {col: c[col].to_numpy() for col in ("step", "loss", "topk", "residual")}
        out[width]["hp"] = hp
    return {"setting": setting, "k": int(k), "k_wanted": int(wanted), "widths": out}


@styled
def plot(data):
    import math

    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(3, 1, width=7.6, height=3.0)
    widths = sorted(data["widths"])
    cols = colors(len(widths))
    k = data["k"]
    titles = (
        r"total $\varphi_n(\bar w_t)$",
        rf"top-k $\varphi_n^k(\bar w_t)$ (k = {k})",
        rf"residual $\varphi_n^{{-k}}(\bar w_t)$ (k = {k})",
    )
    for ax, key, title in zip(axes, ("loss", "topk", "residual"), titles, strict=False):
        for c, w in zip(cols, widths, strict=False):
            d = data["widths"][w]
            ax.plot(
                d["step"], d[key], color=c, label=rf"n = {w}, $\nu^*$ = {math.exp(d['hp']):.2g}"
            )
        ax.set_xlabel("step t")
        ax.set_title(title)
    axes[2].axhline(0.0, color="0.5", lw=0.6)
    axes[0].set_ylabel("loss")
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside lower center",
        ncols=min(len(widths), 3),
        title=f"{data['setting']}: width n, its best LR",
    )
    if k != data.get("k_wanted", k):
        axes[1].text(
            0.98,
            0.98,
            f"k = {data['k_wanted']} not recorded; nearest recorded: {k}",
            transform=axes[1].transAxes,
            ha="right",
            va="top",
            fontsize=6.5,
        )
    return fig


def setting_main(argv, *, name: str, caption: str, load, plot) -> int:
    """The ``main()`` of the top-k figures: draw one stored setting
    (``--setting``) of ``--preset`` under ``--results``."""
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument("--results", type=Path, default=Path("results"))
        p.add_argument("--preset", default="quick")
        p.add_argument("--setting", choices=("relu", "mlp"), default="mlp")

    return figure_main(
        argv,
        name=name,
        caption=caption,
        options=options,
        make=lambda a: plot(load(a.results, a.preset, a.setting)),
    )


def main(argv=None) -> int:
    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

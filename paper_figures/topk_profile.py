"""The top-k profile phi_n^k versus k for several widths at one learning rate (the paper's
Figure 10), with Algorithm 1's kappa_hat(n, nu) (the published algorithm, a
per-learning-rate vector) marked: the paper finds kappa_hat where phi_n^k peels off
phi_inf^k (n_max here), which needs every width at the same nu -- by default the reference's
optimum nu*(n_max)."""

from __future__ import annotations

from pathlib import Path

from fasttransfer.paper_figures.topk_curves import styled

NAME = "topk_profile"
PRESETS = ("quick", "cpu", "paper")  # the presets its study has
CAPTION = (
    "Top-k final loss phi_n^k against k for each width at the widest model's best "
    "learning rate; circles mark Algorithm 1's kappa_hat(n) there (none where it "
    "fails, and at n_max, the reference it is measured against)."
)


def load(results_dir: Path, preset: str, setting: str = "mlp", hp: float | None = None) -> dict:
    from fasttransfer.paper_figures.topk_curves import load_setting

    return from_frames(load_setting(results_dir, preset, setting), setting, hp)


def from_frames(frames: dict, setting: str, hp: float | None = None) -> dict:
    """Per width: k (K+1,), the seed-mean phi_n^k at grid point ``hp`` (default: the grid
    argmin of n_max's seed-mean total), kappa_hat(n) there (NaN on Fail, at n_max, or where
    Algorithm 1 left the column out) and whether Algorithm 1 failed."""
    import numpy as np

    from fasttransfer.paper_figures.topk_curves import best_hp, kappa_vector, seed_mean

    kap = frames["kappa"]
    prof = seed_mean(frames["profile"], ["width", "hp", "k"], ["topk"])["topk"]
    widths = sorted(int(w) for w in prof.index.get_level_values(0).unique())
    at_ref = hp is None
    if at_ref:
        hp = best_hp(frames["final"])[widths[-1]]
    grid = np.sort(prof.index.get_level_values(1).unique())
    hp = float(grid[int(np.argmin(np.abs(grid - hp)))])  # the grid point drawn
    out = {}
    for w in widths:
        g = prof.loc[(w, hp)]
        kv, _ = kappa_vector(kap, w, [hp])
        found = kap["kappa_hat"].get(str(w)) is not None
        out[w] = {
            "k": g.index.to_numpy(),
            "topk": g.to_numpy(),
            "kappa_hat": float(kv[0]) if found else float("nan"),
            "failed": str(w) in kap["kappa_hat"] and not found,
        }
    return {
        "setting": setting,
        "hp": hp,
        "widths": out,
        "k_max": kap["k_max"],
        "at_ref_optimum": at_ref,
    }


@styled
def plot(data):
    import math

    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter

    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(1, 1, width=4.4, height=3.1)
    ax = axes[0]
    widths = sorted(data["widths"])
    for c, w in zip(colors(len(widths)), widths, strict=False):
        d = data["widths"][w]
        ref = w == widths[-1]
        label = f"n = {w}" + (" (n_max)" if ref else ", Alg. 1 Fail" if d["failed"] else "")
        ax.plot(
            d["k"], d["topk"], "-", color="k" if ref else c, lw=1.8 if ref else 1.2, label=label
        )
        kh = d["kappa_hat"]
        if math.isfinite(kh):
            i = int(np.searchsorted(d["k"], kh))
            ax.plot(d["k"][i], d["topk"][i], "o", ms=7, mfc="none", mew=1.4, color=c)
    ax.set_xscale("symlog", linthresh=1.0)  # k = 0 (phi at init) and decades of k
    ax.xaxis.set_major_locator(FixedLocator([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_xlabel("k (eigenvalues kept per layer)")
    ax.set_ylabel(r"top-k final loss $\varphi_n^k(\nu)$")
    ax.set_title(
        rf"top-k profile ({data['setting']}) at $\nu$ = {math.exp(data['hp']):.3g}"
        r" $= \nu^*(n_{max})$" * data["at_ref_optimum"]
    )
    ax.legend(title=r"o: $\hat\kappa(n, \nu)$", fontsize=7)
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

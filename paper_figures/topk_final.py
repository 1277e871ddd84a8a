"""Total versus top-kappa_n final loss against the learning rate, per width (the paper's
Figure 8): the paper's picture of Hypothesis 1 -- the total loss's optimum moves with width
while the top-kappa_n curves, kappa_n = Algorithm 1's kappa_hat(n, nu), overlap across
widths and carry the optimum."""

from __future__ import annotations

from pathlib import Path

from fasttransfer.paper_figures.topk_curves import styled

NAME = "topk_final"
PRESETS = ("quick", "cpu", "paper")  # the presets its study has
CAPTION = (
    "Final total loss phi_n (left) and top-kappa_n loss phi_n^kappa_n (right) "
    "against the learning rate for each width, kappa_n = Algorithm 1's "
    "kappa_hat(n, nu) (the stored fixed kappa where it fails and at n_max, "
    "labelled); stars: grid argmins."
)


def load(results_dir: Path, preset: str, setting: str = "mlp") -> dict:
    from fasttransfer.paper_figures.topk_curves import load_setting

    return from_frames(load_setting(results_dir, preset, setting), setting)


def from_frames(frames: dict, setting: str) -> dict:
    """Per width: hp (H,), the seed-mean total, kappa_n (H,) and phi_n^kappa_n (H,) with
    its label (:func:`topk_curves.kappa_vector`)."""
    from fasttransfer.paper_figures.topk_curves import at_k, kappa_vector, seed_mean

    kap = frames["kappa"]
    prof = seed_mean(frames["profile"], ["width", "hp", "k"], ["topk"])
    total = seed_mean(frames["final"], ["width", "hp"], ["loss"])["loss"]
    widths = {}
    for w, g in total.groupby(level=0):
        hp = g.index.get_level_values(1).to_numpy()
        kv, label = kappa_vector(kap, int(w), hp)
        widths[int(w)] = {
            "hp": hp,
            "total": g.to_numpy(),
            "kappa": kv,
            "kappa_label": label,
            "topk": at_k(prof, w, hp, kv, "topk"),
        }
    return {
        "setting": setting,
        "widths": widths,
        "kappa_rule": kap["kappa_rule"],
        "kappa": kap["kappa"],
    }


@styled
def plot(data):
    import numpy as np

    from fasttransfer.paper_figures.style import colors, new_figure
    from fasttransfer.paper_figures.topk_curves import lr_axis

    fig, axes = new_figure(2, 1, width=7.2, height=2.9)
    widths = sorted(data["widths"])
    for c, w in zip(colors(len(widths)), widths, strict=False):
        d = data["widths"][w]
        nu = np.exp(d["hp"])
        for ax, key, label in (
            (axes[0], "total", f"n = {w}"),
            (axes[1], "topk", f"n = {w}: {d['kappa_label']}"),
        ):
            y = np.where(np.isfinite(d[key]), d[key], np.nan)
            ax.plot(nu, y, "o-", ms=3, color=c, label=label)
            if np.any(np.isfinite(y)):
                i = int(np.nanargmin(y))
                ax.plot(nu[i], y[i], "*", ms=10, color=c, mec="k", mew=0.5)
    axes[0].set_title(r"total loss $\varphi_n(\nu)$")
    axes[1].set_title(r"top-$\kappa_n$ loss $\varphi_n^{\kappa_n}(\nu)$")
    for ax in axes:
        lr_axis(ax, np.exp(np.concatenate([d["hp"] for d in data["widths"].values()])))
    axes[0].set_ylabel("final loss")
    axes[0].legend(title=f"{data['setting']}; stars: argmin")
    axes[1].legend(
        title=rf"$\kappa_n$ (fixed $\kappa$: {data['kappa_rule']})",
        title_fontsize=6.5,
        fontsize=6.5,
    )
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

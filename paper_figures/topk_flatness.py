"""Residual flatness near the top-kappa minimisers (the paper's Figure 9; Hypothesis 1's third
condition): for each width n < n_max the final residual phi_n^{-kappa}(nu) =
phi_n(nu) - phi_n^{kappa(nu)}(nu) against the learning rate at kappa = Algorithm 1's
kappa_hat(n, nu), beside the reference phi_nmax^{-kappa}(nu) at the same truncation (the
pair Algorithm 1's J_proxy penalises the slopes of). Flatness holds when both curves are
flat between the top-kappa loss's minimiser and the total's: then the residual cannot
move the optimum the top-kappa part sets."""

from __future__ import annotations

from pathlib import Path

from fasttransfer.paper_figures.topk_curves import styled

NAME = "topk_flatness"
PRESETS = ("quick", "cpu", "paper")  # the presets its study has
CAPTION = (
    "Final residual phi_n^-kappa against the learning rate, one panel per width "
    "n < n_max, at Algorithm 1's kappa_hat(n, nu) (the stored fixed kappa where it "
    "fails, labelled), with the widest model's residual at the same kappa as the "
    "reference; triangles: argmin of the top-kappa loss, stars: argmin of the total."
)


def load(results_dir: Path, preset: str, setting: str = "mlp") -> dict:
    from fasttransfer.paper_figures.topk_curves import load_setting

    return from_frames(load_setting(results_dir, preset, setting), setting)


def from_frames(frames: dict, setting: str) -> dict:
    """Per width n < n_max ("panels"): hp (H,), kappa (H,) with its label, and for n and
    n_max at that kappa the seed-mean residual and top-kappa loss (H,) and total (H,),
    plus the stored decomposition rate row (J at kappa_hat, b_n) when there is one."""
    from fasttransfer.paper_figures.topk_curves import at_k, kappa_vector, seed_mean

    kap = frames["kappa"]
    prof = seed_mean(frames["profile"], ["width", "hp", "k"], ["topk", "residual"])
    total = seed_mean(frames["final"], ["width", "hp"], ["loss"])["loss"]
    widths = sorted(int(w) for w in total.index.get_level_values(0).unique())
    ref = widths[-1]
    rate = {int(r["width"]): r for r in kap.get("rate", [])}
    panels = {}
    for w in widths[:-1]:
        hp = total.loc[w].index.to_numpy()
        kv, label = kappa_vector(kap, w, hp)
        side = {}
        for who, n in (("n", w), ("ref", ref)):
            side[who] = {
                "residual": at_k(prof, n, hp, kv, "residual"),
                "topk": at_k(prof, n, hp, kv, "topk"),
                "total": total.loc[n].reindex(hp).to_numpy(),
            }
        panels[w] = {
            "hp": hp,
            "kappa": kv,
            "kappa_label": label,
            **side,
            "found": kap["kappa_hat"].get(str(w)) is not None,
            "rate": rate.get(w),
        }
    return {
        "setting": setting,
        "n_max": ref,
        "panels": panels,
        "rank_bounded": bool(kap.get("rank_bounded", False)),
    }


def _argmin(y):
    """Grid argmin of the finite entries, or None."""
    import numpy as np

    fin = np.isfinite(y)
    return int(np.flatnonzero(fin)[np.argmin(y[fin])]) if fin.any() else None


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2g}"


@styled
def plot(data):
    import math

    import numpy as np
    from matplotlib.lines import Line2D

    from fasttransfer.paper_figures.style import colors, new_figure
    from fasttransfer.paper_figures.topk_curves import lr_axis

    widths = sorted(data["panels"])
    # one width only: an empty panel (no reference); four: 2 x 2
    ncols = 2 if len(widths) == 4 else max(min(len(widths), 3), 1)
    nrows = max(math.ceil(len(widths) / ncols), 1)
    fig, axes = new_figure(ncols, nrows, width=3.1 * ncols, height=2.5)
    marks = (("topk", "v"), ("total", "*"))
    for ax, c, w in zip(axes, colors(len(widths)), widths, strict=False):
        d = data["panels"][w]
        nu = np.exp(d["hp"])
        for who, color, ls, name in (
            ("n", c, "-", f"n = {w}"),
            ("ref", "k", "--", f"n_max = {data['n_max']}"),
        ):
            s = d[who]
            ax.plot(nu, s["residual"], ls, marker="o", ms=2.5, color=color, label=name)
            for key, mark in marks:
                i = _argmin(s[key])
                if i is not None and np.isfinite(s["residual"][i]):
                    ax.plot(
                        nu[i],
                        s["residual"][i],
                        mark,
                        ms=9,
                        color=color,
                        mec="k",
                        mew=0.5,
                        ls="none",
                    )
        ax.axhline(0.0, color="0.6", lw=0.6)
        lr_axis(ax, nu)
        ax.set_ylabel(r"final residual $\varphi^{-\kappa}(\nu)$")
        r = d["rate"] or {}
        stats = [rf"$J(\hat\kappa)$ = {_fmt(r.get('J_kappa_hat'))}"] if d["found"] and r else []
        stats += [rf"$b_n$ = {_fmt(r.get('b_n'))}"] if r else []
        ax.set_title("; ".join([f"n = {w}, " + d["kappa_label"], *stats]), fontsize=7)
        ax.legend(fontsize=6, loc="best")
    for ax in axes[len(widths) :]:
        ax.set_visible(False)
    key = [
        Line2D(
            [],
            [],
            ls="none",
            marker="v",
            ms=8,
            color="0.5",
            mec="k",
            mew=0.5,
            label=r"grid argmin of the top-$\kappa$ loss $\varphi^{\kappa}$",
        ),
        Line2D(
            [],
            [],
            ls="none",
            marker="*",
            ms=9,
            color="0.5",
            mec="k",
            mew=0.5,
            label=r"grid argmin of the total $\varphi$",
        ),
        Line2D([], [], ls="--", color="k", label=r"n_max (reference) at the same $\kappa$"),
    ]
    fig.legend(handles=key, loc="outside lower center", ncols=3, fontsize=7)
    note = (
        "\nrank-bounded spectrum: the residual at K_max is zero up to rounding, "
        "flatness is not testable here"
        if data.get("rank_bounded")
        else ""
    )
    fig.suptitle(
        rf"residual flatness near the top-$\kappa$ minimisers ({data['setting']}); "
        r"$b_n$ = |log $\nu^*(n)$ - log $\nu^*(n_{max})$| on the grid" + note,
        fontsize=8.5,
    )
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

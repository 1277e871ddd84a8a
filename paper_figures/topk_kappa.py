"""Algorithm 1's kappa_hat(n, nu) (the paper's Figure 10): against the learning rate for each width
n < n_max (left), and against the width at a few learning rates (right). The paper finds
kappa_hat roughly constant across learning rates and growing sublinearly with n. Widths
where Algorithm 1 fails are drawn as Fail (crosses), not as a value; kappa_hat is not
defined at n_max, the reference it is measured against."""

from __future__ import annotations

from pathlib import Path

from fasttransfer.paper_figures.topk_curves import styled

NAME = "topk_kappa"
PRESETS = ("quick", "cpu", "paper")  # the presets its study has
CAPTION = (
    "Algorithm 1's kappa_hat(n, nu) against the learning rate per width (left) and "
    "against the width at the widest model's best learning rate and two grid steps "
    "either side (right; dotted: min(n/2, K_max), where MinimizeProxy starts; "
    "dashed: K_max); crosses: Fail."
)
STEPS_AROUND = 2  # the right panel's LRs: nu*(n_max) and this many grid steps either side


def load(results_dir: Path, preset: str, setting: str = "mlp") -> dict:
    from fasttransfer.paper_figures.topk_curves import load_setting

    return from_frames(load_setting(results_dir, preset, setting), setting)


def from_frames(frames: dict, setting: str) -> dict:
    """kappa_hat per width n < n_max ({"hp", "kappa"} or None on Fail, with the stored
    reason), the widths, K_max, and the learning rates of the right panel (grid points of
    the total's grid: the grid argmin of n_max's seed-mean total and STEPS_AROUND steps
    either side, where the grid has them)."""
    import numpy as np

    from fasttransfer.paper_figures.topk_curves import best_hp

    kap = frames["kappa"]
    final = frames["final"]
    grid = np.sort(final["hp"].unique())
    widths = sorted(int(w) for w in final["width"].unique())
    best = best_hp(final)
    i = int(np.argmin(np.abs(grid - best[widths[-1]]))) if widths[-1] in best else len(grid) // 2
    picks = sorted({min(max(i + d, 0), len(grid) - 1) for d in (-STEPS_AROUND, 0, STEPS_AROUND)})
    per = {}
    for w in widths[:-1]:
        ks = kap["kappa_hat"].get(str(w))
        per[w] = (
            None
            if ks is None
            else {
                "hp": np.asarray(kap["kappa_hat_hp"][str(w)], float),
                "kappa": np.asarray(ks, float),
            }
        )
    return {
        "setting": setting,
        "widths": widths,
        "kappa_hat": per,
        "fail_reason": {int(w): r for w, r in kap.get("fail_reason", {}).items()},
        "k_max": int(kap["k_max"]),
        "lrs": [float(grid[j]) for j in picks],
        "grid": grid,
        "best_ref": float(grid[i]),
        "rank_bounded": bool(kap.get("rank_bounded", False)),
    }


def _at(entry, hp: float) -> float:
    """kappa_hat at grid point hp (NaN where Algorithm 1 left the column out)."""
    import numpy as np

    hit = np.flatnonzero(np.abs(entry["hp"] - hp) < 1e-9)
    return float(entry["kappa"][hit[0]]) if len(hit) else float("nan")


def _short(reason: str) -> str:
    """The stored Fail reason without its preamble (the gates' best values)."""
    return reason.split("pairs: ", 1)[-1].rstrip(")") if "pairs: " in reason else reason


@styled
def plot(data):
    import math

    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter
    from matplotlib.transforms import blended_transform_factory

    from fasttransfer.paper_figures.style import colors, new_figure
    from fasttransfer.paper_figures.topk_curves import lr_axis

    fig, (left, right) = new_figure(2, 1, width=7.6, height=3.1)
    below = data["widths"][:-1]
    failed = [w for w in below if data["kappa_hat"][w] is None]
    kmax = data["k_max"]

    # left: kappa_hat(n, nu) against nu, one curve per width; Fail as a legend entry
    for c, w in zip(colors(len(below)), below, strict=False):
        e = data["kappa_hat"][w]
        if e is None:
            left.plot([], [], "x", color=c, label=f"n = {w}: Fail")
        else:
            left.plot(np.exp(e["hp"]), e["kappa"], "o-", ms=3.5, color=c, label=f"n = {w}")
    left.axhline(kmax, color="0.4", ls="--", lw=0.8, label=f"K_max = {kmax}")
    nu = np.exp(data["grid"])
    lr_axis(left, nu)
    left.set_xlim(nu[0] / 1.5, nu[-1] * 1.5)  # the whole grid, also when every width fails
    left.set_ylim(-0.05 * kmax, 1.1 * kmax)
    left.set_ylabel(r"$\hat\kappa(n, \nu)$ (kept per layer)")
    left.set_title(
        rf"$\hat\kappa$ against $\nu$ ({data['setting']}; reference "
        rf"$n_{{max}}$ = {data['widths'][-1]})"
    )
    left.legend(fontsize=6.5, loc="upper left")
    if failed:
        text = "\n".join(f"n = {w}: {_short(data['fail_reason'].get(w, 'Fail'))}" for w in failed)
        if data.get("rank_bounded"):
            text += "\n(rank-bounded spectrum: Hypothesis 1 not testable here)"
        left.text(
            0.98,
            0.5,
            "Algorithm 1 Fail; best of each gate over all tau pairs:\n" + text,
            transform=left.transAxes,
            fontsize=5.5,
            ha="right",
            va="center",
            color="0.2",
            bbox={"fc": "white", "ec": "0.7", "alpha": 0.9},
        )

    # right: kappa_hat against n at a few learning rates; Fail as crosses on the axis
    n = np.asarray(below, float)
    for c, hp in zip(colors(len(data["lrs"])), data["lrs"], strict=False):
        y = np.array(
            [
                np.nan if data["kappa_hat"][w] is None else _at(data["kappa_hat"][w], hp)
                for w in below
            ]
        )
        if np.any(np.isfinite(y)):
            star = r" = $\nu^*(n_{max})$" if abs(hp - data["best_ref"]) < 1e-9 else ""
            right.plot(n, y, "o-", ms=4, color=c, label=rf"$\nu$ = {math.exp(hp):.2g}{star}")
    if failed:
        bottom = blended_transform_factory(right.transData, right.transAxes)
        right.plot(
            failed,
            [0.04] * len(failed),
            "x",
            ms=8,
            mew=1.5,
            color="k",
            transform=bottom,
            label="Algorithm 1 Fail",
        )
    if len(n):
        right.plot(
            n,
            np.minimum(n / 2, kmax),
            ":",
            color="0.4",
            label="MinimizeProxy start min(n/2, K_max)",
        )
    right.axhline(kmax, color="0.4", ls="--", lw=0.8, label=f"K_max = {kmax}")
    right.set_xscale("log", base=2)
    right.set_yscale("symlog", linthresh=1.0)  # kappa_hat = 0 is a possible answer
    right.yaxis.set_major_locator(FixedLocator([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]))
    right.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    right.set_ylim(-0.3, 1.5 * kmax)
    right.set_xlabel("width n")
    right.set_ylabel(r"$\hat\kappa(n, \nu)$")
    right.set_title(r"$\hat\kappa$ against n at fixed $\nu$ (paper: sublinear in n)")
    right.legend(fontsize=6.5, loc="center right")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

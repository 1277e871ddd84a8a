"""The top-k profile phi_n^k versus k at each width's best learning rate, with Algorithm
1's kappa_hat(n) (the published algorithm, a per-learning-rate vector) marked at that
learning rate (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

NAME = "topk_profile"
CAPTION = ("Top-k final loss phi_n^k against k at each width's best learning rate; circles "
           "mark Algorithm 1's kappa_hat(n) at that learning rate (none where it fails and "
           "at the widest width, the reference).")


def load(results_dir: Path, preset: str, setting: str = "mlp") -> dict:
    from fasttransfer.paper_figures.topk_curves import best_hp, load_setting

    frames = load_setting(results_dir, preset, setting)
    kap = frames["kappa"]
    best = best_hp(frames["final"])

    def khat_at(w: int, hp: float) -> float:
        """kappa_hat(w) at grid point hp: NaN on Fail, at n_max or off its grid."""
        ks, hps = kap["kappa_hat"].get(str(w)), kap["kappa_hat_hp"].get(str(w), [])
        hit = [i for i, x in enumerate(hps) if abs(x - hp) < 1e-9]
        return float(ks[hit[0]]) if ks is not None and hit else float("nan")

    prof = frames["profile"]
    widths = {}
    for w, hp in best.items():
        g = prof[(prof["width"] == w) & (prof["hp"] == hp)].groupby("k")["topk"].mean()
        widths[w] = {"k": g.index.to_numpy(), "topk": g.to_numpy(), "kappa_hat": khat_at(w, hp)}
    return {"setting": setting, "widths": widths}


def plot(data):
    import math

    import numpy as np

    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(1, 1, width=3.6, height=2.8)
    ax = axes[0]
    widths = sorted(data["widths"])
    for c, w in zip(colors(len(widths)), widths):
        d = data["widths"][w]
        ax.plot(d["k"], d["topk"], "-", color=c, label=f"n = {w}")
        kh = d["kappa_hat"]
        if kh is not None and math.isfinite(kh):
            i = int(np.searchsorted(d["k"], kh))
            ax.plot(d["k"][i], d["topk"][i], "o", ms=6, mfc="none", color=c)
    ax.set_xlabel("k (eigenvalues kept per layer)")
    ax.set_ylabel(r"top-k loss $\varphi_n^k$ at $\nu^*(n)$")
    ax.set_title(rf"top-k profile ({data['setting']}); o = $\hat\kappa(n)$")
    ax.legend()
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.topk_curves import setting_main

    return setting_main(argv, name=NAME, caption=CAPTION, load=load, plot=plot)


if __name__ == "__main__":
    raise SystemExit(main())

"""Figure 5b of the paper: convergence of the optimal loss phi_star(n) and the optimal
learning rate nu_star(n) of the two-layer ReLU net under muP, with the fitted
three-parameter power laws (phi_inf + A n^-alpha, nu_inf + B n^-beta), the paper's own
fitted laws beside ours at the paper preset, and a_n, b_n on log-log axes (slopes
-alpha, -beta) with the SP optimum's drift for contrast."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

PRESETS = ("quick", "cpu", "paper")  # the presets its study has
NAME = "relu_rates"
CAPTION = (
    "Two-layer ReLU net: optimal validation loss and optimal log2 learning rate vs "
    "width with fitted power laws (the paper's fits beside ours at the paper "
    "preset), and the loss gap a_n and HP gap b_n on log-log axes."
)

# The paper's Figure 5b fits: phi*_n = 6.37 n^-0.742 + 0.108 and
# log2 eta*_n = -7.80 n^-0.388 - 6.78 (its LR units: the muP multipliers are not stated,
# so only the exponent beta, not the level, is comparable with ours).
PAPER = {
    "alpha": 0.742,
    "A": 6.37,
    "phi_inf": 0.108,
    "beta": 0.388,
    "B_log2": -7.80,
    "nu_inf_log2": -6.78,
}


def data_from(data: dict, analyses: dict) -> dict:
    """Plot data from relu_transfer's data and {param: SweepAnalysis}."""
    out = {}
    for p, a in analyses.items():
        out[p] = {
            "per_width": a.per_width.copy(),
            "alpha": a.alpha.estimate,
            "beta": a.beta.estimate,
            "A": a.A.estimate,
            "B": a.B.estimate,
            "nu_inf": a.nu_inf.estimate,
            "phi_inf": a.phi_inf.estimate,
            "verdict": a.verdict,
            "d": a.beta_minus_half_alpha,
            "preset": data["configs"][p].preset,
        }
    return out


def load(results_dir: Path, preset: str) -> dict:
    """The stored sweeps (:func:`relu_transfer.load`) and their rate analyses."""
    from fasttransfer.paper_figures import relu_transfer
    from fasttransfer.theory.rates import analyze_sweep

    data = relu_transfer.load(results_dir, preset)
    analyses = {p: analyze_sweep(df, bootstrap=400, seed=0) for p, df in data["sweeps"].items()}
    return data_from(data, analyses)


def plot(data: dict):
    from fasttransfer.paper_figures.style import colors, new_figure

    fig, axes = new_figure(3, 1, width=3.4 * 3)
    ax_phi, ax_nu, ax_ab = axes
    cols = colors(4)
    m = data["mup"]
    pw = m["per_width"]
    n = pw.width.to_numpy(dtype=float)
    grid = np.geomspace(n.min(), n.max(), 60)
    paper = m.get("preset") == "paper"
    tag = "" if paper else f"\n({m.get('preset', '?')} preset: reduced regime)"

    ax_phi.errorbar(n, pw.phi_star, fmt="o", ms=3.5, color=cols[0], label=r"$\varphi^\star(n)$")
    if np.isfinite([m["phi_inf"], m["A"], m["alpha"]]).all():
        ax_phi.plot(
            grid,
            m["phi_inf"] + m["A"] * grid ** -m["alpha"],
            "-",
            lw=1.1,
            color=cols[0],
            label=rf"ours: {m['A']:.2f} $n^{{-{m['alpha']:.3f}}}$ + {m['phi_inf']:.3f}",
        )
    if paper:
        ax_phi.plot(
            grid,
            PAPER["phi_inf"] + PAPER["A"] * grid ** -PAPER["alpha"],
            "--",
            lw=1,
            color="0.4",
            label=r"paper: 6.37 $n^{-0.742}$ + 0.108",
        )
    ax_phi.set_xscale("log", base=2)
    ax_phi.set_xlabel("width $n$")
    ax_phi.set_ylabel(r"optimal validation loss $\varphi^\star(n)$")
    ax_phi.set_title("optimal loss" + tag)
    ax_phi.legend(loc="best")

    ln2 = math.log(2.0)
    for c, p, label in ((cols[1], "mup", "muP"), (cols[2], "sp", "SP (contrast)")):
        if p not in data:
            continue
        q = data[p]["per_width"]
        se = q["nu_star_se"].to_numpy() / ln2 if "nu_star_se" in q else None
        ax_nu.errorbar(
            q.width,
            q.nu_star / ln2,
            yerr=se,
            fmt="o",
            ms=3.5,
            capsize=2,
            color=c,
            label=rf"{label}: $\log_2 \nu^\star(n)$",
        )
    if np.isfinite([m["nu_inf"], m["B"], m["beta"]]).all():
        ax_nu.plot(
            grid,
            (m["nu_inf"] + m["B"] * grid ** -m["beta"]) / ln2,
            "-",
            lw=1.1,
            color=cols[1],
            label=rf"ours: $\beta$ = {m['beta']:.3f}",
        )
    ax_nu.set_xscale("log", base=2)
    ax_nu.set_xlabel("width $n$")
    ax_nu.set_ylabel(r"$\log_2$ optimal learning rate")
    ax_nu.set_title(
        "optimal learning rate" + ("\n(paper: beta = 0.388, in its LR units)" if paper else tag)
    )
    ax_nu.legend(loc="best")

    for c, key, law, sym in (
        (cols[0], "a", (m["A"], m["alpha"]), r"\alpha"),
        (cols[3], "b", (m["B"], m["beta"]), r"\beta"),
    ):
        y = pw[key].to_numpy(dtype=float)
        ok = np.isfinite(y) & (y > 0)
        ax_ab.plot(n[ok], y[ok], "o", ms=4, color=c, label=f"${key}_n$")
        coef, expo = law
        if np.isfinite(coef) and np.isfinite(expo):
            ax_ab.plot(
                grid,
                abs(coef) * grid**-expo,
                "-",
                lw=1,
                color=c,
                label=rf"fit $\propto n^{{-{sym}}}$, ${sym}$ = {expo:.2f}",
            )
    ax_ab.set_xscale("log", base=2)
    ax_ab.set_yscale("log")
    ax_ab.set_xlabel("width $n$")
    ax_ab.set_ylabel(r"$a_n$ (loss gap), $b_n$ (HP gap)")
    d = m["d"]
    ax_ab.set_title(
        rf"muP: $\beta-\alpha/2$ = {d.estimate:.2f}" + "\n"
        f"95% CI [{d.ci[0]:.2f}, {d.ci[1]:.2f}]: {m['verdict']}"
        + ("\npaper: 0.388 - 0.742/2 = 0.017 (weak)" if paper else "")
    )
    ax_ab.legend(loc="best")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import results_main

    return results_main(argv, name=NAME, caption=CAPTION, make=lambda r, p: plot(load(r, p)))


if __name__ == "__main__":
    raise SystemExit(main())

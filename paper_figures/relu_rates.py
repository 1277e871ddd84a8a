"""Figure: the rates of the two-layer ReLU sweep: nu_star(n) vs width (muP and SP, with
bootstrap error bars and the muP extrapolation nu_star(inf)), and a_n, b_n vs width on
log-log axes with the fitted power laws (slopes -alpha, -beta) for muP."""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAME = "relu_rates"
CAPTION = ("Two-layer ReLU net: fitted optimal log learning rate nu_star(n) under muP and "
           "SP, and the muP loss gap a_n and HP gap b_n with fitted power laws.")


def data_from(data: dict, analyses: dict) -> dict:
    """Plot data from relu_transfer's data and {param: SweepAnalysis}."""
    out = {}
    for p, a in analyses.items():
        out[p] = {
            "per_width": a.per_width.copy(),
            "alpha": a.alpha.estimate, "beta": a.beta.estimate,
            "A": a.A.estimate, "B": a.B.estimate, "nu_inf": a.nu_inf.estimate,
            "verdict": a.verdict, "d": a.beta_minus_half_alpha,
        }
    return out


def load(results_dir: Path, preset: str, *, log=print, configs=None) -> dict:
    from paper_figures import relu_transfer
    from theory.rates import analyze_sweep

    data = relu_transfer.load(results_dir, preset, log=log, configs=configs)
    boot = 400
    analyses = {p: analyze_sweep(df, bootstrap=boot, seed=0) for p, df in data["sweeps"].items()}
    return data_from(data, analyses)


def plot(data: dict):
    from paper_figures.style import colors, new_figure

    fig, (ax0, ax1) = new_figure(2, 1)
    cols = colors(4)
    labels = {"mup": "muP", "sp": "SP"}
    for c, p in zip(cols, ("mup", "sp")):
        if p not in data:
            continue
        pw = data[p]["per_width"]
        se = pw["nu_star_se"].to_numpy() if "nu_star_se" in pw else None
        ax0.errorbar(pw.width, pw.nu_star, yerr=se, fmt="-o", ms=3, lw=1.1, capsize=2,
                     color=c, label=rf"{labels[p]}: $\nu^\star(n)$")
    if "mup" in data and np.isfinite(data["mup"]["nu_inf"]):
        ax0.axhline(data["mup"]["nu_inf"], color=cols[0], ls=":", lw=1,
                    label=r"muP $\nu^\star(\infty)$ (fit)")
    ax0.set_xscale("log", base=2)
    ax0.set_xlabel("width $n$")
    ax0.set_ylabel(r"$\nu^\star(n)$ = log optimal LR")
    ax0.legend(loc="best")

    m = data["mup"]
    pw = m["per_width"]
    n = pw.width.to_numpy(dtype=float)
    grid = np.geomspace(n.min(), n.max(), 50)
    for c, key, law, sym in ((cols[2], "a", (m["A"], m["alpha"]), r"\alpha"),
                             (cols[3], "b", (m["B"], m["beta"]), r"\beta")):
        y = pw[key].to_numpy(dtype=float)
        ok = np.isfinite(y) & (y > 0)
        ax1.plot(n[ok], y[ok], "o", ms=4, color=c, label=f"${key}_n$")
        coef, expo = law
        if np.isfinite(coef) and np.isfinite(expo) and coef > 0:
            ax1.plot(grid, coef * grid**-expo, "-", lw=1, color=c,
                     label=rf"fit $\propto n^{{-{sym}}}$, ${sym}$ = {expo:.2f}")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("width $n$")
    ax1.set_ylabel(r"$a_n$ (loss gap), $b_n$ (HP gap)")
    d = m["d"]
    ax1.set_title(rf"muP: $\beta-\alpha/2$ = {d.estimate:.2f}" + "\n"
                  + f"95% CI [{d.ci[0]:.2f}, {d.ci[1]:.2f}]: {m['verdict']}")
    ax1.legend(loc="best")
    return fig


def main(argv=None) -> int:
    from paper_figures import relu_transfer
    from paper_figures.style import figure_main

    def options(p):
        p.add_argument("--results", type=Path, default=None, help="default: OUT/tiny_results")

    return figure_main(argv, name=NAME, caption=CAPTION, options=options,
                       make=lambda a: plot(load(a.results or a.out / "tiny_results", "tiny",
                                                configs=relu_transfer.tiny_configs(),
                                                log=lambda s: None)))


if __name__ == "__main__":
    raise SystemExit(main())

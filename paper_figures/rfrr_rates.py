"""Theorem 3 rates: loss gap a, HP gap b (in log lam) and transfer suboptimality c of
random-feature ridge regression versus the width psi1 on log-log axes, with the paper's
-1, -1, -2 guides and Monte Carlo points at finite d; and the convergence of a psi1,
b psi1 and c psi1^2 (the constants of the 1/psi1 expansion)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

NAME = "rfrr_rates"
CAPTION = ("Random-feature ridge regression: a, b, c versus width psi1 (log-log) with "
           "-1, -1, -2 guides and Monte Carlo points (left); a psi1, b psi1 and c psi1^2 "
           "converging to constants (right).")


def load(results_dir: Path | None, preset: str = "quick", config=None) -> dict:
    import tempfile

    from fasttransfer.simulations.rfrr import RFRRConfig, loglog_slopes, run_study

    config = config or RFRRConfig.preset(preset)
    out = Path(results_dir) / "rfrr" if results_dir is not None else Path(tempfile.mkdtemp())
    res = run_study(out, config, log=lambda m: None, progress=False)
    rates = res["rates"]
    inter = rates[rates.setting == "interior"].reset_index(drop=True)
    return {"rates": inter, "mc": res["mc_rates"], "slopes": loglog_slopes(inter),
            "d": config.mc_d, "psi2": config.rates.psi2}


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, (ax, ax2) = new_figure(2, 1)
        t = data["rates"][np.isfinite(data["rates"].psi1)]
        psi = t.psi1.to_numpy()
        cols = colors(3)
        names = {"a": r"$a$ (loss gap)", "b": r"$b$ ($|\log\lambda^\star(\psi_1)-\log\lambda^\star_\infty|$)",
                 "c": r"$c$ (transfer subopt.)"}
        guides = {"a": -1.0, "b": -1.0, "c": -2.0}
        for key, col in zip("abc", cols):
            y = t[key].to_numpy()
            ax.loglog(psi, y, "-", color=col, lw=1.4,
                      label=f"{names[key]}: slope {data['slopes'][key]:.3f}")
            # guide through the largest-psi1 point with the paper's slope
            ax.loglog(psi, y[-1] * (psi / psi[-1]) ** guides[key], ":", color=col, lw=1.0,
                      label=f"guide slope {guides[key]:g}")
            mc = data["mc"].dropna(subset=[key])
            mc = mc[mc[key] > 0]
            if len(mc):
                ax.errorbar(mc.psi1, mc[key], yerr=2 * mc[key + "_se"], fmt="s", color=col,
                            ms=4, mfc="none", capsize=2)
        ax.plot([], [], "ks", mfc="none", label=f"Monte Carlo, d={data['d']} (±2 s.e.)")
        ax.set_xlabel(r"width $\psi_1 = N/d$")
        ax.set_ylabel(r"$a$, $b$, $c$")
        ax.set_title(rf"$\psi_2={data['psi2']:g}$; slopes fitted on the 4 largest $\psi_1$")
        ax.legend(fontsize=6, loc="lower left")

        for key, col, lab in zip(("a_psi", "b_psi", "c_psi2"), cols,
                                 (r"$a\,\psi_1$", r"$b\,\psi_1$", r"$c\,\psi_1^2$")):
            ax2.semilogx(psi, t[key], "o-", color=col, ms=3, lw=1.2, label=lab)
        ax2.set_yscale("log")
        ax2.set_xlabel(r"width $\psi_1 = N/d$")
        ax2.set_ylabel(r"rescaled gaps")
        ax2.set_title(r"$a\psi_1$, $b\psi_1$, $c\psi_1^2$ converge")
        ax2.legend()
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.rfrr_risk import tiny_config
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument("--results", type=Path, default=None,
                       help="results directory (default: a fresh temporary one)")
        p.add_argument("--preset", choices=("quick", "paper"), default="quick")
        p.add_argument("--full", action="store_true", help="the preset's size, not the tiny run")

    return figure_main(argv, name=NAME, caption=CAPTION, options=options,
                       make=lambda a: plot(load(a.results, a.preset,
                                                None if a.full else tiny_config())))


if __name__ == "__main__":
    raise SystemExit(main())

"""Random-feature ridge regression (SPEC §4): excess risk R(psi1, psi2, lam) versus the
ridge penalty lam for several widths psi1 = N/d, with lam*(psi1) marked -- the
transfer picture of Theorem 3 -- and the Monte Carlo risks at finite d beside the
asymptotic curves."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.figure import Figure

NAME = "rfrr_risk"
CAPTION = ("Random-feature ridge regression: asymptotic excess risk versus the ridge penalty "
           "for several widths psi1 with the optimum lam*(psi1) marked (left), and Monte Carlo "
           "risks at finite d against the asymptotic curves (right).")


def tiny_config():
    """A seconds-sized configuration for smoke tests."""
    from fasttransfer.simulations.rfrr import RatesConfig, RFRRConfig

    return RFRRConfig(rates=RatesConfig(exponents=(2, 3, 4, 5), dps=30),
                      boundary=RatesConfig(F1=1.0, Fs=0.3, tau=0.1, exponents=(2, 3), dps=30),
                      curve_psi1=(1.0, 4.0, math.inf), curve_lams=(1e-3, 1e-2, 1e-1, 1.0),
                      mc_d=20, mc_psi1=(0.5, 4.0), mc_lams=(1e-2, 1e-1, 1.0),
                      mc_rates_psi1=(4.0, 8.0), mc_repeats=3, mc_targets=4, mc_n_test=300)


def load(results_dir: Path | None, preset: str = "quick", config=None) -> dict:
    """Stored study results (run_study computes what is missing) plus lam*(psi1) of each
    drawn curve by optimal_lambda."""
    import tempfile

    from fasttransfer.simulations.rfrr import RFRRConfig, optimal_lambda, run_study

    config = config or RFRRConfig.preset(preset)
    out = Path(results_dir) / "rfrr" if results_dir is not None else Path(tempfile.mkdtemp())
    res = run_study(out, config, log=lambda m: None, progress=False)
    rc = config.rates
    opt = {p1: optimal_lambda(p1, rc.psi2, F1=rc.F1, Fs=rc.Fs, tau=rc.tau,
                              activation=rc.activation) for p1 in config.curve_psi1}
    import numpy as np

    from fasttransfer.simulations.rfrr import asymptotic_risk

    mc = res["mc_summary"]
    lo, hi = float(mc.lam.min()), float(mc.lam.max())
    dense = np.geomspace(lo, hi, 41)
    mc_curves = {p1: (dense, np.array([asymptotic_risk(p1, rc.psi2, lam, F1=rc.F1, Fs=rc.Fs,
                                                       tau=rc.tau, activation=rc.activation)
                                       for lam in dense]))
                 for p1 in sorted(mc[mc.study == "agreement"].psi1.unique())}
    return {"curves": res["risk_curves"], "mc": mc, "mc_curves": mc_curves, "opt": opt,
            "psi2": rc.psi2, "setting": (rc.F1, rc.Fs, rc.tau), "d": config.mc_d}


def _label(p1: float) -> str:
    return r"$\psi_1=\infty$" if math.isinf(p1) else rf"$\psi_1={p1:g}$"


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt
    import numpy as np

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, (ax, ax2) = new_figure(2, 1)
        curves = data["curves"]
        psi1s = sorted(curves.psi1.unique())
        cols = colors(len(psi1s))
        for p1, col in zip(psi1s, cols):
            c = curves[curves.psi1 == p1].sort_values("lam")
            ax.plot(c.lam, c.risk, "-", color=col, lw=1.3, label=_label(p1))
            lam_s, r_s = data["opt"][p1]
            if lam_s > 0 and np.isfinite(lam_s):
                ax.plot([lam_s], [r_s], "o", color=col, ms=5, mec="k", mew=0.5)
        ax.set_xscale("log")
        # the interpolation peak (psi1 = psi2, lam -> 0) would dwarf the minima otherwise
        ax.set_ylim(0.9 * curves.risk.min(), 1.5 * curves[curves.psi1 == psi1s[-1]].risk.max())
        ax.set_xlabel(r"ridge penalty $\lambda$")
        ax.set_ylabel(r"excess risk $R(\psi_1, \psi_2, \lambda)$")
        F1, Fs, tau = data["setting"]
        ax.set_title(rf"$\psi_2={data['psi2']:g}$, $F_1={F1:g}$, $F_\star={Fs:g}$, "
                     rf"$\tau={tau:g}$; dots: $\lambda^\star(\psi_1)$")
        ax.legend(loc="upper left", ncol=2)

        mc = data["mc"][data["mc"].study == "agreement"]
        mpsi = sorted(mc.psi1.unique())
        for i, (p1, col) in enumerate(zip(mpsi, colors(len(mpsi)))):
            m = mc[mc.psi1 == p1].sort_values("lam")
            lam_d, r_d = data["mc_curves"][p1]
            ax2.plot(lam_d, r_d, "-", color=col, lw=1.2, label=_label(p1) + " limit")
            ax2.errorbar(m.lam, m["mean"], yerr=2 * m["se"], fmt="o", color=col, ms=4,
                         mfc="none", capsize=2,
                         label=f"Monte Carlo, d={data['d']}" if i == 0 else None)
        ax2.set_xscale("log")
        ax2.set_xlabel(r"ridge penalty $\lambda$")
        ax2.set_ylabel(r"excess risk $R$")
        ax2.set_title(r"Monte Carlo ($\pm 2$ s.e.) vs asymptotic formula")
        ax2.legend(fontsize=6)
    return fig


def main(argv=None) -> int:
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

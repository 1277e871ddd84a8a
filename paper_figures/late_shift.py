"""An illustration of the estimator's blind spot, NOT the paper's Figure 2 (that one is
simulated: kindex_late_shift.py). The late-shift family (SPEC §3): the optimum sits
still up to width 8192 and only then moves to its limit at the weak rate
beta = alpha/2. A sweep that stops at 4096 sees a fixed optimum; the full sweep shows
the drift. Loss law: the paper's Llama law L = 3.137 + 13.16 n^-0.52; the drift is ours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "late_shift"
CAPTION = ("Illustration (synthetic family, not a simulation): the optimal HP is stable up to width 8192, then drifts at the weak "
           "rate beta = alpha/2; a sweep that stops at 4096 cannot tell this from fast transfer.")

SMALL = 128 * 2 ** np.arange(6)    # 128 .. 4096
FULL = 128 * 2 ** np.arange(11)    # 128 .. 131072
NOISE = 1e-3
SEEDS = 6


def family():
    from fasttransfer.theory.synthetic import LateShiftFamily

    return LateShiftFamily(phi_inf_star=3.137, A=13.16, alpha=0.52, kappa=0.2,
                           nu_inf=float(np.log(1e-2)), D=1.0, beta=0.26, shift_width=8192.0)


def load(results_dir: Path | None = None, preset: str = "quick", *,
         bootstrap: int | None = None) -> dict:
    """The exact nu_star(n), a_n, b_n and the analyses of a small and a full sweep
    (synthetic: ``results_dir`` is unused)."""
    from fasttransfer.theory.framework import finite_transfer_suboptimality
    from fasttransfer.theory.rates import analyze_sweep

    fam = family()
    boot = bootstrap if bootstrap is not None else (1000 if preset == "paper" else 200)
    grid = fam.nu_inf + np.linspace(-3.0, 4.5, 31)
    df = fam.sample_sweep(FULL, grid, seeds=SEEDS, noise=NOISE, rng=7)
    small = df[df.width <= SMALL.max()]
    n_line = np.geomspace(64, 2.0**18, 200)
    res = {"n_line": n_line, "nu_line": fam.nu_star(n_line) - fam.nu_inf,
           "b_line": fam.b(n_line), "a_line": fam.a(n_line), "shift_width": fam.shift_width,
           "alpha": fam.alpha, "beta": fam.beta,
           "c_line": fam.c_finite(FULL[0], n_line[n_line >= FULL[0]]),
           "n_c": n_line[n_line >= FULL[0]]}
    for name, sweep in (("small", small), ("full", df)):
        for ref in ("largest", "extrapolate"):
            an = analyze_sweep(sweep, bootstrap=boot, reference=ref)
            res[f"{name}_{ref}"] = {
                "widths": an.per_width.width.to_numpy(),
                "nu_star": an.per_width.nu_star.to_numpy() - fam.nu_inf,
                "nu_se": an.per_width.nu_star_se.to_numpy(),
                "b": an.per_width.b.to_numpy(),
                "beta": an.beta, "d": an.beta_minus_half_alpha, "verdict": an.verdict,
                "a": an.per_width.a.to_numpy(),
                # c_{m->N} with m = the smallest width: the quadratic model of each
                # width's fitted loss curve (above its minimum) at the proxy's optimum
                "c_proxy": finite_transfer_suboptimality(
                    lambda nu: 0.5 * an.per_width.curvature.to_numpy()
                    * (nu - an.per_width.nu_star.to_numpy()) ** 2,
                    an.per_width.nu_star.iloc[0], 0.0),
            }
    return res


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, (ax1, ax2) = new_figure(2, 1)
        c = colors(4)
        ax1.semilogx(data["n_line"], data["nu_line"], "-", color=c[0], lw=1.3,
                     label=r"exact $\nu^\star(n)-\nu_\infty$")
        f = data["full_extrapolate"]
        ax1.errorbar(f["widths"], f["nu_star"], yerr=1.96 * f["nu_se"], fmt="o", ms=3.5,
                     color=c[1], label=r"fitted $\hat\nu^\star(n)$ (6 seeds)")
        ax1.axvspan(data["n_line"][0], SMALL.max(), color=c[2], alpha=0.12,
                    label="small sweep (n $\\leq$ 4096)")
        ax1.axvline(data["shift_width"], color="k", lw=0.8, ls=":")
        ax1.set_xlabel("width $n$")
        ax1.set_ylabel(r"$\nu^\star(n) - \nu_\infty$")
        ax1.set_title("optimum stable up to n = 8192, then moving")
        ax1.legend(fontsize=6.5, loc="lower left")

        fl = data["full_extrapolate"]
        ax2.loglog(data["n_c"], data["c_line"], "-", color=c[0], lw=1.3,
                   label=r"exact $c_{128\to N}$")
        ax2.loglog(data["n_line"], data["a_line"], "--", color="0.4", lw=1,
                   label=r"exact $a_N$ (slope $-\alpha$=" + f"{data['alpha']:.2f})")
        keep = (fl["widths"] > fl["widths"][0]) & (fl["c_proxy"] > 0)
        ax2.loglog(fl["widths"][keep], fl["c_proxy"][keep], "o", ms=3.5, color=c[1],
                   label=r"estimated $c_{128\to N}$ (6 seeds)")
        ax2.axvspan(data["n_line"][0], SMALL.max(), color=c[2], alpha=0.12)
        ax2.set_ylim(1e-7, 10.0)  # below ~1e-7 the estimate is noise (vertex SE ~1e-3)
        ax2.set_ylabel(r"excess loss at width $N$")
        ax2.set_xlabel("target width $N$")
        lines = []
        for key, label in (("small_largest", "n$\\leq$4096, largest"),
                           ("small_extrapolate", "n$\\leq$4096, extrap."),
                           ("full_extrapolate", "full, extrap.")):
            r = data[key]
            lines.append(f"{label}: " + r"$\hat\beta$" + f"={r['beta'].estimate:.2f} -> {r['verdict']}")
        ax2.set_title("transfer from n = 128; truth: weak (" + r"$\beta=\alpha/2$" + ")")
        ax2.text(0.98, 0.02, "\n".join(lines), transform=ax2.transAxes, fontsize=6,
                 va="bottom", ha="right", bbox=dict(fc="white", ec="0.7", alpha=0.9))
        ax2.legend(fontsize=6, loc="upper left")
    return fig


def main(argv=None) -> int:
    from fasttransfer.paper_figures.style import figure_main

    def options(p):
        p.add_argument("--preset", choices=("quick", "paper"), default="quick")
        p.add_argument("--bootstrap", type=int, default=50, help="resamples (tiny run: 50)")

    return figure_main(argv, name=NAME, caption=CAPTION, options=options,
                       make=lambda a: plot(load(None, a.preset, bootstrap=a.bootstrap)))


if __name__ == "__main__":
    raise SystemExit(main())

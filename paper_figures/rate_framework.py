"""a_n, b_n, c_n versus width for a fast and a weak synthetic family (SPEC §1, §3):
the paper's Llama loss law L = 3.137 + 13.16 n^-0.52 with an HP drift of rate
beta = 0.75 (fast: c_n = o(a_n)) and beta = alpha/2 = 0.26 (weak: c_n ~ a_n).
Lines: the exact gaps of the family; markers: what ``analyze`` estimates from a noisy
7-width x 31-HP x 6-seed sweep of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

NAME = "rate_framework"
CAPTION = ("Loss gap a_n, HP gap b_n and transfer suboptimality c_n for the Llama loss law "
           "with a fast (beta=0.75) and a weak (beta=alpha/2) HP drift: exact (lines) and "
           "estimated from a noisy sweep (markers).")

WIDTHS = 128 * 2 ** np.arange(7)
NOISE = 1e-3
SEEDS = 6


def families():
    from fasttransfer.theory.synthetic import llama_family

    return {"fast": llama_family(0.75), "weak": llama_family(0.52 / 2)}


def load(results_dir: Path | None = None, preset: str = "quick", *,
         bootstrap: int | None = None) -> dict:
    """Exact gaps and the estimates from one sampled sweep per family (synthetic: no
    stored results needed; ``results_dir`` is unused)."""
    from fasttransfer.theory.rates import analyze_sweep

    boot = bootstrap if bootstrap is not None else (1000 if preset == "paper" else 200)
    out = {"widths": WIDTHS.astype(np.float64), "families": {}}
    for i, (name, fam) in enumerate(families().items()):
        grid = fam.nu_inf + np.linspace(-3.75, 3.75, 31)
        df = fam.sample_sweep(WIDTHS, grid, seeds=SEEDS, noise=NOISE, rng=100 + i)
        an = analyze_sweep(df, bootstrap=boot, seed=i)
        out["families"][name] = {
            "alpha": fam.alpha, "beta": fam.beta,
            "a": fam.a(WIDTHS), "b": fam.b(WIDTHS), "c": fam.c(WIDTHS),
            "a_hat": an.per_width.a.to_numpy(), "b_hat": an.per_width.b.to_numpy(),
            "c_hat": an.per_width.c.to_numpy(),
            "alpha_hat": an.alpha, "beta_hat": an.beta, "d_hat": an.beta_minus_half_alpha,
            "verdict": an.verdict,
        }
    return out


def plot(data: dict) -> Figure:
    import matplotlib.pyplot as plt

    from fasttransfer.paper_figures.style import RC, colors, new_figure

    with plt.rc_context(RC):
        fig, axes = new_figure(2, 1)
        n = data["widths"]
        cols = colors(3)
        for ax, (name, f) in zip(axes, data["families"].items()):
            slopes = {"a": f["alpha"], "b": f["beta"], "c": 2 * f["beta"]}
            sym = {"a": r"$a_n$", "b": r"$b_n$", "c": r"$c_n$"}
            hat = {"a": r"$\hat\alpha$", "b": r"$\hat\beta$", "c": r"$2\hat\beta$"}
            est = {"a": f["alpha_hat"].estimate, "b": f["beta_hat"].estimate,
                   "c": 2 * f["beta_hat"].estimate}
            for key, col in zip("abc", cols):
                ax.loglog(n, f[key], "-", color=col, lw=1.3,
                          label=f"{sym[key]} exact, slope -{slopes[key]:.2f}")
                ax.loglog(n, f[key + "_hat"], "o", color=col, ms=4, mfc="none",
                          label=f"{sym[key]} estimated, {hat[key]}={est[key]:.3f}")
            d = f["d_hat"]
            ax.set_title(f"{name}: " + r"$\beta$" + f"={f['beta']:.2f}, " + r"$\alpha$"
                         + f"={f['alpha']:.2f}; verdict {f['verdict']}\n"
                         + r"$\beta-\alpha/2$" + f" = {d.estimate:.3f} [{d.ci[0]:.3f}, {d.ci[1]:.3f}]")
            ax.set_xlabel("width $n$")
            ax.set_ylabel(r"$a_n$, $b_n$, $c_n$")
            ax.legend(fontsize=6, loc="lower left")
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

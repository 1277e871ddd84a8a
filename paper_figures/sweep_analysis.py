"""The ``fasttransfer analyze --plot`` figure: the seed-mean loss vs HP per width
(coloured by width, fitted optimum marked) beside a log-log panel of a_n, b_n, c_n with
the fitted power laws and their slopes. Not in the FIGURES registry: it draws a user's
sweep, not a paper figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import matplotlib.pyplot as plt

from fasttransfer.paper_figures.style import RC, colors, new_figure


def plot_analysis(df: pd.DataFrame, analysis) -> Figure:
    """df: the sweep (width, hp, loss, seed); analysis: a ``theory.rates.SweepAnalysis``."""
    with plt.rc_context(RC):
        return _plot(df, analysis)


def _plot(df: pd.DataFrame, analysis) -> Figure:
    fig, (ax_l, ax_r) = new_figure(2, 1)
    pw = analysis.per_width
    widths = pw.width.to_numpy()
    cols = colors(len(widths))
    finite = df[np.isfinite(df.loss)]
    mean = finite.groupby(["width", "hp"], sort=True).loss.mean().reset_index()
    for w, col, nu, phi in zip(widths, cols, pw.nu_star, pw.phi_star):
        g = mean[mean.width == w]
        ax_l.plot(g.hp, g.loss, "-", color=col, lw=1.2, label=f"n={w:g}")
        ax_l.plot([nu], [phi], marker="*", ms=9, color=col, mec="k", mew=0.5, ls="none")
    lo, top = float(pw.phi_star.min()), float(pw.phi_star.max())
    span = max(top - lo, 1e-3 * max(abs(top), 1e-12))
    ax_l.set_ylim(lo - 0.1 * span, top + 0.6 * span)
    ax_l.set_xlabel(r"HP $\nu$ (log scale-free HP)")
    ax_l.set_ylabel(r"loss $\varphi_n(\nu)$ (seed mean)")
    ax_l.set_title(r"loss vs HP; $\star$ = fitted optimum $\nu^\star(n)$")
    ax_l.legend(ncol=2, fontsize=6, loc="upper center", framealpha=0.8)

    n_line = np.geomspace(widths.min(), widths.max(), 50)
    al, be = analysis.alpha.estimate, analysis.beta.estimate
    curv = float(pw.curvature.iloc[-1])
    series = [
        ("a", r"$a_n$", cols[0], abs(analysis.A.estimate) * n_line**-al, fr"$\alpha$={al:.3f}"),
        ("b", r"$b_n$", cols[1 % len(cols)], abs(analysis.B.estimate) * n_line**-be,
         fr"$\beta$={be:.3f}"),
        ("c", r"$c_n$", cols[2 % len(cols)],
         0.5 * curv * analysis.B.estimate**2 * n_line ** (-2 * be), fr"$2\beta$={2 * be:.3f}"),
    ]
    if analysis.reference == "largest":
        sel = widths < widths.max()  # b = c = 0 at the reference width itself
    else:
        sel = np.ones(widths.size, dtype=bool)
    for key, label, col, fit, slope in series:
        vals = pw[key].to_numpy()
        keep = (sel if key != "a" else np.ones_like(sel)) & (vals > 0)
        ax_r.loglog(widths[keep], vals[keep], "o", color=col, ms=4,
                    label=f"{label}, fitted slope: -{slope}")
        ax_r.loglog(n_line, fit, "-", color=col, lw=1)
    ax_r.set_xlabel("width $n$")
    ax_r.set_ylabel(r"gap ($a_n$, $b_n$, $c_n$)")
    d = analysis.beta_minus_half_alpha
    ax_r.set_title(f"{analysis.verdict}: " + r"$\beta-\alpha/2$" +
                   f" = {d.estimate:.3f} [{d.ci[0]:.3f}, {d.ci[1]:.3f}]")
    ax_r.legend(fontsize=6.5)
    return fig

"""The ``fasttransfer analyze --plot`` figure, drawn for a person reading a sweep: the
seed-mean loss vs HP per width (a sequential colour map from narrow to wide when there
are many widths, width labels such as 214M, the fitted local parabola and its optimum),
beside a log-log panel of a_n, b_n and c_n (model and measured, each labelled) with the
fitted power laws and their slopes; the verdict and its first reasons are the title.
Under ``log_hp`` the HP axis shows the raw HP on a log scale. Not in the FIGURES
registry: it draws a user's sweep, not a paper figure."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.figure import Figure

from fasttransfer.paper_figures.style import OKABE_ITO, RC, new_figure

CATEGORICAL_MAX = 4  # more widths than this: a sequential colour map and a colour bar


def width_label(w: float) -> str:
    """A width as a person writes it: 8192, 131k, 214M, 1.5G (3 significant digits from
    100k on; smaller widths as they are)."""
    w = float(w)
    if abs(w) >= 1e5:
        w = float(f"{w:.3g}")  # round first: 999999 is 1M, not 1000k
    for unit, scale, start in (("G", 1e9, 1e9), ("M", 1e6, 1e6), ("k", 1e3, 1e5)):
        if abs(w) >= start:
            return f"{w / scale:.3g}{unit}"
    return f"{w:g}"


def width_colours(widths) -> list:
    """One colour per width: Okabe-Ito for a few, else a sequential map (viridis, its
    pale end cut) in log width, so the order of the widths reads off the colour."""
    n = len(widths)
    if n <= CATEGORICAL_MAX:
        return list(OKABE_ITO[:n])
    cmap = plt.get_cmap("viridis")
    pos = _log_positions(widths)
    return [cmap(0.9 * p) for p in pos]


def _log_positions(widths) -> np.ndarray:
    lw = np.log(np.asarray(widths, dtype=float))
    return (lw - lw.min()) / max(float(np.ptp(lw)), 1e-12)


def _width_ticks(widths, max_ticks: int = 6) -> list:
    """At most ``max_ticks`` of the widths, evenly spread in log width, first and last
    always: tick labels that cannot collide."""
    w = np.sort(np.asarray(widths, dtype=float))
    if w.size <= max_ticks:
        return list(w)
    idx = np.unique(np.round(np.linspace(0, w.size - 1, max_ticks)).astype(int))
    return list(w[idx])


def plot_analysis(df: pd.DataFrame, analysis, *, log_hp: bool = False) -> Figure:
    """df: the sweep (width, hp, loss, seed; hp the log HP); analysis: a
    ``theory.rates.SweepAnalysis``; log_hp: draw the raw HP (exp of hp) on a log axis."""
    with plt.rc_context(RC):
        return _plot(df, analysis, log_hp)


def _plot(df: pd.DataFrame, analysis, log_hp: bool) -> Figure:
    fig, (ax_l, ax_r) = new_figure(2, 1, height=3.3)
    _loss_panel(ax_l, fig, df, analysis, log_hp)
    _gap_panel(ax_r, analysis)
    fig.suptitle(_title(analysis), fontsize=8, ha="left", x=0.01)
    return fig


def _est(e) -> str:
    ci = f" [{e.ci[0]:.3f}, {e.ci[1]:.3f}]" if np.all(np.isfinite(e.ci)) else " (no interval)"
    return f"{e.estimate:.3f}{ci}"


def _title(analysis) -> str:
    head = (
        f"verdict: {analysis.verdict}  (beta - alpha/2 = {_est(analysis.beta_minus_half_alpha)}; "
        f"drift slope s = {_est(analysis.hp_drift)})"
    )
    reasons = list(getattr(analysis, "reasons", ()))[:2]
    body = [textwrap.shorten(r, 330, placeholder=" ...") for r in reasons]
    return "\n".join([head] + [line for r in body for line in textwrap.wrap("- " + r, 110)])


def _loss_panel(ax, fig, df, analysis, log_hp: bool) -> None:
    pw = analysis.per_width
    widths = pw.width.to_numpy()
    cols = width_colours(widths)
    kept = df[df.width.isin(widths) & np.isfinite(df.loss)]
    mean = kept.groupby(["width", "hp"], sort=True).loss.mean().reset_index()
    x_of = np.exp if log_hp else (lambda v: v)
    many = len(widths) > CATEGORICAL_MAX
    # zoom on the fits: the windows, widened by one window width on each side
    pad = float(np.max(pw.fit_hi - pw.fit_lo))
    x_lo, x_hi = float(pw.fit_lo.min()) - pad, float(pw.fit_hi.max()) + pad
    shown = mean[(mean.hp >= x_lo) & (mean.hp <= x_hi)]
    for (_, row), col in zip(pw.iterrows(), cols, strict=False):
        g = mean[mean.width == row.width]
        ax.plot(
            x_of(g.hp),
            g.loss,
            ".-",
            color=col,
            lw=0.7,
            ms=3,
            alpha=0.7,
            label=None if many else f"n = {width_label(row.width)}",
        )
        xs = np.linspace(row.fit_lo, row.fit_hi, 40)
        ax.plot(
            x_of(xs),
            row.phi_star + 0.5 * row.curvature * (xs - row.nu_star) ** 2,
            "--",
            color=col,
            lw=1.8,
        )
        ax.plot(
            [x_of(row.nu_star)],
            [row.phi_star],
            marker="*",
            ms=9,
            color=col,
            mec="k",
            mew=0.5,
            ls="none",
        )
    lo = float(pw.phi_star.min())
    top = max(float(pw.phi_star.max()), float(shown.loss.max()) if len(shown) else lo)
    span = max(top - lo, 1e-3 * max(abs(top), 1e-12))
    ax.set_ylim(lo - 0.08 * span, top + 0.05 * span)
    ax.set_xlim(x_of(max(x_lo, float(mean.hp.min()))), x_of(min(x_hi, float(mean.hp.max()))))
    if log_hp:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("HP (raw value, log scale)")
    else:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(6))
        ax.set_xlabel(r"HP $\nu$ (log of the scale-free HP)")
    ax.set_ylabel(r"loss $\varphi_n(\nu)$ (seed mean)")
    ax.set_title(r"loss vs HP; - - fitted parabola, $\star$ optimum")
    if many:
        norm = mcolors.LogNorm(widths.min(), widths.max())
        cmap = mcolors.LinearSegmentedColormap.from_list(
            "widths", [plt.get_cmap("viridis")(0.9 * p) for p in np.linspace(0, 1, 64)]
        )
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, pad=0.01, fraction=0.05)
        cb.set_ticks(_width_ticks(widths))
        cb.ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: width_label(v)))
        cb.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        cb.ax.minorticks_off()
        cb.set_label("width n")
    else:
        ax.legend(fontsize=6.5, loc="upper center", framealpha=0.8, ncol=2)


def _gap_panel(ax, analysis) -> None:
    pw = analysis.per_width
    widths = pw.width.to_numpy()
    n_line = np.geomspace(widths.min(), widths.max(), 50)
    al, be = analysis.alpha.estimate, analysis.beta.estimate
    curv = float(pw.curvature.iloc[-1])
    n0 = widths.min()
    c_a, c_b, c_c = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]
    b0 = abs(analysis.B.estimate) * n0**-be
    series = [
        (
            "a",
            r"$a_n$",
            c_a,
            abs(analysis.A.estimate) * n_line**-al,
            f"slope {-al:.3f} " + r"($-\alpha$)",
        ),
        ("b", r"$b_n$", c_b, b0 * (n_line / n0) ** -be, f"slope {-be:.3f} " + r"($-\beta$)"),
        (
            "c",
            r"$c_n$ model $\varphi''_N b_n^2/2$",
            c_c,
            0.5 * curv * (b0 * (n_line / n0) ** -be) ** 2,
            f"slope {-2 * be:.3f} " + r"($-2\beta$)",
        ),
    ]
    # b = c = 0 at the reference width itself under --reference largest
    sel = widths < widths.max() if analysis.reference == "largest" else np.ones(widths.size, bool)
    for key, label, col, fit, slope in series:
        vals = pw[key].to_numpy()
        keep = (sel if key != "a" else np.ones_like(sel)) & (vals > 0) & np.isfinite(vals)
        ax.loglog(widths[keep], vals[keep], "o", color=col, ms=4, label=f"{label}: {slope}")
        if np.all(np.isfinite(fit)) and np.all(fit > 0):
            ax.loglog(n_line, fit, "-", color=col, lw=1)
    cm = pw.c_measured.to_numpy()
    keep = np.isfinite(cm) & (cm > 0)
    ax.loglog(
        widths[keep],
        cm[keep],
        "s",
        color=OKABE_ITO[3],
        ms=4,
        mfc="none",
        label=r"$c_{m\to N}$ measured, $N$ = " + width_label(widths.max()),
    )
    ax.set_xlabel("width $n$")
    ax.set_ylabel(r"gap ($a_n$, $b_n$, $c_n$)")
    ax.set_xticks(_width_ticks(widths))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: width_label(v)))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_title("gaps vs width; lines: fitted power laws")
    ax.legend(fontsize=6, loc="best", framealpha=0.85)

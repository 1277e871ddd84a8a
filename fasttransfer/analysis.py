"""The result of :func:`fasttransfer.analyze_sweep` for Python callers: a
:class:`fasttransfer.theory.rates.SweepAnalysis` (alpha, beta, beta_minus_half_alpha,
hp_drift, verdict, reasons, per_width, ... and ``to_json_dict()``, its ``--json``) that
also carries the analysed sweep and gives ``summary()`` (the text ``fasttransfer
analyze`` prints) and ``plot()`` (its ``--plot`` figure). Owns no math.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fasttransfer.theory.rates import SweepAnalysis


@dataclass(frozen=True)
class SweepResult(SweepAnalysis):
    """An analysed sweep: every estimate of :class:`~fasttransfer.theory.rates.
    SweepAnalysis` (it is one), the validated ``sweep`` (width, hp, loss, seed) that was
    analysed, where it came from, and the report's views."""

    sweep: Any = None
    source: str = ""
    log_hp: bool = False

    @property
    def analysis(self) -> SweepAnalysis:
        """The estimates alone (the object itself: a SweepAnalysis)."""
        return self

    def summary(self) -> str:
        return format_report(self, source=self.source)

    def plot(self):
        """The loss-vs-HP and a_n, b_n, c_n figure (a matplotlib Figure)."""
        from fasttransfer.paper_figures.sweep_analysis import plot_analysis

        return plot_analysis(self.sweep, self, log_hp=self.log_hp)

    def __repr__(self) -> str:
        return (
            f"SweepResult(verdict={self.verdict!r}, beta - alpha/2 = "
            f"{_est(self.beta_minus_half_alpha)})"
        )


def analyze_sweep(
    sweep,
    *,
    log_hp: bool = False,
    reference: str = "extrapolate",
    bootstrap: int = 1000,
    seed: int = 0,
    window: int = 7,
    margin: float = 0.1,
    skip_bad_widths: bool = False,
    independent_cells: bool = False,
    divergence=None,
) -> SweepResult:
    """Estimate alpha, beta, beta - alpha/2 (95% intervals), the HP drift and the
    transfer verdict with its reasons of a width x HP sweep: ``sweep`` is a DataFrame
    (columns ``width, hp, loss[, seed][, init_loss]``; hp the log of the scale-free HP, or
    the HP itself with ``log_hp=True``) or the path of such a CSV. The other arguments
    are those of ``fasttransfer analyze`` (:func:`fasttransfer.theory.rates.
    analyze_sweep`; ``divergence`` a :class:`fasttransfer.theory.sweep_data.
    DivergenceRule`)."""
    from fasttransfer.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep as _analyze
    from fasttransfer.theory.sweep_data import log_of_hp, read_sweep, validate_sweep

    if isinstance(sweep, (str, Path)):
        df, source = read_sweep(sweep, log_hp=log_hp, check_widths=False), str(sweep)
    else:
        df, source = sweep.copy(), ""
        if log_hp:
            if "hp" not in df:
                raise InputError("log_hp: the sweep has no column 'hp'", param="log_hp")
            df["hp"] = log_of_hp(df["hp"])
        df = validate_sweep(df, check_widths=False)
    analysis = _analyze(
        df,
        reference=reference,
        bootstrap=bootstrap,
        seed=seed,
        window=window,
        margin=margin,
        skip_bad_widths=skip_bad_widths,
        independent_cells=independent_cells,
        divergence=divergence,
    )
    return SweepResult(
        **{f.name: getattr(analysis, f.name) for f in fields(analysis)},
        sweep=df,
        source=source,
        log_hp=log_hp,
    )


def format_report(analysis, source: str = "") -> str:
    """The text ``analyze`` prints (also used by checks that show an analysis); its last
    line is ``verdict: <word>``."""
    a = analysis
    boot = a.bootstrap > 0
    lines = [f"sweep: {source}"] if source else []
    lines.append(
        f"widths: {len(a.per_width)}  seeds: {a.n_seeds}  diverged runs (excluded): {a.diverged}  "
        f"reference: {a.reference}  quadratic window: {a.window} points"
    )
    if getattr(a, "divergence_rule", ""):
        cells = a.diverged_cells
        lines.append(
            f"divergence: {a.divergence_rule}; {len(cells)} cell(s) with a diverged run, "
            f"{sum(c['excluded'] for c in cells)} excluded (per cell: --json "
            "diverged_cells)"
        )
    if boot:
        lines.append(
            f"intervals (95%): {a.interval_method}; bootstrap over {a.bootstrap_kind}, "
            f"{a.bootstrap} resamples, {a.failed_resamples} failed"
        )
    else:
        lines.append("intervals: none (bootstrap 0): point estimates only, no verdict")
    lines.append("")
    lo_b, hi_b = a.phi_inf_bounds
    lines.append(
        f"  alpha            = {_est(a.alpha)}   (phi_star(n) = phi_inf + A n^-alpha; "
        f"phi_inf = {a.phi_inf.estimate:.6g} within [{lo_b:.4g}, {hi_b:.6g}], "
        f"A = {a.A.estimate:.4g}; Huber on {a.loss_residuals} residuals)"
    )
    hp_law = (
        "nu_star(n) = nu_inf + B n^-beta"
        if a.reference == "extrapolate"
        else "|nu_star(n) - nu_star(n_max)| = B n^-beta"
    )
    lines.append(
        f"  beta             = {_est(a.beta)}   ({hp_law}; nu_inf = "
        f"{a.nu_inf.estimate:.6g}, B = {a.B.estimate:.4g})"
    )
    lines.append(
        f"  beta - alpha/2   = {_est(a.beta_minus_half_alpha)}   (equivalence margin "
        f"+-{a.margin:g})"
    )
    dc = a.drift
    test = (
        ""
        if dc is None
        else f"; against the power law: likelihood-ratio p = {dc.p_value:.3g}, preferred: {dc.preferred}"
    )
    lines.append(
        f"  drift slope s    = {_est(a.hp_drift)}   (nu_star(n) = c + s ln n: LR* ~ n^s{test})"
    )
    if len(a.window_sensitivity) > 1:
        lines.append(
            "  window check     : beta - alpha/2 = "
            + ", ".join(
                f"{b - al / 2:.4f} ({k} pts)" for k, (al, b) in sorted(a.window_sensitivity.items())
            )
        )
    lines.append("")
    lines.extend(_table(a.per_width))
    if a.warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in a.warnings)
    lines.append("")
    lines.append("reasons:")
    lines.extend(f"  - {r}" for r in a.reasons)
    lines.append(f"verdict: {a.verdict}")
    return "\n".join(lines)


def _table(pw) -> list[str]:
    cols = [
        ("width", "width"),
        ("nu_star", "nu_star"),
        ("nu_star_se", "+- (se)"),
        ("phi_star", "phi_star"),
        ("a", "a"),
        ("b", "b"),
        ("c", "c model"),
        ("c_measured", "c_meas"),
        ("diverged", "diverged"),
    ]
    out = ["  " + "".join(f"{h:>12}" for _, h in cols)]
    for _, row in pw.iterrows():
        out.append(
            "  "
            + f"{row['width']:>12g}"
            + "".join(f"{_num(row[k]):>12}" for k, _ in cols[1:-1])
            + f"{int(row['diverged']):>12d}"
        )
    out.append(
        "  (a = |phi_star - phi_inf|, b = |nu_star - nu_inf|; c model = phi''_N/2 b^2 with "
        "the curvature of the widest curve N; c_meas = c_{m->N} = phi_N(nu_star(m)) - "
        "phi_star(N), measured on the widest width's curve)"
    )
    return out


def _num(x) -> str:
    x = float(x)
    return f"{x:.6g}" if x == x else "-"


def _est(e) -> str:
    if e.ci[0] == e.ci[0] and e.ci[1] == e.ci[1]:  # not NaN
        return f"{e.estimate:.4f} [{e.ci[0]:.4f}, {e.ci[1]:.4f}]"
    return f"{e.estimate:.4f} (no interval)"

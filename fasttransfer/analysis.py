"""The result of :func:`fasttransfer.analyze_sweep` for Python callers: the estimates of
:class:`fasttransfer.theory.rates.SweepAnalysis` (alpha, beta, beta_minus_half_alpha,
verdict, per_width, ... as attributes) plus ``summary()`` (the text ``fasttransfer
analyze`` prints), ``to_json_dict()`` (its ``--json``) and ``plot()`` (its ``--plot``
figure). Owns no math.
"""

from __future__ import annotations

from pathlib import Path


class SweepResult:
    """An analysed sweep. Attribute access falls through to the estimates."""

    def __init__(self, analysis, sweep, source: str = ""):
        self._analysis = analysis
        self._sweep = sweep
        self._source = source

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not an estimate (and no recursion before __init__)
            raise AttributeError(name)
        return getattr(self._analysis, name)

    @property
    def analysis(self):
        """The :class:`fasttransfer.theory.rates.SweepAnalysis` itself."""
        return self._analysis

    @property
    def sweep(self):
        """The validated sweep (width, hp, loss, seed) that was analysed."""
        return self._sweep

    def summary(self) -> str:
        return format_report(self._analysis, source=self._source)

    def to_json_dict(self) -> dict:
        return self._analysis.to_json_dict()

    def plot(self):
        """The loss-vs-HP and a_n, b_n, c_n figure (a matplotlib Figure)."""
        from fasttransfer.paper_figures.sweep_analysis import plot_analysis

        return plot_analysis(self._sweep, self._analysis)

    def __repr__(self) -> str:
        d = self._analysis.beta_minus_half_alpha
        return (f"SweepResult(verdict={self._analysis.verdict!r}, beta - alpha/2 = "
                f"{d.estimate:.4f} [{d.ci[0]:.4f}, {d.ci[1]:.4f}])")


def analyze_sweep(sweep, *, log_hp: bool = False, reference: str = "extrapolate",
                  bootstrap: int = 1000, seed: int = 0, window: int = 7) -> SweepResult:
    """Estimate alpha, beta, beta - alpha/2 (95% intervals) and the transfer verdict of a
    width x HP sweep: ``sweep`` is a DataFrame (columns width, hp, loss[, seed]; hp the
    log of the scale-free HP, or the HP itself with ``log_hp=True``) or the path of such
    a CSV. The other arguments are those of ``fasttransfer analyze``
    (:func:`fasttransfer.theory.rates.analyze_sweep`)."""
    import numpy as np

    from fasttransfer.theory.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep as _analyze
    from fasttransfer.theory.sweep_data import read_sweep, validate_sweep

    if isinstance(sweep, (str, Path)):
        df, source = read_sweep(sweep, log_hp=log_hp), str(sweep)
    else:
        df, source = sweep.copy(), ""
        if log_hp:
            if "hp" not in df or (np.asarray(df["hp"], dtype=float) <= 0).any():
                raise InputError("log_hp: column 'hp' must be > 0 to take its log",
                                 param="log_hp")
            df["hp"] = np.log(np.asarray(df["hp"], dtype=float))
        df = validate_sweep(df)
    return SweepResult(_analyze(df, reference=reference, bootstrap=bootstrap, seed=seed,
                                window=window), df, source)


def format_report(analysis, source: str = "") -> str:
    """The text ``analyze`` prints (also used by checks that show an analysis)."""
    a = analysis
    lines = []
    if source:
        lines.append(f"sweep: {source}")
    lines.append(
        f"widths: {len(a.per_width)}  seeds: {a.n_seeds}  diverged runs (excluded): {a.diverged}  "
        f"reference: {a.reference}  quadratic window: {a.window} points")
    lines.append(f"intervals (95%): {a.interval_method}; bootstrap over {a.bootstrap_kind}, "
                 f"{a.bootstrap} resamples")
    lines.append("")
    lines.append(f"  alpha            = {_est(a.alpha)}   (phi_star(n) = phi_inf + A n^-alpha; "
                 f"phi_inf = {a.phi_inf.estimate:.6g}, A = {a.A.estimate:.4g}; "
                 f"Huber on {a.loss_residuals} residuals)")
    hp_law = ("nu_star(n) = nu_inf + B n^-beta" if a.reference == "extrapolate"
              else "|nu_star(n) - nu_star(n_max)| = B n^-beta")
    lines.append(f"  beta             = {_est(a.beta)}   ({hp_law}; nu_inf = "
                 f"{a.nu_inf.estimate:.6g}, B = {a.B.estimate:.4g})")
    lines.append(f"  beta - alpha/2   = {_est(a.beta_minus_half_alpha)}")
    if len(a.window_sensitivity) > 1:
        lines.append("  window check     : beta - alpha/2 = " + ", ".join(
            f"{b - al / 2:.4f} ({k} pts)" for k, (al, b) in sorted(a.window_sensitivity.items())))
    lines.append("")
    cols = ("width", "nu_star", "phi_star", "a", "b", "c")
    lines.append("  " + "".join(f"{c:>13}" for c in cols))
    for _, row in a.per_width.iterrows():
        lines.append("  " + f"{row['width']:>13g}" + "".join(f"{row[c]:>13.6g}" for c in cols[1:]))
    lines.append("  (a = |phi_star - phi_inf|, b = |nu_star - nu_ref|, c = phi''/2 b^2 with the "
                 "curvature of the widest loss curve)")
    if a.warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in a.warnings)
    lines.append("")
    lines.append(f"verdict: {a.verdict}  (beta - alpha/2 = {_est(a.beta_minus_half_alpha)}; "
                 "fast: interval above 0; weak: contains 0 with beta > 0)")
    return "\n".join(lines)


def _est(e) -> str:
    return f"{e.estimate:.4f} [{e.ci[0]:.4f}, {e.ci[1]:.4f}]"

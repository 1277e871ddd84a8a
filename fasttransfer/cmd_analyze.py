"""``fasttransfer analyze SWEEP.csv``: alpha, beta, beta - alpha/2 with 95% intervals,
the per-width table (width, nu_star, phi_star, a, b, c) and the transfer verdict
(SPEC §7). The math lives in :mod:`theory.rates`; this module parses flags and prints."""

from __future__ import annotations

import argparse
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", type=Path, metavar="SWEEP.csv",
                   help="columns width,hp,loss[,seed] (hp = log of the scale-free HP, or "
                        "the HP itself with --log-hp); extra columns are ignored")
    p.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help="write the estimates, per-width table and verdict as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                   help="loss vs HP per width beside a log-log panel of a_n, b_n, c_n")
    p.add_argument("--bootstrap", type=_positive_int, default=1000, metavar="B",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0: none)")
    p.add_argument("--reference", choices=("largest", "extrapolate"), default="extrapolate",
                   help="nu_star(inf): fitted nu_inf + B n^-beta (extrapolate, default) or "
                        "the largest width (the paper's proxy; biased near n_max)")
    p.add_argument("--log-hp", action="store_true",
                   help="the hp column is the HP itself: take its natural log first")
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default 0)")
    p.add_argument("--window", type=int, default=7,
                   help="grid points in each local quadratic fit (>= 5, default 7)")


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


def run(args: argparse.Namespace) -> int:
    import json
    import os
    import tempfile

    from fasttransfer.theory.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep, read_sweep

    if args.window < 5:
        raise InputError(f"--window must be at least 5 (got {args.window})")
    df = read_sweep(args.sweep, log_hp=args.log_hp)
    analysis = analyze_sweep(df, reference=args.reference, bootstrap=args.bootstrap,
                             seed=args.seed, window=args.window)
    print(format_report(analysis, source=str(args.sweep)))
    if args.json is not None:
        out = Path(args.json)
        if out.parent and not out.parent.exists():
            raise InputError(f"--json: directory {out.parent} does not exist")
        fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", suffix=".json.tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(analysis.to_json_dict(), fh, indent=2)
        os.replace(tmp, out)
        print(f"json: {out}")
    if args.plot is not None:
        out = Path(args.plot)
        if out.parent and not out.parent.exists():
            raise InputError(f"--plot: directory {out.parent} does not exist")
        from fasttransfer.paper_figures.style import RC
        from fasttransfer.paper_figures.sweep_analysis import plot_analysis
        import matplotlib.pyplot as plt

        fig = plot_analysis(df, analysis)
        with plt.rc_context(RC):
            fig.savefig(out)
        plt.close(fig)
        print(f"plot: {out}")
    return 0

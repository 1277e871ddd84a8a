"""``fasttransfer analyze SWEEP.csv``: alpha, beta, beta - alpha/2 with 95% intervals,
the per-width table (width, nu_star, phi_star, a, b, c) and the transfer verdict
(SPEC §7). The math lives in :mod:`fasttransfer.theory.rates`, the text in
:mod:`fasttransfer.analysis`; this module parses flags and prints."""

from __future__ import annotations

from fasttransfer.theory.atomic import atomic_write_json

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


def run(args: argparse.Namespace) -> int:

    from fasttransfer.analysis import format_report
    from fasttransfer.theory.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.sweep_data import read_sweep

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
        atomic_write_json(out, analysis.to_json_dict())
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

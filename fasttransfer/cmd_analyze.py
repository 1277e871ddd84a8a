"""``fasttransfer analyze SWEEP.csv``: alpha, beta, beta - alpha/2 and the drift slope
with 95% intervals, the per-width table (width, nu_star, phi_star, a, b, c, c_{m->N})
and the transfer verdict with its reasons (SPEC §7). The math lives in
:mod:`fasttransfer.theory.rates`, the text in :mod:`fasttransfer.analysis`; this module
parses flags and prints."""

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


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", type=Path, metavar="SWEEP.csv",
                   help="columns width,hp,loss[,seed][,init_loss] (hp = log of the scale-free "
                        "HP, or the HP itself with --log-hp); extra columns are ignored")
    p.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help="write the estimates, per-width table, verdict and reasons as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                   help="loss vs HP per width beside a log-log panel of a_n, b_n, c_n")
    p.add_argument("--bootstrap", type=_positive_int, default=1000, metavar="B",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0: point "
                        "estimates only, no verdict)")
    p.add_argument("--reference", choices=("largest", "extrapolate"), default="extrapolate",
                   help="nu_star(inf): fitted nu_inf + B n^-beta (extrapolate, default) or "
                        "the largest width (the paper's proxy; biased near n_max)")
    p.add_argument("--log-hp", action="store_true",
                   help="the hp column is the HP itself: take its natural log first")
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default 0)")
    p.add_argument("--window", type=int, default=7,
                   help="grid points in each local quadratic fit (>= 5, default 7)")
    p.add_argument("--margin", type=_number, default=0.1,
                   help="equivalence margin of 'weak' for beta - alpha/2 and of a resolved "
                        "drift slope (default 0.1)")
    p.add_argument("--skip-bad-widths", action="store_true",
                   help="drop widths that cannot be fitted (non-convex, optimum on the grid "
                        "edge, too few points), one warning each, while >= 3 remain")
    p.add_argument("--independent-cells", action="store_true",
                   help="assert that the runs of a one-seed sweep are independent (no shared "
                        "initialisation or batches across HPs): allows a verdict from one seed")
    p.add_argument("--diverged-factor", type=_number, default=2.0, metavar="F",
                   help="a run above F x its width's best loss has diverged (default 2; 0 "
                        "turns this rule off; an init_loss column replaces it)")
    p.add_argument("--diverged-above", type=_number, default=None, metavar="X",
                   help="a run with a loss above X has diverged (default: no such threshold)")
    p.add_argument("--max-diverged-fraction", type=_number, default=0.0, metavar="Q",
                   help="exclude a (width, hp) cell when more than this fraction of its seeds "
                        "diverged (default 0: any)")


def run(args: argparse.Namespace) -> int:

    from fasttransfer.analysis import SweepResult
    from fasttransfer.theory.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.sweep_data import DivergenceRule, read_sweep

    if args.window < 5:
        raise InputError(f"--window must be at least 5 (got {args.window})")
    rule = DivergenceRule(factor=args.diverged_factor or None, above=args.diverged_above,
                          max_fraction=args.max_diverged_fraction)
    df = read_sweep(args.sweep, log_hp=args.log_hp, check_widths=False)
    for flag, out in (("--json", args.json), ("--plot", args.plot)):
        if out is not None and out.parent and not out.parent.exists():
            raise InputError(f"{flag}: directory {out.parent} does not exist")
    analysis = analyze_sweep(df, reference=args.reference, bootstrap=args.bootstrap,
                             seed=args.seed, window=args.window, margin=args.margin,
                             skip_bad_widths=args.skip_bad_widths,
                             independent_cells=args.independent_cells, divergence=rule)
    result = SweepResult(analysis, df, str(args.sweep), log_hp=args.log_hp)
    print(result.summary())
    if args.json is not None:
        atomic_write_json(args.json, analysis.to_json_dict())
        print(f"json: {args.json}")
    if args.plot is not None:
        import matplotlib.pyplot as plt

        from fasttransfer.paper_figures.style import RC

        fig = result.plot()
        with plt.rc_context(RC):
            fig.savefig(args.plot)
        plt.close(fig)
        print(f"plot: {args.plot}")
    return 0

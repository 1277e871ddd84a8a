"""``fasttransfer analyze SWEEP.csv``: alpha, beta, beta - alpha/2 and the drift slope
with 95% intervals, the per-width table (width, nu_star, phi_star, a, b, c, c_{m->N})
and the transfer verdict with its reasons (docs/paper-setups.md#command-line). The math lives in
:mod:`fasttransfer.theory.rates`, the text in :mod:`fasttransfer.analysis`; this module
parses flags and prints."""

from __future__ import annotations

import argparse

from fasttransfer.store import atomic_write_json


def run(args: argparse.Namespace) -> int:
    from fasttransfer.analysis import analyze_sweep
    from fasttransfer.errors import InputError
    from fasttransfer.theory.sweep_data import DivergenceRule

    if args.window < 5:
        raise InputError(f"--window must be at least 5 (got {args.window})")
    rule = DivergenceRule(
        factor=args.diverged_factor or None,
        above=args.diverged_above,
        max_fraction=args.max_diverged_fraction,
    )
    for flag, out in (("--json", args.json), ("--plot", args.plot)):
        if out is not None and out.parent and not out.parent.exists():
            raise InputError(f"{flag}: directory {out.parent} does not exist")
    # the public entry point, as a Python caller would use it (one reading path)
    result = analyze_sweep(
        args.sweep,
        log_hp=args.log_hp,
        reference=args.reference,
        bootstrap=args.bootstrap,
        seed=args.seed,
        window=args.window,
        margin=args.margin,
        skip_bad_widths=args.skip_bad_widths,
        independent_cells=args.independent_cells,
        divergence=rule,
    )
    analysis = result.analysis
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

"""``fasttransfer simulate rfrr``: the Theorem 3 study (SPEC §4) -- asymptotic risk
curves, the rates table of lam*, R*, a, b, c in psi1 (interior optimum and the boundary
contrast), Monte Carlo at finite d -- as tidy CSVs plus config.json in --out; resumable
(see simulations.rfrr.run_study). The relu-only flags are ignored here."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from fasttransfer.simulations.rfrr import RFRRConfig, run_study

    config = RFRRConfig.preset(args.preset)
    res = run_study(args.out, config, log=print,
                    progress=not getattr(args, "no_progress", False))
    rates = res["rates"]
    inter = rates[rates.setting == "interior"]
    print(f"rates ({len(inter)} psi1 values, interior optimum) and "
          f"{len(res['mc_points'])} Monte Carlo risks written to {args.out}")
    for name in ("config.json", "risk_curves.csv", "rates.csv", "mc_points.csv",
                 "mc_summary.csv", "mc_rates.csv"):
        print(f"  {args.out / name}")
    return 0

"""``fasttransfer figures``: every paper figure as PNG and PDF in --out, running the
quick-preset simulations a figure needs when their stored results are missing."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("results/figures"))
    p.add_argument("--results", type=Path, default=Path("results/verify/results"),
                   help="where simulation results are stored and reused (default: those "
                        "of `fasttransfer verify --out results/verify`)")
    p.add_argument("--preset", choices=("quick", "paper"), default="quick")
    p.add_argument("--only", default=None, help="comma-separated figure names")


def run(args: argparse.Namespace) -> int:
    from fasttransfer.paper_figures import FIGURES
    from fasttransfer.paper_figures.style import save
    from fasttransfer.theory.errors import InputError

    names = list(FIGURES)
    if args.only:
        names = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [n for n in names if n not in FIGURES]
        if unknown:
            raise InputError(f"--only: unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    for i, name in enumerate(names, 1):
        if importlib.util.find_spec(FIGURES[name]) is None:
            print(f"[{i}/{len(names)}] {name}: not implemented yet, skipped", flush=True)
            continue
        module = importlib.import_module(FIGURES[name])
        print(f"[{i}/{len(names)}] {name}", flush=True)
        paths = save(module.plot(module.load(args.results, args.preset)), args.out, name)
        print("    " + "  ".join(str(p) for p in paths), flush=True)
    return 0

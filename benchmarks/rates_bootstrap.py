"""Bootstrap speed of ``theory.rates.analyze_sweep``.

Our target: 1000 resamples of a 7-width x 31-HP x 6-seed sweep in about a
second. Prints per-phase wall and CPU times (best of ``--repeats``) and, as its last
line, a JSON object.

    python benchmarks/rates_bootstrap.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from fasttransfer.theory.rates import analyze_sweep
from fasttransfer.theory.synthetic import llama_family


def _best(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    p.add_argument("--resamples", type=int, default=1000)
    args = p.parse_args(argv)
    repeats = 3 if args.quick else 7

    fam = llama_family(0.75)  # the paper's loss law with a fast HP drift
    widths = 128 * 2 ** np.arange(7)
    grid = fam.nu_inf + np.linspace(-3.75, 3.75, 31)
    df = fam.sample_sweep(widths, grid, seeds=6, noise=1e-3, rng=1)
    analyze_sweep(df, bootstrap=10)  # warm caches

    no_boot = _best(lambda: analyze_sweep(df, bootstrap=0), repeats)
    boot = _best(lambda: analyze_sweep(df, bootstrap=args.resamples), repeats)
    print(f"sweep 7 widths x 31 HPs x 6 seeds = {len(df)} runs")
    print(f"point estimate only        : wall {no_boot[0]:.3f} s, cpu {no_boot[1]:.3f} s")
    print(f"with {args.resamples} resamples     : wall {boot[0]:.3f} s, cpu {boot[1]:.3f} s")
    result = {
        "resamples": args.resamples,
        "runs": len(df),
        "wall_s_point_estimate": round(no_boot[0], 4),
        "wall_s_with_bootstrap": round(boot[0], 4),
        "cpu_s_with_bootstrap": round(boot[1], 4),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

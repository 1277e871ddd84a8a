"""Why the muP MLP's optimal learning rate drifts with width on MNIST-1D: the runs behind
docs/mlp_drift.md, into one folder (then committed to results_bank/runs/mlp_drift/).

1. The coordinate check of the MLP (:func:`simulations.mlp_mnist1d.coordinate_check`)
   under its muP and under the standard parametrisation, widths 64..1024, 10 Adam steps
   at nu = 10^-2.1 (the middle of the cpu preset's grid), 4 seeds: which layer's
   activations change with width.
2. Plain sweeps (no recorder; :func:`benchmarks.mnist1d_presets.measure`, the transfer
   analysis of the topk check on the raw iterate, a constant-decay EMA and the paper's
   warmed-up EMA) of the cpu preset changed in one thing at a time:

   * ``wide``: widths 16..512 (the cpu preset stops at 128), 8 seeds;
   * ``short`` / ``long``: 125 and 2000 steps instead of 500 (widths 16..256, 4 seeds);
   * ``wsd``: ``wide`` under the warmup-stable-decay schedule of the paper's transformer
     runs (4% warmup, 20% linear cooldown to 0) instead of a constant learning rate;

   each gives nu_star per width and the verdict at each evaluation point.

    python benchmarks/mlp_drift.py --out results/mlp_drift [--only coordcheck|sweeps]
        [--variants wide,long]

About 15 minutes on 2 cores. Every part is written as it finishes (a rerun skips the parts
already in ``--out``). The LAST printed line is JSON: the summary (also summary.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_ENABLE_X64", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

COORD_WIDTHS = (64, 128, 256, 512, 1024)
COORD = dict(steps=10, seeds=4, nu=10**-2.1)
# each variant: overrides of the cpu preset (benchmarks/mnist1d_presets.py's --set)
VARIANTS: dict[str, dict] = {
    "wide": dict(widths=(16, 23, 32, 64, 128, 256, 512), seeds=tuple(range(8)), transfer_seeds=()),
    "short": dict(
        widths=(16, 32, 64, 128, 256), seeds=tuple(range(4)), transfer_seeds=(), steps=125
    ),
    "long": dict(
        widths=(16, 32, 64, 128, 256), seeds=tuple(range(4)), transfer_seeds=(), steps=2000
    ),
    "wsd": dict(
        widths=(16, 23, 32, 64, 128, 256, 512),
        seeds=tuple(range(8)),
        transfer_seeds=(),
        warmup=0.04,
        cooldown=0.2,
    ),
}


def coordcheck_part(out: Path, log=print) -> dict:
    """Part 1: coordcheck.csv (param, width, t, module, l1, seed) and the per-(param,
    module, t) log-log slopes with their flags (coordcheck_slopes.csv)."""
    import pandas as pd

    from fasttransfer.simulations import coordcheck as cc
    from fasttransfer.simulations import mlp_mnist1d as M
    from fasttransfer.store import atomic_write_csv

    csv = out / "coordcheck.csv"
    if csv.exists():
        df = pd.read_csv(csv)
        log(f"coordcheck: reused {csv}")
    else:
        t0 = time.perf_counter()
        df = pd.concat(
            [M.coordinate_check(COORD_WIDTHS, param=p, **COORD) for p in ("mup", "sp")],
            ignore_index=True,
        )
        atomic_write_csv(csv, df, float_format="%.10g")
        log(f"coordcheck: {time.perf_counter() - t0:.1f}s")
    verdict = cc.criterion(cc.slopes(df))
    atomic_write_csv(out / "coordcheck_slopes.csv", verdict.table, float_format="%.6g")
    means = df.groupby(["param", "module", "t", "width"])["l1"].mean()
    last = int(df["t"].max())
    return {
        "widths": list(COORD_WIDTHS),
        **COORD,
        "mup_nothing_grows": verdict.mup_ok,
        "sp_output_grows": verdict.sp_output_grows,
        "slope_at_last_step": {
            f"{r.param}/{r.module}": [round(float(r.slope), 4), round(float(r.se), 4), r.flag]
            for r in verdict.table.itertuples()
            if r.t == last
        },
        "l1_at_last_step": {
            f"{p}/{m}": {int(w): round(float(v), 5) for w, v in means[(p, m, last)].items()}
            for p, m in sorted({(p, m) for p, m, _, _ in means.index})
        },
    }


def sweeps_part(out: Path, names, log=print) -> dict:
    """Part 2: one plain sweep per variant (final losses in <variant>.csv, the verdicts
    in <variant>.json)."""
    import mnist1d_presets

    found = {}
    for name in names:
        dest = out / f"{name}.json"
        if dest.exists():
            found[name] = json.loads(dest.read_text())
            log(f"sweep {name}: reused {dest}")
            continue
        res = mnist1d_presets.measure(
            "mlp", "cpu", VARIANTS[name], csv=str(out / f"{name}.csv"), log=log
        )
        res["overrides"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in VARIANTS[name].items()
        }
        from fasttransfer.store import atomic_write_json

        atomic_write_json(dest, res)
        found[name] = res
    return found


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", choices=("all", "coordcheck", "sweeps"), default="all")
    ap.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated subset of {', '.join(VARIANTS)}",
    )
    args = ap.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    bad = [v for v in names if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variant(s) {bad}; choose from {list(VARIANTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    import jax

    from fasttransfer.store import atomic_write_json, provenance

    t0 = time.perf_counter()
    summary: dict = {
        "provenance": {**provenance("benchmarks/mlp_drift.py"), "jax": jax.__version__}
    }
    if args.only in ("all", "coordcheck"):
        summary["coordcheck"] = coordcheck_part(args.out)
    if args.only in ("all", "sweeps"):
        summary["sweeps"] = {
            name: {
                "overrides": r["overrides"],
                "plain_s": round(r["plain_s"], 1),
                "verdicts": {
                    loss: {
                        k: v[k]
                        for k in (
                            "verdict",
                            "beta_minus_half_alpha",
                            "hp_drift_slope",
                            "nu_star",
                            "reasons",
                        )
                        if k in v
                    }
                    for loss, v in r["verdicts"].items()
                },
            }
            for name, r in sweeps_part(args.out, names).items()
        }
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(args.out / "summary.json", summary)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

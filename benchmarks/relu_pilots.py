"""The pilots of the ReLU counterexample and the k-index model (the paper's own runs at
its smallest widths, ``preset("pilot", ...)``) and their sensitivity study (each unstated
choice changed alone, :func:`~simulations.relu_config.sensitivity_configs`), into one
results folder; resumable (a finished width cell is never recomputed).

    python benchmarks/relu_pilots.py --out results             # everything (~90 min, 2 cores)
    python benchmarks/relu_pilots.py --out results --only pilots
    python benchmarks/relu_pilots.py --out results --studies relu

Then copy ``results/<study>/pilot/`` into ``results_bank/`` to commit the runs (their
manifests carry configuration, code version and provenance). The last printed line is
JSON: seconds per entry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def jobs(studies, only: str):
    from fasttransfer.simulations import relu_config

    out = []
    if only in ("all", "pilots"):
        out += [
            (f"{s}/pilot", relu_config.ReluSweepConfig.from_preset("pilot", "mup", s))
            for s in studies
        ]
    if only in ("all", "sensitivity"):
        out += [
            (f"{s}/pilot/{name}", cfg)
            for s in studies
            for name, cfg in relu_config.sensitivity_configs(s).items()
        ]
    return out


def main(argv=None) -> int:
    from fasttransfer.simulations import relu_config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--only", choices=("all", "pilots", "sensitivity"), default="all")
    p.add_argument("--studies", default=",".join(relu_config.STUDIES))
    args = p.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from fasttransfer.cli import configure_logging
    from fasttransfer.simulations import sweep

    configure_logging()  # the sweep's messages (reused widths, width done) on stderr

    studies = [s for s in args.studies.split(",") if s]
    bad = set(studies) - set(relu_config.STUDIES)
    if bad:
        p.error(f"unknown studies {sorted(bad)}; choose from {relu_config.STUDIES}")
    seconds = {}
    for label, cfg in jobs(studies, args.only):
        t0 = time.perf_counter()
        sweep.run_sweep(cfg, args.out, progress=sys.stderr.isatty())
        seconds[label] = round(time.perf_counter() - t0, 1)
        print(f"{label}: {seconds[label]} s", flush=True)
    print(json.dumps({"seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

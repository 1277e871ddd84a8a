"""``fasttransfer simulate relu``: the width x learning-rate x seed sweep of the two-layer
ReLU net (SPEC §5) into ``DIR/relu_sweep.csv`` (width,hp,loss,seed; hp = log nu) plus
``DIR/relu_sweep.json`` (the configuration); resumable per width.

Several processes (e.g. one per GPU host) run the same command against one shared --out
directory when these are set in each process's environment:

    FASTTRANSFER_COORDINATOR=host0:12355   # address of process 0, reachable by all
    FASTTRANSFER_NUM_PROCESSES=4
    FASTTRANSFER_PROCESS_ID=0..3

Each process then trains its share of the widths on its local devices.
"""

from __future__ import annotations

import argparse
import os


def config_from_args(args: argparse.Namespace):
    """The preset (``--preset``, ``--param``) with the flags that were given applied."""
    from fasttransfer.simulations import relu_config

    cfg = relu_config.preset(args.preset, getattr(args, "param", None) or "mup",
                       study=getattr(args, "study", None) or "relu")
    changes = {}
    if getattr(args, "widths", None):
        changes["widths"] = tuple(args.widths)
    if getattr(args, "lrs", None):
        changes["n_lrs"] = int(args.lrs)
    if getattr(args, "seeds", None):
        changes["seeds"] = int(args.seeds)
    if getattr(args, "steps", None):
        changes["steps"] = int(args.steps)
    if getattr(args, "dtype", None):
        changes["dtype"] = args.dtype
    return cfg.replace(**changes) if changes else cfg


def init_distributed() -> None:
    """jax.distributed from the FASTTRANSFER_* variables (nothing when unset)."""
    addr = os.environ.get("FASTTRANSFER_COORDINATOR")
    if not addr:
        return
    from fasttransfer.theory.errors import InputError

    try:
        n = int(os.environ["FASTTRANSFER_NUM_PROCESSES"])
        pid = int(os.environ["FASTTRANSFER_PROCESS_ID"])
    except (KeyError, ValueError):
        raise InputError("FASTTRANSFER_COORDINATOR is set: FASTTRANSFER_NUM_PROCESSES and "
                         "FASTTRANSFER_PROCESS_ID must be integers") from None
    import jax

    # CPU collectives for the end-of-run barrier (GPU hosts use NCCL; the setting only
    # touches the CPU client). Must precede any backend initialisation.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=addr, num_processes=n, process_id=pid)


def run(args: argparse.Namespace) -> int:
    from fasttransfer.simulations import sweep

    cfg = config_from_args(args)
    if getattr(args, "print_config", False):
        import json

        out = cfg.to_json_dict()
        out["study"] = cfg.study
        out["describe"] = cfg.describe()
        out["out"] = str(sweep.entry_dir(args.out, cfg))
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    init_distributed()
    import jax

    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    out = sweep.run_sweep(cfg, args.out, recompute=getattr(args, "recompute", False),
                          progress=not args.no_progress)
    if jax.process_index() == 0:
        print(f"relu sweep ({cfg.study_label()}, {cfg.dtype}): {len(cfg.widths)} widths x "
              f"{cfg.n_lrs} learning rates x {cfg.seeds} seeds, {cfg.steps} steps -> "
              f"{sweep.entry_dir(args.out, cfg) / sweep.CSV_NAME} ({0 if out is None else len(out)} rows)")
    return 0

"""``fasttransfer simulate relu|rfrr|topk``: one simulation into the results store under
--out (OUT/<study>/<preset>/...: tidy CSV, manifest with configuration, code version and
provenance); resumable (finished cells are never recomputed), reused when stored, and a
stored result of another configuration or code refused unless --recompute.

The configuration is the target's preset with ``--set FIELD=VALUE`` and the target's
shorthand flags applied (:func:`fasttransfer.overrides.apply_overrides`); ``--print-config``
prints it and exits.

``simulate relu`` runs as several processes (e.g. one per GPU host) against one shared
--out when these are set in each process's environment:

    FASTTRANSFER_COORDINATOR=host0:12355   # address of process 0, reachable by all
    FASTTRANSFER_NUM_PROCESSES=4
    FASTTRANSFER_PROCESS_ID=0..3

Each process then trains its share of the widths on its local devices.
"""

from __future__ import annotations

import argparse
import json
import os


def _print_config(config: dict) -> int:
    print(json.dumps(config, indent=2, sort_keys=True, default=str))
    return 0


# --------------------------------------------------------------------------- relu
def relu_config_from_args(args: argparse.Namespace):
    """The preset (``--preset``, ``--study``, ``--param``) with the shorthand flags and
    ``--set`` applied."""
    from fasttransfer.overrides import apply_overrides
    from fasttransfer.simulations import relu_config

    cfg = relu_config.ReluSweepConfig.from_preset(args.preset, args.param, study=args.study)
    short = {
        "widths": args.widths,
        "n_lrs": args.lrs,
        "seeds": args.seeds,
        "steps": args.steps,
        "dtype": args.dtype,
    }
    cfg = cfg.replace(**{k: v for k, v in short.items() if v is not None})
    return apply_overrides(cfg, args.set)


def init_distributed() -> None:
    """jax.distributed from the FASTTRANSFER_* variables (nothing when unset)."""
    addr = os.environ.get("FASTTRANSFER_COORDINATOR")
    if not addr:
        return
    from fasttransfer.errors import InputError

    try:
        n = int(os.environ["FASTTRANSFER_NUM_PROCESSES"])
        pid = int(os.environ["FASTTRANSFER_PROCESS_ID"])
    except (KeyError, ValueError):
        raise InputError(
            "FASTTRANSFER_COORDINATOR is set: FASTTRANSFER_NUM_PROCESSES and "
            "FASTTRANSFER_PROCESS_ID must be integers"
        ) from None
    import jax

    # CPU collectives for the end-of-run barrier (GPU hosts use NCCL; the setting only
    # touches the CPU client). Must precede any backend initialisation.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=addr, num_processes=n, process_id=pid)


def run_relu(args: argparse.Namespace) -> int:
    from fasttransfer.simulations import sweep

    cfg = relu_config_from_args(args)
    if args.print_config:
        return _print_config(
            {
                **cfg.to_json_dict(),
                "study": cfg.study,
                "describe": cfg.describe(),
                "out": str(sweep.entry_dir(args.out, cfg)),
            }
        )
    init_distributed()
    import jax

    out = sweep.run_sweep(cfg, args.out, recompute=args.recompute, progress=not args.no_progress)
    if jax.process_index() == 0:
        print(
            f"relu sweep ({cfg.study_label()}, {cfg.dtype}): {len(cfg.widths)} widths x "
            f"{cfg.n_lrs} learning rates x {cfg.seeds} seeds, {cfg.steps} steps -> "
            f"{sweep.entry_dir(args.out, cfg) / sweep.CSV_NAME} ({0 if out is None else len(out)} rows)"
        )
    return 0


# --------------------------------------------------------------------------- rfrr
def run_rfrr(args: argparse.Namespace) -> int:
    from fasttransfer.overrides import apply_overrides
    from fasttransfer.rfrr_study import study_and_constants
    from fasttransfer.simulations.rfrr import RFRRConfig

    config = apply_overrides(RFRRConfig.from_preset(args.preset), args.set)
    if args.print_config:
        return _print_config(config.to_json_dict())
    study, const = study_and_constants(
        args.out, config, recompute=args.recompute, progress=not args.no_progress
    )
    rates, v = study["paper_rates"], const["values"]
    print(
        f"paper setting: rates at {int(rates.figure.sum()) - 1} Figure 4b widths and "
        f"{int((~rates.figure).sum())} large widths, {len(study['paper_mc'])} Monte Carlo "
        f"risks; ours: {len(study['ours_mc'])} Monte Carlo risks"
    )
    print(
        f"lam*(inf) = {v['lam_star_inf_derived']:.6g} (paper units), R*(inf) = "
        f"{v['risk_star_inf']:.6g}; C_eta derived {v['C_eta_derived']:.6g} vs printed "
        f"{v['C_eta_printed']:.6g}; C_lambda derived {v['C_lambda_derived']:.6g} vs "
        f"printed {v['C_lambda_printed']:.6g}"
    )
    print(
        f"stored under {args.out}/rfrr/{config.preset}/ and "
        f"{args.out}/rfrr_constants/{config.preset}/"
    )
    return 0


# --------------------------------------------------------------------------- topk
def run_topk(args: argparse.Namespace) -> int:
    from fasttransfer.overrides import apply_overrides
    from fasttransfer.simulations.topk_study import configs, simulate

    cfgs = configs(
        args.preset,
        settings=args.settings,
        widths=args.widths,
        seeds=args.seeds,
        steps=args.steps,
        n_lrs=args.lrs,
        dtype=args.dtype,
    )
    cfgs = {s: apply_overrides(c, args.set) for s, c in cfgs.items()}
    if args.print_config:
        from dataclasses import asdict

        return _print_config({s: asdict(c) for s, c in cfgs.items()})
    results = simulate(
        args.out, args.preset, cfgs=cfgs, progress=not args.no_progress, recompute=args.recompute
    )
    for setting, res in results.items():
        final, transfer = res["final"], res["transfer"]
        extra = transfer["seed"].nunique() - final["seed"].nunique()
        print(
            f"{setting}: {final['width'].nunique()} widths x {final['hp'].nunique()} "
            f"learning rates x {final['seed'].nunique()} recorded seeds"
            + (f" (+ {extra} unrecorded for the transfer verdict)" if extra else "")
            + "; "
            f"median faithfulness error {final['faithfulness'].median():.3g} "
            f"-> {res['source']}"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    return {"relu": run_relu, "rfrr": run_rfrr, "topk": run_topk}[args.target](args)

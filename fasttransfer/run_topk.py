"""``fasttransfer simulate topk``: the top-k trajectory decomposition (SPEC §6) on the
ReLU net ("relu") and the muP MLP on MNIST-1D ("mlp"); the study and its resumable store
live in :mod:`simulations.topk_study`."""

from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    from fasttransfer.simulations.topk_study import simulate
    from fasttransfer.theory.errors import InputError

    if getattr(args, "param", None) not in (None, "mup"):
        raise InputError("--param: the top-k simulation runs the muP models only")
    results = simulate(Path(args.out), args.preset, progress=not args.no_progress,
                       recompute=args.recompute, widths=args.widths, seeds=args.seeds,
                       steps=args.steps, n_lrs=args.lrs, dtype=args.dtype)
    for setting, res in results.items():
        final = res["final"]
        print(f"{setting}: {final['width'].nunique()} widths x {final['hp'].nunique()} "
              f"learning rates x {final['seed'].nunique()} seeds, EMA beta = {res['ema']:g}; "
              f"median faithfulness error {final['faithfulness'].median():.3g} "
              f"-> {res['source']}")
    return 0

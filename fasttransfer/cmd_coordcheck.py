"""``fasttransfer coordcheck``: the muP coordinate check of the two-layer ReLU net
(docs/paper-setups.md#command-line). Stores OUT/coordcheck/<preset>/coordcheck.csv
(param,width,t,module,l1; l1 = mean |x| averaged over seeds), coordcheck_seeds.csv (per
seed), coordcheck_slopes.csv (the criterion) and manifest.json (configuration, code version,
provenance), draws OUT/figures/coordcheck.png (+ .pdf) and prints the slopes table and
the verdict. A stored result of the same configuration and code is reused, not
recomputed; one of another is refused unless --recompute."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    import time
    from dataclasses import replace

    from fasttransfer.overrides import apply_overrides
    from fasttransfer.paper_figures import coordcheck as figure
    from fasttransfer.paper_figures.style import save
    from fasttransfer.simulations import coordcheck as cc
    from fasttransfer.store import entry_dir

    short = {
        "widths": args.widths,
        "seeds": args.seeds,
        "steps": args.steps,
        "lr": args.lr,
        "dtype": args.dtype,
    }
    cfg = cc.CoordCheckConfig.from_preset(args.preset)
    cfg = apply_overrides(
        replace(cfg, **{k: v for k, v in short.items() if v is not None}), args.set
    )
    if args.print_config:
        import json

        print(json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        return 0
    start = time.perf_counter()
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(cfg.widths), desc="coordcheck", unit="width", disable=None)
    try:
        df = cc.stored_coordcheck(
            args.out,
            cfg,
            args.preset,
            recompute=args.recompute,
            progress=(lambda _: bar.update(1)) if bar else None,
        )
    finally:
        if bar is not None:
            bar.close()
    verdict = cc.criterion(cc.slopes(df))
    figs = save(figure.plot(figure.load(args.out, args.preset)), args.out / "figures", figure.NAME)
    print(
        f"log-log slope of mean |x| vs width (mean ± s.e. over {cfg.seeds} seeds; "
        f"↑/↓ = significant at family-wise {verdict.alpha:g}, t-quantile "
        f"{verdict.quantile:.2f}):"
    )
    print(cc.slopes_markdown(verdict))
    if verdict.mup_ok is not None:
        print(
            "muP: "
            + (
                "nothing grows with width (pass)"
                if verdict.mup_ok
                else f"growing with width: {list(verdict.growing)} (FAIL)"
            )
        )
    if verdict.sp_output_grows is not None:
        print(
            "SP: "
            + (
                "the output grows with width for t >= 1 (as expected)"
                if verdict.sp_output_grows
                else "the output does not clearly grow at every t >= 1"
            )
        )
    for name, (expected, lo, hi, ok) in cc.init_identities(verdict).items():
        print(
            f"known answer {name}: slope {expected:+.2f} in [{lo:+.3f}, {hi:+.3f}]: "
            + ("ok" if ok else "VIOLATED")
        )
    print(
        f"wrote {entry_dir(args.out, cc.STUDY, args.preset) / cc.MEAN_CSV}, {figs[0]}  "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0

"""``fasttransfer verify``: run every registered check, print the claims table, write
report.md / report.html / claims.json into --out; exit 1 when a check fails."""

from __future__ import annotations

import argparse
import time
import traceback
from pathlib import Path

from fasttransfer.theory.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from fasttransfer.checks import CHECKS, PRESETS

    p.add_argument("--preset", choices=PRESETS, default="quick",
                   help="quick: a 2-core CPU in minutes (default); cpu: the reduced regime "
                        "of the ReLU simulations (about 20 minutes); paper: the paper's "
                        "scale (simulations re-analysed from the results bank)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated subset of: {','.join(CHECKS)}")
    p.add_argument("--out", type=Path, default=Path("results/verify"),
                   help="output directory (default results/verify)")


def _selected(only: str | None) -> list[str]:
    from fasttransfer.checks import CHECKS

    if not only:
        return list(CHECKS)
    names = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [n for n in names if n not in CHECKS]
    if unknown or not names:
        raise InputError(
            f"--only: unknown check(s) {unknown or only!r}; known: {', '.join(CHECKS)}"
        )
    return [n for n in CHECKS if n in names]


def _draw_missing_figures(ctx) -> None:
    """Every paper figure ends up in ``out/figures``: checks draw theirs; any figure no
    check drew is made here from the stored results (running its quick simulation when
    they are missing)."""
    import importlib

    from fasttransfer.paper_figures import FIGURES
    from fasttransfer.paper_figures.style import save

    missing = [n for n in FIGURES if not (ctx.figures_dir / f"{n}.png").exists()]
    for name in missing:
        module = importlib.import_module(FIGURES[name])
        print(f"figure {name} (not drawn by a check)", flush=True)
        save(module.plot(module.load(ctx.results_dir, ctx.base_preset)), ctx.figures_dir, name)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from fasttransfer.checks import CHECKS, CheckContext, CheckResult, load_check
    from fasttransfer.report import claims_table, write_report

    names = _selected(args.only)
    ctx = CheckContext(preset=args.preset, out=args.out,
                       log=lambda msg: print(f"    {msg}", flush=True))
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    skipped: list[str] = []
    for i, name in enumerate(names, 1):
        if importlib.util.find_spec(CHECKS[name]) is None:
            print(f"[{i}/{len(names)}] {name}: not implemented yet, skipped", flush=True)
            skipped.append(name)
            continue
        module = load_check(name)
        print(f"[{i}/{len(names)}] {name}: {module.TITLE}", flush=True)
        start = time.perf_counter()
        try:
            rows = list(module.run(ctx))
        except Exception as err:  # a crashed check is a failed check, not a lost report
            rows = [CheckResult(
                check=name, claim=module.TITLE, paper="-",
                measured=f"check raised {type(err).__name__}: {err}", verdict="fail",
                details="```\n" + traceback.format_exc() + "\n```",
            )]
        timings[name] = time.perf_counter() - start
        for r in rows:
            print(f"    {r.verdict:>7}  {r.claim}: {r.measured}", flush=True)
        print(f"    ({timings[name]:.1f} s)", flush=True)
        results.extend(rows)

    if not args.only:
        _draw_missing_figures(ctx)
    paths = write_report(results, args.out, preset=args.preset, timings=timings,
                         skipped=skipped)
    print()
    print(claims_table(results))
    print(f"\nreport: {paths['md']}  (HTML: {paths['html']})")
    failed = [r for r in results if r.verdict == "fail"]
    if failed:
        print(f"{len(failed)} check(s) failed: "
              + ", ".join(sorted({r.check for r in failed})))
        return 1
    return 0

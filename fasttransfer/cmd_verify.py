"""``fasttransfer verify``: run every registered check, print the claims table, write
report.md / report.html / claims.json into --out; exit 1 when a check fails."""

from __future__ import annotations

import argparse
import logging
import time
import traceback

from fasttransfer.errors import InputError

logger = logging.getLogger(__name__)


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


def draw_figure(name: str, ctx) -> str | None:
    """:func:`paper_figures.draw` at the run's preset (its base preset where the figure's
    study lacks it) into ``ctx.figures_dir``: None when drawn, else why not."""
    from fasttransfer.paper_figures import draw

    return draw(name, ctx.results_dir, ctx.figures_dir, preset=ctx.preset, fallback=ctx.base_preset)


def _draw_check_figures(rows, ctx) -> list:
    """Draw the figures a check's rows name; a figure that cannot be drawn from the
    results the check stored is a failed row of that check."""
    from pathlib import PurePosixPath

    from fasttransfer.checks import CheckResult

    names = sorted({PurePosixPath(f).stem for r in rows for f in r.figures})
    extra = []
    for name in names:
        try:
            why = draw_figure(name, ctx)
        except Exception as err:  # a broken figure fails its check, and the report goes on
            why = f"{type(err).__name__}: {err}"
        if why is not None:
            extra.append(
                CheckResult(
                    check=rows[0].check,
                    claim=f"figure {name}",
                    paper="-",
                    measured=f"not drawn: {why}",
                    verdict="fail",
                )
            )
    return extra


def _draw_missing_figures(ctx) -> None:
    """Every paper figure that no check drew, drawn from the stored results when there
    are any (figures never run simulations)."""
    from fasttransfer.paper_figures import FIGURES

    for name in [n for n in FIGURES if not (ctx.figures_dir / f"{n}.png").exists()]:
        why = draw_figure(name, ctx)
        logger.info(
            "figure %s: %s",
            name,
            "drawn from the stored results" if why is None else f"not drawn ({why})",
        )


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from fasttransfer.checks import CHECKS, CheckContext, CheckResult, load_check
    from fasttransfer.report import claims_table, write_report

    names = _selected(args.only)
    # progress goes through logging (the checks' messages indented under these lines)
    ctx = CheckContext(preset=args.preset, out=args.out, recompute=args.recompute)
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    skipped: list[str] = []
    for i, name in enumerate(names, 1):
        if importlib.util.find_spec(CHECKS[name]) is None:
            logger.info("[%d/%d] %s: not implemented yet, skipped", i, len(names), name)
            skipped.append(name)
            continue
        module = load_check(name)
        logger.info("[%d/%d] %s: %s", i, len(names), name, module.TITLE)
        start = time.perf_counter()
        try:
            rows = list(module.run(ctx))
        except Exception as err:  # a crashed check is a failed check, not a lost report
            rows = [
                CheckResult(
                    check=name,
                    claim=module.TITLE,
                    paper="-",
                    measured=f"check raised {type(err).__name__}: {err}",
                    verdict="fail",
                    details="```\n" + traceback.format_exc() + "\n```",
                )
            ]
        if rows:
            rows += _draw_check_figures(rows, ctx)
        timings[name] = time.perf_counter() - start
        for r in rows:
            logger.info("    %7s  %s: %s", r.verdict, r.claim, r.measured)
        logger.info("    (%.1f s)", timings[name])
        results.extend(rows)

    if not args.only:
        _draw_missing_figures(ctx)
    paths = write_report(results, args.out, preset=args.preset, timings=timings, skipped=skipped)
    print()
    print(claims_table(results))
    print(f"\nreport: {paths['md']}  (HTML: {paths['html']})")
    failed = [r for r in results if r.verdict == "fail"]
    if failed:
        print(f"{len(failed)} check(s) failed: " + ", ".join(sorted({r.check for r in failed})))
        return 1
    return 0

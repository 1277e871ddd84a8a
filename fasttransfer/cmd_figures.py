"""``fasttransfer figures``: every paper figure as PNG and PDF in OUT/figures, drawn from
the results stored under OUT (the store that ``simulate`` and ``verify`` fill, then the
committed results bank). Figures are views: nothing is simulated here; a figure whose
results are missing says which command makes them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def _stored_entries(root: Path) -> list[str]:
    """One line per finished store entry under ``root`` (and the bank)."""
    import json

    from fasttransfer.store import BANK, MANIFEST, Entry

    lines = []
    for base in (root, BANK):
        for m in sorted(Path(base).glob(f"**/{MANIFEST}")):
            try:
                manifest = json.loads(m.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if manifest.get("status") == "complete":
                lines.append(Entry(m.parent, manifest).describe())
    return lines


def run(args: argparse.Namespace) -> int:
    from fasttransfer.checks import CheckContext
    from fasttransfer.errors import InputError
    from fasttransfer.paper_figures import FIGURES, draw

    names = list(FIGURES)
    if args.only:
        names = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [n for n in names if n not in FIGURES]
        if unknown:
            raise InputError(f"--only: unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    ctx = CheckContext(preset=args.preset, out=args.out)
    entries = _stored_entries(args.out)
    logger.info(
        "reusing the stored results:"
        if entries
        else f"no stored results under {args.out} or in the results bank"
    )
    for line in entries:
        logger.info("    %s", line)
    missing = 0
    for i, name in enumerate(names, 1):
        why = draw(
            name, ctx.results_dir, ctx.figures_dir, preset=ctx.preset, fallback=ctx.base_preset
        )
        missing += why is not None
        logger.info(
            "[%d/%d] %s: %s",
            i,
            len(names),
            name,
            f"{ctx.figures_dir / name}.png" if why is None else f"not drawn ({why})",
        )
    return 1 if missing == len(names) else 0

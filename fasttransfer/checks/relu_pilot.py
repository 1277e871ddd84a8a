"""The ``pilot`` preset of the verify check ``relu`` (:mod:`fasttransfer.checks.relu`):
the paper's own runs at its smallest widths, compared per width with the values read off
its Figures 5a and 2 (:mod:`theory.relu_paper`), with the sensitivity of each unstated
choice (:func:`simulations.relu_studies.sensitivity_table`)."""

from __future__ import annotations

import numpy as np

from fasttransfer.checks import CheckContext, CheckResult

PILOT_CLAIMS = {
    "relu": (
        "ReLU counterexample at the paper's smallest widths (Figure 5a), in its own "
        "parametrisation: optimum, optimal loss and the curve's rise per width"
    ),
    "kindex": (
        "k-index model, one LR for both layers, at the paper's smallest widths "
        "(Figure 2, left): optimum, optimal loss, rise, cliff per width"
    ),
    "kindex-layerwise": (
        "k-index model, second-layer LR / 50, at the paper's smallest "
        "widths (Figure 2, right): optimum, optimal loss, rise, cliff"
    ),
}
PILOT_FIGURES = {
    "relu": "Figure 5a",
    "kindex": "Figure 2 (left)",
    "kindex-layerwise": "Figure 2 (right)",
}
QUANTITY_TEXT = {
    "log2_lr_star": "log2 nu* (grid optimum)",
    "loss_star": "phi* (optimal loss)",
    "rise_half": "phi(nu*/2)/phi* - 1",
    "rise_double": "phi(2 nu*)/phi* - 1",
    "log2_lr_cliff": "log2 LR where phi = 2 phi* below nu* (the cliff)",
    "n_modes": "prominent local minima (listed, not judged)",
    "log2_lr_second": "log2 LR of the second mode (listed)",
    "loss_second": "loss of the second mode (listed)",
}


def _fmt(q: str, v: float) -> str:
    if not np.isfinite(v):
        return "-"
    if q == "n_modes":
        return f"{v:.0f}"
    if q in ("loss_star", "loss_second"):
        return f"{v:.4g}"
    return f"{v:+.3f}" if q.startswith("rise") else f"{v:.2f}"


def _pilot_table(cmp) -> str:
    from fasttransfer.report import markdown_table

    rows = []
    for _, r in cmp.iterrows():
        if not (np.isfinite(r.ours) or np.isfinite(r.paper)):
            continue  # a mode neither curve has
        loss = r.quantity.startswith("loss")
        spread = (
            (lambda v: f"{v:.2g}") if loss else (lambda v, q=r.quantity: _fmt(q, v).lstrip("+"))
        )
        se = f" ± {spread(r.se)}" if np.isfinite(r.se) and r.quantity != "n_modes" else ""
        tol = spread(r.tol) if np.isfinite(r.tol) else "-"
        agree = {True: "yes", False: "**no**"}.get(r.agree, "-")
        rows.append(
            [
                r.width,
                QUANTITY_TEXT[r.quantity],
                f"{_fmt(r.quantity, r.ours)}{se}",
                _fmt(r.quantity, r.paper),
                tol,
                agree,
            ]
        )
    columns = ["width", "quantity", "ours (± SE over seeds)", "paper (read off)", "tolerance"]
    return markdown_table(rows, [*columns, "agree"])


def _agreement(df, study: str, step: float) -> str:
    """ "k of m": how many of the judged quantities of theory.relu_paper.compare agree
    with the paper's read-off values, for the widths ``df`` holds."""
    from fasttransfer.theory import relu_paper

    cmp = relu_paper.compare(df, study, step)
    judged = cmp[cmp.agree.notna()]
    return f"{int(judged.agree.eq(True).sum())} of {len(judged)}"


def _sensitivity_md(table, agreement: dict, reference: str, paper: dict) -> str:
    from fasttransfer.report import markdown_table

    if table.empty:
        return "Sensitivity: no variant runs stored."
    rows = [
        [
            r.variant,
            f"{r.width}, {r.seeds}",
            f"{r.log2_lr_star:.2f} ({r.ref_log2_lr_star:.2f}; "
            f"d = {r.d_log2_lr:+.2f}, sigma {r.sigma_log2_lr:.2f})",
            f"{r.loss_star:.4g} ({r.ref_loss_star:.4g}; d = {r.d_loss:+.2g}, "
            f"sigma {r.sigma_loss:.2g})",
            "**yes**" if r.moves_lr else "no",
            "**yes**" if r.moves_loss else "no",
            agreement[r.variant],
        ]
        for _, r in table.iterrows()
    ]
    columns = [
        "variant (one choice changed)",
        "width, seeds",
        "log2 nu* (paper reading)",
        "phi* (paper reading)",
        "moves nu*?",
        "moves phi*?",
        "agrees with the paper",
    ]
    return (
        "Sensitivity to each unstated choice, one at a time (the pilot's narrowest width "
        "and first seeds; sigma: the std of the per-seed statistic over the pilot's "
        "seeds; a choice moves a statistic when |d| > 2 sigma sqrt(2/m) for m seeds "
        "each, and, for the LR, by more than one grid step; a half-squared loss is "
        "doubled onto the squared loss's scale; the last column: the judged quantities "
        "of the comparison above that agree with the paper's, for this run alone; "
        f"the paper's reading on the same width and seeds: {reference}; the paper at "
        f"that width: log2 nu* = {paper['log2_lr_star']:.2f}, phi* = "
        f"{paper['loss_star']:.4g}):\n\n" + markdown_table(rows, columns)
    )


def pilot_row(study: str, data: dict) -> CheckResult:
    """One pilot study beside the paper's read-off curves (theory.relu_paper.compare):
    ``pass`` when every judged quantity at every width agrees within its tolerance,
    ``differs`` (with the numbers) otherwise."""
    from fasttransfer.simulations import relu_studies
    from fasttransfer.theory import relu_paper

    cfg, df = data["config"], data["df"]
    step = float(np.log2(cfg.lrs()[1] / cfg.lrs()[0]))
    cmp = relu_paper.compare(df, study, step)
    judged = cmp[cmp.agree.notna()]
    off = judged[judged.agree.eq(False)]
    by = cmp.set_index(["width", "quantity"])
    per_width = "; ".join(
        f"n = {w}: nu* 2^{by.ours[w, 'log2_lr_star']:.2f} "
        f"(paper 2^{by.paper[w, 'log2_lr_star']:.2f}), phi* {by.ours[w, 'loss_star']:.4g} "
        f"(paper {by.paper[w, 'loss_star']:.4g})"
        for w in sorted(cmp.width.unique())
    )
    verdict = "pass" if len(judged) and off.empty else "differs"
    if not len(judged):
        verdict = "inconclusive"
    measured = (
        f"{per_width}; {len(judged) - len(off)} of {len(judged)} quantities agree "
        f"within tolerance ({cfg.seeds} seeds)"
    )
    variants = {k: (c, d) for k, (c, d, _) in data["variants"].items()}
    table = relu_studies.sensitivity_table(df, variants, step)
    agreement = {
        k: _agreement(relu_studies.on_squared_scale(c, d), study, step)
        for k, (c, d) in variants.items()
    }
    reference = paper_at = ""
    if variants:
        _, d0 = next(iter(variants.values()))
        ref_df = df[(df.width == d0.width.iloc[0]) & df.seed.isin(d0.seed.unique())]
        reference = _agreement(ref_df, study, step)
        paper_at = relu_paper.paper_summary(study, int(d0.width.iloc[0]))
    moved = [r.variant for _, r in table.iterrows() if r.moves_lr or r.moves_loss]
    details = "\n\n".join(
        x
        for x in [
            f"Ours: the seed-mean curve of the pilot ({cfg.parametrisation()}); the paper: the "
            f"markers of its {PILOT_FIGURES[study]} read off the figure (how: the docstring of "
            "fasttransfer.theory.relu_paper). Tolerance: 2 SE + read-off error (+ half of each "
            "grid's step for an LR), fixed before the pilots ran.",
            _pilot_table(cmp),
            (
                "Disagreeing: "
                + "; ".join(
                    f"n = {r.width} {r.quantity}: {_fmt(r.quantity, r.ours)} "
                    f"vs {_fmt(r.quantity, r.paper)}"
                    for _, r in off.iterrows()
                )
            )
            if len(off)
            else "",
            _sensitivity_md(table, agreement, reference, paper_at),
            ""
            if table.empty
            else (
                f"Choices that move the optimum or the optimal loss beyond the seed noise: "
                f"{', '.join(moved)}."
                if moved
                else "No single choice moves the optimum or the optimal loss beyond the seed noise."
            ),
        ]
        if x
    )
    return CheckResult(
        check="relu",
        claim=PILOT_CLAIMS[study],
        paper=f"read off {PILOT_FIGURES[study]} per width",
        measured=measured,
        verdict=verdict,
        details=details,
        figures=(PILOT_FIGURE[study],),
        note=f"Setting: {cfg.describe()} Source: {data['source']}.",
        data={
            "study": study,
            "comparison": cmp.to_dict("records"),
            "sensitivity": table.to_dict("records"),
        },
    )


PILOT_FIGURE = {
    "relu": "figures/relu_transfer.png",
    "kindex": "figures/kindex_late_shift.png",
    "kindex-layerwise": "figures/kindex_late_shift.png",
}


def pilot_rows(ctx: CheckContext) -> list[CheckResult]:
    """The ``pilot`` preset of the relu check: one row per study (made here or read from
    the results bank)."""
    from fasttransfer.errors import InputError
    from fasttransfer.simulations import relu_config, relu_studies

    rows = []
    for study in relu_config.STUDIES:
        try:
            data = relu_studies.pilot_data(ctx.results_dir, study, recompute=ctx.recompute)
        except InputError as err:
            rows.append(
                CheckResult(
                    check="relu",
                    claim=PILOT_CLAIMS[study],
                    paper=PILOT_FIGURES[study],
                    measured=f"not measured: {err}",
                    verdict="fail",
                    details="The pilots run on a CPU (benchmarks/relu_pilots.py) or are read "
                    "from the results bank.",
                )
            )
            continue
        rows.append(pilot_row(study, data))
    return rows

"""verify check ``theorem2``: the paper's Theorem 2 (compute-optimal grid search), in its
notation (run cost n^r, r = 2 standard; budget F). sympy derives both excess exponents,
the iff and the compute-optimal widths; a vectorised brute force over integer (n, m, K)
at budgets 1e3..1e12 fits the excess slopes, and a continuous brute force (zooming grids
in log variables, budgets 1e40..1e240) fits the width slopes; both must match the
derivations."""

from __future__ import annotations

import logging
from dataclasses import asdict

from fasttransfer.checks import CheckContext, CheckResult

logger = logging.getLogger(__name__)

TITLE = (
    "Theorem 2: E_D* ~ F^-2alpha/(h alpha+2r), E_T* ~ F^-min(alpha/r, 2beta/(h beta+r)); "
    "widths; useful iff beta > alpha/2"
)

PAPER_CLAIM = "transfer is useful (strictly better compute-optimal exponent) iff beta > alpha/2"

PAPER_WIDTHS = (
    "direct: n* ~ F^(2/(h alpha + 2r)); transfer: n* ~ F^(1/(h beta + r)) "
    "(proxy), M* ~ F^(1/r) (target)"
)

# The brute-force studies are stored (fasttransfer.store) at OUT/theorem2/<preset>/{excess,widths}/;
# the excess entry also holds what the compute_optimal figure draws.
CODE_MODULES = (
    "fasttransfer.theory.grid_search",
    "fasttransfer.theory.grid_brute_force",
    "fasttransfer.theory.grid_optimum",
    "fasttransfer.theory.grid_studies",
)
FIGURE_DATA = "compute_optimal.json"


def _symbolic_row() -> CheckResult:
    import numpy as np
    import sympy as sp

    from fasttransfer.proofs_check.theorem2 import SYMBOLS, check_all, derived_width_exponents
    from fasttransfer.theory.grid_optimum import width_exponents
    from fasttransfer.theory.grid_search import exponent_direct, exponent_transfer, is_useful

    results = check_all()
    by_name = {r.name: r for r in results}
    # the code's closed forms must equal the derived expressions: evaluate both at
    # random (alpha, beta, r, h); 1e-12 relative is float64 round-off of a few ops
    args = [SYMBOLS[k] for k in ("alpha", "beta", "r", "h")]
    f_d = sp.lambdify(args, by_name["direct_exponent"].expressions["derived e_D"], "numpy")
    f_t = sp.lambdify(args, by_name["transfer_exponent"].expressions["derived e_T"], "numpy")
    rng = np.random.default_rng(0)
    pts = np.column_stack(
        [
            rng.uniform(0.05, 3, 2000),
            rng.uniform(0, 3, 2000),
            rng.uniform(0.1, 4, 2000),
            rng.uniform(1, 6, 2000),
        ]
    )
    d_code = np.array([exponent_direct(a, r, h) for a, _, r, h in pts])
    t_code = np.array([exponent_transfer(a, b, r, h) for a, b, r, h in pts])
    d_sym = np.array([float(f_d(*p)) for p in pts])
    t_sym = np.array([float(f_t(*p)) for p in pts])
    err = max(
        np.max(np.abs(d_code - d_sym) / d_sym),
        np.max(np.abs(t_code - t_sym) / np.maximum(t_sym, 1e-300)),
    )
    # the planner's width exponents (theory.width_exponents) against the derivation
    w_err, regime_ok = 0.0, True
    for a, b, r, h in pts:
        code, sym = width_exponents(a, b, r, h), derived_width_exponents(a, b, r, h)
        regime_ok &= code.regime == sym["regime"]
        w_err = max(
            w_err, *(abs(getattr(code, k) - sym[k]) / sym[k] for k in ("direct", "proxy", "target"))
        )
    iff = all(
        (t > d) == is_useful(a, b)
        for (a, b, _, _), t, d in zip(pts, t_sym, d_sym, strict=False)
        if abs(b - a / 2) > 1e-9
    )
    ok = all(r.ok for r in results) and err < 1e-12 and w_err < 1e-12 and regime_ok and iff
    lines = []
    for r in results:
        lines.append(
            f"**{r.name}** — ${r.statement}$ — sympy: {'established' if r.ok else 'NOT established'}"
        )
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in r.latex().items()]
        lines.append("")
    lines.append(
        f"Code vs derivation at 2000 random (alpha, beta, r, h): excess exponents, "
        f"max relative difference {err:.2e}; width exponents {w_err:.2e}, regimes "
        f"{'identical' if regime_ok else 'DIFFERENT'}; sign(e_T - e_D) = "
        f"sign(beta - alpha/2) at every point: {iff}."
    )
    return CheckResult(
        check="theorem2",
        claim="Theorem 2, symbolic (Lagrangian exponents, which term binds, iff, widths)",
        paper=PAPER_CLAIM,
        measured=(
            f"{sum(r.ok for r in results)}/{len(results)} derivations established; "
            f"code = derivation to {max(err, w_err):.1e}"
        ),
        verdict="pass" if ok else "fail",
        details="\n".join(lines),
    )


def _stored(ctx: CheckContext, key: str, cfg, compute, extra=None):
    """A brute-force study's table from the store entry theorem2/<preset>/<key>: reused
    when stored for this configuration and code, else computed (and ``extra(entry, df)``
    writes what else the entry keeps)."""
    from fasttransfer import store

    def run(entry):
        df = compute(cfg)
        entry.write_csv(f"{key}.csv", df)
        if extra is not None:
            extra(entry, df)

    entry = store.reuse_or_run(
        ctx.results_dir,
        "theorem2",
        ctx.base_preset,
        key,
        config=asdict(cfg),
        modules=CODE_MODULES,
        run=run,
        recompute=ctx.recompute,
    )
    return entry.read_csv(f"{key}.csv")


def _study(ctx: CheckContext, cfg):
    from fasttransfer.theory.grid_studies import excess_panels, run_study

    return _stored(
        ctx,
        "excess",
        cfg,
        lambda c: run_study(c, progress=lambda name: logger.info("brute force: %s", name)),
        extra=lambda entry, df: entry.write_json(FIGURE_DATA, excess_panels(df)),
    )


def _numeric_row(ctx: CheckContext, cfg, df) -> CheckResult:
    import numpy as np

    from fasttransfer.report import markdown_table
    from fasttransfer.theory.grid_studies import slopes_table

    tab = slopes_table(df, cfg)
    tol = cfg.tolerance
    # The exponent is the large-F slope: the criterion is the local slope over the top
    # decade of budgets, for every setting; the slope over all budgets is shown beside it
    # (it carries a F^-delta correction, large where delta is small).
    ok_top = bool(np.all(np.abs(tab.top_error) <= tol))
    n_settings = int(tab.setting.nunique())
    weak = tab[tab.beta == tab.alpha / 2]
    ok = ok_top and n_settings >= 4 and not weak.empty

    # the ratio E_T*/E_D* at the largest budget, per setting
    top = df[df.budget == df.budget.max()].pivot(
        index="setting", columns="strategy", values="excess"
    )
    lines = [
        f"Budgets F = 10^{cfg.lo:g} .. 10^{cfg.hi:g} ({cfg.budgets.size} points); integer "
        f"candidates: all up to 256, then a geometric grid of ratio {cfg.ratio}; the final "
        "width is the largest affordable one. Criterion: |local slope over the top decade - closed form| <= "
        f"{tol} for every setting; the slope over all budgets is shown for context.",
        "",
    ]
    rows = []
    for _, r in tab.iterrows():
        delta = "" if np.isnan(r.delta) else f"{r.delta:.3f}"
        rows.append(
            [
                r.setting,
                f"{r.alpha:g}",
                f"{r.beta:g}",
                f"{r.r:g}",
                f"{r.h:g}",
                r.strategy,
                f"{r.closed_form:.4f}",
                f"{r.fitted:.4f}",
                f"{r.error:+.4f}",
                f"{r.top_decade:.4f}",
                f"{r.top_error:+.4f}",
                delta,
            ]
        )
    columns = ["setting", "alpha", "beta", "r", "h", "strategy", "closed form"]
    columns += ["fitted (all F)", "error", "fitted (top decade)", "error", "delta"]
    lines.append(markdown_table(rows, columns))
    lines += [
        "",
        "E_T*/E_D* at the largest budget: "
        + ", ".join(
            f"{name}: {row['transfer'] / row['direct']:.3g}" for name, row in top.iterrows()
        ),
        "",
        "delta = |e1 - e2|/(1 + max(e1, e2)) is the rate at which the non-binding part "
        "of the transfer excess fades (derived symbolically): fitted slopes over finite "
        "budgets exceed e_T by an amount of order F^-delta.",
    ]
    worst_top = float(np.max(np.abs(tab.top_error)))
    worst_all = float(np.max(np.abs(tab.error)))
    return CheckResult(
        check="theorem2",
        claim="Theorem 2, brute-force excess slopes vs closed forms",
        paper="E*(F) exponents as derived; tie at beta = alpha/2",
        measured=(
            f"max |top-decade slope - closed form| = {worst_top:.4f} over "
            f"{n_settings} settings x 2 strategies (incl. beta = alpha/2); over all "
            f"budgets 1e{cfg.lo:g}..1e{cfg.hi:g}: {worst_all:.4f}"
        ),
        verdict="pass" if ok else "fail",
        details="\n".join(lines),
        note=(
            "excess model of the paper's Theorem 2 on our synthetic family: a_n = A n^-alpha, "
            "c_m = kappa/2 B^2 m^-2beta, grid-search excess kappa/2 h (box/2)^2 K^-2/h; "
            "the Llama row uses the paper's loss law with our HP drift, at r = 2"
        ),
    )


def _integer_width_slopes(df) -> dict:
    """Top-decade log-log slopes of the integer search's widths: {(setting, col): slope}."""
    from fasttransfer.theory.fits import loglog_slope

    out = {}
    for (name, strategy), sub in df.groupby(["setting", "strategy"]):
        sub = sub.sort_values("budget")
        top = sub[sub.budget >= sub.budget.max() / 10.0**1.0001]
        cols = ("n",) if strategy == "direct" else ("m", "n")
        for col in cols:
            out[(name, strategy, col)] = float(
                loglog_slope(top.budget.to_numpy(dtype=float), top[col].to_numpy(dtype=float)).slope
            )
    return out


def _width_details(tab, cfg, key: dict, integer: dict) -> list[str]:
    """The width row's details: the criterion, the table of fitted vs derived vs paper
    exponents (with the integer search's top-decade slope for context), and why the
    paper's widths differ from the argmin's where one term binds."""
    from fasttransfer.report import markdown_table

    tol = cfg.tolerance
    lines = [
        f"Continuous brute force (zooming grids over the budget split and log m, "
        f"no closed form) at F = 10^{cfg.lo:g} .. 10^{cfg.hi:g} ({cfg.points} budgets); "
        f"slope of log width (or log excess) against log F. Criterion: |fitted - derived| "
        f"<= {tol:g} for every row (the tolerance's derivation is in "
        "theory.grid_studies.WidthStudyConfig). 'derived' is the exact minimiser "
        "(proofs_check.theorem2.check_width_exponents); 'paper' is Theorem 2's statement; "
        "'integer, top decade' is the integer search of the excess row at F = 1e11..1e12, "
        "for context only: there the non-binding width takes whatever budget the integer "
        "trial count leaves, and corrections of order F^-delta remain, so its local slope "
        "is not yet the asymptotic one (it can even exceed 1/r).",
        "",
    ]
    rows = []
    for _, r in tab.iterrows():
        k = key.get(r.quantity)
        integ = integer.get((r.setting, *k)) if k else None
        rows.append(
            [
                r.setting,
                f"{r.alpha:g}",
                f"{r.beta:g}",
                f"{r.r:g}",
                f"{r.h:g}",
                r.regime,
                r.quantity,
                f"{r.fitted:.6f}",
                f"{r.derived:.6f}",
                f"{r.error:+.1e}",
                f"{r.paper:.6f}",
                "" if integ is None else f"{integ:.3f}",
            ]
        )
    columns = ["setting", "alpha", "beta", "r", "h", "regime", "quantity", "fitted"]
    columns += ["derived", "error", "paper", "integer, top decade"]
    lines.append(markdown_table(rows, columns))
    return [
        *lines,
        "",
        "The paper's widths are the argmin's for direct tuning and, for transfer, for "
        "the term that binds (both at the tie e1 = e2). The other width gets a vanishing "
        "share of F and grows more slowly: final run binds -> proxy ~ "
        "F^((alpha + r)/(r (h beta + 2 beta + r))); proxy search binds -> target ~ "
        "F^((h beta + 2 beta + r)/((alpha + r)(h beta + r))); alpha > (h + 2) beta -> "
        "the proxy is capped at the target (m = n ~ F^(1/(h beta + r))). The paper's "
        "widths with an even split of F still attain E_T*'s exponent: the slope of "
        "E_T(paper widths)/E_T* against log F is 0 (rows above).",
    ]


def _width_row(ctx: CheckContext, excess_df) -> CheckResult:
    import numpy as np

    from fasttransfer.theory.grid_studies import (
        WidthStudyConfig,
        run_width_study,
        width_slopes_table,
    )

    cfg = WidthStudyConfig()
    df = _stored(
        ctx,
        "widths",
        cfg,
        lambda c: run_width_study(c, progress=lambda n: logger.info("widths: %s", n)),
    )
    tab = width_slopes_table(df, cfg)
    tol = cfg.tolerance
    worst = float(np.max(np.abs(tab.error)))
    ok = bool(worst <= tol) and int(tab.setting.nunique()) >= 4
    integer = _integer_width_slopes(excess_df)
    key = {
        "direct width n*": ("direct", "n"),
        "proxy width (paper's n*)": ("transfer", "m"),
        "target width (paper's M*)": ("transfer", "n"),
    }
    widths = tab[tab.quantity.isin(list(key))]
    agree = widths[np.isclose(widths.derived, widths.paper, rtol=0, atol=1e-12)]
    differ = widths[~np.isclose(widths.derived, widths.paper, rtol=0, atol=1e-12)]
    ratio = tab[tab.quantity.str.startswith("E_T(paper widths)")]
    lines = _width_details(tab, cfg, key, integer)
    diff_txt = "; ".join(
        f"{r.setting}: {r.quantity} {r.derived:.3f} vs paper {r.paper:.3f}"
        for _, r in differ.iterrows()
    )
    ratio_worst = float(np.max(np.abs(ratio.fitted))) if not ratio.empty else float("nan")
    # fail: the brute force contradicts the derivation; differs: it confirms the
    # derivation, and the derived minimiser is not the paper's n*, M* somewhere
    verdict = "fail" if not ok else ("differs" if not differ.empty else "pass")
    return CheckResult(
        check="theorem2",
        claim="Theorem 2, compute-optimal widths (brute force vs derived)",
        paper=PAPER_WIDTHS,
        measured=(
            f"max |fitted - derived| = {worst:.1e} over {tab.setting.nunique()} settings "
            f"(widths and excess); the paper's width exponent equals the argmin's in "
            f"{len(agree)}/{len(widths)} cases, the rest are the non-binding width; "
            f"paper widths attain E_T*'s exponent (|slope of ratio| <= {ratio_worst:.1e})"
        ),
        verdict=verdict,
        details="\n".join(lines),
        note=(
            "the paper's transfer widths are rate-optimal (they attain E_T*'s exponent) but "
            "not the minimiser where one term binds: " + diff_txt
            if diff_txt
            else ""
        ),
    )


def run(ctx: CheckContext) -> list[CheckResult]:
    from dataclasses import replace

    from fasttransfer.theory.grid_studies import SlopeStudyConfig

    logger.info("symbolic derivations (sympy)")
    rows = [_symbolic_row()]
    logger.info("brute-force compute-optimal search")
    cfg = SlopeStudyConfig.from_preset(ctx.base_preset)
    df = _study(ctx, cfg)
    # the figure is named here and drawn by verify from the stored compute_optimal.json
    rows.append(replace(_numeric_row(ctx, cfg, df), figures=("figures/compute_optimal.png",)))
    logger.info("compute-optimal widths: continuous brute force")
    rows.append(_width_row(ctx, df))
    return rows

"""verify check ``theorem2``: compute-optimal grid search. sympy derives both exponents
and the iff; a vectorised brute force over integer (n, m, K) at budgets 1e3..1e12 on
the synthetic family fits log-log slopes that must match the closed forms."""

from __future__ import annotations

from fasttransfer.theory.atomic import atomic_write_csv, atomic_write_json

import json
from dataclasses import asdict

from fasttransfer.checks import CheckContext, CheckResult

TITLE = "Theorem 2: E_D* ~ C^-alpha/(rho+alpha h/2), E_T* ~ C^-min(alpha/rho, 2beta/(rho+beta h)); useful iff beta > alpha/2"

PAPER_CLAIM = ("transfer is useful (strictly better compute-optimal exponent) iff "
               "beta > alpha/2")

STORED = "theorem2_excess.csv"
STORED_CONFIG = "theorem2_config.json"


def _symbolic_row() -> CheckResult:
    import numpy as np
    import sympy as sp

    from fasttransfer.proofs_check.theorem2 import SYMBOLS, check_all
    from fasttransfer.theory.grid_search import exponent_direct, exponent_transfer, is_useful

    results = check_all()
    by_name = {r.name: r for r in results}
    # the code's closed forms must equal the derived expressions: evaluate both at
    # random (alpha, beta, rho, h); 1e-12 relative is float64 round-off of a few ops
    args = [SYMBOLS[k] for k in ("alpha", "beta", "rho", "h")]
    f_d = sp.lambdify(args, by_name["direct_exponent"].expressions["derived e_D"], "numpy")
    f_t = sp.lambdify(args, by_name["transfer_exponent"].expressions["derived e_T"], "numpy")
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(0.05, 3, 2000), rng.uniform(0, 3, 2000),
                           rng.uniform(0.1, 4, 2000), rng.uniform(1, 6, 2000)])
    d_code = np.array([exponent_direct(a, r, h) for a, _, r, h in pts])
    t_code = np.array([exponent_transfer(a, b, r, h) for a, b, r, h in pts])
    d_sym = np.array([float(f_d(*p)) for p in pts])
    t_sym = np.array([float(f_t(*p)) for p in pts])
    err = max(np.max(np.abs(d_code - d_sym) / d_sym),
              np.max(np.abs(t_code - t_sym) / np.maximum(t_sym, 1e-300)))
    iff = all((t > d) == is_useful(a, b) for (a, b, _, _), t, d in zip(pts, t_sym, d_sym)
              if abs(b - a / 2) > 1e-9)
    ok = all(r.ok for r in results) and err < 1e-12 and iff
    lines = []
    for r in results:
        lines.append(f"**{r.name}** — ${r.statement}$ — sympy: {'established' if r.ok else 'NOT established'}")
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in r.latex().items()]
        lines.append("")
    lines.append(f"Code vs derivation at 2000 random (alpha, beta, rho, h): max relative "
                 f"difference {err:.2e}; sign(e_T - e_D) = sign(beta - alpha/2) at every point: {iff}.")
    return CheckResult(
        check="theorem2", claim="Theorem 2, symbolic (Lagrangian exponents, which term binds, iff)",
        paper=PAPER_CLAIM,
        measured=(f"{sum(r.ok for r in results)}/{len(results)} derivations established; "
                  f"code = derivation to {err:.1e}"),
        verdict="pass" if ok else "fail", details="\n".join(lines),
    )


def _study(ctx: CheckContext, cfg):
    """Brute-force optima, reused from ctx.results_dir when stored for this config."""
    import pandas as pd

    from fasttransfer.theory.grid_search import run_study

    csv, meta = ctx.results_dir / STORED, ctx.results_dir / STORED_CONFIG
    key = json.loads(json.dumps(asdict(cfg)))
    if csv.exists() and meta.exists():
        try:
            if json.loads(meta.read_text()) == key:
                ctx.log(f"reusing {csv}")
                return pd.read_csv(csv)
        except (OSError, json.JSONDecodeError):
            pass  # unreadable: recompute
    df = run_study(cfg, progress=lambda name: ctx.log(f"brute force: {name}"))
    atomic_write_csv(csv, df)
    atomic_write_json(meta, key)
    return df


def _numeric_row(ctx: CheckContext) -> CheckResult:
    import numpy as np

    from fasttransfer.theory.grid_search import SlopeStudyConfig, slopes_table

    cfg = SlopeStudyConfig.preset(ctx.base_preset)
    df = _study(ctx, cfg)
    tab = slopes_table(df, cfg)
    tol = cfg.tolerance
    # The exponent is the large-C slope: the criterion is the local slope over the top
    # decade of budgets, for every setting; the slope over all budgets is shown beside it
    # (it carries a C^-delta correction, large where delta is small).
    ok_top = bool(np.all(np.abs(tab.top_error) <= tol))
    n_settings = int(tab.setting.nunique())
    weak = tab[tab.beta == tab.alpha / 2]
    ok = ok_top and n_settings >= 4 and not weak.empty

    # the ratio E_T*/E_D* at the largest budget, per setting
    top = df[df.budget == df.budget.max()].pivot(index="setting", columns="strategy",
                                                 values="excess")
    lines = [f"Budgets C = 10^{cfg.lo:g} .. 10^{cfg.hi:g} ({cfg.budgets.size} points); integer "
             f"candidates: all up to 256, then a geometric grid of ratio {cfg.ratio}; the final "
             "width is the largest affordable one. Criterion: |local slope over the top decade - closed form| <= "
             f"{tol} for every setting; the slope over all budgets is shown for context.",
             "",
             "| setting | alpha | beta | rho | h | strategy | closed form | fitted (all C) | "
             "error | fitted (top decade) | error | delta |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in tab.iterrows():
        delta = "" if np.isnan(r.delta) else f"{r.delta:.3f}"
        lines.append(f"| {r.setting} | {r.alpha:g} | {r.beta:g} | {r.rho:g} | {r.h:g} | "
                     f"{r.strategy} | {r.closed_form:.4f} | {r.fitted:.4f} | {r.error:+.4f} | "
                     f"{r.top_decade:.4f} | {r.top_error:+.4f} | {delta} |")
    lines += ["", "E_T*/E_D* at the largest budget: " + ", ".join(
        f"{name}: {row['transfer'] / row['direct']:.3g}" for name, row in top.iterrows()),
        "", "delta = |e1 - e2|/(1 + max(e1, e2)) is the rate at which the non-binding part "
        "of the transfer excess fades (derived symbolically): fitted slopes over finite "
        "budgets exceed e_T by an amount of order C^-delta."]
    worst_top = float(np.max(np.abs(tab.top_error)))
    worst_all = float(np.max(np.abs(tab.error)))
    return CheckResult(
        check="theorem2", claim="Theorem 2, brute-force slopes vs closed forms",
        paper="E*(C) exponents as derived; tie at beta = alpha/2",
        measured=(f"max |top-decade slope - closed form| = {worst_top:.4f} over "
                  f"{n_settings} settings x 2 strategies (incl. beta = alpha/2); over all "
                  f"budgets 1e{cfg.lo:g}..1e{cfg.hi:g}: {worst_all:.4f}"),
        verdict="pass" if ok else "fail", details="\n".join(lines),
        note=("excess model of SPEC §1 on the SPEC §3 family: a_n = A n^-alpha, "
              "c_m = kappa/2 B^2 m^-2beta, grid-search excess kappa/2 h (box/2)^2 K^-2/h; "
              "the Llama row uses the paper's loss law with our HP drift"),
    )


def _figure(ctx: CheckContext) -> tuple[str, ...]:
    from fasttransfer.paper_figures import compute_optimal
    from fasttransfer.paper_figures.style import save

    save(compute_optimal.plot(compute_optimal.load(ctx.results_dir, ctx.base_preset)),
         ctx.figures_dir, compute_optimal.NAME)
    return (f"figures/{compute_optimal.NAME}.png",)


def run(ctx: CheckContext) -> list[CheckResult]:
    from dataclasses import replace

    ctx.log("symbolic derivations (sympy)")
    rows = [_symbolic_row()]
    ctx.log("brute-force compute-optimal search")
    rows.append(_numeric_row(ctx))
    rows[-1] = replace(rows[-1], figures=_figure(ctx))
    return rows

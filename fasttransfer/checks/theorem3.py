"""verify check ``theorem3``: random-feature ridge regression (SPEC §4).

Rows: (1) the two asymptotic formula sets agree (identity); (2) Monte Carlo at finite d
agrees with the asymptotic risk within 3 standard errors plus a finite-d bias allowance
(estimator vs known answer); (3) log-log slopes of a, b, c in psi1 beside the paper's
-1, -1, -2; (4) the sympy 1/psi1 expansion's constants vs the numeric rates table;
(5) the interior/boundary criterion for lam*_inf (contrast case).
"""

from __future__ import annotations

import math

from fasttransfer.checks import CheckContext, CheckResult

TITLE = "Theorem 3: random-feature ridge regression, a ~ psi^-1, b ~ psi^-1, c ~ psi^-2"
NOTE = ("Setting is ours (the paper fixes none): ReLU features, psi2 = n/d = 2, F1 = 1, "
        "F* = 0.5, tau = 0.5 (F1^2/(F*^2+tau^2) = 2 < zeta^2 = 2.75: interior optimum); "
        "lam is the width-aware penalty (N lam/d)||a||^2 of Mei & Montanari; b is measured "
        "on log lam.")

# grid of the formula identity: psi1 < psi2, psi1 = psi2 +- small, psi1 >> psi2, inf
GRID_PSI1 = (0.5, 1.9, 2.0 - 1e-3, 2.0 + 1e-3, 2.1, 8.0, 1e4, math.inf)
GRID_LAMS = (1e-4, 1e-2, 1.0, 10.0)
FORMULA_TOL = 1e-10
SLOPE_TOL = 0.02
# Richardson-extrapolated table (removes the O(1/psi1) term) vs the expansion: the
# remainder is O(psi1^-2) ~ 1e-9 at psi1 = 2^15 times constants of order 10; 1e-4 leaves
# room for the numerical derivatives of the mpmath optimum.
EXPANSION_TOL = 1e-4


def _fmt_table(df, cols, fmt="{:.6g}") -> str:
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join("| " + " | ".join(fmt.format(v) if isinstance(v, float) else str(v)
                                     for v in row) + " |\n"
                    for row in df[cols].itertuples(index=False))
    return head + body


def run(ctx: CheckContext) -> list[CheckResult]:
    import numpy as np

    from fasttransfer.paper_figures import rfrr_rates, rfrr_risk
    from fasttransfer.paper_figures.style import save
    from fasttransfer.proofs_check.rfrr_expansion import expansion_constants
    from fasttransfer.simulations.rfrr import (RFRRConfig, activation_coefficients, loglog_slopes,
                                  optimal_lambda, risk_deterministic_equivalent,
                                  risk_fixed_point, run_study)

    config = RFRRConfig.preset(ctx.base_preset)
    rc = config.rates
    kw = dict(F1=rc.F1, Fs=rc.Fs, tau=rc.tau, activation=rc.activation)
    rows: list[CheckResult] = []

    # (1) formula identity
    ctx.log("formula sets (A) Mei-Montanari vs (B) deterministic equivalent")
    worst, where = 0.0, None
    for p1 in GRID_PSI1:
        for lam in GRID_LAMS:
            ra = risk_fixed_point(p1, rc.psi2, lam, **kw)["R"]
            rb = risk_deterministic_equivalent(p1, rc.psi2, lam, **kw)["R"]
            rel = abs(ra - rb) / abs(rb)
            if rel > worst:
                worst, where = rel, (p1, lam)
    rows.append(CheckResult(
        check="theorem3", claim="RFRR asymptotic risk: two formula sets agree",
        paper="(Mei-Montanari 2019 = deterministic equivalent)",
        measured=f"max rel. diff {worst:.1e} over {len(GRID_PSI1) * len(GRID_LAMS)} points "
                 f"(tolerance {FORMULA_TOL:g})",
        verdict="pass" if worst <= FORMULA_TOL else "fail",
        details=f"Grid psi1 in {GRID_PSI1}, lam in {GRID_LAMS}, psi2 = {rc.psi2}; worst at "
                f"(psi1, lam) = {where}.",
    ))

    # stored study (resumable)
    ctx.log("rates table (mpmath) and Monte Carlo")
    res = run_study(ctx.results_dir / "rfrr", config, log=ctx.log, progress=False)

    # (2) Monte Carlo vs asymptotic
    mc = res["mc_summary"]
    ag = mc[mc.study == "agreement"].copy()
    ok = (ag.rel_err.abs() <= ag.tolerance).all()
    ag["z"] = (ag["mean"] - ag["asymptotic"]) / ag["se"]
    rows.append(CheckResult(
        check="theorem3", claim="RFRR Monte Carlo at finite d matches the asymptotic risk",
        paper="(formula from Mei-Montanari)",
        measured=f"max |rel. err| {ag.rel_err.abs().max():.2%} at d={config.mc_d} "
                 f"(tolerance 3 s.e. + 1/d), {len(ag)} points",
        verdict="pass" if ok else "fail",
        details=("Tolerance = 3 standard errors (over draws) + a finite-d bias allowance "
                 "1/d (measured bias ~0.5/d, see simulations.rfrr.mc_bias_allowance). "
                 "psi1 away from the interpolation peak psi1 = psi2.\n\n"
                 + _fmt_table(ag, ["psi1", "lam", "mean", "se", "asymptotic", "rel_err",
                                   "tolerance", "z"])),
        note="Our reconstruction: sphere data, ReLU features, target linear + random "
             "centred quadratic + Gaussian noise; each draw averages "
             f"{config.mc_targets} targets on the same features.",
    ))

    # (3) slopes
    rates = res["rates"]
    inter = rates[rates.setting == "interior"].reset_index(drop=True)
    sl = loglog_slopes(inter)
    paper = {"a": -1.0, "b": -1.0, "c": -2.0}
    within = all(abs(sl[k] - paper[k]) <= SLOPE_TOL for k in "abc")
    fin = inter[np.isfinite(inter.psi1)]
    big = fin.psi1.sort_values().tail(4)
    bd = rates[rates.setting == "boundary"]
    bd_fin = bd[np.isfinite(bd.psi1)]
    zero_from = bd_fin[bd_fin.boundary].psi1.min()
    figs = []
    for mod in (rfrr_risk, rfrr_rates):
        try:
            data = mod.load(ctx.results_dir, ctx.base_preset, config)
            save(mod.plot(data), ctx.figures_dir, mod.NAME)
            figs.append(f"figures/{mod.NAME}.png")
        except Exception as err:  # a figure problem must not hide the measurement
            ctx.log(f"figure {mod.NAME} failed: {err}")
    rows.append(CheckResult(
        check="theorem3", claim="RFRR rates in psi1: slopes of a, b, c",
        paper="-1, -1, -2",
        measured=f"{sl['a']:.4f}, {sl['b']:.4f}, {sl['c']:.4f} "
                 f"(psi1 = {big.min():g}..{big.max():g}, tolerance {SLOPE_TOL})",
        verdict="pass" if within else "differs",
        details=("lam*, R* in mpmath; a = |R*(psi1) - R*(inf)|, b = |log lam*(psi1) - "
                 "log lam*(inf)|, c = R_inf(lam*(psi1)) - R*(inf).\n\n"
                 + _fmt_table(inter, ["psi1", "lam_star", "risk_star", "a", "b", "c",
                                      "a_psi", "b_psi", "c_psi2"])
                 + "\n\nMonte Carlo (d = %d; a, c use the asymptotic R_inf, b the MC "
                   "lam*; finite-d values, not limits):\n\n" % config.mc_d
                 + _fmt_table(res["mc_rates"], ["psi1", "lam_star", "a", "a_se", "b",
                                                "b_se", "c", "c_se"])
                 + f"\n\nBoundary contrast (F1={config.boundary.F1}, F*={config.boundary.Fs}, "
                   f"tau={config.boundary.tau}: F1^2/(F*^2+tau^2) >= zeta^2): lam*_inf = 0 and "
                   f"lam*(psi1) = 0 exactly for psi1 >= {zero_from:g}, so b = c = 0 there while "
                   "a ~ psi1^-1; the c = Theta(b^2) expansion does not apply.\n\n"
                 + _fmt_table(bd, ["psi1", "lam_star", "risk_star", "a", "b_lin", "c",
                                   "boundary"])),
        figures=tuple(figs), note=NOTE,
    ))

    # (4) expansion constants
    ctx.log("sympy expansion in 1/psi1")
    co = activation_coefficients(rc.activation)
    if rc.activation == "relu":
        const = expansion_constants(psi2=rc.psi2, F1=rc.F1, Fs=rc.Fs, tau=rc.tau)
    else:
        const = expansion_constants(psi2=rc.psi2, F1=rc.F1, Fs=rc.Fs, tau=rc.tau,
                                    zeta2=co.zeta2, mus2=co.mus2)
    last2 = fin.sort_values("psi1").tail(2)
    rich = {k: float(2 * last2[k].iloc[1] - last2[k].iloc[0]) for k in ("a_psi", "b_psi", "c_psi2")}
    raw = {k: float(last2[k].iloc[1]) for k in rich}
    errs = {k: abs(rich[k] - const[k]) / abs(const[k]) for k in rich}
    c_ratio = const["c_psi2"] / (const["R0_uu"] * const["b_psi"] ** 2 / 2)
    rows.append(CheckResult(
        check="theorem3", claim="RFRR 1/psi1 expansion constants vs numeric rates",
        paper="c ~ R0'' b^2/2 (Theorem 3 proof idea)",
        measured=("a psi -> %.6g, b psi -> %.6g, c psi^2 -> %.6g; max rel. diff to the "
                  "extrapolated table %.1e" % (const["a_psi"], const["b_psi"],
                                                const["c_psi2"], max(errs.values()))),
        verdict="pass" if max(errs.values()) <= EXPANSION_TOL else "fail",
        details=("| quantity | expansion (sympy) | table at psi1=2^%d | Richardson "
                 "2 v(2^%d) - v(2^%d) | rel. diff |\n|---|---|---|---|---|\n"
                 % (int(round(math.log2(last2.psi1.iloc[1]))),
                    int(round(math.log2(last2.psi1.iloc[1]))),
                    int(round(math.log2(last2.psi1.iloc[0]))))
                 + "".join(f"| {k} | {const[k]:.8g} | {raw[k]:.8g} | {rich[k]:.8g} | "
                           f"{errs[k]:.1e} |\n" for k in rich)
                 + f"\nlam*_inf = {const['lam_star_inf']:.8g}, R*_inf = "
                   f"{const['risk_star_inf']:.8g}, R1(lam*) = {const['R1']:.6g}, "
                   f"R0''(log lam*) = {const['R0_uu']:.6g}; c psi^2/(R0'' (b psi)^2/2) = "
                   f"{c_ratio:.12f}."),
    ))

    # (5) interior iff F1^2/(Fs^2 + tau^2) < zeta^2
    verdicts = []
    for cfg in (config.rates, config.boundary):
        crit = cfg.F1 ** 2 / (cfg.Fs ** 2 + cfg.tau ** 2)
        opt = optimal_lambda(math.inf, cfg.psi2, F1=cfg.F1, Fs=cfg.Fs, tau=cfg.tau,
                             activation=cfg.activation)
        interior = opt.at_boundary is None
        verdicts.append((crit, interior, crit < co.zeta2, opt.lam_star))
    agree = all(v[1] == v[2] for v in verdicts)
    rows.append(CheckResult(
        check="theorem3", claim="RFRR kernel-limit lam* interior iff F1^2/(F*^2+tau^2) < zeta^2",
        paper="(hypothesis of Theorem 3: interior optimum)",
        measured="; ".join(f"ratio {c:.2f}: lam*_inf = {lam:.4g} ({'interior' if i else 'boundary'})"
                           for c, i, _, lam in verdicts) + f" (zeta^2 = {co.zeta2:.3f})",
        verdict="pass" if agree else "fail",
    ))
    return rows

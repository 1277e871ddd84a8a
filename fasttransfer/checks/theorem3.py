"""verify check ``theorem3``: random-feature ridge regression (the paper's
Theorem 3).

Main rows, the paper's setting (its Figure 4, docs/paper-setups.md#figure-4): tanh features
normalised, the normalised ReLU single-index target, Gaussian inputs, psi_1 = N/d = 4
samples, sigma_eps = 1/4, widths psi_2 = n/d, lambda in the paper's units, the HP gap on
lambda itself. (1) the two asymptotic formula sets agree; (2) the lambda normalisation
lam_paper = psi_1 lam_MM (sympy, and Monte Carlo draws of the paper's estimator);
(3) Monte Carlo at finite d vs the asymptotic risk; (4) Figure 4a's minima beside the
paper's; (5) Figure 4b's rates; (6) the closed form of lambda*(inf); (7) C_eta and
(8) C_lambda: the printed formulas vs an independent sympy derivation vs the numeric
rates. Secondary rows, labelled "(ours)": our earlier ReLU-feature setting in
Mei-Montanari's conventions.
"""

from __future__ import annotations

import logging
import math

from fasttransfer.checks import CheckContext, CheckResult

logger = logging.getLogger(__name__)

TITLE = "Theorem 3: random-feature ridge regression, a ~ psi^-1, b ~ psi^-1, c ~ psi^-2"
NOTE_PAPER = (
    "The paper's setting (Figure 4): sigma = tanh/||tanh||, sigma_* = normalised "
    "ReLU, x ~ N(0, I_d), psi_1 = N/d = 4 (samples), sigma_eps = 1/4, width "
    "psi_2 = n/d; lambda in the paper's units (= psi_1 x Mei-Montanari's; the "
    "readout normalisation 1/sqrt(n) that this needs is not stated in the paper); "
    "b = |lambda*(psi_2) - lambda*(inf)| on lambda itself; risks are excess risks "
    "(no test-label noise)."
)
NOTE_OURS = (
    "Ours, not the paper's: ReLU features (not odd: outside the theorem's "
    "assumption), sphere inputs, Mei-Montanari conventions psi1 = N/d width, "
    "psi2 = n/d = 2 samples, F1 = 1, F* = tau = 0.5 (F1^2/(F*^2+tau^2) = 2 < "
    "zeta^2 = 2.75: interior optimum), lam the width-aware penalty (N lam/d)||a||^2, "
    "b on log lam."
)

FORMULA_TOL = 1e-10  # (A) vs (B): both solved to ~1e-14; measured ~1e-14
SLOPE_TOL = 0.02  # next-order O(1/psi) terms at psi >= 2^12 move slopes by < 1e-2
# Richardson-extrapolated constants vs the sympy ones: the remainder after removing the
# O(1/psi) term is O(psi^-2) ~ 1e-9 at psi = 2^15 times constants of order 10, plus the
# mpmath optimum's numerical derivatives; 1e-4 leaves room for both
EXPANSION_TOL = 1e-4
CLOSED_FORM_TOL = 1e-10  # printed lambda*(inf) vs the mpmath optimiser (stored as float64)
PRINTED_TOL = 1e-8  # printed vs derived constants at one setting (both mpmath)
# the paper's Figure 4 values, read off the figure (approximate): shown beside
# ours, never enforced
PAPER_FIG = {
    "lam_star_4": "0.38",
    "lam_star_inf": "0.35",
    "risk_star_4": "0.390",
    "risk_star_inf": "0.358",
}


def _fmt_table(df, cols, fmt="{:.6g}") -> str:
    from fasttransfer.report import markdown_table

    rows = [
        [fmt.format(v) if isinstance(v, float) else str(v) for v in row]
        for row in df[cols].itertuples(index=False)
    ]
    return markdown_table(rows, cols) + "\n"


def _identity_row(config) -> CheckResult:
    """(A) Mei-Montanari fixed point vs (B) deterministic equivalent on grids in both
    settings, through the interpolation peak (width = samples) and the kernel limit."""
    from fasttransfer.theory.rfrr_asymptotics import risk_deterministic_equivalent, risk_fixed_point
    from fasttransfer.theory.rfrr_paper import to_mm

    P, oc = config.paper, config.ours
    grids = {
        "paper": [
            (to_mm(P.psi_1, w, lam), P.mm_kwargs())
            for w in (1.0, 3.9, P.psi_1 - 1e-3, P.psi_1 + 1e-3, 16.0, 1e4, math.inf)
            for lam in (1e-3, 0.08, 0.35, 1.0, 10.0)
        ],
        "ours": [
            ((p1, oc.psi2, lam), dict(F1=oc.F1, Fs=oc.Fs, tau=oc.tau, activation=oc.activation))
            for p1 in (0.5, 1.9, oc.psi2 - 1e-3, oc.psi2 + 1e-3, 8.0, 1e4, math.inf)
            for lam in (1e-4, 1e-2, 1.0, 10.0)
        ],
    }
    worst = {}
    for name, grid in grids.items():
        w, at = 0.0, None
        for (p1, p2, lam), kw in grid:
            ra = risk_fixed_point(p1, p2, lam, **kw)["R"]
            rb = risk_deterministic_equivalent(p1, p2, lam, **kw)["R"]
            if abs(ra - rb) / abs(rb) >= w:
                w, at = abs(ra - rb) / abs(rb), (p1, p2, lam)
        worst[name] = (w, at, len(grid))
    ok = all(v[0] <= FORMULA_TOL for v in worst.values())
    return CheckResult(
        check="theorem3",
        claim="RFRR asymptotic risk: two formula sets agree (tanh and ReLU features)",
        paper="(Mei-Montanari 2019 = deterministic equivalent)",
        measured="; ".join(
            f"{k}: max rel. diff {v[0]:.1e} over {v[2]} points" for k, v in worst.items()
        )
        + f" (tolerance {FORMULA_TOL:g})",
        verdict="pass" if ok else "fail",
        details="Worst points (MM psi1, psi2, lam_MM): "
        + "; ".join(f"{k}: {v[1]}" for k, v in worst.items())
        + ". The paper's grid crosses its "
        "interpolation peak psi_2 = psi_1 = 4.",
        note=NOTE_PAPER,
    )


def _mc_row(summ, width, label, z_max, setting_note) -> tuple[CheckResult, float]:
    """The Monte Carlo row from a stored summary (simulations.rfrr.mc_summary), and the
    largest |z| of the extrapolated means against the wrong penalty convention."""
    ext = summ[~(summ.d < math.inf)]
    raw = summ[summ.d < math.inf]
    ok = bool((ext.z.abs() <= z_max).all())
    ds = sorted(raw.d.unique())
    raw_err = {int(d): float(raw[raw.d == d].rel_err.abs().max()) for d in ds}
    alt = float(ext.z_alt.abs().max())
    details = (
        f"Monte Carlo means at d = {int(ds[0])} and {int(ds[1])} (draws x targets "
        "averaged per draw, standard error over draws), extrapolated to d -> inf as "
        "R(d) = R_inf + B/d (R_inf ~ (d2 R(d2) - d1 R(d1))/(d2 - d1)); z = (MC - "
        f"asymptotic)/se; family-wise 1% threshold |z| <= {z_max:.2f} (Bonferroni over "
        f"{len(ext)} cells). z_alt: the same against the wrong penalty convention "
        "(the MC must tell them apart).\n\n"
        + _fmt_table(
            summ,
            [
                width,
                "lam",
                "d",
                "mean",
                "se",
                "asymptotic",
                "rel_err",
                "z",
                "asymptotic_alt",
                "z_alt",
            ],
        )
    )
    measured = (
        f"extrapolated to d -> inf: max |z| {ext.z.abs().max():.2f} (threshold "
        f"{z_max:.2f}), max |rel. err| {ext.rel_err.abs().max():.2%}; raw max |rel. err| "
        + ", ".join(f"{v:.2%} at d={d}" for d, v in raw_err.items())
    )
    return CheckResult(
        check="theorem3",
        claim=f"RFRR Monte Carlo at finite d matches the asymptotic risk{label}",
        paper="(formula from Mei-Montanari)",
        measured=measured,
        verdict="pass" if ok else "fail",
        details=details,
        note=setting_note,
    ), alt


def _normalisation_row(const, alt_z, z_max) -> CheckResult:
    sym = const["symbolic"]
    loc = const["located"]
    ok_sym = sym["factor"] == "psi" and sym["R_inf_diff"] == "0"
    ok_mc = alt_z > z_max
    return CheckResult(
        check="theorem3",
        claim="Paper's lambda = psi_1 x Mei-Montanari's lambda",
        paper="(not stated: the paper's lambda and Mei-Montanari's differ by a constant factor)",
        measured=(
            f"sympy: printed lambda(t) / lambda_MM(t) = {sym['factor']} (= psi_1); "
            f"printed R_inf(lambda(t)) = ours + sigma_eps^2 identically; Monte Carlo of "
            f"the paper's estimator rejects factor 1 (max |z| {alt_z:.1f} > {z_max:.2f})"
        ),
        verdict="pass" if ok_sym and ok_mc else "fail",
        details=(
            "Derivation: the paper's objective sum_i (y_i - <a, sigma(Wx_i)>/sqrt(n))^2 + "
            "lam |a|^2 is a ridge n lam on the raw features Z; Mei-Montanari's "
            "objective times the sample count N is a ridge N n lam_MM/d on the same Z; "
            "so lam = (N/d) lam_MM = psi_1 lam_MM. Checked symbolically against the "
            "paper's own kernel-limit closed forms (proofs_check/rfrr_constants.py): "
            f"{loc['factor']}; {loc['R_inf_diff']}. The Monte Carlo row uses the paper's "
            "estimator (ridge n lam, Gaussian inputs and weights) against the MM "
            "formula at lam/psi_1; the alternative lam_MM = lam is rejected."
        ),
        note=NOTE_PAPER,
    )


PAPER_SLOPES = {"a": -1.0, "b": -1.0, "c": -2.0}


def _richardson(table, x: str, keys) -> dict:
    """Each column of ``keys`` extrapolated to x -> inf from the table's last two rows
    (:func:`theory.fits.richardson_limit`; the widths are an octave apart)."""
    from fasttransfer.theory.fits import richardson_limit

    t = table.sort_values(x)
    return {k: richardson_limit(t[x].to_numpy(), t[k].to_numpy()) for k in keys}


def _figure4a_row(res) -> CheckResult:
    """(4) Figure 4a: the minima move down with width and R* decreases."""
    import numpy as np

    opt = res["paper_optima"].sort_values("psi_2")
    first = opt[np.isfinite(opt.psi_2)].iloc[0]
    inf_row = opt[~np.isfinite(opt.psi_2)].iloc[0]
    down = bool(first.lam_star > inf_row.lam_star)
    r_dec = bool(np.all(np.diff(opt.risk_star.to_numpy()) < 0))
    lam_mono = bool(np.all(np.diff(opt.lam_star.to_numpy()) < 0))
    return CheckResult(
        check="theorem3",
        claim="Figure 4a: the optimum moves down with width, R* decreases",
        paper=(
            f"lambda* ~{PAPER_FIG['lam_star_4']} (n/d=4) -> ~{PAPER_FIG['lam_star_inf']} (inf); "
            f"R* ~{PAPER_FIG['risk_star_4']} -> ~{PAPER_FIG['risk_star_inf']} "
            "[read off the figure]"
        ),
        measured=(
            f"lambda* {first.lam_star:.4f} (n/d={first.psi_2:g}) -> {inf_row.lam_star:.4f} "
            f"(inf); R* {first.risk_star:.4f} -> {inf_row.risk_star:.4f}"
        ),
        verdict="pass" if down and r_dec else "differs",
        details=(
            "Minima by bounded Brent in log lambda on the asymptotic excess risk "
            "(paper units). Claim tested: lambda*(4) > lambda*(inf) and R*(psi_2) "
            "strictly decreasing; the figure's read-off values are shown, not enforced. "
            f"lambda*(psi_2) is {'monotone' if lam_mono else 'NOT monotone'} in the "
            "width (it first rises, the pre-asymptotic rise of b in Figure 4b).\n\n"
            + _fmt_table(opt, ["psi_2", "lam_star", "risk_star"])
        ),
        figures=("figures/rfrr_risk.png",),
        note=NOTE_PAPER,
    )


def _figure4b_row(rfin) -> CheckResult:
    """(5) Figure 4b: the slopes of a, b, c in psi_2 (``rfin``: the finite-width rates)."""
    import numpy as np

    from fasttransfer.theory.rfrr_asymptotics import loglog_slopes

    fig_rows = rfin[rfin.figure]
    sl = loglog_slopes(rfin, width="psi_2")
    sl_fig = loglog_slopes(fig_rows, width="psi_2")
    fig_tail = fig_rows.psi_2.tail(4)
    within = all(abs(sl[k] - PAPER_SLOPES[k]) <= SLOPE_TOL for k in "abc")
    big = rfin.psi_2.sort_values().tail(4)
    peak_b = float(fig_rows.psi_2.iloc[int(np.argmax(fig_rows.b.to_numpy()))])
    peak_c = float(fig_rows.psi_2.iloc[int(np.argmax(fig_rows.c.to_numpy()))])
    a4, a_last = float(fig_rows.a.iloc[0]), float(fig_rows.a.iloc[-1])
    return CheckResult(
        check="theorem3",
        claim="Figure 4b: slopes of a, b, c in psi_2 (b on lambda)",
        paper="-1, -1, -2; a ~3e-2 (psi_2=4) -> ~6e-4 (181); b, c peak near psi_2 ~6-8",
        measured=(
            f"{sl['a']:.4f}, {sl['b']:.4f}, {sl['c']:.4f} (psi_2 = {big.min():g}.."
            f"{big.max():g}, tolerance {SLOPE_TOL}); a {a4:.3g} -> {a_last:.3g} "
            f"(psi_2={fig_rows.psi_2.iloc[-1]:.0f}); peaks of b, c at psi_2 = "
            f"{peak_b:.3g}, {peak_c:.3g}"
        ),
        verdict="pass" if within else "differs",
        details=(
            "lambda*, R* in mpmath; a = |R*(psi_2) - R*(inf)|, b = |lambda*(psi_2) - "
            "lambda*(inf)| (paper units), c = R_inf(lambda*(psi_2)) - R*(inf). Slopes "
            "fitted on the four largest widths; over Figure 4b's last four widths "
            f"({fig_tail.iloc[0]:.0f}..{fig_tail.iloc[-1]:.0f}) they are "
            f"{sl_fig['a']:.3f}, {sl_fig['b']:.3f}, {sl_fig['c']:.3f} (pre-asymptotic). "
            "b and c rise below the peak (the pre-asymptotic rise the figure shows).\n\n"
            + _fmt_table(
                rfin,
                [
                    "psi_2",
                    "lam_star",
                    "risk_star",
                    "a",
                    "b",
                    "c",
                    "a_psi",
                    "b_psi",
                    "c_psi2",
                    "b_log",
                ],
            )
        ),
        figures=("figures/rfrr_rates.png",),
        note=NOTE_PAPER,
    )


def _closed_form_row(lam_inf_opt: float, const: dict) -> CheckResult:
    """(6) lambda*(inf): the printed closed form against our optimiser."""
    v, loc = const["values"], const["located"]
    rel = abs(v["lam_star_inf_printed"] - lam_inf_opt) / lam_inf_opt
    return CheckResult(
        check="theorem3",
        claim="lambda*(inf) closed form vs our optimiser (paper units)",
        paper="mu_1^2 (sigma_eps^2 + mu_2*^2)/mu_1*^2 - mu_2^2",
        measured=(
            f"printed {v['lam_star_inf_printed']:.10f} vs optimiser {lam_inf_opt:.10f} "
            f"(rel. diff {rel:.1e}, tolerance {CLOSED_FORM_TOL:g}); R*(inf) = "
            f"{v['risk_star_inf']:.10f}"
        ),
        verdict="pass"
        if rel <= CLOSED_FORM_TOL and const["symbolic"]["lam_star_diff"] == "0"
        else "fail",
        details=(
            f"Optimiser: the mpmath minimum of the deterministic equivalent at psi_2 = inf "
            f"(stored as float64). Symbolically: {loc['lam_star_diff']} (sympy, from the "
            f"optimality of R0 in proofs_check/rfrr_constants.py). t* = "
            f"{v['t_star']:.10g}."
        ),
        note=NOTE_PAPER,
    )


def _constant_rows(rfin, lam_inf_opt: float, const: dict, psi_1: float) -> list[CheckResult]:
    """(7) C_eta and (8) C_lambda: printed vs derived (sympy) vs numeric (Richardson)."""
    v, loc = const["values"], const["located"]
    lim = rfin.sort_values("psi_2").tail(2)
    rich = _richardson(rfin, "psi_2", ("a_psi", "b_psi", "c_psi2"))
    rows = []
    for name, key, printed_formula in (
        (
            "C_eta",
            "a_psi",
            "2 (mu_2*^2 + sigma_eps^2)(mu_1^2 + mu_2^2 t*)(t*-1)^3 / "
            "(mu_1^2 S(t*)(psi_1 t* - t* + 1))",
        ),
        (
            "C_lambda",
            "b_psi",
            "[(3 psi_1 - 4 mu_1^2 psi_1 + 1) t*^2 + 2 (2 mu_1^2 psi_1 - 1) t* + 1]/(2 psi_1 t*^2)",
        ),
    ):
        derived, printed = v[f"{name}_derived"], v[f"{name}_printed"]
        num = rich[key] / psi_1  # extrapolated constant: a psi_2 -> C_eta psi_1, etc.
        if key == "b_psi":  # b = |.|: the sign is that of lambda*(psi_2) - lambda*(inf)
            num = math.copysign(num, float(lim.lam_star.iloc[1]) - lam_inf_opt)
        err_num = abs(num - derived) / abs(derived)
        err_pr = abs(printed - derived) / abs(derived)
        verdict = (
            "fail" if err_num > EXPANSION_TOL else ("pass" if err_pr <= PRINTED_TOL else "differs")
        )
        sign_note = (
            "" if math.copysign(1, printed) == math.copysign(1, derived) else "; opposite signs"
        )
        rows.append(
            CheckResult(
                check="theorem3",
                claim=f"{name}: the paper's printed constant vs the exact asymptotics",
                paper=f"{name} = {printed:.6g} ({printed_formula})",
                measured=(
                    f"derived (sympy, fixed-point equations) {derived:.6g}; numeric "
                    f"(Richardson, psi_2 = {lim.psi_2.iloc[0]:.0f}, {lim.psi_2.iloc[1]:.0f}) "
                    f"{num:.6g}; printed/derived = {printed / derived:.4g}{sign_note}"
                ),
                verdict=verdict,
                details=(
                    f"{name} psi_1 is the limit of {key.replace('_psi', '')} psi_2"
                    f"{' (b on lambda, paper units)' if key == 'b_psi' else ''}; t* solves "
                    "the optimality of R_inf (sympy). Derived vs "
                    f"numeric rel. diff {err_num:.1e} (tolerance {EXPANSION_TOL:g}: a fail means "
                    f"our derivation is wrong); printed vs derived rel. diff {err_pr:.2g} "
                    f"(tolerance {PRINTED_TOL:g}). Table at psi_2 = {lim.psi_2.iloc[1]:.0f}: "
                    f"{float(lim[key].iloc[1]):.8g}; Richardson {rich[key]:.8g}; derived x "
                    f"psi_1 {derived * psi_1:.8g}.\n\nWhere they differ: {loc[name]}.\n\n"
                    f"Also: c psi_2^2 -> {v['c_psi2_derived']:.6g} (derived) vs "
                    f"{rich['c_psi2']:.6g} (Richardson)."
                ),
                note=NOTE_PAPER,
            )
        )
    return rows


def _ours_rates_row(orates, config) -> CheckResult:
    """(ours) the slopes in psi1, with the boundary contrast."""
    import numpy as np

    from fasttransfer.theory.rfrr_asymptotics import loglog_slopes

    inter = orates[orates.setting == "interior"].reset_index(drop=True)
    osl = loglog_slopes(inter)
    obig = inter[np.isfinite(inter.psi1)].psi1.sort_values().tail(4)
    bd = orates[orates.setting == "boundary"]
    bd_fin = bd[np.isfinite(bd.psi1)]
    zero_from = bd_fin[bd_fin.boundary].psi1.min()
    return CheckResult(
        check="theorem3",
        claim="(ours) RFRR rates in psi1: slopes of a, b (log lam), c",
        paper="-1, -1, -2",
        measured=(
            f"{osl['a']:.4f}, {osl['b']:.4f}, {osl['c']:.4f} (psi1 = {obig.min():g}.."
            f"{obig.max():g}, tolerance {SLOPE_TOL})"
        ),
        verdict="pass"
        if all(abs(osl[k] - PAPER_SLOPES[k]) <= SLOPE_TOL for k in "abc")
        else "differs",
        details=(
            "lam*, R* in mpmath; a = |R*(psi1) - R*(inf)|, b = |log lam*(psi1) - "
            "log lam*(inf)|, c = R_inf(lam*(psi1)) - R*(inf).\n\n"
            + _fmt_table(
                inter, ["psi1", "lam_star", "risk_star", "a", "b", "c", "a_psi", "b_psi", "c_psi2"]
            )
            + f"\n\nBoundary contrast (F1={config.boundary.F1}, F*={config.boundary.Fs}, "
            f"tau={config.boundary.tau}: F1^2/(F*^2+tau^2) >= zeta^2): lam*_inf = 0 and "
            f"lam*(psi1) = 0 exactly for psi1 >= {zero_from:g}, so b = c = 0 there while "
            "a ~ psi1^-1; the c = Theta(b^2) expansion does not apply.\n\n"
            + _fmt_table(bd, ["psi1", "lam_star", "risk_star", "a", "b_lin", "c", "boundary"])
        ),
        note=NOTE_OURS,
    )


def _ours_expansion_row(orates, oc) -> CheckResult:
    """(ours) the sympy 1/psi1 expansion constants against the extrapolated table."""
    import numpy as np

    from fasttransfer.proofs_check.rfrr_expansion import expansion_constants
    from fasttransfer.theory.gaussian_coefficients import activation_coefficients

    co = activation_coefficients(oc.activation)
    kw = dict(psi2=oc.psi2, F1=oc.F1, Fs=oc.Fs, tau=oc.tau)
    oconst = (
        expansion_constants(**kw)
        if oc.activation == "relu"
        else expansion_constants(**kw, zeta2=co.zeta2, mus2=co.mus2)
    )
    inter = orates[orates.setting == "interior"]
    orich = _richardson(inter[np.isfinite(inter.psi1)], "psi1", ("a_psi", "b_psi", "c_psi2"))
    oerr = {k: abs(orich[k] - oconst[k]) / abs(oconst[k]) for k in orich}
    return CheckResult(
        check="theorem3",
        claim="(ours) RFRR 1/psi1 expansion constants vs numeric rates",
        paper="c ~ R0'' b^2/2 (Theorem 3 proof idea)",
        measured=(
            f"a psi -> {oconst['a_psi']:.6g}, b psi -> {oconst['b_psi']:.6g}, "
            f"c psi^2 -> {oconst['c_psi2']:.6g}; max rel. diff to the "
            f"extrapolated table {max(oerr.values()):.1e}"
        ),
        verdict="pass" if max(oerr.values()) <= EXPANSION_TOL else "fail",
        details=(
            "".join(
                f"{k}: expansion {oconst[k]:.8g}, Richardson {orich[k]:.8g}, rel. diff "
                f"{oerr[k]:.1e}; "
                for k in orich
            )
            + f"lam*_inf = {oconst['lam_star_inf']:.8g}, "
            f"R*_inf = {oconst['risk_star_inf']:.8g}."
        ),
        note=NOTE_OURS,
    )


def _kernel_limit_row(config) -> CheckResult:
    """(ours) the kernel-limit optimum is interior iff F1^2/(F*^2+tau^2) < zeta^2."""
    from fasttransfer.theory.gaussian_coefficients import activation_coefficients
    from fasttransfer.theory.rfrr_asymptotics import optimal_lambda

    zeta2 = activation_coefficients(config.ours.activation).zeta2
    verdicts = []
    for cfg in (config.ours, config.boundary):
        crit = cfg.F1**2 / (cfg.Fs**2 + cfg.tau**2)
        o = optimal_lambda(
            math.inf, cfg.psi2, F1=cfg.F1, Fs=cfg.Fs, tau=cfg.tau, activation=cfg.activation
        )
        verdicts.append((crit, o.at_boundary is None, crit < zeta2, o.lam_star))
    return CheckResult(
        check="theorem3",
        claim="(ours) kernel-limit lam* interior iff F1^2/(F*^2+tau^2) < zeta^2",
        paper="(hypothesis of Theorem 3: interior optimum)",
        measured="; ".join(
            f"ratio {c:.2f}: lam*_inf = {lam:.4g} ({'interior' if i else 'boundary'})"
            for c, i, _, lam in verdicts
        )
        + f" (zeta^2 = {zeta2:.3f})",
        verdict="pass" if all(x[1] == x[2] for x in verdicts) else "fail",
        note=NOTE_OURS,
    )


def run(ctx: CheckContext) -> list[CheckResult]:
    import numpy as np

    from fasttransfer.rfrr_study import study_and_constants
    from fasttransfer.simulations.rfrr import RFRRConfig, z_threshold

    config = RFRRConfig.from_preset(ctx.base_preset)
    logger.info("study (asymptotics, rates in mpmath, Monte Carlo) and the sympy constants")
    res, const = study_and_constants(ctx.results_dir, config, recompute=ctx.recompute)

    # (2), (3) normalisation and Monte Carlo, the paper's setting
    summ = res["paper_mc_summary"]
    z_max = z_threshold(len(summ[~(summ.d < math.inf)]))
    mc_row, alt_z = _mc_row(
        summ,
        "psi_2",
        " (paper's setting: Gaussian inputs, tanh features, ReLU single-index target)",
        z_max,
        NOTE_PAPER,
    )
    rates = res["paper_rates"]
    rfin = rates[np.isfinite(rates.psi_2)]
    lam_inf_opt = float(rates[~np.isfinite(rates.psi_2)].lam_star.iloc[0])
    rows = [
        _identity_row(config),
        _normalisation_row(const, alt_z, z_max),
        mc_row,
        _figure4a_row(res),
        _figure4b_row(rfin),
        _closed_form_row(lam_inf_opt, const),
        *_constant_rows(rfin, lam_inf_opt, const, config.paper.psi_1),
    ]

    # secondary: ours
    o_summ = res["ours_mc_summary"]
    rows.append(
        _mc_row(
            o_summ,
            "psi1",
            " (ours: sphere, ReLU features)",
            z_threshold(len(o_summ[~(o_summ.d < math.inf)])),
            NOTE_OURS,
        )[0]
    )
    rows.append(_ours_rates_row(res["ours_rates"], config))
    logger.info("(ours) sympy expansion in 1/psi1 (deterministic-equivalent route)")
    rows.append(_ours_expansion_row(res["ours_rates"], config.ours))
    rows.append(_kernel_limit_row(config))
    return rows

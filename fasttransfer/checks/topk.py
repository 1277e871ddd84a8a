"""verify check ``topk``: the top-k trajectory decomposition and Hypothesis 1 (SPEC §6).

Per setting (the ReLU net of SPEC §5, where the paper reports weak transfer; the muP MLP
on MNIST-1D, where transfer is expected to be fast) the check puts side by side

* the measured transfer verdict: ``theory.rates.analyze_sweep`` on the final loss at the
  EMA point (beta - alpha/2 with its 95% interval);
* the three Hypothesis 1 statistics with their pass/fail rules
  (``simulations.hypothesis1.hypothesis1``) and Algorithm 1's kappa_hat(n) (our
  reconstruction of J_proxy).

The paper's mechanism: Hypothesis 1 => fast transfer, and the conditions hold where fast
transfer is observed. A setting's row is "pass" when the two measurements are consistent
(H1 holds and transfer is fast, or H1 fails and transfer is not fast), "differs" otherwise
(including an inconclusive transfer verdict, which cannot confirm the claim).

Machinery rows: the alignment spectra at the settings' real layer shapes against a dense
eigh ("fail" when off by more than the eigensolver's rounding bound), and the faithfulness
of the EMA linearisation (the paper calls it faithful; "differs" when the median relative
error exceeds 5% of the loss decrease).
"""

from __future__ import annotations

import math

from fasttransfer.checks import CheckContext, CheckResult

TITLE = "Top-k trajectory decomposition: Hypothesis 1 where transfer is fast"
FAITHFUL_MAX = 0.05  # median relative error allowed, as a fraction of the loss decrease

SETTING_TITLES = {
    "relu": "two-layer ReLU net (SPEC §5), muP + Adam",
    "mlp": "muP MLP (3 hidden layers) on MNIST-1D, Adam",
}
PAPER = {
    "relu": "weak transfer only (b_n ~ sqrt(a_n)); H1 is the mechanism of FAST transfer, "
            "so at least one condition should fail",
    "mlp": "(paper: Llama/GPT-2 under muP) fast transfer, with top-kappa strong convexity, "
           "top-kappa invariance and residual flatness all holding",
}


def _fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}g}"


def _alignment_exactness():
    """Max |reduction - dense eigh| / bound over the settings' layer shapes (width 1024)."""
    import numpy as np

    from fasttransfer.simulations.alignment import alignment_eigenvalues, alignment_matrix

    rng = np.random.default_rng(0)
    worst = 0.0
    shapes = [(1024, 8, "auto"), (1, 1024, "in"), (1024, 40, "auto"), (1024, 1024, "in"),
              (10, 1024, "in"), (16, 512, "in")]
    for m, n, side in shapes:
        G, dW = rng.normal(size=(m, n)), rng.normal(size=(m, n))
        lam = np.sort(np.asarray(alignment_eigenvalues(G, dW, side=side)))
        S = alignment_matrix(G, dW, side=side)
        dense = np.sort(np.linalg.eigvalsh(S))
        full = np.sort(np.concatenate([lam, np.zeros(len(dense) - len(lam))]))
        # backward-stable eigensolvers: |error| <= c n eps ||S||_2 (c = 50 generous)
        bound = 50 * len(dense) * np.finfo(float).eps * np.linalg.norm(S, 2)
        worst = max(worst, float(np.max(np.abs(full - dense)) / bound))
    return worst


def _analyze(final):
    from fasttransfer.theory.errors import InputError
    from fasttransfer.theory.rates import analyze_sweep

    sweep = final[["width", "hp", "loss", "seed"]]
    try:
        return analyze_sweep(sweep, bootstrap=200, seed=0, window=5), None
    except (InputError, ValueError) as err:  # e.g. an optimum on the grid's edge
        return None, str(err)


def _setting_row(setting: str, res: dict, figures: tuple[str, ...]) -> CheckResult:
    import numpy as np

    from fasttransfer.simulations.hypothesis1 import hypothesis1

    final, profile = res["final"], res["profile"]
    an, why = _analyze(final)
    h1 = hypothesis1(profile, final, window=2)
    verdict_word = an.verdict if an is not None else "inconclusive"
    fast = verdict_word == "fast"
    consistent = (h1.holds and fast) or (not h1.holds and verdict_word in ("weak", "no-transfer"))
    ok = lambda b: "pass" if b else "FAIL"  # noqa: E731
    slope = h1.invariance_slope
    khat = {n: k for n, k in h1.kappa_hat.items() if np.isfinite(k)}
    if an is not None:
        bma = an.beta_minus_half_alpha
        transfer = (f"transfer: {verdict_word} (beta - alpha/2 = {_fmt(bma.estimate)} "
                    f"[{_fmt(bma.ci[0])}, {_fmt(bma.ci[1])}])")
    else:
        transfer = f"transfer: inconclusive ({why})"
    measured = (f"{transfer}; H1 at kappa = {h1.kappa}: convexity {ok(h1.convexity_pass)}, "
                f"invariance {ok(h1.invariance_pass)} (slope {_fmt(slope[0])} "
                f"[{_fmt(slope[1])}, {_fmt(slope[2])}]), flatness {ok(h1.flatness_pass)}; "
                f"kappa_hat(n) = " + ", ".join(f"{n}:{int(k)}" for n, k in khat.items()))
    pw = h1.per_width
    lines = [f"**{SETTING_TITLES[setting]}** — EMA beta = {res['ema']:g} (chosen from the "
             "trade-off below), kappa = median kappa_hat = " f"{h1.kappa}.", "",
             "| width | kappa_hat | nu*(total) | nu*(top-kappa) | curvature mu ± SE | "
             "D_n = sup abs diff to n_max | V_n residual var | R_n flatness ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in pw.itertuples():
        lines.append(f"| {r.width} | {_fmt(r.kappa_hat)} | {r.nu_star_total:.2f} | "
                     f"{r.nu_star_topk:.2f} | {_fmt(r.curvature)} ± {_fmt(r.curvature_se, 2)} | "
                     f"{_fmt(r.sup_diff)} | {_fmt(r.residual_var)} | {_fmt(r.flatness_ratio)} |")
    k_max = int(profile["k"].max())
    if khat and all(int(k) == k_max for k in khat.values()):
        lines += ["", f"kappa_hat(n) = K_max = {k_max} at every width: Algorithm 1 finds no "
                  "split -- the top-kappa part is the whole linearised change, the residual "
                  "is 0, so flatness holds trivially and invariance is that of the total loss."]
    lines += ["", "Rules: " + "; ".join(f"*{k}*: {v}" for k, v in h1.rules.items()) + ".", ""]
    if an is not None:
        lines.append(f"analyze: alpha = {_fmt(an.alpha.estimate)} {tuple(round(c, 3) for c in an.alpha.ci)}, "
                     f"beta = {_fmt(an.beta.estimate)} {tuple(round(c, 3) for c in an.beta.ci)}, "
                     f"reference {an.reference}, {an.diverged} diverged runs.")
    trade = res["tradeoff"]
    lines += ["", "EMA trade-off (width " f"{res['config'].widths[min(1, len(res['config'].widths) - 1)]}, "
              "a large learning rate): beta → faithfulness error / lag: " +
              ", ".join(f"{b:g} → {_fmt(f, 2)} / {_fmt(l, 2)}"
                        for b, f, l in zip(trade["beta"], trade["faithfulness"], trade["lag"]))]
    if setting == "relu":
        note = ("The spectra of S live in the width dimension (side='auto'): the first layer "
                "W (n x d, d = 8) gives rank <= 16, so kappa ranges over 0..16 here.")
    else:
        note = ("MNIST-1D generated locally (mnist1d.make_dataset, default arguments); muP "
                "for Adam relative to base width 64; phi = training loss on a fixed subset.")
    note += (" Algorithm 1's J_proxy and the pass/fail thresholds are our reconstruction; the "
             "quick preset has few seeds and short training, so the transfer verdict may be "
             "inconclusive.")
    return CheckResult(
        check="topk",
        claim=f"Hypothesis 1 holds exactly where transfer is fast — {SETTING_TITLES[setting]}",
        paper=PAPER[setting],
        measured=measured,
        verdict="pass" if consistent else "differs",
        details="\n".join(lines),
        figures=figures,
        note=note,
    )


def run(ctx: CheckContext) -> list[CheckResult]:
    import numpy as np

    from fasttransfer.simulations.topk_study import SETTINGS, simulate

    results = simulate(ctx.results_dir, ctx.base_preset, progress=False,
                       recompute=ctx.recompute, log=ctx.log)
    # drawn by verify from the store (the MNIST-1D setting, as in the paper)
    figures = ("figures/topk_curves.png", "figures/topk_final.png", "figures/topk_profile.png")
    rows = [_setting_row(s, results[s], figures) for s in SETTINGS]

    worst = _alignment_exactness()
    rows.append(CheckResult(
        check="topk", claim="alignment spectra: 2r x 2r reduction equals dense eigh",
        paper="S(G, dW) eigenvalues (exact)",
        measured=f"max error / rounding bound = {worst:.3g} over layer shapes up to 1024 x 1024",
        verdict="pass" if worst <= 1.0 else "fail",
        details="Bound: 50 n eps ||S||_2 (backward-stable symmetric eigensolver)."))

    faith = np.concatenate([results[s]["final"]["faithfulness"].to_numpy() for s in SETTINGS])
    faith = faith[np.isfinite(faith)]
    per = {s: results[s]["final"]["faithfulness"] for s in SETTINGS}
    med = float(np.median(faith)) if len(faith) else math.nan
    rows.append(CheckResult(
        check="topk", claim="the EMA linearisation tracks the loss along the EMA trajectory",
        paper="faithful (qualitative: EMA removes edge-of-stability oscillations)",
        measured=(f"relative error (max over the curve / total loss decrease): median {_fmt(med)}, "
                  f"90th percentile {_fmt(float(np.percentile(faith, 90)) if len(faith) else math.nan)}; "
                  + ", ".join(f"{s}: median {_fmt(float(per[s].median()))}" for s in SETTINGS)),
        verdict="pass" if med <= FAITHFUL_MAX else "differs",
        details=(f"Threshold: median error <= {FAITHFUL_MAX:g} of the loss decrease. Gradient "
                 "rule: trapezoid (G at both ends of each interval; the left-point rule of "
                 "SPEC §6 had a 5-15x larger error in our ReLU pilot at the same cost)."),
        note="EMA factor chosen per setting as argmin of max(faithfulness error, EMA lag)."))
    return rows

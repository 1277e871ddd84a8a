"""verify check ``estimators``: the rate estimators of ``theory.rates`` recover known
rates on synthetic families (SPEC §2-3), among them the paper's Llama loss law
L = 3.137 + 13.16 n^-0.52 with a fast (beta = 0.75) and a weak (beta = alpha/2) HP
drift; the 95% intervals cover the truth at their nominal rate on redrawn sweeps; and
the late-shift family shows how weak transfer can look fast at small widths.

The families are synthetic: the loss law is the paper's, the HP drift, curvature and
noise are our choices (the paper publishes no sweep), so these rows test our machinery,
not the paper's measurements."""

from __future__ import annotations

from fasttransfer.theory.atomic import atomic_write_json

import json
import time
from pathlib import Path

import numpy as np

from fasttransfer.checks import CheckContext, CheckResult

TITLE = "rate estimators recover known alpha, beta and the verdict on synthetic sweeps"

WIDTHS = 128 * 2 ** np.arange(7)
H, SEEDS, NOISE = 31, 6, 1e-3
ALPHA_TOL = 0.03  # issue 2's done criterion for alpha on the Llama law
D_WIDTH_MAX = 0.2  # issue 2: interval of beta - alpha/2 narrower than this at 6 seeds
_COVERAGE_VERSION = 2  # bump when the estimator changes: stored coverage is then redone


def _sweep(fam, rng, *, seeds=SEEDS, noise=NOISE, widths=WIDTHS):
    grid = fam.nu_inf + np.linspace(-3.75, 3.75, H)
    return fam.sample_sweep(widths, grid, seeds=seeds, noise=noise, rng=rng)


def _e(est) -> str:
    return f"{est.estimate:.4f} [{est.ci[0]:.4f}, {est.ci[1]:.4f}]"


def _coverage(preset: str, results_dir: Path, log) -> dict:
    """Redraw sweeps of the fast and weak Llama families, analyse each, count how often
    the 95% intervals contain the truth. Stored as JSON and reused."""
    from scipy.stats import t

    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    n_draws, boot = (200, 1000) if preset == "paper" else (30, 200)
    path = results_dir / f"estimators_coverage_{preset}.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if (stored.get("n_draws") == n_draws and stored.get("bootstrap") == boot
                and stored.get("version") == _COVERAGE_VERSION):
            log(f"coverage: reusing {path}")
            return stored
    out = {"n_draws": n_draws, "bootstrap": boot, "version": _COVERAGE_VERSION, "families": {}}
    for name, beta in (("fast", 0.75), ("weak", 0.26)):
        fam = llama_family(beta)
        truth = {"alpha": fam.alpha, "beta": fam.beta, "d": fam.beta - fam.alpha / 2}
        rows = {k: [] for k in truth}
        for i in range(n_draws):
            r = analyze_sweep(_sweep(fam, 10_000 + i), bootstrap=boot, seed=i)
            for k, est in zip(truth, (r.alpha, r.beta, r.beta_minus_half_alpha)):
                rows[k].append([est.estimate, est.ci[0], est.ci[1]])
        fam_out = {}
        # the uncorrected interval the correction replaces: estimate +- 1.96 x raw
        # bootstrap sd, the raw sd recovered from the corrected half-width
        shrink = 1.959964 / (t.ppf(0.975, SEEDS - 1) * np.sqrt(SEEDS / (SEEDS - 1)))
        for k, v in rows.items():
            v = np.asarray(v)
            half_raw = shrink * (v[:, 2] - v[:, 1]) / 2
            fam_out[k] = {
                "truth": truth[k],
                "coverage": float(np.mean((v[:, 1] <= truth[k]) & (truth[k] <= v[:, 2]))),
                "coverage_uncorrected": float(np.mean(np.abs(v[:, 0] - truth[k]) <= half_raw)),
                "bias": float(v[:, 0].mean() - truth[k]),
                "sd_over_draws": float(v[:, 0].std(ddof=1)),
                "mean_half_width": float(np.mean(v[:, 2] - v[:, 1]) / 2),
            }
        out["families"][name] = fam_out
        log(f"coverage ({name}): " + ", ".join(f"{k} {fam_out[k]['coverage']:.2f}" for k in fam_out))
    atomic_write_json(path, out)
    return out


def _accuracy_table() -> tuple[list[str], bool]:
    """Estimates vs truth over a spread of families and noise levels (markdown rows) and
    whether every pure-quadratic family is within 2 interval half-widths (~5.6 sd)."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import PowerLawFamily

    rows = ["| alpha | beta | noise | cubic | alpha_hat [95%] | beta_hat [95%] | verdict (truth) |",
            "|---|---|---|---|---|---|---|"]
    ok = True
    cases = [(0.52, 0.75, 1e-3, 0.0), (0.52, 0.26, 1e-3, 0.0), (0.3, 0.5, 1e-4, 0.0),
             (1.0, 0.3, 1e-3, 0.0), (0.8, 0.8, 3e-3, 0.0), (0.52, 0.75, 1e-3, 0.1)]
    for i, (alpha, beta, noise, cubic) in enumerate(cases):
        fam = PowerLawFamily(phi_inf_star=3.137, A=13.16, alpha=alpha, kappa=0.2,
                             nu_inf=float(np.log(1e-2)), B=0.5 * 128.0**beta, beta=beta,
                             cubic=cubic)
        r = analyze_sweep(_sweep(fam, 500 + i, noise=noise), bootstrap=200, seed=i)
        d = beta - alpha / 2
        truth = "fast" if d > 0 else "weak"
        if abs(d) < 0.05:
            truth = "weak (boundary)"
        rows.append(f"| {alpha} | {beta} | {noise:g} | {cubic} | {_e(r.alpha)} | {_e(r.beta)} "
                    f"| {r.verdict} ({truth}) |")
        if cubic == 0.0:
            for est, true in ((r.alpha, alpha), (r.beta, beta)):
                ok &= abs(est.estimate - true) <= (est.ci[1] - est.ci[0]) + 1e-6
    return rows, ok


def run(ctx: CheckContext) -> list[CheckResult]:
    from fasttransfer.paper_figures import late_shift, rate_framework
    from fasttransfer.paper_figures.style import save
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    results: list[CheckResult] = []
    figs = []
    for mod in (rate_framework, late_shift):
        save(mod.plot(mod.load(ctx.results_dir, ctx.base_preset)), ctx.figures_dir, mod.NAME)
        figs.append(f"figures/{mod.NAME}.png")
    note = ("Synthetic sweeps: the paper's Llama loss law with an HP drift, curvature and "
            f"noise of our choosing (7 widths 128..8192 x {H} HPs x {SEEDS} seeds, loss noise "
            f"sd {NOISE:g}).")

    fast = llama_family(0.75)
    df_fast = _sweep(fast, 1)
    t0 = time.perf_counter()
    r_fast = analyze_sweep(df_fast, bootstrap=1000, seed=0)
    t_boot = time.perf_counter() - t0
    err = abs(r_fast.alpha.estimate - 0.52)
    results.append(CheckResult(
        check="estimators", claim="alpha of the Llama law L = 3.137 + 13.16 n^-0.52 is recovered",
        paper="alpha = 0.52", measured=f"alpha = {_e(r_fast.alpha)}; phi_inf = {_e(r_fast.phi_inf)}",
        verdict="pass" if err <= ALPHA_TOL else "fail",
        details=(f"|alpha_hat - 0.52| = {err:.4f} (tolerance {ALPHA_TOL}, issue 2). "
                 f"Full analysis (1000 bootstrap resamples) took {t_boot:.2f} s wall time."),
        figures=(figs[0],), note=note))

    dw = r_fast.beta_minus_half_alpha
    results.append(CheckResult(
        check="estimators", claim="a beta = 0.75 HP drift on the Llama law is called fast",
        paper="beta - alpha/2 = 0.49 > 0: fast",
        measured=f"beta = {_e(r_fast.beta)}; beta - alpha/2 = {_e(dw)} -> {r_fast.verdict}",
        verdict="pass" if (r_fast.verdict == "fast" and dw.width < D_WIDTH_MAX) else "fail",
        details=f"interval width of beta - alpha/2: {dw.width:.3f} (must be < {D_WIDTH_MAX}).",
        figures=(figs[0],), note=note))

    weak = llama_family(0.26)
    weak_sweep = _sweep(weak, 2)
    r_weak = analyze_sweep(weak_sweep, bootstrap=1000, seed=0)
    r_weak_l = analyze_sweep(weak_sweep, bootstrap=1000, seed=0, reference="largest")
    dw = r_weak.beta_minus_half_alpha
    results.append(CheckResult(
        check="estimators", claim="a beta = alpha/2 HP drift on the Llama law is called weak",
        paper="beta - alpha/2 = 0: weak",
        measured=f"beta = {_e(r_weak.beta)}; beta - alpha/2 = {_e(dw)} -> {r_weak.verdict}",
        verdict="pass" if (r_weak.verdict == "weak" and dw.width < D_WIDTH_MAX) else "fail",
        details=("With the largest width as the reference (the paper's proxy) the same sweep "
                 f"gives beta = {_e(r_weak_l.beta)} -> {r_weak_l.verdict}: "
                 "|nu_star(n) - nu_star(n_max)| is not a power law and its fitted slope is "
                 "biased upward, which is why `--reference extrapolate` is the default."),
        figures=(figs[0],), note=note))

    cov = _coverage(ctx.base_preset, ctx.results_dir, ctx.log)
    n = cov["n_draws"]
    # binomial: at nominal 95%, coverage over n draws has sd sqrt(.95*.05/n); 3 sd below
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / n)
    lines = ["| family | quantity | truth | coverage | coverage, uncorrected z x raw sd | bias "
             "| sd over draws | mean half-width |",
             "|---|---|---|---|---|---|---|---|"]
    worst = 1.0
    for fname, fam_cov in cov["families"].items():
        for k, v in fam_cov.items():
            worst = min(worst, v["coverage"])
            lines.append(f"| {fname} | {k} | {v['truth']:.3f} | {v['coverage']:.3f} | "
                         f"{v.get('coverage_uncorrected', float('nan')):.3f} | "
                         f"{v['bias']:+.4f} | {v['sd_over_draws']:.4f} | {v['mean_half_width']:.4f} |")
    acc_rows, acc_ok = _accuracy_table()
    summary = ", ".join(f"{f}: " + "/".join(f"{v['coverage']:.2f}" for v in fc.values())
                        for f, fc in cov["families"].items())
    results.append(CheckResult(
        check="estimators",
        claim="95% intervals (small-sample corrected bootstrap over 6 seeds) cover the truth",
        paper="- (SPEC §2: a plain percentile bootstrap was ~2x too narrow)",
        measured=f"coverage of alpha/beta/beta-alpha/2 over {n} redrawn sweeps: {summary}",
        verdict="pass" if (worst >= floor and acc_ok) else "fail",
        details=("Interval: estimate +- t_{S-1}(0.975) x sqrt(S/(S-1)) x bootstrap sd. "
                 f"Pass when every coverage >= {floor:.3f} (95% minus 3 binomial sd at "
                 f"{n} draws) and every pure-quadratic family below is recovered within two "
                 "interval half-widths.\n\n" + "\n".join(lines)
                 + "\n\nEstimator accuracy (one sweep each; cubic != 0 adds a cubic term "
                 "that biases a quadratic vertex fit):\n\n" + "\n".join(acc_rows)),
        figures=(figs[0],), note=note))

    fam = late_shift.family()
    small = late_shift.SMALL
    full = late_shift.FULL
    d_small = float(np.ptp(fam.nu_star(small)))
    d_full = float(np.ptp(fam.nu_star(full)))
    df_ls = _sweep(fam, 3, widths=full)
    r_small = analyze_sweep(df_ls[df_ls.width <= small.max()], bootstrap=300, reference="largest")
    r_full = analyze_sweep(df_ls, bootstrap=300)
    nu_hat = r_small.per_width.nu_star.to_numpy()
    results.append(CheckResult(
        check="estimators",
        claim="weak transfer can look fast at small widths (optimum stable up to n = 8192, then moving)",
        paper="Figure 2: the optimal HP shifts suddenly at n = 8192",
        measured=(f"fitted nu_star moves {np.ptp(nu_hat):.4f} over n = 128..4096 vs "
                  f"{d_full:.3f} over 128..131072 (true {d_small:.4f} vs {d_full:.3f})"),
        verdict="pass" if np.ptp(nu_hat) < 0.1 * d_full else "fail",
        details=(f"On n <= 4096 (largest-width reference) the analysis gives beta = "
                 f"{_e(r_small.beta)} -> {r_small.verdict}: the drift is not resolved, so the "
                 "verdict does not claim fast transfer; only widths past 8192 reveal the weak "
                 "rate beta = alpha/2. On all widths 128..131072 one power law "
                 f"nu_inf + B n^-beta gives beta = {_e(r_full.beta)} -> {r_full.verdict}: the "
                 "drift accelerates through the shift, which no single power law describes; "
                 "rates fitted across a regime change mislead either way."),
        figures=(figs[1],), note="Late-shift family of SPEC §3 (our construction of the paper's warning)."))
    return results

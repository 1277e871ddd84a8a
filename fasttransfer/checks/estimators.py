"""verify check ``estimators``: the rate estimators of ``theory.rates`` recover known
rates on synthetic families (docs/paper-setups.md#synthetic-families), among them the
paper's Llama loss law L = 3.137 + 13.16 n^-0.52 with a fast (beta = 0.75) and a weak (beta
= alpha/2) HP drift; their 95% intervals cover the truth and their verdicts are scored on
redrawn sweeps of the estimator's own model and of misspecified ones (common random numbers,
one seed, a small loss gap, cubic terms, pure log drift, no drift, a late shift, an
underpowered sweep: ``theory.synthetic.coverage_cases``); the late-shift family shows
how weak transfer can look still at small widths.

The families are synthetic: the loss law is the paper's, the HP drift, curvature and
noise are our choices (the paper publishes no sweep), so these rows test our machinery,
not the paper's measurements. Everything measured here -- the coverage table and the
data of the figures ``rate_framework`` and ``late_shift`` -- is stored through
``fasttransfer.store`` (study ``estimators``); ``verify`` draws the figures from there."""

from __future__ import annotations

import logging
import time

import numpy as np

from fasttransfer.checks import CheckContext, CheckResult

logger = logging.getLogger(__name__)

TITLE = "rate estimators recover known alpha, beta and the verdict on synthetic sweeps"

WIDTHS = 128 * 2 ** np.arange(7)
H, SEEDS, NOISE = 31, 6, 1e-3
ALPHA_TOL = 0.03  # acceptance criterion for alpha on the Llama law
D_WIDTH_MAX = 0.2  # acceptance: interval of beta - alpha/2 narrower than this at 6 seeds
# Coverage draws and bootstrap resamples per preset (``cpu`` runs at ``quick``).
SIZES = {"quick": {"draws": 12, "bootstrap": 200}, "paper": {"draws": 100, "bootstrap": 500}}
ON_MODEL = ("fast", "weak", "crn")  # >= 2 seeds, quadratic bowls: intervals must cover
NOMINAL_WRONG = 0.05  # a verdict rests on 95% intervals: wrong at most ~5% of the time
LATE_SMALL = 128 * 2 ** np.arange(6)  # 128 .. 4096
LATE_FULL = 128 * 2 ** np.arange(11)  # 128 .. 131072
MODULES = [
    "fasttransfer.theory.rates",
    "fasttransfer.theory.fits",
    "fasttransfer.theory.sweep_data",
    "fasttransfer.theory.framework",
    "fasttransfer.theory.synthetic",
    "fasttransfer.checks.estimators",
]
QUANTITIES = ("alpha", "beta", "beta_minus_half_alpha", "slope")


def _sweep(fam, rng, *, seeds=SEEDS, noise=NOISE, widths=WIDTHS):
    grid = fam.nu_inf + np.linspace(-3.75, 3.75, H)
    return fam.sample_sweep(widths, grid, seeds=seeds, noise=noise, rng=rng)


def _js(x):
    """JSON-ready: arrays to lists, NaN/inf to None, Estimates to {estimate, ci}."""
    if hasattr(x, "estimate") and hasattr(x, "ci"):
        return {"estimate": _js(x.estimate), "ci": [_js(x.ci[0]), _js(x.ci[1])]}
    if isinstance(x, dict):
        return {str(k): _js(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return [_js(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [_js(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


# ------------------------------------------------------------------------- coverage
def coverage(draws: int, bootstrap: int) -> dict:
    """Redraw every :func:`theory.synthetic.coverage_cases` sweep ``draws`` times,
    analyse each, and count how often each 95% interval contains the truth and how
    often each verdict comes out. Per case: {"truth", "right" (verdicts),
    "estimates": {quantity: [[estimate, lo, hi], ...]}, "verdicts": [...]}."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import coverage_cases

    out = {}
    for name, case in coverage_cases().items():
        rows = {k: [] for k in QUANTITIES}
        verdicts = []
        for i in range(draws):
            r = analyze_sweep(case.sample(10_000 + i), bootstrap=bootstrap, seed=i)
            verdicts.append(r.verdict)
            for k, e in zip(
                QUANTITIES, (r.alpha, r.beta, r.beta_minus_half_alpha, r.hp_drift), strict=False
            ):
                rows[k].append([e.estimate, e.ci[0], e.ci[1]])
        out[name] = {
            "description": case.description,
            "truth": case.truth,
            "right": list(case.right),
            "seeds": case.seeds,
            "widths": list(case.widths),
            "noise": case.noise,
            "seed_shift": case.seed_shift,
            "estimates": rows,
            "verdicts": verdicts,
        }
        logger.info(
            "coverage (%s): %s",
            name,
            ", ".join(f"{v} {verdicts.count(v)}" for v in sorted(set(verdicts))),
        )
    return out


def score(cov: dict) -> dict:
    """Coverage, bias and verdict rates per case from :func:`coverage`'s draws:
    {case: {"coverage": {quantity: {coverage, truth, bias, median_half_width}},
    "rates": {verdict: share}, "right": share, "wrong": share, "n": draws}}; a verdict
    is wrong when it is neither right for the case nor ``inconclusive``."""
    out = {}
    for name, c in cov.items():
        q = {}
        for k, rows in c["estimates"].items():
            truth = c["truth"].get(k)
            v = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
            if truth is None or not np.isfinite(truth) or v.size == 0:
                continue
            hit = (v[:, 1] <= truth) & (truth <= v[:, 2])
            q[k] = {
                "truth": truth,
                "coverage": float(hit.mean()),
                "bias": float(np.nanmedian(v[:, 0]) - truth),
                "median_half_width": float(np.nanmedian(v[:, 2] - v[:, 1]) / 2),
            }
        words = c["verdicts"]
        n = len(words)
        rates = {w: words.count(w) / n for w in sorted(set(words))}
        right = sum(words.count(w) for w in c["right"]) / n
        wrong = (
            sum(words.count(w) for w in set(words) if w not in c["right"] and w != "inconclusive")
            / n
        )
        out[name] = {"coverage": q, "rates": rates, "right": right, "wrong": wrong, "n": n}
    return out


def _floors(n: int) -> tuple[float, float]:
    """Binomial 3-sd allowances at n draws: the lowest coverage of a 95% interval and the
    highest wrong-verdict share that are still consistent with the nominal rates."""
    return (
        0.95 - 3 * np.sqrt(0.95 * 0.05 / n),
        NOMINAL_WRONG + 3 * np.sqrt(NOMINAL_WRONG * (1 - NOMINAL_WRONG) / n),
    )


def coverage_table(scored: dict) -> str:
    """Markdown table: one row per case, coverage of each quantity and the verdict rates."""
    from fasttransfer.report import markdown_table

    head = ["case", "setting", "alpha", "beta", "beta - alpha/2", "slope s", "verdicts"]
    rows = []
    for name, s in scored.items():
        cov = {k: f"{v['coverage']:.2f}" for k, v in s["coverage"].items()}
        rates = ", ".join(f"{w} {100 * r:.0f}%" for w, r in s["rates"].items())
        rows.append(
            [
                name,
                s.get("description", ""),
                cov.get("alpha", "-"),
                cov.get("beta", "-"),
                cov.get("beta_minus_half_alpha", "-"),
                cov.get("slope", "-"),
                rates,
                f"{100 * s['right']:.0f}%",
                f"{100 * s['wrong']:.0f}%",
            ]
        )
    return markdown_table(rows, [*head, "right", "wrong"])


# ------------------------------------------------------------------ single sweeps
def headline() -> dict:
    """The held-out acceptance checks at 1000 resamples: the fast and weak Llama sweeps
    (and the weak one with the largest-width reference), with the time they took."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    t0 = time.perf_counter()
    fast = analyze_sweep(_sweep(llama_family(0.75), 1), bootstrap=1000, seed=0)
    wall = time.perf_counter() - t0
    weak_df = _sweep(llama_family(0.26), 2)
    weak = analyze_sweep(weak_df, bootstrap=1000, seed=0)
    weak_l = analyze_sweep(weak_df, bootstrap=1000, seed=0, reference="largest")
    keep = lambda r: {
        "alpha": r.alpha,
        "beta": r.beta,
        "d": r.beta_minus_half_alpha,
        "phi_inf": r.phi_inf,
        "verdict": r.verdict,
        "reasons": list(r.reasons),
    }
    return _js(
        {"fast": keep(fast), "weak": keep(weak), "weak_largest": keep(weak_l), "wall_s_fast": wall}
    )


def accuracy() -> list[dict]:
    """Estimates vs truth over a spread of families and noise levels (one sweep each;
    cubic != 0 adds an asymmetric bowl that biases a quadratic vertex fit)."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import PowerLawFamily

    cases = [
        (0.52, 0.75, 1e-3, 0.0),
        (0.52, 0.26, 1e-3, 0.0),
        (0.3, 0.5, 1e-4, 0.0),
        (1.0, 0.3, 1e-3, 0.0),
        (0.8, 0.8, 3e-3, 0.0),
        (0.52, 0.75, 1e-3, 0.1),
    ]
    out = []
    for i, (alpha, beta, noise, cubic) in enumerate(cases):
        fam = PowerLawFamily(
            phi_inf_star=3.137,
            A=13.16,
            alpha=alpha,
            kappa=0.2,
            nu_inf=float(np.log(1e-2)),
            B=0.5 * 128.0**beta,
            beta=beta,
            cubic=cubic,
            quartic=0.05 if cubic else 0.0,
        )
        r = analyze_sweep(_sweep(fam, 500 + i, noise=noise), bootstrap=200, seed=i)
        out.append(
            _js(
                {
                    "alpha": alpha,
                    "beta": beta,
                    "noise": noise,
                    "cubic": cubic,
                    "alpha_hat": r.alpha,
                    "beta_hat": r.beta,
                    "verdict": r.verdict,
                }
            )
        )
    return out


def framework_data(bootstrap: int) -> dict:
    """The ``rate_framework`` figure's data: exact a_n, b_n, c_n of the fast and weak
    Llama families and what ``analyze`` estimates from one noisy 7 x 31 x 6 sweep of each
    (c: the model column, curvature_N/2 b^2)."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import llama_family

    out = {"widths": WIDTHS.astype(np.float64), "seeds": SEEDS, "noise": NOISE, "families": {}}
    for i, (name, fam) in enumerate((("fast", llama_family(0.75)), ("weak", llama_family(0.26)))):
        an = analyze_sweep(_sweep(fam, 100 + i), bootstrap=bootstrap, seed=i)
        pw = an.per_width
        out["families"][name] = {
            "alpha": fam.alpha,
            "beta": fam.beta,
            "a": fam.a(WIDTHS),
            "b": fam.b(WIDTHS),
            "c": fam.c(WIDTHS),
            "a_hat": pw.a.to_numpy(),
            "b_hat": pw.b.to_numpy(),
            "c_hat": pw.c.to_numpy(),
            "alpha_hat": an.alpha,
            "beta_hat": an.beta,
            "d_hat": an.beta_minus_half_alpha,
            "verdict": an.verdict,
        }
    return _js(out)


def late_shift_data(bootstrap: int) -> dict:
    """The ``late_shift`` figure's data: the family's exact nu_star(n), a_n, b_n and
    c_{128->N}, and the analyses of a small (n <= 4096) and the full sweep, each with the
    largest-width and the extrapolated reference; ``c_proxy`` = the estimated
    c_{128->N} = phi''_N/2 (nu_star(128) - nu_star(N))^2 from each width's fitted curve."""
    from fasttransfer.theory.rates import analyze_sweep
    from fasttransfer.theory.synthetic import late_shift_family

    fam = late_shift_family()
    grid = fam.nu_inf + np.linspace(-3.0, 4.5, 31)
    df = fam.sample_sweep(LATE_FULL, grid, seeds=SEEDS, noise=NOISE, rng=7)
    n_line = np.geomspace(64, 2.0**18, 200)
    n_c = n_line[n_line >= LATE_FULL[0]]
    res = {
        "n_line": n_line,
        "nu_line": fam.nu_star(n_line) - fam.nu_inf,
        "b_line": fam.b(n_line),
        "a_line": fam.a(n_line),
        "shift_width": fam.shift_width,
        "alpha": fam.alpha,
        "beta": fam.beta,
        "c_line": fam.c_finite(LATE_FULL[0], n_c),
        "n_c": n_c,
        "small_max": float(LATE_SMALL.max()),
        "seeds": SEEDS,
    }
    for name, sweep in (("small", df[df.width <= LATE_SMALL.max()]), ("full", df)):
        for ref in ("largest", "extrapolate"):
            an = analyze_sweep(sweep, bootstrap=bootstrap, reference=ref)
            pw = an.per_width
            nu = pw.nu_star.to_numpy()
            res[f"{name}_{ref}"] = {
                "widths": pw.width.to_numpy(),
                "nu_star": nu - fam.nu_inf,
                "nu_se": pw.nu_star_se.to_numpy(),
                "b": pw.b.to_numpy(),
                "a": pw.a.to_numpy(),
                "beta": an.beta,
                "d": an.beta_minus_half_alpha,
                "verdict": an.verdict,
                "c_proxy": 0.5 * pw.curvature.to_numpy() * (nu[0] - nu) ** 2,
            }
    return _js(res)


# --------------------------------------------------------------------------- store
def store_data(
    results_dir,
    preset: str,
    *,
    recompute: bool = False,
    draws: int | None = None,
    bootstrap: int | None = None,
):
    """The ``estimators`` entry of the results store (reused when its configuration
    and code are current): coverage.json, headline.json, accuracy.json and the two
    figures' data (rate_framework.json, late_shift.json). ``draws``/``bootstrap``
    override the preset's sizes (tests use tiny ones)."""
    from fasttransfer import store

    size = dict(SIZES["paper" if preset == "paper" else "quick"])
    if draws is not None:
        size["draws"] = int(draws)
    if bootstrap is not None:
        size["bootstrap"] = int(bootstrap)

    def run(entry):
        cov = coverage(size["draws"], size["bootstrap"])
        entry.write_json("coverage.json", _js(cov))
        entry.write_json("headline.json", headline())
        entry.write_json("accuracy.json", accuracy())
        entry.write_json("rate_framework.json", framework_data(size["bootstrap"]))
        entry.write_json("late_shift.json", late_shift_data(size["bootstrap"]))
        return {"draws": size["draws"], "bootstrap": size["bootstrap"]}

    return store.reuse_or_run(
        results_dir,
        "estimators",
        preset,
        config=size,
        modules=MODULES,
        run=run,
        recompute=recompute,
    )


# ----------------------------------------------------------------------- the check
def _e(est) -> str:
    lo, hi = est["ci"]
    if lo is None or hi is None:
        return f"{est['estimate']:.4f} (no interval)"
    return f"{est['estimate']:.4f} [{lo:.4f}, {hi:.4f}]"


def _coverage_result(cov: dict, acc: list, figs) -> CheckResult:
    from fasttransfer.report import markdown_table

    scored = score(cov)
    for name in scored:
        scored[name]["description"] = cov[name]["description"]
    n = min(s["n"] for s in scored.values())
    cov_floor, wrong_ceiling = _floors(n)
    low = [
        f"{c}: {k} {v['coverage']:.2f}"
        for c in ON_MODEL
        if c in scored
        for k, v in scored[c]["coverage"].items()
        if v["coverage"] < cov_floor
    ]
    wrong = [
        f"{c}: {100 * s['wrong']:.0f}% wrong"
        for c, s in scored.items()
        if s["wrong"] > wrong_ceiling
    ]
    weak_power = [c for c in ("fast", "weak") if c in scored and scored[c]["right"] < 0.5]
    acc_ok = all(
        abs(r["alpha_hat"]["estimate"] - r["alpha"])
        <= (r["alpha_hat"]["ci"][1] - r["alpha_hat"]["ci"][0]) + 1e-6
        for r in acc
        if r["cubic"] == 0.0 and r["alpha_hat"]["ci"][0] is not None
    )
    acc_table = markdown_table(
        [
            [
                r["alpha"],
                r["beta"],
                f"{r['noise']:g}",
                r["cubic"],
                _e(r["alpha_hat"]),
                _e(r["beta_hat"]),
                r["verdict"],
            ]
            for r in acc
        ],
        ["alpha", "beta", "noise", "cubic", "alpha_hat [95%]", "beta_hat [95%]", "verdict"],
    )
    ok = not low and not wrong and not weak_power and acc_ok
    measured = "; ".join(
        f"{c}: right {100 * s['right']:.0f}%, wrong {100 * s['wrong']:.0f}%"
        for c, s in scored.items()
    )
    return CheckResult(
        check="estimators",
        claim="95% intervals cover the truth on the estimator's model, and no verdict is "
        "confidently wrong on misspecified sweeps",
        paper="- (our estimator: a plain percentile bootstrap was ~2x too narrow)",
        measured=f"over {n} redrawn sweeps per case: {measured}",
        verdict="pass" if ok else "fail",
        details=(
            f"Pass: every coverage of the on-model cases {', '.join(ON_MODEL)} >= "
            f"{cov_floor:.3f} (95% minus 3 binomial sd at {n} draws); every case's share "
            f"of wrong verdicts (neither right nor inconclusive) <= {wrong_ceiling:.3f} "
            f"({100 * NOMINAL_WRONG:g}% plus 3 binomial sd); fast and weak right at least "
            "half the time; the pure-quadratic accuracy rows within one interval width."
            + (f" Failing: {'; '.join(low + wrong)}" if low or wrong else "")
            + (f" Underpowered: {', '.join(weak_power)}." if weak_power else "")
            + "\n\nCoverage of the 95% intervals (share of draws containing the truth; "
            "'-' where the case has no true value) and verdict rates:\n\n"
            + coverage_table(scored)
            + "\n\nEstimator accuracy (one sweep each):\n\n"
            + acc_table
        ),
        figures=(figs[0],),
        note="Synthetic sweeps (theory.synthetic.coverage_cases): the paper's Llama loss law "
        "with HP drifts, curvature, noise and seed effects of our choosing.",
    )


def run(ctx: CheckContext) -> list[CheckResult]:
    entry = store_data(ctx.results_dir, ctx.base_preset, recompute=ctx.recompute)
    figs = ("figures/rate_framework.png", "figures/late_shift.png")  # drawn by verify
    note = (
        "Synthetic sweeps: the paper's Llama loss law with an HP drift, curvature and "
        f"noise of our choosing (7 widths 128..8192 x {H} HPs x {SEEDS} seeds, loss noise "
        f"sd {NOISE:g}). Stored: {entry.describe()}."
    )
    head = entry.read_json("headline.json")
    fast, weak, weak_l = head["fast"], head["weak"], head["weak_largest"]
    err = abs(fast["alpha"]["estimate"] - 0.52)
    results = [
        CheckResult(
            check="estimators",
            claim="alpha of the Llama law L = 3.137 + 13.16 n^-0.52 is recovered",
            paper="alpha = 0.52",
            measured=f"alpha = {_e(fast['alpha'])}; phi_inf = {_e(fast['phi_inf'])}",
            verdict="pass" if err <= ALPHA_TOL else "fail",
            details=(
                f"|alpha_hat - 0.52| = {err:.4f} (tolerance {ALPHA_TOL}, our acceptance criterion). "
                f"Full analysis (1000 bootstrap resamples) took {head['wall_s_fast']:.2f} s wall time."
            ),
            figures=(figs[0],),
            note=note,
        )
    ]
    for r, word, claim, paper in (
        (
            fast,
            "fast",
            "a beta = 0.75 HP drift on the Llama law is called fast",
            "beta - alpha/2 = 0.49 > 0: fast",
        ),
        (
            weak,
            "weak",
            "a beta = alpha/2 HP drift on the Llama law is called weak",
            "beta - alpha/2 = 0: weak",
        ),
    ):
        d = r["d"]
        width = (d["ci"][1] - d["ci"][0]) if d["ci"][0] is not None else np.inf
        extra = (
            ""
            if word == "fast"
            else " With the largest width as the reference (the paper's proxy) the same sweep "
            f"gives beta = {_e(weak_l['beta'])} -> {weak_l['verdict']}: |nu_star(n) - "
            "nu_star(n_max)| is not a power law and its fitted slope is biased upward, "
            "which is why `--reference extrapolate` is the default."
        )
        results.append(
            CheckResult(
                check="estimators",
                claim=claim,
                paper=paper,
                measured=f"beta = {_e(r['beta'])}; beta - alpha/2 = {_e(d)} -> {r['verdict']}",
                verdict="pass" if (r["verdict"] == word and width < D_WIDTH_MAX) else "fail",
                details=(
                    f"interval width of beta - alpha/2: {width:.3f} (must be < {D_WIDTH_MAX}). "
                    f"Reasons: {'; '.join(r['reasons'])}.{extra}"
                ),
                figures=(figs[0],),
                note=note,
            )
        )
    results.append(
        _coverage_result(entry.read_json("coverage.json"), entry.read_json("accuracy.json"), figs)
    )
    results.append(_late_shift_result(entry.read_json("late_shift.json"), figs))
    return results


def _late_shift_result(ls: dict, figs) -> CheckResult:
    from fasttransfer.theory.synthetic import late_shift_family

    fam = late_shift_family()
    d_small = float(np.ptp(fam.nu_star(LATE_SMALL)))
    d_full = float(np.ptp(fam.nu_star(LATE_FULL)))
    small, full = ls["small_largest"], ls["full_extrapolate"]
    nu_hat = np.asarray(small["nu_star"], dtype=np.float64)
    ok = np.ptp(nu_hat) < 0.1 * d_full and small["verdict"] != "fast"
    return CheckResult(
        check="estimators",
        claim="weak transfer can look still at small widths (optimum stable up to n = 8192, then moving)",
        paper="Figure 2: the optimal HP shifts suddenly at n = 8192",
        measured=(
            f"fitted nu_star moves {np.ptp(nu_hat):.4f} over n = 128..4096 vs "
            f"{d_full:.3f} over 128..131072 (true {d_small:.4f} vs {d_full:.3f})"
        ),
        verdict="pass" if ok else "fail",
        details=(
            f"On n <= 4096 (largest-width reference) the analysis gives beta = "
            f"{_e(small['beta'])} -> {small['verdict']}: the drift is not resolved, so the "
            "verdict does not claim fast transfer; only widths past 8192 reveal the weak "
            "rate beta = alpha/2. On all widths 128..131072 one power law "
            f"nu_inf + B n^-beta gives beta = {_e(full['beta'])} -> {full['verdict']}: the "
            "drift accelerates through the shift, which no single power law describes; "
            "rates fitted across a regime change mislead either way."
        ),
        figures=(figs[1],),
        note="Late-shift family (docs/paper-setups.md#synthetic-families; our construction of the paper's warning).",
    )

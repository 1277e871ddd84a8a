"""verify check ``theorem1``: the paper's Proposition 1 (rate relations; the check keeps
its historical name), symbolically (sympy derivations from stated assumptions, each able
to fail) and on random families ``phi_n = phi_inf + perturbation`` with known mu, L and
eps_n, plus a constructed family that attains the chain up to a constant factor."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from fasttransfer.checks import CheckContext, CheckResult

logger = logging.getLogger(__name__)

TITLE = (
    "Proposition 1: a_n <= eps_n, c_n <= 2 eps_n, mu/2 b^2 <= c <= L/2 b^2, fast iff beta > alpha/2"
)

PAPER_CLAIM = (
    "b_n = O(a_n^1/2), c_n = Theta(b_n^2) = O(a_n); fast (c_n = o(a_n)) iff "
    "b_n = o(a_n^1/2) iff beta > alpha/2"
)


@dataclass(frozen=True)
class Theorem1Config:
    families: int
    widths: tuple[int, ...]
    seed: int = 0

    @classmethod
    def from_preset(cls, name: str, **overrides) -> Theorem1Config:
        """``quick``: 400 families; otherwise 4000; widths 2^6..2^13."""
        widths = tuple(2**k for k in range(6, 14))
        return replace(cls(families=400 if name == "quick" else 4000, widths=widths), **overrides)


def _symbolic_rows() -> list[CheckResult]:
    from fasttransfer.proofs_check.theorem1 import check_all

    results = check_all()
    ok = all(r.ok for r in results)
    lines = []
    for r in results:
        lines.append(
            f"**{r.name}** — ${r.statement}$ — sympy: {'established' if r.ok else 'NOT established'}"
        )
        lines.append("")
        for k, v in r.latex().items():
            lines.append(f"- {k}: {v}")
        lines.append("")
    return [
        CheckResult(
            check="theorem1",
            claim="Proposition 1, symbolic (bracket certificates, locally tight gap, Taylor "
            "sandwich, HP gap, exponent conditions)",
            paper=PAPER_CLAIM,
            measured=(
                f"{sum(r.ok for r in results)}/{len(results)} derivations established by "
                "sympy from the stated assumptions"
            ),
            verdict="pass" if ok else "fail",
            details=(
                "Each step derives its conclusion from its assumptions (a certificate for "
                "each bracket, integrals of the curvature bounds against the Taylor weight, "
                "limits along the rates); the tests pass mutated assumptions and wrong "
                "constants and see each step fail.\n\n" + "\n".join(lines)
            ),
        )
    ]


def _numeric_rows(ctx: CheckContext, cfg: Theorem1Config) -> list[CheckResult]:
    import numpy as np

    from fasttransfer.proofs_check.theorem1 import inequality_slack, random_families, tight_family
    from fasttransfer.report import markdown_table
    from fasttransfer.theory.fits import loglog_slope

    rng = np.random.default_rng(cfg.seed)
    g = random_families(rng, cfg.families, cfg.widths)
    slack = inequality_slack(g)
    count = cfg.families * len(cfg.widths)
    table = markdown_table(
        [[k, f"{v:.6f}"] for k, v in slack.items() if k != "holds"],
        ["ratio (Proposition 1: <= 1)", "max over all families and widths"],
    )
    rows = [
        CheckResult(
            check="theorem1",
            claim="Proposition 1 inequalities on random families",
            paper="every inequality holds whenever the assumptions do",
            measured=(
                f"{'all hold' if slack['holds'] else 'VIOLATED'} on {cfg.families} random "
                f"families x {len(cfg.widths)} widths ({count} cases); max c_n/(2 eps_n) = "
                f"{slack['c_n / (2 eps_n)']:.3f}, max b_n/(2 sqrt(eps_n/mu)) = "
                f"{slack['b_n / (2 sqrt(eps_n/mu))']:.3f}"
            ),
            verdict="pass" if slack["holds"] else "fail",
            details=(
                "phi_inf = mu/2 x^2 + (L - mu) w^2 log cosh(x/w) (curvature in [mu, L]), "
                "perturbation eps_n * (random cosine sum)/(sum |coef|), eps_n = E0 n^-0.5; "
                "mu ~ logU(0.1, 10), L/mu ~ logU(1, 20).\n\n" + table
            ),
        )
    ]

    tf = tight_family(np.asarray(cfg.widths, dtype=np.float64))
    r_c = tf["c"] / (2.0 * tf["eps"])
    r_b = tf["b"] / (2.0 * np.sqrt(tf["eps"] / tf["mu"]))
    slope_b_vs_a = float(loglog_slope(tf["eps"], tf["b"]).slope)
    # "tight up to a constant": the ratios are the same at every width (the family is
    # scale-invariant in sqrt(eps_n/mu); the spread is float rounding, the grid being
    # scaled with it) and bounded away from 0 -- 0.1 is far below the measured values.
    spread = max(np.ptp(r_c) / r_c.mean(), np.ptp(r_b) / r_b.mean())
    tight = bool(
        spread < 1e-9 and r_c.min() > 0.1 and r_b.min() > 0.1 and abs(slope_b_vs_a - 0.5) < 1e-6
    )
    per = markdown_table(
        [
            [int(n), f"{e:.4g}", f"{b:.4g}", f"{c:.4g}", f"{x:.4f}", f"{y:.4f}"]
            for n, e, b, c, x, y in zip(
                cfg.widths, tf["eps"], tf["b"], tf["c"], r_c, r_b, strict=False
            )
        ],
        ["n", "eps_n", "b_n", "c_n", "c_n/(2 eps_n)", "b_n/(2 sqrt(eps_n/mu))"],
    )
    rows.append(
        CheckResult(
            check="theorem1",
            claim="Proposition 1 is tight up to a constant (constructed family)",
            paper="b_n = O(a_n^1/2) cannot be improved without structure (beta = alpha/2 attainable)",
            measured=(
                f"c_n/(2 eps_n) = {r_c.mean():.3f}, b_n/(2 sqrt(eps_n/mu)) = {r_b.mean():.3f} "
                f"at every width; slope of log b_n vs log eps_n = {slope_b_vs_a:.4f}"
            ),
            verdict="pass" if tight else "fail",
            details=(
                "phi_inf = mu/2 x^2; perturbation eps_n cos(pi x/x0) for |x| <= x0, -eps_n "
                "beyond, x0 = 2 sqrt(eps_n/mu): it raises nu* by eps_n and lowers the region "
                "near x0, so the optimum moves by Theta(sqrt(eps_n/mu)).\n\n" + per
            ),
        )
    )
    return rows


# Figure theorem1_gaps: a fast (beta > alpha/2) and a weak (beta = alpha/2) synthetic
# family; B keeps b_n^2 visibly apart from a_n in the weak panel.
GAP_FAMILIES = {"alpha": 0.5, "betas": {"fast": 0.5, "weak": 0.25}, "B": 0.6}


def _store_gap_curves(ctx: CheckContext) -> None:
    """What figure theorem1_gaps draws: exact a_n, b_n^2, c_n of the two families of
    GAP_FAMILIES (theory.synthetic.PowerLawFamily) at 13 (quick) or 25 widths with
    their log-log slopes, stored at OUT/theorem1/<preset>/gaps.json."""
    import numpy as np

    from fasttransfer import store
    from fasttransfer.theory.fits import loglog_slope
    from fasttransfer.theory.synthetic import PowerLawFamily

    points = 13 if ctx.base_preset == "quick" else 25

    def run(entry):
        widths = np.geomspace(16.0, 65536.0, points)
        families = {}
        for name, beta in GAP_FAMILIES["betas"].items():
            fam = PowerLawFamily(
                A=1.0, alpha=GAP_FAMILIES["alpha"], kappa=1.0, B=GAP_FAMILIES["B"], beta=beta
            )
            gaps = {"a_n": fam.a(widths), "b_n^2": fam.b(widths) ** 2, "c_n": fam.c(widths)}
            families[name] = {
                "alpha": GAP_FAMILIES["alpha"],
                "beta": beta,
                "gaps": {k: v.tolist() for k, v in gaps.items()},
                "slopes": {k: float(loglog_slope(widths, v).slope) for k, v in gaps.items()},
            }
        entry.write_json("gaps.json", {"widths": widths.tolist(), "families": families})

    store.reuse_or_run(
        ctx.results_dir,
        "theorem1",
        ctx.base_preset,
        config={**GAP_FAMILIES, "points": points},
        modules=(
            "fasttransfer.theory.synthetic",
            "fasttransfer.theory.framework",
            "fasttransfer.theory.fits",
        ),
        run=run,
        recompute=ctx.recompute,
    )


def run(ctx: CheckContext) -> list[CheckResult]:
    from dataclasses import replace

    cfg = Theorem1Config.from_preset(ctx.base_preset)
    logger.info("symbolic derivations (sympy)")
    rows = _symbolic_rows()
    logger.info("random families: %s x %d widths", cfg.families, len(cfg.widths))
    rows += _numeric_rows(ctx, cfg)
    # named here, drawn by verify from the stored curves (a figure that cannot be drawn
    # fails this check)
    _store_gap_curves(ctx)
    rows[-1] = replace(rows[-1], figures=("figures/theorem1_gaps.png",))
    return rows

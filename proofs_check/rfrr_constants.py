"""Theorem 3's closed forms (the paper's Appendix B.4) against an independent derivation
from the Mei-Montanari fixed-point equations (docs/paper-setups.md#fixed-point-equations-set-a).

Notation. MM's width psi1 is the paper's psi_2, MM's sample ratio psi2 is the paper's
psi_1 =: psi; eps = 1/psi_2. z2 = zeta^2 = mu_1^2/mu_2^2 (unit-norm features:
mu_1^2 = z2/(1 + z2), mu_2^2 = 1/(1 + z2)); F1^2 = mu_1*^2, N2 = tau^2 + Fs^2 =
sigma_eps^2 + mu_2*^2.

Derivation (sympy, :func:`derive`).
1. The rescaled fixed point G(alpha, beta; eps, s) = 0,
       G1 = alpha (s + eps beta q) - 1,  G2 = beta (s + alpha q) - psi,
       q = 1 + z2/(1 + z2 alpha beta),  s^2 = psi lam_bar,  chi = -alpha beta,
   and R(chi, eps) = F1^2 E1/E0 + N2 E2/E0 + Fs^2 with MM's polynomials divided by psi1.
2. At eps = 0: alpha0 = 1/s, beta0 = -s chi0, and G2 = 0 gives s^2 explicitly in chi0.
   The paper's variable is t = 1 - z2 chi0 (= 1 + z2/k of the deterministic equivalent),
   so s^2 = ell(t) = z2 psi/(t - 1) - z2/t - 1.
3. Implicit differentiation at fixed lam (fixed s): d(alpha, beta)/deps = -J^-1 dG/deps,
   dchi/deps = -(beta dalpha/deps + alpha dbeta/deps), and
       R1 = dR/deps + dR/dchi dchi/deps   (at eps = 0),
   so R(lam, psi_2) = R0(lam) + R1(lam)/psi_2 + O(psi_2^-2), R0, R1 rational in t.
4. The optimum of R0 (dR0/dt = 0) fixes F1^2/N2 = t (t - 1)/(psi t - t + 1), a quadratic
   for t*. With d/dlam = (dlam/dt)^-1 d/dt (lam in the paper's units):
       R*(psi_2)   = R0* + R1(t*)/psi_2            -> C_eta    = R1(t*)/psi
       lam*(psi_2) = lam*(inf) - R1'/R0'' / psi_2  -> C_lambda = -R1'(t*)/(R0''(t*) psi)
       c psi_2^2  -> R1'^2/(2 R0'')
   (eta = psi/psi_2, so C eta = C psi/psi_2.)
5. The lambda normalisation: lam_MM = mus^2 lam_bar = mu_2^2 s^2/psi, and the paper's
   printed lam(t) divided by it simplifies to psi: lam_paper = psi_1 lam_MM.

Every printed formula is compared with its derived counterpart symbolically (a ratio or a
difference that sympy simplifies) and numerically in mpmath at a setting.

Imports sympy, mpmath and theory (proofs_check -> theory).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

logger = logging.getLogger(__name__)

# symbols: t (paper), psi = paper psi_1, z2 = zeta^2, F1S = mu_1*^2, N2 = sigma^2 + mu_2*^2,
# FS2 = mu_2*^2, eps = 1/psi_2
T, PSI, Z2 = sp.symbols("t psi zeta2", positive=True)
F1S, N2, FS2 = sp.symbols("F1sq N2 Fssq", positive=True)
EPS, S, CHI0 = sp.symbols("epsilon s chi0", real=True)
ALPHA, BETA, CHI = sp.symbols("alpha beta chi", real=True)

MU1S = Z2 / (1 + Z2)  # mu_1^2 of unit-norm features
MU2S = 1 / (1 + Z2)  # mu_2^2 = 1 - mu_1^2


def mm_polynomials(chi, psi, z2, eps):
    """E0, E1, E2 of Mei-Montanari (set A, docs/paper-setups.md) divided by psi1, eps = 1/psi1;
    psi = MM's psi2 (samples)."""
    z4, z6 = z2**2, z2**3
    e0 = (
        (psi - 1) * chi**3 * z6
        + (1 - 3 * psi) * chi**2 * z4
        + 3 * psi * chi * z2
        - psi
        + eps
        * (
            -(chi**5) * z6
            + 3 * chi**4 * z4
            + (1 - psi) * chi**3 * z6
            - 2 * chi**3 * z4
            - 3 * chi**3 * z2
            + (psi + 1) * chi**2 * z4
            + 2 * chi**2 * z2
            + chi**2
        )
    )
    e1 = psi * chi * z2 - psi + eps * (psi * chi**3 * z4 - psi * chi**2 * z2)
    e2 = (
        chi**3 * z6
        - chi**2 * z4
        + eps
        * (
            chi**5 * z6
            - 3 * chi**4 * z4
            - chi**3 * z6
            + 2 * chi**3 * z4
            + 3 * chi**3 * z2
            - chi**2 * z4
            - 2 * chi**2 * z2
            - chi**2
        )
    )
    return e0, e1, e2


def mm_risk(chi, eps):
    """R = F1^2 E1/E0 + N2 E2/E0 + Fs^2."""
    e0, e1, e2 = mm_polynomials(chi, PSI, Z2, eps)
    return F1S * e1 / e0 + N2 * e2 / e0 + FS2


def fixed_point_residual():
    """G(alpha, beta; eps, s) of the rescaled MM fixed point (module docstring, step 1)."""
    q = 1 + Z2 / (1 + Z2 * ALPHA * BETA)
    return sp.Matrix([ALPHA * (S + EPS * BETA * q) - 1, BETA * (S + ALPHA * q) - PSI])


def ell(t=T):
    """s^2 = psi lam_bar = lam_paper/mu_2^2 at eps = 0 as a function of t (step 2)."""
    return Z2 * PSI / (t - 1) - Z2 / t - 1


# ------------------------------------------------------------------ the paper's formulas


def printed() -> dict:
    """The paper's printed closed forms (its Appendix B.4), in these symbols; lam in paper units."""
    t = T
    S_t = PSI * t**2 - (t - 1) ** 2
    sig2 = N2 - FS2
    return {
        "lam_of_t": MU1S * PSI / (t - 1) - MU1S / t - MU2S,
        "S": S_t,
        "R_inf": PSI * (N2 * t**2 + F1S) / S_t,  # includes sigma_eps^2
        "lam_star_inf": MU1S * N2 / F1S - MU2S,
        "C_eta": 2 * N2 * (MU1S + MU2S * t) * (t - 1) ** 3 / (MU1S * S_t * (PSI * t - t + 1)),
        "C_lambda": ((3 * PSI - 4 * MU1S * PSI + 1) * t**2 + 2 * (2 * MU1S * PSI - 1) * t + 1)
        / (2 * PSI * t**2),
        "noise": sig2,
    }


# ------------------------------------------------------------------ the derivation


@dataclass(frozen=True)
class Derivation:
    """Derived expressions in t (and psi, z2, F1S, N2, FS2).

    R0, R1: R = R0 + R1 eps at fixed lam; ratio: F1S/N2 at the optimum of R0;
    t_star: the root t > 1 of the optimality quadratic (in r = F1S/N2);
    lam_star_inf, C_eta, C_lambda, c_const (paper units, at the optimum, with
    F1S = ratio N2); factor: printed lam(t)/lam_MM(t)."""

    R0: sp.Expr
    R1: sp.Expr
    ratio: sp.Expr
    t_star: sp.Expr
    lam_star_inf: sp.Expr
    C_eta: sp.Expr
    C_lambda: sp.Expr
    c_const: sp.Expr
    factor: sp.Expr


def _reduce_even(poly_expr, s, s2):
    """poly_expr (a polynomial in s) with s^2 replaced by s2; raises when an odd power of
    s survives (R1 must depend on s only through s^2 = psi lam_bar)."""
    out = 0
    for (k,), coef in sp.Poly(sp.expand(poly_expr), s).terms():
        if k % 2:
            raise RuntimeError("an odd power of s in R1: the fixed point's branch is not even in s")
        out += coef * s2 ** (k // 2)
    return out


@lru_cache(maxsize=1)
def derive() -> Derivation:
    """Steps 1-5 of the module docstring (a few seconds of sympy)."""
    G = fixed_point_residual()
    J = G.jacobian([ALPHA, BETA])
    at0 = {ALPHA: 1 / S, BETA: -S * CHI0, EPS: 0}
    dab = -(J.subs(at0)).LUsolve(G.diff(EPS).subs(at0))  # d(alpha, beta)/deps
    dchi = -(BETA * dab[0] + ALPHA * dab[1]).subs(at0)
    R = mm_risk(CHI, EPS)
    R1_chi = sp.cancel(sp.together((R.diff(EPS) + R.diff(CHI) * dchi).subs(CHI, CHI0).subs(at0)))
    # step 2: G2 = 0 at eps = 0 gives s^2 in chi0; reduce numerator and denominator of
    # R1 modulo s^2 - s2(chi0) (an odd power of s left over would be an error), then
    # chi0 = (1 - t)/z2, under which s2 is ell(t)
    s2 = -PSI / CHI0 - (1 + Z2 / (1 - Z2 * CHI0))
    to_t = {CHI0: (1 - T) / Z2}
    if sp.cancel(s2.subs(to_t) - ell()) != 0:
        raise RuntimeError("s^2(chi0) is not ell(t) under t = 1 - z2 chi0")
    num, den = (_reduce_even(part, S, s2) for part in sp.fraction(R1_chi))
    R1 = sp.factor(sp.cancel((num / den).subs(to_t)))
    R0 = sp.factor(sp.cancel(R.subs(EPS, 0).subs(CHI, CHI0).subs(to_t)))
    # step 4: optimality of R0 in t (t is monotone in lam), solved for r = F1S/N2
    r = sp.Symbol("r", positive=True)
    roots = sp.solve(sp.numer(sp.together(sp.diff(R0, T).subs(F1S, r * N2))), r)
    if len(roots) != 1:
        raise RuntimeError(f"optimality of R0: expected one root for F1^2/N2, got {roots}")
    ratio = sp.factor(roots[0])
    # t* > 1 from r = t (t - 1)/(psi t - t + 1):  t^2 - (1 + r (psi - 1)) t - r = 0
    bq = 1 + r * (PSI - 1)
    t_star = ((bq + sp.sqrt(bq**2 + 4 * r)) / 2).subs(r, F1S / N2)
    lam_t = MU2S * ell()  # paper units
    dlam = sp.diff(lam_t, T)
    at_opt = {F1S: ratio * N2}
    # at the optimum dR0/dt = 0, so d2R0/dlam2 = (d2R0/dt2)/(dlam/dt)^2 and
    # dR1/dlam = (dR1/dt)/(dlam/dt): C_lambda = -R1_t dlam/(R0_tt psi), c = R1_t^2/(2 R0_tt)
    R1_t = sp.factor(sp.cancel(sp.diff(R1, T).subs(at_opt)))
    R0_tt = sp.factor(sp.cancel(sp.diff(R0, T, 2).subs(at_opt)))
    C_eta = sp.factor(sp.cancel((R1 / PSI).subs(at_opt)))
    C_lambda = sp.factor(sp.cancel(-R1_t * dlam / (R0_tt * PSI)))
    c_const = sp.factor(sp.cancel(R1_t**2 / (2 * R0_tt)))
    lam_mm = MU2S * ell() / PSI  # mus^2 lam_bar
    factor = sp.cancel(printed()["lam_of_t"] / lam_mm)
    return Derivation(
        R0=R0,
        R1=R1,
        ratio=ratio,
        t_star=t_star,
        lam_star_inf=sp.factor(sp.cancel(lam_t.subs(F1S, ratio * N2))),
        C_eta=C_eta,
        C_lambda=C_lambda,
        c_const=c_const,
        factor=factor,
    )


@lru_cache(maxsize=1)
def compare_symbolic() -> dict:
    """Printed vs derived, symbolically. Values are sympy expressions:
    R_inf_diff (R0 + sigma^2 - printed R_inf: 0 when they agree), factor (lam_paper /
    lam_MM), lam_star_diff (printed lam*(inf) - derived, at the optimum: 0 when they
    agree), C_eta_ratio (derived/printed: 1 when they agree), C_lambda_diff
    (derived - printed: 0 when they agree), C_lambda_ratio."""
    d, p = derive(), printed()
    at_opt = {F1S: d.ratio * N2}
    return {
        "R_inf_diff": sp.cancel(d.R0 + p["noise"] - p["R_inf"]),
        "factor": d.factor,
        "lam_star_diff": sp.cancel((p["lam_star_inf"] - MU2S * ell()).subs(at_opt)),
        "C_eta_ratio": sp.factor(sp.cancel(d.C_eta / p["C_eta"].subs(at_opt))),
        "C_lambda_diff": sp.factor(sp.cancel(d.C_lambda - p["C_lambda"])),
        "C_lambda_ratio": sp.factor(sp.cancel(d.C_lambda / p["C_lambda"])),
    }


def constants(
    *, psi_1: float, mu1_sq: float, target_mu1_sq: float, sigma_eps: float, dps: int = 40
) -> dict:
    """Derived and printed values at one setting (mpmath, `dps` digits), as floats.

    Inputs: psi_1 (samples), mu_1^2 of the unit-norm features, mu_1*^2 of the unit-norm
    target, sigma_eps. Returns t_star; lam_star_inf_{derived,printed}; risk_star_inf
    (excess); C_eta_{derived,printed}; C_lambda_{derived,printed}; and the limits they
    predict: a_psi (a psi_2 -> C_eta psi_1), b_psi (b psi_2 -> |C_lambda| psi_1, b on lam
    in paper units), c_psi2 (c psi_2^2), for both."""
    import mpmath

    d, p = derive(), printed()
    z2 = sp.Float(mu1_sq, dps + 10) / (1 - sp.Float(mu1_sq, dps + 10))
    f1s = sp.Float(target_mu1_sq, dps + 10)
    n2 = 1 - f1s + sp.Float(sigma_eps, dps + 10) ** 2
    vals = {PSI: sp.Float(psi_1, dps + 10), Z2: z2, F1S: f1s, N2: n2, FS2: 1 - f1s}
    ev = lambda e, at=None: mpmath.mpf(sp.N(e.subs(vals).subs(at or {}), dps))
    ts = ev(d.t_star)
    if not ts > 1:
        raise ValueError(f"no interior optimum: t* = {ts} (lam*(inf) <= 0)")
    at_t = {T: sp.Float(str(ts), dps + 10)}
    out = {
        "t_star": ts,
        "lam_star_inf_derived": ev(d.lam_star_inf, at_t),
        "lam_star_inf_printed": ev(p["lam_star_inf"]),
        "risk_star_inf": ev(d.R0, at_t),
        "C_eta_derived": ev(d.C_eta, at_t),
        "C_eta_printed": ev(p["C_eta"], at_t),
        "C_lambda_derived": ev(d.C_lambda, at_t),
        "C_lambda_printed": ev(p["C_lambda"], at_t),
        "c_psi2_derived": ev(d.c_const, at_t),
    }
    for who in ("derived", "printed"):
        out[f"a_psi_{who}"] = abs(out[f"C_eta_{who}"]) * psi_1
        out[f"b_psi_{who}"] = abs(out[f"C_lambda_{who}"]) * psi_1
    return {k: float(v) for k, v in out.items()}


def locate() -> dict:
    """Where each printed formula departs from the derivation, as text computed from the
    symbolic comparison (compare_symbolic), in zeta^2 = mu_1^2/mu_2^2 and in the paper's
    mu_1^2, mu_2^2."""
    cmp = compare_symbolic()
    m1, m2 = sp.symbols("mu_1^2 mu_2^2", positive=True)
    out = {}
    for key, what in (("R_inf_diff", "R_inf(lam(t))"), ("lam_star_diff", "lam*(inf)")):
        out[key] = (
            f"printed {what} = derived (difference simplifies to 0)"
            if cmp[key] == 0
            else f"printed {what} differs by {sp.sstr(cmp[key])}"
        )
    out["factor"] = f"lam_paper / lam_MM simplifies to {sp.sstr(cmp['factor'])} (psi = psi_1)"
    r = cmp["C_eta_ratio"]
    if sp.simplify(r - 1) == 0:
        out["C_eta"] = "printed C_eta = derived"
    else:
        num, den = sp.fraction(sp.factor(r))
        r_mu = sp.factor(sp.cancel(r.subs(Z2, m1 / m2)))
        num_mu, den_mu = sp.fraction(r_mu)
        kind = (
            "a factor"
            if r.free_symbols <= {T, Z2}
            else "a factor depending on " + ", ".join(sorted(str(x) for x in r.free_symbols))
        )
        out["C_eta"] = (
            f"derived/printed = {sp.sstr(r)} = {sp.sstr(r_mu)}: {kind} "
            f"(independent of the target and the noise); the printed formula has "
            f"{sp.sstr(den_mu)} where the derivation has {sp.sstr(num_mu)} "
            f"(zeta^2 form: {sp.sstr(den)} vs {sp.sstr(num)}); "
            "every other factor agrees"
        )
    rl = cmp["C_lambda_ratio"]
    if sp.simplify(rl - 1) == 0:
        out["C_lambda"] = "printed C_lambda = derived"
    else:
        deps = ", ".join(sorted(str(x) for x in rl.free_symbols))
        out["C_lambda"] = (
            f"not a constant factor: derived/printed depends on {deps}; "
            f"derived = {sp.sstr(derive().C_lambda)}; derived - printed = "
            f"{sp.sstr(cmp['C_lambda_diff'])}"
        )
    return out


STUDY = "rfrr_constants"
CODE_MODULES = ("fasttransfer.proofs_check.rfrr_constants",)


def store_constants(
    root,
    preset: str,
    *,
    psi_1: float,
    mu1_sq: float,
    target_mu1_sq: float,
    sigma_eps: float,
    dps: int = 40,
    recompute: bool = False,
):
    """The results-store entry ROOT/rfrr_constants/<preset>/ with constants.json:
    {"values": constants(...), "symbolic": compare_symbolic() as text, "located":
    locate()}; reused when stored for this setting and code."""
    from fasttransfer import store

    setting = {
        "psi_1": psi_1,
        "mu1_sq": mu1_sq,
        "target_mu1_sq": target_mu1_sq,
        "sigma_eps": sigma_eps,
        "dps": dps,
    }

    def run(entry):
        logger.info("sympy: C_eta, C_lambda from the fixed-point equations")
        values = constants(
            psi_1=psi_1, mu1_sq=mu1_sq, target_mu1_sq=target_mu1_sq, sigma_eps=sigma_eps, dps=dps
        )
        entry.write_json(
            "constants.json",
            {
                "values": values,
                "located": locate(),
                "symbolic": {k: sp.sstr(v) for k, v in compare_symbolic().items()},
            },
        )

    return store.reuse_or_run(
        root,
        STUDY,
        preset,
        config=setting,
        modules=CODE_MODULES,
        run=run,
        recompute=recompute,
    )


def main() -> int:
    """Print the symbolic comparison and the constants of the paper's Figure 4 setting
    (tanh features, ReLU target, psi_1 = 4, sigma_eps = 1/4)."""
    from fasttransfer.theory.rfrr_paper import PaperSetting

    for key, val in locate().items():
        print(f"{key}: {val}")
    s = PaperSetting()
    c = constants(
        psi_1=s.psi_1, mu1_sq=s.mu1_sq, target_mu1_sq=s.target_mu1_sq, sigma_eps=s.sigma_eps
    )
    for key, val in c.items():
        print(f"{key:>22}: {val:.12g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

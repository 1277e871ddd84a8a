"""Theorem 3 by expansion: the deterministic equivalent of random-feature ridge regression
(docs/paper-setups.md#deterministic-equivalent-set-b) expanded in eps = 1/psi1 around the
kernel limit.

Units mus^2 = 1, z2 = zeta^2, lam_bar = lam/mus^2. With d1 = z2/(z2+k) + 1/k,
d2 = z2^2/(z2+k)^2:

    lam_bar = L(k, eps) = k (1 - eps d1)(1 - d1/psi2),
    R(k, eps) = F1^2 B(k, eps) + (tau^2 + Fs^2) V(k, eps) + Fs^2.

At fixed lam the solution is k(eps) = k0 + eps k1 + O(eps^2) with
k1 = -dL/deps / dL/dk at eps = 0, hence

    R(lam, eps) = R0(lam) + eps R1(lam) + O(eps^2),
    R1 = dR/deps + dR/dk k1   (at k = k0(lam), eps = 0).

With u = log lam (rates on the log of the HP, docs/paper-setups.md#rate-estimation) and
lam*_inf the interior minimiser of R0 (R0'(u*) = 0, R0''(u*) > 0):

    R*(eps)        = R0(u*) + eps R1(u*) + O(eps^2)           (envelope theorem)
    u*(eps)        = u* - eps R1'(u*)/R0''(u*) + O(eps^2)
    R0(u*(eps)) - R0(u*) = eps^2 R1'(u*)^2 / (2 R0''(u*)) + O(eps^3)

so a psi1 -> |R1(u*)|, b psi1 -> |R1'(u*)|/R0''(u*), c psi1^2 -> R1'(u*)^2/(2 R0''(u*))
= R0'' b^2/2: a ~ psi1^-1, b ~ psi1^-1, c ~ psi1^-2 (fast transfer: c = o(a)).
In lam itself, b_lin psi1 -> lam*_inf b psi1.

This module is symbolic (sympy) plus mpmath for the numbers; it does not import
simulations/ (imports point down: proofs_check -> theory).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

K, EPS, K1 = sp.symbols("k epsilon k_1", positive=True)
Z2, PSI2, LAM_BAR = sp.symbols("zeta2 psi2 lambdabar", positive=True)
F1S, NOISE2, FS2 = sp.symbols("F1sq noise2 Fssq", nonnegative=True)  # F1^2, tau^2+Fs^2, Fs^2


def relu_constants() -> tuple[sp.Expr, sp.Expr]:
    """Exact (zeta^2, mus^2) of ReLU: mu1 = 1/2, mus^2 = 1/4 - 1/(2 pi)."""
    mus2 = sp.Rational(1, 4) - 1 / (2 * sp.pi)
    return sp.Rational(1, 4) / mus2, mus2


def de_lambda(kk, ee):
    """lam_bar = k (1 - eps d1)(1 - d1/psi2) (kk, ee: k and eps, symbols or numbers)."""
    d1 = Z2 / (Z2 + kk) + 1 / kk
    return kk * (1 - ee * d1) * (1 - d1 / PSI2)


def de_risk(kk, ee):
    """R(k, eps) = F1^2 B + (tau^2 + Fs^2) V + Fs^2 of the deterministic equivalent."""
    d1 = Z2 / (Z2 + kk) + 1 / kk
    d2 = Z2**2 / (Z2 + kk) ** 2
    D = (1 - ee * d1) / (1 - ee * d2)
    g = (ee * d1**2 + d2 - 2 * ee * d1 * d2) / (PSI2 * (1 - ee * d2))
    B = (kk**2 / (Z2 + kk) ** 2 * D + kk / (Z2 + kk) * (1 - D)) / (1 - g)
    V = g / (1 - g)
    return F1S * B + NOISE2 * V + FS2


@dataclass(frozen=True)
class Expansion:
    """R0(k), R1(k) as functions of k = k0(lam), the kernel-limit root; k1(k) the
    first-order shift of k; L0(k) = lam_bar at eps = 0 (d/du = (L0/L0') d/dk, u = log lam)."""

    R0: sp.Expr
    R1: sp.Expr
    k1: sp.Expr
    L0: sp.Expr


@lru_cache(maxsize=1)
def symbolic_expansion() -> Expansion:
    """First-order expansion in eps at fixed lam_bar, by implicit differentiation
    (the eps^1 Taylor coefficient; a full sympy.series of these rational functions gives
    the same but takes minutes):
    k1 = -(dL/deps)/(dL/dk), R1 = dR/deps + (dR/dk) k1, all at eps = 0."""
    L = de_lambda(K, EPS)
    R = de_risk(K, EPS)
    k1_expr = (-sp.diff(L, EPS) / sp.diff(L, K)).subs(EPS, 0)
    R0 = R.subs(EPS, 0)
    R1 = (sp.diff(R, EPS) + sp.diff(R, K) * K1).subs(EPS, 0).subs(K1, k1_expr)
    return Expansion(R0=R0, R1=R1, k1=k1_expr, L0=de_lambda(K, 0))


def kernel_quadratic_residual() -> sp.Expr:
    """(L0(k) - lam_bar) psi2 (z2 + k) minus the kernel-limit quadratic of
    set B (docs/paper-setups.md), psi2 k^2 + (psi2 z2 - z2 - 1 - lam_bar psi2) k - z2 (1 +
    lam_bar psi2): 0 when the two agree."""
    lhs = (de_lambda(K, 0) - LAM_BAR) * PSI2 * (Z2 + K)
    quad = PSI2 * K**2 + (PSI2 * Z2 - Z2 - 1 - LAM_BAR * PSI2) * K - Z2 * (1 + LAM_BAR * PSI2)
    return sp.expand(sp.cancel(lhs - quad))


def expansion_constants(
    *, psi2: float, F1: float, Fs: float, tau: float, zeta2=None, mus2=None, dps: int = 50
) -> dict:
    """Predicted limits of a psi1, b psi1 (log lam and lam), c psi1^2 at the kernel-limit
    optimum, evaluated in mpmath at `dps` digits (ReLU constants by default).

    Returns floats: lam_star_inf, risk_star_inf, R1 (= lim a psi1 with sign), a_psi,
    b_psi, b_lin_psi, c_psi2, R0_uu (curvature in log lam), R1_u, interior (bool).
    Raises ValueError when R0 has no interior minimum (the boundary case)."""
    import mpmath

    if zeta2 is None or mus2 is None:
        zeta2, mus2 = relu_constants()
    ex = symbolic_expansion()
    subs = {
        Z2: sp.nsimplify(zeta2) if not isinstance(zeta2, sp.Expr) else zeta2,
        PSI2: sp.nsimplify(psi2),
        F1S: sp.nsimplify(F1) ** 2,
        NOISE2: sp.nsimplify(tau) ** 2 + sp.nsimplify(Fs) ** 2,
        FS2: sp.nsimplify(Fs) ** 2,
    }
    # d/du = (L0 / L0') d/dk
    L0 = ex.L0.subs(subs)
    fac = L0 / sp.diff(L0, K)
    R0 = ex.R0.subs(subs)
    R1 = ex.R1.subs(subs)
    R0_u = fac * sp.diff(R0, K)
    R0_uu = fac * sp.diff(R0_u, K)
    R1_u = fac * sp.diff(R1, K)
    dR0dk = sp.diff(R0, K)
    old = mpmath.mp.dps
    mpmath.mp.dps = dps
    try:
        f = sp.lambdify(K, dR0dk, "mpmath")
        # k0(lam = 0) of the kernel limit (d1(k0) = psi2): the lower end of the k range
        zz, pp = (mpmath.mpf(sp.N(subs[Z2], dps + 5)), mpmath.mpf(sp.N(subs[PSI2], dps + 5)))
        bb = pp * zz - zz - 1
        kmin = (-bb + mpmath.sqrt(bb * bb + 4 * pp * zz)) / (2 * pp)
        # scan log(k - kmin) for a sign change of dR0/dk (interior minimum)
        grid = [kmin + mpmath.e**t for t in mpmath.linspace(-30, 10, 201)]
        vals = [f(x) for x in grid]
        idx = [i for i in range(len(grid) - 1) if vals[i] < 0 <= vals[i + 1]]
        if not idx:
            raise ValueError("no interior minimum of R0 (boundary case lam* -> 0)")
        i = idx[0]
        kstar = mpmath.findroot(f, (grid[i], grid[i + 1]), solver="anderson")
        ev = lambda e: sp.lambdify(K, e, "mpmath")(kstar)
        lam_star = ev(L0) * (
            mus2 if not isinstance(mus2, sp.Expr) else mpmath.mpf(sp.N(mus2, dps + 5))
        )
        R1v, R1uv, R0uuv = ev(R1), ev(R1_u), ev(R0_uu)
        return {
            "lam_star_inf": float(lam_star),
            "risk_star_inf": float(ev(R0)),
            "R1": float(R1v),
            "a_psi": float(abs(R1v)),
            "b_psi": float(abs(R1uv) / R0uuv),
            "b_lin_psi": float(lam_star * abs(R1uv) / R0uuv),
            "c_psi2": float(R1uv**2 / (2 * R0uuv)),
            "R0_uu": float(R0uuv),
            "R1_u": float(R1uv),
            "k_star": float(kstar),
            "interior": True,
        }
    finally:
        mpmath.mp.dps = old


def main() -> int:
    """Print the expansion constants for the Theorem 3 default setting."""
    c = expansion_constants(psi2=2.0, F1=1.0, Fs=0.5, tau=0.5)
    for key, val in c.items():
        print(f"{key:>14}: {val}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

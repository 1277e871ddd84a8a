"""Random-feature ridge regression (the paper's Theorem 3): exact asymptotics in
Mei-Montanari conventions, the optimal ridge penalty, and its rates in the width.

Setting (Mei & Montanari 2019). x, theta_a ~ Unif(S^{d-1}(sqrt d)); features
sigma(<theta_a, x>/sqrt d), a = 1..N; f(x) = sum_a a_a sigma(<theta_a, x>/sqrt d);
a_hat = argmin (1/n) sum_i (y_i - f(x_i))^2 + (N lam/d) ||a||^2 (lam is the width-aware
HP: it converges as N grows); y = <beta_1, x> + f_NL(x) + eps with ||beta_1|| = F1,
E f_NL^2 = Fs^2, f_NL orthogonal to degree <= 1, Var eps = tau^2. psi1 = N/d (width),
psi2 = n/d (samples). R = E_x (f*(x) - f_hat(x))^2 (excess risk). Gaussian inputs and
Gaussian first-layer weights give the same proportional limit. The paper's labels and
lambda units are the reverse / a multiple of these: see :mod:`.rfrr_paper`.

Gaussian coefficients of sigma (:mod:`theory.gaussian_coefficients`): mu0, mu1, mus^2;
zeta^2 = mu1^2/mus^2, lam_bar = lam/mus^2.

Two independent formula sets for R = F1^2 B + (tau^2 + Fs^2) V + Fs^2:

(A) Mei-Montanari: the fixed point (a, b) > 0 of
    a = psi1/(y + b + z2 b/(1 + z2 a b)),  b = psi2/(y + a + z2 a/(1 + z2 a b)),
    y = sqrt(psi1 psi2 lam_bar), chi = -a b, and B = E1/E0, V = E2/E0 (polynomials in chi).
    Solved here as a 2-D Newton problem in the rescaled unknowns alpha = a/sqrt(psi1),
    beta = b sqrt(psi1) (finite as psi1 -> inf, so psi1 = inf is the same code with
    eps = 1/psi1 = 0).
(B) Deterministic equivalent: one scalar equation in k > k0,
    lam_bar = k (1 - d1/psi1)(1 - d1/psi2), d1 = z2/(z2 + k) + 1/k,
    solved by a bracketed root finder, then B and V in closed form.

The two are algebraically related by k = -1/chi (eliminating alpha, beta from (A) gives
exactly the equation of (B)); that same elimination shows the positive fixed point of (A)
is unique (the scalar equation is strictly monotone), so a positive root of (A) with a
small residual is *the* root: no silent wrong branch.

Rates (Theorem 3): lam*(psi1) = argmin_lam R, R*(psi1) = min R;
a = |R*(psi1) - R*(inf)|, b = |log lam*(psi1) - log lam*(inf)| (our log scale,
docs/paper-setups.md#rate-estimation), b_lin = |lam*(psi1) - lam*(inf)| (the paper's scale),
c = R_inf(lam*(psi1)) - R*(inf). Computed in mpmath: along the curve k -> (lam_bar(k), R(k))
both are explicit in k, so lam* solves dR/dk = 0 with no inner solve.

Pure numpy/scipy/mpmath (no JAX). The Monte Carlo estimator lives in
``fasttransfer.simulations.rfrr_montecarlo``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.theory.fits import loglog_slope
from fasttransfer.theory.gaussian_coefficients import activation_coefficients

__all__ = [
    "LAM_RANGE",
    "OptimalLambda",
    "RatesConfig",
    "SolverError",
    "asymptotic_risk",
    "loglog_slopes",
    "optimal_lambda",
    "rates_table",
    "risk_deterministic_equivalent",
    "risk_fixed_point",
]


class SolverError(RuntimeError):
    """A fixed-point / root solve did not converge to the (unique) positive solution."""


# --------------------------------------------------------------------------- validation


def _check(name: str, value, *, positive: bool = False, allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}", param=name) from None
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        raise InputError(f"{name}: must be finite, got {v}", param=name)
    if positive and not v > 0:
        raise InputError(f"{name}: must be > 0, got {v}", param=name)
    if not positive and v < 0:
        raise InputError(f"{name}: must be >= 0, got {v}", param=name)
    return v


def _validate(psi1, psi2, lam, F1, Fs, tau):
    return (
        _check("psi1", psi1, positive=True, allow_inf=True),
        _check("psi2", psi2, positive=True),
        None if lam is None else _check("lam", lam),
        _check("F1", F1),
        _check("Fs", Fs),
        _check("tau", tau),
    )


# --------------------------------------------------------------------------- (A)


def _mm_polynomials(chi: float, z2: float, psi2: float, eps: float):
    """E0, E1, E2 of Mei-Montanari divided by psi1 (eps = 1/psi1; exact at eps = 0)."""
    z4, z6 = z2 * z2, z2**3
    c2, c3, c4, c5 = chi**2, chi**3, chi**4, chi**5
    e0_psi1 = (psi2 - 1) * c3 * z6 + (1 - 3 * psi2) * c2 * z4 + 3 * psi2 * chi * z2 - psi2
    e0_rest = (
        -c5 * z6
        + 3 * c4 * z4
        + (1 - psi2) * c3 * z6
        - 2 * c3 * z4
        - 3 * c3 * z2
        + (psi2 + 1) * c2 * z4
        + 2 * c2 * z2
        + c2
    )
    e1_psi1 = psi2 * chi * z2 - psi2
    e1_rest = psi2 * c3 * z4 - psi2 * c2 * z2
    e2_psi1 = c3 * z6 - c2 * z4
    e2_rest = (
        c5 * z6 - 3 * c4 * z4 - c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2 - c2 * z4 - 2 * c2 * z2 - c2
    )
    return e0_psi1 + eps * e0_rest, e1_psi1 + eps * e1_rest, e2_psi1 + eps * e2_rest


def _mm_residual(u: np.ndarray, s: float, z2: float, psi2: float, eps: float) -> np.ndarray:
    """Residual of the rescaled fixed point in log variables u = (log alpha, log beta):
    alpha = 1/(s + eps beta q), beta = psi2/(s + alpha q), q = 1 + z2/(1 + z2 alpha beta),
    s = sqrt(psi2 lam_bar); (a, b) = (sqrt(psi1) alpha, beta/sqrt(psi1))."""
    al, be = math.exp(u[0]), math.exp(u[1])
    q = 1.0 + z2 / (1.0 + z2 * al * be)
    return np.array(
        [u[0] + math.log(s + eps * be * q), u[1] - math.log(psi2) + math.log(s + al * q)]
    )


def _mm_solve(s: float, z2: float, psi2: float, eps: float) -> tuple[float, float]:
    """Positive fixed point (alpha, beta) by Newton (scipy hybr) on the log residual,
    continued from large lam_bar (where the map is a contraction and the fixed-point
    iteration converges) down to the target when a direct solve fails."""
    from scipy.optimize import root

    def newton(s_, guess):
        sol = root(
            _mm_residual,
            guess,
            args=(s_, z2, psi2, eps),
            method="hybr",
            options={"xtol": 1e-15, "maxfev": 2000},
        )
        res = np.max(np.abs(_mm_residual(sol.x, s_, z2, psi2, eps)))
        return sol.x, bool(np.all(np.isfinite(sol.x)) and res < 1e-12)

    def picard(s_):
        al, be = 1.0 / s_, psi2 / s_
        for _ in range(10_000):
            q = 1.0 + z2 / (1.0 + z2 * al * be)
            al_new = 1.0 / (s_ + eps * be * q)
            be_new = psi2 / (s_ + al_new * q)
            if abs(al_new - al) <= 1e-15 * al and abs(be_new - be) <= 1e-15 * be:
                return np.log([al_new, be_new])
            al, be = al_new, be_new
        return np.log([al, be])

    s_start = max(s, 4.0 * (1.0 + z2) * max(1.0, math.sqrt(psi2)))
    u = picard(s_start)
    if s_start == s:
        u, ok = newton(s, u)
    else:
        ok = False
        # geometric path in s: each Newton solve starts next to its solution
        for s_k in np.geomspace(s_start, s, 60)[1:]:
            u, ok = newton(float(s_k), u)
            if not ok:
                break
    if not ok:
        raise SolverError(
            f"Mei-Montanari fixed point did not converge "
            f"(s={s}, zeta^2={z2}, psi2={psi2}, 1/psi1={eps})"
        )
    return math.exp(u[0]), math.exp(u[1])


def risk_fixed_point(
    psi1: float, psi2: float, lam: float, *, F1: float, Fs: float, tau: float, activation="relu"
) -> dict:
    """Formula set (A). Returns {"R", "B", "V", "chi"}; lam > 0 (the ridgeless limit of
    (A) is a limit of its fixed point; use (B) for lam = 0)."""
    psi1, psi2, lam, F1, Fs, tau = _validate(psi1, psi2, lam, F1, Fs, tau)
    if lam == 0:
        raise InputError("lam: formula set (A) needs lam > 0 (use (B) for lam = 0)", param="lam")
    co = activation_coefficients(activation)
    z2, lam_bar = co.zeta2, lam / co.mus2
    eps = 0.0 if math.isinf(psi1) else 1.0 / psi1
    al, be = _mm_solve(math.sqrt(psi2 * lam_bar), z2, psi2, eps)
    chi = -al * be
    e0, e1, e2 = _mm_polynomials(chi, z2, psi2, eps)
    B, V = e1 / e0, e2 / e0
    return {"R": F1**2 * B + (tau**2 + Fs**2) * V + Fs**2, "B": B, "V": V, "chi": chi}


# --------------------------------------------------------------------------- (B)


def _de_terms(k, z2, psi2, eps):
    """d1, d2 and the rescaled lam_bar(k) of the deterministic equivalent
    (eps = 1/psi1). Plain arithmetic, so k may be a float or an mpmath number."""
    d1 = z2 / (z2 + k) + 1 / k
    d2 = z2**2 / (z2 + k) ** 2
    lam_bar = k * (1 - eps * d1) * (1 - d1 / psi2)
    return d1, d2, lam_bar


def _de_BV(k, z2, psi2, eps):
    """B(k), V(k) of the deterministic equivalent at eps = 1/psi1 (arithmetic only)."""
    d1, d2, _ = _de_terms(k, z2, psi2, eps)
    D = (1 - eps * d1) / (1 - eps * d2)
    g = (eps * d1**2 + d2 - 2 * eps * d1 * d2) / (psi2 * (1 - eps * d2))
    B = (k**2 / (z2 + k) ** 2 * D + k / (z2 + k) * (1 - D)) / (1 - g)
    return B, g / (1 - g)


def _de_k0(z2, psi2, eps, sqrt=math.sqrt):
    """k0 with d1(k0) = min(psi1, psi2): the positive root of
    m k^2 + (m z2 - z2 - 1) k - z2 = 0."""
    m = psi2 if eps * psi2 <= 1 else 1 / eps
    bb = m * z2 - z2 - 1
    return (
        (-bb + sqrt(bb * bb + 4 * m * z2)) / (2 * m)
        if bb <= 0
        else (2 * z2) / (bb + sqrt(bb * bb + 4 * m * z2))
    )


def _de_solve_k(lam_bar: float, z2: float, psi2: float, eps: float) -> float:
    """k > k0 with lam_bar(k) = lam_bar (strictly increasing in k: bracketed Brent)."""
    from scipy.optimize import brentq

    k0 = _de_k0(z2, psi2, eps)
    if lam_bar == 0:
        return k0
    if (
        eps == 0
    ):  # kernel limit: psi2 k^2 + (psi2 z2 - z2 - 1 - lam_bar psi2) k - z2 (1 + lam_bar psi2) = 0
        bb = psi2 * z2 - z2 - 1 - lam_bar * psi2
        cc = -z2 * (1 + lam_bar * psi2)
        disc = math.sqrt(bb * bb - 4 * psi2 * cc)
        return (-bb + disc) / (2 * psi2) if bb <= 0 else (2 * -cc) / (bb + disc)
    f = lambda k: _de_terms(k, z2, psi2, eps)[2] - lam_bar
    hi = k0 + max(lam_bar, k0)
    while f(hi) < 0:
        hi = k0 + 2 * (hi - k0)
        if hi > 1e300:
            raise SolverError(f"deterministic equivalent: no bracket for lam_bar={lam_bar}")
    k, info = brentq(
        f, k0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500, full_output=True
    )
    if not info.converged:
        raise SolverError(f"deterministic equivalent: Brent did not converge (lam_bar={lam_bar})")
    return k


def risk_deterministic_equivalent(
    psi1: float, psi2: float, lam: float, *, F1: float, Fs: float, tau: float, activation="relu"
) -> dict:
    """Formula set (B). Returns {"R", "B", "V", "k"}; lam = 0 allowed (ridgeless: infinite
    at psi1 = psi2)."""
    psi1, psi2, lam, F1, Fs, tau = _validate(psi1, psi2, lam, F1, Fs, tau)
    co = activation_coefficients(activation)
    z2 = co.zeta2
    eps = 0.0 if math.isinf(psi1) else 1.0 / psi1
    if lam == 0 and psi1 == psi2:
        return {"R": math.inf, "B": math.inf, "V": math.inf, "k": _de_k0(z2, psi2, eps)}
    k = _de_solve_k(lam / co.mus2, z2, psi2, eps)
    B, V = _de_BV(k, z2, psi2, eps)
    return {"R": F1**2 * B + (tau**2 + Fs**2) * V + Fs**2, "B": B, "V": V, "k": k}


def asymptotic_risk(
    psi1: float, psi2: float, lam: float, *, F1: float, Fs: float, tau: float, activation="relu"
) -> float:
    """R(psi1, psi2, lam) = F1^2 B + (tau^2 + Fs^2) V + Fs^2 (excess test risk), by the
    deterministic equivalent (B); psi1 = math.inf is the kernel limit. lam >= 0 in the
    normalisation penalty (N lam/d) ||a||^2."""
    return float(
        risk_deterministic_equivalent(
            psi1, psi2, lam, F1=F1, Fs=Fs, tau=tau, activation=activation
        )["R"]
    )


# --------------------------------------------------------------------------- lam*


class OptimalLambda(tuple):
    """(lam_star, risk_star), a plain 2-tuple, plus ``at_boundary``.

    A boundary optimum (R increasing in lam from lam = 0: the ridgeless estimator is best,
    which happens in the kernel limit iff F1^2/(Fs^2 + tau^2) >= zeta^2) is reported as
    lam_star = 0.0 exactly with at_boundary = "lam->0" and risk_star = R(lam = 0); a
    decreasing risk up to lam -> inf (no signal) as lam_star = inf, at_boundary
    = "lam->inf". For an interior optimum at_boundary is None.
    """

    at_boundary: str | None

    def __new__(cls, lam_star: float, risk_star: float, at_boundary: str | None = None):
        obj = super().__new__(cls, (float(lam_star), float(risk_star)))
        obj.at_boundary = at_boundary
        return obj

    @property
    def lam_star(self) -> float:
        return self[0]

    @property
    def risk_star(self) -> float:
        return self[1]


LAM_RANGE = (1e-8, 1e4)  # log-lam search range of optimal_lambda


def optimal_lambda(
    psi1: float, psi2: float, *, F1: float, Fs: float, tau: float, activation="relu"
) -> OptimalLambda:
    """lam*(psi1) = argmin_lam R(psi1, psi2, lam) by bounded 1-D optimisation in log lam.

    A log-spaced scan over LAM_RANGE brackets the minimum, bounded Brent refines it.
    When the scan's minimum is at the lower end and R(0) <= R(lam_min), the optimum is the
    boundary lam -> 0: returned as (0.0, R(0)) with at_boundary = "lam->0" (see
    OptimalLambda)."""
    from scipy.optimize import minimize_scalar

    psi1, psi2, _, F1, Fs, tau = _validate(psi1, psi2, None, F1, Fs, tau)
    co = activation_coefficients(activation)
    risk = lambda u: asymptotic_risk(psi1, psi2, math.exp(u), F1=F1, Fs=Fs, tau=tau, activation=co)
    us = np.linspace(math.log(LAM_RANGE[0]), math.log(LAM_RANGE[1]), 61)
    rs = np.array([risk(u) for u in us])
    i = int(np.argmin(rs))
    if i == 0:
        r0 = asymptotic_risk(psi1, psi2, 0.0, F1=F1, Fs=Fs, tau=tau, activation=co)
        if r0 <= rs[0]:
            return OptimalLambda(0.0, r0, "lam->0")
    if i == len(us) - 1:
        return OptimalLambda(math.inf, F1**2 + Fs**2, "lam->inf")
    lo, hi = us[max(i - 1, 0)], us[min(i + 1, len(us) - 1)]
    opt = minimize_scalar(
        risk, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10, "maxiter": 500}
    )
    if not opt.success:
        raise SolverError(f"optimal_lambda: bounded Brent failed: {opt.message}")
    return OptimalLambda(math.exp(opt.x), opt.fun, None)


# --------------------------------------------------------------------------- rates (mpmath)


@dataclass(frozen=True)
class RatesConfig:
    """Theorem 3 rate study: psi2 and (F1, Fs, tau) fixed, the widths psi1 listed.

    Default (our ReLU-feature setting): F1^2/(Fs^2 + tau^2) = 1/0.5 = 2 < zeta^2 ~ 2.75
    for ReLU, so the kernel-limit optimum is interior; `boundary()` gives the contrast
    F1^2/(Fs^2+tau^2) = 10 > zeta^2. The paper's setting is built by
    :func:`fasttransfer.theory.rfrr_paper.PaperSetting.rates_config`.
    """

    psi2: float = 2.0
    F1: float = 1.0
    Fs: float = 0.5
    tau: float = 0.5
    activation: str = "relu"
    psi1: tuple[float, ...] = tuple(2.0**e for e in range(2, 16))
    dps: int = 50

    @staticmethod
    def boundary() -> RatesConfig:
        return RatesConfig(F1=1.0, Fs=0.3, tau=0.1)

    @property
    def interior(self) -> bool:
        co = activation_coefficients(self.activation)
        return self.F1**2 / (self.Fs**2 + self.tau**2) < co.zeta2


def _mp_optimum(eps, z2, psi2, F1s, noise2, Fs2, mp):
    """(k*, lam_bar*, R*) minimising R over k > k0(eps) in mpmath, or None when the
    minimum is the boundary k -> k0 (lam -> 0)."""
    from scipy.optimize import minimize_scalar

    def R(k):
        B, V = _de_BV(k, z2, psi2, eps)
        return F1s * B + noise2 * V + Fs2

    k0 = _de_k0(z2, psi2, eps, sqrt=mp.sqrt)
    # float64 bracket in t = log(k - k0), then a high-precision root of dR/dk
    Rf = lambda t: float(R(k0 + mp.e ** mp.mpf(t)))
    ts = np.linspace(-40.0, 12.0, 105)
    vals = np.array([Rf(t) for t in ts])
    i = int(np.argmin(vals))
    if i == 0:
        return None
    if i == len(ts) - 1:
        raise SolverError("rates: optimum beyond lam ~ e^12 (no signal?)")
    t = minimize_scalar(
        Rf, bounds=(ts[i - 1], ts[i + 1]), method="bounded", options={"xatol": 1e-9}
    ).x
    dR = lambda tt: mp.diff(lambda x: R(k0 + mp.e**x), tt)
    tstar = mp.findroot(dR, mp.mpf(t), tol=mp.mpf(10) ** (-mp.dps + 8))
    kstar = k0 + mp.e**tstar
    return kstar, _de_terms(kstar, z2, psi2, eps)[2], R(kstar)


def rates_table(config: RatesConfig = RatesConfig()):
    """lam*, R*, a, b, c and a psi1, b psi1, c psi1^2 for every width in config.psi1 and
    the kernel limit, in mpmath at config.dps digits.

    Returns a pandas DataFrame with columns psi1, lam_star, risk_star, a, b, b_lin, c,
    a_psi, b_psi, b_lin_psi, c_psi2, boundary (float64 values; the last row is
    psi1 = inf).
    b = |log lam*(psi1) - log lam*(inf)|, b_lin = |lam*(psi1) - lam*(inf)|,
    c = R_inf(lam*(psi1)) - R*(inf). In the boundary case (lam*(inf) = 0) b is reported
    on the linear scale (b = b_lin: log 0 is -inf) and c ~ R_inf'(0) b, not b^2.
    """
    import mpmath
    import pandas as pd

    co = activation_coefficients(config.activation)
    old = mpmath.mp.dps
    mpmath.mp.dps = config.dps
    mp = mpmath.mp
    try:
        z2 = (
            mp.mpf(co.mu1) ** 2 / mp.mpf(co.mus2)
            if config.activation != "relu"
            else mp.mpf(1) / 4 / (mp.mpf(1) / 4 - 1 / (2 * mp.pi))
        )
        mus2 = mp.mpf(co.mus2) if config.activation != "relu" else mp.mpf(1) / 4 - 1 / (2 * mp.pi)
        psi2 = mp.mpf(config.psi2)
        F1s, Fs2 = mp.mpf(config.F1) ** 2, mp.mpf(config.Fs) ** 2
        noise2 = mp.mpf(config.tau) ** 2 + Fs2

        def R_inf_at(lam_bar):
            k0 = _de_k0(z2, psi2, mp.mpf(0), sqrt=mp.sqrt)
            if lam_bar == 0:
                k = k0
            else:
                bb = psi2 * z2 - z2 - 1 - lam_bar * psi2
                k = (-bb + mp.sqrt(bb * bb + 4 * psi2 * z2 * (1 + lam_bar * psi2))) / (2 * psi2)
            B, V = _de_BV(k, z2, psi2, mp.mpf(0))
            return F1s * B + noise2 * V + Fs2

        def optimum(eps):
            opt = _mp_optimum(eps, z2, psi2, F1s, noise2, Fs2, mp)
            if opt is None:  # boundary lam -> 0
                k0 = _de_k0(z2, psi2, eps, sqrt=mp.sqrt)
                B, V = _de_BV(k0, z2, psi2, eps)
                return mp.mpf(0), F1s * B + noise2 * V + Fs2, True
            return opt[1], opt[2], False

        lb_inf, r_inf, bd_inf = optimum(mp.mpf(0))
        rows = []
        for width in config.psi1:
            psi1 = mp.mpf(_check("psi1", width, positive=True))
            lb, r, bd = optimum(1 / psi1)
            a = abs(r - r_inf)
            b_lin = abs(lb - lb_inf) * mus2
            b = b_lin if bd_inf or bd else abs(mp.log(lb) - mp.log(lb_inf))
            c = R_inf_at(lb) - r_inf
            rows.append(
                {
                    "psi1": float(psi1),
                    "lam_star": float(lb * mus2),
                    "risk_star": float(r),
                    "a": float(a),
                    "b": float(b),
                    "b_lin": float(b_lin),
                    "c": float(c),
                    "a_psi": float(a * psi1),
                    "b_psi": float(b * psi1),
                    "b_lin_psi": float(b_lin * psi1),
                    "c_psi2": float(c * psi1**2),
                    "boundary": bool(bd),
                }
            )
        rows.append(
            {
                "psi1": math.inf,
                "lam_star": float(lb_inf * mus2),
                "risk_star": float(r_inf),
                "a": 0.0,
                "b": 0.0,
                "b_lin": 0.0,
                "c": 0.0,
                "a_psi": math.nan,
                "b_psi": math.nan,
                "b_lin_psi": math.nan,
                "c_psi2": math.nan,
                "boundary": bool(bd_inf),
            }
        )
    finally:
        mpmath.mp.dps = old
    return pd.DataFrame(rows)


def loglog_slopes(
    table, *, n_last: int = 4, width: str = "psi1", keys: tuple[str, ...] = ("a", "b", "c")
) -> dict[str, float]:
    """Least-squares slopes of log a, log b, log c (the columns `keys`) against the log of
    the column `width` over the n_last largest finite widths of a rates table."""
    t = table[np.isfinite(table[width])].sort_values(width).tail(n_last)
    x = t[width].to_numpy(dtype=float)
    return {key: float(loglog_slope(x, t[key].to_numpy(dtype=float)).slope) for key in keys}

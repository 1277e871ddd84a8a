"""Random-feature ridge regression (SPEC §4, Theorem 3): exact asymptotics, the optimal
ridge penalty, its rates in the width psi1, and a Monte Carlo estimator at finite d.

Setting (Mei & Montanari 2019). x, theta_a ~ Unif(S^{d-1}(sqrt d)); features
sigma(<theta_a, x>/sqrt d), a = 1..N; f(x) = sum_a a_a sigma(<theta_a, x>/sqrt d);
a_hat = argmin (1/n) sum_i (y_i - f(x_i))^2 + (N lam/d) ||a||^2 (lam is the width-aware
HP: it converges as N grows); y = <beta_1, x> + f_NL(x) + eps with ||beta_1|| = F1,
E f_NL^2 = Fs^2, f_NL orthogonal to degree <= 1, Var eps = tau^2. psi1 = N/d (width),
psi2 = n/d (samples). R = E_x (f*(x) - f_hat(x))^2 (excess risk).

Gaussian coefficients of sigma: mu0 = E sigma(G), mu1 = E G sigma(G),
mus^2 = E sigma(G)^2 - mu0^2 - mu1^2; zeta^2 = mu1^2/mus^2, lam_bar = lam/mus^2.

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
a = |R*(psi1) - R*(inf)|, b = |log lam*(psi1) - log lam*(inf)| (rates measured on log of
the HP, SPEC §1), c = R_inf(lam*(psi1)) - R*(inf). Computed in mpmath: along the curve
k -> (lam_bar(k), R(k)) both are explicit in k, so lam* solves dR/dk = 0 with no inner
solve.

Monte Carlo: one eigendecomposition of the smaller Gram matrix per draw gives the whole
lambda sweep (`ridge_sweep_risk`); `ridge_per_lambda_risk` is the one-solve-per-lambda
baseline (benchmarks/rfrr_lambda_sweep.py).
"""

from __future__ import annotations

from fasttransfer.theory.atomic import atomic_write_json

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fasttransfer.theory.errors import InputError

__all__ = [
    "GaussianCoefficients", "activation_coefficients", "gaussian_coefficients_quadrature",
    "risk_fixed_point", "risk_deterministic_equivalent", "asymptotic_risk",
    "OptimalLambda", "optimal_lambda", "SolverError",
    "RatesConfig", "rates_table", "loglog_slopes",
    "MonteCarloConfig", "draw_problem", "ridge_sweep_risk", "ridge_per_lambda_risk",
    "monte_carlo_risk", "RFRRConfig",
]


class SolverError(RuntimeError):
    """A fixed-point / root solve did not converge to the (unique) positive solution."""


# --------------------------------------------------------------------------- activation

@dataclass(frozen=True)
class GaussianCoefficients:
    """mu0 = E sigma(G), mu1 = E G sigma(G), mus2 = mus^2 (G ~ N(0, 1))."""

    mu0: float
    mu1: float
    mus2: float

    @property
    def zeta2(self) -> float:
        """zeta^2 = mu1^2 / mus^2."""
        return self.mu1 ** 2 / self.mus2


RELU = GaussianCoefficients(mu0=1.0 / math.sqrt(2.0 * math.pi), mu1=0.5,
                            mus2=0.25 - 1.0 / (2.0 * math.pi))

_NAMED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda t: np.maximum(t, 0.0),
    "tanh": np.tanh,
    "softplus": lambda t: np.logaddexp(0.0, t),
    "sigmoid": lambda t: 0.5 * (1.0 + np.tanh(0.5 * t)),
    "abs": np.abs,
}


def gaussian_coefficients_quadrature(sigma: Callable[[np.ndarray], np.ndarray]
                                     ) -> GaussianCoefficients:
    """(mu0, mu1, mus^2) of any sigma by adaptive quadrature against the N(0,1) density,
    split at 0 (where ReLU-like activations have their kink) so each piece is smooth."""
    from scipy.integrate import quad

    def moment(g):
        f = lambda t: g(t) * math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)  # noqa: E731
        lo = quad(f, -np.inf, 0.0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        hi = quad(f, 0.0, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        return lo + hi

    s = lambda t: float(sigma(np.float64(t)))  # noqa: E731
    mu0 = moment(s)
    mu1 = moment(lambda t: t * s(t))
    m2 = moment(lambda t: s(t) ** 2)
    mus2 = m2 - mu0 ** 2 - mu1 ** 2
    if not mus2 > 1e-12 * max(m2, 1e-300):
        raise InputError("activation: mus^2 = E sigma^2 - mu0^2 - mu1^2 is 0 (sigma is affine); "
                         "the random-feature formulas need a nonlinear activation")
    return GaussianCoefficients(mu0=mu0, mu1=mu1, mus2=mus2)


def activation_coefficients(activation: str | Callable = "relu") -> GaussianCoefficients:
    """Gaussian coefficients for a named activation (ReLU in closed form) or a callable."""
    if isinstance(activation, GaussianCoefficients):
        return activation
    if callable(activation):
        return gaussian_coefficients_quadrature(activation)
    if activation == "relu":
        return RELU
    if activation in _NAMED:
        return gaussian_coefficients_quadrature(_NAMED[activation])
    raise InputError(f"activation: unknown {activation!r}; known: {', '.join(_NAMED)} "
                     "or a callable")


def activation_function(activation: str | Callable) -> Callable[[np.ndarray], np.ndarray]:
    if callable(activation):
        return activation
    if activation in _NAMED:
        return _NAMED[activation]
    raise InputError(f"activation: unknown {activation!r}")


# --------------------------------------------------------------------------- validation

def _check(name: str, value, *, positive: bool = False, allow_inf: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        raise InputError(f"{name}: must be finite, got {v}")
    if positive and not v > 0:
        raise InputError(f"{name}: must be > 0, got {v}")
    if not positive and v < 0:
        raise InputError(f"{name}: must be >= 0, got {v}")
    return v


def _validate(psi1, psi2, lam, F1, Fs, tau):
    return (_check("psi1", psi1, positive=True, allow_inf=True),
            _check("psi2", psi2, positive=True),
            None if lam is None else _check("lam", lam),
            _check("F1", F1), _check("Fs", Fs), _check("tau", tau))


# --------------------------------------------------------------------------- (A)

def _mm_polynomials(chi: float, z2: float, psi2: float, eps: float):
    """E0, E1, E2 of Mei-Montanari divided by psi1 (eps = 1/psi1; exact at eps = 0)."""
    z4, z6 = z2 * z2, z2 ** 3
    c2, c3, c4, c5 = chi ** 2, chi ** 3, chi ** 4, chi ** 5
    e0_psi1 = (psi2 - 1) * c3 * z6 + (1 - 3 * psi2) * c2 * z4 + 3 * psi2 * chi * z2 - psi2
    e0_rest = (-c5 * z6 + 3 * c4 * z4 + (1 - psi2) * c3 * z6 - 2 * c3 * z4 - 3 * c3 * z2
               + (psi2 + 1) * c2 * z4 + 2 * c2 * z2 + c2)
    e1_psi1 = psi2 * chi * z2 - psi2
    e1_rest = psi2 * c3 * z4 - psi2 * c2 * z2
    e2_psi1 = c3 * z6 - c2 * z4
    e2_rest = c5 * z6 - 3 * c4 * z4 - c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2 - c2 * z4 - 2 * c2 * z2 - c2
    return e0_psi1 + eps * e0_rest, e1_psi1 + eps * e1_rest, e2_psi1 + eps * e2_rest


def _mm_residual(u: np.ndarray, s: float, z2: float, psi2: float, eps: float) -> np.ndarray:
    """Residual of the rescaled fixed point in log variables u = (log alpha, log beta):
    alpha = 1/(s + eps beta q), beta = psi2/(s + alpha q), q = 1 + z2/(1 + z2 alpha beta),
    s = sqrt(psi2 lam_bar); (a, b) = (sqrt(psi1) alpha, beta/sqrt(psi1))."""
    al, be = math.exp(u[0]), math.exp(u[1])
    q = 1.0 + z2 / (1.0 + z2 * al * be)
    return np.array([u[0] + math.log(s + eps * be * q),
                     u[1] - math.log(psi2) + math.log(s + al * q)])


def _mm_solve(s: float, z2: float, psi2: float, eps: float) -> tuple[float, float]:
    """Positive fixed point (alpha, beta) by Newton (scipy hybr) on the log residual,
    continued from large lam_bar (where the map is a contraction and the fixed-point
    iteration converges) down to the target when a direct solve fails."""
    from scipy.optimize import root

    def newton(s_, guess):
        sol = root(_mm_residual, guess, args=(s_, z2, psi2, eps), method="hybr",
                   options={"xtol": 1e-15, "maxfev": 2000})
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
        raise SolverError(f"Mei-Montanari fixed point did not converge "
                          f"(s={s}, zeta^2={z2}, psi2={psi2}, 1/psi1={eps})")
    return math.exp(u[0]), math.exp(u[1])


def risk_fixed_point(psi1: float, psi2: float, lam: float, *, F1: float, Fs: float,
                     tau: float, activation="relu") -> dict:
    """Formula set (A). Returns {"R", "B", "V", "chi"}; lam > 0 (the ridgeless limit of
    (A) is a limit of its fixed point; use (B) for lam = 0)."""
    psi1, psi2, lam, F1, Fs, tau = _validate(psi1, psi2, lam, F1, Fs, tau)
    if lam == 0:
        raise InputError("lam: formula set (A) needs lam > 0 (use (B) for lam = 0)")
    co = activation_coefficients(activation)
    z2, lam_bar = co.zeta2, lam / co.mus2
    eps = 0.0 if math.isinf(psi1) else 1.0 / psi1
    al, be = _mm_solve(math.sqrt(psi2 * lam_bar), z2, psi2, eps)
    chi = -al * be
    e0, e1, e2 = _mm_polynomials(chi, z2, psi2, eps)
    B, V = e1 / e0, e2 / e0
    return {"R": F1 ** 2 * B + (tau ** 2 + Fs ** 2) * V + Fs ** 2, "B": B, "V": V, "chi": chi}


# --------------------------------------------------------------------------- (B)

def _de_terms(k, z2, psi2, eps):
    """d1, d2 and the rescaled lam_bar(k) of the deterministic equivalent
    (eps = 1/psi1). Plain arithmetic, so k may be a float or an mpmath number."""
    d1 = z2 / (z2 + k) + 1 / k
    d2 = z2 ** 2 / (z2 + k) ** 2
    lam_bar = k * (1 - eps * d1) * (1 - d1 / psi2)
    return d1, d2, lam_bar


def _de_BV(k, z2, psi2, eps):
    """B(k), V(k) of the deterministic equivalent at eps = 1/psi1 (arithmetic only)."""
    d1, d2, _ = _de_terms(k, z2, psi2, eps)
    D = (1 - eps * d1) / (1 - eps * d2)
    g = (eps * d1 ** 2 + d2 - 2 * eps * d1 * d2) / (psi2 * (1 - eps * d2))
    B = (k ** 2 / (z2 + k) ** 2 * D + k / (z2 + k) * (1 - D)) / (1 - g)
    return B, g / (1 - g)


def _de_k0(z2, psi2, eps, sqrt=math.sqrt):
    """k0 with d1(k0) = min(psi1, psi2): the positive root of
    m k^2 + (m z2 - z2 - 1) k - z2 = 0."""
    m = psi2 if eps * psi2 <= 1 else 1 / eps
    bb = m * z2 - z2 - 1
    return (-bb + sqrt(bb * bb + 4 * m * z2)) / (2 * m) if bb <= 0 else \
        (2 * z2) / (bb + sqrt(bb * bb + 4 * m * z2))


def _de_solve_k(lam_bar: float, z2: float, psi2: float, eps: float) -> float:
    """k > k0 with lam_bar(k) = lam_bar (strictly increasing in k: bracketed Brent)."""
    from scipy.optimize import brentq

    k0 = _de_k0(z2, psi2, eps)
    if lam_bar == 0:
        return k0
    if eps == 0:  # kernel limit: psi2 k^2 + (psi2 z2 - z2 - 1 - lam_bar psi2) k - z2 (1 + lam_bar psi2) = 0
        bb = psi2 * z2 - z2 - 1 - lam_bar * psi2
        cc = -z2 * (1 + lam_bar * psi2)
        disc = math.sqrt(bb * bb - 4 * psi2 * cc)
        return (-bb + disc) / (2 * psi2) if bb <= 0 else (2 * -cc) / (bb + disc)
    f = lambda k: _de_terms(k, z2, psi2, eps)[2] - lam_bar  # noqa: E731
    hi = k0 + max(lam_bar, k0)
    while f(hi) < 0:
        hi = k0 + 2 * (hi - k0)
        if hi > 1e300:
            raise SolverError(f"deterministic equivalent: no bracket for lam_bar={lam_bar}")
    k, info = brentq(f, k0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500,
                     full_output=True)
    if not info.converged:
        raise SolverError(f"deterministic equivalent: Brent did not converge (lam_bar={lam_bar})")
    return k


def risk_deterministic_equivalent(psi1: float, psi2: float, lam: float, *, F1: float,
                                  Fs: float, tau: float, activation="relu") -> dict:
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
    return {"R": F1 ** 2 * B + (tau ** 2 + Fs ** 2) * V + Fs ** 2, "B": B, "V": V, "k": k}


def asymptotic_risk(psi1: float, psi2: float, lam: float, *, F1: float, Fs: float,
                    tau: float, activation="relu") -> float:
    """R(psi1, psi2, lam) = F1^2 B + (tau^2 + Fs^2) V + Fs^2 (excess test risk), by the
    deterministic equivalent (B); psi1 = math.inf is the kernel limit. lam >= 0 in the
    normalisation penalty (N lam/d) ||a||^2."""
    return float(risk_deterministic_equivalent(psi1, psi2, lam, F1=F1, Fs=Fs, tau=tau,
                                               activation=activation)["R"])


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


def optimal_lambda(psi1: float, psi2: float, *, F1: float, Fs: float, tau: float,
                   activation="relu") -> OptimalLambda:
    """lam*(psi1) = argmin_lam R(psi1, psi2, lam) by bounded 1-D optimisation in log lam.

    A log-spaced scan over LAM_RANGE brackets the minimum, bounded Brent refines it.
    When the scan's minimum is at the lower end and R(0) <= R(lam_min), the optimum is the
    boundary lam -> 0: returned as (0.0, R(0)) with at_boundary = "lam->0" (see
    OptimalLambda)."""
    from scipy.optimize import minimize_scalar

    psi1, psi2, _, F1, Fs, tau = _validate(psi1, psi2, None, F1, Fs, tau)
    co = activation_coefficients(activation)
    risk = lambda u: asymptotic_risk(psi1, psi2, math.exp(u), F1=F1, Fs=Fs, tau=tau,  # noqa: E731
                                     activation=co)
    us = np.linspace(math.log(LAM_RANGE[0]), math.log(LAM_RANGE[1]), 61)
    rs = np.array([risk(u) for u in us])
    i = int(np.argmin(rs))
    if i == 0:
        r0 = asymptotic_risk(psi1, psi2, 0.0, F1=F1, Fs=Fs, tau=tau, activation=co)
        if r0 <= rs[0]:
            return OptimalLambda(0.0, r0, "lam->0")
    if i == len(us) - 1:
        return OptimalLambda(math.inf, F1 ** 2 + Fs ** 2, "lam->inf")
    lo, hi = us[max(i - 1, 0)], us[min(i + 1, len(us) - 1)]
    opt = minimize_scalar(risk, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    if not opt.success:
        raise SolverError(f"optimal_lambda: bounded Brent failed: {opt.message}")
    return OptimalLambda(math.exp(opt.x), opt.fun, None)


# --------------------------------------------------------------------------- rates (mpmath)

@dataclass(frozen=True)
class RatesConfig:
    """Theorem 3 rate study: psi2 and (F1, Fs, tau) fixed, psi1 = 2^e for e in exponents.

    Default: F1^2/(Fs^2 + tau^2) = 1/0.5 = 2 < zeta^2 ~ 2.75 for ReLU, so the kernel-limit
    optimum is interior; `boundary()` gives the contrast F1^2/(Fs^2+tau^2) = 10 > zeta^2.
    """

    psi2: float = 2.0
    F1: float = 1.0
    Fs: float = 0.5
    tau: float = 0.5
    activation: str = "relu"
    exponents: tuple[int, ...] = tuple(range(2, 16))
    dps: int = 50

    @staticmethod
    def boundary() -> "RatesConfig":
        return RatesConfig(F1=1.0, Fs=0.3, tau=0.1)

    @property
    def interior(self) -> bool:
        co = activation_coefficients(self.activation)
        return self.F1 ** 2 / (self.Fs ** 2 + self.tau ** 2) < co.zeta2


def _mp_optimum(eps, z2, psi2, F1s, noise2, Fs2, mp):
    """(k*, lam_bar*, R*) minimising R over k > k0(eps) in mpmath, or None when the
    minimum is the boundary k -> k0 (lam -> 0)."""
    from scipy.optimize import minimize_scalar

    def R(k):
        B, V = _de_BV(k, z2, psi2, eps)
        return F1s * B + noise2 * V + Fs2

    k0 = _de_k0(z2, psi2, eps, sqrt=mp.sqrt)
    # float64 bracket in t = log(k - k0), then a high-precision root of dR/dk
    Rf = lambda t: float(R(k0 + mp.e ** mp.mpf(t)))  # noqa: E731
    ts = np.linspace(-40.0, 12.0, 105)
    vals = np.array([Rf(t) for t in ts])
    i = int(np.argmin(vals))
    if i == 0:
        return None
    if i == len(ts) - 1:
        raise SolverError("rates: optimum beyond lam ~ e^12 (no signal?)")
    t = minimize_scalar(Rf, bounds=(ts[i - 1], ts[i + 1]), method="bounded",
                        options={"xatol": 1e-9}).x
    dR = lambda tt: mp.diff(lambda x: R(k0 + mp.e ** x), tt)  # noqa: E731
    tstar = mp.findroot(dR, mp.mpf(t), tol=mp.mpf(10) ** (-mp.dps + 8))
    kstar = k0 + mp.e ** tstar
    return kstar, _de_terms(kstar, z2, psi2, eps)[2], R(kstar)


def rates_table(config: RatesConfig = RatesConfig()):
    """lam*, R*, a, b, c and a psi1, b psi1, c psi1^2 for psi1 = 2^e (e in
    config.exponents) and the kernel limit, in mpmath at config.dps digits.

    Returns a pandas DataFrame with columns psi1, lam_star, risk_star, a, b, b_lin, c,
    a_psi, b_psi, c_psi2, boundary (float64 values; the last row is psi1 = inf).
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
        z2 = mp.mpf(co.mu1) ** 2 / mp.mpf(co.mus2) if config.activation != "relu" else \
            mp.mpf(1) / 4 / (mp.mpf(1) / 4 - 1 / (2 * mp.pi))
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
        for e in config.exponents:
            psi1 = mp.mpf(2) ** e
            lb, r, bd = optimum(1 / psi1)
            a = abs(r - r_inf)
            b_lin = abs(lb - lb_inf) * mus2
            b = b_lin if bd_inf or bd else abs(mp.log(lb) - mp.log(lb_inf))
            c = R_inf_at(lb) - r_inf
            rows.append({"psi1": float(psi1), "lam_star": float(lb * mus2),
                         "risk_star": float(r), "a": float(a), "b": float(b),
                         "b_lin": float(b_lin), "c": float(c), "a_psi": float(a * psi1),
                         "b_psi": float(b * psi1), "c_psi2": float(c * psi1 ** 2),
                         "boundary": bool(bd)})
        rows.append({"psi1": math.inf, "lam_star": float(lb_inf * mus2), "risk_star": float(r_inf),
                     "a": 0.0, "b": 0.0, "b_lin": 0.0, "c": 0.0, "a_psi": math.nan,
                     "b_psi": math.nan, "c_psi2": math.nan, "boundary": bool(bd_inf)})
    finally:
        mpmath.mp.dps = old
    return pd.DataFrame(rows)


def loglog_slopes(table, *, n_last: int = 4) -> dict[str, float]:
    """Least-squares slopes of log a, log b, log c vs log psi1 over the n_last largest
    finite psi1 of a rates_table."""
    t = table[np.isfinite(table["psi1"])].sort_values("psi1").tail(n_last)
    x = np.log(t["psi1"].to_numpy())
    return {key: float(np.polyfit(x, np.log(t[key].to_numpy()), 1)[0]) for key in ("a", "b", "c")}


# --------------------------------------------------------------------------- Monte Carlo

@dataclass(frozen=True)
class MonteCarloConfig:
    """One Monte Carlo cell: dimension d, N = round(psi1 d) features, n = round(psi2 d)
    samples, n_test test points per draw, `repeats` independent draws."""

    d: int = 100
    psi1: float = 1.0
    psi2: float = 2.0
    F1: float = 1.0
    Fs: float = 0.5
    tau: float = 0.5
    lams: tuple[float, ...] = tuple(np.geomspace(1e-3, 10.0, 9).tolist())
    repeats: int = 10
    n_test: int = 2000
    seed: int = 0
    activation: str = "relu"
    n_targets: int = 16


def _sphere(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """(m, d) points uniform on the sphere of radius sqrt(d)."""
    g = rng.standard_normal((m, d))
    return g * (math.sqrt(d) / np.linalg.norm(g, axis=1, keepdims=True))


def draw_problem(rng: np.random.Generator, d: int, N: int, n: int, n_test: int, *,
                 F1: float, Fs: float, tau: float, activation="relu",
                 n_targets: int = 1) -> dict:
    """One draw of data and features with `n_targets` independent targets on it.

    Returns Z (n, N) = sigma(X Theta^T/sqrt d) training features, Z_test (n_test, N),
    y (n, T) labels, f_test (n_test, T) noiseless targets on the test points and
    fnl_test (n_test, T) their nonlinear parts (T = n_targets).

    Target f*(x) = <beta_1, x> + f_NL(x), beta_1 uniform on the sphere of radius F1,
    f_NL(x) = Fs x^T G x / s_G with G a traceless symmetric Gaussian matrix and
    s_G^2 = 2 d/(d+2) tr G^2, so that on the sphere E f_NL = 0, E f_NL^2 = Fs^2 exactly
    and f_NL is orthogonal to polynomials of degree <= 1. Several targets per draw share
    the one eigendecomposition: the risk's O(d^-1/2) fluctuation over the direction of
    beta_1 (a quadratic form in a random direction) is averaged at almost no cost."""
    sig = activation_function(activation)
    theta = _sphere(rng, N, d)
    X, Xt = _sphere(rng, n, d), _sphere(rng, n_test, d)
    beta1 = rng.standard_normal((d, n_targets))
    beta1 *= F1 / np.linalg.norm(beta1, axis=0, keepdims=True)
    G = rng.standard_normal((n_targets, d, d))
    G = (G + np.swapaxes(G, 1, 2)) / 2.0
    G -= (np.trace(G, axis1=1, axis2=2) / d)[:, None, None] * np.eye(d)[None]
    G /= np.sqrt(2.0 * d / (d + 2.0) * np.sum(G * G, axis=(1, 2)))[:, None, None]

    G_flat = np.transpose(G, (1, 0, 2)).reshape(d, n_targets * d)   # (d, T d)

    def quadratic(x):  # (m, d) -> (m, T): x^T G_t x for every target t (one GEMM)
        xg = (x @ G_flat).reshape(x.shape[0], n_targets, d)
        return np.sum(xg * x[:, None, :], axis=2)

    y = X @ beta1 + Fs * quadratic(X) + tau * rng.standard_normal((n, n_targets))
    fnl_test = Fs * quadratic(Xt)
    scale = 1.0 / math.sqrt(d)
    return {"Z": sig((X @ theta.T) * scale), "y": y, "Z_test": sig((Xt @ theta.T) * scale),
            "f_test": Xt @ beta1 + fnl_test, "fnl_test": fnl_test}


def ridge_sweep_risk(Z: np.ndarray, y: np.ndarray, Z_test: np.ndarray, f_test: np.ndarray,
                     ridges: np.ndarray) -> np.ndarray:
    """Test risk mean over test points (and targets) of (f_test - Z_test a(r))^2 for
    every ridge r in `ridges` (L,), with a(r) = argmin ||y - Z a||^2 + r ||a||^2, from ONE
    eigendecomposition of the smaller Gram matrix (Z Z^T if n <= N, else Z^T Z).

    Z (n, N), y (n,) or (n, T), Z_test (n_test, N), f_test (n_test,) or (n_test, T).
    Returns (L,)."""
    n, N = Z.shape
    ridges = np.asarray(ridges, dtype=np.float64)
    Y = y.reshape(n, -1)                                   # (n, T)
    F = f_test.reshape(f_test.shape[0], -1)                # (n_test, T)
    T, L = Y.shape[1], ridges.shape[0]
    if n <= N:
        # a(r) = Z^T U diag(1/(s + r)) U^T y with Z Z^T = U diag(s) U^T
        s, U = np.linalg.eigh(Z @ Z.T)
        basis, w = None, U.T @ Y                           # w (n, T)
    else:
        # a(r) = V diag(1/(s + r)) V^T Z^T y with Z^T Z = V diag(s) V^T
        s, U = np.linalg.eigh(Z.T @ Z)
        basis, w = U, U.T @ (Z.T @ Y)                      # w (N, T)
    s = np.maximum(s, 0.0)
    scaled = w[:, :, None] / (s[:, None, None] + ridges[None, None, :])   # (r, T, L)
    scaled = scaled.reshape(s.shape[0], T * L)
    coef = Z.T @ (U @ scaled) if basis is None else U @ scaled            # (N, T L)
    pred = (Z_test @ coef).reshape(F.shape[0], T, L)
    return np.mean((F[:, :, None] - pred) ** 2, axis=(0, 1))


def ridge_per_lambda_risk(Z: np.ndarray, y: np.ndarray, Z_test: np.ndarray,
                          f_test: np.ndarray, ridges: np.ndarray) -> np.ndarray:
    """The baseline: one linear solve of (Z^T Z + r I) a = Z^T y per ridge r. (L,)."""
    A = Z.T @ Z
    b = Z.T @ y.reshape(Z.shape[0], -1)
    F = f_test.reshape(f_test.shape[0], -1)
    eye = np.eye(A.shape[0])
    out = np.empty(len(ridges))
    for i, r in enumerate(ridges):
        a = np.linalg.solve(A + r * eye, b)
        out[i] = np.mean((F - Z_test @ a) ** 2)
    return out


def monte_carlo_risk(config: MonteCarloConfig) -> dict:
    """Risk at every lam of config.lams over config.repeats independent draws.

    The ridge of a draw is r = n N lam/d (the penalty (N lam/d)||a||^2 times n).
    Each draw averages n_targets targets on the same features (see draw_problem), so the
    draws are i.i.d. and the standard error over draws is the estimator's error.
    Returns {"lams": (L,), "risk": (repeats, L), "mean": (L,), "se": (L,)} with se the
    standard error of the mean over draws."""
    c = config
    N, n = int(round(c.psi1 * c.d)), int(round(c.psi2 * c.d))
    lams = np.asarray(c.lams, dtype=np.float64)
    ridges = n * N * lams / c.d
    rng = np.random.default_rng(c.seed)
    risks = np.empty((c.repeats, len(lams)))
    for r in range(c.repeats):
        p = draw_problem(rng, c.d, N, n, c.n_test, F1=c.F1, Fs=c.Fs, tau=c.tau,
                         activation=c.activation, n_targets=c.n_targets)
        risks[r] = ridge_sweep_risk(p["Z"], p["y"], p["Z_test"], p["f_test"], ridges)
    se = risks.std(axis=0, ddof=1) / math.sqrt(c.repeats) if c.repeats > 1 else \
        np.full(len(lams), np.nan)
    return {"lams": lams, "risk": risks, "mean": risks.mean(axis=0), "se": se}


# --------------------------------------------------------------------------- study

@dataclass(frozen=True)
class RFRRConfig:
    """Everything `fasttransfer simulate rfrr` and `verify` (theorem3) compute, per preset.

    rates / boundary: the interior-optimum setting and the boundary contrast (RatesConfig).
    curve_psi1 x curve_lams: asymptotic risk curves (the transfer picture).
    Monte Carlo at dimension mc_d, mc_repeats draws of mc_targets targets each:
    agreement cells mc_psi1 x mc_lams (psi1 away from the interpolation peak psi1 = psi2),
    and rate cells mc_rates_psi1 x mc_rates_lams (lam* and R* per psi1 by a quadratic
    fit in log lam around the grid argmin of the mean curve).
    """

    rates: RatesConfig = RatesConfig()
    boundary: RatesConfig = field(default_factory=RatesConfig.boundary)
    curve_psi1: tuple[float, ...] = (1.0, 2.0, 4.0, 16.0, 64.0, math.inf)
    curve_lams: tuple[float, ...] = tuple(np.geomspace(1e-4, 10.0, 41).tolist())
    mc_d: int = 100
    mc_psi1: tuple[float, ...] = (0.5, 1.0, 4.0)
    mc_lams: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    mc_rates_psi1: tuple[float, ...] = (4.0, 8.0, 16.0)
    mc_rates_lams: tuple[float, ...] = tuple(np.geomspace(3e-3, 0.5, 15).tolist())
    mc_repeats: int = 8
    mc_targets: int = 16
    mc_n_test: int = 1000
    seed: int = 0

    @staticmethod
    def preset(name: str) -> "RFRRConfig":
        if name == "quick":
            return RFRRConfig()
        if name == "paper":
            return RFRRConfig(rates=RatesConfig(dps=60), mc_d=400,
                              mc_psi1=(0.25, 0.5, 1.0, 4.0, 8.0),
                              mc_lams=tuple(np.geomspace(1e-3, 10.0, 9).tolist()),
                              mc_rates_psi1=(4.0, 8.0, 16.0, 32.0), mc_repeats=24,
                              mc_n_test=4000)
        raise InputError(f"preset: unknown {name!r} (quick|paper)")

    def to_json_dict(self) -> dict:
        from dataclasses import asdict

        out = asdict(self)
        out["curve_psi1"] = ["inf" if math.isinf(v) else v for v in self.curve_psi1]
        return out


def mc_bias_allowance(d: int) -> float:
    """Relative allowance for the finite-d bias of the Monte Carlo risk: 1/d.

    Measured here (psi2 = 2, F1 = 1, Fs = tau = 0.5, psi1 in {0.5, 2, 4}, lam in
    1e-3..1): deviations +1.0% +- 0.3% at d = 50 (lam = 1, three psi1), <= 0.5% +- 0.4%
    at d = 100 and 200 -- consistent with an O(1/d) bias of about 0.5/d; the allowance
    is twice that coefficient."""
    return 1.0 / d


def _vertex(log_lams: np.ndarray, risk: np.ndarray, half: int = 3) -> tuple[float, float]:
    """Vertex (u*, R*) of a quadratic fit in u = log lam over the 2 half + 1 grid points
    around the grid argmin (NaN when the argmin is within `half` of the grid edge)."""
    i = int(np.argmin(risk))
    if i < half or i >= len(risk) - half:
        return math.nan, math.nan
    u, r = log_lams[i - half:i + half + 1], risk[i - half:i + half + 1]
    c2, c1, c0 = np.polyfit(u - u[half], r, 2)
    if not c2 > 0:
        return math.nan, math.nan
    du = -c1 / (2 * c2)
    return float(u[half] + du), float(c0 - c1 * c1 / (4 * c2))


def _write_csv(df, path) -> None:
    from fasttransfer.theory.atomic import atomic_write_csv

    atomic_write_csv(path, df)


def run_study(out_dir, config: RFRRConfig = RFRRConfig(), *, log=print,
              progress: bool = True) -> dict:
    """Compute (or load) every stored result of the Theorem 3 study in `out_dir`:

    config.json; risk_curves.csv (psi1, lam, risk); rates.csv (setting in
    {interior, boundary}, then the columns of rates_table); mc_points.csv (study in
    {agreement, rates}, d, psi1, psi2, lam, draw, risk: one row per draw);
    mc_summary.csv (study, d, psi1, psi2, lam, mean, se, draws, asymptotic, rel_err,
    tolerance); mc_rates.csv (psi1, lam_star, risk_star, a, b, c and bootstrap se of
    each). Resumable: a finished file (or Monte Carlo cell) is never recomputed while
    config.json matches; a different config starts afresh. Returns DataFrames by name.
    """
    import json
    from pathlib import Path

    import pandas as pd
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg_json = json.loads(json.dumps(config.to_json_dict()))  # as stored (lists, not tuples)
    cfg_path = out / "config.json"
    if cfg_path.exists() and json.loads(cfg_path.read_text()) != cfg_json:
        log(f"{cfg_path}: a different configuration; recomputing")
        for name in ("risk_curves.csv", "rates.csv", "mc_points.csv", "mc_summary.csv",
                     "mc_rates.csv"):
            (out / name).unlink(missing_ok=True)
    atomic_write_json(cfg_path, cfg_json)
    rc = config.rates
    kw = dict(F1=rc.F1, Fs=rc.Fs, tau=rc.tau, activation=rc.activation)
    res = {}

    path = out / "risk_curves.csv"
    if not path.exists():
        rows = [{"psi1": p1, "lam": lam, "risk": asymptotic_risk(p1, rc.psi2, lam, **kw)}
                for p1 in config.curve_psi1 for lam in config.curve_lams]
        _write_csv(pd.DataFrame(rows), path)
    res["risk_curves"] = pd.read_csv(path)

    path = out / "rates.csv"
    if not path.exists():
        log("rates: lam*, R*, a, b, c in mpmath")
        tabs = [rates_table(rc).assign(setting="interior"),
                rates_table(config.boundary).assign(setting="boundary")]
        _write_csv(pd.concat(tabs, ignore_index=True), path)
    res["rates"] = pd.read_csv(path)

    # Monte Carlo, cell by cell (a cell = one study and one psi1, all draws and lams)
    path = out / "mc_points.csv"
    points = pd.read_csv(path) if path.exists() else pd.DataFrame(
        columns=["study", "d", "psi1", "psi2", "lam", "draw", "risk"])
    cells = [("agreement", p1, config.mc_lams) for p1 in config.mc_psi1] + \
            [("rates", p1, config.mc_rates_lams) for p1 in config.mc_rates_psi1]
    done = set(zip(points["study"], points["psi1"].astype(float)))
    todo = [c for c in cells if (c[0], float(c[1])) not in done]
    for i, (study, p1, lams) in enumerate(tqdm(todo, desc="rfrr Monte Carlo",
                                               disable=not progress or not todo)):
        mc = monte_carlo_risk(MonteCarloConfig(
            d=config.mc_d, psi1=p1, psi2=rc.psi2, F1=rc.F1, Fs=rc.Fs, tau=rc.tau,
            lams=tuple(lams), repeats=config.mc_repeats, n_test=config.mc_n_test,
            seed=config.seed + 1000 * cells.index((study, p1, lams)),
            activation=rc.activation, n_targets=config.mc_targets))
        r_, l_ = np.meshgrid(np.arange(config.mc_repeats), mc["lams"], indexing="ij")
        cell = pd.DataFrame({"study": study, "d": config.mc_d, "psi1": p1, "psi2": rc.psi2,
                             "lam": l_.ravel(), "draw": r_.ravel(), "risk": mc["risk"].ravel()})
        points = cell if points.empty else pd.concat([points, cell], ignore_index=True)
        _write_csv(points, path)
    res["mc_points"] = points

    g = points.groupby(["study", "d", "psi1", "psi2", "lam"])["risk"]
    summ = g.agg(mean="mean", se=lambda v: v.std(ddof=1) / math.sqrt(len(v)),
                 draws="count").reset_index()
    summ["asymptotic"] = [asymptotic_risk(p1, p2, lam, **kw)
                          for p1, p2, lam in zip(summ.psi1, summ.psi2, summ.lam)]
    summ["rel_err"] = (summ["mean"] - summ["asymptotic"]) / summ["asymptotic"]
    # 3 standard errors plus the finite-d bias allowance (mc_bias_allowance)
    summ["tolerance"] = 3 * summ["se"] / summ["asymptotic"] + \
        summ["d"].map(lambda d: mc_bias_allowance(int(d)))
    _write_csv(summ, out / "mc_summary.csv")
    res["mc_summary"] = summ

    res["mc_rates"] = _mc_rates(points[points.study == "rates"], res["rates"], rc, out)
    return res


def _mc_rates(points, rates, rc: RatesConfig, out, n_boot: int = 200):
    """lam*, R* per psi1 from the Monte Carlo curves (quadratic vertex in log lam) and
    a = R*_MC - R*(inf), b = |log lam*_MC - log lam*(inf)|, c = R_inf(lam*_MC) - R*(inf)
    with bootstrap-over-draws standard errors."""
    import pandas as pd

    inf_row = rates[(rates.setting == "interior") & ~np.isfinite(rates.psi1)].iloc[0]
    lam_inf, r_inf = float(inf_row.lam_star), float(inf_row.risk_star)
    kw = dict(F1=rc.F1, Fs=rc.Fs, tau=rc.tau, activation=rc.activation)
    rng = np.random.default_rng(0)
    rows = []
    for p1, grp in points.groupby("psi1"):
        tab = grp.pivot(index="draw", columns="lam", values="risk")   # (draws, L)
        u, R = np.log(tab.columns.to_numpy(dtype=float)), tab.to_numpy(dtype=float)

        def stats(Rm):
            us, rs = _vertex(u, Rm.mean(axis=0))
            if not np.isfinite(us):
                return np.full(3, np.nan), us, rs
            c = asymptotic_risk(math.inf, rc.psi2, math.exp(us), **kw) - r_inf
            return np.array([rs - r_inf, abs(us - math.log(lam_inf)), c]), us, rs

        est, us, rs = stats(R)
        boot = np.array([stats(R[rng.integers(0, len(R), len(R))])[0] for _ in range(n_boot)])
        se = np.nanstd(boot, axis=0, ddof=1)
        rows.append({"psi1": float(p1), "lam_star": math.exp(us) if np.isfinite(us) else math.nan,
                     "risk_star": rs, "a": est[0], "b": est[1], "c": est[2],
                     "a_se": se[0], "b_se": se[1], "c_se": se[2], "draws": len(R)})
    df = pd.DataFrame(rows)
    _write_csv(df, out / "mc_rates.csv")
    return df

"""Monte Carlo for random-feature ridge regression at finite d (the paper's Theorem 3):
draws of data and features, the ridge estimator's test risk for a whole sweep of penalties
from one eigendecomposition, and the extrapolation of the Monte Carlo mean to d -> inf.

Two models, each with its own penalty convention:

* Mei-Montanari (:class:`MonteCarloConfig`): x, theta on the sphere of radius sqrt(d),
  features sigma(<theta, x>/sqrt d), target <beta_1, x> + random centred quadratic + noise,
  penalty (N lam/d)|a|^2 on the mean loss: the ridge on the raw features is n N lam/d.
* The paper's (:class:`PaperMonteCarloConfig`, its Appendix B.4): x ~ N(0, I_d), W with N(0, 1/d)
  entries, features sigma(W x) with sigma = tanh normalised, target sigma_*(<x, beta_*>) +
  eps with sigma_* the normalised ReLU and |beta_*| = 1, penalty lam |a|^2 on the summed
  loss with readout <a, sigma(Wx)>/sqrt(n): the ridge on the raw features is n lam
  (n = width). See fasttransfer.theory.rfrr_paper for why lam_paper = psi_1 lam_MM.

Risk = mean over test points (and targets) of (f*(x) - f_hat(x))^2, the excess risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.theory.gaussian_coefficients import activation_function, normalised_relu

__all__ = [
    "MonteCarloConfig",
    "PaperMonteCarloConfig",
    "draw_problem",
    "draw_single_index_problem",
    "extrapolate_in_d",
    "monte_carlo_risk",
    "ridge_per_lambda_risk",
    "ridge_sweep_risk",
]


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


@dataclass(frozen=True)
class PaperMonteCarloConfig:
    """One Monte Carlo cell of the paper's model: dimension d, N = round(psi_1 d) samples,
    n = round(psi_2 d) features (the paper's labels), penalties `lams` in the paper's
    units, n_test test points per draw, `repeats` independent draws of `n_targets`
    targets each."""

    d: int = 100
    psi_1: float = 4.0
    psi_2: float = 4.0
    sigma_eps: float = 0.25
    lams: tuple[float, ...] = (0.1, 0.35, 1.0)
    repeats: int = 10
    n_test: int = 1000
    seed: int = 0
    activation: str = "tanh"
    target: str = "relu"
    n_targets: int = 8


def _sphere(rng: np.random.Generator, m: int, d: int) -> np.ndarray:
    """(m, d) points uniform on the sphere of radius sqrt(d)."""
    g = rng.standard_normal((m, d))
    return g * (math.sqrt(d) / np.linalg.norm(g, axis=1, keepdims=True))


def draw_problem(
    rng: np.random.Generator,
    d: int,
    N: int,
    n: int,
    n_test: int,
    *,
    F1: float,
    Fs: float,
    tau: float,
    activation="relu",
    n_targets: int = 1,
) -> dict:
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

    G_flat = np.transpose(G, (1, 0, 2)).reshape(d, n_targets * d)  # (d, T d)

    def quadratic(x):  # (m, d) -> (m, T): x^T G_t x for every target t (one GEMM)
        xg = (x @ G_flat).reshape(x.shape[0], n_targets, d)
        return np.sum(xg * x[:, None, :], axis=2)

    y = X @ beta1 + Fs * quadratic(X) + tau * rng.standard_normal((n, n_targets))
    fnl_test = Fs * quadratic(Xt)
    scale = 1.0 / math.sqrt(d)
    return {
        "Z": sig((X @ theta.T) * scale),
        "y": y,
        "Z_test": sig((Xt @ theta.T) * scale),
        "f_test": Xt @ beta1 + fnl_test,
        "fnl_test": fnl_test,
    }


def ridge_sweep_risk(
    Z: np.ndarray, y: np.ndarray, Z_test: np.ndarray, f_test: np.ndarray, ridges: np.ndarray
) -> np.ndarray:
    """Test risk mean over test points (and targets) of (f_test - Z_test a(r))^2 for
    every ridge r in `ridges` (L,), with a(r) = argmin ||y - Z a||^2 + r ||a||^2, from ONE
    eigendecomposition of the smaller Gram matrix (Z Z^T if n <= N, else Z^T Z).

    Z (n, N), y (n,) or (n, T), Z_test (n_test, N), f_test (n_test,) or (n_test, T).
    Returns (L,)."""
    n, N = Z.shape
    ridges = np.asarray(ridges, dtype=np.float64)
    Y = y.reshape(n, -1)  # (n, T)
    F = f_test.reshape(f_test.shape[0], -1)  # (n_test, T)
    T, L = Y.shape[1], ridges.shape[0]
    if n <= N:
        # a(r) = Z^T U diag(1/(s + r)) U^T y with Z Z^T = U diag(s) U^T
        s, U = np.linalg.eigh(Z @ Z.T)
        basis, w = None, U.T @ Y  # w (n, T)
    else:
        # a(r) = V diag(1/(s + r)) V^T Z^T y with Z^T Z = V diag(s) V^T
        s, U = np.linalg.eigh(Z.T @ Z)
        basis, w = U, U.T @ (Z.T @ Y)  # w (N, T)
    s = np.maximum(s, 0.0)
    scaled = w[:, :, None] / (s[:, None, None] + ridges[None, None, :])  # (r, T, L)
    scaled = scaled.reshape(s.shape[0], T * L)
    coef = Z.T @ (U @ scaled) if basis is None else U @ scaled  # (N, T L)
    pred = (Z_test @ coef).reshape(F.shape[0], T, L)
    return np.mean((F[:, :, None] - pred) ** 2, axis=(0, 1))


def ridge_per_lambda_risk(
    Z: np.ndarray, y: np.ndarray, Z_test: np.ndarray, f_test: np.ndarray, ridges: np.ndarray
) -> np.ndarray:
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


def draw_single_index_problem(
    rng: np.random.Generator,
    d: int,
    width: int,
    samples: int,
    n_test: int,
    *,
    sigma_eps: float,
    activation="tanh",
    target: str = "relu",
    n_targets: int = 1,
) -> dict:
    """One draw of the paper's model with `n_targets` independent directions beta_*.

    x ~ N(0, I_d) (samples, d), W (width, d) with N(0, 1/d) entries, Z = sigma(X W^T);
    y = sigma_*(X beta_*) + sigma_eps G with |beta_*| = 1 and sigma_* the normalised ReLU.
    Returns Z (samples, width), y (samples, T), Z_test (n_test, width) and f_test
    (n_test, T), the noiseless targets on the test points (T = n_targets).

    sigma = tanh is odd and the ReLU's Hermite expansion beyond degree 1 is even, so the
    target's nonlinear part is orthogonal to every feature function exactly, at any d."""
    if target != "relu":
        raise InputError(f"target: unknown {target!r}; known: relu", param="target")
    sig = activation_function(activation)
    W = rng.standard_normal((width, d)) / math.sqrt(d)
    X, Xt = rng.standard_normal((samples, d)), rng.standard_normal((n_test, d))
    beta = rng.standard_normal((d, n_targets))
    beta /= np.linalg.norm(beta, axis=0, keepdims=True)
    y = normalised_relu(X @ beta) + sigma_eps * rng.standard_normal((samples, n_targets))
    return {
        "Z": sig(X @ W.T),
        "y": y,
        "Z_test": sig(Xt @ W.T),
        "f_test": normalised_relu(Xt @ beta),
    }


def monte_carlo_risk(config: MonteCarloConfig | PaperMonteCarloConfig) -> dict:
    """Risk at every lam of config.lams over config.repeats independent draws.

    Mei-Montanari: N = round(psi1 d) features, n = round(psi2 d) samples, ridge
    n N lam/d (the penalty (N lam/d)||a||^2 times n). The paper's model: n = round(psi_2 d)
    features, N = round(psi_1 d) samples, ridge n lam. Each draw averages its n_targets
    targets on the same features, so the draws are i.i.d. and the standard error over
    draws is the estimator's error.
    Returns {"lams": (L,), "ridges": (L,), "risk": (repeats, L), "mean": (L,), "se": (L,)}."""
    c = config
    lams = np.asarray(c.lams, dtype=np.float64)
    rng = np.random.default_rng(c.seed)
    if isinstance(c, PaperMonteCarloConfig):
        width, samples = round(float(c.psi_2 * c.d)), round(float(c.psi_1 * c.d))
        ridges = width * lams

        def draw():
            return draw_single_index_problem(
                rng,
                c.d,
                width,
                samples,
                c.n_test,
                sigma_eps=c.sigma_eps,
                activation=c.activation,
                target=c.target,
                n_targets=c.n_targets,
            )
    elif isinstance(c, MonteCarloConfig):
        N, n = round(float(c.psi1 * c.d)), round(float(c.psi2 * c.d))
        ridges = n * N * lams / c.d

        def draw():
            return draw_problem(
                rng,
                c.d,
                N,
                n,
                c.n_test,
                F1=c.F1,
                Fs=c.Fs,
                tau=c.tau,
                activation=c.activation,
                n_targets=c.n_targets,
            )
    else:
        raise InputError(
            f"config: expected a Monte Carlo configuration, got {type(c).__name__}", param="config"
        )
    risks = np.empty((c.repeats, len(lams)))
    for r in range(c.repeats):
        p = draw()
        risks[r] = ridge_sweep_risk(p["Z"], p["y"], p["Z_test"], p["f_test"], ridges)
    se = (
        risks.std(axis=0, ddof=1) / math.sqrt(c.repeats)
        if c.repeats > 1
        else np.full(len(lams), np.nan)
    )
    return {"lams": lams, "ridges": ridges, "risk": risks, "mean": risks.mean(axis=0), "se": se}


def extrapolate_in_d(d1: float, mean1, se1, d2: float, mean2, se2):
    """The Monte Carlo mean at d -> inf from two dimensions d1 < d2, assuming
    R(d) = R_inf + B/d + O(d^-2) (finite-size corrections of the risk of order 1/d):
    R_inf ~ (d2 R(d2) - d1 R(d1))/(d2 - d1), with standard error
    (d2^2 se2^2 + d1^2 se1^2)^1/2/(d2 - d1) (independent draws; the O(d^-2) remainder
    is not in it). Arrays broadcast. Returns (mean, se)."""
    if not 0 < d1 < d2:
        raise InputError(f"d: need 0 < d1 < d2, got {d1}, {d2}", param="d")
    w = d2 - d1
    mean = (d2 * np.asarray(mean2) - d1 * np.asarray(mean1)) / w
    se = np.sqrt((d2 * np.asarray(se2)) ** 2 + (d1 * np.asarray(se1)) ** 2) / w
    return mean, se

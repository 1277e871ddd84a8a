"""Gaussian coefficients of the activations of the random-feature model (the paper's
Theorem 3; :mod:`theory.rfrr_asymptotics`): for sigma and G ~ N(0, 1),

    mu0 = E sigma(G),  mu1 = E G sigma(G),  mus^2 = E sigma(G)^2 - mu0^2 - mu1^2,

closed forms for the named activations, Gauss-Hermite quadrature for any other.
``"tanh"`` is tanh / (E tanh(G)^2)^1/2 (unit Gaussian norm, as the paper's assumption on
sigma requires); ``"relu"`` is the plain ReLU of Mei-Montanari; the single-index target is
the normalised ReLU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fasttransfer.errors import InputError

__all__ = [
    "RELU",
    "GaussianCoefficients",
    "activation_coefficients",
    "activation_function",
    "gaussian_coefficients_quadrature",
    "normalised_relu",
    "single_index_coefficients",
    "tanh_gaussian_norm",
]


@dataclass(frozen=True)
class GaussianCoefficients:
    """mu0 = E sigma(G), mu1 = E G sigma(G), mus2 = mus^2 (G ~ N(0, 1))."""

    mu0: float
    mu1: float
    mus2: float

    @property
    def zeta2(self) -> float:
        """zeta^2 = mu1^2 / mus^2."""
        return self.mu1**2 / self.mus2


RELU = GaussianCoefficients(
    mu0=1.0 / math.sqrt(2.0 * math.pi), mu1=0.5, mus2=0.25 - 1.0 / (2.0 * math.pi)
)


def _gaussian_moment(g: Callable[[float], float]) -> float:
    """E g(G), G ~ N(0, 1), by adaptive quadrature split at 0 (where ReLU-like functions
    have their kink) so each piece is smooth."""
    from scipy.integrate import quad

    f = lambda t: g(t) * math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    lo = quad(f, -np.inf, 0.0, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    hi = quad(f, 0.0, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    return lo + hi


@lru_cache(maxsize=1)
def tanh_gaussian_norm() -> float:
    """(E tanh(G)^2)^1/2 ~ 0.6279, the constant that normalises tanh to unit Gaussian norm."""
    return math.sqrt(_gaussian_moment(lambda t: math.tanh(t) ** 2))


def _tanh_normalised(t):
    return np.tanh(t) / tanh_gaussian_norm()


def normalised_relu(t):
    """sigma_*(z) = (relu(z) - E relu(G)) / sd(relu(G)): the paper's target link, mean 0
    and unit Gaussian norm; sd^2 = 1/2 - 1/(2 pi)."""
    return (np.maximum(t, 0.0) - 1.0 / math.sqrt(2.0 * math.pi)) / math.sqrt(0.5 - 0.5 / math.pi)


_NAMED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda t: np.maximum(t, 0.0),
    "tanh": _tanh_normalised,
    "softplus": lambda t: np.logaddexp(0.0, t),
    "sigmoid": lambda t: 0.5 * (1.0 + np.tanh(0.5 * t)),
    "abs": np.abs,
}


def gaussian_coefficients_quadrature(
    sigma: Callable[[np.ndarray], np.ndarray],
) -> GaussianCoefficients:
    """(mu0, mu1, mus^2) of any sigma by adaptive quadrature against the N(0,1) density."""
    s = lambda t: float(sigma(np.float64(t)))
    mu0 = _gaussian_moment(s)
    mu1 = _gaussian_moment(lambda t: t * s(t))
    m2 = _gaussian_moment(lambda t: s(t) ** 2)
    mus2 = m2 - mu0**2 - mu1**2
    if not mus2 > 1e-12 * max(m2, 1e-300):
        raise InputError(
            "activation: mus^2 = E sigma^2 - mu0^2 - mu1^2 is 0 (sigma is affine); "
            "the random-feature formulas need a nonlinear activation",
            param="activation",
        )
    return GaussianCoefficients(mu0=mu0, mu1=mu1, mus2=mus2)


@lru_cache(maxsize=16)
def _named_coefficients(name: str) -> GaussianCoefficients:
    return gaussian_coefficients_quadrature(_NAMED[name])


def activation_coefficients(
    activation: str | Callable | GaussianCoefficients = "relu",
) -> GaussianCoefficients:
    """Gaussian coefficients for a named activation (ReLU in closed form, the others by
    quadrature, cached), a callable, or GaussianCoefficients passed through."""
    if isinstance(activation, GaussianCoefficients):
        return activation
    if callable(activation):
        return gaussian_coefficients_quadrature(activation)
    if activation == "relu":
        return RELU
    if activation in _NAMED:
        return _named_coefficients(activation)
    raise InputError(
        f"activation: unknown {activation!r}; known: {', '.join(_NAMED)} or a callable",
        param="activation",
    )


def activation_function(activation: str | Callable) -> Callable[[np.ndarray], np.ndarray]:
    """The elementwise function of a named activation ("tanh": normalised) or a callable."""
    if callable(activation):
        return activation
    if activation in _NAMED:
        return _NAMED[activation]
    raise InputError(f"activation: unknown {activation!r}", param="activation")


def single_index_coefficients(target: str = "relu") -> tuple[float, float]:
    """(F1, Fs) of the single-index target y = sigma_*(<x, beta_*>) + eps, |beta_*| = 1,
    sigma_* normalised (mean 0, unit Gaussian norm): F1 = mu_1* = E sigma_*'(G) (the linear
    part <beta_1, x> has |beta_1| = mu_1*), Fs^2 = mu_2*^2 = 1 - mu_1*^2 (everything of
    Hermite degree >= 2 is the nonlinear part f_NL). Normalised ReLU:
    mu_1*^2 = (1/4)/(1/2 - 1/(2 pi)) = 1/(2 - 2/pi)."""
    if target != "relu":
        raise InputError(f"target: unknown {target!r}; known: relu", param="target")
    m1s = 0.25 / (0.5 - 0.5 / math.pi)
    return math.sqrt(m1s), math.sqrt(1.0 - m1s)

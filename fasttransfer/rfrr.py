"""Random-feature ridge regression (the paper's Theorem 3), Mei-Montanari conventions: psi1
= N/d the width, psi2 = n/d the samples, the penalty (N lam / d) |a|^2, risk = excess test
risk (no test-label noise); psi1 may be ``math.inf`` (the kernel limit).

    asymptotic_risk(psi1, psi2, lam, *, F1, Fs, tau, activation="relu") -> float
    optimal_lambda(psi1, psi2, *, F1, Fs, tau, activation="relu") -> (lam_star, risk_star)

``activation="relu"`` is the plain ReLU; ``"tanh"`` is tanh normalised to unit Gaussian
norm (the paper's features). These signatures are fixed (outside checks call them).

The paper's conventions (its psi_1 = samples, psi_2 = width, lam_paper = psi_1 lam_MM,
the normalised ReLU single-index target): :class:`PaperSetting`, :func:`paper_risk`,
:func:`paper_optimal_lambda`, :func:`lam_to_mm`, :func:`lam_from_mm`.

The implementation lives in ``fasttransfer.theory.rfrr_asymptotics`` and
``fasttransfer.theory.rfrr_paper``.
"""

from fasttransfer.theory.rfrr_asymptotics import asymptotic_risk, optimal_lambda
from fasttransfer.theory.rfrr_paper import (
    PaperSetting,
    lam_from_mm,
    lam_to_mm,
    paper_optimal_lambda,
    paper_risk,
)

__all__ = [
    "PaperSetting",
    "asymptotic_risk",
    "lam_from_mm",
    "lam_to_mm",
    "optimal_lambda",
    "paper_optimal_lambda",
    "paper_risk",
]

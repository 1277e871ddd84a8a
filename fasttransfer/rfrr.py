"""Random-feature ridge regression (SPEC §4), Mei-Montanari conventions: psi1 = N/d the
width, psi2 = n/d the samples, the penalty (N lam / d) |a|^2, risk = excess test risk
(no test-label noise); psi1 may be ``math.inf`` (the kernel limit).

    asymptotic_risk(psi1, psi2, lam, *, F1, Fs, tau, activation="relu") -> float
    optimal_lambda(psi1, psi2, *, F1, Fs, tau, activation="relu") -> (lam_star, risk_star)

These signatures are fixed (outside checks call them); the implementation lives in
``fasttransfer.simulations.rfrr``.
"""

from fasttransfer.simulations.rfrr import asymptotic_risk, optimal_lambda

__all__ = ["asymptotic_risk", "optimal_lambda"]

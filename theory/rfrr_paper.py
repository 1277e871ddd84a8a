"""Theorem 3 in the paper's own conventions (its Appendix B.4), converted to and from the
Mei-Montanari conventions of :mod:`.rfrr_asymptotics`.

The paper's model: x ~ N(0, I_d); W in R^(n x d) with N(0, 1/d) entries (width n);
N samples y = sigma_*(<x, beta_*>) + eps, |beta_*| = 1, Var eps = sigma_eps^2, sigma_* the
normalised ReLU; sigma = tanh normalised to unit Gaussian norm. Its labels are the
reverse of Mei-Montanari's:

    paper psi_1 = N/d (samples)  = MM psi2,      paper psi_2 = n/d (width) = MM psi1,

and its target enters MM's formulas as F1 = mu_1*, Fs = mu_2* (the Hermite degree >= 2
part of sigma_* is MM's f_NL), tau = sigma_eps.

The two lambda normalisations. The paper minimises the unnormalised sum
sum_{i<=N} (y_i - f(x_i))^2 + lam |a|^2. For lam to have a limit as the width grows the
readout must be normalised, f(x) = <a, sigma(W x)>/sqrt(n) (the paper does not state the
normalisation; this is the one under which the paper's own kernel-limit closed forms hold,
see proofs_check/rfrr_constants.py, and it is tested on Monte Carlo draws). With Z the
(N, n) feature matrix, a = (Z^T Z/n + lam I)^-1 Z^T y/sqrt(n): a ridge n lam on the raw
features Z. Mei-Montanari's objective times the sample count N is
sum_i (y_i - Z a)^2 + (N n lam_MM/d) |a|^2: a ridge N n lam_MM/d on the same Z. Equal
ridges give

    lam_paper = (N/d) lam_MM = psi_1 lam_MM         (the factor is the SAMPLE ratio).

Risks: the paper's R_inf includes the test-label noise sigma_eps^2; everything here is the
excess risk (MM's R), as are the gaps a and c (the noise cancels in differences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fasttransfer.errors import InputError
from fasttransfer.theory.gaussian_coefficients import (
    activation_coefficients,
    single_index_coefficients,
)
from fasttransfer.theory.rfrr_asymptotics import (
    RatesConfig,
    _check,
    asymptotic_risk,
    optimal_lambda,
    rates_table,
)

__all__ = [
    "PaperSetting",
    "figure4_widths",
    "lam_from_mm",
    "lam_to_mm",
    "paper_optimal_lambda",
    "paper_rates",
    "paper_risk",
    "to_mm",
]


@dataclass(frozen=True)
class PaperSetting:
    """The fixed part of Theorem 3's numerical setting (its Figure 4), paper labels:
    psi_1 = N/d the sample ratio, sigma_eps the label-noise sd, sigma = `activation`
    (normalised), sigma_* = `target` (normalised)."""

    psi_1: float = 4.0
    sigma_eps: float = 0.25
    activation: str = "tanh"
    target: str = "relu"

    def __post_init__(self) -> None:
        _check("psi_1", self.psi_1, positive=True)
        _check("sigma_eps", self.sigma_eps)
        co = activation_coefficients(self.activation)
        # the paper's mu_2^2 = 1 - mu_1^2 presumes E sigma = 0 and E sigma^2 = 1
        if abs(co.mu0) > 1e-10 or abs(co.mu1**2 + co.mus2 - 1.0) > 1e-10:
            raise InputError(
                f"activation: {self.activation!r} is not centred with unit "
                "Gaussian norm, as the paper's Theorem 3 assumes",
                param="activation",
            )

    @property
    def mu1_sq(self) -> float:
        """mu_1^2 = (E sigma'(G))^2 of the features (mu_2^2 = 1 - mu_1^2)."""
        return activation_coefficients(self.activation).mu1 ** 2

    @property
    def target_mu1_sq(self) -> float:
        """mu_1*^2 of the target link (mu_2*^2 = 1 - mu_1*^2)."""
        return single_index_coefficients(self.target)[0] ** 2

    def mm_kwargs(self) -> dict:
        """F1, Fs, tau, activation of the Mei-Montanari formulas."""
        F1, Fs = single_index_coefficients(self.target)
        return {"F1": F1, "Fs": Fs, "tau": self.sigma_eps, "activation": self.activation}

    def rates_config(self, psi_2: tuple[float, ...], dps: int = 50) -> RatesConfig:
        """The MM rates configuration of this setting at the widths psi_2 (paper label)."""
        return RatesConfig(psi2=self.psi_1, psi1=tuple(psi_2), dps=dps, **self.mm_kwargs())


def lam_to_mm(lam: float, psi_1: float) -> float:
    """lam_MM = lam_paper / psi_1 (module docstring)."""
    return lam / psi_1


def lam_from_mm(lam_mm: float, psi_1: float) -> float:
    """lam_paper = psi_1 lam_MM (module docstring)."""
    return lam_mm * psi_1


def to_mm(psi_1: float, psi_2: float, lam: float) -> tuple[float, float, float]:
    """(psi1, psi2, lam) of Mei-Montanari for the paper's (psi_1, psi_2, lam)."""
    return psi_2, psi_1, lam_to_mm(lam, psi_1)


def paper_risk(setting: PaperSetting, psi_2: float, lam: float) -> float:
    """Excess risk at width psi_2 (math.inf: infinite width) and paper penalty lam."""
    psi1, psi2, lam_mm = to_mm(
        setting.psi_1, _check("psi_2", psi_2, positive=True, allow_inf=True), _check("lam", lam)
    )
    return asymptotic_risk(psi1, psi2, lam_mm, **setting.mm_kwargs())


def paper_optimal_lambda(setting: PaperSetting, psi_2: float) -> tuple[float, float, str | None]:
    """(lam*, R*, at_boundary) at width psi_2 with lam* in the paper's units."""
    psi_2 = _check("psi_2", psi_2, positive=True, allow_inf=True)
    opt = optimal_lambda(psi_2, setting.psi_1, **setting.mm_kwargs())
    return lam_from_mm(opt.lam_star, setting.psi_1), opt.risk_star, opt.at_boundary


def paper_rates(setting: PaperSetting, psi_2: tuple[float, ...], dps: int = 50):
    """The rates table (mpmath) in the paper's labels and units, the kernel limit last.

    Columns: psi_2, lam_star (paper units), risk_star (excess), a = |R*(psi_2) - R*(inf)|,
    b = |lam*(psi_2) - lam*(inf)| (on lam itself, paper units, as the paper measures the
    HP gap), b_log = |log lam*(psi_2) - log lam*(inf)|, c = R_inf(lam*(psi_2)) - R*(inf),
    a_psi = a psi_2, b_psi = b psi_2, c_psi2 = c psi_2^2, boundary."""
    tab = rates_table(setting.rates_config(psi_2, dps))
    p = setting.psi_1
    return tab.assign(
        lam_star=tab.lam_star * p, b_log=tab.b, b=tab.b_lin * p, b_psi=tab.b_lin_psi * p
    ).rename(columns={"psi1": "psi_2"})[
        [
            "psi_2",
            "lam_star",
            "risk_star",
            "a",
            "b",
            "b_log",
            "c",
            "a_psi",
            "b_psi",
            "c_psi2",
            "boundary",
        ]
    ]


def figure4_widths(n: int = 12) -> tuple[float, ...]:
    """psi_2 = 4 sqrt(2)^k, k = 0..n-1: Figure 4b's widths (4..181 for n = 12)."""
    return tuple(4.0 * math.sqrt(2.0) ** k for k in range(n))

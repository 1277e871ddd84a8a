"""Synthetic width families with known rates (docs/paper-setups.md#synthetic-families).

``PowerLawFamily``::

    phi_n(nu) = phi_inf* + A n^-alpha + (kappa/2) x^2 + (cubic/6) x^3 + (quartic/24) x^4,
    x = nu - nu_star(n),   nu_star(n) = nu_inf + B n^-beta,

so that exactly ``a_n = |A| n^-alpha``, ``b_n = |B| n^-beta`` and, without the
higher-order terms, ``c_n = kappa/2 B^2 n^(-2 beta)`` (the higher-order terms keep the
vertex and its value; they only bias a quadratic fit on a wide window).

``LateShiftFamily``: the same loss law, but the optimum sits still up to
``shift_width`` and only then moves to its limit::

    nu_star(n) = nu_inf + D (1 + (n / shift_width)^p)^(-beta / p),

flat (``nu_inf + D``) for n << shift_width, ``~ nu_inf + D (n/shift_width)^-beta``
beyond. With ``beta <= alpha/2`` transfer is weak, yet a sweep that stops before
``shift_width`` sees a perfectly stable optimum (the paper's Figure 2 warning).

``LogDriftFamily``: no convergence at all (the standard parametrisation's signature):
``nu_star(n) = c0 + s ln n`` -- the HP optimum moves as ``n^s`` forever, b_n has no limit.

``sample_sweep`` draws a tidy sweep (columns ``width, hp, loss, seed``), the format that
``fasttransfer analyze`` reads, with i.i.d. Gaussian loss noise of standard deviation
``noise`` per run and, optionally, the seed-level effects of common random numbers
(``seed_shift``, ``seed_level``): in a real sweep a seed's curve shares its
initialisation and batches across HPs, so a whole curve moves with its seed.

:func:`coverage_cases` lists the families on which the estimator's intervals and verdicts
are scored (fasttransfer/checks/estimators.py): its own model and the misspecified
cases (common random numbers, one seed, a small loss gap, cubic terms, pure
log drift, no drift, a late shift, an underpowered sweep).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fasttransfer.theory.framework import (
    finite_transfer_suboptimality,
    hp_gap,
    loss_gap,
    transfer_suboptimality,
)


class _Family(abc.ABC):
    """Shared loss law: subclasses define ``nu_star(n)``."""

    phi_inf_star: float
    A: float
    alpha: float
    kappa: float
    nu_inf: float
    cubic: float
    quartic: float

    @abc.abstractmethod
    def nu_star(self, n):
        """The optimal HP at width n (the family's HP drift)."""

    def _bowl(self, x):
        x = np.asarray(x, dtype=np.float64)
        return 0.5 * self.kappa * x**2 + self.cubic / 6.0 * x**3 + self.quartic / 24.0 * x**4

    def phi_star(self, n):
        """``phi_star(n) = phi_inf* + A n^-alpha``."""
        return self.phi_inf_star + self.A * np.asarray(n, dtype=np.float64) ** (-self.alpha)

    def loss(self, n, nu):
        """``phi_n(nu)``; n and nu broadcast against each other."""
        n = np.asarray(n, dtype=np.float64)
        return self.phi_star(n) + self._bowl(np.asarray(nu, dtype=np.float64) - self.nu_star(n))

    def phi_inf(self, nu):
        """The limit ``phi_inf(nu) = phi_inf* + bowl(nu - nu_inf)``."""
        return self.phi_inf_star + self._bowl(np.asarray(nu, dtype=np.float64) - self.nu_inf)

    def a(self, n):
        """Loss gap ``a_n = |phi_star(n) - phi_inf*|``."""
        return loss_gap(self.phi_star(n), self.phi_inf_star)

    def b(self, n):
        """HP gap ``b_n = |nu_star(n) - nu_inf|``."""
        return hp_gap(self.nu_star(n), self.nu_inf)

    def c(self, n):
        """Transfer suboptimality ``c_n = phi_inf(nu_star(n)) - phi_inf*``."""
        return transfer_suboptimality(self.phi_inf, self.nu_star(n), self.phi_inf_star)

    def c_finite(self, m, N):
        """``c_{m->N} = phi_N(nu_star(m)) - phi_star(N)``."""
        return finite_transfer_suboptimality(
            lambda nu: self.loss(N, nu), self.nu_star(m), self.phi_star(N)
        )

    def sample_sweep(
        self,
        widths,
        hp_grid,
        *,
        seeds: int = 1,
        noise: float = 0.0,
        rng: np.random.Generator | int | None = 0,
        seed_shift: float = 0.0,
        seed_level: float = 0.0,
    ) -> pd.DataFrame:
        """A tidy sweep: one row per (width, hp, seed),
        ``loss = phi_n(hp - delta_ws) + l_ws + noise * z`` with z i.i.d. standard normal
        per run and, per (width, seed) curve, ``delta_ws ~ N(0, seed_shift^2)`` (the
        seed's optimum moves in HP) and ``l_ws ~ N(0, seed_level^2)`` (its level moves):
        common random numbers, shared by every HP of the curve. ``hp_grid`` is shared by
        every width (shape (H,)) or given per width (shape (W, H)). Rows are ordered
        width, seed, hp; without seed effects the draws are those of earlier versions."""
        widths = np.asarray(widths, dtype=np.float64).reshape(-1)
        grid = np.asarray(hp_grid, dtype=np.float64)
        grid = np.broadcast_to(grid, (widths.size, grid.shape[-1]))
        rng = np.random.default_rng(rng)
        seed_ids = np.arange(int(seeds))
        W, H, S = widths.size, grid.shape[1], seed_ids.size
        z = float(noise) * rng.standard_normal((W, S, H))
        delta = float(seed_shift) * rng.standard_normal((W, S, 1)) if seed_shift else 0.0
        level = float(seed_level) * rng.standard_normal((W, S, 1)) if seed_level else 0.0
        loss = self.loss(widths[:, None, None], grid[:, None, :] - delta) + level + z
        return pd.DataFrame(
            {
                "width": np.repeat(widths, S * H),
                "hp": np.broadcast_to(grid[:, None, :], (W, S, H)).reshape(-1),
                "loss": loss.reshape(-1),
                "seed": np.broadcast_to(seed_ids[None, :, None], (W, S, H)).reshape(-1),
            }
        )


@dataclass(frozen=True)
class PowerLawFamily(_Family):
    """``phi_n(nu) = phi_inf* + A n^-alpha + kappa/2 (nu - nu_inf - B n^-beta)^2``
    (+ ``cubic/6 x^3 + quartic/24 x^4`` in ``x = nu - nu_star(n)``)."""

    phi_inf_star: float = 0.0
    A: float = 1.0
    alpha: float = 0.5
    kappa: float = 1.0
    nu_inf: float = 0.0
    B: float = 1.0
    beta: float = 0.5
    cubic: float = 0.0
    quartic: float = 0.0

    def nu_star(self, n):
        """``nu_star(n) = nu_inf + B n^-beta``."""
        return self.nu_inf + self.B * np.asarray(n, dtype=np.float64) ** (-self.beta)


@dataclass(frozen=True)
class LateShiftFamily(_Family):
    """Optimum stable up to ``shift_width``, then moving to its limit at rate beta:
    ``nu_star(n) = nu_inf + D (1 + (n/shift_width)^p)^(-beta/p)``, p = ``sharpness``."""

    phi_inf_star: float = 0.0
    A: float = 1.0
    alpha: float = 0.5
    kappa: float = 1.0
    nu_inf: float = 0.0
    D: float = 1.0
    beta: float = 0.25
    shift_width: float = 8192.0
    sharpness: float = 4.0
    cubic: float = 0.0
    quartic: float = 0.0

    def nu_star(self, n):
        r = np.asarray(n, dtype=np.float64) / self.shift_width
        return self.nu_inf + self.D * (1.0 + r**self.sharpness) ** (-self.beta / self.sharpness)


@dataclass(frozen=True)
class LogDriftFamily(_Family):
    """No convergence: ``nu_star(n) = c0 + s ln n`` (for a learning rate, LR* ~ n^s), the
    same loss law. ``nu_inf`` is NaN: b_n and c_n have no limit to be measured from."""

    phi_inf_star: float = 0.0
    A: float = 1.0
    alpha: float = 0.5
    kappa: float = 1.0
    c0: float = 0.0  # (not c: that is the base class's c_n)
    s: float = -0.5
    cubic: float = 0.0
    quartic: float = 0.0
    nu_inf: float = float("nan")

    def nu_star(self, n):
        return self.c0 + self.s * np.log(np.asarray(n, dtype=np.float64))


def sample_sweep(
    family: _Family,
    widths,
    hp_grid,
    *,
    seeds: int = 1,
    noise: float = 0.0,
    rng: np.random.Generator | int | None = 0,
    seed_shift: float = 0.0,
    seed_level: float = 0.0,
) -> pd.DataFrame:
    """Module-level alias of ``family.sample_sweep``."""
    return family.sample_sweep(
        widths,
        hp_grid,
        seeds=seeds,
        noise=noise,
        rng=rng,
        seed_shift=seed_shift,
        seed_level=seed_level,
    )


def llama_family(
    beta: float = 0.75,
    *,
    B_at_128: float = 0.5,
    kappa: float = 0.2,
    nu_inf: float = float(np.log(1e-2)),
) -> PowerLawFamily:
    """The paper's Llama loss law ``L = 3.137 + 13.16 n^-0.52`` (Table, §6) with a
    synthetic HP drift of rate ``beta`` whose size at width 128 is ``B_at_128`` (in log
    HP units). The drift and curvature are our choices; the paper gives only the loss."""
    return PowerLawFamily(
        phi_inf_star=3.137,
        A=13.16,
        alpha=0.52,
        kappa=kappa,
        nu_inf=nu_inf,
        B=B_at_128 * 128.0**beta,
        beta=beta,
    )


# ------------------------------------------------------------- scored sweep settings
LLAMA_LAW = dict(phi_inf_star=3.137, A=13.16, alpha=0.52)  # the paper's Llama loss law
GRID_STEP = 0.25  # HP grid spacing (log units), as in every synthetic sweep here
GRID_HALF = 3.75  # grid half-width around the optimum's range


@dataclass(frozen=True)
class SweepCase:
    """A synthetic sweep setting with known answers: the family, how it is sampled, the
    true values of the estimated quantities (NaN where the family has none) and the
    verdicts that are right for it (``inconclusive`` is right where the sweep cannot
    decide, e.g. one seed or no drift).

    truth keys: ``alpha``, ``beta``, ``beta_minus_half_alpha``, ``slope`` (of nu_star
    against ln n: exact for the log-drift family, 0 without drift, NaN otherwise)."""

    name: str
    family: _Family
    widths: tuple[float, ...]
    seeds: int
    noise: float
    right: tuple[str, ...]
    description: str
    seed_shift: float = 0.0

    @property
    def truth(self) -> dict:
        f = self.family
        beta = getattr(f, "beta", float("nan"))
        if isinstance(f, PowerLawFamily) and f.B == 0.0:
            beta = float("nan")  # no drift: beta is not defined
        slope = (
            f.s
            if isinstance(f, LogDriftFamily)
            else 0.0
            if isinstance(f, PowerLawFamily) and f.B == 0.0
            else float("nan")
        )
        return {
            "alpha": f.alpha,
            "beta": beta,
            "beta_minus_half_alpha": beta - f.alpha / 2,
            "slope": slope,
        }

    def grid(self) -> np.ndarray:
        """One HP grid for every width: spacing GRID_STEP, GRID_HALF beyond the range
        the optimum covers over the widths, so no optimum sits near an edge."""
        nu = self.family.nu_star(np.asarray(self.widths, dtype=np.float64))
        lo, hi = float(nu.min()) - GRID_HALF, float(nu.max()) + GRID_HALF
        k = int(np.ceil((hi - lo) / GRID_STEP - 1e-9))
        return lo - (k * GRID_STEP - (hi - lo)) / 2 + GRID_STEP * np.arange(k + 1)

    def sample(self, rng) -> pd.DataFrame:
        return self.family.sample_sweep(
            self.widths,
            self.grid(),
            seeds=self.seeds,
            noise=self.noise,
            rng=rng,
            seed_shift=self.seed_shift,
        )


def late_shift_family() -> LateShiftFamily:
    """The illustration of the estimator's blind spot
    (docs/paper-setups.md#synthetic-families): the Llama loss law, the optimum still up to
    width 8192 and then moving at the weak rate beta = alpha/2."""
    return LateShiftFamily(
        **LLAMA_LAW, kappa=0.2, nu_inf=float(np.log(1e-2)), D=1.0, beta=0.26, shift_width=8192.0
    )


def coverage_cases() -> dict[str, SweepCase]:
    """The scored settings: the Llama loss law with HP drifts of our choosing.
    Seven widths 128..8192, six seeds and loss noise 1e-3 unless a case says otherwise;
    ``seed_shift`` 0.02 (log-HP units) is ~5x the optimum's error from the loss noise of
    one curve, so a bootstrap that misses it shows."""
    w7 = tuple(float(w) for w in 128 * 2 ** np.arange(7))
    law = dict(LLAMA_LAW, kappa=0.2, nu_inf=float(np.log(1e-2)))
    weak = PowerLawFamily(**law, B=0.5 * 128.0**0.26, beta=0.26)
    fast = PowerLawFamily(**law, B=0.5 * 128.0**0.75, beta=0.75)
    cases = [
        SweepCase("fast", fast, w7, 6, 1e-3, ("fast",), "on-model, beta = 0.75 > alpha/2"),
        SweepCase("weak", weak, w7, 6, 1e-3, ("weak",), "on-model, beta = alpha/2 = 0.26"),
        SweepCase(
            "crn",
            weak,
            w7,
            6,
            1e-3,
            ("weak",),
            "weak, each seed's curve shifted in HP (common random numbers)",
            seed_shift=0.02,
        ),
        SweepCase(
            "single_seed",
            weak,
            w7,
            1,
            1e-3,
            ("inconclusive",),
            "weak with seed shifts, one seed: the shift is not measurable",
            seed_shift=0.02,
        ),
        SweepCase(
            "small_gap",
            PowerLawFamily(**dict(law, A=0.05), B=0.5 * 128.0**0.26, beta=0.26),
            w7,
            6,
            1e-3,
            ("weak",),
            "weak, loss gap A = 0.05 (a_n from 4e-3 to 4e-4)",
        ),
        SweepCase(
            "cubic",
            PowerLawFamily(**law, B=0.5 * 128.0**0.26, beta=0.26, cubic=0.1, quartic=0.05),
            w7,
            6,
            1e-3,
            ("weak",),
            "weak, asymmetric bowl (cubic 0.1, quartic 0.05)",
        ),
        SweepCase(
            "log_drift",
            LogDriftFamily(**LLAMA_LAW, kappa=0.2, c0=float(np.log(1e-2)) + 2.5, s=-0.5),
            w7,
            6,
            1e-3,
            ("no-transfer",),
            "nu_star = c - 0.5 ln n: no convergence (SP)",
        ),
        SweepCase(
            "no_drift",
            PowerLawFamily(**law, B=0.0, beta=0.5),
            w7,
            6,
            1e-3,
            ("inconclusive",),
            "nu_star constant: beta not identified",
        ),
        SweepCase(
            "late_shift",
            late_shift_family(),
            w7[:6],
            6,
            1e-3,
            ("inconclusive",),
            "weak, optimum still up to 8192, sweep stops at 4096",
        ),
        SweepCase(
            "fast_underpowered",
            fast,
            w7[:5],
            3,
            1e-2,
            ("fast",),
            "fast, 5 widths x 3 seeds, noise 1e-2",
        ),
    ]
    return {c.name: c for c in cases}

"""Synthetic width families with known rates (SPEC §3).

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

``sample_sweep`` draws a tidy sweep (columns ``width, hp, loss, seed``) with i.i.d.
Gaussian loss noise of standard deviation ``noise`` per run, the format that
``fasttransfer analyze`` reads.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fasttransfer.theory.framework import (finite_transfer_suboptimality, hp_gap, loss_gap,
                                           transfer_suboptimality)


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
        return (0.5 * self.kappa * x**2 + self.cubic / 6.0 * x**3
                + self.quartic / 24.0 * x**4)

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
        return finite_transfer_suboptimality(lambda nu: self.loss(N, nu), self.nu_star(m),
                                             self.phi_star(N))

    def sample_sweep(self, widths, hp_grid, *, seeds: int = 1, noise: float = 0.0,
                     rng: np.random.Generator | int | None = 0) -> pd.DataFrame:
        """A tidy sweep: one row per (width, hp, seed), ``loss = phi_n(hp) + noise * z``
        with z i.i.d. standard normal. ``hp_grid`` is shared by every width (shape (H,))
        or given per width (shape (W, H)). Rows are ordered width, seed, hp."""
        widths = np.asarray(widths, dtype=np.float64).reshape(-1)
        grid = np.asarray(hp_grid, dtype=np.float64)
        grid = np.broadcast_to(grid, (widths.size, grid.shape[-1]))
        rng = np.random.default_rng(rng)
        seed_ids = np.arange(int(seeds))
        W, H, S = widths.size, grid.shape[1], seed_ids.size
        clean = self.loss(widths[:, None], grid)  # (W, H)
        loss = clean[:, None, :] + float(noise) * rng.standard_normal((W, S, H))
        return pd.DataFrame({
            "width": np.repeat(widths, S * H),
            "hp": np.broadcast_to(grid[:, None, :], (W, S, H)).reshape(-1),
            "loss": loss.reshape(-1),
            "seed": np.broadcast_to(seed_ids[None, :, None], (W, S, H)).reshape(-1),
        })


@dataclass(frozen=True)
class PowerLawFamily(_Family):
    """SPEC §3: ``phi_n(nu) = phi_inf* + A n^-alpha + kappa/2 (nu - nu_inf - B n^-beta)^2``
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


def sample_sweep(family: _Family, widths, hp_grid, *, seeds: int = 1, noise: float = 0.0,
                 rng: np.random.Generator | int | None = 0) -> pd.DataFrame:
    """Module-level alias of ``family.sample_sweep``."""
    return family.sample_sweep(widths, hp_grid, seeds=seeds, noise=noise, rng=rng)


def llama_family(beta: float = 0.75, *, B_at_128: float = 0.5, kappa: float = 0.2,
                 nu_inf: float = float(np.log(1e-2))) -> PowerLawFamily:
    """The paper's Llama loss law ``L = 3.137 + 13.16 n^-0.52`` (Table, §6) with a
    synthetic HP drift of rate ``beta`` whose size at width 128 is ``B_at_128`` (in log
    HP units). The drift and curvature are our choices; the paper gives only the loss."""
    return PowerLawFamily(phi_inf_star=3.137, A=13.16, alpha=0.52, kappa=kappa,
                          nu_inf=nu_inf, B=B_at_128 * 128.0**beta, beta=beta)

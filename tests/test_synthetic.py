"""theory.synthetic: the SPEC §3 families have exactly the rates they are built with."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.theory.synthetic import LateShiftFamily, PowerLawFamily, llama_family, sample_sweep


@given(alpha=st.floats(0.1, 2.0), beta=st.floats(0.1, 2.0), A=st.floats(0.1, 20.0),
       B=st.floats(-3.0, 3.0), kappa=st.floats(0.1, 5.0), cubic=st.floats(-0.5, 0.5))
def test_exact_rates(alpha, beta, A, B, kappa, cubic):
    fam = PowerLawFamily(phi_inf_star=3.0, A=A, alpha=alpha, kappa=kappa, nu_inf=0.5, B=B,
                         beta=beta, cubic=cubic, quartic=1.0)
    n = np.array([64.0, 256.0, 4096.0])
    assert np.allclose(fam.a(n), A * n**-alpha, rtol=1e-9)
    assert np.allclose(fam.b(n), abs(B) * n**-beta, rtol=1e-9)
    # the higher-order terms keep the vertex and its value: phi_n(nu_star(n)) = phi_star(n)
    assert np.allclose(fam.loss(n, fam.nu_star(n)), fam.phi_star(n), rtol=0, atol=1e-12)
    if cubic == 0.0:
        assert np.allclose(fam.c(n), 0.5 * kappa * B**2 * n ** (-2 * beta) + B**4 * n ** (-4 * beta) / 24,
                           rtol=1e-9, atol=1e-15)


def test_vertex_is_the_minimum_on_a_fine_grid():
    fam = PowerLawFamily(A=1.0, alpha=0.5, kappa=2.0, nu_inf=-1.0, B=1.0, beta=0.5, cubic=0.3, quartic=1.0)
    nu = np.linspace(-3, 1, 40001)
    for n in (64.0, 1024.0):
        i = np.argmin(fam.loss(n, nu))
        # grid spacing 1e-4 bounds the argmin error
        assert abs(nu[i] - fam.nu_star(n)) <= 1e-4


def test_late_shift_is_flat_then_moves():
    fam = LateShiftFamily(D=1.0, beta=0.25, shift_width=8192.0, sharpness=4.0)
    small = fam.nu_star(np.array([128.0, 1024.0, 2048.0]))
    assert np.ptp(small) < 1e-3  # (1 + (n/8192)^4)^(-1/16) - 1 = O(1e-3) at n <= 2048
    big = fam.nu_star(np.array([8192.0 * 16, 8192.0 * 256]))
    # far past the shift, nu_star - nu_inf ~ D (n/shift)^-beta: slope -beta on log-log
    slope = np.log(big[1] / big[0]) / np.log(16.0)
    assert slope == pytest.approx(-0.25, abs=1e-3)


def test_sample_sweep_layout_and_noise():
    fam = llama_family(0.75)
    grid = fam.nu_inf + np.linspace(-2, 2, 11)
    df = sample_sweep(fam, [128, 256, 512], grid, seeds=40, noise=1e-2, rng=3)
    assert list(df.columns) == ["width", "hp", "loss", "seed"]
    assert len(df) == 3 * 11 * 40
    resid = df.loss - fam.loss(df.width.to_numpy(), df.hp.to_numpy())
    # sample sd of 1320 normals: relative standard error 1/sqrt(2*1320) ~ 2%; 5 SE
    assert np.std(resid) == pytest.approx(1e-2, rel=0.1)
    again = fam.sample_sweep([128, 256, 512], grid, seeds=40, noise=1e-2, rng=3)
    assert np.array_equal(df.loss.to_numpy(), again.loss.to_numpy())
    clean = fam.sample_sweep([128, 256, 512], grid, seeds=1, noise=0.0)
    assert np.allclose(clean.loss, fam.loss(clean.width.to_numpy(), clean.hp.to_numpy()))

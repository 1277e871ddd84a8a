"""theory.synthetic: the synthetic families have exactly the rates they are built with."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fasttransfer.theory.synthetic import (
    LateShiftFamily,
    LogDriftFamily,
    PowerLawFamily,
    coverage_cases,
    llama_family,
    sample_sweep,
)


@settings.get_profile("estimators")
@given(
    alpha=st.floats(0.1, 2.0),
    beta=st.floats(0.1, 2.0),
    A=st.floats(0.1, 20.0),
    B=st.floats(-3.0, 3.0),
    kappa=st.floats(0.1, 5.0),
    cubic=st.floats(-0.5, 0.5),
)
def test_exact_rates(alpha, beta, A, B, kappa, cubic):
    fam = PowerLawFamily(
        phi_inf_star=3.0,
        A=A,
        alpha=alpha,
        kappa=kappa,
        nu_inf=0.5,
        B=B,
        beta=beta,
        cubic=cubic,
        quartic=1.0,
    )
    n = np.array([64.0, 256.0, 4096.0])
    assert np.allclose(fam.a(n), A * n**-alpha, rtol=1e-9)
    assert np.allclose(fam.b(n), abs(B) * n**-beta, rtol=1e-9)
    # the higher-order terms keep the vertex and its value: phi_n(nu_star(n)) = phi_star(n)
    assert np.allclose(fam.loss(n, fam.nu_star(n)), fam.phi_star(n), rtol=0, atol=1e-12)
    if cubic == 0.0:
        assert np.allclose(
            fam.c(n),
            0.5 * kappa * B**2 * n ** (-2 * beta) + B**4 * n ** (-4 * beta) / 24,
            rtol=1e-9,
            atol=1e-15,
        )


def test_vertex_is_the_minimum_on_a_fine_grid():
    fam = PowerLawFamily(
        A=1.0, alpha=0.5, kappa=2.0, nu_inf=-1.0, B=1.0, beta=0.5, cubic=0.3, quartic=1.0
    )
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


def test_log_drift_family_moves_forever():
    fam = LogDriftFamily(A=1.0, alpha=0.5, kappa=1.0, c0=1.0, s=-0.5)
    n = np.array([100.0, 1000.0, 1e6])
    assert np.allclose(fam.nu_star(n), 1.0 - 0.5 * np.log(n))
    assert np.isnan(fam.b(n)).all()  # no limit: no HP gap to measure
    assert np.allclose(fam.loss(n, fam.nu_star(n)), fam.phi_star(n))


def test_seed_effects_shift_whole_curves():
    """seed_shift moves each (width, seed) curve's optimum by one draw shared across HPs;
    seed_level moves its level; without them the draws are those of earlier versions."""
    fam = PowerLawFamily(A=1.0, alpha=0.5, kappa=2.0, B=0.0, beta=0.5)
    grid = np.linspace(-3, 3, 61)
    df = fam.sample_sweep(
        [64.0, 128.0], grid, seeds=200, noise=0.0, rng=1, seed_shift=0.1, seed_level=0.05
    )
    opt = df.loc[df.groupby(["width", "seed"]).loss.idxmin()]
    # the grid argmin of each curve: its shifted optimum to within half a grid step (0.05)
    # plus the shift's spread; sd of 400 N(0, 0.1) draws: relative standard error 3.5%
    assert np.std(opt.hp) == pytest.approx(0.1, rel=0.2)
    assert np.std(opt.loss - fam.phi_star(opt.width.to_numpy())) == pytest.approx(0.05, rel=0.2)
    plain = fam.sample_sweep([64.0], grid, seeds=2, noise=1e-2, rng=4)
    zero = fam.sample_sweep([64.0], grid, seeds=2, noise=1e-2, rng=4, seed_shift=0.0)
    assert np.array_equal(plain.loss.to_numpy(), zero.loss.to_numpy())


def test_coverage_cases_are_what_they_say():
    cases = coverage_cases()
    assert {
        "fast",
        "weak",
        "crn",
        "single_seed",
        "small_gap",
        "cubic",
        "log_drift",
        "no_drift",
        "late_shift",
        "fast_underpowered",
    } <= set(cases)
    for case in cases.values():
        grid = case.grid()
        nu = case.family.nu_star(np.asarray(case.widths))
        # every optimum at least 3.75 (15 grid steps) inside the grid
        assert grid[0] <= nu.min() - 3.75 + 1e-9 and grid[-1] >= nu.max() + 3.75 - 1e-9
        assert np.allclose(np.diff(grid), 0.25)
        df = case.sample(0)
        assert df.seed.nunique() == case.seeds and df.width.nunique() == len(case.widths)
    t = cases["weak"].truth
    assert t["beta_minus_half_alpha"] == pytest.approx(0.0) and np.isnan(t["slope"])
    assert cases["log_drift"].truth["slope"] == -0.5 and np.isnan(cases["log_drift"].truth["beta"])
    assert cases["no_drift"].truth["slope"] == 0.0

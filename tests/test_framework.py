"""theory.framework: the gap definitions and the verdict rule (docs/paper-setups.md#verdicts)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fasttransfer.theory.framework import (
    VERDICTS,
    Estimate,
    Evidence,
    finite_transfer_suboptimality,
    hp_gap,
    is_fast,
    loss_gap,
    rescaling_rule,
    transfer_suboptimality,
    transfer_verdict,
)
from fasttransfer.theory.synthetic import PowerLawFamily


def test_gaps_elementwise_and_norm():
    assert np.allclose(loss_gap([1.0, 0.5], 0.75), [0.25, 0.25])
    assert np.allclose(hp_gap([1.0, -1.0], 0.5), [0.5, 1.5])
    # h = 2 HPs: Euclidean norm over the HP axis
    assert np.allclose(
        hp_gap(np.array([[3.0, 4.0], [0.0, 1.0]]), np.zeros(2), hp_axis=-1), [5.0, 1.0]
    )


@settings.get_profile("estimators")
@given(
    B=st.floats(0.05, 5.0),
    beta=st.floats(0.1, 1.5),
    kappa=st.floats(0.05, 5.0),
    n=st.floats(16.0, 1e5),
)
def test_c_is_half_kappa_b_squared_on_the_family(B, beta, kappa, n):
    """The synthetic family: c_n = kappa/2 B^2 n^(-2 beta) = kappa/2 b_n^2 (Theorem 1.3 with
    mu = L = kappa)."""
    fam = PowerLawFamily(
        phi_inf_star=1.0, A=2.0, alpha=0.5, kappa=kappa, nu_inf=-1.0, B=B, beta=beta
    )
    c = transfer_suboptimality(fam.phi_inf, fam.nu_star(n), fam.phi_inf_star)
    b = hp_gap(fam.nu_star(n), fam.nu_inf)
    # float64 rounding of a difference of O(1) numbers: relative 1e-9 of phi_inf_star
    assert c == pytest.approx(0.5 * kappa * B**2 * n ** (-2 * beta), rel=1e-7, abs=1e-12)
    assert c == pytest.approx(0.5 * kappa * b**2, rel=1e-7, abs=1e-12)
    assert c >= 0


def test_finite_version_tends_to_c_n():
    fam = PowerLawFamily(phi_inf_star=0.0, A=1.0, alpha=0.5, kappa=1.0, B=1.0, beta=0.5)
    m = 64.0
    cN = [
        finite_transfer_suboptimality(
            lambda nu, N=N: fam.loss(N, nu), fam.nu_star(m), fam.phi_star(N)
        )
        for N in (1e3, 1e6, 1e12)
    ]
    # c_{m->N} = kappa/2 (nu*(m) - nu*(N))^2 -> kappa/2 b_m^2 = c_m as N -> inf
    for N, c in zip((1e3, 1e6, 1e12), cN, strict=False):
        assert c == pytest.approx(0.5 * (fam.nu_star(m) - fam.nu_star(N)) ** 2, rel=1e-9)
    # at N = 1e12, b_N / b_m = 8e-6, so the relative distance to c_m is ~2 b_N / b_m
    assert cN[-1] == pytest.approx(float(fam.c(m)), rel=2e-5)
    assert cN[0] < cN[1] < cN[2]


CONVERGES = dict(beta=(0.2, 0.6), drift="power law", slope=(-0.3, -0.15), slope_estimate=-0.2)


@pytest.mark.parametrize(
    "kw, word, reason",
    [
        (dict(d=(0.15, 0.3)), "fast", "above the margin"),
        (dict(d=(-0.05, 0.08)), "weak", "inside the equivalence margin"),
        (dict(d=(-0.3, -0.15)), "below-theory", "Proposition 1"),
        (dict(d=(-0.05, 0.3)), "inconclusive", "underpowered"),  # straddles +m
        (dict(d=(-0.5, 0.5)), "inconclusive", "underpowered"),
        (dict(d=(0.15, 0.3), margin=0.2), "inconclusive", "underpowered"),  # the margin is settable
        (dict(d=(-0.05, 0.08), loss_gap_resolved=False), "inconclusive", "loss gap"),
        (dict(d=(-0.05, 0.08), hp_drift_resolved=False), "inconclusive", "HP drift"),
        (dict(d=(0.15, 0.3), doubts=("window",)), "inconclusive", "window"),
        (dict(d=(0.15, 0.3), flat="no measurable HP drift"), "inconclusive", "no measurable"),
        (dict(d=(0.15, 0.3), blockers=("one seed",)), "inconclusive", "one seed"),
        (dict(d=(np.nan, np.nan)), "inconclusive", "not finite"),
        # drift versus convergence
        (
            dict(d=(0.15, 0.3), drift="indistinguishable", beta=(-0.05, 0.05)),
            "no-transfer",
            "HP = nu n^-0.2",
        ),
        (dict(d=(0.15, 0.3), drift="drift", beta=(-0.05, 0.05)), "no-transfer", "preferred"),
        (dict(d=(0.15, 0.3), drift="power law", beta=(-0.6, -0.2)), "no-transfer", "n^-0.2"),
        (
            dict(d=(0.15, 0.3), drift="drift", beta=(-0.05, 0.05), slope=(-0.12, 0.02)),
            "inconclusive",
            "not resolved",
        ),
        (
            dict(d=(0.15, 0.3), drift="indistinguishable", beta=(0.05, 0.9)),
            "inconclusive",
            "cannot decide",
        ),  # beta above 0 too
        (
            dict(d=(0.15, 0.3), drift="indistinguishable", beta=(-0.3, 0.9)),
            "inconclusive",
            "cannot decide",
        ),
        (
            dict(d=(0.15, 0.3), drift="drift", beta=(-0.05, 0.05), flat="no measurable HP drift"),
            "inconclusive",
            "no measurable",
        ),
        (
            dict(d=(0.15, 0.3), drift="power law", beta=(-0.05, 0.4)),
            "inconclusive",
            "cannot decide",
        ),
        (dict(d=(0.15, 0.3), drift="untested"), "inconclusive", "not compared"),
    ],
)
def test_verdict_table(kw, word, reason):
    ev = Evidence(**{**CONVERGES, **kw})
    got, reasons = transfer_verdict(ev)
    assert got == word and got in VERDICTS
    assert reasons and any(reason in r for r in reasons), reasons


@settings.get_profile("estimators")
@given(lo=st.floats(-2.0, 2.0), width=st.floats(0.0, 2.0), m=st.floats(0.0, 0.5))
def test_rate_verdicts_partition_the_interval(lo, width, m):
    """With convergence and both gaps resolved, the interval [lo, hi] of beta - alpha/2
    decides alone: fast iff lo > m, below-theory iff hi < -m, weak iff inside [-m, m]."""
    hi = lo + width
    word, _ = transfer_verdict(Evidence(**{**CONVERGES, "d": (lo, hi), "margin": m}))
    expect = (
        "fast"
        if lo > m
        else "below-theory"
        if hi < -m
        else "weak"
        if -m <= lo and hi <= m
        else "inconclusive"
    )
    assert word == expect


def test_rescaling_rule_names_the_exponent():
    rule = rescaling_rule(-0.48)  # LR* ~ n^-0.48: nu = LR n^0.48 is width-free
    assert "moves as n^-0.48" in rule and "HP = nu n^-0.48" in rule and "nu = HP n^0.48" in rule


def test_estimate_and_is_fast():
    e = Estimate(0.5, (0.4, 0.6))
    assert e.contains(0.45) and not e.contains(0.7)
    assert e.width == pytest.approx(0.2)
    assert e.to_json() == {"estimate": 0.5, "ci": [0.4, 0.6]}
    assert is_fast(0.52, 0.75) and not is_fast(0.52, 0.26)


def test_library_errors_name_parameters_and_the_cli_names_flags():
    """A Python caller reads the parameter's name; the command line its flag."""
    import pandas as pd

    from fasttransfer.errors import InputError, cli_message
    from fasttransfer.theory.grid_planner import plan
    from fasttransfer.theory.rates import analyze_sweep

    df = pd.DataFrame({"width": [1, 2], "hp": [0.0, 1.0], "loss": [1.0, 1.0]})
    with pytest.raises(InputError) as e:
        analyze_sweep(df, window=3)
    assert str(e.value).startswith("window must be at least")
    assert cli_message(e.value).startswith("--window must be at least")
    with pytest.raises(InputError) as e:
        plan(-1.0, 0.5, 2, 1, 1e6)
    assert str(e.value).startswith("alpha:") and cli_message(e.value).startswith("--alpha:")
    assert cli_message(InputError("log_hp: bad", param="log_hp")) == "--log-hp: bad"
    assert cli_message(InputError("a file's content")) == "a file's content"

"""simulations.mup: the scaling rules against a closed-form table (SPEC §5)."""

import math

import pytest

from fasttransfer.simulations import mup

# (width, d, param) -> (std W, std b, std a, output multiplier, LR multipliers W, b, a)
TABLE = [
    (1, 8, "mup", 1 / math.sqrt(8), 1.0, 1.0, 1.0, (1.0, 1.0, 1.0)),
    (64, 8, "mup", 1 / math.sqrt(8), 1.0, 1.0, 1 / 64, (1.0, 1.0, 1.0)),
    (4096, 16, "mup", 0.25, 1.0, 1.0, 1 / 4096, (1.0, 1.0, 1.0)),
    (1, 8, "sp", 1 / math.sqrt(8), 1.0, 1.0, 1.0, (1.0, 1.0, 1.0)),
    (64, 8, "sp", 1 / math.sqrt(8), 1.0, 1 / 8, 1.0, (1.0, 1.0, 1.0)),
    (4096, 16, "sp", 0.25, 1.0, 1 / 64, 1.0, (1.0, 1.0, 1.0)),
]


@pytest.mark.parametrize("width,d,param,sW,sb,sa,m,lrm", TABLE)
def test_closed_form_table(width, d, param, sW, sb, sa, m, lrm):
    std = mup.init_std(width, d, param)
    # exact closed forms; 1e-15 relative covers one rounding of sqrt/division
    assert std["W"] == pytest.approx(sW, rel=1e-15)
    assert std["b"] == pytest.approx(sb, rel=1e-15)
    assert std["a"] == pytest.approx(sa, rel=1e-15)
    assert mup.output_multiplier(width, param) == pytest.approx(m, rel=1e-15)
    mult = mup.lr_multipliers(width, param)
    assert (mult["W"], mult["b"], mult["a"]) == lrm


@pytest.mark.parametrize("k", range(0, 15))
def test_output_scale_exponents(k):
    """muP: m(n) a ~ n^-1 per unit, so sum_i of n units is O(1); SP: m(n) a ~ n^-1/2,
    so the initial output is O(1) but one Adam step (O(nu) per a_i) moves it by O(n)."""
    n = 2**k
    mup_unit = mup.output_multiplier(n, "mup") * mup.init_std(n, 8, "mup")["a"]
    sp_unit = mup.output_multiplier(n, "sp") * mup.init_std(n, 8, "sp")["a"]
    assert mup_unit * n == pytest.approx(1.0, rel=1e-12)
    assert sp_unit * math.sqrt(n) == pytest.approx(1.0, rel=1e-12)
    # the per-step output change, sum_i m(n) * O(1) update of a_i:
    assert n * mup.output_multiplier(n, "mup") == pytest.approx(1.0, rel=1e-12)
    assert n * mup.output_multiplier(n, "sp") == n


@pytest.mark.parametrize("bad", [dict(width=0), dict(width=2.5), dict(param="ntk")])
def test_bad_input(bad):
    args = dict(width=8, param="mup") | bad
    with pytest.raises(ValueError):
        mup.output_multiplier(**args)
    with pytest.raises(ValueError):
        mup.init_std(d=4, **args)
    with pytest.raises(ValueError):
        mup.lr_multipliers(**args)


# base width n0: (width, n0) -> (std a, LR multiplier of a); W and b unchanged
BASE_TABLE = [(128, 128, math.sqrt(128), 128.0), (1024, 128, math.sqrt(128), 128.0),
              (181, 64, 8.0, 64.0)]


@pytest.mark.parametrize("width,n0,sa,la", BASE_TABLE)
def test_base_width_table(width, n0, sa, la):
    std = mup.init_std(width, 8, "mup", base_width=n0)
    assert std["a"] == pytest.approx(sa, rel=1e-15) and std["W"] == pytest.approx(8 ** -0.5)
    mult = mup.lr_multipliers(width, "mup", base_width=n0)
    assert (mult["W"], mult["b"], mult["a"]) == (1.0, 1.0, la)
    # sp ignores the base width
    assert mup.lr_multipliers(width, "sp", base_width=n0) == {"W": 1.0, "b": 1.0, "a": 1.0}


@pytest.mark.parametrize("n0", [16, 128])
def test_base_width_is_sp_at_the_base(n0):
    """At n = n0 the un-normalised output weights A = m(n) a have the SP fan-in std
    1/sqrt(n0) and the SP learning rate nu (LR of A = nu * mult_a * m(n))."""
    m = mup.output_multiplier(n0, "mup")
    assert m * mup.init_std(n0, 8, "mup", base_width=n0)["a"] == pytest.approx(
        mup.init_std(n0, 8, "sp")["a"], rel=1e-14)
    assert m * mup.lr_multipliers(n0, "mup", base_width=n0)["a"] == pytest.approx(1.0, rel=1e-14)


def test_bias_std_follows_the_input_scale():
    assert mup.init_std(64, 64, "mup", input_std=0.25)["b"] == 0.25
    with pytest.raises(ValueError):
        mup.init_std(64, 64, "mup", input_std=0.0)
    with pytest.raises(ValueError):
        mup.lr_multipliers(64, "mup", base_width=0)

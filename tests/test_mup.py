"""simulations.mup: the scaling rules against a closed-form table (SPEC §5)."""

import math

import pytest

from simulations import mup

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

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


# ----------------------------------------------------------------------------- deep MLP
# (width n, depth D, base width n0, d_in) -> closed forms of Tensor Programs V Table 3 (Adam):
# init std W0 1/sqrt(d_in), hidden 1/sqrt(n), output sqrt(n0)/n, biases 0;
# LR multiplier W0 1, hidden and output n0/n, biases 1
DEEP_TABLE = [
    # n, D, n0, d_in, std W0, std hidden, std out, LR hidden/out
    (64, 3, 64, 40, 1 / math.sqrt(40), 1 / 8, 1 / 8, 1.0),
    (256, 3, 64, 40, 1 / math.sqrt(40), 1 / 16, 8 / 256, 0.25),
    (1024, 4, 64, 40, 1 / math.sqrt(40), 1 / 32, 8 / 1024, 1 / 16),
    (4096, 3, 128, 16, 0.25, 1 / 64, math.sqrt(128) / 4096, 1 / 32),
    (100, 2, 25, 9, 1 / 3, 0.1, 0.05, 0.25),
]


@pytest.mark.parametrize("n,D,n0,d_in,s0,sh,so,lh", DEEP_TABLE)
def test_deep_mlp_closed_form_table(n, D, n0, d_in, s0, sh, so, lh):
    std = mup.deep_mlp_init_std(n, D, n0, d_in)
    mult = mup.deep_mlp_lr_multipliers(n, D, n0)
    names = {f"W{i}" for i in range(D + 1)} | {f"b{i}" for i in range(D + 1)}
    assert set(std) == names and set(mult) == names
    # exact closed forms; 1e-15 relative covers one rounding of sqrt/division
    assert std["W0"] == pytest.approx(s0, rel=1e-15)
    for layer in range(1, D):
        assert std[f"W{layer}"] == pytest.approx(sh, rel=1e-15)
        assert mult[f"W{layer}"] == pytest.approx(lh, rel=1e-15)
    assert std[f"W{D}"] == pytest.approx(so, rel=1e-15)
    assert mult[f"W{D}"] == pytest.approx(lh, rel=1e-15)
    assert mult["W0"] == 1.0
    assert all(std[f"b{i}"] == 0.0 and mult[f"b{i}"] == 1.0 for i in range(D + 1))


@pytest.mark.parametrize("n0", [16, 64, 128])
def test_deep_mlp_is_sp_at_the_base(n0):
    """At n = n0: fan-in init (output 1/sqrt(n0)) and one LR for every parameter."""
    std = mup.deep_mlp_init_std(n0, 3, n0, 40)
    assert std["W3"] == pytest.approx(1 / math.sqrt(n0), rel=1e-15)
    assert std["W1"] == pytest.approx(1 / math.sqrt(n0), rel=1e-15)
    assert set(mup.deep_mlp_lr_multipliers(n0, 3, n0).values()) == {1.0}


@pytest.mark.parametrize("n,n0", [(64, 64), (1024, 128), (181, 64)])
def test_one_hidden_layer_is_the_two_layer_rule(n, n0):
    """D = 1: the deep rule's output weights are the two-layer rule's A = m(n) a with the
    same base width (std and effective Adam LR; Adam's step is invariant to the scale m,
    so the LR of A is nu * mult_a * m(n)), its input weights are W."""
    deep_std = mup.deep_mlp_init_std(n, 1, n0, 8)
    deep_lr = mup.deep_mlp_lr_multipliers(n, 1, n0)
    m = mup.output_multiplier(n, "mup")
    two_std = mup.init_std(n, 8, "mup", base_width=n0)
    two_lr = mup.lr_multipliers(n, "mup", base_width=n0)
    assert deep_std["W1"] == pytest.approx(m * two_std["a"], rel=1e-14)
    assert deep_lr["W1"] == pytest.approx(m * two_lr["a"], rel=1e-14)
    assert deep_std["W0"] == two_std["W"] and deep_lr["W0"] == two_lr["W"]
    assert deep_lr["b0"] == two_lr["b"]


@pytest.mark.parametrize("bad,param", [(dict(width=0), "width"), (dict(depth=1.5), "depth"),
                                       (dict(base_width=-4), "base_width"), (dict(d_in=0), "d_in")])
def test_deep_mlp_bad_input(bad, param):
    from fasttransfer.theory.errors import InputError

    args = dict(width=64, depth=3, base_width=64, d_in=40) | bad
    with pytest.raises(InputError) as err:
        mup.deep_mlp_init_std(**args)
    assert err.value.param == param
    if param != "d_in":
        args.pop("d_in")
        with pytest.raises(InputError):
            mup.deep_mlp_lr_multipliers(**args)

"""simulations.mup: the scaling rules against a closed-form table."""

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
BASE_TABLE = [
    (128, 128, math.sqrt(128), 128.0),
    (1024, 128, math.sqrt(128), 128.0),
    (181, 64, 8.0, 64.0),
]


@pytest.mark.parametrize("width,n0,sa,la", BASE_TABLE)
def test_base_width_table(width, n0, sa, la):
    std = mup.init_std(width, 8, "mup", base_width=n0)
    assert std["a"] == pytest.approx(sa, rel=1e-15) and std["W"] == pytest.approx(8**-0.5)
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
        mup.init_std(n0, 8, "sp")["a"], rel=1e-14
    )
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


@pytest.mark.parametrize(
    "bad,param",
    [
        (dict(width=0), "width"),
        (dict(depth=1.5), "depth"),
        (dict(base_width=-4), "base_width"),
        (dict(d_in=0), "d_in"),
    ],
)
def test_deep_mlp_bad_input(bad, param):
    from fasttransfer.errors import InputError

    args = dict(width=64, depth=3, base_width=64, d_in=40) | bad
    with pytest.raises(InputError) as err:
        mup.deep_mlp_init_std(**args)
    assert err.value.param == param
    if param != "d_in":
        args.pop("d_in")
        with pytest.raises(InputError):
            mup.deep_mlp_lr_multipliers(**args)


# ------------------------------------------------------------------- MLP under SGD
# (width n, depth D, base width n0, d_in) -> closed forms of Tensor Programs V Table 3 (SGD),
# normalised to SP at n0: init std W0 1/sqrt(d_in), hidden 1/sqrt(n), output sqrt(n0)/n;
# SGD LR multiplier W0 n/n0, hidden 1, output n0/n; no biases
SGD_TABLE = [
    # n, D, n0, d_in, std W0, std hidden, std out, LR W0, LR out
    (32, 1, 32, 40, 1 / math.sqrt(40), None, 1 / math.sqrt(32), 1.0, 1.0),
    (256, 1, 32, 40, 1 / math.sqrt(40), None, math.sqrt(32) / 256, 8.0, 1 / 8),
    (8192, 1, 128, 40, 1 / math.sqrt(40), None, math.sqrt(128) / 8192, 64.0, 1 / 64),
    (1024, 3, 64, 16, 0.25, 1 / 32, 8 / 1024, 16.0, 1 / 16),
    (100, 2, 25, 9, 1 / 3, 0.1, 0.05, 4.0, 0.25),
]


@pytest.mark.parametrize("n,D,n0,d_in,s0,sh,so,l0,lo", SGD_TABLE)
def test_sgd_mlp_closed_form_table(n, D, n0, d_in, s0, sh, so, l0, lo):
    std = mup.sgd_mlp_init_std(n, D, n0, d_in)
    mult = mup.sgd_mlp_lr_multipliers(n, D, n0)
    names = {f"W{i}" for i in range(D + 1)}
    assert set(std) == names and set(mult) == names  # no biases
    # exact closed forms; 1e-15 relative covers one rounding of sqrt/division
    assert std["W0"] == pytest.approx(s0, rel=1e-15)
    assert std[f"W{D}"] == pytest.approx(so, rel=1e-15)
    assert mult["W0"] == pytest.approx(l0, rel=1e-15)
    assert mult[f"W{D}"] == pytest.approx(lo, rel=1e-15)
    for layer in range(1, D):
        assert std[f"W{layer}"] == pytest.approx(sh, rel=1e-15)
        assert mult[f"W{layer}"] == 1.0


@pytest.mark.parametrize("n0", [16, 128])
def test_sgd_mlp_is_sp_at_the_base(n0):
    """At n = n0: fan-in init and one SGD learning rate for every weight."""
    std = mup.sgd_mlp_init_std(n0, 2, n0, 40)
    assert std["W2"] == pytest.approx(1 / math.sqrt(n0), rel=1e-15)
    assert set(mup.sgd_mlp_lr_multipliers(n0, 2, n0).values()) == {1.0}


@pytest.mark.parametrize(
    "bad,param",
    [(dict(width=0), "width"), (dict(depth=0), "depth"), (dict(base_width=2.5), "base_width")],
)
def test_sgd_mlp_bad_input(bad, param):
    from fasttransfer.errors import InputError

    args = dict(width=64, depth=1, base_width=64) | bad
    with pytest.raises(InputError) as err:
        mup.sgd_mlp_lr_multipliers(**args)
    assert err.value.param == param
    with pytest.raises(InputError):
        mup.sgd_mlp_init_std(d_in=40, **args)


# ------------------------------------------------------------ Llama-style transformer
# (width, n0, r) -> init std per kind, Adam multipliers of the hidden kinds, output
# multiplier; closed forms of the table in simulations/mup.py
TRANSFORMER_TABLE = [
    (
        128,
        128,
        4,
        {
            "embed": 1.0,
            "attn": 128**-0.5,
            "ffn_in": 128**-0.5,
            "ffn_out": 512**-0.5,
            "unembed": 128**-0.5,
        },
        1.0,
        1.0,
    ),
    (
        1024,
        128,
        4,
        {"embed": 1.0, "attn": 1 / 32, "ffn_in": 1 / 32, "ffn_out": 1 / 64, "unembed": 128**-0.5},
        0.125,
        0.125,
    ),
    (
        64,
        128,
        2,
        {"embed": 1.0, "attn": 0.125, "ffn_in": 0.125, "ffn_out": 128**-0.5, "unembed": 128**-0.5},
        2.0,
        2.0,
    ),
]


@pytest.mark.parametrize("width,n0,r,std,hidden_lr,out_mult", TRANSFORMER_TABLE)
def test_transformer_table(width, n0, r, std, hidden_lr, out_mult):
    got = mup.transformer_init_std(width, n0, r)
    assert set(got) == set(std)
    for kind, value in std.items():  # 1e-15: one rounding of sqrt / division
        assert got[kind] == pytest.approx(value, rel=1e-15), kind
    adam = mup.transformer_lr_multipliers(width, n0, "adam")
    assert set(adam) == set(mup.TRANSFORMER_KINDS)
    for kind in ("attn", "ffn_in", "ffn_out"):
        assert adam[kind] == pytest.approx(hidden_lr, rel=1e-15)
    assert adam["embed"] == adam["unembed"] == adam["gain"] == 1.0
    muon = mup.transformer_lr_multipliers(width, n0, "muon")
    for kind in ("attn", "ffn_in", "ffn_out"):  # width-independent: sqrt(n0)
        assert muon[kind] == pytest.approx(math.sqrt(n0), rel=1e-15)
    assert muon["embed"] == muon["unembed"] == muon["gain"] == 1.0
    assert mup.transformer_output_multiplier(width, n0) == pytest.approx(out_mult, rel=1e-15)


@pytest.mark.parametrize(
    "width,heads,scale",
    [(128, 8, 0.25), (1024, 8, 4 / 128), (2048, 8, 4 / 256), (256, 4, 32**0.5 / 64)],
)
def test_transformer_attention_scale(width, heads, scale):
    """sqrt(d0)/d_head with d0 = 128/heads (16 for 8 heads, 32 for 4): 1/sqrt(16) = 1/4
    at the base (SP), then proportional to 1/d_head as d_head = n/heads grows."""
    assert mup.transformer_attention_scale(width, 128, heads) == pytest.approx(scale, rel=1e-15)


def test_transformer_is_sp_at_the_base():
    """At n = n0: fan-in init of every matrix, one Adam LR, no output multiplier,
    attention 1/sqrt(d_head)."""
    n0, heads = 128, 8
    std = mup.transformer_init_std(n0, n0)
    assert std["unembed"] == pytest.approx(1 / math.sqrt(n0), rel=1e-15)  # fan-in n0
    assert set(mup.transformer_lr_multipliers(n0, n0).values()) == {1.0}
    assert mup.transformer_output_multiplier(n0, n0) == 1.0
    assert mup.transformer_attention_scale(n0, n0, heads) == pytest.approx(
        1 / math.sqrt(n0 / heads), rel=1e-15
    )


@pytest.mark.parametrize("k", range(7, 13))
def test_transformer_readout_scale(k):
    """The effective readout (n0/n) U has entries of std sqrt(n0)/n and moves by
    nu n0/n under Adam: the deep MLP's un-normalised output rule (Tensor Programs V)."""
    n, n0 = 2**k, 128
    m = mup.transformer_output_multiplier(n, n0)
    eff_std = m * mup.transformer_init_std(n, n0)["unembed"]
    assert eff_std == pytest.approx(mup.deep_mlp_init_std(n, 2, n0, 8)["W2"], rel=1e-14)
    eff_lr = m * mup.transformer_lr_multipliers(n, n0)["unembed"]
    assert eff_lr == pytest.approx(mup.deep_mlp_lr_multipliers(n, 2, n0)["W2"], rel=1e-14)


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda: mup.transformer_init_std(0, 128), "width"),
        (lambda: mup.transformer_init_std(128, 128, ffn_ratio=0), "ffn_ratio"),
        (lambda: mup.transformer_lr_multipliers(128, 128, "sgd"), "optimizer"),
        (lambda: mup.transformer_attention_scale(100, 128, 8), "width"),
        (lambda: mup.transformer_attention_scale(128, 128, 0), "heads"),
    ],
)
def test_transformer_bad_input(call, param):
    from fasttransfer.errors import InputError

    with pytest.raises(InputError) as err:
        call()
    assert err.value.param == param

"""simulations.transformer: the muP Llama-style model, its pieces, its Problem."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import mup, text_corpus
from fasttransfer.simulations import transformer as TR
from fasttransfer.simulations.recorder import RecorderConfig
from fasttransfer.simulations.topk_training import sweep_fn


def np_params(width: int, cfg, seed: int = 0, scale: float = 1.0) -> dict:
    """Parameters drawn with numpy at the muP init stds times ``scale`` (gains 1): no JAX
    random-number program to compile."""
    rng = np.random.default_rng(seed)
    std = mup.transformer_init_std(width, cfg.base_width, cfg.ffn_ratio)
    out = {}
    for name, shape in TR.param_shapes(TR.arch(width, cfg)).items():
        kind = TR.param_kind(name)
        value = np.ones(shape) if kind == "gain" else scale * std[kind] * rng.normal(size=shape)
        out[name] = jnp.asarray(value, jnp.float64)
    return out


def tiny(**kw) -> TR.TransformerConfig:
    """A float64 model small enough to compile in seconds (depth 2: the block code is
    the same for every layer)."""
    base = dict(
        widths=(16,),
        depth=2,
        heads=4,
        context=16,
        batch=8,
        steps=40,
        lrs=(4e-3,),
        seeds=(0,),
        corpus="pydoc",
        n_eval=8,
        remat=False,
        dtype="float64",
        k_max=8,
    )
    return TR.TransformerConfig(**(base | kw))


# ------------------------------------------------------------------- configuration
def test_paper_preset_is_the_papers_run():
    cfg = TR.TransformerConfig.from_preset("paper")
    assert (cfg.depth, cfg.heads, cfg.ffn_ratio, cfg.rope_theta) == (4, 8, 4, 10000.0)
    assert (cfg.context, cfg.batch, cfg.steps, cfg.base_width) == (128, 128, 7185, 128)
    assert cfg.lrs == (1.0e-3, 1.4e-3, 2.0e-3, 2.8e-3, 4.0e-3, 4.8e-3, 5.7e-3, 6.7e-3, 8.0e-3)
    assert cfg.widths == (128, 256, 512, 1024, 2048) and len(cfg.seeds) == 3
    assert (cfg.warmup, cfg.cooldown, cfg.optimizer) == (0.04, 0.2, "adam")
    for name in ("quick", "cpu", "gpu"):
        small = TR.TransformerConfig.from_preset(name)
        assert small.depth == 4 and small.rope_theta == 10000.0
    assert TR.MuonTransformer.from_preset("quick") == TR.TransformerConfig.from_preset(
        "quick", optimizer="muon"
    )


@pytest.mark.parametrize(
    "bad,param",
    [
        (dict(widths=(20,)), "widths"),  # not a multiple of the heads
        (dict(widths=(12,)), "widths"),  # d_head 3: RoPE needs pairs
        (dict(optimizer="sgd"), "optimizer"),
        (dict(warmup=0.5, cooldown=0.6), "warmup"),
        (dict(corpus="wikitext"), "corpus"),
        (dict(depth=0), "depth"),
    ],
)
def test_config_validation(bad, param):
    with pytest.raises(InputError) as err:
        tiny(**bad)
    assert err.value.param == param
    with pytest.raises(InputError, match="preset"):
        TR.TransformerConfig.from_preset("huge")


# ------------------------------------------------------------------- parameters
def test_parameters_follow_the_mup_table():
    n, cfg = 64, tiny(widths=(64,))
    p = TR.init_params(jax.random.PRNGKey(0), n, cfg)
    shapes = TR.param_shapes(TR.arch(n, cfg))
    assert {k: v.shape for k, v in p.items()} == shapes
    assert shapes["embed"] == (256, n) and shapes["unembed"] == (n, 256)
    assert shapes["blk1.w1"] == (n, 4 * n) and shapes["blk1.w2"] == (4 * n, n)
    std = mup.transformer_init_std(n, cfg.base_width, cfg.ffn_ratio)
    for name, x in p.items():
        kind = TR.param_kind(name)
        if kind == "gain":
            assert x.ndim == 1 and np.all(np.asarray(x) == 1.0), name
        else:
            # sample std of m Gaussian draws: relative SE 1/sqrt(2m); 5 SE
            tol = 5 / math.sqrt(2 * x.size)
            assert float(jnp.std(x)) == pytest.approx(std[kind], rel=tol), name
    mult = TR.problem(n, cfg).lr_mult
    table = mup.transformer_lr_multipliers(n, cfg.base_width, "adam")
    assert {k: float(v) for k, v in mult.items()} == {k: table[TR.param_kind(k)] for k in p}
    # N of the FLOP count is the number of weights in matrix products (not the lookup)
    assert TR.matmul_params(n, cfg) == sum(
        x.size for k, x in p.items() if TR.param_kind(k) not in ("gain", "embed")
    )


# ------------------------------------------------------------------- building blocks
def test_rms_norm():
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 16), jnp.float64) * 3.0
    g = jnp.linspace(0.5, 2.0, 16, dtype=jnp.float64)
    ones = jnp.ones(16, jnp.float64)
    eps = 1e-6
    y = TR.rms_norm(x, ones, eps)
    ms = jnp.mean(x * x, -1)
    # mean(y^2) = ms / (ms + eps) exactly; 1e-13 covers the rounding of 16 terms
    np.testing.assert_allclose(jnp.mean(y * y, -1), ms / (ms + eps), rtol=1e-13)
    np.testing.assert_allclose(
        TR.rms_norm(7.0 * x, ones, 0.0), TR.rms_norm(x, ones, 0.0), rtol=1e-13
    )
    np.testing.assert_allclose(TR.rms_norm(x, g, eps), g[None] * y, rtol=1e-14)


def test_rope_scores_depend_on_the_relative_position_only():
    """q at every position, k at every position: the score of (m, j) after RoPE is
    sum_i (q1 k1 + q2 k2) cos((m - j) w_i) + (q1 k2 - q2 k1) sin((m - j) w_i), a function
    of m - j (exact identity; 1e-12 covers float64 rounding of 8 frequency terms)."""
    T, d, theta = 12, 16, 10000.0
    kq, kk = jax.random.split(jax.random.PRNGKey(2))
    q0 = jax.random.normal(kq, (d,), jnp.float64)
    k0 = jax.random.normal(kk, (d,), jnp.float64)
    cos, sin = TR.rope_tables(T, d, theta, jnp.float64)
    q = TR.apply_rope(jnp.broadcast_to(q0, (1, T, 1, d)), cos, sin)[0, :, 0]
    k = TR.apply_rope(jnp.broadcast_to(k0, (1, T, 1, d)), cos, sin)[0, :, 0]
    S = np.asarray(q @ k.T)  # (T, T): S[m, j]
    w = theta ** (-np.arange(d // 2) * 2.0 / d)
    q1, q2, k1, k2 = (np.asarray(v) for v in (q0[:8], q0[8:], k0[:8], k0[8:]))
    rel = np.arange(T)[:, None] - np.arange(T)[None, :]
    closed = (
        (q1 * k1 + q2 * k2)[None, None] * np.cos(rel[..., None] * w)
        + (q1 * k2 - q2 * k1)[None, None] * np.sin(rel[..., None] * w)
    ).sum(-1)
    np.testing.assert_allclose(S, closed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S[1:, 1:], S[:-1, :-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(q[0], q0, rtol=0, atol=0)  # position 0: no rotation
    np.testing.assert_allclose(jnp.linalg.norm(q, axis=-1), jnp.linalg.norm(q0), rtol=1e-14)


def test_forward_shape_and_causality():
    """Changing token j never changes the logits at positions < j (the mask gives the
    future weight exactly 0), and does change them at j."""
    cfg = tiny()
    a = TR.arch(16, cfg)
    p = np_params(16, cfg, seed=3)
    tokens = jax.random.randint(jax.random.PRNGKey(4), (2, 10), 0, 256, dtype=jnp.int32)
    f = jax.jit(lambda t: TR.forward(p, t, a))
    base = np.asarray(f(tokens))
    assert base.shape == (2, 10, 256)
    for j in (0, 4, 9):
        changed = np.asarray(f(tokens.at[:, j].set((tokens[:, j] + 1) % 256)))
        np.testing.assert_array_equal(changed[:, :j], base[:, :j])
        assert np.all(np.any(changed[:, j] != base[:, j], axis=-1))


def test_wsd_schedule_values():
    sched = TR.wsd_schedule(100, 0.04, 0.2, "float64")  # W = 4, C = 20
    table = {0: 0.25, 1: 0.5, 3: 1.0, 50: 1.0, 80: 1.0, 81: 0.95, 90: 0.5, 99: 0.05}
    jitted = jax.jit(sched)
    for t, value in table.items():
        assert float(jitted(jnp.int32(t))) == pytest.approx(value, rel=1e-15), t
    paper = TR.wsd_schedule(7185, 0.04, 0.2, "float64")  # W = 287, C = 1437
    assert float(paper(286)) == 1.0 and float(paper(285)) == pytest.approx(286 / 287)
    assert float(paper(7185 - 1437)) == 1.0
    assert float(paper(7184)) == pytest.approx(1 / 1437, rel=1e-15)
    assert float(TR.wsd_schedule(10, 0.0, 0.0, "float64")(0)) == 1.0


# ------------------------------------------------------------------- Muon
NS = (3.4445, -4.775, 2.0315)  # optax 0.2.8's quintic Newton-Schulz coefficients


def _ns5(s):
    for _ in range(5):
        s = NS[0] * s + NS[1] * s**3 + NS[2] * s**5
    return s


def test_muon_direction_is_orthogonalised_momentum():
    """First Muon step on a hidden matrix: Nesterov momentum is a positive multiple of g,
    the Frobenius normalisation removes it, and 5 quintic Newton-Schulz steps act on the
    singular values: direction = sqrt(max(1, fan_out/fan_in)) U p5(S/|g|_F) V^T. The
    singular values are not 1 but lie in p5's image of [s_min/|g|_F, 1] (the tolerance
    the iteration gives). Adam leaves get Adam's first step g/(|g| + 1e-8)."""
    cfg = tiny(optimizer="muon")
    prob = TR.problem(16, cfg)
    params = np_params(16, cfg)
    # a gradient of entries N(0, 30^2): |g|_F ~ 1e3 makes optax's eps 1e-8 in the
    # normalisation a 1e-11 relative effect
    rng = np.random.default_rng(5)
    g = {k: jnp.asarray(30.0 * rng.normal(size=v.shape)) for k, v in params.items()}
    with jax.numpy_dtype_promotion("standard"):
        direction, _ = jax.jit(prob.direction.update)(g, prob.direction.init(params), params)
    for name in ("blk0.w1", "blk1.wq", "blk0.w2"):
        G, D = np.asarray(g[name]), np.asarray(direction[name])
        fan_in, fan_out = G.shape
        scale = math.sqrt(max(1.0, fan_out / fan_in))
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        target = _ns5(s / np.linalg.norm(G))
        # p5' <= 3.45^5 ~ 500 amplifies the 1e-11 perturbation: 1e-7 absolute is ample
        np.testing.assert_allclose(D / scale, (U * target) @ Vt, atol=1e-7)
        grid = _ns5(np.linspace(s.min() / np.linalg.norm(G), 1.0, 100_001))
        got = np.linalg.svd(D / scale, compute_uv=False)
        assert grid.min() - 1e-7 <= got.min() and got.max() <= grid.max() + 1e-7, (
            name,
            got.min(),
            got.max(),
            grid.min(),
            grid.max(),
        )
    for name in ("embed", "unembed", "blk0.attn_norm", "final_norm"):
        G = np.asarray(g[name])
        np.testing.assert_allclose(np.asarray(direction[name]), G / (np.abs(G) + 1e-8), rtol=1e-12)


# ------------------------------------------------------------------- training
def _dot_flops(jaxpr) -> int:
    """2 x multiply-adds of every dot_general in a jaxpr, sub-jaxprs included."""
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (lhs_contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            k = math.prod(lhs[i] for i in lhs_contract)
            total += 2 * math.prod(eqn.outvars[0].aval.shape) * k
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else (value,):
                if hasattr(sub, "jaxpr") and hasattr(sub, "consts"):
                    total += _dot_flops(sub.jaxpr)
                elif hasattr(sub, "eqns"):
                    total += _dot_flops(sub)
    return total


@pytest.mark.parametrize("remat", [False, True])
def test_step_flops_equal_the_gradients_matmuls(remat):
    cfg = tiny(widths=(32,), depth=3, remat=remat)
    prob = TR.problem(32, cfg)
    p = jax.eval_shape(prob.init, jax.random.PRNGKey(0))  # shapes only: nothing compiles
    b = jax.eval_shape(prob.batch, jax.random.PRNGKey(1))
    jaxpr = jax.make_jaxpr(jax.grad(prob.loss))(p, b).jaxpr
    assert _dot_flops(jaxpr) == TR.step_flops(32, cfg)


def _unigram_entropy(data) -> float:
    counts = np.bincount(np.asarray(data), minlength=256).astype(float)
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log(prob)).sum())


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_recorded_training_learns_and_compiles_once(compile_count):
    """A recorded sweep at the tiny config: the held-out loss falls at least halfway from
    the uniform predictor (log 256 nats) to the byte-unigram entropy of the train
    stream, and a second sweep with other learning rates reuses the compiled program."""
    cfg = tiny(lrs=(2e-3, 8e-3), steps=60, depth=1)  # depth 1: half the compile time
    prob = TR.problem(16, cfg)
    fn = sweep_fn(prob, steps=cfg.steps, config=RecorderConfig(k_max=cfg.k_max))
    seeds = jnp.asarray(cfg.seeds, jnp.int32)
    with compile_count() as n:
        loss0, recs, final_raw = fn(jnp.asarray(cfg.lrs), seeds)
    assert n() >= 1
    with compile_count() as n:
        fn(jnp.asarray([1e-3, 4e-3]), seeds)
    assert n() == 0
    L = len(TR.param_shapes(TR.arch(16, cfg)))  # embed, 9 per block, final norm, unembed
    assert recs.top.shape[:2] == (2, 1) and recs.top.shape[-2:] == (L, cfg.k_max)
    train, _ = text_corpus.load(cfg.corpus)
    target = (math.log(256) + _unigram_entropy(train)) / 2
    final = np.asarray(final_raw)
    assert np.all(np.isfinite(final)) and final.min() < target, (final, target)
    assert np.all(np.asarray(recs.loss)[..., -1] < np.asarray(loss0))


def test_muon_training_learns():
    cfg = tiny(optimizer="muon", lrs=(1e-3, 4e-3), steps=60, depth=1)
    prob = TR.problem(16, cfg)
    final = np.asarray(
        sweep_fn(prob, steps=cfg.steps, config=None)(
            jnp.asarray(cfg.lrs), jnp.asarray(cfg.seeds, jnp.int32)
        )
    )
    train, _ = text_corpus.load(cfg.corpus)
    target = (math.log(256) + _unigram_entropy(train)) / 2  # as for Adam above
    assert np.all(np.isfinite(final)) and final.min() < target, (final, target)

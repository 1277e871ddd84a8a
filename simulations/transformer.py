"""A muP Llama-style transformer on a byte-level text corpus: the paper's "practical
evidence" setting (Section 4.2, appendix D) for the top-k study.

Model at width n (= d_model), ``depth`` L blocks, H heads (fixed: d_head = n / H grows
with n, 16 at n = 128 and 128 at n = 1024 for H = 8), SwiGLU hidden size h = r n
(``ffn_ratio`` r = 4: the paper's "4x" read literally, not Llama's 2/3 * 4n), vocabulary
V = 256 bytes, tokens x (B, T):

    z_0   = E[x]                                             E: (V, n)
    z'    = z + Attn(RMSNorm(z; g_a))                         per block l = 0..L-1
    z     = z' + W2^T (silu(W1^T u) * (W3^T u)),  u = RMSNorm(z'; g_f)
    logits = (n0/n) RMSNorm(z; g_out) @ U                    U: (n, V)

Attn: q, k, v = u Wq, u Wk, u Wv split into H heads, RoPE (theta 10000, rotating the two
halves of each head's coordinates) on q and k, causal softmax of s q.k with the muP
scale s = sqrt(d0)/d_head (d0 = n0/H: SP's 1/sqrt(d_head) at the base width), output
(heads concatenated) @ Wo. RMSNorm(z; g) = g z / sqrt(mean(z^2) + eps). No biases.
Loss: mean next-byte cross-entropy (nats per byte) over the B x T predictions of a
(B, T + 1) window batch.

Parameters: a FLAT dict (the recorder groups leaves by shape), weights as x @ W:
"embed" (V, n); "blk{l}.attn_norm", "blk{l}.ffn_norm" (n,); "blk{l}.wq/.wk/.wv/.wo"
(n, n); "blk{l}.w1", "blk{l}.w3" (n, h) (gate, up); "blk{l}.w2" (h, n) (down);
"final_norm" (n,); "unembed" (n, V). muP (init std, LR multipliers, output multiplier,
attention scale): :mod:`simulations.mup`, section "Llama-style transformer".

Optimisers (the :class:`simulations.topk_training.Problem` direction, no LR):
* "adam": optax's Adam (0.9, 0.999, eps 1e-8) on every leaf (direction None).
* "muon": the hidden matrices (wq wk wv wo w1 w2 w3) take optax.contrib.scale_by_muon
  (5 Newton-Schulz steps with optax's quintic coefficients (3.4445, -4.775, 2.0315) after
  Frobenius normalisation, momentum 0.95, Nesterov as optax's default), then the factor
  sqrt(max(1, fan_out/fan_in)) (Jordan's Muon; our :func:`scale_by_shape`, since optax
  0.2.8's scale_by_muon applies none and exports none); "update scaled by sqrt(m/n)" in
  the paper, read with Jordan's max(1, .). Embedding, unembedding and gains take Adam.
Schedule: warmup-stable-decay (:func:`wsd_schedule`).

Compute: :func:`step_flops` counts 6 (N + 2 L T n) matmul FLOPs per token per training
step (N: matmul parameters; the attention term counts the full T x T score and value
products), about 8/6 of that with ``remat`` (the blocks' forward recomputed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.simulations.dtypes import DTYPES, jax_dtype
from fasttransfer.simulations.recorder import RecorderFields

__all__ = [
    "PAPER_LRS",
    "Arch",
    "MuonTransformer",
    "TransformerConfig",
    "apply_rope",
    "arch",
    "forward",
    "init_params",
    "loss_fn",
    "matmul_params",
    "muon_direction",
    "param_kind",
    "param_shapes",
    "problem",
    "rms_norm",
    "rope_tables",
    "scale_by_shape",
    "step_flops",
    "sweep_flops",
    "wsd_schedule",
]

VOCAB = 256
PAPER_LRS: tuple[float, ...] = (
    1.0e-3,
    1.4e-3,
    2.0e-3,
    2.8e-3,
    4.0e-3,
    4.8e-3,
    5.7e-3,
    6.7e-3,
    8.0e-3,
)
OPTIMIZERS = ("adam", "muon")
_MUON_KINDS = frozenset({"attn", "ffn_in", "ffn_out"})


@dataclass(frozen=True)
class TransformerConfig(RecorderFields):
    """One top-k sweep of the transformer (presets quick / cpu / gpu / paper; the class
    defaults are the paper's run). ``every`` (record interval: the paper's subsampling
    schedule tau = 2 -> 10 over 2000 steps by default), ``ema`` (None: the recorder's
    warmed-up decay), ``k_max``, ``rule``: the recorder fields
    (:func:`simulations.topk_training.recorder_config`).
    ``remat``: recompute each block's activations in the backward pass (saves the
    activation memory of all but one block for about one more forward of the blocks)."""

    widths: tuple[int, ...] = (128, 256, 512, 1024, 2048)
    depth: int = 4
    heads: int = 8
    ffn_ratio: int = 4
    rope_theta: float = 10000.0
    context: int = 128
    batch: int = 128
    steps: int = 7185
    lrs: tuple[float, ...] = PAPER_LRS
    seeds: tuple[int, ...] = (0, 1, 2)
    base_width: int = 128
    warmup: float = 0.04
    cooldown: float = 0.2
    optimizer: str = "adam"
    corpus: str = "pydoc+stdlib"
    n_eval: int = 128
    norm_eps: float = 1e-6
    remat: bool = True
    dtype: str = "float32"

    def __post_init__(self) -> None:
        from fasttransfer.simulations.text_corpus import CORPORA

        def positive(name):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}", param=name)

        for name in (
            "depth",
            "heads",
            "ffn_ratio",
            "context",
            "batch",
            "steps",
            "base_width",
            "n_eval",
            "k_max",
        ):
            positive(name)
        if not self.widths or not self.lrs or not self.seeds:
            raise InputError("widths, lrs and seeds must be non-empty", param="widths")
        for n in (*self.widths, self.base_width):
            if n % self.heads or (n // self.heads) % 2:
                raise InputError(
                    f"width {n} must be a multiple of heads ({self.heads}) "
                    f"with an even d_head (RoPE rotates pairs)",
                    param="widths",
                )
        if self.optimizer not in OPTIMIZERS:
            raise InputError(
                f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}", param="optimizer"
            )
        if self.corpus not in CORPORA:
            raise InputError(
                f"corpus must be one of {CORPORA}, got {self.corpus!r}", param="corpus"
            )
        if not (0 <= self.warmup and 0 <= self.cooldown and self.warmup + self.cooldown <= 1):
            raise InputError(
                f"warmup ({self.warmup}) and cooldown ({self.cooldown}) must be "
                f"non-negative fractions summing to <= 1",
                param="warmup",
            )
        if self.dtype not in DTYPES:
            raise InputError(f"dtype must be one of {DTYPES}, got {self.dtype!r}", param="dtype")
        if not self.rope_theta > 1 or not self.norm_eps > 0:
            raise InputError(
                "rope_theta must exceed 1 and norm_eps be positive", param="rope_theta"
            )

    @classmethod
    def from_preset(cls, name: str, **overrides) -> TransformerConfig:
        """Presets (all depth 4; quick and cpu: 4 heads so that d_head >= 4 at width 16,
        the 466 KB "pydoc" corpus, no remat):

        quick: the CPU smoke sweep, widths 16/32/64 x 3 learning rates x 1 seed, 60
          steps of 16 x 32 tokens (its time is mostly XLA compilation).
        cpu: widths 16/32/64 x 5 learning rates x 2 seeds, 120 steps.
        gpu: widths 128..1024, the paper's 9 learning rates, 2 seeds, 600 steps of
          32 x 128 tokens, a record every 50 steps, remat: 3.1e16 matmul FLOPs
          (:func:`sweep_flops`).
        paper: the paper's run (widths 128..2048, its LR grid, 3 seeds, 7185 steps of
          128 x 128 tokens, the recorder's default schedule): 9.8e18 matmul FLOPs; at widths
          >= 1024 the 27 lanes do not fit one GPU's memory together (run them in groups).
        Timings and estimates of every preset: docs/benchmarks.md."""
        if name == "quick":
            cfg = cls(
                widths=(16, 32, 64),
                heads=4,
                context=32,
                batch=16,
                steps=60,
                lrs=(1e-3, 4e-3, 1.6e-2),
                seeds=(0,),
                corpus="pydoc",
                n_eval=16,
                remat=False,
                k_max=16,
            )
        elif name == "cpu":
            cfg = cls(
                widths=(16, 32, 64),
                heads=4,
                context=32,
                batch=16,
                steps=120,
                lrs=(1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2),
                seeds=(0, 1),
                corpus="pydoc",
                n_eval=16,
                remat=False,
                k_max=16,
            )
        elif name == "gpu":
            cfg = cls(
                widths=(128, 256, 512, 1024),
                batch=32,
                steps=600,
                seeds=(0, 1),
                n_eval=32,
                every=50,
                k_max=64,
            )
        elif name == "paper":
            cfg = cls()
        else:
            raise InputError(
                f"preset must be 'quick', 'cpu', 'gpu' or 'paper', got {name!r}", param="preset"
            )
        return replace(cfg, **overrides)


class MuonTransformer:
    """The presets of the Muon contrast ("transformer_muon" in the top-k study):
    ``TransformerConfig.from_preset(name, optimizer="muon", **overrides)``."""

    @staticmethod
    def from_preset(name: str, **overrides) -> TransformerConfig:
        return TransformerConfig.from_preset(name, **({"optimizer": "muon"} | overrides))


class Arch(NamedTuple):
    """The static architecture at one width (what the pure functions close over)."""

    width: int
    depth: int
    heads: int
    hidden: int
    theta: float
    attn_scale: float
    out_mult: float
    norm_eps: float
    remat: bool


def arch(width: int, cfg: TransformerConfig) -> Arch:
    """The static architecture at ``width`` (muP scales from :mod:`simulations.mup`)."""
    from fasttransfer.simulations import mup

    return Arch(
        width=int(width),
        depth=cfg.depth,
        heads=cfg.heads,
        hidden=cfg.ffn_ratio * int(width),
        theta=float(cfg.rope_theta),
        attn_scale=mup.transformer_attention_scale(width, cfg.base_width, cfg.heads),
        out_mult=mup.transformer_output_multiplier(width, cfg.base_width),
        norm_eps=float(cfg.norm_eps),
        remat=bool(cfg.remat),
    )


def param_shapes(a: Arch) -> dict[str, tuple[int, ...]]:
    n, h = a.width, a.hidden
    shapes: dict[str, tuple[int, ...]] = {"embed": (VOCAB, n)}
    for layer in range(a.depth):
        p = f"blk{layer}."
        shapes[p + "attn_norm"] = (n,)
        for w in ("wq", "wk", "wv", "wo"):
            shapes[p + w] = (n, n)
        shapes[p + "ffn_norm"] = (n,)
        shapes[p + "w1"] = (n, h)
        shapes[p + "w3"] = (n, h)
        shapes[p + "w2"] = (h, n)
    shapes["final_norm"] = (n,)
    shapes["unembed"] = (n, VOCAB)
    return shapes


def param_kind(name: str) -> str:
    """The muP kind of a parameter name (:data:`simulations.mup.TRANSFORMER_KINDS`)."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("embed", "unembed"):
        return leaf
    if leaf.endswith("norm"):
        return "gain"
    if leaf in ("wq", "wk", "wv", "wo"):
        return "attn"
    if leaf in ("w1", "w3"):
        return "ffn_in"
    if leaf == "w2":
        return "ffn_out"
    raise InputError(f"unknown transformer parameter {name!r}", param="name")


def init_params(key, width: int, cfg: TransformerConfig, dtype=None):
    """muP initialisation (:func:`simulations.mup.transformer_init_std`; gains 1)."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations.mup import transformer_init_std

    dtype = jax_dtype(cfg.dtype) if dtype is None else dtype
    shapes = param_shapes(arch(width, cfg))
    std = transformer_init_std(width, cfg.base_width, cfg.ffn_ratio)
    keys = jax.random.split(key, len(shapes))
    params = {}
    for k, (name, shape) in zip(keys, shapes.items(), strict=False):
        kind = param_kind(name)
        if kind == "gain":
            params[name] = jnp.ones(shape, dtype)
        else:
            params[name] = jnp.asarray(std[kind], dtype) * jax.random.normal(k, shape, dtype)
    return params


def rms_norm(x, g, eps: float):
    """g * x / sqrt(mean(x^2 over the last axis) + eps); x (..., n), g (n,)."""
    import jax

    ms = (x * x).mean(-1, keepdims=True)
    return x * jax.lax.rsqrt(ms + eps) * g.reshape((1,) * (x.ndim - 1) + g.shape)


def rope_tables(length: int, d_head: int, theta: float, dtype):
    """(cos, sin), each (length, d_head/2): angle t * theta^(-2i/d_head) at position t,
    frequency i."""
    import jax.numpy as jnp

    half = d_head // 2
    freq = theta ** (-np.arange(half, dtype=np.float64) * 2.0 / d_head)
    ang = np.arange(length, dtype=np.float64)[:, None] * freq[None, :]
    return jnp.asarray(np.cos(ang), dtype), jnp.asarray(np.sin(ang), dtype)


def apply_rope(x, cos, sin):
    """Rotate each head's coordinate pairs (i, i + d/2) by the position's angles:
    x (B, T, H, d), cos/sin (T, d/2). A rotation, so q.k after RoPE at positions
    (m, j) depends on m - j only."""
    import jax.numpy as jnp

    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return jnp.concatenate([x1 * c - x2 * s, x1 * s + x2 * c], axis=-1)


def _attention(blk, u, a: Arch, cos, sin):
    import jax
    import jax.numpy as jnp

    B, T, n = u.shape
    d = n // a.heads

    def heads(w):
        return (u @ blk[w]).reshape(B, T, a.heads, d)

    q = apply_rope(heads("wq"), cos, sin)
    k = apply_rope(heads("wk"), cos, sin)
    v = heads("wv")
    s = jnp.einsum("bqhd,bkhd->bhqk", q, k) * a.attn_scale
    causal = jnp.tril(jnp.ones((T, T), bool))[None, None]
    s = jnp.where(causal, s, -jnp.inf)  # exp(-inf) = 0: the future gets weight exactly 0
    o = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, axis=-1), v)
    return o.reshape(B, T, n) @ blk["wo"]


def _block(blk, z, a: Arch, cos, sin):
    """One pre-norm block; blk: that block's leaves without the "blk{l}." prefix."""
    import jax

    z = z + _attention(blk, rms_norm(z, blk["attn_norm"], a.norm_eps), a, cos, sin)
    u = rms_norm(z, blk["ffn_norm"], a.norm_eps)
    return z + (jax.nn.silu(u @ blk["w1"]) * (u @ blk["w3"])) @ blk["w2"]


_BLOCK_LEAVES = ("attn_norm", "wq", "wk", "wv", "wo", "ffn_norm", "w1", "w3", "w2")


def forward(params, tokens, a: Arch):
    """Logits (B, T, 256) for int tokens (B, T). The blocks are unrolled (a lax.scan
    over stacked block leaves compiled slower on CPU here, 27 s against 17 s for a
    4-block training loop)."""
    import jax

    T = tokens.shape[1]
    z = params["embed"][tokens]
    cos, sin = rope_tables(T, a.width // a.heads, a.theta, z.dtype)

    def block(blk, z):
        return _block(blk, z, a, cos, sin)

    if a.remat:
        block = jax.checkpoint(block)
    for layer in range(a.depth):
        z = block({w: params[f"blk{layer}.{w}"] for w in _BLOCK_LEAVES}, z)
    h = rms_norm(z, params["final_norm"], a.norm_eps)
    return (h @ params["unembed"]) * a.out_mult


def loss_fn(params, batch, a: Arch):
    """Mean next-byte cross-entropy (nats) of a (B, T + 1) int batch."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(forward(params, batch[:, :-1], a), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, batch[:, 1:, None], axis=-1))


def wsd_schedule(steps: int, warmup: float = 0.04, cooldown: float = 0.2, dtype="float32"):
    """Warmup-stable-decay LR factor s_t for steps t = 0 .. steps-1 (t may be traced):

        W = round(warmup * steps), C = round(cooldown * steps),
        s_t = min(1, (t + 1) / W, (steps - t) / C)

    (a term is dropped when W or C is 0): linear warmup reaching 1 at t = W - 1, 1 through
    t = steps - C, then linear to 0 at t = steps (the step after the last; the last step
    has s = 1/C). Returns a function t -> array of ``dtype``."""
    import jax.numpy as jnp

    if int(steps) != steps or steps < 1:
        raise InputError(f"steps must be a positive integer, got {steps!r}", param="steps")
    W, C = round(warmup * steps), round(cooldown * steps)
    dt = jax_dtype(dtype) if isinstance(dtype, str) else dtype

    def schedule(t):
        t = jnp.asarray(t).astype(dt)
        s = jnp.ones_like(t)
        if W > 0:
            s = jnp.minimum(s, (t + 1) / W)
        if C > 0:
            s = jnp.minimum(s, (steps - t) / C)
        return s

    return schedule


def scale_by_shape():
    """optax transformation multiplying a (fan_in, fan_out) update by
    sqrt(max(1, fan_out/fan_in)) (Jordan's Muon width scaling)."""
    import jax
    import optax

    def update(updates, state, params=None):
        del params
        return jax.tree_util.tree_map(
            lambda u: u * math.sqrt(max(1.0, u.shape[1] / u.shape[0])), updates
        ), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def muon_direction(names, ns_steps: int = 5, beta: float = 0.95):
    """The "muon" direction over a flat parameter dict with these names: Muon (then
    :func:`scale_by_shape`) on the hidden matrices, Adam (0.9, 0.999) elsewhere."""
    import jax
    import optax
    from optax.contrib import MuonDimensionNumbers, scale_by_muon

    def dims(updates):
        # optax 0.2.8's scale_by_muon maps over (updates, dimension numbers) and fails on
        # None: give every matrix the default (reduction 0 = fan_in, output 1 = fan_out);
        # the leaves masked out by optax.partition are empty nodes and stay as they are
        return jax.tree_util.tree_map(lambda u: MuonDimensionNumbers(0, 1), updates)

    labels = {name: "muon" if param_kind(name) in _MUON_KINDS else "adam" for name in names}
    muon = scale_by_muon(ns_steps=ns_steps, beta=beta, weight_dimension_numbers=dims)
    return optax.partition(
        {"muon": optax.chain(muon, scale_by_shape()), "adam": optax.scale_by_adam()}, labels
    )


def problem(width: int, cfg: TransformerConfig):
    """The :class:`simulations.topk_training.Problem` at one width: windows of the
    corpus's train stream (context + 1 bytes), evaluation loss on ``n_eval`` fixed,
    evenly spaced held-out windows, muP multipliers, the optimiser's direction and the
    WSD schedule over ``cfg.steps``."""
    import jax.numpy as jnp

    from fasttransfer.simulations import text_corpus
    from fasttransfer.simulations.mup import transformer_lr_multipliers
    from fasttransfer.simulations.topk_training import Problem

    dtype = jax_dtype(cfg.dtype)
    a = arch(width, cfg)
    train, held = text_corpus.load(cfg.corpus)
    data = jnp.asarray(train)
    x_eval = jnp.asarray(text_corpus.eval_windows(held, cfg.n_eval, cfg.context + 1))
    kind_mult = transformer_lr_multipliers(width, cfg.base_width, cfg.optimizer)
    names = list(param_shapes(a))
    mult = {name: jnp.asarray(kind_mult[param_kind(name)], dtype) for name in names}

    return Problem(
        init=lambda key: init_params(key, width, cfg, dtype),
        batch=lambda key: text_corpus.sample_windows(key, data, cfg.batch, cfg.context + 1),
        loss=lambda p, b: loss_fn(p, b, a),
        eval_loss=lambda p: loss_fn(p, x_eval, a),
        lr_mult=mult,
        direction=muon_direction(names) if cfg.optimizer == "muon" else None,
        schedule=wsd_schedule(cfg.steps, cfg.warmup, cfg.cooldown, dtype),
    )


def matmul_params(width: int, cfg: TransformerConfig) -> int:
    """N: parameters entering a matrix product per token, L (4 n^2 + 3 n h) + n V (the
    embedding is a lookup, the gains elementwise)."""
    n, h = int(width), cfg.ffn_ratio * int(width)
    return cfg.depth * (4 * n * n + 3 * n * h) + n * VOCAB


def step_flops(width: int, cfg: TransformerConfig, sequences: int | None = None) -> float:
    """Matmul FLOPs (2 per multiply-add) of one forward + backward pass over ``sequences``
    (default cfg.batch) windows of T = cfg.context tokens, per token:

        6 (N + 2 L T n)                                 (forward once, backward twice)
      + 2 L (4 n^2 + 2 n h + 2 T n)       with remat    (each block's forward again,
                                                         except its last product W2,
                                                         whose output the backward
                                                         does not need)

    2 L T n: the full T x T score and value products of the L blocks (the causal mask
    does not skip work). Equal to the dot_general FLOPs of the gradient's jaxpr
    (tests/test_transformer.py)."""
    seqs = cfg.batch if sequences is None else int(sequences)
    n, h, L, T = int(width), cfg.ffn_ratio * int(width), cfg.depth, cfg.context
    per_token = 6 * (matmul_params(n, cfg) + 2 * L * T * n)
    if cfg.remat:
        per_token += 2 * L * (4 * n * n + 2 * n * h + 2 * T * n)
    return float(per_token * seqs * T)


def sweep_flops(cfg: TransformerConfig) -> dict[int, float]:
    """Matmul FLOPs of the recorded sweep per width (all learning rates and seeds):
    steps x training step + one evaluation-loss gradient per record (the recorder's, on
    n_eval sequences). The recorder's eigenvalue work is not included."""
    from fasttransfer.simulations.recorder import record_times

    lanes = len(cfg.lrs) * len(cfg.seeds)
    records = len(record_times(cfg.every, cfg.steps))
    return {
        int(n): lanes * (cfg.steps * step_flops(n, cfg) + records * step_flops(n, cfg, cfg.n_eval))
        for n in cfg.widths
    }

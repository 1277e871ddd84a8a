"""Width x learning-rate x seed sweep of the two-layer ReLU net (SPEC §5), and its store.

Engine (:func:`train_width`): for one width n, every (nu, seed) configuration is trained
at once. State arrays have shape (S, L, ...) (a block of seeds x the learning rates); one
jitted ``lax.scan`` segment advances all of them by ``segment`` (>= 10 where the run
allows) Adam steps (optax ``scale_by_adam`` on the whole state). Common random numbers:
configuration (nu, s) uses the initialisation and the batch stream of seed s for every
nu, so the L learning rates of a seed share one batch per step (no copies: the gradients
are written by hand, :func:`lr_grid_grads`, so x @ W^T is one GEMM over the features of
all the LRs it is given). The batch stream of seed s does not depend on the width either.
Within a step the configurations are taken in cache-sized groups (:func:`_lr_block`):
all at once (vmap over seeds) when their (B, L, n) activations are small, else seeds one
after another (lax.map) and within a seed blocks of LRs sharing the seed's batch; the
step is memory-bound once its activations leave the cache. The compiled programs turn off
XLA:CPU's YNNPACK fusions (measured ~10x slower on them in this jaxlib).
Seeds are cut into blocks of a fixed size, and the blocks are spread over the devices
(each block committed to one device with a ``jax.sharding.SingleDeviceSharding``, all
devices running asynchronously). Every device runs the same single-device program on
the same block shape, so 1 and 2 devices give bit-identical float64 numbers (a
GSPMD-partitioned or shard_map program was measured to fuse differently and drift by
~1e-12). After training, the population loss is estimated on a fixed test set
(independent of seed and width), one configuration at a time in chunks of rows so only
a cache-sized (chunk, n) block is live. Non-finite final losses (diverged runs) are
recorded as NaN.

Learning rate: H_n = nu * lr_multiplier(n) (:mod:`simulations.mup`), times a schedule
factor s(t) (constant, or cosine decay to 0); hp = log nu in the results.

Store (:func:`run_sweep`): ``DIR/relu_sweep.json`` (the configuration), one cell file
``DIR/cells/width_<n>.csv`` per finished width (written to a temporary file and
``os.replace``d, so a killed run loses no finished cell and leaves no half cell), and
``DIR/relu_sweep.csv`` (width,hp,loss,seed: every finished cell, rewritten atomically
after each cell). Re-running skips finished cells; a store whose configuration differs
(other than in the widths, the cells) is an :class:`InputError`. With several processes
(``jax.distributed``), process p trains the widths with index = p mod P on its local
devices and writes its cells into the same store; process 0 merges at the end.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import SingleDeviceSharding

from simulations import mup, relu_net
from theory.errors import InputError

CSV_NAME = "relu_sweep.csv"
CONFIG_NAME = "relu_sweep.json"
CELLS_DIR = "cells"
SCHEDULES = ("constant", "cosine")
# Bytes of one (batch or test rows, n) activation array that one step of the engine
# holds at a time (~ half a core's L2 cache here). The step and the evaluation are
# memory-bound when their activations spill out of cache: measured at n = 4096, float32,
# batch 256, 8 LRs x 2 seeds, these blocks made a training step 3-4x and the
# evaluation ~40x faster than one (S, L, rows, n) array over every configuration.
CACHE_BYTES = 2**20
EVAL_CACHE_BYTES = 2**20


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ReluSweepConfig:
    """One sweep. ``lrs()`` = ``n_lrs`` log-spaced nu in [lr_min, lr_max]; seeds
    0..seeds-1; ``steps`` Adam steps of batch ``batch``; ``radius`` None = median radius.
    Seeds are trained in blocks of ``seed_block`` (fewer if ``memory_mb``, the bound on
    one device's live activations, requires), the blocks spread over the devices; these
    two and the eval chunk change no number beyond float rounding, so they are recorded
    but not part of the store's identity (:meth:`result_key`)."""

    widths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    lr_min: float = 1e-3
    lr_max: float = 1.0
    n_lrs: int = 13
    seeds: int = 8
    steps: int = 400
    batch: int = 256
    d: int = 8
    radius: float | None = None
    param: str = "mup"
    dtype: str = "float64"
    schedule: str = "constant"
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    test_size: int = 16384
    test_seed: int = 2**31 - 1
    seed_block: int = 4
    memory_mb: int = 1024

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if not self.widths or min(self.widths) < 1:
            raise InputError(f"widths must be positive integers, got {self.widths}")
        if len(set(self.widths)) != len(self.widths):
            raise InputError(f"widths must be distinct, got {self.widths}")
        if self.param not in mup.PARAMS:
            raise InputError(f"param must be one of {mup.PARAMS}, got {self.param!r}")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("n_lrs", "seeds", "steps", "batch", "d", "test_size", "seed_block",
                     "memory_mb"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not (0 < self.lr_min <= self.lr_max):
            raise InputError(f"need 0 < lr_min <= lr_max, got {self.lr_min}, {self.lr_max}")

    def lrs(self) -> np.ndarray:
        """The scale-free learning rates nu, shape (n_lrs,), log-spaced."""
        return np.exp(np.linspace(math.log(self.lr_min), math.log(self.lr_max), self.n_lrs))

    def target_radius(self) -> float:
        return relu_net.median_radius(self.d) if self.radius is None else float(self.radius)

    def jnp_dtype(self):
        return jnp.float64 if self.dtype == "float64" else jnp.float32

    def replace(self, **changes) -> "ReluSweepConfig":
        return dataclasses.replace(self, **changes)

    def to_json_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        return out

    def result_key(self) -> dict:
        """Every field that changes a number beyond rounding: all but the widths (the
        cells) and the blocking knobs."""
        out = self.to_json_dict()
        for name in ("widths", "seed_block", "memory_mb"):
            out.pop(name)
        return out

    @classmethod
    def from_json_dict(cls, data: dict) -> "ReluSweepConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"{CONFIG_NAME}: unknown field(s) {sorted(unknown)}")
        data = dict(data)
        if "widths" in data:
            data["widths"] = tuple(data["widths"])
        return cls(**data)


def preset(name: str, param: str = "mup") -> ReluSweepConfig:
    """``quick``: a 2-core CPU in a few minutes (widths 2^4..2^8, 16 seeds, 500 steps of
    batch 64, float64). ``paper``: a GPU run (widths 2^6..2^14, 32 seeds, 4000 steps,
    float32). Why these numbers: see QUICK_RATIONALE.

    The SP grid is wider and coarser: its optimum moves by about log(n) (a factor ~30
    over the quick widths), and only that drift is measured there, so fewer seeds do.
    """
    if name == "quick":
        cfg = ReluSweepConfig(widths=tuple(2**k for k in range(4, 9)), n_lrs=12,
                              lr_min=1e-3, lr_max=0.35, seeds=16, steps=500, batch=64,
                              test_size=8192, dtype="float64")
        sp = dict(lr_min=1e-6, lr_max=0.03, n_lrs=17, seeds=4)
    elif name == "paper":
        cfg = ReluSweepConfig(widths=tuple(2**k for k in range(6, 15)), n_lrs=21,
                              lr_min=1e-3, lr_max=0.3, seeds=32, steps=4000, batch=64,
                              test_size=65536, dtype="float32", seed_block=8,
                              memory_mb=16384)
        sp = dict(lr_min=1e-7, lr_max=0.03, n_lrs=25, seeds=16)
    else:
        raise InputError(f"preset must be quick or paper, got {name!r}")
    if param == "sp":
        cfg = cfg.replace(**sp)
    return cfg.replace(param=param)


QUICK_RATIONALE = """\
Pilot (SPEC §5): batch 256, T=1000: the loss-vs-LR curve is flat within ~3% over two
decades, so the argmin is noise. Measured here (d=8, 13 LRs in [1e-3, 1], 8 seeds,
common random numbers, float64): batch 256 / T=400 is just as flat (n=32: 0.1024, 0.1021,
0.1031 at three adjacent LRs); batch 64 / T=500 gives a clearly curved optimum
(n=32: 0.1089, 0.1053, 0.1067, 0.1084; paired seed s.e. ~1e-3) and a loss that still
falls with width (phi_star 0.117 -> 0.085 from n=16 to 512, alpha ~ 1.4). LRs above
0.2 never win at n >= 32; the grid stops at 0.35 (12 points, spacing 0.53 in log nu) so
that the 7-point fit window is centred at n = 16 too (its optimum is near 0.07).
With 8 seeds the bootstrap s.e. of nu_star(n) was 0.12, 0.08, 0.06 at n = 16, 32, 64
against drifts of 0.38 and 0.07 between them, and beta - alpha/2 = 1.7 [-0.3, 3.6].
With 16 seeds (widths 2^4..2^8) the s.e. of nu_star(n) is 0.17, 0.09, 0.015, 0.013,
0.011 (the n = 16 curve is the flattest: curvature 0.016 vs ~0.043 above) and the
interval of beta - alpha/2 (2.1 [0.6, 3.7]) no longer contains 0. 16 seeds cost 2x per
width, paid for by stopping at 2^8: from n = 64 on nu_star(n) moves by less than its
s.e., so wider nets add cost, not signal, at this preset.
"""


# --------------------------------------------------------------------------- engine
def _schedule_factor(schedule: str, t, steps: int, dtype):
    if schedule == "constant":
        return jnp.ones((), dtype)
    # cosine decay from 1 to 0 over the run (t = 0 .. steps-1)
    frac = t.astype(dtype) / jnp.asarray(steps, dtype)
    return jnp.asarray(0.5, dtype) * (jnp.asarray(1.0, dtype) + jnp.cos(jnp.asarray(math.pi, dtype) * frac))


def _seed_keys(seeds: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """(init keys, data keys), shape (S, 2) each: seed s -> PRNGKey(s) split in two."""
    keys = jax.vmap(lambda s: jax.random.split(jax.random.PRNGKey(s), 2))(jnp.asarray(seeds, jnp.uint32))
    return keys[:, 0], keys[:, 1]


@dataclass(frozen=True)
class _Static:
    """Everything the compiled functions close over (hashable, so jit caches on it)."""
    width: int
    d: int
    batch: int
    steps: int
    radius: float
    param: str
    dtype: str
    schedule: str
    b1: float
    b2: float
    eps: float
    lr_mult: tuple[tuple[str, float], ...]
    segment: int
    chunk: int
    lr_block: int


def _static(config: ReluSweepConfig, width: int, segment: int, chunk: int,
            lr_block: int | None = None) -> _Static:
    return _Static(width=width, d=config.d, batch=config.batch, steps=config.steps,
                   radius=config.target_radius(), param=config.param, dtype=config.dtype,
                   schedule=config.schedule, b1=config.b1, b2=config.b2, eps=config.eps,
                   lr_mult=tuple(sorted(mup.lr_multipliers(width, config.param).items())),
                   segment=segment, chunk=chunk,
                   lr_block=_lr_block(config, width) if lr_block is None else lr_block)


def _optimizer(st: _Static):
    # Adam is elementwise with a step count shared by every configuration, so one
    # optax transformation updates the whole (S, L, ...) state at once (no vmap).
    return optax.scale_by_adam(b1=st.b1, b2=st.b2, eps=st.eps)


def _dtype(st: _Static):
    return jnp.float64 if st.dtype == "float64" else jnp.float32


def _init_state(st: _Static, init_keys: jax.Array, n_lrs: int):
    """params and Adam state, shape (S, L, ...): seed s's initialisation for every LR."""
    dt = _dtype(st)

    def one_seed(key):
        p = relu_net.init_params(key, st.width, st.d, st.param, dt)
        return jax.tree.map(lambda v: jnp.broadcast_to(v, (n_lrs,) + v.shape), p)

    params = jax.vmap(one_seed)(init_keys)
    return params, _optimizer(st).init(params)


def lr_grid_grads(p_L: dict, x: jax.Array, y: jax.Array, param: str):
    """Gradients of the batch MSE for L configurations that share one batch, by hand.

    p_L: W (L, n, d), b (L, n), a (L, n); x (B, d); y (B,). With
    pre = W_l x^T + b_l (L, n, B), f_l = m sum_i a_li relu(pre_li), r = f - y,
    loss_l = mean_b r_lb^2 and g = 2 m r / B (L, B):
    da_l = sum_b g_bl relu(pre_bl), dpre = g a 1{pre > 0}, db_l = sum_b dpre_bl,
    dW_l = dpre_l^T x. The two products with x are single GEMMs over all L * n
    features ((L n, d) x (d, B) and (L n, B) x (B, d)); the rest is elementwise.
    Equal to ``jax.grad(relu_net.loss_fn)`` per configuration (tested).
    Returns (grads with p_L's shapes, loss (L,)).
    """
    W, b, a = p_L["W"], p_L["b"], p_L["a"]
    n = a.shape[-1]
    dt = x.dtype
    m = jnp.asarray(mup.output_multiplier(n, param), dt)
    # layout (L, n, B): measured ~2x faster than (B, L, n) at n = 4096 (the batch is
    # the contiguous axis of every (n, B) block and of the GEMMs with x)
    pre = jnp.einsum("lnd,bd->lnb", W, x) + b[..., None]
    act = jax.nn.relu(pre)
    # contractions over n and over the batch are written as einsums (dots), not as
    # multiply-then-sum: the latter materialises further (L, n, B) arrays
    r = m * jnp.einsum("ln,lnb->lb", a, act) - y[None, :]  # (L, B)
    g = (jnp.asarray(2.0 / x.shape[0], dt) * m) * r
    da = jnp.einsum("lnb,lb->ln", act, g)
    dpre = jnp.where(pre > 0, a[..., None] * g[:, None, :], jnp.zeros((), dt))
    db = jnp.sum(dpre, axis=-1)
    dW = jnp.einsum("lnb,bd->lnd", dpre, x)
    return {"W": dW, "b": db, "a": da}, jnp.mean(r * r, axis=-1)


def _segment_fn(st: _Static, params, opt_state, lrs, data_keys, t0):
    """``st.segment`` Adam steps for every (seed, LR). Shapes: params (S, L, ...),
    lrs (L,), data_keys (S, 2), t0 scalar int32 (first step index)."""
    dt = _dtype(st)
    opt = _optimizer(st)
    mult = dict(st.lr_mult)

    n_lrs = lrs.shape[0]
    cb = st.lr_block

    def seed_grads(p_L, key, t):
        x = relu_net.sample_inputs(jax.random.fold_in(key, t), st.batch, st.d, dt)
        y = relu_net.ball_target(x, st.radius)
        # x, y are shared by the L learning rates of this seed (common random numbers)
        if cb >= n_lrs:
            return lr_grid_grads(p_L, x, y, st.param)[0]
        # blocks of cb learning rates, one after another, so a block's (B, cb, n)
        # activations stay in cache (the same batch x for every block)
        blocks = jax.tree.map(lambda v: v.reshape((n_lrs // cb, cb) + v.shape[1:]), p_L)
        g = jax.lax.map(lambda q: lr_grid_grads(q, x, y, st.param)[0], blocks)
        return jax.tree.map(lambda v: v.reshape((n_lrs,) + v.shape[2:]), g)

    def grads(p, t):
        if cb >= n_lrs * data_keys.shape[0]:  # every configuration fits: one program
            return jax.vmap(seed_grads, in_axes=(0, 0, None))(p, data_keys, t)
        # seeds one after another (cb // n_lrs at a time when several fit)
        return jax.lax.map(lambda a: seed_grads(a[0], a[1], t), (p, data_keys),
                           batch_size=max(1, cb // n_lrs) if cb >= n_lrs else None)

    def body(carry, t):
        p, s = carry
        g = grads(p, t)
        u, s = opt.update(g, s, p)
        step = -lrs * _schedule_factor(st.schedule, t, st.steps, dt)  # (L,)
        p = {k: p[k] + (step * mult[k]).reshape((1, -1) + (1,) * (p[k].ndim - 2)) * u[k]
             for k in p}
        return (p, s), None

    ts = t0 + jnp.arange(st.segment, dtype=jnp.int32)
    (params, opt_state), _ = jax.lax.scan(body, (params, opt_state), ts)
    return params, opt_state


def _eval_fn(st: _Static, params, x_test, y_test):
    """Test loss, shape (S, L); non-finite -> NaN. One configuration at a time
    (lax.map over the S * L configurations), each on the test set in blocks of
    ``st.chunk`` rows (:func:`relu_net.chunked_loss`), so only a (chunk, n) activation
    block is live: it stays in cache, where a (S, chunk, L, n) block over every
    configuration at once was measured ~40x slower at n = 4096."""
    S, L = params["a"].shape[:2]
    flat = jax.tree.map(lambda v: v.reshape((S * L,) + v.shape[2:]), params)
    loss = jax.lax.map(
        lambda p: relu_net.chunked_loss(p, x_test, y_test, st.param, st.chunk), flat)
    loss = loss.reshape(S, L)
    return jnp.where(jnp.isfinite(loss), loss, jnp.nan)


# Compiled once per static description: a second call with the same shapes reuses the
# program (tests count traces through TRACE_COUNT).
TRACE_COUNT = {"init": 0, "segment": 0, "eval": 0}


@lru_cache(maxsize=64)
def _compiled(st: _Static, n_lrs: int):
    def init(init_keys):
        TRACE_COUNT["init"] += 1
        with jax.numpy_dtype_promotion("standard"):
            return _init_state(st, init_keys, n_lrs)

    def segment(params, opt_state, lrs, data_keys, t0):
        TRACE_COUNT["segment"] += 1
        # optax mixes its int32 step count with floats (bias correction); our own code
        # is explicit about dtypes, so a strict-promotion caller (tests) is honoured
        # everywhere else
        with jax.numpy_dtype_promotion("standard"):
            return _segment_fn(st, params, opt_state, lrs, data_keys, t0)

    def evaluate(params, x_test, y_test):
        TRACE_COUNT["eval"] += 1
        return _eval_fn(st, params, x_test, y_test)

    # XLA:CPU's YNNPACK fusions (on by default in this jaxlib) were measured 10x slower
    # on these programs (lr_grid_grads at n = 4096: 64-85 ms vs 5-7 ms without);
    # turned off per program, so nothing global changes
    opts = {"xla_cpu_experimental_ynn_fusion_type": ""}
    return (jax.jit(init, compiler_options=opts),
            jax.jit(segment, donate_argnums=(0, 1), compiler_options=opts),
            jax.jit(evaluate, compiler_options=opts))


def _segment_length(steps: int, target_segments: int = 20, min_length: int = 10) -> int:
    """The smallest divisor of ``steps`` that is >= steps / target_segments and >=
    min_length (so the progress bar has at most about that many ticks, one compiled
    segment covers the run, and each dispatch runs enough steps to hide its overhead)."""
    lo = max(1, math.ceil(steps / target_segments), min(steps, min_length))
    for k in range(lo, steps + 1):
        if steps % k == 0:
            return k
    return steps


def _blocks(config: ReluSweepConfig, width: int) -> tuple[int, int]:
    """(seeds per block, eval chunk): the live (block, L, batch, n) activation arrays
    of one device stay within ``memory_mb`` (about 6 such arrays in the backward pass;
    a bound, as the step may take the configurations in smaller groups); the eval
    chunk keeps one configuration's (chunk, n) activations within EVAL_CACHE_BYTES.
    Neither depends on the number of devices: every device runs the same
    program on blocks of the same shape, which is what makes 1 and 2 devices give
    bit-identical numbers (XLA may fuse a partitioned program differently)."""
    itemsize = 8 if config.dtype == "float64" else 4
    budget = config.memory_mb * 2**20
    per_seed = (6 * config.n_lrs * config.batch * width * itemsize
                + 8 * config.n_lrs * width * (config.d + 2) * itemsize)
    block = int(max(1, min(config.seeds, config.seed_block, budget // max(per_seed, 1))))
    # the evaluation holds one configuration's (chunk, n) activations at a time
    chunk = max(1, min(config.test_size, EVAL_CACHE_BYTES // (width * itemsize)))
    while config.test_size % chunk:  # chunk must divide the test set
        chunk -= 1
    return block, int(chunk)


def _lr_block(config: ReluSweepConfig, width: int) -> int:
    """Configurations whose (batch, n) activations one step holds at a time: at most
    CACHE_BYTES of one such array (~ a core's L2 cache), where a larger block was
    measured 2-4x slower (memory-bound). A divisor of n_lrs when below it."""
    itemsize = 8 if config.dtype == "float64" else 4
    cb = max(1, CACHE_BYTES // (config.batch * width * itemsize))
    if cb >= config.n_lrs:
        return int(cb)
    while config.n_lrs % cb:
        cb -= 1
    return int(cb)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _test_set(seed: int, size: int, d: int, dtype: str, radius: float):
    x = relu_net.sample_inputs(jax.random.PRNGKey(seed), size, d,
                               jnp.float64 if dtype == "float64" else jnp.float32)
    return x, relu_net.ball_target(x, radius)


def test_set(config: ReluSweepConfig):
    """The fixed test set (x (M, d), y (M,)): the same for every width, seed and LR."""
    return _test_set(config.test_seed, config.test_size, config.d, config.dtype,
                     config.target_radius())


def train_width(config: ReluSweepConfig, width: int, *, devices=None,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Final test losses at one width, shape (n_lrs, seeds); NaN for diverged runs.

    Seeds are cut into blocks of a fixed size (:func:`_blocks`); the blocks are spread
    over ``devices`` (default: this process's local devices), one block per device at a
    time, each placed with a ``SingleDeviceSharding`` and advanced asynchronously, so the
    devices train in parallel. ``progress(k)`` is called after every k seed-steps.
    """
    devices = list(jax.local_devices() if devices is None else devices)
    block, chunk = _blocks(config, width)
    segment = _segment_length(config.steps)
    st = _static(config, width, segment, chunk)
    init_fn, segment_fn, eval_fn = _compiled(st, config.n_lrs)
    dt = config.jnp_dtype()
    lrs_host = jnp.asarray(config.lrs(), dt)
    test_host = test_set(config)
    on = {}  # per-device constants: the LR grid and the test set
    n_blocks = -(-config.seeds // block)
    out = np.empty((config.n_lrs, n_blocks * block))
    for wave in range(0, n_blocks, len(devices)):
        jobs = []
        for j, dev in zip(range(wave, min(wave + len(devices), n_blocks)), devices):
            if dev not in on:
                sh = SingleDeviceSharding(dev)
                on[dev] = (jax.device_put(lrs_host, sh), jax.device_put(test_host, sh))
            # the last block is padded with further seeds; their results are dropped
            keys = jax.device_put(_seed_keys(np.arange(j * block, (j + 1) * block)),
                                  SingleDeviceSharding(dev))
            params, opt_state = init_fn(keys[0])
            jobs.append([j, dev, params, opt_state, keys[1]])
        n_real = sum(min(block, config.seeds - j * block) for j, *_ in jobs)
        for t0 in range(0, config.steps, segment):
            t = jnp.asarray(t0, jnp.int32)
            for job in jobs:  # dispatch is asynchronous: the devices run concurrently
                j, dev, params, opt_state, data_keys = job
                job[2], job[3] = segment_fn(params, opt_state, on[dev][0], data_keys, t)
            if progress is not None:
                jax.block_until_ready([job[2] for job in jobs])
                progress(segment * n_real)
        for j, dev, params, _, _ in jobs:
            loss = np.asarray(eval_fn(params, *on[dev][1]), dtype=np.float64)  # (block, L)
            out[:, j * block:(j + 1) * block] = loss.T
    return out[:, :config.seeds]


def sweep_frame(config: ReluSweepConfig, width: int, losses: np.ndarray):
    """Tidy rows width,hp,loss,seed (hp = log nu) for one width's (n_lrs, seeds) losses."""
    import pandas as pd

    L, S = losses.shape
    hp = np.log(config.lrs())
    return pd.DataFrame({
        "width": np.full(L * S, width, dtype=np.int64),
        "hp": np.repeat(hp, S),
        "loss": losses.reshape(-1),
        "seed": np.tile(np.arange(S, dtype=np.int64), L),
    })


# --------------------------------------------------------------------------- store
def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cell_path(out_dir: Path, width: int) -> Path:
    return Path(out_dir) / CELLS_DIR / f"width_{width}.csv"


def _frame_csv(df) -> str:
    return df.to_csv(index=False, float_format="%.17g", na_rep="nan")


def open_store(config: ReluSweepConfig, out_dir: Path) -> None:
    """Create the store or check that it holds this configuration (widths may differ:
    they are the cells). A different configuration is an :class:`InputError`."""
    out_dir = Path(out_dir)
    path = out_dir / CONFIG_NAME
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            old = ReluSweepConfig.from_json_dict(stored)
        except (json.JSONDecodeError, TypeError) as err:
            raise InputError(f"{path}: not a relu sweep configuration ({err})") from None
        new_key, old_key = config.result_key(), old.result_key()
        if new_key != old_key:
            diff = sorted(k for k in new_key if new_key.get(k) != old_key.get(k))
            raise InputError(
                f"{path}: the store in {out_dir} was made with a different configuration "
                f"({', '.join(f'{k}: {old_key.get(k)!r} -> {new_key.get(k)!r}' for k in diff)}); "
                "use another --out or delete the store")
        widths = sorted(set(old.widths) | set(config.widths))
    else:
        widths = sorted(config.widths)
    merged = config.to_json_dict()
    merged["widths"] = widths
    _atomic_write_text(path, json.dumps(merged, indent=2, sort_keys=True) + "\n")


def finished_widths(out_dir: Path) -> list[int]:
    cells = Path(out_dir) / CELLS_DIR
    if not cells.is_dir():
        return []
    out = []
    for p in cells.glob("width_*.csv"):
        try:
            out.append(int(p.stem.split("_", 1)[1]))
        except ValueError:
            continue
    return sorted(out)


def merge_store(out_dir: Path, widths=None):
    """Rewrite DIR/relu_sweep.csv from the finished cells (all, or those in ``widths``);
    returns the merged DataFrame."""
    import pandas as pd

    out_dir = Path(out_dir)
    done = finished_widths(out_dir)
    if widths is not None:
        done = [w for w in done if w in set(widths)]
    frames = [pd.read_csv(cell_path(out_dir, w)) for w in done]
    df = (pd.concat(frames, ignore_index=True) if frames
          else pd.DataFrame(columns=["width", "hp", "loss", "seed"]))
    _atomic_write_text(out_dir / CSV_NAME, _frame_csv(df))
    return df


def run_sweep(config: ReluSweepConfig, out_dir: Path, *, progress: bool = True,
              log: Callable[[str], None] = print, devices=None):
    """Train every unfinished width cell of ``config`` into the store at ``out_dir`` and
    return the merged DataFrame (width,hp,loss,seed) of ``config.widths``.

    Under ``jax.distributed`` (process_count P > 1) process p takes the widths with
    index = p mod P (largest first, so the expensive cells spread over the processes),
    trains them on its local devices, and process 0 merges after a barrier.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_proc, rank = jax.process_count(), jax.process_index()
    open_store(config, out_dir)
    done = set(finished_widths(out_dir))
    order = sorted(config.widths, reverse=True)
    mine = [w for i, w in enumerate(order) if i % n_proc == rank]
    todo = sorted(w for w in mine if w not in done)
    skipped = sorted(w for w in mine if w in done)
    if skipped:
        log(f"relu sweep ({config.param}): reusing finished width(s) {skipped} in {out_dir}")
    for width in todo:
        total = config.steps * config.seeds
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total, desc=f"{config.param} n={width}", unit="step",
                       unit_scale=True, leave=False, dynamic_ncols=True)
        t0 = time.perf_counter()
        losses = train_width(config, width, devices=devices,
                             progress=(bar.update if bar is not None else None))
        if bar is not None:
            bar.close()
        _atomic_write_text(cell_path(out_dir, width), _frame_csv(sweep_frame(config, width, losses)))
        n_nan = int(np.isnan(losses).sum())
        log(f"relu sweep ({config.param}): width {width} done in {time.perf_counter() - t0:.1f}s"
            f"{f', {n_nan} diverged run(s)' if n_nan else ''}")
        merge_store(out_dir, config.widths)
    if n_proc > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices("fasttransfer-relu-sweep-done")
    return merge_store(out_dir, config.widths) if rank == 0 or n_proc == 1 else None

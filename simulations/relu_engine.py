"""The engine of the width x learning-rate x seed sweep of the two-layer ReLU net
(docs/paper-setups.md#relu-counterexample): :func:`train_width` trains every (nu, seed)
configuration of one width of a :class:`~simulations.relu_config.ReluSweepConfig` and
measures it on the fixed validation set. Its configuration is
:mod:`simulations.relu_config`; running it into the results store is
:mod:`simulations.sweep`.

Engine (:func:`train_width`): for one width n, every (nu, seed) configuration is trained
at once. State arrays have shape (S, L, ...) (a block of seeds x the learning rates); one
jitted ``lax.scan`` segment advances all of them by ``segment`` (>= 10 where the run
allows) Adam steps (optax ``scale_by_adam`` on the whole state). Common random numbers:
configuration (nu, s) uses the initialisation and the batch stream of seed s for every
nu, so the L learning rates of a seed share one batch per step (no copies: the gradients
are written by hand, :func:`lr_grid_grads`, so x @ W^T is one GEMM over the features of
all the LRs it is given). The batch stream of seed s does not depend on the width either.
Blocking depends on the backend (:func:`_plan`): on a CPU the configurations of a step
are taken in cache-sized groups (the step is memory-bound once its activations leave the
cache) and the compiled programs turn off XLA:CPU's YNNPACK fusions (much slower on
these programs); on an accelerator every configuration of a seed block runs at once (the
products then fill the chip; XLA's GEMM autotuning must stay on). Measurements:
docs/benchmarks.md. :func:`train_widths` trains several widths in one program, a pack
(:mod:`simulations.relu_pack`): the narrow widths of a sweep, each too small alone to
fill an accelerator.
Seeds are cut into blocks of a fixed size, and the blocks are spread over the devices
(each block committed to one device with a ``jax.sharding.SingleDeviceSharding``, all
devices running asynchronously). Every device runs the same single-device program on
the same block shape, so 1 and 2 devices give bit-identical float64 numbers (a
GSPMD-partitioned or shard_map program fuses differently and drifts in the last bits).
After training, the validation loss is measured on a fixed validation set (independent
of seed and width) in row chunks, with its sampling error and the paired error
of neighbouring-LR differences (:class:`WidthResult`). Non-finite losses (diverged runs)
are recorded as NaN.

Learning rate: H_n = nu * lr_multiplier(n) (:mod:`simulations.mup`: 1 for every layer in
the paper's parametrisation, the output layer's times the base width in the variant that
has one; the output layer's times ``out_lr_factor``), times a schedule factor s(t)
(constant, or cosine decay to 0); hp = log nu in the results. The optimiser is optax's
Adam, or AdamW (decoupled ``weight_decay``). Batches are fresh draws from the task, or,
with ``train_size``, drawn with replacement from a fixed training set per seed.

"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import SingleDeviceSharding

from fasttransfer.simulations import mup, relu_net, relu_pack
from fasttransfer.simulations.dtypes import jax_dtype
from fasttransfer.simulations.relu_config import ReluSweepConfig

# Bytes of one (batch or test rows, n) activation array that one step of the engine
# holds at a time (~ half a core's L2 cache here). The step and the evaluation are
# memory-bound when their activations spill out of cache: measured at n = 4096, float32,
# batch 256, 8 LRs x 2 seeds, these blocks made a training step 3-4x and the
# evaluation ~40x faster than one (S, L, rows, n) array over every configuration.
CACHE_BYTES = 2**20
EVAL_CACHE_BYTES = 2**20
# On an accelerator: the bound on one live (configurations, rows, n) array.
ACCEL_ARRAY_BYTES = 2**31


def _schedule_factor(schedule: str, t, steps: int, dtype):
    if schedule == "constant":
        return jnp.ones((), dtype)
    # cosine decay from 1 to 0 over the run (t = 0 .. steps-1)
    frac = t.astype(dtype) / jnp.asarray(steps, dtype)
    return jnp.asarray(0.5, dtype) * (
        jnp.asarray(1.0, dtype) + jnp.cos(jnp.asarray(math.pi, dtype) * frac)
    )


def _seed_keys(seeds: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """(init keys, data keys), shape (S, 2) each: seed s -> PRNGKey(s) split in two."""
    keys = jax.vmap(lambda s: jax.random.split(jax.random.PRNGKey(s), 2))(
        jnp.asarray(seeds, jnp.uint32)
    )
    return keys[:, 0], keys[:, 1]


@dataclass(frozen=True)
class _Static:
    """Everything the compiled functions close over (hashable, so jit caches on it)."""

    widths: tuple[int, ...]  # one width, or a pack (simulations.relu_pack)
    base_width: int | None
    task: relu_net.Task
    loss: str
    batch: int
    steps: int
    param: str
    dtype: str
    precision: str
    schedule: str
    b1: float
    b2: float
    eps: float
    lr_mult: tuple[tuple[str, float], ...]
    segment: int
    chunk: int
    lr_block: int
    eval_block: int
    platform: str
    formulation: str = "dot"
    xla_options: tuple[tuple[str, str], ...] = ()
    readout_init: str = "normal"
    first_layer_init: str = "gaussian"
    train_size: int | None = None
    weight_decay: float = 0.0


@dataclass(frozen=True)
class _Plan:
    """How one width is cut into pieces (no number depends on it beyond rounding)."""

    seed_block: int  # seeds per device program
    lr_block: int  # configurations whose (batch, n) activations a step holds at once
    chunk: int  # validation rows per evaluation block
    eval_block: int  # configurations evaluated at once


def _is_accelerator(platform: str) -> bool:
    return platform not in ("cpu",)


def _plan(config: ReluSweepConfig, width: int, platform: str) -> _Plan:
    """The blocking of one width on ``platform``.

    CPU: the step and the evaluation are memory-bound once their activations leave the
    cache, so a step takes configurations in groups whose (batch, n) arrays fit
    CACHE_BYTES and the evaluation runs one configuration at a time on (chunk, n) blocks
    of EVAL_CACHE_BYTES (much faster than one array over every configuration;
    measurements: docs/benchmarks.md). Accelerator: the opposite: the largest products fill the
    chip, so every configuration of a seed block runs at once (one (S, L, n, B) array
    of at most ACCEL_ARRAY_BYTES) and the evaluation takes all of them on row chunks.
    Seed blocks: the live (block, L, batch, n) arrays of a device (about 6 in the
    backward pass) stay within ``memory_mb``; the block does not depend on the number of
    devices, so 1 and 2 devices run the same program (bit-identical float64)."""
    itemsize = 8 if config.dtype == "float64" else 4
    L = config.n_lrs
    per_seed = 6 * L * config.batch * width * itemsize + 8 * L * width * (config.d + 2) * itemsize
    block = int(
        max(1, min(config.seeds, config.seed_block, config.memory_mb * 2**20 // max(per_seed, 1)))
    )
    if _is_accelerator(platform):
        cb = max(1, ACCEL_ARRAY_BYTES // (config.batch * width * itemsize))
        eval_block = block * L
        rows = max(1, ACCEL_ARRAY_BYTES // (eval_block * width * itemsize))
    else:
        cb = max(1, CACHE_BYTES // (config.batch * width * itemsize))
        eval_block = 1
        rows = max(1, EVAL_CACHE_BYTES // (width * itemsize))
    if cb < L:
        while L % cb:  # a divisor of n_lrs
            cb -= 1
    chunk = min(config.test_size, rows)
    while config.test_size % chunk:  # chunk must divide the test set
        chunk -= 1
    return _Plan(seed_block=block, lr_block=int(cb), chunk=int(chunk), eval_block=eval_block)


def _static(
    config: ReluSweepConfig, widths: tuple[int, ...], segment: int, plan: _Plan, platform: str
) -> _Static:
    mults = {
        tuple(sorted(mup.lr_multipliers(w, config.param, config.base_width).items()))
        for w in widths
    }
    if len(mults) != 1:  # a pack takes one learning rate per parameter for all its widths
        raise ValueError(f"widths {widths} have different LR multipliers: {sorted(mults)}")
    mult = dict(mults.pop())
    mult["a"] *= config.out_lr_factor
    return _Static(
        widths=tuple(widths),
        base_width=config.base_width,
        task=config.task_spec(),
        loss=config.loss,
        batch=config.batch,
        steps=config.steps,
        param=config.param,
        dtype=config.dtype,
        precision=config.matmul_precision,
        schedule=config.schedule,
        b1=config.b1,
        b2=config.b2,
        eps=config.eps,
        lr_mult=tuple(sorted(mult.items())),
        segment=segment,
        chunk=plan.chunk,
        lr_block=plan.lr_block,
        eval_block=plan.eval_block,
        platform=platform,
        formulation=config.formulation,
        xla_options=config.xla_options,
        readout_init=config.readout_init,
        first_layer_init=config.first_layer_init,
        train_size=config.train_size,
        weight_decay=config.weight_decay,
    )


def _optimizer(st: _Static):
    # Adam is elementwise with a step count shared by every configuration, so one
    # optax transformation updates the whole (S, L, ...) state at once (no vmap).
    adam = optax.scale_by_adam(b1=st.b1, b2=st.b2, eps=st.eps)
    if not st.weight_decay:
        return adam
    # AdamW (decoupled decay, as PyTorch's AdamW): the direction u + wd * p is scaled
    # by the parameter's own learning rate nu * multiplier * s(t) in _segment_fn
    return optax.chain(adam, optax.add_decayed_weights(st.weight_decay))


# A step index no run reaches: fold_in(data key, it) is the key of a seed's fixed
# training set (train_size), never the key of a step's batch (fold_in(data key, t)).
TRAIN_SET_TAG = 2**31 - 1


def _training_set(st: _Static, data_key: jax.Array):
    """The fixed training set of one seed, (x (N, d), y (N,)) with N = st.train_size
    (the same for every LR and width of the seed)."""
    return st.task.sample(jax.random.fold_in(data_key, TRAIN_SET_TAG), st.train_size, _dtype(st))


def _batch(st: _Static, data_key: jax.Array, t, train_set):
    """Step t's batch of one seed, (x (B, d), y (B,)): fresh draws from the task
    (``train_set`` None: online), else B points drawn uniformly with replacement from
    the seed's fixed training set."""
    key = jax.random.fold_in(data_key, t)
    if train_set is None:
        return st.task.sample(key, st.batch, _dtype(st))
    idx = jax.random.randint(key, (st.batch,), 0, st.train_size, dtype=jnp.int32)
    return train_set[0][idx], train_set[1][idx]


def _dtype(st: _Static):
    return jnp.float64 if st.dtype == "float64" else jnp.float32


def _init_state(st: _Static, init_keys: jax.Array, n_lrs: int):
    """params and Adam state, shape (S, L, ...): seed s's initialisation for every LR (a
    pack: each width's own initialisation from the seed's key, side by side)."""
    dt = _dtype(st)

    def one_width(key, width):
        return relu_net.init_params(
            key,
            width,
            st.task.d,
            st.param,
            dt,
            input_std=st.task.input_std,
            base_width=st.base_width,
            readout_init=st.readout_init,
            first_layer_init=st.first_layer_init,
        )

    def one_seed(key):
        p = relu_pack.concat([one_width(key, w) for w in st.widths])
        return jax.tree.map(lambda v: jnp.broadcast_to(v, (n_lrs, *v.shape)), p)

    params = jax.vmap(one_seed)(init_keys)
    return params, _optimizer(st).init(params)


def lr_grid_grads(
    p_L: dict,
    x: jax.Array,
    y: jax.Array,
    param: str,
    loss: str = "bce",
    formulation: str = "dot",
    widths: tuple[int, ...] | None = None,
):
    """Gradients of the batch loss for L configurations that share one batch, by hand.

    p_L: W (L, n, d), b (L, n), a (L, n); x (B, d); y (B,). With
    pre = W_l x^T + b_l (L, n, B), f_l = m sum_i a_li relu(pre_li), loss_l = mean_b
    l(f_lb, y_b) and g = m l'(f, y) / B (L, B) (l' = s(f) - y for BCE, 2 (f - y) squared):
    da_l = sum_b g_bl relu(pre_bl), dpre = g a 1{pre > 0}, db_l = sum_b dpre_bl,
    dW_l = dpre_l^T x. The two products with x are single GEMMs over all L * n
    features ((L n, d) x (d, B) and (L n, B) x (B, d)); the rest is elementwise.
    ``formulation`` (:data:`FORMULATIONS`) only changes how the two contractions over
    n and over the batch are written. Equal to ``jax.grad(relu_net.loss_fn)`` per
    configuration (tested). Returns (grads with p_L's shapes, loss (L,)).

    ``widths``: p_L is a pack of these widths (:mod:`simulations.relu_pack`, n = their
    sum): f, g and the loss become (L, K, B) and (L, K), one row per width with its own
    m(n_k); g_k reaches its own neurons only. None: one width.
    """
    W, b, a = p_L["W"], p_L["b"], p_L["a"]
    n = a.shape[-1]
    dt = x.dtype
    m = jnp.asarray(mup.output_multiplier(n, param), dt)
    # layout (L, n, B): measured ~2x faster than (B, L, n) at n = 4096 on CPU (the batch
    # is the contiguous axis of every (n, B) block and of the GEMMs with x)
    pre = jnp.einsum("lnd,bd->lnb", W, x) + b[..., None]
    act = jax.nn.relu(pre)
    if widths is not None and len(widths) > 1:
        return _pack_grads(x, y, a, pre, act, widths, param, loss, formulation)
    if formulation == "dot":
        # on CPU as einsums (dots), not multiply-then-sum: the latter materialised further
        # (L, n, B) arrays there
        f = m * jnp.einsum("ln,lnb->lb", a, act)  # (L, B)
    else:
        f = m * jnp.sum(a[..., None] * act, axis=-2)
    g = (m / jnp.asarray(x.shape[0], dt)) * relu_net.loss_derivative(f, y[None, :], loss)
    if formulation == "dot":
        da = jnp.einsum("lnb,lb->ln", act, g)
    else:
        da = jnp.sum(act * g[:, None, :], axis=-1)
    dpre = jnp.where(pre > 0, a[..., None] * g[:, None, :], jnp.zeros((), dt))
    db = jnp.sum(dpre, axis=-1)
    dW = jnp.einsum("lnb,bd->lnd", dpre, x)
    batch_loss = jnp.mean(relu_net.per_sample_loss(f, y[None, :], loss), axis=-1)
    return {"W": dW, "b": db, "a": da}, batch_loss


def _pack_grads(x, y, a, pre, act, widths, param, loss, formulation):
    """:func:`lr_grid_grads` for a pack (its readout and g per width, by segment)."""
    dt = x.dtype
    m = relu_pack.multipliers(widths, param, dt)[None, :, None]  # (1, K, 1)
    f = m * relu_pack.readout(a, act, widths, formulation)  # (L, K, B)
    y3 = y[None, None, :]
    g = (m / jnp.asarray(x.shape[0], dt)) * relu_net.loss_derivative(f, y3, loss)
    g_n = relu_pack.expand(g, widths)  # (L, n, B): each neuron's own width's g
    da = jnp.sum(act * g_n, axis=-1)
    dpre = jnp.where(pre > 0, a[..., None] * g_n, jnp.zeros((), dt))
    db = jnp.sum(dpre, axis=-1)
    dW = jnp.einsum("lnb,bd->lnd", dpre, x)
    batch_loss = jnp.mean(relu_net.per_sample_loss(f, y3, loss), axis=-1)  # (L, K)
    return {"W": dW, "b": db, "a": da}, batch_loss


def _segment_fn(st: _Static, params, opt_state, lrs, data_keys, t0):
    """``st.segment`` Adam steps for every (seed, LR). Shapes: params (S, L, ...),
    lrs (L,), data_keys (S, 2), t0 scalar int32 (first step index)."""
    dt = _dtype(st)
    opt = _optimizer(st)
    mult = dict(st.lr_mult)

    n_lrs = lrs.shape[0]
    cb = st.lr_block

    # one fixed training set per seed (train_size), drawn once per segment: (S, N, d)
    train = None if st.train_size is None else jax.vmap(lambda k: _training_set(st, k))(data_keys)

    def seed_grads(p_L, key, t, data=None):
        x, y = _batch(st, key, t, data)
        # x, y are shared by the L learning rates of this seed (common random numbers)
        if cb >= n_lrs:
            return lr_grid_grads(p_L, x, y, st.param, st.loss, st.formulation, st.widths)[0]
        # blocks of cb learning rates, one after another, so a block's (B, cb, n)
        # activations stay in cache (the same batch x for every block)
        blocks = jax.tree.map(lambda v: v.reshape((n_lrs // cb, cb, *v.shape[1:])), p_L)
        g = jax.lax.map(
            lambda q: lr_grid_grads(q, x, y, st.param, st.loss, st.formulation, st.widths)[0],
            blocks,
        )
        return jax.tree.map(lambda v: v.reshape((n_lrs, *v.shape[2:])), g)

    def grads(p, t):
        if cb >= n_lrs * data_keys.shape[0]:  # every configuration fits: one program
            return jax.vmap(seed_grads, in_axes=(0, 0, None, 0))(p, data_keys, t, train)
        # seeds one after another (cb // n_lrs at a time when several fit)
        return jax.lax.map(
            lambda a: seed_grads(a[0], a[1], t, a[2]),
            (p, data_keys, train),
            batch_size=max(1, cb // n_lrs) if cb >= n_lrs else None,
        )

    def body(carry, t):
        p, s = carry
        g = grads(p, t)
        u, s = opt.update(g, s, p)
        step = -lrs * _schedule_factor(st.schedule, t, st.steps, dt)  # (L,)
        p = {k: p[k] + (step * mult[k]).reshape((1, -1) + (1,) * (p[k].ndim - 2)) * u[k] for k in p}
        return (p, s), None

    ts = t0 + jnp.arange(st.segment, dtype=jnp.int32)
    (params, opt_state), _ = jax.lax.scan(body, (params, opt_state), ts)
    return params, opt_state


def _eval_fn(st: _Static, params, x_test, y_test):
    """Per-sample validation losses, shape (S, L, K, M) for the K widths of
    ``st.widths`` (K = 1: one width). Configurations are taken
    ``st.eval_block`` at a time (lax.map over groups, vmap within one), each on the
    validation set in blocks of ``st.chunk`` rows (:func:`relu_net.chunked_sample_losses`):
    on a CPU one configuration and a cache-sized (chunk, n) block at a time (a block
    over every configuration is much slower: docs/benchmarks.md); on an accelerator
    every configuration at once."""
    S, L = params["a"].shape[:2]
    C, e = S * L, st.eval_block
    while C % e:
        e -= 1
    flat = jax.tree.map(lambda v: v.reshape((C // e, e, *v.shape[2:])), params)

    def one(q):
        if len(st.widths) == 1:
            per = relu_net.chunked_sample_losses(q, x_test, y_test, st.param, st.chunk, st.loss)
            return per[None]
        return relu_pack.chunked_sample_losses(
            q, x_test, y_test, st.widths, st.param, st.chunk, st.loss
        )

    return jax.lax.map(jax.vmap(one), flat).reshape(S, L, len(st.widths), x_test.shape[0])


# Compiled once per static description: a second call with the same shapes reuses the
# program (tests count compilations with tests/conftest.py's compile_count).
@lru_cache(maxsize=64)
def _compiled(st: _Static, n_lrs: int):
    def init(init_keys):
        with jax.numpy_dtype_promotion("standard"):
            return _init_state(st, init_keys, n_lrs)

    def segment(params, opt_state, lrs, data_keys, t0):
        # optax mixes its int32 step count with floats (bias correction); our own code
        # is explicit about dtypes, so a strict-promotion caller (tests) is honoured
        # everywhere else
        with jax.numpy_dtype_promotion("standard"), jax.default_matmul_precision(st.precision):
            return _segment_fn(st, params, opt_state, lrs, data_keys, t0)

    def evaluate(params, x_test, y_test):
        with jax.default_matmul_precision(st.precision):
            return _eval_fn(st, params, x_test, y_test)

    # XLA:CPU's YNNPACK fusions (on by default in this jaxlib) were measured 10x slower
    # on these programs (lr_grid_grads at n = 4096: 64-85 ms vs 5-7 ms without);
    # turned off per program, so nothing global changes. CPU-only option.
    opts = {"xla_cpu_experimental_ynn_fusion_type": ""} if st.platform == "cpu" else {}
    opts.update({k: _option_value(v) for k, v in st.xla_options})
    return (
        jax.jit(init, compiler_options=opts),
        jax.jit(segment, donate_argnums=(0, 1), compiler_options=opts),
        jax.jit(evaluate, compiler_options=opts),
    )


def _option_value(text: str):
    """A compiler option's value from its text: bool, int, float or the string."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _segment_length(steps: int, target_segments: int = 20, min_length: int = 10) -> int:
    """The smallest divisor of ``steps`` that is >= steps / target_segments and >=
    min_length (so the progress bar has at most about that many ticks, one compiled
    segment covers the run, and each dispatch runs enough steps to hide its overhead)."""
    lo = max(1, math.ceil(steps / target_segments), min(steps, min_length))
    for k in range(lo, steps + 1):
        if steps % k == 0:
            return k
    return steps


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _test_set(seed: int, size: int, task: relu_net.Task, dtype: str):
    return task.sample(
        jax.random.PRNGKey(seed), size, jnp.float64 if dtype == "float64" else jnp.float32
    )


def test_set(config: ReluSweepConfig):
    """The fixed validation set (x (M, d), y (M,)): the same for every width, seed, LR."""
    return _test_set(config.test_seed, config.test_size, config.task_spec(), config.dtype)


@dataclass(frozen=True)
class WidthResult:
    """One width's validation statistics, each of shape (n_lrs, seeds), float64:
    ``loss`` the mean validation loss (NaN for a diverged run), ``se`` its sampling
    standard error std(l)/sqrt(M) over the M validation points, ``se_next`` the
    standard error of loss(next LR) - loss(this LR) on the same points (paired: the
    validation noise that can reorder neighbouring LRs; NaN in the last row)."""

    loss: np.ndarray
    se: np.ndarray
    se_next: np.ndarray


def _validation_stats(per_sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, se, se_next), each (S, L), from per-sample losses (S, L, M)."""
    v = np.asarray(per_sample, dtype=np.float64)
    M = v.shape[-1]
    finite = np.isfinite(v).all(axis=-1)
    with np.errstate(invalid="ignore", over="ignore"):
        loss = np.where(finite, v.mean(axis=-1), np.nan)
        se = np.where(finite, v.std(axis=-1, ddof=1) / math.sqrt(M), np.nan)
        diff = v[:, 1:] - v[:, :-1]
        se_next = np.full_like(loss, np.nan)
        se_next[:, :-1] = np.where(
            finite[:, 1:] & finite[:, :-1], diff.std(axis=-1, ddof=1) / math.sqrt(M), np.nan
        )
    return loss, se, se_next


def train_width(
    config: ReluSweepConfig,
    width: int,
    *,
    devices=None,
    progress: Callable[[int], None] | None = None,
    segment_seconds: list | None = None,
) -> WidthResult:
    """Train every (LR, seed) configuration at one width and evaluate it on the fixed
    validation set: :func:`train_widths` of the one width."""
    return train_widths(
        config, (width,), devices=devices, progress=progress, segment_seconds=segment_seconds
    )[width]


def train_widths(
    config: ReluSweepConfig,
    widths: tuple[int, ...],
    *,
    devices=None,
    progress: Callable[[int], None] | None = None,
    segment_seconds: list | None = None,
) -> dict[int, WidthResult]:
    """Train every (LR, seed) configuration at each of ``widths``, all in one program (a
    pack, :mod:`simulations.relu_pack`; one width is the plain engine), and evaluate them
    on the fixed validation set: {width: WidthResult}. A width's numbers are those it
    gets alone up to float rounding (the same initialisation, batches and Adam steps).

    Seeds are cut into blocks of a fixed size (:func:`_plan`); the blocks are spread
    over ``devices`` (default: this process's local devices), one block per device at a
    time, each placed with a ``SingleDeviceSharding`` and advanced asynchronously, so the
    devices train in parallel. ``progress(k)`` is called after every k seed-steps.
    ``segment_seconds``, when given, receives the wall time of every segment of
    ``_segment_length(steps)`` steps (waiting for the devices after each; the first
    includes compilation) and, last, that of the evaluation.
    """
    dt = jax_dtype(config.dtype)  # float64 without x64 is an error, never float32
    widths = tuple(int(w) for w in widths)
    if not widths or len(set(widths)) != len(widths):
        raise ValueError(f"widths must be distinct and at least one, got {widths}")
    devices = list(jax.local_devices() if devices is None else devices)
    platform = devices[0].platform
    plan = _plan(config, sum(widths), platform)
    block = plan.seed_block
    segment = _segment_length(config.steps)
    st = _static(config, widths, segment, plan, platform)
    init_fn, segment_fn, eval_fn = _compiled(st, config.n_lrs)
    lrs_host = jnp.asarray(config.lrs(), dt)
    test_host = test_set(config)
    on = {}  # per-device constants: the LR grid and the validation set
    n_blocks = -(-config.seeds // block)
    S = n_blocks * block
    stats = np.empty((3, len(widths), S, config.n_lrs))  # (loss, se, se_next) per width
    for wave in range(0, n_blocks, len(devices)):
        jobs = []
        for j, dev in zip(range(wave, min(wave + len(devices), n_blocks)), devices, strict=False):
            if dev not in on:
                sh = SingleDeviceSharding(dev)
                on[dev] = (jax.device_put(lrs_host, sh), jax.device_put(test_host, sh))
            # the last block is padded with further seeds; their results are dropped
            keys = jax.device_put(
                _seed_keys(np.arange(j * block, (j + 1) * block)), SingleDeviceSharding(dev)
            )
            params, opt_state = init_fn(keys[0])
            jobs.append([j, dev, params, opt_state, keys[1]])
        n_real = sum(min(block, config.seeds - j * block) for j, *_ in jobs)
        tick = time.perf_counter()
        for t0 in range(0, config.steps, segment):
            t = jnp.asarray(t0, jnp.int32)
            for job in jobs:  # dispatch is asynchronous: the devices run concurrently
                j, dev, params, opt_state, data_keys = job
                job[2], job[3] = segment_fn(params, opt_state, on[dev][0], data_keys, t)
            if progress is not None or segment_seconds is not None:
                jax.block_until_ready([job[2] for job in jobs])
            if segment_seconds is not None:
                now = time.perf_counter()
                segment_seconds.append(now - tick)
                tick = now
            if progress is not None:
                progress(segment * n_real)
        for j, dev, params, _, _ in jobs:
            per_sample = np.asarray(eval_fn(params, *on[dev][1]))  # (block, L, K, M)
            for k in range(len(widths)):
                stats[:, k, j * block : (j + 1) * block] = _validation_stats(per_sample[:, :, k])
        if segment_seconds is not None:
            segment_seconds.append(time.perf_counter() - tick)
    return {
        w: WidthResult(*(a[: config.seeds].T for a in stats[:, k])) for k, w in enumerate(widths)
    }


FRAME_COLUMNS = ("width", "hp", "loss", "seed", "val_se", "val_se_next")


def sweep_frame(config: ReluSweepConfig, width: int, result: WidthResult):
    """Tidy rows width,hp,loss,seed (hp = log nu) plus the validation standard errors
    val_se, val_se_next (:class:`WidthResult`) for one width."""
    import pandas as pd

    L, S = result.loss.shape
    hp = np.log(config.lrs())
    return pd.DataFrame(
        {
            "width": np.full(L * S, width, dtype=np.int64),
            "hp": np.repeat(hp, S),
            "loss": result.loss.reshape(-1),
            "seed": np.tile(np.arange(S, dtype=np.int64), L),
            "val_se": result.se.reshape(-1),
            "val_se_next": result.se_next.reshape(-1),
        }
    )

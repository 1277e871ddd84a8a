"""Width x learning-rate x seed sweep of the two-layer ReLU net (SPEC §5), and its store.

One engine for the paper's two tasks (``task`` ball with BCE: the ReLU counterexample of
its Figure 5; kindex with the squared loss: the late shift of its Figure 2; see
:mod:`simulations.relu_net`), presets ``quick`` / ``cpu`` / ``paper`` per study
(:func:`preset`; the choices the paper leaves open are in :data:`GRID_RATIONALE`).

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
cache) and the compiled programs turn off XLA:CPU's YNNPACK fusions (measured ~10x
slower on them in this jaxlib); on an accelerator every configuration of a seed block
runs at once (measured on an H100: 56-68% of the float32 GEMM peak at n >= 1448 with
XLA's GEMM autotuning on, 3.5x slower with it off).
Seeds are cut into blocks of a fixed size, and the blocks are spread over the devices
(each block committed to one device with a ``jax.sharding.SingleDeviceSharding``, all
devices running asynchronously). Every device runs the same single-device program on
the same block shape, so 1 and 2 devices give bit-identical float64 numbers (a
GSPMD-partitioned or shard_map program was measured to fuse differently and drift by
~1e-12). After training, the validation loss is measured on a fixed validation set
(independent of seed and width) in row chunks, with its sampling error and the paired
error of neighbouring-LR differences (:class:`WidthResult`). Non-finite losses
(diverged runs) are recorded as NaN.

Learning rate: H_n = nu * lr_multiplier(n) (:mod:`simulations.mup`, base width 128 by
default; the output layer's times ``out_lr_factor``), times a schedule factor s(t)
(constant, or cosine decay to 0); hp = log nu in the results.

Store (:func:`run_sweep`): ``DIR/relu_sweep.json`` (the configuration), one cell file
``DIR/cells/width_<n>.csv`` per finished width (written atomically, so a killed run
loses no finished cell and leaves no half cell), ``DIR/relu_sweep.csv`` (width, hp, loss,
seed, val_se, val_se_next: every finished cell, rewritten after each cell) and
``DIR/provenance.json`` (per cell: seconds, devices, JAX version, code commit).
Re-running skips finished cells; a store whose configuration differs (other than in
the widths, the cells, and the engine knobs) is an :class:`InputError`. With several
processes (``jax.distributed``), process p trains the widths with index = p mod P on its
local devices and writes its cells into the same store; process 0 merges at the end.
The committed results bank (:func:`bank_dir`) holds paper-scale stores made on a GPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
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

from fasttransfer.simulations import mup, relu_net
from fasttransfer.theory.atomic import atomic_write_json, atomic_write_text
from fasttransfer.theory.errors import InputError

CSV_NAME = "relu_sweep.csv"
CONFIG_NAME = "relu_sweep.json"
PROVENANCE_NAME = "provenance.json"
CELLS_DIR = "cells"
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "tensorfloat32")
# How lr_grid_grads contracts the (L, n, B) activations with a and g: "dot" (einsums:
# measured faster on CPU, where a multiply-then-sum materialised further arrays) or
# "reduce" (elementwise product summed, which XLA fuses with the relu into one pass).
FORMULATIONS = ("dot", "reduce")
# Bytes of one (batch or test rows, n) activation array that one step of the engine
# holds at a time (~ half a core's L2 cache here). The step and the evaluation are
# memory-bound when their activations spill out of cache: measured at n = 4096, float32,
# batch 256, 8 LRs x 2 seeds, these blocks made a training step 3-4x and the
# evaluation ~40x faster than one (S, L, rows, n) array over every configuration.
CACHE_BYTES = 2**20
EVAL_CACHE_BYTES = 2**20
# On an accelerator: the bound on one live (configurations, rows, n) array.
ACCEL_ARRAY_BYTES = 2**31


# --------------------------------------------------------------------------- config
def octave_grid(center: float, n_lrs: int, per_octave: int) -> tuple[float, float]:
    """(lr_min, lr_max) of ``n_lrs`` log-spaced learning rates at ``per_octave`` points
    per factor 2, centred (in log) on ``center``."""
    half = 0.5 * (n_lrs - 1) / per_octave
    return center * 2.0 ** -half, center * 2.0 ** half


def sqrt2_widths(lo_exp2: float, hi_exp2: float) -> tuple[int, ...]:
    """round(2^(j/2)) for 2 lo_exp2 <= j <= 2 hi_exp2: widths at sqrt(2) spacing
    (181, 256, 362, ... for lo_exp2 = 7.5)."""
    return tuple(int(round(2.0 ** (j / 2))) for j in range(int(round(2 * lo_exp2)),
                                                            int(round(2 * hi_exp2)) + 1))


@dataclass(frozen=True)
class ReluSweepConfig:
    """One sweep. ``lrs()`` = ``n_lrs`` log-spaced nu in [lr_min, lr_max]; seeds
    0..seeds-1; ``steps`` Adam steps of batch ``batch``; ``task`` ball | kindex and
    ``loss`` bce | squared (:mod:`simulations.relu_net`); ``out_lr_factor`` multiplies
    the output layer's learning rate (1/50 is the paper's layer-wise variant);
    ``radius`` None = the median radius (ball). The validation set is fixed:
    ``test_size`` points drawn from ``test_seed``, the same for every width, seed and LR.
    Seeds are trained in blocks of ``seed_block`` (fewer if ``memory_mb``, the bound on
    one device's live activations, requires), the blocks spread over the devices; these
    two and the ``preset`` label change no number beyond float rounding, so they are
    recorded but not part of the store's identity (:meth:`result_key`).
    ``matmul_precision`` is JAX's for the products (float32: full f32 on GPUs too, where
    "tensorfloat32" would round the operands to 10 mantissa bits)."""

    widths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    lr_min: float = 1e-3
    lr_max: float = 1.0
    n_lrs: int = 13
    seeds: int = 8
    steps: int = 400
    batch: int = 256
    d: int = 64
    task: str = "ball"
    loss: str = "bce"
    k: int = 15
    radius: float | None = None
    out_lr_factor: float = 1.0
    param: str = "mup"
    base_width: int | None = 128
    dtype: str = "float64"
    matmul_precision: str = "float32"
    schedule: str = "constant"
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    test_size: int = 16384
    test_seed: int = 2**31 - 1
    seed_block: int = 4
    memory_mb: int = 1024
    formulation: str = "dot"
    xla_options: tuple[tuple[str, str], ...] = ()
    preset: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "xla_options",
                           tuple((str(k), str(v)) for k, v in dict(self.xla_options).items()))
        if self.formulation not in FORMULATIONS:
            raise InputError(f"formulation must be one of {FORMULATIONS}, got {self.formulation!r}")
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
        if self.task not in relu_net.TASKS:
            raise InputError(f"task must be one of {relu_net.TASKS}, got {self.task!r}")
        if self.loss not in relu_net.LOSSES:
            raise InputError(f"loss must be one of {relu_net.LOSSES}, got {self.loss!r}")
        if self.matmul_precision not in PRECISIONS:
            raise InputError(f"matmul_precision must be one of {PRECISIONS}, "
                             f"got {self.matmul_precision!r}")
        for name in ("n_lrs", "seeds", "steps", "batch", "d", "test_size", "seed_block",
                     "memory_mb", "k"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.task == "kindex" and self.k > self.d:
            raise InputError(f"k must be at most d = {self.d}, got {self.k}")
        if not (0 < self.lr_min <= self.lr_max):
            raise InputError(f"need 0 < lr_min <= lr_max, got {self.lr_min}, {self.lr_max}")
        if self.base_width is not None and int(self.base_width) < 1:
            raise InputError(f"base_width must be a positive integer or None, got {self.base_width}")
        if not self.out_lr_factor > 0:
            raise InputError(f"out_lr_factor must be positive, got {self.out_lr_factor}")

    def lrs(self) -> np.ndarray:
        """The scale-free learning rates nu, shape (n_lrs,), log-spaced."""
        return np.exp(np.linspace(math.log(self.lr_min), math.log(self.lr_max), self.n_lrs))

    def task_spec(self) -> relu_net.Task:
        return relu_net.Task(name=self.task, d=self.d, k=self.k, radius=self.radius)

    def jnp_dtype(self):
        return jnp.float64 if self.dtype == "float64" else jnp.float32

    def replace(self, **changes) -> "ReluSweepConfig":
        return dataclasses.replace(self, **changes)

    def to_json_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        out["xla_options"] = [list(kv) for kv in self.xla_options]
        return out

    def result_key(self) -> dict:
        """Every field that changes a number beyond rounding: all but the widths (the
        cells), the engine knobs (blocking, formulation, compiler options: float rounding
        at most) and the preset's label."""
        out = self.to_json_dict()
        for name in ("widths", "seed_block", "memory_mb", "formulation", "xla_options", "preset"):
            out.pop(name)
        return out

    @property
    def study(self) -> str:
        """The study of :data:`STUDIES` this configuration belongs to."""
        if self.task == "ball":
            return "relu"
        return "kindex" if self.out_lr_factor == 1 else "kindex-layerwise"

    def study_label(self) -> str:
        """e.g. "relu/paper/mup" or "kindex-layerwise/cpu/mup"."""
        return f"{self.study}/{self.preset}/{self.param}"

    def describe(self) -> str:
        """One paragraph: the setting in words, for reports and figure captions."""
        t = self.task_spec()
        if self.task == "ball":
            target = (f"x ~ N(0, I_{self.d}), y = 1{{|x|^2 > r^2}}, r^2 = median of "
                      f"chi^2_{self.d} = {t.target_radius() ** 2:.3f}")
        else:
            target = (f"x ~ N(0, (4/{self.d}) I_{self.d}), y = sqrt(({self.d}/(4*{self.k})) "
                      f"sum_{{i<={self.k}}} x_i^2)")
        lrs = self.lrs()
        step = math.log2(lrs[1] / lrs[0]) if len(lrs) > 1 else float("nan")
        return (f"preset {self.preset}: {target}; {self.loss} loss; two-layer ReLU net with "
                f"biases, {self.param}"
                + (f" (mean-field form, base width {self.base_width}, " if self.param == "mup"
                   and self.base_width else " (")
                + f"Adam b1={self.b1}, b2={self.b2}, "
                f"eps={self.eps:g}, {self.schedule} LR"
                + (f", output-layer LR x {self.out_lr_factor:g}" if self.out_lr_factor != 1 else "")
                + f"); batch {self.batch}, {self.steps} steps, fresh batches; "
                f"{self.n_lrs} LRs in [{self.lr_min:.3g}, {self.lr_max:.3g}] "
                f"({step:.2f} octave spacing); {self.seeds} seed(s) with common random "
                f"numbers; widths {list(self.widths)}; fixed validation set of "
                f"{self.test_size} points; {self.dtype}.")

    @classmethod
    def from_json_dict(cls, data: dict) -> "ReluSweepConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"{CONFIG_NAME}: unknown field(s) {sorted(unknown)}")
        data = dict(data)
        if "widths" in data:
            data["widths"] = tuple(data["widths"])
        if "xla_options" in data:
            data["xla_options"] = tuple(tuple(kv) for kv in data["xla_options"])
        return cls(**data)


PRESETS: tuple[str, ...] = ("quick", "cpu", "paper")
STUDIES: tuple[str, ...] = ("relu", "kindex", "kindex-layerwise")


def preset(name: str, param: str = "mup", study: str = "relu") -> ReluSweepConfig:
    """The presets of SPEC §5 for one ``study``:

    ``relu``: the paper's ReLU counterexample (its Figure 5): d = 64, y = 1{|x|^2 >
    median}, BCE, batch 256, Adam; ``paper`` = T = 2^14 steps, the paper's 14 widths
    181..16384 at sqrt(2) spacing, quarter-octave LR grid, 4 seeds, float32 (a GPU);
    ``cpu`` = the same d, loss, label, batch and grid spacing with fewer steps and widths
    (~10 minutes on 2 cores; reduced regime); ``quick`` = a smoke run (a minute or two).
    ``kindex``: the Gaussian k-index model of the paper's Figure 2 (k = 15, d = 64,
    squared loss, batch 256; ``paper`` = T = 2^14, 15 widths 128..16384, a half-octave
    grid over three decades, wide enough for both modes). ``kindex-layerwise``: the
    same with the output layer's LR divided by 50.
    Why the grids sit where they do: :data:`GRID_RATIONALE`.
    """
    if study not in STUDIES:
        raise InputError(f"study must be one of {STUDIES}, got {study!r}")
    if name not in PRESETS:
        raise InputError(f"preset must be one of {PRESETS}, got {name!r}")
    common = dict(d=64, batch=256, b1=0.9, b2=0.999, eps=1e-8, schedule="constant",
                  preset=name)
    if study == "relu":
        common.update(task="ball", loss="bce")
        per_octave = 4
        table = {
            "paper": dict(widths=sqrt2_widths(7.5, 14), steps=2**14, seeds=4, n_lrs=20,
                          center=2.0**-10, test_size=2**18, dtype="float32",
                          seed_block=4, memory_mb=32768),
            "cpu": dict(widths=sqrt2_widths(7, 9.5), steps=2**11, seeds=4, n_lrs=16,
                        center=2.0**-8.75, test_size=2**15, dtype="float32"),
            "quick": dict(widths=sqrt2_widths(6, 8), steps=2**9, seeds=2, n_lrs=12,
                          center=2.0**-7.5, test_size=2**13, dtype="float32"),
        }
    else:
        common.update(task="kindex", loss="squared", k=15,
                      out_lr_factor=1.0 if study == "kindex" else 1.0 / 50.0)
        per_octave = 2
        table = {
            "paper": dict(widths=sqrt2_widths(7, 14), steps=2**14, seeds=1, n_lrs=23,
                          center=2.0**-7, test_size=2**16, dtype="float32",
                          seed_block=4, memory_mb=32768),
            "cpu": dict(widths=sqrt2_widths(7, 9), steps=2**11, seeds=2, n_lrs=18,
                        center=2.0**-7, test_size=2**14, dtype="float32"),
            "quick": dict(widths=(64, 128), steps=2**8, seeds=1, n_lrs=10,
                          center=2.0**-6, test_size=2**12, dtype="float32"),
        }
    row = dict(table[name])
    lo, hi = octave_grid(row.pop("center"), row["n_lrs"], per_octave)
    cfg = ReluSweepConfig(**common, **row, lr_min=lo, lr_max=hi)
    if param == "sp":
        # the SP optimum moves like a power of n (a factor ~n over the widths): a
        # half-octave grid reaching far below the muP grid, fewer seeds (only the drift
        # is measured there)
        lo_sp = cfg.lr_min / max(cfg.widths)
        cfg = cfg.replace(lr_min=lo_sp,
                          n_lrs=int(math.ceil(2 * math.log2(cfg.lr_max / lo_sp))) + 1,
                          seeds=min(cfg.seeds, 2))
    return cfg.replace(param=param)


GRID_RATIONALE = """\
Choices the paper leaves open (PAPER.md), made before any paper-scale run:
- muP multipliers: mean-field form with base width n0 = 128 (mup.py): at n = 128 the net
  is the standard-parametrisation net (fan-in init, one Adam LR for every layer), the
  usual muP convention, and 128 is the paper's base width in its transformer runs.
- Adam b1 = 0.9, b2 = 0.999, eps = 1e-8 (PyTorch's defaults), constant LR, no warm-up.
- Fresh batches every step (online), a fixed validation set (2^18 points at the paper
  preset: its paired standard error of the difference between neighbouring LRs is
  stored per cell as val_se_next).
- Seeds: 4 (ReLU counterexample) with common random numbers; 1 for the k-index model
  (its Figure 2 shows single curves); bias init std = the std of <w_i, x>.
Grid positions, from CPU pilots (one seed, float32, d = 64, batch 256):
- ReLU/BCE, n0 = 128, T = 2^14, n = 181: loss 0.403 at nu = 2^-14, 0.199 at the optimum
  2^-10.5, 0.278 at 2^-6: the paper preset's 20 quarter-octave points are centred on
  2^-10 (2^-12.375 .. 2^-7.625), room for a drift of about 1.5 octaves either way.
  The same pilot with the plain mean-field output layer (n0 = None) put the optimum
  near 2^-6.5 with a flat right side (0.212 .. 0.226 up to 2^-4).
- ReLU/BCE, T = 2^11: optimum 2^-8.75 (n = 128) and 2^-8.5 (n = 512): the cpu preset
  (16 points) is centred on 2^-8.75; T = 2^9: 2^-7.5 at n = 64 and 256 (quick).
- k-index/squared, T = 2^14, n = 128: optimum 2^-9 (loss 5.0e-4) with a second dip at
  2^-7.5; T = 2^11: 2^-7 at n = 128 and 512. The paper's two modes lie two decades apart,
  so its grid is half-octave over 2^-12.5 .. 2^-1.5 (23 points).
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


@dataclass(frozen=True)
class _Plan:
    """How one width is cut into pieces (no number depends on it beyond rounding)."""
    seed_block: int   # seeds per device program
    lr_block: int     # configurations whose (batch, n) activations a step holds at once
    chunk: int        # validation rows per evaluation block
    eval_block: int   # configurations evaluated at once


def _is_accelerator(platform: str) -> bool:
    return platform not in ("cpu",)


def _plan(config: ReluSweepConfig, width: int, platform: str) -> _Plan:
    """The blocking of one width on ``platform``.

    CPU: the step and the evaluation are memory-bound once their activations leave the
    cache, so a step takes configurations in groups whose (batch, n) arrays fit
    CACHE_BYTES and the evaluation runs one configuration at a time on (chunk, n) blocks
    of EVAL_CACHE_BYTES (measured 3-4x and ~40x faster than one array over every
    configuration at n = 4096). Accelerator: the opposite: the largest products fill the
    chip, so every configuration of a seed block runs at once (one (S, L, n, B) array
    of at most ACCEL_ARRAY_BYTES) and the evaluation takes all of them on row chunks.
    Seed blocks: the live (block, L, batch, n) arrays of a device (about 6 in the
    backward pass) stay within ``memory_mb``; the block does not depend on the number of
    devices, so 1 and 2 devices run the same program (bit-identical float64)."""
    itemsize = 8 if config.dtype == "float64" else 4
    L = config.n_lrs
    per_seed = (6 * L * config.batch * width * itemsize
                + 8 * L * width * (config.d + 2) * itemsize)
    block = int(max(1, min(config.seeds, config.seed_block,
                           config.memory_mb * 2**20 // max(per_seed, 1))))
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


def _static(config: ReluSweepConfig, width: int, segment: int, plan: _Plan,
            platform: str) -> _Static:
    mult = dict(mup.lr_multipliers(width, config.param, config.base_width))
    mult["a"] *= config.out_lr_factor
    return _Static(width=width, base_width=config.base_width, task=config.task_spec(), loss=config.loss,
                   batch=config.batch, steps=config.steps, param=config.param,
                   dtype=config.dtype, precision=config.matmul_precision,
                   schedule=config.schedule, b1=config.b1, b2=config.b2, eps=config.eps,
                   lr_mult=tuple(sorted(mult.items())), segment=segment, chunk=plan.chunk,
                   lr_block=plan.lr_block, eval_block=plan.eval_block, platform=platform,
                   formulation=config.formulation, xla_options=config.xla_options)


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
        p = relu_net.init_params(key, st.width, st.task.d, st.param, dt,
                                 input_std=st.task.input_std, base_width=st.base_width)
        return jax.tree.map(lambda v: jnp.broadcast_to(v, (n_lrs,) + v.shape), p)

    params = jax.vmap(one_seed)(init_keys)
    return params, _optimizer(st).init(params)


def lr_grid_grads(p_L: dict, x: jax.Array, y: jax.Array, param: str, loss: str = "bce",
                  formulation: str = "dot"):
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
    """
    W, b, a = p_L["W"], p_L["b"], p_L["a"]
    n = a.shape[-1]
    dt = x.dtype
    m = jnp.asarray(mup.output_multiplier(n, param), dt)
    # layout (L, n, B): measured ~2x faster than (B, L, n) at n = 4096 on CPU (the batch
    # is the contiguous axis of every (n, B) block and of the GEMMs with x)
    pre = jnp.einsum("lnd,bd->lnb", W, x) + b[..., None]
    act = jax.nn.relu(pre)
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


def _segment_fn(st: _Static, params, opt_state, lrs, data_keys, t0):
    """``st.segment`` Adam steps for every (seed, LR). Shapes: params (S, L, ...),
    lrs (L,), data_keys (S, 2), t0 scalar int32 (first step index)."""
    dt = _dtype(st)
    opt = _optimizer(st)
    mult = dict(st.lr_mult)

    n_lrs = lrs.shape[0]
    cb = st.lr_block

    def seed_grads(p_L, key, t):
        x, y = st.task.sample(jax.random.fold_in(key, t), st.batch, dt)
        # x, y are shared by the L learning rates of this seed (common random numbers)
        if cb >= n_lrs:
            return lr_grid_grads(p_L, x, y, st.param, st.loss, st.formulation)[0]
        # blocks of cb learning rates, one after another, so a block's (B, cb, n)
        # activations stay in cache (the same batch x for every block)
        blocks = jax.tree.map(lambda v: v.reshape((n_lrs // cb, cb) + v.shape[1:]), p_L)
        g = jax.lax.map(lambda q: lr_grid_grads(q, x, y, st.param, st.loss, st.formulation)[0],
                        blocks)
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
    """Per-sample validation losses, shape (S, L, M). Configurations are taken
    ``st.eval_block`` at a time (lax.map over groups, vmap within one), each on the
    validation set in blocks of ``st.chunk`` rows (:func:`relu_net.chunked_sample_losses`):
    on a CPU one configuration and a cache-sized (chunk, n) block at a time (a block
    over every configuration was measured ~40x slower at n = 4096); on an accelerator
    every configuration at once."""
    S, L = params["a"].shape[:2]
    C, e = S * L, st.eval_block
    while C % e:
        e -= 1
    flat = jax.tree.map(lambda v: v.reshape((C // e, e) + v.shape[2:]), params)

    def group(p):
        return jax.vmap(lambda q: relu_net.chunked_sample_losses(
            q, x_test, y_test, st.param, st.chunk, st.loss))(p)

    return jax.lax.map(group, flat).reshape(S, L, x_test.shape[0])


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
        with jax.numpy_dtype_promotion("standard"), jax.default_matmul_precision(st.precision):
            return _segment_fn(st, params, opt_state, lrs, data_keys, t0)

    def evaluate(params, x_test, y_test):
        TRACE_COUNT["eval"] += 1
        with jax.default_matmul_precision(st.precision):
            return _eval_fn(st, params, x_test, y_test)

    # XLA:CPU's YNNPACK fusions (on by default in this jaxlib) were measured 10x slower
    # on these programs (lr_grid_grads at n = 4096: 64-85 ms vs 5-7 ms without);
    # turned off per program, so nothing global changes. CPU-only option.
    opts = {"xla_cpu_experimental_ynn_fusion_type": ""} if st.platform == "cpu" else {}
    opts.update({k: _option_value(v) for k, v in st.xla_options})
    return (jax.jit(init, compiler_options=opts),
            jax.jit(segment, donate_argnums=(0, 1), compiler_options=opts),
            jax.jit(evaluate, compiler_options=opts))


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
    return task.sample(jax.random.PRNGKey(seed), size,
                       jnp.float64 if dtype == "float64" else jnp.float32)


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
        se_next[:, :-1] = np.where(finite[:, 1:] & finite[:, :-1],
                                   diff.std(axis=-1, ddof=1) / math.sqrt(M), np.nan)
    return loss, se, se_next


def train_width(config: ReluSweepConfig, width: int, *, devices=None,
                progress: Callable[[int], None] | None = None,
                segment_seconds: list | None = None) -> WidthResult:
    """Train every (LR, seed) configuration at one width and evaluate it on the fixed
    validation set.

    Seeds are cut into blocks of a fixed size (:func:`_plan`); the blocks are spread
    over ``devices`` (default: this process's local devices), one block per device at a
    time, each placed with a ``SingleDeviceSharding`` and advanced asynchronously, so the
    devices train in parallel. ``progress(k)`` is called after every k seed-steps.
    ``segment_seconds``, when given, receives the wall time of every segment of
    ``_segment_length(steps)`` steps (waiting for the devices after each; the first
    includes compilation) and, last, that of the evaluation.
    """
    if config.dtype == "float64" and not jax.config.jax_enable_x64:
        # JAX would silently compute in float32 while the store says float64
        raise InputError("dtype float64 needs JAX's 64-bit mode: set JAX_ENABLE_X64=1 (the "
                         "command line does) or jax.config.update('jax_enable_x64', True)")
    devices = list(jax.local_devices() if devices is None else devices)
    platform = devices[0].platform
    plan = _plan(config, width, platform)
    block = plan.seed_block
    segment = _segment_length(config.steps)
    st = _static(config, width, segment, plan, platform)
    init_fn, segment_fn, eval_fn = _compiled(st, config.n_lrs)
    dt = config.jnp_dtype()
    lrs_host = jnp.asarray(config.lrs(), dt)
    test_host = test_set(config)
    on = {}  # per-device constants: the LR grid and the validation set
    n_blocks = -(-config.seeds // block)
    S = n_blocks * block
    stats = [np.empty((S, config.n_lrs)) for _ in range(3)]
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
            for arr, part in zip(stats, _validation_stats(eval_fn(params, *on[dev][1]))):
                arr[j * block:(j + 1) * block] = part
        if segment_seconds is not None:
            segment_seconds.append(time.perf_counter() - tick)
    loss, se, se_next = (a[:config.seeds].T for a in stats)
    return WidthResult(loss=loss, se=se, se_next=se_next)


FRAME_COLUMNS = ("width", "hp", "loss", "seed", "val_se", "val_se_next")


def sweep_frame(config: ReluSweepConfig, width: int, result: WidthResult):
    """Tidy rows width,hp,loss,seed (hp = log nu) plus the validation standard errors
    val_se, val_se_next (:class:`WidthResult`) for one width."""
    import pandas as pd

    L, S = result.loss.shape
    hp = np.log(config.lrs())
    return pd.DataFrame({
        "width": np.full(L * S, width, dtype=np.int64),
        "hp": np.repeat(hp, S),
        "loss": result.loss.reshape(-1),
        "seed": np.tile(np.arange(S, dtype=np.int64), L),
        "val_se": result.se.reshape(-1),
        "val_se_next": result.se_next.reshape(-1),
    })


# --------------------------------------------------------------------------- store
def store_dir(root, config: ReluSweepConfig) -> Path:
    """ROOT/<study>/<preset>/<param>: where a sweep of ``config`` is kept (SPEC §8)."""
    return Path(root) / config.study / config.preset / config.param


BANK_DIR = Path(__file__).resolve().parent.parent / "results_bank"


def read_store(path) -> tuple:
    """(configuration, tidy frame, provenance) of a finished store or bank folder; the
    configuration's widths are those of the stored cells. Parsed and validated, never
    executed: a missing or malformed file is an :class:`InputError`."""
    import pandas as pd

    path = Path(path)
    try:
        cfg = ReluSweepConfig.from_json_dict(json.loads((path / CONFIG_NAME).read_text(encoding="utf-8")))
        df = pd.read_csv(path / CSV_NAME)
    except (OSError, json.JSONDecodeError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not a relu sweep store ({err})") from None
    missing = {"width", "hp", "loss", "seed"} - set(df.columns)
    if missing:
        raise InputError(f"{path / CSV_NAME}: missing column(s) {sorted(missing)}")
    prov_path = path / PROVENANCE_NAME
    prov = json.loads(prov_path.read_text(encoding="utf-8")) if prov_path.exists() else {}
    return cfg.replace(widths=tuple(sorted(int(w) for w in df.width.unique()))), df, prov


def bank_dir(config: ReluSweepConfig) -> Path | None:
    """The committed results bank's copy of ``config``'s sweep (made on a GPU, see
    benchmarks/relu_paper_gpu.py), or None when the bank has none."""
    path = store_dir(BANK_DIR, config)
    return path if (path / CSV_NAME).exists() else None

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
    atomic_write_json(path, merged, sort_keys=True)


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
          else pd.DataFrame(columns=list(FRAME_COLUMNS)))
    atomic_write_text(out_dir / CSV_NAME, _frame_csv(df))
    return df


def _code_version() -> dict:
    """The code that made a cell: the commit named by the environment variable
    FASTTRANSFER_CODE_VERSION when set (a copy sent to another machine may carry a git
    HEAD other than the code it runs), else this checkout's git commit and whether it
    had uncommitted changes, else "unknown". Recorded with every cell."""
    import subprocess

    named = os.environ.get("FASTTRANSFER_CODE_VERSION")
    if named:
        return {"commit": named, "dirty": None, "source": "FASTTRANSFER_CODE_VERSION"}
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=root, capture_output=True, text=True, timeout=10,
                                    check=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None, "source": "no git checkout"}


def _record_provenance(out_dir: Path, width: int, seconds: float, devices) -> None:
    """Add one finished cell to DIR/provenance.json: when, where, with which code."""
    import datetime
    import platform as _platform

    path = Path(out_dir) / PROVENANCE_NAME
    try:
        prov = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        prov = {}
    devs = list(jax.local_devices() if devices is None else devices)
    prov.setdefault("cells", {})[str(width)] = {
        "seconds": round(seconds, 3),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "devices": sorted({f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devs}),
        "n_devices": len(devs),
        "host": _platform.node(),
        "jax": jax.__version__,
        "code": _code_version(),
    }
    atomic_write_json(path, prov, sort_keys=True)


def run_sweep(config: ReluSweepConfig, out_dir: Path, *, progress: bool = True,
              log: Callable[[str], None] = print, devices=None,
              on_cell: Callable[[int, float, list], None] | None = None):
    """Train every unfinished width cell of ``config`` into the store at ``out_dir`` and
    return the merged DataFrame (width,hp,loss,seed) of ``config.widths``.

    Under ``jax.distributed`` (process_count P > 1) process p takes the widths with
    index = p mod P (largest first, so the expensive cells spread over the processes),
    trains them on its local devices, and process 0 merges after a barrier.
    ``on_cell(width, seconds, segment_seconds)`` is called after each finished cell is
    stored (``segment_seconds`` as in :func:`train_width`).
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
        log(f"relu sweep ({config.study_label()}): reusing finished width(s) {skipped} in {out_dir}")
    for width in todo:
        total = config.steps * config.seeds
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=total, desc=f"{config.study_label()} n={width}", unit="step",
                       unit_scale=True, leave=False, dynamic_ncols=True)
        t0 = time.perf_counter()
        seg_times: list = []
        result = train_width(config, width, devices=devices,
                             progress=(bar.update if bar is not None else None),
                             segment_seconds=seg_times if on_cell is not None else None)
        if bar is not None:
            bar.close()
        atomic_write_text(cell_path(out_dir, width), _frame_csv(sweep_frame(config, width, result)))
        seconds = time.perf_counter() - t0
        _record_provenance(out_dir, width, seconds, devices)
        n_nan = int(np.isnan(result.loss).sum())
        log(f"relu sweep ({config.study_label()}): width {width} done in {seconds:.1f}s"
            f"{f', {n_nan} diverged run(s)' if n_nan else ''}")
        merge_store(out_dir, config.widths)
        if on_cell is not None:
            on_cell(width, seconds, seg_times)
    if n_proc > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices("fasttransfer-relu-sweep-done")
    return merge_store(out_dir, config.widths) if rank == 0 or n_proc == 1 else None

"""The configuration of the width x learning-rate x seed sweep of the two-layer ReLU net
(SPEC §5): :class:`ReluSweepConfig`, the presets ``quick`` / ``cpu`` / ``paper`` per study
(:func:`preset`) and the choices the paper leaves open (:data:`GRID_RATIONALE`).

The engine that trains a configuration is :mod:`simulations.relu_engine`; the store use
(running into and reading from the results store) is :mod:`simulations.sweep`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.simulations import mup, relu_net
from fasttransfer.theory.errors import InputError

SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "tensorfloat32")
# How lr_grid_grads contracts the (L, n, B) activations with a and g: "dot" (einsums:
# measured faster on CPU, where a multiply-then-sum materialised further arrays) or
# "reduce" (elementwise product summed, which XLA fuses with the relu into one pass).
FORMULATIONS = ("dot", "reduce")


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
            raise InputError(f"relu sweep configuration: unknown field(s) {sorted(unknown)}")
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

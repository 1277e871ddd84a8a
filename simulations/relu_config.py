"""The configuration of the width x learning-rate x seed sweep of the two-layer ReLU net
: :class:`ReluSweepConfig`, the presets ``quick`` / ``pilot`` / ``cpu`` / ``paper`` per
study (:func:`preset`), all in the paper's own parametrisation (:data:`PAPER_CHOICES`),
the choices the paper leaves open (:data:`GRID_RATIONALE`) and the sensitivity study
that varies them one at a time (:func:`sensitivity_configs`).

The engine that trains a configuration is :mod:`simulations.relu_engine`; the store use
(running into and reading from the results store) is :mod:`simulations.sweep`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.simulations import mup, relu_net

SCHEDULES = ("constant", "cosine")
READOUT_INITS = relu_net.READOUT_INITS
FIRST_LAYER_INITS = relu_net.FIRST_LAYER_INITS
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
    return center * 2.0**-half, center * 2.0**half


def sqrt2_widths(lo_exp2: float, hi_exp2: float) -> tuple[int, ...]:
    """round(2^(j/2)) for 2 lo_exp2 <= j <= 2 hi_exp2: widths at sqrt(2) spacing
    (181, 256, 362, ... for lo_exp2 = 7.5)."""
    return tuple(
        round(2.0 ** (j / 2))
        for j in range(round(float(2 * lo_exp2)), round(float(2 * hi_exp2)) + 1)
    )


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
    recorded but not part of the store's identity (:meth:`result_key`). So is
    ``pack_neurons``: widths (smallest first) are trained together in one program while
    their sum stays at most this (:mod:`simulations.relu_pack`; 0: one width per
    program), which fills an accelerator at the narrow widths.
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
    base_width: int | None = None
    readout_init: str = "normal"
    first_layer_init: str = "gaussian"
    train_size: int | None = None
    weight_decay: float = 0.0
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
    pack_neurons: int = 0
    xla_options: tuple[tuple[str, str], ...] = ()
    preset: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(
            self, "xla_options", tuple((str(k), str(v)) for k, v in dict(self.xla_options).items())
        )
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
            raise InputError(
                f"matmul_precision must be one of {PRECISIONS}, got {self.matmul_precision!r}"
            )
        for name in (
            "n_lrs",
            "seeds",
            "steps",
            "batch",
            "d",
            "test_size",
            "seed_block",
            "memory_mb",
            "k",
        ):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if int(self.pack_neurons) < 0:
            raise InputError(f"pack_neurons must be >= 0 (0: no packs), got {self.pack_neurons}")
        if self.task == "kindex" and self.k > self.d:
            raise InputError(f"k must be at most d = {self.d}, got {self.k}")
        if not (0 < self.lr_min <= self.lr_max):
            raise InputError(f"need 0 < lr_min <= lr_max, got {self.lr_min}, {self.lr_max}")
        if self.base_width is not None and int(self.base_width) < 1:
            raise InputError(
                f"base_width must be a positive integer or None, got {self.base_width}"
            )
        if not self.out_lr_factor > 0:
            raise InputError(f"out_lr_factor must be positive, got {self.out_lr_factor}")
        if self.readout_init not in READOUT_INITS:
            raise InputError(
                f"readout_init must be one of {READOUT_INITS}, got {self.readout_init!r}"
            )
        if self.first_layer_init not in FIRST_LAYER_INITS:
            raise InputError(
                f"first_layer_init must be one of {FIRST_LAYER_INITS}, "
                f"got {self.first_layer_init!r}"
            )
        if self.train_size is not None and int(self.train_size) < self.batch:
            raise InputError(
                f"train_size must be None (fresh batches) or at least the "
                f"batch ({self.batch}), got {self.train_size}"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise InputError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")

    def lrs(self) -> np.ndarray:
        """The scale-free learning rates nu, shape (n_lrs,), log-spaced."""
        return np.exp(np.linspace(math.log(self.lr_min), math.log(self.lr_max), self.n_lrs))

    def task_spec(self) -> relu_net.Task:
        return relu_net.Task(name=self.task, d=self.d, k=self.k, radius=self.radius)

    @classmethod
    def from_preset(
        cls, name: str, param: str = "mup", study: str = "relu", **overrides
    ) -> ReluSweepConfig:
        """The preset ``name`` of ``study`` in parametrisation ``param`` (the presets and
        why they are what they are: :func:`_preset`), with ``overrides``."""
        cfg = _preset(name, param, study)
        return cfg.replace(**overrides) if overrides else cfg

    def replace(self, **changes) -> ReluSweepConfig:
        return dataclasses.replace(self, **changes)

    def to_json_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        out["xla_options"] = [list(kv) for kv in self.xla_options]
        return out

    def result_key(self) -> dict:
        """Every field that changes a number beyond rounding: all but the widths (the
        cells), the engine knobs (blocking, packs, formulation, compiler options: float rounding
        at most) and the preset's label."""
        out = self.to_json_dict()
        engine = ("seed_block", "memory_mb", "formulation", "pack_neurons", "xla_options")
        for name in ("widths", *engine, "preset"):
            out.pop(name)
        return out

    @property
    def study(self) -> str:
        """The study of :data:`STUDIES` this configuration belongs to."""
        if self.task == "ball":
            return "relu"
        return "kindex" if self.out_lr_factor == 1 else "kindex-layerwise"

    def variant(self) -> str:
        """The choices that differ from the paper's reading (:data:`PAPER_CHOICES`), as
        "name-value" tokens joined by "__" ("" for the paper's parametrisation), e.g.
        "base_width-128" or "readout_init-zero__weight_decay-0.01"."""
        paper = dict(PAPER_CHOICES, loss=TASK_LOSS[self.task])
        return "__".join(
            f"{name}-{getattr(self, name)}" for name in paper if getattr(self, name) != paper[name]
        )

    def store_key(self) -> str:
        """The entry's last path part under <study>/<preset>/: the parametrisation
        ("mup", "sp") followed by its :meth:`variant`, e.g. "mup__base_width-128"."""
        v = self.variant()
        return self.param if not v else f"{self.param}__{v}"

    def study_label(self) -> str:
        """e.g. "relu/paper/mup" or "kindex-layerwise/cpu/mup__base_width-128"."""
        return f"{self.study}/{self.preset}/{self.store_key()}"

    def describe(self) -> str:
        """One paragraph: the setting in words, for reports and figure captions."""
        t = self.task_spec()
        if self.task == "ball":
            target = (
                f"x ~ N(0, I_{self.d}), y = 1{{|x|^2 > r^2}}, r^2 = median of "
                f"chi^2_{self.d} = {t.target_radius() ** 2:.3f}"
            )
        else:
            target = (
                f"x ~ N(0, (4/{self.d}) I_{self.d}), y = sqrt(({self.d}/(4*{self.k})) "
                f"sum_{{i<={self.k}}} x_i^2)"
            )
        lrs = self.lrs()
        step = math.log2(lrs[1] / lrs[0]) if len(lrs) > 1 else float("nan")
        return (
            f"preset {self.preset}: {target}; {self.loss} loss; two-layer ReLU net with "
            f"biases; {self.parametrisation()}; Adam b1={self.b1}, b2={self.b2}, "
            f"eps={self.eps:g}; batch {self.batch}, {self.steps} steps; "
            f"{self.n_lrs} LRs in [{self.lr_min:.3g}, {self.lr_max:.3g}] "
            f"({step:.2f} octave spacing); {self.seeds} seed(s) with common random "
            f"numbers; widths {list(self.widths)}; fixed validation set of "
            f"{self.test_size} points; {self.dtype}."
        )

    def parametrisation(self) -> str:
        """The parametrisation and every choice the paper leaves unstated, in words
        (named in reports beside every row)."""
        if self.param == "sp":
            head = "standard parametrisation (a_i ~ N(0, 1/n), output multiplier 1, one LR)"
        elif self.base_width is None:
            head = (
                "the paper's muP: mean-field readout 1/n, a_i ~ N(0, 1), one Adam LR "
                "for both layers"
            )
        else:
            head = (
                f"muP with base width {self.base_width} (variant): readout 1/n, "
                f"a_i ~ N(0, {self.base_width}), the output layer's LR x {self.base_width}"
            )
        if self.out_lr_factor != 1:
            head += f", second-layer LR x {self.out_lr_factor:g}"
        data = (
            "fresh batches"
            if self.train_size is None
            else f"a fixed training set of {self.train_size} points (batches drawn with "
            "replacement)"
        )
        first = (
            "Gaussian first layer (W ~ N(0, 1/d), b ~ N(0, s_x^2))"
            if self.first_layer_init == "gaussian"
            else "PyTorch-default first layer (W, b ~ U(+-1/sqrt(d)))"
        )
        readout = "a_i Gaussian" if self.readout_init == "normal" else "a_i = 0 at init"
        decay = "no weight decay" if not self.weight_decay else f"AdamW decay {self.weight_decay:g}"
        return f"{head}; {first}; {readout}; {data}; {decay}; {self.schedule} LR"

    @classmethod
    def from_json_dict(cls, data: dict) -> ReluSweepConfig:
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


PRESETS: tuple[str, ...] = ("quick", "pilot", "cpu", "paper")
# The paper's reading of the choices it leaves unstated (its Figure 2 caption: "default
# muP implementation with the same learning rate for the first- and second-layer
# parameters"): mean-field muP with no base-width constant, a_i ~ N(0, 1), Gaussian
# first layer, online batches, plain Adam, constant LR. Any other value is a named
# variant (ReluSweepConfig.variant), stored under its own entry.
PAPER_CHOICES: dict = {
    "base_width": None,
    "readout_init": "normal",
    "first_layer_init": "gaussian",
    "train_size": None,
    "weight_decay": 0.0,
    "schedule": "constant",
}
TASK_LOSS: dict = {"ball": "bce", "kindex": "squared"}
# The paper presets run on a GPU, where one narrow width is too small a product to fill
# the chip: the widths below this many neurons in all are trained as packs
# (simulations.relu_pack). On an H100 a single width ran at 56-68% of the float32 GEMM
# peak from n = 1448 on and was launch-bound below (docs/benchmarks.md); 4096 packs the
# narrow widths up to 1024 (181..1024: 3059 neurons; 128..1024: 3187), then 1448 + 2048,
# and leaves the widths from 2896 on alone.
PAPER_PACK_NEURONS = 4096
STUDIES: tuple[str, ...] = ("relu", "kindex", "kindex-layerwise")


def log2_grid(lo_exp2: float, hi_exp2: float, per_octave: int) -> dict:
    """{lr_min, lr_max, n_lrs} of the grid 2^lo_exp2 .. 2^hi_exp2 at ``per_octave``
    points per factor 2 (both ends on the grid)."""
    n = round(float((hi_exp2 - lo_exp2) * per_octave)) + 1
    return dict(lr_min=2.0**lo_exp2, lr_max=2.0**hi_exp2, n_lrs=n)


def _preset(name: str, param: str = "mup", study: str = "relu") -> ReluSweepConfig:
    """The presets of one ``study``, all in the paper's parametrisation
    (:data:`PAPER_CHOICES`: one Adam learning rate nu for both layers, a_i ~ N(0, 1),
    readout 1/n; the LR units are the paper's):

    ``relu``: the paper's ReLU counterexample (its Figure 5): d = 64, y = 1{|x|^2 >
    median}, BCE, batch 256, Adam; ``paper`` = T = 2^14 steps, the paper's 14 widths
    181..16384 at sqrt(2) spacing, 4 seeds, a quarter-octave grid 2^-11.5 .. 2^-4 (the
    paper's 4e-4 .. 1.7e-2, widened to the right where our optimum sits), float32 (a
    GPU); ``pilot`` = every parameter of ``paper`` at its two smallest widths an octave
    apart (181, 362): the paper's own experiment, compared with its figures per width
    (~15 minutes on 2 cores); ``cpu`` = the same d, loss, label, batch and grid spacing
    with fewer steps and widths (reduced regime); ``quick`` = a smoke run.
    ``kindex``: the Gaussian k-index model of the paper's Figure 2 (k = 15, d = 64,
    squared loss, batch 256; ``paper`` = T = 2^14, 15 widths 128..16384, 3 seeds (the
    paper's figures carry seed bands; its other experiments average 3 seeds), a
    half-octave grid 2^-12 .. 2^3 (the paper's 2.7e-4 .. 0.9 tied and 1.3e-3 .. 5.8
    layer-wise, both modes and the layer-wise optimum); ``pilot`` = the same at its three
    smallest widths 128, 181, 256, ~11 minutes on 2 cores).
    ``kindex-layerwise``: the same with the second layer's LR divided by 50.
    Why the grids sit where they do: :data:`GRID_RATIONALE`.
    """
    if study not in STUDIES:
        raise InputError(f"study must be one of {STUDIES}, got {study!r}")
    if name not in PRESETS:
        raise InputError(f"preset must be one of {PRESETS}, got {name!r}")
    common = dict(d=64, batch=256, b1=0.9, b2=0.999, eps=1e-8, preset=name, **PAPER_CHOICES)
    if study == "relu":
        common.update(task="ball", loss="bce")
        paper_grid = log2_grid(-11.5, -4.0, 4)
        table = {
            "paper": dict(
                widths=sqrt2_widths(7.5, 14),
                steps=2**14,
                seeds=4,
                test_size=2**18,
                dtype="float32",
                seed_block=4,
                memory_mb=32768,
                pack_neurons=PAPER_PACK_NEURONS,
                **paper_grid,
            ),
            "pilot": dict(
                widths=(181, 362),
                steps=2**14,
                seeds=4,
                test_size=2**18,
                dtype="float32",
                **paper_grid,
            ),
            "cpu": dict(
                widths=sqrt2_widths(7, 9.5),
                steps=2**11,
                seeds=4,
                test_size=2**15,
                dtype="float32",
                **log2_grid(*CPU_GRIDS["relu"], 4),
            ),
            "quick": dict(
                widths=sqrt2_widths(6, 8),
                steps=2**9,
                seeds=2,
                test_size=2**13,
                dtype="float32",
                **log2_grid(*QUICK_GRIDS["relu"], 4),
            ),
        }
    else:
        common.update(
            task="kindex",
            loss="squared",
            k=15,
            out_lr_factor=1.0 if study == "kindex" else 1.0 / 50.0,
        )
        paper_grid = log2_grid(-12.0, 3.0, 2)
        table = {
            "paper": dict(
                widths=sqrt2_widths(7, 14),
                steps=2**14,
                seeds=3,
                test_size=2**16,
                dtype="float32",
                seed_block=4,
                memory_mb=32768,
                pack_neurons=PAPER_PACK_NEURONS,
                **paper_grid,
            ),
            "pilot": dict(
                widths=(128, 181, 256),
                steps=2**14,
                seeds=3,
                test_size=2**16,
                dtype="float32",
                **paper_grid,
            ),
            "cpu": dict(
                widths=sqrt2_widths(7, 9),
                steps=2**11,
                seeds=2,
                test_size=2**14,
                dtype="float32",
                **log2_grid(*CPU_GRIDS[study], 2),
            ),
            "quick": dict(
                widths=(64, 128),
                steps=2**8,
                seeds=1,
                test_size=2**12,
                dtype="float32",
                **log2_grid(*QUICK_GRIDS[study], 2),
            ),
        }
    cfg = ReluSweepConfig(**common, **table[name])
    if param == "sp":
        # the SP optimum moves like a power of n (a factor ~n over the widths): a
        # half-octave grid reaching far below the muP grid, fewer seeds (only the drift
        # is measured there)
        lo_sp = cfg.lr_min / max(cfg.widths)
        cfg = cfg.replace(
            lr_min=lo_sp,
            n_lrs=math.ceil(2 * math.log2(cfg.lr_max / lo_sp)) + 1,
            seeds=min(cfg.seeds, 2),
        )
    return cfg.replace(param=param)


# log2 ranges of the reduced presets' grids (GRID_RATIONALE says where they come from)
CPU_GRIDS = {"relu": (-7.5, -2.5), "kindex": (-10.0, 1.0), "kindex-layerwise": (-10.0, 1.0)}
QUICK_GRIDS = {"relu": (-6.0, -1.0), "kindex": (-7.0, 2.0), "kindex-layerwise": (-7.0, 2.0)}

# The sensitivity study of the pilot: each unstated choice changed alone, at the pilot's
# narrowest width with its first two seeds (paired with the pilot's own seeds 0 and 1:
# same initial draws and batches wherever the choice leaves them alone).
# name -> the fields it changes; train_size 2^16 = 64 passes over the set in T = 2^14
# steps of 256 (our choice: the paper states none); weight decay 0.01 is AdamW's
# default in PyTorch.
SENSITIVITY: dict = {
    "base_width-128": dict(base_width=128),
    "readout_init-zero": dict(readout_init="zero"),
    "first_layer_init-torch": dict(first_layer_init="torch"),
    "loss-half_squared": dict(loss="half_squared"),
    "train_size-65536": dict(train_size=2**16),
    "weight_decay-0.01": dict(weight_decay=0.01),
    "schedule-cosine": dict(schedule="cosine"),
}
SENSITIVITY_SEEDS = 2


def sensitivity_configs(study: str) -> dict:
    """{name: the pilot of ``study`` at its narrowest width, SENSITIVITY_SEEDS seeds, with
    one choice of :data:`SENSITIVITY` changed} (the half-squared loss only where the
    loss is squared)."""
    base = ReluSweepConfig.from_preset("pilot", "mup", study)
    base = base.replace(widths=(min(base.widths),), seeds=SENSITIVITY_SEEDS)
    return {
        name: base.replace(**change)
        for name, change in SENSITIVITY.items()
        if not (name.startswith("loss-") and base.loss != "squared")
    }


# The choices the paper leaves open, made before any paper-scale run (one item each).
UNSTATED_CHOICES: tuple[str, ...] = (
    "Parametrisation: the paper's own words for its Figure 2, \"default muP "
    "implementation with the same learning rate for the first- and second-layer "
    'parameters": mean-field muP (f = (1/n) sum_i a_i relu(<w_i, x> + b_i), a_i ~ '
    "N(0, 1)) with one Adam LR nu for every parameter (the layer-wise variant divides "
    "the second layer's by 50). Our earlier convention, a base width n0 = 128 on the "
    "output layer (a_i ~ N(0, 128), its LR x 128), is the variant base_width=128; the "
    "bank keeps its paper-scale runs as that variant.",
    "Adam b1 = 0.9, b2 = 0.999, eps = 1e-8 (PyTorch's defaults), constant LR, no "
    "warm-up, no weight decay; Gaussian first layer (W ~ N(0, 1/d), bias std = the "
    "std of <w_i, x>); fresh batches every step (online); a fixed validation set "
    "(2^18 points at the paper preset for the ReLU net, 2^16 for the k-index model: "
    "the paired standard error of the difference between neighbouring LRs is stored "
    "per cell as val_se_next). Each of these is a field (readout_init, "
    "first_layer_init, train_size, weight_decay, schedule, loss half_squared), varied "
    "one at a time by the pilots' sensitivity study.",
    "Seeds: 4 (ReLU counterexample) and 3 (k-index model) with common random numbers: "
    "the paper's figures carry seed bands and its other experiments average 3 seeds.",
)
# Where the grids sit, in the paper's LR units (one item per preset family).
GRID_POSITIONS: tuple[str, ...] = (
    "ReLU/BCE, paper and pilot: quarter-octave 2^-11.5 .. 2^-4 (31 points), the "
    "paper's Figure 5a grid 4e-4 .. 1.7e-2 widened to the right, where a first CPU "
    "pilot in this parametrisation (n = 181, T = 2^14) put the optimum (near 2^-6.5) "
    "on a flat right side (0.212 .. 0.226 up to 2^-4).",
    "k-index/squared, paper and pilot: half-octave 2^-12 .. 2^3 (31 points), covering "
    "the paper's Figure 2 grids (2.7e-4 .. 0.9 tied, 1.3e-3 .. 5.8 with the "
    "second-layer LR / 50).",
    "Reduced presets, one-seed CPU explorations at their T (half-octave grids 2^-10 "
    ".. 2^-1 for the ReLU net, 2^-12 .. 2^2 for the k-index model): ReLU T = 2^9 "
    "optimum 2^-3.5 at n = 64 and 256 (quick grid 2^-6 .. 2^-1), T = 2^11 2^-5 (n = "
    "128) and 2^-4.5 (n = 724) (cpu grid 2^-7.5 .. 2^-2.5); k-index T = 2^8 tied 2^-2 "
    "/ 2^-3 (n = 64 / 128), LR / 50 2^-1 (quick grid 2^-7 .. 2^2); T = 2^11 tied "
    "2^-4, LR / 50 2^-4 / 2^-3 (n = 128 / 512) (cpu grid 2^-10 .. 2^1).",
)
GRID_RATIONALE = (
    "Choices the paper leaves open, made before any paper-scale run:\n"
    + "".join(f"- {c}\n" for c in UNSTATED_CHOICES)
    + "Grid positions, in the paper's LR units:\n"
    + "".join(f"- {g}\n" for g in GRID_POSITIONS)
)

"""The sample-wise decomposition of the paper's Section 4.2.3: which components of the
alignment spectrum each training sample is learned through.

Along the EMA trajectory wbar_t of one run, at consecutive record times a < b (the
recorder's schedule, :func:`simulations.recorder.record_times`), for each weight matrix
W with gradient G = grad phi(wbar_a) of the evaluation loss and EMA update
dW = wbar_b - wbar_a (the recorder's left rule), let u_1, u_2, ... be the eigenvectors of
the alignment matrix S(G, dW) (:mod:`simulations.alignment`, the same orientation
``side``), ordered by |lambda_j| descending (ties: lambda ascending). For sample i of the
P evaluation samples, with per-sample gradient G_i (phi = (1/P) sum_i loss_i):

    (d psi)_ij = u_j^T G_i^T dW u_j,

so that (1/P) sum_i (d psi)_ij = u_j^T S u_j = lambda_j: the samples split each
component's loss change. psi_ij sums (d psi)_ij over the record intervals and the matrix
layers (component j of every layer adds into index j). The Mean Component Index is

    MCI_i = sum_j j p_ij,    p_ij = |psi_ij| / sum_k |psi_ik|,    in [1, r],

r the number of components kept: the rank bound min(n, 2m) of S per layer (m, n the
oriented shape), the largest over layers. Nothing is lost beyond the rank bound: there
the eigenvectors u are orthogonal to the rows of dW (when 2m < n they span the
complement of the rows of G and dW), so dW u = 0 and (d psi)_ij = 0; hence
sum_j psi_ij = sum over the intervals of <G_i, dW> exactly (a test). Vector parameters
(none in the bias-free SGD MLP) are not decomposed.

Shapes: ``psi`` (P, r); ``mci`` (P,).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.theory.mci import SETTING, STUDY, extremes, mci

__all__ = [
    "SamplewiseConfig",
    "component_changes",
    "run_one",
    "sample_psi",
    "simulate",
]


def component_changes(G_i, G, dW):
    """(d psi) (P, r) of one oriented layer: G_i (P, m, n) per-sample gradients, G (m, n)
    their mean, dW (m, n)."""
    import jax.numpy as jnp

    from fasttransfer.simulations.alignment import alignment_eigenvectors

    _, U = alignment_eigenvectors(G, dW)
    return jnp.einsum("pmn,nr,mr->pr", G_i, U, dW @ U)  # u_j^T G_i^T dW u_j


def _oriented(x, side: str):
    """x (..., m, n) turned so that S acts on the last axis (:func:`alignment.transposed`)."""
    from fasttransfer.simulations.alignment import transposed

    return x.swapaxes(-1, -2) if transposed(*x.shape[-2:], side) else x


def sample_psi(sample_loss, params_path: Any, times, x, y, *, side: str = "auto"):
    """psi (P, r) of one run (module docstring).

    sample_loss(params, x_i, y_i) -> scalar: one sample's loss (x_i: one input, y_i: its
    label); ``params_path``: the EMA parameters at t = 0..T stacked on a leading axis (a
    dict of arrays (T+1, ...); :func:`simulations.topk_training.ema_path`); ``times``: the
    record times t_1 < ... < t_R = T (t_0 = 0 is prepended); x (P, ...), y (P,): the
    evaluation samples (phi = their mean loss). Matrix leaves (ndim 2) are decomposed;
    other leaves are refused (the sample-wise split is defined for matrices)."""
    import jax
    import jax.numpy as jnp

    names = sorted(params_path)
    bad = [k for k in names if params_path[k].ndim != 3]
    if bad:
        raise InputError(
            f"sample_psi decomposes matrix parameters only; got {bad}", param="params_path"
        )
    times = np.concatenate([[0], np.asarray(times, dtype=np.int64)])
    if np.any(np.diff(times) <= 0) or times[-1] >= next(iter(params_path.values())).shape[0]:
        raise InputError("times must increase and lie within the path", param="times")
    ranks = {}
    for k in names:
        m, n = _oriented(np.empty(params_path[k].shape[1:]), side).shape  # shape only
        ranks[k] = min(n, 2 * m)
    r = max(ranks.values())

    per_sample = jax.vmap(jax.grad(sample_loss), in_axes=(None, 0, 0))

    def interval(acc, ab):  # acc: psi so far (P, r)
        a, b = ab
        wa = {k: params_path[k][a] for k in names}
        G_i = per_sample(wa, x, y)  # {k: (P, m, n)}
        for k in names:
            gi = _oriented(G_i[k], side)
            dW = _oriented(params_path[k][b] - wa[k], side)
            acc = acc.at[:, : ranks[k]].add(component_changes(gi, gi.mean(axis=0), dW))
        return acc, None

    dtype = next(iter(params_path.values())).dtype
    pairs = (jnp.asarray(times[:-1]), jnp.asarray(times[1:]))
    psi, _ = jax.lax.scan(interval, jnp.zeros((x.shape[0], r), dtype), pairs)
    return psi


# --------------------------------------------------------------------------- the study
# The code the stored numbers depend on (the results store's code version).
CODE_MODULES = (
    "fasttransfer.simulations.samplewise",
    "fasttransfer.simulations.topk_training",
    "fasttransfer.simulations.recorder",
    "fasttransfer.simulations.mlp_sgd",
    "fasttransfer.simulations.mlp_mnist1d",
    "fasttransfer.simulations.mup",
    "fasttransfer.theory.mci",
)


@dataclass(frozen=True)
class SamplewiseConfig:
    """The sample-wise study on the bias-free SGD MLP (:mod:`simulations.mlp_sgd`): one
    run per (width, seed) at ONE learning rate nu for every width (the transfer
    scenario), the setting's own preset for everything else (``base``: its preset name),
    the recorder's schedule and EMA (:func:`simulations.topk_training.recorder_config`).
    ``frac``: the share of samples called easiest / hardest by MCI; ``n_show``: how many
    of each kind are kept with their psi over the first ``k_show`` components.

    Presets (:meth:`from_preset`): ``quick`` (widths 32, 64; 2 seeds; 60 steps; CI-sized) and
    ``cpu`` (the SGD MLP's cpu preset: widths 32..256, batch 512, 25 epochs; 4 seeds; nu =
    10^-0.625, the grid point nearest the last iterate's optimum at every width of the
    plain sweeps in docs/mlp_drift.md, ln nu* from -1.48 to -1.18)."""

    base: str = "quick"
    widths: tuple[int, ...] = (32, 64)
    seeds: tuple[int, ...] = (0, 1)
    lr: float = 10**-0.625
    steps: int | None = 60
    dtype: str = "float32"
    frac: float = 0.05
    n_show: int = 3
    k_show: int = 50

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1 or len(set(self.widths)) != len(self.widths):
            raise InputError(
                f"widths must be distinct positive integers, got {self.widths}", param="widths"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"seeds must be distinct, got {self.seeds}", param="seeds")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr}", param="lr")
        if not 0 < self.frac <= 0.5 or self.n_show < 1 or self.k_show < 1:
            raise InputError("frac must lie in (0, 0.5], n_show and k_show >= 1", param="frac")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> SamplewiseConfig:
        if name == "quick":
            cfg = cls()
        elif name == "cpu":
            cfg = cls(base="cpu", widths=(32, 64, 128, 256), seeds=(0, 1, 2, 3), steps=None)
        else:
            raise InputError(f"preset must be 'quick' or 'cpu', got {name!r}", param="preset")
        return replace(cfg, **overrides)

    def setting(self):
        """The SGD MLP configuration the runs use (its ``base`` preset; ``steps`` when
        given; this study's dtype)."""
        from fasttransfer.simulations.mlp_sgd import SGDMLPConfig

        over = {"dtype": self.dtype, "widths": self.widths}
        if self.steps is not None:
            over["steps"] = int(self.steps)
        return SGDMLPConfig.from_preset(self.base, **over)


def run_one(cfg: SamplewiseConfig, width: int, seed: int):
    """psi (P, r) of one (width, seed) run and the evaluation samples (x (P, 40), y (P,))."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations.dtypes import jax_dtype
    from fasttransfer.simulations.mlp_mnist1d import data
    from fasttransfer.simulations.mlp_sgd import loss_fn, problem
    from fasttransfer.simulations.recorder import TrajectoryRecorder, record_times
    from fasttransfer.simulations.topk_training import ema_path, recorder_config

    setting = cfg.setting()
    prob = problem(width, setting)
    rc = recorder_config(setting)
    rec = TrajectoryRecorder(prob.eval_loss, rc)
    _, (x, y) = data(setting, jax_dtype(setting.dtype))
    times = record_times(rc.every, setting.steps)

    def one(lr):
        path = ema_path(prob, lr, seed, steps=setting.steps, recorder=rec)
        return sample_psi(
            lambda p, xi, yi: loss_fn(p, xi[None], yi[None]), path, times, x, y, side=rc.side
        )

    psi = jax.jit(one)(jnp.asarray(cfg.lr, jax_dtype(setting.dtype)))
    return np.asarray(psi, dtype=np.float64), np.asarray(x), np.asarray(y)


def simulate(
    root,
    preset: str,
    cfg: SamplewiseConfig | None = None,
    *,
    recompute: bool = False,
    progress: bool = True,
) -> dict:
    """Run (or reuse) the study in its store entry ``ROOT/samplewise/<preset>/mlp_sgd/``:
    ``mci.csv`` (width, seed, sample, mci, label), ``extremes.csv`` (width, seed, kind
    easy|hard, rank, sample, j, psi: the ``n_show`` lowest / highest-MCI samples with
    psi_ij, j = 1..k_show) and ``signals.csv`` (sample, label, x0..x39: those samples'
    inputs, for drawing). Returns {"mci", "extremes", "signals", "config", "source"}."""
    import pandas as pd
    from tqdm import tqdm

    from fasttransfer import store

    cfg = SamplewiseConfig.from_preset(preset) if cfg is None else cfg

    def run(entry) -> dict:
        rows, ext, shown = [], [], {}
        cells = [(w, s) for w in cfg.widths for s in cfg.seeds]
        for width, seed in tqdm(cells, desc="samplewise", disable=None if progress else True):
            psi, x, y = run_one(cfg, width, seed)
            m = mci(psi)
            rows.append(
                pd.DataFrame(
                    {
                        "width": width,
                        "seed": seed,
                        "sample": np.arange(len(m)),
                        "mci": m,
                        "label": y,
                    }
                )
            )
            low, high = extremes(m, cfg.n_show / len(m))
            for kind, idx in (
                ("easy", low[np.argsort(m[low])]),
                ("hard", high[np.argsort(-m[high])]),
            ):
                for rank, i in enumerate(idx[: cfg.n_show]):
                    k = min(cfg.k_show, psi.shape[1])
                    ext.append(
                        pd.DataFrame(
                            {
                                "width": width,
                                "seed": seed,
                                "kind": kind,
                                "rank": rank,
                                "sample": int(i),
                                "j": np.arange(1, k + 1),
                                "psi": psi[i, :k],
                            }
                        )
                    )
                    shown[int(i)] = (int(y[i]), x[i])
        entry.write_csv("mci.csv", pd.concat(rows, ignore_index=True), float_format="%.10g")
        entry.write_csv("extremes.csv", pd.concat(ext, ignore_index=True), float_format="%.10g")
        sig = pd.DataFrame(
            [[i, lab, *xs] for i, (lab, xs) in sorted(shown.items())],
            columns=["sample", "label", *[f"x{t}" for t in range(x.shape[1])]],
        )
        entry.write_csv("signals.csv", sig, float_format="%.10g")
        return {"samples": len(y)}

    # the setting's fields that the runs use (its own grid and seeds are not)
    used = {k: v for k, v in asdict(cfg.setting()).items() if k not in ("lrs", "seeds")}
    config = {"setting": SETTING, **asdict(cfg), "setting_config": used}
    entry = store.reuse_or_run(
        root,
        STUDY,
        preset,
        SETTING,
        config=config,
        modules=CODE_MODULES,
        run=run,
        recompute=recompute,
    )
    return {
        "mci": entry.read_csv("mci.csv"),
        "extremes": entry.read_csv("extremes.csv"),
        "signals": entry.read_csv("signals.csv"),
        "config": cfg,
        "source": entry.describe(),
    }

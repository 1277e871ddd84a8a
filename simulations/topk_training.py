"""Training under the recorder (the paper's Section 4.1): a setting as a :class:`Problem`,
optax Adam with per-parameter muP learning-rate multipliers, sweeps over learning rates and
seeds, the tidy top-k / residual frames, faithfulness and the EMA trade-off; the ReLU
setting.

Summing the records of :mod:`simulations.recorder` over layers and intervals splits the
loss curve:

    phi^k(t_r)  = phi(wbar_0) + sum_{r' <= r} sum_W sum_{i <= k} lambda_i   (top-k loss)
    phi^-k(t_r) =               sum_{r' <= r} sum_W sum_{i >  k} lambda_i   (residual)

and phi^k + phi^-k = phi(wbar_0) + sum <G, dW> = phi_lin, the running sum of linearised
changes. Faithfulness: phi_lin(t_r) against phi(wbar_{t_r}), the loss along the EMA
trajectory; the relative error is max_r |phi_lin - phi| / (phi(wbar_0) - min_r phi)
(normalised by the total decrease, the quantity being decomposed; normalising by phi
itself would flatter it).

An interval of tau > 1 steps (the paper's subsampling schedule, :mod:`simulations.recorder`)
linearises over tau steps of the EMA trajectory instead of one. The EMA makes that
trajectory smooth (its per-step change is (1 - beta) x the distance to the raw iterate, so
Adam's oscillations at large learning rates are averaged out); the faithfulness error
measures whether the coarser linearisation is still accurate, and
``fasttransfer/checks/topk.py`` reports it per setting. A constant EMA factor trades
smoothness (linearisation error falls as beta -> 1) against lag (phi(wbar_T) moves away
from the raw final loss phi(w_T)); ``ema_tradeoff`` measures both on a grid of beta;
``variant_effects`` measures how much our variants (trapezoid rule, constant decay,
decomposed vectors, every-step records) change the published decomposition's results.

Optimiser: the problem's optax direction (Adam unless the problem names another, e.g.
SGD with momentum or Muon) times -s_t nu lr_mult[leaf] (s_t: the problem's learning-rate
schedule): H_n = nu * multiplier per parameter, the muP rules of :mod:`simulations.mup`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from fasttransfer.simulations.recorder import (
    RecorderConfig,
    RecorderFields,
    TrajectoryRecorder,
    record_times,
    scan_recorded,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Problem",
    "ReluTopkConfig",
    "default_variants",
    "ema_path",
    "ema_tradeoff",
    "faithfulness",
    "final_losses",
    "recorder_config",
    "relu_problem",
    "run_width",
    "sweep_fn",
    "tidy_results",
    "train",
    "train_with_ema",
    "variant_effects",
]


class Problem(NamedTuple):
    """One width of a setting, as pure functions (width fixed, shapes static).

    init(key) -> params; batch(key) -> training batch; loss(params, batch) -> scalar;
    eval_loss(params) -> scalar (the fixed evaluation loss); lr_mult: pytree like params
    of per-leaf learning-rate multipliers (the muP rule: H_n = nu * multiplier).

    direction: the optimiser WITHOUT its learning rate, an optax GradientTransformation
    whose update is the step direction (None: optax's Adam, b = (0.9, 0.999), eps = 1e-8;
    e.g. ``optax.trace(0.9)`` for SGD with momentum, or Muon on the hidden matrices as in
    :func:`simulations.transformer.muon_direction`);
    schedule: t -> learning-rate factor s_t at step t = 0, 1, ... (None: constant 1; e.g.
    warmup-stable-decay). Step of leaf p: p <- p - s_t nu lr_mult[p] direction_t(p)."""

    init: Callable
    batch: Callable
    loss: Callable
    eval_loss: Callable
    lr_mult: Any
    direction: Any = None
    schedule: Callable | None = None


def _direction(problem: Problem):
    """The problem's optimiser direction (no learning rate: the step -s_t nu lr_mult[leaf]
    is applied per leaf by :func:`_stepper`); optax's Adam when the problem names none."""
    import optax

    return problem.direction if problem.direction is not None else optax.scale_by_adam()


def _stepper(problem: Problem, lr, seed):
    """(carry0, step): the training step ``step(carry) -> carry`` on the carry
    (params, optax state, step count t) and its initial value, for one learning rate nu
    (``lr``, may be traced) and seed.

    Common random numbers: k_init, k_data = split(PRNGKey(seed)); params_0 =
    init(k_init) and batch t = batch(fold_in(k_data, t)), for every learning rate.
    Update of leaf p: p <- p - (s_t nu lr_mult[p]) direction_t(p), in p's dtype
    (:class:`Problem`)."""
    import jax
    import jax.numpy as jnp

    tx = _direction(problem)
    lr = jnp.asarray(lr)
    k_init, k_data = jax.random.split(jax.random.PRNGKey(seed))
    params = problem.init(k_init)

    def step(carry):
        params, opt_state, t = carry
        batch = problem.batch(jax.random.fold_in(k_data, t))
        g = jax.grad(problem.loss)(params, batch)
        # optax's bias correction raises a Python float to its int32 step count: allowed
        # under standard promotion only (the tests run with strict promotion); the
        # direction keeps the parameters' dtype
        with jax.numpy_dtype_promotion("standard"):
            direction, opt_state = tx.update(g, opt_state, params)
        rate = lr if problem.schedule is None else lr * problem.schedule(t).astype(lr.dtype)

        def leaf_update(p, d, mult):
            return p - (rate.astype(p.dtype) * mult.astype(p.dtype)) * d

        params = jax.tree_util.tree_map(leaf_update, params, direction, problem.lr_mult)
        return params, opt_state, t + 1

    return (params, tx.init(params), jnp.zeros((), jnp.int32)), step


def _ema_scan(problem: Problem, lr, seed, *, steps: int, recorders, betas, emit: bool):
    """The one training-with-EMA scan: (final carry, the recorders' final states, and
    with ``emit`` the first recorder's EMA after every step, stacked (steps, ...))."""
    import jax

    betas = (None,) * len(recorders) if betas is None else tuple(betas)
    carry0, step = _stepper(problem, lr, seed)

    def body(c, _):
        carry, states = c
        carry = step(carry)
        states = tuple(r.ema_update(st, carry[0]) for r, st in zip(recorders, states, strict=False))
        return (carry, states), (states[0].ema if emit else None)

    states0 = tuple(r.ema_state(carry0[0], b) for r, b in zip(recorders, betas, strict=False))
    (carry, states), path = jax.lax.scan(body, (carry0, states0), None, length=int(steps))
    return carry0, carry, states, path


def train_with_ema(problem: Problem, lr, seed, *, steps: int, recorders, betas=None):
    """Plain training (the steps of :func:`train`) carrying one EMA per recorder in
    ``recorders`` (:meth:`TrajectoryRecorder.ema_update` every step; no records, no
    spectra). betas: None or one per recorder (a traced constant decay, or None under the
    warm-up). Returns (final carry (params, optax state, t), tuple of the final
    :class:`RecorderState` per recorder: ``.ema`` is wbar_T). jit- and vmap-able."""
    _, carry, states, _ = _ema_scan(
        problem, lr, seed, steps=steps, recorders=recorders, betas=betas, emit=False
    )
    return carry, states


def ema_path(problem: Problem, lr, seed, *, steps: int, recorder):
    """The EMA point at every step: a pytree like the parameters with a leading axis of
    length steps + 1 (wbar_0 = w_0, ..., wbar_T), along the training of :func:`train`
    with ``recorder``'s EMA (the scan of :func:`train_with_ema`). For analyses that need
    the trajectory itself (the sample-wise decomposition); jit-able."""
    import jax
    import jax.numpy as jnp

    carry0, _, _, path = _ema_scan(
        problem, lr, seed, steps=steps, recorders=(recorder,), betas=None, emit=True
    )
    return jax.tree_util.tree_map(lambda w0, w: jnp.concatenate([w0[None], w]), carry0[0], path)


def train(problem: Problem, lr, seed, *, steps: int):
    """Parameters after ``steps`` optimiser steps at learning rate nu = ``lr`` (plain
    training, no recorder; jit- and vmap-able in lr and seed)."""
    import jax

    carry0, step = _stepper(problem, lr, seed)
    carry, _ = jax.lax.scan(lambda c, _: (step(c), None), carry0, None, length=steps)
    return carry[0]


def _trainer(problem: Problem, config: RecorderConfig, steps: int):
    """one(lr, seed, beta) -> (loss0, Record stacked over records, phi(w_T) at the raw
    final iterate): a pure function (beta None under the warm-up schedule)."""
    recorder = TrajectoryRecorder(problem.eval_loss, config)

    def one(lr, seed, beta):
        carry0, step = _stepper(problem, lr, seed)
        carry, _, loss0, recs = scan_recorded(step, carry0, lambda c: c[0], recorder, steps, beta)
        return loss0, recs, problem.eval_loss(carry[0])

    return one


def _to_numpy(loss0, recs, final_raw) -> dict[str, np.ndarray]:
    out = {"loss0": np.asarray(loss0), "final_raw": np.asarray(final_raw)}
    for name, value in recs._asdict().items():
        if name != "step":
            out[name] = np.asarray(value)
    return out


def sweep_fn(problem: Problem, *, steps: int, config: RecorderConfig | None, records: bool = True):
    """The jitted sweep (lrs (n_lr,), seeds (n_seed,)) -> (loss0, Record, final raw loss),
    vmapped over both. config=None gives PLAIN training with the same optimiser (returns
    the final evaluation loss instead): the baseline of the recorder-overhead benchmark.
    records=False keeps the config's EMA but records nothing (returns phi(wbar_T) at the
    EMA point and phi(w_T) at the raw final iterate: :func:`final_losses`)."""
    import jax
    import jax.numpy as jnp

    def beta_of(lr):  # a constant decay as a traced value; None under the warm-up
        return None if config.ema is None else jnp.asarray(config.ema, lr.dtype)

    if config is None:

        def lane(lr, s):
            return problem.eval_loss(train(problem, lr, s, steps=steps))
    elif not records:
        recorder = TrajectoryRecorder(problem.eval_loss, config)

        def lane(lr, s):
            carry, (st,) = train_with_ema(
                problem, lr, s, steps=steps, recorders=(recorder,), betas=(beta_of(lr),)
            )
            return problem.eval_loss(st.ema), problem.eval_loss(carry[0])
    else:
        one = _trainer(problem, config, steps)

        def lane(lr, s):
            return one(lr, s, beta_of(lr))

    return jax.jit(jax.vmap(jax.vmap(lane, in_axes=(None, 0)), in_axes=(0, None)))


def final_losses(
    problem: Problem, lrs, seeds, *, steps: int, config: RecorderConfig
) -> dict[str, np.ndarray]:
    """The final losses of a sweep trained WITHOUT records: the same training and EMA as
    :func:`run_width` (common random numbers: seed s gives the same run in both), only
    the EMA update per step and no spectra. Returns numpy arrays of shape
    (n_lr, n_seed): ``loss`` = phi(wbar_T) at the EMA point and ``final_raw`` = phi(w_T)
    at the raw final iterate, the two numbers of :func:`tidy_results`' final frame.

    What it is for: the transfer verdict of a setting needs many seeds (the optimum's
    position is noisy), the decomposition a few; these lanes cost about a plain step
    each (the recorder several)."""
    import jax.numpy as jnp

    from fasttransfer.errors import InputError

    if int(steps) < 1:
        raise InputError(f"steps must be >= 1, got {steps}", param="steps")
    fn = sweep_fn(problem, steps=steps, config=config, records=False)
    loss, raw = fn(jnp.asarray(lrs), jnp.asarray(seeds, dtype=jnp.int32))
    return {"loss": np.asarray(loss), "final_raw": np.asarray(raw)}


def run_width(
    problem: Problem, lrs, seeds, *, steps: int, config: RecorderConfig
) -> dict[str, np.ndarray]:
    """Train one width with the problem's optimiser (optax) over a grid of learning rates
    nu (vmapped) and seeds (vmapped), recording the top-k decomposition along the EMA
    trajectory.

    Common random numbers: the initialisation and the batch sequence depend on the seed
    only, so learning rates are compared on the same data. Update of leaf p:
    p <- p - s_t nu lr_mult[p] direction_t(p) (:func:`train`).

    Returns numpy arrays: step (R,) the record times t_1 .. t_R = steps
    (:func:`simulations.recorder.record_times`); with leading axes (n_lr, n_seed):
    loss0 () = phi(w_0), final_raw () = phi(w_T) at the raw final iterate, and the Record
    fields with an extra records axis: loss (R,), lin (R, L), top (R, L, Kmax), rest (R, L).
    """
    import jax.numpy as jnp

    from fasttransfer.errors import InputError

    if int(steps) < 1:
        raise InputError(f"steps must be >= 1, got {steps}", param="steps")
    fn = sweep_fn(problem, steps=steps, config=config)
    out = _to_numpy(*fn(jnp.asarray(lrs), jnp.asarray(seeds, dtype=jnp.int32)))
    out["step"] = record_times(config.every, int(steps))
    return out


def tidy_results(
    width: int, lrs, seeds, res: dict[str, np.ndarray], *, k_curves: tuple[int, ...]
) -> dict[str, pd.DataFrame]:
    """Turn one width's arrays (:func:`run_width`) into tidy frames.

    final:   width, hp (= log nu), seed, loss (phi(wbar_T)), raw_loss (phi(w_T)), loss0,
             linearised (phi_lin(T)), faithfulness (relative error of the run)
    profile: width, hp, seed, k, topk (phi^k(T)), residual (phi^-k(T)), k = 0..Kmax
    curves:  width, hp, seed, k, step, loss, linearised, topk, residual (k in k_curves;
             step: the record time t_r, ``res["step"]``)
    """
    import pandas as pd

    lrs = np.asarray(lrs, dtype=float)
    seeds = np.asarray(seeds)
    loss0, loss, lin, top = res["loss0"], res["loss"], res["lin"], res["top"]
    n_lr, n_seed, R, _L, K = top.shape
    lin_tot = lin.sum(-1)  # (n_lr, n_seed, R)
    cum_lin = loss0[..., None] + np.cumsum(lin_tot, -1)  # phi_lin(t_r)
    top_by_k = np.concatenate([np.zeros((*top.shape[:-1], 1)), np.cumsum(top, -1)], -1)
    top_by_k = top_by_k.sum(-2)  # (n_lr, n_seed, R, K+1)
    cum_top = loss0[..., None, None] + np.cumsum(top_by_k, -2)
    cum_res = cum_lin[..., None] - cum_top  # (.., R, K+1)
    faith = faithfulness(loss0, loss, cum_lin)

    grid_lr, grid_seed = np.meshgrid(np.arange(n_lr), np.arange(n_seed), indexing="ij")
    base = {"width": width, "hp": np.log(lrs)[grid_lr].ravel(), "seed": seeds[grid_seed].ravel()}
    final = pd.DataFrame(
        {
            **base,
            "loss": loss[..., -1].ravel(),
            "raw_loss": res["final_raw"].ravel(),
            "loss0": loss0.ravel(),
            "linearised": cum_lin[..., -1].ravel(),
            "faithfulness": faith.ravel(),
        }
    )
    ks = np.arange(K + 1)
    profile = pd.DataFrame(
        {
            "width": width,
            "hp": np.repeat(base["hp"], K + 1),
            "seed": np.repeat(base["seed"], K + 1),
            "k": np.tile(ks, n_lr * n_seed),
            "topk": cum_top[..., -1, :].ravel(),
            "residual": cum_res[..., -1, :].ravel(),
        }
    )
    frames = []
    steps = np.asarray(res["step"])
    for k in k_curves:
        kk = min(int(k), K)
        frames.append(
            pd.DataFrame(
                {
                    "width": width,
                    "hp": np.repeat(base["hp"], R),
                    "seed": np.repeat(base["seed"], R),
                    "k": int(k),
                    "step": np.tile(steps, n_lr * n_seed),
                    "loss": loss.ravel(),
                    "linearised": cum_lin.ravel(),
                    "topk": cum_top[..., kk].ravel(),
                    "residual": cum_res[..., kk].ravel(),
                }
            )
        )
    curves = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            columns=["width", "hp", "seed", "k", "step", "loss", "linearised", "topk", "residual"]
        )
    )
    return {"final": final, "profile": profile, "curves": curves}


def faithfulness(loss0, loss, cum_lin):
    """Relative error max_r |phi_lin(t_r) - phi(wbar_{t_r})| / (phi(wbar_0) - min_r phi).

    loss0: (...), loss and cum_lin: (..., R). NaN for diverged runs (non-finite losses)."""
    loss0 = np.asarray(loss0, dtype=float)
    loss = np.asarray(loss, dtype=float)
    cum_lin = np.asarray(cum_lin, dtype=float)
    drop = loss0 - np.min(np.concatenate([loss0[..., None], loss], -1), -1)
    err = np.max(np.abs(cum_lin - loss), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = err / drop
    bad = ~np.isfinite(rel) | ~np.all(np.isfinite(loss), -1)
    return np.where(bad, np.nan, rel)


def ema_tradeoff(
    problem: Problem, lr: float, seed: int, *, steps: int, betas, config: RecorderConfig
) -> pd.DataFrame:
    """Faithfulness error and EMA lag for each CONSTANT decay beta (one width, one learning
    rate; one compile: beta is vmapped; ``config`` gives everything else, its ``ema`` --
    the warm-up schedule included -- is replaced by each beta).

    lag = |phi(wbar_T) - phi(w_T)| / (phi(w_0) - phi(w_T)): how far the EMA's loss sits
    from the raw iterate's, relative to the total decrease. Returns a DataFrame with
    columns beta, faithfulness, lag.
    """
    from dataclasses import replace

    import jax
    import jax.numpy as jnp
    import pandas as pd

    betas = np.asarray(betas, dtype=float)
    one = _trainer(problem, replace(config, ema=float(betas[0])), steps)
    b = jnp.asarray(betas)
    fn = jax.jit(jax.vmap(lambda beta: one(jnp.asarray(lr, b.dtype), seed, beta)))
    res = _to_numpy(*fn(b))
    loss0, loss, raw = res["loss0"], res["loss"], res["final_raw"]
    cum = loss0[:, None] + np.cumsum(res["lin"].sum(-1), -1)
    return pd.DataFrame(
        {
            "beta": betas,
            "faithfulness": faithfulness(loss0, loss, cum),
            "lag": np.abs(loss[:, -1] - raw) / (loss0 - raw),
        }
    )


def default_variants(base: RecorderConfig) -> dict[str, RecorderConfig]:
    """Our variants of the published decomposition ``base``, one change each: the
    trapezoid rule, a constant EMA decay 0.95, vector leaves decomposed, and records every
    step (when ``base`` subsamples) or on the paper's schedule (when it records every
    step)."""
    from dataclasses import replace

    other = "every step" if base.every != 1 else "schedule (2, 10, 2000)"
    return {
        "trapezoid": replace(base, rule="trapezoid"),
        "ema 0.95": replace(base, ema=0.95),
        "vectors decompose": replace(base, vectors="decompose"),
        other: replace(base, every=1 if base.every != 1 else (2, 10, 2000)),
    }


def variant_effects(
    problem: Problem,
    lr: float,
    seed: int,
    *,
    steps: int,
    base: RecorderConfig | None = None,
    variants: dict[str, RecorderConfig] | None = None,
    ks: tuple[int, ...] = (1, 4, 16),
) -> pd.DataFrame:
    """How much each variant of the recorder changes the decomposition of ONE run (same
    problem, learning rate nu = ``lr``, seed, hence the same raw trajectory and data).

    base: the published decomposition (default :class:`RecorderConfig`); variants: name ->
    configuration (default :func:`default_variants`). One row per configuration, the base
    first (variant "default"): variant, rule, ema ("warm-up" or the constant), vectors,
    every, records (R), loss0 (phi(w_0)), raw_loss (phi(w_T), the raw final iterate: the
    EMA's lag is loss - raw_loss), loss (phi(wbar_T)), linearised (phi_lin(T)),
    faithfulness (:func:`faithfulness`), decrease = phi(w_0) - min_r phi_base(wbar_{t_r})
    (the base's total loss decrease), ``topk_<k>`` = phi^k(T) for the k in ks up to
    K_max of the base and K_max itself (NaN where k exceeds the variant's K_max), and

        profile_diff = max_k |phi^k(T) - phi^k_base(T)| / decrease,
                       k = 0 .. min(K_max, K_max of the base),

    the top-k profile's largest change relative to the total loss decrease being
    decomposed (0 for the base itself).
    """
    import pandas as pd

    base = RecorderConfig() if base is None else base
    variants = default_variants(base) if variants is None else variants
    ks = tuple(sorted({int(k) for k in ks if int(k) <= base.k_max} | {base.k_max}))
    rows, ref, drop = [], None, None
    for name, cfg in [("default", base), *variants.items()]:
        res = run_width(problem, [lr], [seed], steps=steps, config=cfg)
        tidy = tidy_results(0, [lr], [seed], res, k_curves=())
        prof = tidy["profile"]["topk"].to_numpy()  # phi^k(T), k = 0 .. K_max
        final = tidy["final"].iloc[0]
        if ref is None:
            ref = prof
            drop = final["loss0"] - min(final["loss0"], float(np.min(res["loss"])))
        kk = min(len(prof), len(ref))
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = float(np.max(np.abs(prof[:kk] - ref[:kk])) / drop)
        rows.append(
            {
                "variant": name,
                "rule": cfg.rule,
                "ema": "warm-up" if cfg.ema is None else cfg.ema,
                "vectors": cfg.vectors,
                "every": str(cfg.every),
                "records": len(res["step"]),
                "loss0": final["loss0"],
                "raw_loss": final["raw_loss"],
                "loss": final["loss"],
                "linearised": final["linearised"],
                "faithfulness": final["faithfulness"],
                **{f"topk_{k}": prof[k] if k < len(prof) else np.nan for k in ks},
                "decrease": drop,
                "profile_diff": diff,
            }
        )
    return pd.DataFrame(rows)


def recorder_config(cfg, **overrides) -> RecorderConfig:
    """The :class:`RecorderConfig` of a setting's configuration ``cfg`` (its recorder
    fields ``every``, ``ema``, ``k_max``, ``rule``, and ``vectors`` where it has one;
    anything else at the recorder's defaults), with ``overrides``."""
    from dataclasses import fields as fields_of
    from dataclasses import replace

    fields = {f.name: getattr(cfg, f.name) for f in fields_of(RecorderFields)}
    if hasattr(cfg, "vectors"):
        fields["vectors"] = cfg.vectors
    return replace(RecorderConfig(**fields), **overrides)


@dataclass(frozen=True)
class ReluTopkConfig(RecorderFields):
    """The two-layer ReLU net of the paper's Figure 5 under the recorder (presets quick /
    cpu / paper).

    Online training (a fresh batch each step, common across learning rates); the fixed
    evaluation loss is the squared error on ``n_eval`` held-out Gaussian inputs (a
    population-loss estimate). Leaves W (n, d), b (n,), a (n,): with side="auto" W's
    alignment matrix lives in the width dimension (rank <= 2d, so the spectrum is
    rank-bounded: K_max >= 2d keeps all of it and the residual is zero); the vectors b and
    a are not decomposed (the recorder's ``vectors="full"``, the paper's split). The
    recorder fields (``every``, ``ema``, ``k_max``, ``rule``: :func:`recorder_config`) are
    the paper's decomposition: left point, warmed-up EMA decay (``ema=None``), the
    subsampling schedule tau = 2 -> 10 over 2000 steps.
    """

    widths: tuple[int, ...] = (64, 128, 256, 512)
    lrs: tuple[float, ...] = tuple(float(x) for x in np.logspace(-3, 0, 9))
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 300
    batch: int = 128
    d: int = 8
    n_eval: int = 1024
    eval_seed: int = 2**31 - 1
    # >= 2d keeps the whole rank-bounded spectrum (the other recorder fields: RecorderFields)
    k_max: int = 16
    dtype: str = "float32"
    param: str = "mup"

    @classmethod
    def from_preset(cls, name: str, **overrides) -> ReluTopkConfig:
        """quick: the default fields (widths 64..512 keep it near a minute here: on the
        schedule it records 142 times in 300 steps, and width 1024 alone added ~30 s, its
        evaluation gradient on n_eval = 1024 inputs dominating); cpu: smaller still (7
        learning rates): on this net Hypothesis 1
        is not testable (rank-bounded spectrum) and the setting is reported as such;
        paper: widths up to 8192, 2000 steps (a GPU run)."""
        from dataclasses import replace

        from fasttransfer.errors import InputError

        if name == "quick":
            cfg = cls()
        elif name == "cpu":
            cfg = cls(
                widths=(64, 128, 256, 512),
                lrs=tuple(float(x) for x in np.logspace(-3, 0, 7)),
                steps=300,
            )
        elif name == "paper":
            cfg = cls(
                widths=(64, 128, 256, 512, 1024, 2048, 4096, 8192),
                lrs=tuple(float(x) for x in np.logspace(-3, 0, 16)),
                seeds=tuple(range(8)),
                steps=2000,
                batch=256,
                n_eval=4096,
                k_max=16,
            )
        else:
            raise InputError(
                f"preset must be 'quick', 'cpu' or 'paper', got {name!r}", param="preset"
            )
        return replace(cfg, **overrides)


def relu_problem(width: int, cfg: ReluTopkConfig) -> Problem:
    """:class:`Problem` for the ReLU net of :mod:`simulations.relu_net` at one width."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations import mup, relu_net
    from fasttransfer.simulations.dtypes import jax_dtype

    dtype = jax_dtype(cfg.dtype)
    radius = relu_net.median_radius(cfg.d)
    x_eval = relu_net.sample_inputs(jax.random.PRNGKey(cfg.eval_seed), cfg.n_eval, cfg.d, dtype)
    y_eval = relu_net.ball_target(x_eval, radius)
    mult = {k: jnp.asarray(v, dtype) for k, v in mup.lr_multipliers(width, cfg.param).items()}

    def batch(key):
        x = relu_net.sample_inputs(key, cfg.batch, cfg.d, dtype)
        return x, relu_net.ball_target(x, radius)

    return Problem(
        init=lambda key: relu_net.init_params(key, width, cfg.d, cfg.param, dtype),
        batch=batch,
        loss=lambda p, b: relu_net.loss_fn(p, b[0], b[1], cfg.param),
        eval_loss=lambda p: relu_net.loss_fn(p, x_eval, y_eval, cfg.param),
        lr_mult=mult,
    )

"""The top-k trajectory recorder (the paper's Section 4.1): an EMA recorder for any training
loop (optax or not), pure functions of its state; part of the public API (``fasttransfer``).

Along training w_0, w_1, ... keep the EMA  wbar_t = beta_t wbar_{t-1} + (1 - beta_t) w_t
(wbar_0 = w_0). At the record times t_0 = 0 < t_1 < ... < t_R = T (:func:`record_times`)
take the gradient G_r of a FIXED evaluation loss phi at the EMA point wbar_{t_r} and the
EMA change dW_r = wbar_{t_r} - wbar_{t_{r-1}}; per layer (parameter leaf) W:

    dphi_r(W)   = <G, dW>                       (linearised change)
    lambda_i    = eigenvalues of S(G, dW) sorted by |lambda| (simulations.alignment)
    top_r(W)    = (lambda_1 .. lambda_Kmax)     (kept; zero-padded below the rank)
    rest_r(W)   = sum_{i > Kmax} lambda_i       (summed)

with G = G_{r-1} (``rule="left"``: the gradient at the start of the interval, the
paper's) or (G_{r-1} + G_r)/2 (``rule="trapezoid"``, ours: exact for a quadratic loss,
second-order accurate in general, same cost). Each G is computed once, at its record, and
kept for the next interval. Nothing of the trajectory is stored: the state is (wbar, wbar
at the last record, G there, phi there): three copies of the parameters besides the
optimiser's. On CPU the eigenvalue work of all layers goes to numpy/LAPACK in ONE host
callback per record (:func:`simulations.alignment.spectra_on_host`; XLA's CPU eigh
computes eigenvectors too, and jax 0.10's batched CPU LAPACK deadlocked here inside
vmapped scans). Run it with OPENBLAS_NUM_THREADS=1 (the command line sets it): a
multi-threaded OpenBLAS inside the callback, beside XLA's own threads, made the records
much slower on a 2-core machine (docs/benchmarks.md).

The defaults are the paper's decomposition; our earlier variants stay as options:

* EMA decay: ``ema=None`` (default) is the paper's warm-up, beta_t from ``ema_warmup[0]``
  (0.98) to ``ema_warmup[1]`` (0.9995) over ``ema_warmup[2]`` (2000) updates, linear in
  the window 1/(1 - beta) (:func:`ema_decay`); a number is a constant decay (ours).
* gradient rule: ``rule="left"`` (default, the paper's) or ``"trapezoid"`` (ours).
* ``vectors="full"`` (default, the paper's): only matrix leaves (ndim >= 2) are
  decomposed; a vector or scalar leaf contributes its whole <G, dW>, recorded as its
  top-1 entry (the rest of its top-k zero, its rest 0), so it lands in the top-k part
  for every k >= 1 and never in the residual (phi^0 stays phi(wbar_0)).
  ``vectors="decompose"`` (ours) splits every leaf.
* the record interval ``every`` (default ``(2, 10, 2000)``, the paper's subsampling
  schedule, which the paper states for its transformer runs: "the EMA trajectory
  subsampled every tau steps, tau from 2 to 10" over the EMA's 2000-step warm-up); an
  int s is a fixed interval (1: the left point at every step). See :func:`interval`.

Summing the records over layers and intervals splits the loss curve into its top-k part
and the residual (:func:`simulations.topk_training.tidy_results`); an interval of tau > 1
steps linearises over tau steps of the EMA trajectory instead of one (its accuracy is the
faithfulness error, :func:`simulations.topk_training.faithfulness`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Record",
    "RecorderConfig",
    "RecorderFields",
    "RecorderState",
    "TrajectoryRecorder",
    "ema_decay",
    "interval",
    "record_times",
    "scan_recorded",
]

RULES = ("left", "trapezoid")
VECTORS = ("decompose", "full")


def ema_decay(t, start: float = 0.98, end: float = 0.9995, steps: int = 2000):
    """The paper's warmed-up EMA decay at update t (t = 1, 2, ...; t = 0 gives start):
    the window w = 1/(1 - beta) runs linearly from 1/(1 - start) to 1/(1 - end) over
    ``steps`` updates, then stays; beta_t = 1 - 1/w_t. t: number or array (may be traced);
    returns a jax array of t's shape."""
    import jax.numpy as jnp

    w0, w1 = 1.0 / (1.0 - start), 1.0 / (1.0 - end)
    frac = jnp.clip(jnp.asarray(t) / steps, 0.0, 1.0)
    return 1.0 - 1.0 / (w0 + (w1 - w0) * frac)


def interval(every, t: int) -> int:
    """tau(t): the length of the record interval that starts at record time t.

    every = s (int): tau = s. every = (tau_0, tau_1, S): tau rises linearly in t from tau_0
    to tau_1 over S updates, rounded DOWN to an integer, then stays at tau_1:

        tau(t) = tau_0 + floor((tau_1 - tau_0) t / S)   (t < S),   tau(t) = tau_1   (t >= S),

    in integer arithmetic (exact), so tau takes each of the tau_1 - tau_0 + 1 values on
    t-ranges of equal length S / (tau_1 - tau_0) (except the last, which runs forever)."""
    if isinstance(every, int):
        return every
    a, b, span = every
    return b if t >= span else a + ((b - a) * t) // span


def record_times(every, steps: int) -> np.ndarray:
    """The record times t_1 < ... < t_R = ``steps`` (int64, (R,)), t_0 = 0 not included:
    t_{r+1} = t_r + tau(t_r) (:func:`interval`), the last interval cut to end exactly at
    T = steps. They depend on the schedule and T only (static: no branch at run time)."""
    times, t = [], 0
    while t < steps:
        t = min(t + interval(every, t), steps)
        times.append(t)
    return np.asarray(times, dtype=np.int64)


def _check_every(every):
    """``every`` validated and normalised (a list from JSON becomes a tuple)."""
    from fasttransfer.errors import InputError

    def whole(x):
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

    if whole(every) and every >= 1:
        return int(every)
    if isinstance(every, (tuple, list)) and len(every) == 3 and all(whole(x) for x in every):
        a, b, span = (int(x) for x in every)
        if 1 <= a <= b and span >= 1:
            return (a, b, span)
    raise InputError(
        f"every must be an int >= 1 or (tau_start, tau_end, steps) with "
        f"1 <= tau_start <= tau_end and steps >= 1, got {every!r}",
        param="every",
    )


@dataclass(frozen=True)
class RecorderFields:
    """The recorder fields a setting's configuration carries (inherited by the top-k
    settings' configurations and by :class:`RecorderConfig`; one place for their
    defaults, the paper's decomposition): ``every`` (the record interval: the paper's
    subsampling schedule tau = 2 -> 10 over 2000 steps), ``ema`` (None: the paper's
    warmed-up decay), ``k_max`` (eigenvalues kept per layer and record) and ``rule``
    ("left": the paper's point). Validated where they become a :class:`RecorderConfig`
    (``simulations.topk_training.recorder_config``)."""

    every: int | tuple[int, int, int] = (2, 10, 2000)
    ema: float | None = None
    k_max: int = 64
    rule: str = "left"


@dataclass(frozen=True)
class RecorderConfig(RecorderFields):
    """Configuration of the recorder; the defaults are the paper's decomposition.

    ema: None (the paper's warm-up :func:`ema_decay` with ``ema_warmup`` = (start, end,
    steps)) or a constant decay beta in [0, 1); k_max: eigenvalues kept per layer and
    record; every: the record interval, an int (fixed; 1 = every step) or (tau_start,
    tau_end, steps) (the schedule of :func:`interval`; default (2, 10, 2000): the paper's
    subsampling schedule, stated for its transformer runs, rising over the EMA warm-up's
    2000 steps); rule: "left" | "trapezoid" (which gradient pairs with dW); side:
    orientation of S per 2-D leaf (see alignment); vectors: "full" (the paper's: vector
    leaves contribute their whole inner product to the top part) | "decompose" (every
    leaf split); host_eigs: None = the eigen work through numpy/LAPACK in a host callback
    on a CPU backend, in XLA elsewhere."""

    side: str = "auto"
    host_eigs: bool | None = None
    ema_warmup: tuple[float, float, int] = (0.98, 0.9995, 2000)
    vectors: str = "full"

    def __post_init__(self) -> None:
        from fasttransfer.errors import InputError

        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise InputError(f"ema must lie in [0, 1), got {self.ema}", param="ema")
        if self.k_max < 1:
            raise InputError(f"k_max must be >= 1, got {self.k_max}", param="k_max")
        object.__setattr__(self, "every", _check_every(self.every))
        if self.rule not in RULES:
            raise InputError(f"rule must be one of {RULES}, got {self.rule!r}", param="rule")
        a, b, n = self.ema_warmup
        if not (0.0 <= a <= b < 1.0 and n >= 1):
            raise InputError(
                f"ema_warmup must be (start, end, steps) with 0 <= start <= end "
                f"< 1 and steps >= 1, got {self.ema_warmup}",
                param="ema_warmup",
            )
        object.__setattr__(self, "ema_warmup", (float(a), float(b), int(n)))
        if self.vectors not in VECTORS:
            raise InputError(
                f"vectors must be one of {VECTORS}, got {self.vectors!r}", param="vectors"
            )


class RecorderState(NamedTuple):
    beta: Any  # () constant EMA factor (traced: one compile serves a sweep over
    # beta); NaN under the warm-up schedule
    ema: Any  # wbar_t (params pytree)
    anchor: Any  # wbar at the last record
    grad: Any  # G = grad phi(anchor)
    loss: Any  # phi(anchor), ()
    t: Any = 0  # () updates so far (the warm-up schedule's clock)


class Record(NamedTuple):
    step: Any  # () int: the record time t_r (updates so far)
    loss: Any  # () phi(wbar) at the record time
    lin: Any  # (L,) <G, dW> per layer
    top: Any  # (L, Kmax) sorted eigenvalues of S per layer
    rest: Any  # (L,) sum of the eigenvalues beyond Kmax per layer


def _as_2d(x):
    if x.ndim == 0:
        return x.reshape(1, 1)
    if x.ndim > 2:  # e.g. conv kernels: (out, everything else)
        return x.reshape(x.shape[0], -1)
    return x


@dataclass(frozen=True)
class TrajectoryRecorder:
    """EMA recorder for any training loop (optax or not): pure functions of its state.

    Usage inside a jitted loop (``eval_loss(params) -> scalar`` is the fixed evaluation
    loss, e.g. a closure over a held-out batch; ``times = set(record_times(every, T))``):

        rec = TrajectoryRecorder(eval_loss, RecorderConfig(k_max=64))
        state = rec.init(params)
        for t in range(1, T + 1):
            params, opt_state = train_step(params, opt_state)
            state = rec.ema_update(state, params)
            if t in times:
                state, record = rec.record(state)   # keep `record` (small)

    or :func:`scan_recorded`, which runs it under lax.scan with no branch per step.
    """

    eval_loss: Callable[[Any], Any]
    config: RecorderConfig = field(default_factory=RecorderConfig)

    def init(self, params, beta=None) -> RecorderState:
        """State at w_0; ``beta`` (may be traced) overrides a constant ``config.ema``
        (with ``ema=None``, the warm-up schedule, it must stay None)."""
        import jax

        loss, grad = jax.value_and_grad(self.eval_loss)(params)
        return self.ema_state(params, beta, dtype=loss.dtype)._replace(
            anchor=params, grad=grad, loss=loss
        )

    def ema_state(self, params, beta=None, *, dtype=None) -> RecorderState:
        """The EMA part of :meth:`init` only (anchor, grad and loss None): for runs that
        need the EMA point wbar_T and no records (:meth:`ema_update` alone), e.g. the
        extra seeds of a transfer sweep. dtype: beta's (default: the first parameter
        leaf's)."""
        import jax
        import jax.numpy as jnp

        from fasttransfer.errors import InputError

        if self.config.ema is None and beta is not None:
            raise InputError(
                "beta overrides a constant decay only; config.ema is None (the warm-up schedule)",
                param="beta",
            )
        if dtype is None:
            dtype = jax.tree_util.tree_leaves(params)[0].dtype
        # under the warm-up schedule beta is unused (NaN marks it)
        b = self.config.ema if beta is None else beta
        beta = jnp.asarray(jnp.nan if b is None else b, dtype)
        return RecorderState(beta, params, None, None, None, jnp.zeros((), jnp.int32))

    def ema_update(self, state: RecorderState, params) -> RecorderState:
        import jax

        t = state.t + 1
        if self.config.ema is None:  # the paper's warm-up (beta unused)
            start, end, steps = self.config.ema_warmup
            b = ema_decay(t.astype(state.beta.dtype), start, end, steps)
        else:
            b = state.beta
        ema = jax.tree_util.tree_map(
            lambda e, p: b.astype(e.dtype) * e + (1 - b).astype(e.dtype) * p, state.ema, params
        )
        return state._replace(ema=ema, t=t)

    def record(self, state: RecorderState) -> tuple[RecorderState, Record]:
        """Close the interval that ends at the current EMA point: the new state (anchor,
        G, phi there) and the interval's :class:`Record`."""
        import jax
        import jax.numpy as jnp

        cfg = self.config
        loss, grad = jax.value_and_grad(self.eval_loss)(state.ema)
        if cfg.rule == "left":
            G = state.grad
        else:
            G = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, state.grad, grad)
        dW = jax.tree_util.tree_map(lambda e, a: e - a, state.ema, state.anchor)
        gs = jax.tree_util.tree_leaves(G)
        ds = jax.tree_util.tree_leaves(dW)
        lins = [jnp.vdot(g, d) for g, d in zip(gs, ds, strict=False)]
        split = [i for i, g in enumerate(gs) if cfg.vectors == "decompose" or g.ndim >= 2]
        tops = [jnp.zeros(cfg.k_max, lin.dtype).at[0].set(lin) for lin in lins]
        rests = [jnp.zeros((), lin.dtype) for lin in lins]  # not decomposed: all in top-1
        if split:
            top, rest = self._spectra([gs[i] for i in split], [ds[i] for i in split])
            for j, i in enumerate(split):
                tops[i], rests[i] = top[j], rest[j]
        rec = Record(state.t, loss, jnp.stack(lins), jnp.stack(tops), jnp.stack(rests))
        return RecorderState(state.beta, state.ema, state.ema, grad, loss, state.t), rec

    def _spectra(self, gs, ds):
        """top (L, Kmax), rest (L,) of the decomposed leaves; NaN for a non-finite leaf (a
        diverged run must not feed NaN into LAPACK)."""
        import jax
        import jax.numpy as jnp

        from fasttransfer.simulations import alignment as _al

        cfg = self.config
        pairs = [
            _al.oriented(_as_2d(g), _as_2d(d), side=cfg.side) for g, d in zip(gs, ds, strict=False)
        ]
        host = cfg.host_eigs if cfg.host_eigs is not None else jax.default_backend() == "cpu"
        if host:  # one callback for every layer: its fixed cost is paid once per record
            return _al.spectra_on_host(pairs, cfg.k_max)

        def spectrum(g2, d2):
            ok = jnp.isfinite(jnp.sum(g2)) & jnp.isfinite(jnp.sum(d2))
            lam = _al._eigs_oriented(jnp.where(ok, g2, 0), jnp.where(ok, d2, 0), jnp)
            top, rest = _al.split_topk(lam, cfg.k_max)
            nan = jnp.asarray(jnp.nan, lam.dtype)
            return jnp.where(ok, top, nan), jnp.where(ok, rest, nan)

        # leaves of one shape share one vmapped kernel (e.g. the hidden layers of an MLP)
        groups: dict[tuple, list[int]] = {}
        for i, (g2, _) in enumerate(pairs):
            groups.setdefault(tuple(g2.shape), []).append(i)
        tops, rests = [None] * len(pairs), [None] * len(pairs)
        for idx in groups.values():
            top, rest = jax.vmap(spectrum)(
                jnp.stack([pairs[i][0] for i in idx]), jnp.stack([pairs[i][1] for i in idx])
            )
            for j, i in enumerate(idx):
                tops[i], rests[i] = top[j], rest[j]
        return jnp.stack(tops), jnp.stack(rests)


def scan_recorded(
    step_fn: Callable,
    carry0,
    params_of: Callable,
    recorder: TrajectoryRecorder,
    steps: int,
    beta=None,
) -> tuple[Any, RecorderState, Any, Record]:
    """Run ``steps`` steps of ``step_fn(carry) -> carry`` (any training step: params, optax
    state, keys, step counter...) updating the EMA every step and recording at
    :func:`record_times` (recorder.config.every, steps).

    One lax.scan over the records, its body a loop over the interval's steps (the
    interval lengths are static data scanned over, so every interval length shares one
    compiled body and no step pays for a branch). Returns (final carry, final
    RecorderState, initial loss phi(w_0), Record stacked over records: leaves of shape
    (R, ...); ``step`` holds the record times). jit- and vmap-able.
    """
    import jax.numpy as jnp
    from jax import lax

    from fasttransfer.errors import InputError

    if int(steps) < 1:
        raise InputError(f"steps must be >= 1, got {steps}", param="steps")
    times = record_times(recorder.config.every, int(steps))
    lengths = jnp.asarray(np.diff(times, prepend=0), jnp.int32)

    def inner(_, c):
        carry, st = c
        carry = step_fn(carry)
        return carry, recorder.ema_update(st, params_of(carry))

    def outer(c, n):
        carry, st = lax.fori_loop(0, n, inner, c)
        st, rec = recorder.record(st)
        return (carry, st), rec

    st0 = recorder.init(params_of(carry0), beta)
    (carry, st), recs = lax.scan(outer, (carry0, st0), lengths)
    return carry, st, st0.loss, recs

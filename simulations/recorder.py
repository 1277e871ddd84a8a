"""The top-k trajectory recorder (SPEC §6): an EMA recorder for any training loop (optax
or not), pure functions of its state; part of the public API (``fasttransfer``).

Along training w_0, w_1, ... keep the EMA  wbar_t = beta wbar_{t-1} + (1 - beta) w_t
(wbar_0 = w_0). Every ``record_every`` steps (record times t_0 = 0 < t_1 < ...) take
the gradient G_r of a FIXED evaluation loss phi at the EMA point and the EMA update
dW_r = wbar_{t_r} - wbar_{t_{r-1}}; per layer (parameter leaf) W:

    dphi_r(W)   = <G, dW>                       (linearised change)
    lambda_i    = eigenvalues of S(G, dW) sorted by |lambda| (simulations.alignment)
    top_r(W)    = (lambda_1 .. lambda_Kmax)     (kept; zero-padded below the rank)
    rest_r(W)   = sum_{i > Kmax} lambda_i       (summed)

with G = G_{r-1} (``rule="left"``: the gradient at the start of the interval, SPEC §6) or
(G_{r-1} + G_r)/2 (``rule="trapezoid"``, the default: exact for a quadratic loss, second-
order accurate in general, same cost: each G is computed once and reused for the next
interval; in our ReLU pilot at a large learning rate its faithfulness error was 5-15x
smaller than the left rule's at every beta). Both gradients are taken at EMA points, and
the alignment split applies to any G paired with dW. Nothing of the trajectory is stored:
the state is (wbar, wbar at the last record, G there, phi there): three copies of the
parameters besides the optimiser's. On CPU the eigenvalue work goes through numpy's LAPACK
in a host callback (simulations.alignment.eigenvalues_on_host: jax 0.10's batched CPU
LAPACK deadlocked here inside vmapped scans).

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
* ``record_every=1`` (default, the paper's left point every step); s > 1 linearises
  over s steps.

Summing the records over layers and intervals splits the loss curve into its top-k part
and the residual (:func:`simulations.topk_training.tidy_results`); recording every s > 1
steps linearises over s steps of the EMA trajectory instead of one (its accuracy is the
faithfulness error, :func:`simulations.topk_training.faithfulness`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

__all__ = ["RecorderConfig", "RecorderState", "Record", "TrajectoryRecorder", "scan_recorded",
           "ema_decay"]

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


@dataclass(frozen=True)
class RecorderConfig:
    """ema: beta of the EMA; k_max: eigenvalues kept per layer and record; record_every:
    optimizer steps per linearisation interval; rule: "left" | "trapezoid" (which
    gradient pairs with dW); side: orientation of S per 2-D leaf (see alignment);
    ema: None (the paper's warm-up :func:`ema_decay` with ema_warmup = (start, end,
    steps)) or a constant decay; vectors: "full" (the paper's: vector leaves contribute
    their whole inner product to the top part) | "decompose" (every leaf split).
    Defaults: the paper's decomposition (module docstring)."""

    ema: float | None = None
    k_max: int = 64
    record_every: int = 1
    rule: str = "left"
    side: str = "auto"
    track_raw: bool = True
    host_eigs: bool | None = None  # None: numpy LAPACK via a host callback on CPU
    ema_warmup: tuple[float, float, int] = (0.98, 0.9995, 2000)
    vectors: str = "full"

    def __post_init__(self) -> None:
        from fasttransfer.theory.errors import InputError

        if self.ema is not None and not 0.0 <= self.ema < 1.0:
            raise InputError(f"ema must lie in [0, 1), got {self.ema}", param="ema")
        if self.k_max < 1:
            raise InputError(f"k_max must be >= 1, got {self.k_max}", param="k_max")
        if self.record_every < 1:
            raise InputError(f"record_every must be >= 1, got {self.record_every}",
                             param="record_every")
        if self.rule not in RULES:
            raise InputError(f"rule must be one of {RULES}, got {self.rule!r}", param="rule")
        a, b, n = self.ema_warmup
        if not (0.0 <= a <= b < 1.0 and n >= 1):
            raise InputError(f"ema_warmup must be (start, end, steps) with 0 <= start <= end "
                             f"< 1 and steps >= 1, got {self.ema_warmup}", param="ema_warmup")
        if self.vectors not in VECTORS:
            raise InputError(f"vectors must be one of {VECTORS}, got {self.vectors!r}",
                             param="vectors")


class RecorderState(NamedTuple):
    beta: Any       # () constant EMA factor (traced: one compile serves a sweep over
                    # beta); NaN under the warm-up schedule
    ema: Any        # wbar_t (params pytree)
    anchor: Any     # wbar at the last record
    grad: Any       # G = grad phi(anchor)
    loss: Any       # phi(anchor), ()
    t: Any = 0      # () updates so far (the warm-up schedule's clock)


class Record(NamedTuple):
    loss: Any       # () phi(wbar) at the record time
    raw_loss: Any   # () phi(w) at the raw iterate (the EMA's lag; nan if not tracked)
    lin: Any        # (L,) <G, dW> per layer
    top: Any        # (L, Kmax) sorted eigenvalues of S per layer
    rest: Any       # (L,) sum of the eigenvalues beyond Kmax per layer


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
    loss, e.g. a closure over a held-out batch):

        rec = TrajectoryRecorder(eval_loss, RecorderConfig(ema=0.9, k_max=64))
        state = rec.init(params)
        for t in steps:
            params, opt_state = train_step(params, opt_state)
            state = rec.ema_update(state, params)
            if (t + 1) % rec.config.record_every == 0:
                state, record = rec.record(state, params)   # keep `record` (small)

    or :func:`scan_recorded`, which nests two lax.scans so that no step pays for a branch.
    """

    eval_loss: Callable[[Any], Any]
    config: RecorderConfig = field(default_factory=RecorderConfig)

    def init(self, params, beta=None) -> RecorderState:
        """State at w_0; ``beta`` (may be traced) overrides a constant ``config.ema``
        (with ``ema=None``, the warm-up schedule, it must stay None)."""
        import jax
        import jax.numpy as jnp

        from fasttransfer.theory.errors import InputError

        if self.config.ema is None and beta is not None:
            raise InputError("beta overrides a constant decay only; config.ema is None "
                             "(the warm-up schedule)", param="beta")
        loss, grad = jax.value_and_grad(self.eval_loss)(params)
        # under the warm-up schedule beta is unused (NaN marks it)
        b = self.config.ema if beta is None else beta
        beta = jnp.asarray(jnp.nan if b is None else b, loss.dtype)
        return RecorderState(beta, params, params, grad, loss, jnp.zeros((), jnp.int32))

    def ema_update(self, state: RecorderState, params) -> RecorderState:
        import jax

        t = state.t + 1
        if self.config.ema is None:  # the paper's warm-up (beta unused)
            start, end, steps = self.config.ema_warmup
            b = ema_decay(t.astype(state.beta.dtype), start, end, steps)
        else:
            b = state.beta
        ema = jax.tree_util.tree_map(
            lambda e, p: b.astype(e.dtype) * e + (1 - b).astype(e.dtype) * p, state.ema, params)
        return state._replace(ema=ema, t=t)

    def record(self, state: RecorderState, params=None) -> tuple[RecorderState, Record]:
        import jax
        import jax.numpy as jnp

        from fasttransfer.simulations import alignment as _al
        split_topk = _al.split_topk

        cfg = self.config
        loss, grad = jax.value_and_grad(self.eval_loss)(state.ema)
        if cfg.rule == "left":
            G = state.grad
        else:
            G = jax.tree_util.tree_map(lambda a, b: (a + b) / 2, state.grad, grad)
        dW = jax.tree_util.tree_map(lambda e, a: e - a, state.ema, state.anchor)
        leaves = jax.tree_util.tree_leaves(G)
        gs = [_as_2d(g) for g in leaves]
        ds = [_as_2d(d) for d in jax.tree_util.tree_leaves(dW)]
        lins = [jnp.vdot(g2, d2) for g2, d2 in zip(gs, ds)]
        whole = {i for i, g in enumerate(leaves) if g.ndim < 2} if cfg.vectors == "full" else set()
        # leaves of one shape share one vmapped eigen-kernel (less to compile, e.g. the
        # hidden n x n layers of an MLP, or all its biases)
        groups: dict[tuple, list[int]] = {}
        for i, g in enumerate(gs):
            if i not in whole:
                groups.setdefault(tuple(g.shape), []).append(i)
        tops, rests = [None] * len(gs), [None] * len(gs)

        host = cfg.host_eigs if cfg.host_eigs is not None else jax.default_backend() == "cpu"

        def spectrum(g2, d2):
            ok = jnp.isfinite(jnp.sum(g2)) & jnp.isfinite(jnp.sum(d2))
            # a diverged run must not feed NaN into LAPACK; its record is NaN instead
            g2, d2 = _al.oriented(jnp.where(ok, g2, 0), jnp.where(ok, d2, 0), side=cfg.side)
            lam = (_al.eigenvalues_on_host(g2, d2) if host
                   else _al._eigs_oriented(g2, d2, jnp))
            top, rest = split_topk(lam, cfg.k_max)
            nan = jnp.asarray(jnp.nan, lam.dtype)
            return jnp.where(ok, top, nan), jnp.where(ok, rest, nan)

        for idx in groups.values():
            top, rest = jax.vmap(spectrum)(jnp.stack([gs[i] for i in idx]),
                                           jnp.stack([ds[i] for i in idx]))
            for j, i in enumerate(idx):
                tops[i], rests[i] = top[j], rest[j]
        for i in whole:  # not decomposed: the whole <G, dW> as the top-1 entry
            tops[i] = jnp.zeros(cfg.k_max, lins[i].dtype).at[0].set(lins[i])
            rests[i] = jnp.zeros((), lins[i].dtype)
        if cfg.track_raw and params is not None:
            raw = self.eval_loss(params)
        else:
            raw = jnp.full_like(loss, jnp.nan)
        rec = Record(loss, raw, jnp.stack(lins), jnp.stack(tops), jnp.stack(rests))
        return RecorderState(state.beta, state.ema, state.ema, grad, loss, state.t), rec


def scan_recorded(step_fn: Callable, carry0, params_of: Callable, recorder: TrajectoryRecorder,
                  n_records: int, beta=None):
    """Run ``n_records * recorder.config.record_every`` steps of ``step_fn(carry) -> carry``
    (any training step: params, optax state, keys, step counter...) under two nested
    lax.scans, updating the EMA every step and recording every ``record_every`` steps.

    Returns (final carry, final RecorderState, initial loss phi(w_0), Record stacked over
    records: leaves of shape (n_records, ...)). jit- and vmap-able.
    """
    from jax import lax

    every = recorder.config.record_every

    def inner(c, _):
        carry, st = c
        carry = step_fn(carry)
        return (carry, recorder.ema_update(st, params_of(carry))), None

    def outer(c, _):
        (carry, st), _ = lax.scan(inner, c, None, length=every)
        st, rec = recorder.record(st, params_of(carry))
        return (carry, st), rec

    st0 = recorder.init(params_of(carry0), beta)
    (carry, st), recs = lax.scan(outer, (carry0, st0), None, length=n_records)
    return carry, st, st0.loss, recs

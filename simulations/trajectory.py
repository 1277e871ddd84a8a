"""Top-k trajectory decomposition (SPEC §6): an EMA recorder for any optax loop,
top-k / residual loss curves, Hypothesis 1 statistics and Algorithm 1.

The recorder
------------
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

Summing over layers and intervals splits the loss curve:

    phi^k(t_r)  = phi(wbar_0) + sum_{r' <= r} sum_W sum_{i <= k} lambda_i   (top-k loss)
    phi^-k(t_r) =               sum_{r' <= r} sum_W sum_{i >  k} lambda_i   (residual)

and phi^k + phi^-k = phi(wbar_0) + sum <G, dW> = phi_lin, the running sum of linearised
changes. Faithfulness: phi_lin(t_r) against phi(wbar_{t_r}), the loss along the EMA
trajectory; the relative error is max_r |phi_lin - phi| / (phi(wbar_0) - min_r phi)
(normalised by the total decrease, the quantity being decomposed; normalising by phi
itself would flatter it).

Recording every s > 1 steps linearises over s steps of the EMA trajectory instead of one.
The EMA makes that trajectory smooth (its per-step change is (1 - beta) x the distance to
the raw iterate, so Adam's oscillations at large learning rates are averaged out); the
faithfulness error measures whether the coarser linearisation is still accurate, and
``fasttransfer/checks/topk.py`` reports it per setting. The EMA factor trades smoothness
(linearisation error falls as beta -> 1) against lag (phi(wbar_T) moves away from the raw
final loss phi(w_T)); ``ema_tradeoff`` measures both on a grid of beta.

Hypothesis 1 and Algorithm 1 (operating on the final profiles, numpy/pandas)
--------------------------------------------------------------------------
With phi_n^kappa(nu), phi_n^-kappa(nu) the final top-kappa and residual losses at width n
and scale-free learning rate nu (``hp`` = log nu, seed-averaged), nu*(n) the grid argmin
of the total final loss and W_n the ``window`` grid points on either side of it:

1. top-kappa strong convexity: mu_n = curvature (2 x quadratic coefficient) of a
   quadratic fit of phi_n^kappa on 2*window+1 points around its own argmin.
   PASS iff mu_n - 2 SE(mu_n) > 0 at every width (SE from the fit's residual variance).
2. top-kappa invariance: D_n = sup_nu |phi_n^kappa(nu) - phi_nmax^kappa(nu)| over the
   common grid, for n < n_max, and its log-log slope in n with a 95% t-interval.
   PASS iff the whole interval of the slope lies below 0 (D_n decays with width).
3. residual flatness: V_n = max_{nu in W_n} |phi_n^-kappa(nu) - phi_n^-kappa(nu*(n))|,
   ratio R_n = V_n / (mu_n Delta^2 / 2) with Delta the window's half-width in hp. A
   residual with slope s moves the argmin of phi^kappa + phi^-kappa by s/mu_n, and
   R_n ~ 2 s/(mu_n Delta), so R_n < 1 <=> the residual moves the optimum by less than
   half the window. PASS iff R_n < 1 at every width.
Hypothesis 1 holds iff all three pass.

Algorithm 1 -- OUR RECONSTRUCTION (the paper's exact J_proxy is not public):
    J_n(kappa) = sup_nu |phi_n^kappa(nu) - phi_nmax^kappa(nu)|
               + sup_{nu in W_n} |phi_n^-kappa(nu) - phi_n^-kappa(nu*(n))|,
    kappa_hat(n) = argmin_{0 <= kappa <= Kmax} J_n(kappa)   (n < n_max; the first term
    vanishes at n_max, where kappa_hat is undefined and reported as missing).
The first term grows with kappa (more width-dependent directions enter the top part),
the second falls (the residual loses its HP-dependent directions). The statistics above
use one kappa for all widths, the median of kappa_hat(n) (so that D_n compares the
same quantity across widths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

__all__ = [
    "RecorderConfig",
    "RecorderState",
    "Record",
    "TrajectoryRecorder",
    "scan_recorded",
    "Problem",
    "run_width",
    "sweep_fn",
    "tidy_results",
    "faithfulness",
    "ema_tradeoff",
    "Hypothesis1",
    "kappa_hat",
    "hypothesis1",
    "ReluTopkConfig",
    "relu_problem",
]

RULES = ("left", "trapezoid")


# =========================================================================== recorder
@dataclass(frozen=True)
class RecorderConfig:
    """ema: beta of the EMA; k_max: eigenvalues kept per layer and record; record_every:
    optimizer steps per linearisation interval; rule: "left" | "trapezoid" (which
    gradient pairs with dW); side: orientation of S per 2-D leaf (see alignment)."""

    ema: float = 0.9
    k_max: int = 64
    record_every: int = 1
    rule: str = "trapezoid"
    side: str = "auto"
    track_raw: bool = True
    host_eigs: bool | None = None  # None: numpy LAPACK via a host callback on CPU

    def __post_init__(self) -> None:
        from fasttransfer.theory.errors import InputError

        if not 0.0 <= self.ema < 1.0:
            raise InputError(f"ema must lie in [0, 1), got {self.ema}")
        if self.k_max < 1 or self.record_every < 1:
            raise InputError("k_max and record_every must be >= 1")
        if self.rule not in RULES:
            raise InputError(f"rule must be one of {RULES}, got {self.rule!r}")


class RecorderState(NamedTuple):
    beta: Any       # () the EMA factor (traced, so one compile serves a sweep over beta)
    ema: Any        # wbar_t (params pytree)
    anchor: Any     # wbar at the last record
    grad: Any       # G = grad phi(anchor)
    loss: Any       # phi(anchor), ()


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
        """State at w_0; ``beta`` (may be traced) overrides ``config.ema``."""
        import jax
        import jax.numpy as jnp

        loss, grad = jax.value_and_grad(self.eval_loss)(params)
        beta = jnp.asarray(self.config.ema if beta is None else beta, loss.dtype)
        return RecorderState(beta, params, params, grad, loss)

    def ema_update(self, state: RecorderState, params) -> RecorderState:
        import jax

        b = state.beta
        ema = jax.tree_util.tree_map(
            lambda e, p: b.astype(e.dtype) * e + (1 - b).astype(e.dtype) * p, state.ema, params)
        return state._replace(ema=ema)

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
        gs = [_as_2d(g) for g in jax.tree_util.tree_leaves(G)]
        ds = [_as_2d(d) for d in jax.tree_util.tree_leaves(dW)]
        # leaves of one shape share one vmapped eigen-kernel (less to compile, e.g. the
        # hidden n x n layers of an MLP, or all its biases)
        groups: dict[tuple, list[int]] = {}
        for i, g in enumerate(gs):
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
        lins = [jnp.vdot(g2, d2) for g2, d2 in zip(gs, ds)]
        if cfg.track_raw and params is not None:
            raw = self.eval_loss(params)
        else:
            raw = jnp.full_like(loss, jnp.nan)
        rec = Record(loss, raw, jnp.stack(lins), jnp.stack(tops), jnp.stack(rests))
        return RecorderState(state.beta, state.ema, state.ema, grad, loss), rec


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


# =========================================================================== sweeps
class Problem(NamedTuple):
    """One width of a setting, as pure functions (width fixed, shapes static).

    init(key) -> params; batch(key) -> training batch; loss(params, batch) -> scalar;
    eval_loss(params) -> scalar (the fixed evaluation loss); lr_mult: pytree like params
    of per-leaf learning-rate multipliers (the muP rule: H_n = nu * multiplier)."""

    init: Callable
    batch: Callable
    loss: Callable
    eval_loss: Callable
    lr_mult: Any


def _trainer(problem: Problem, config: RecorderConfig, steps: int,
             adam: tuple[float, float, float], record: bool = True):
    """one(lr, seed, beta) -> (loss0, Record stacked over records): a pure function
    (record=False: plain training, returns the final evaluation loss)."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.theory.errors import InputError

    if steps % config.record_every:
        raise InputError(f"steps ({steps}) must be a multiple of record_every "
                         f"({config.record_every})")
    n_records = steps // config.record_every
    recorder = TrajectoryRecorder(problem.eval_loss, config)
    b1, b2, eps = adam
    tmap = jax.tree_util.tree_map

    def one(lr, seed, beta):
        k_init, k_data = jax.random.split(jax.random.PRNGKey(seed))
        params = problem.init(k_init)

        def step(carry):
            # Adam written out (the same update as optax.adam, with explicit dtypes: the
            # step count lives in the parameters' float dtype)
            params, m, v, t = carry
            batch = problem.batch(jax.random.fold_in(k_data, t))
            g = jax.grad(problem.loss)(params, batch)
            t1 = t + 1
            m = tmap(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
            v = tmap(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)

            def upd(p, m_, v_, mult):
                tf = t1.astype(p.dtype)
                mh = m_ / (1 - jnp.asarray(b1, p.dtype) ** tf)
                vh = v_ / (1 - jnp.asarray(b2, p.dtype) ** tf)
                return p - lr.astype(p.dtype) * mult.astype(p.dtype) * mh / (jnp.sqrt(vh) + eps)

            params = tmap(upd, params, m, v, problem.lr_mult)
            return params, m, v, t1

        zeros = tmap(jnp.zeros_like, params)
        carry0 = (params, zeros, zeros, jnp.zeros((), jnp.int32))
        if not record:
            carry, _ = jax.lax.scan(lambda c, _: (step(c), None), carry0, None, length=steps)
            return problem.eval_loss(carry[0])
        _, _, loss0, recs = scan_recorded(step, carry0, lambda c: c[0], recorder, n_records,
                                          beta)
        return loss0, recs

    return one


def _to_numpy(loss0, recs) -> dict[str, np.ndarray]:
    out = {"loss0": np.asarray(loss0)}
    for name, value in recs._asdict().items():
        out[name] = np.asarray(value)
    out["final_raw"] = out["raw_loss"][..., -1]
    return out


def sweep_fn(problem: Problem, *, steps: int, config: RecorderConfig | None,
             adam: tuple[float, float, float] = (0.9, 0.999, 1e-8)):
    """The jitted sweep (lrs (n_lr,), seeds (n_seed,)) -> (loss0, Record), vmapped over
    both. config=None gives PLAIN training with the same Adam (returns the final
    evaluation loss instead): the baseline of the recorder-overhead benchmark."""
    import jax
    import jax.numpy as jnp

    if config is None:
        plain = RecorderConfig(record_every=steps)
        one = _trainer(problem, plain, steps, adam, record=False)

        def lane(lr, s):
            return one(lr, s, None)
    else:
        one = _trainer(problem, config, steps, adam)

        def lane(lr, s):
            return one(lr, s, jnp.asarray(config.ema, lr.dtype))

    return jax.jit(jax.vmap(jax.vmap(lane, in_axes=(None, 0)), in_axes=(0, None)))


def run_width(problem: Problem, lrs, seeds, *, steps: int, config: RecorderConfig,
              adam: tuple[float, float, float] = (0.9, 0.999, 1e-8)) -> dict[str, np.ndarray]:
    """Train one width with Adam over a grid of learning rates nu (vmapped) and seeds
    (vmapped), recording the top-k decomposition along the EMA trajectory.

    Common random numbers: the initialisation and the batch sequence depend on the seed
    only, so learning rates are compared on the same data. Update of leaf p:
    p <- p - nu * lr_mult[p] * adam_direction.

    Returns numpy arrays with leading axes (n_lr, n_seed): loss0 (), final_raw ()
    and the Record fields with an extra records axis: loss (R,), raw_loss (R,),
    lin (R, L), top (R, L, Kmax), rest (R, L).
    """
    import jax.numpy as jnp

    fn = sweep_fn(problem, steps=steps, config=config, adam=adam)
    return _to_numpy(*fn(jnp.asarray(lrs), jnp.asarray(seeds, dtype=jnp.int32)))


def tidy_results(width: int, lrs, seeds, res: dict[str, np.ndarray], *, record_every: int,
                 k_curves: tuple[int, ...]) -> dict[str, "pd.DataFrame"]:
    """Turn one width's arrays into tidy frames.

    final:   width, hp (= log nu), seed, loss (phi(wbar_T)), raw_loss (phi(w_T)), loss0,
             linearised (phi_lin(T)), faithfulness (relative error of the run)
    profile: width, hp, seed, k, topk (phi^k(T)), residual (phi^-k(T)), k = 0..Kmax
    curves:  width, hp, seed, k, step, loss, linearised, topk, residual (k in k_curves)
    """
    import pandas as pd

    lrs = np.asarray(lrs, dtype=float)
    seeds = np.asarray(seeds)
    loss0, loss, lin, top = res["loss0"], res["loss"], res["lin"], res["top"]
    n_lr, n_seed, R, L, K = top.shape
    lin_tot = lin.sum(-1)                                    # (n_lr, n_seed, R)
    cum_lin = loss0[..., None] + np.cumsum(lin_tot, -1)      # phi_lin(t_r)
    top_by_k = np.concatenate([np.zeros(top.shape[:-1] + (1,)), np.cumsum(top, -1)], -1)
    top_by_k = top_by_k.sum(-2)                              # (n_lr, n_seed, R, K+1)
    cum_top = loss0[..., None, None] + np.cumsum(top_by_k, -2)
    cum_res = cum_lin[..., None] - cum_top                  # (.., R, K+1)
    faith = faithfulness(loss0, loss, cum_lin)

    grid_lr, grid_seed = np.meshgrid(np.arange(n_lr), np.arange(n_seed), indexing="ij")
    base = {"width": width, "hp": np.log(lrs)[grid_lr].ravel(),
            "seed": seeds[grid_seed].ravel()}
    final = pd.DataFrame({**base, "loss": loss[..., -1].ravel(),
                          "raw_loss": res["raw_loss"][..., -1].ravel(),
                          "loss0": loss0.ravel(), "linearised": cum_lin[..., -1].ravel(),
                          "faithfulness": faith.ravel()})
    ks = np.arange(K + 1)
    profile = pd.DataFrame({
        "width": width,
        "hp": np.repeat(base["hp"], K + 1), "seed": np.repeat(base["seed"], K + 1),
        "k": np.tile(ks, n_lr * n_seed),
        "topk": cum_top[..., -1, :].ravel(), "residual": cum_res[..., -1, :].ravel()})
    frames = []
    steps = (np.arange(R) + 1) * record_every
    for k in k_curves:
        kk = min(int(k), K)
        frames.append(pd.DataFrame({
            "width": width, "hp": np.repeat(base["hp"], R), "seed": np.repeat(base["seed"], R),
            "k": int(k), "step": np.tile(steps, n_lr * n_seed), "loss": loss.ravel(),
            "linearised": cum_lin.ravel(), "topk": cum_top[..., kk].ravel(),
            "residual": cum_res[..., kk].ravel()}))
    curves = pd.concat(frames, ignore_index=True)
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


def ema_tradeoff(problem: Problem, lr: float, seed: int, *, steps: int, betas,
                 config: RecorderConfig) -> "pd.DataFrame":
    """Faithfulness error and EMA lag for each beta (one width, one learning rate; one
    compile: beta is vmapped).

    lag = |phi(wbar_T) - phi(w_T)| / (phi(w_0) - phi(w_T)): how far the EMA's loss sits
    from the raw iterate's, relative to the total decrease. Returns a DataFrame with
    columns beta, faithfulness, lag.
    """
    import jax
    import jax.numpy as jnp
    import pandas as pd

    one = _trainer(problem, config, steps, (0.9, 0.999, 1e-8))
    betas = jnp.asarray(np.asarray(betas, dtype=float))
    fn = jax.jit(jax.vmap(lambda b: one(jnp.asarray(lr, betas.dtype), seed, b)))
    res = _to_numpy(*fn(betas))
    loss0, loss, raw = res["loss0"], res["loss"], res["raw_loss"]
    cum = loss0[:, None] + np.cumsum(res["lin"].sum(-1), -1)
    return pd.DataFrame({"beta": np.asarray(betas), "faithfulness": faithfulness(loss0, loss, cum),
                         "lag": np.abs(loss[:, -1] - raw[:, -1]) / (loss0 - raw[:, -1])})


# =========================================================================== Hypothesis 1
def _mean_grid(profile, final):
    """Seed means on the hp grid: hp (H,), widths (W,), total (W, H), topk (W, H, K+1),
    residual (W, H, K+1); an (width, hp) cell with any non-finite seed is NaN (diverged)."""
    import pandas as pd

    widths = np.sort(profile["width"].unique())
    hp = np.sort(profile["hp"].unique())
    ks = np.sort(profile["k"].unique())
    p = profile.groupby(["width", "hp", "k"])[["topk", "residual"]].agg(
        lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan)
    f = final.groupby(["width", "hp"])["loss"].agg(
        lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan)
    idx = pd.MultiIndex.from_product([widths, hp, ks])
    p = p.reindex(idx)
    topk = p["topk"].to_numpy().reshape(len(widths), len(hp), len(ks))
    res = p["residual"].to_numpy().reshape(len(widths), len(hp), len(ks))
    tot = f.reindex(pd.MultiIndex.from_product([widths, hp])).to_numpy()
    return hp, widths, ks, tot.reshape(len(widths), len(hp)), topk, res


def _window(i: int, n: int, w: int) -> np.ndarray:
    return np.arange(max(i - w, 0), min(i + w, n - 1) + 1)


def _nanargmin(y: np.ndarray) -> int:
    return int(np.nanargmin(np.where(np.isfinite(y), y, np.nan)))


def kappa_hat(profile, final, *, window: int = 2) -> tuple[dict[int, float], "pd.DataFrame"]:
    """Algorithm 1 (our reconstruction, see the module docstring): kappa_hat(n) for each
    width below n_max, and the table of J_n(kappa) (columns width, k, invariance,
    flatness, J)."""
    import pandas as pd

    hp, widths, ks, tot, topk, res = _mean_grid(profile, final)
    ref = topk[-1]
    rows, out = [], {}
    for wi, n in enumerate(widths):
        i_star = _nanargmin(tot[wi])
        win = _window(i_star, len(hp), window)
        inv = np.nanmax(np.abs(topk[wi] - ref), axis=0)                    # (K+1,)
        flat = np.nanmax(np.abs(res[wi][win] - res[wi][i_star]), axis=0)   # (K+1,)
        J = inv + flat
        for k, a, b, j in zip(ks, inv, flat, J):
            rows.append({"width": int(n), "k": int(k), "invariance": a, "flatness": b, "J": j})
        out[int(n)] = float(ks[int(np.nanargmin(J))]) if wi < len(widths) - 1 else math.nan
    return out, pd.DataFrame(rows)


@dataclass(frozen=True)
class Hypothesis1:
    """The three statistics of Hypothesis 1 with their pass/fail (module docstring)."""

    kappa: int
    kappa_hat: dict
    per_width: Any                       # DataFrame, one row per width
    convexity_pass: bool
    invariance_slope: tuple[float, float, float]   # estimate, lo, hi (95%)
    invariance_pass: bool
    flatness_pass: bool
    rules: dict

    @property
    def holds(self) -> bool:
        return bool(self.convexity_pass and self.invariance_pass and self.flatness_pass)


def _quad_curvature(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Curvature 2a of y ~ a x^2 + b x + c and its standard error (nan if < 5 points)."""
    from fasttransfer.theory.fits import quadratic_vertex

    fit = quadratic_vertex(x, y)
    if fit.n_points < 5:
        return math.nan, math.nan
    return float(fit.curvature), float(fit.curvature_se)


def _loglog_slope(n: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """OLS slope of log y on log n with a 95% t-interval (nan when < 3 usable points)."""
    from fasttransfer.theory.fits import loglog_slope

    fit = loglog_slope(n, y)
    if fit.df < 1:
        return math.nan, math.nan, math.nan
    return float(fit.slope), float(fit.lo), float(fit.hi)


def hypothesis1(profile, final, *, window: int = 2, kappa: int | None = None) -> Hypothesis1:
    """Hypothesis 1 statistics at kappa (default: median of Algorithm 1's kappa_hat)."""
    import pandas as pd

    hp, widths, ks, tot, topk, res = _mean_grid(profile, final)
    khat, _ = kappa_hat(profile, final, window=window)
    if kappa is None:
        vals = [v for v in khat.values() if np.isfinite(v)]
        kappa = int(np.round(np.median(vals))) if vals else int(ks[-1])
    ki = int(np.searchsorted(ks, kappa))
    delta = window * float(np.median(np.diff(hp)))
    rows = []
    for wi, n in enumerate(widths):
        tk, rs = topk[wi, :, ki], res[wi, :, ki]
        i_tk = _nanargmin(tk)
        win_tk = _window(i_tk, len(hp), window)
        edge = i_tk in (0, len(hp) - 1)
        mu, se = _quad_curvature(hp[win_tk], tk[win_tk]) if not edge else (math.nan, math.nan)
        i_star = _nanargmin(tot[wi])
        win = _window(i_star, len(hp), window)
        V = float(np.nanmax(np.abs(rs[win] - rs[i_star])))
        D = float(np.nanmax(np.abs(tk - topk[-1, :, ki]))) if wi < len(widths) - 1 else math.nan
        R = V / (mu * delta**2 / 2) if np.isfinite(mu) and mu > 0 else math.inf
        rows.append({"width": int(n), "kappa_hat": khat[int(n)],
                     "nu_star_total": float(hp[i_star]), "nu_star_topk": float(hp[i_tk]),
                     "phi_star": float(np.nanmin(tot[wi])), "topk_at_opt": float(tk[i_tk]),
                     "curvature": mu, "curvature_se": se, "optimum_on_edge": edge,
                     "sup_diff": D, "residual_var": V, "flatness_ratio": R})
    pw = pd.DataFrame(rows)
    conv = bool(np.all(np.isfinite(pw["curvature"])) and
                np.all(pw["curvature"] - 2 * pw["curvature_se"] > 0))
    slope = _loglog_slope(pw["width"].to_numpy(float)[:-1], pw["sup_diff"].to_numpy()[:-1])
    inv = bool(np.isfinite(slope[2]) and slope[2] < 0)
    flat = bool(np.all(pw["flatness_ratio"] < 1))
    rules = {
        "convexity": "mu_n - 2 SE > 0 at every width (quadratic fit of phi^kappa on "
                     f"{2 * window + 1} points around its argmin)",
        "invariance": "95% interval of the log-log slope of D_n = sup_nu |phi_n^kappa - "
                      "phi_nmax^kappa| in n lies below 0",
        "flatness": "R_n = V_n / (mu_n Delta^2 / 2) < 1 at every width (the residual moves "
                    "the optimum by less than half the window)",
    }
    return Hypothesis1(kappa=int(kappa), kappa_hat=khat, per_width=pw, convexity_pass=conv,
                       invariance_slope=slope, invariance_pass=inv, flatness_pass=flat,
                       rules=rules)


# =========================================================================== ReLU setting
@dataclass(frozen=True)
class ReluTopkConfig:
    """The two-layer ReLU net of SPEC §5 under the recorder (presets quick / paper).

    Online training (a fresh batch each step, common across learning rates); the fixed
    evaluation loss is the squared error on ``n_eval`` held-out Gaussian inputs (a
    population-loss estimate). Leaves W (n, d), b (n,), a (n,): with side="auto" every
    alignment matrix lives in the width dimension (W: rank <= 2d, b and a: rank <= 2).
    """

    widths: tuple[int, ...] = (64, 128, 256, 512, 1024)
    lrs: tuple[float, ...] = tuple(float(x) for x in np.logspace(-3, 0, 9))
    seeds: tuple[int, ...] = (0, 1)
    steps: int = 300
    batch: int = 128
    d: int = 8
    n_eval: int = 1024
    eval_seed: int = 2**31 - 1
    record_every: int = 10
    ema: float = 0.95
    k_max: int = 16
    rule: str = "trapezoid"
    dtype: str = "float32"
    param: str = "mup"

    @classmethod
    def preset(cls, name: str, **overrides) -> "ReluTopkConfig":
        from dataclasses import replace

        from fasttransfer.theory.errors import InputError

        if name == "quick":
            cfg = cls()
        elif name == "paper":
            cfg = cls(widths=(64, 128, 256, 512, 1024, 2048, 4096, 8192),
                      lrs=tuple(float(x) for x in np.logspace(-3, 0, 16)),
                      seeds=tuple(range(8)), steps=2000, batch=256, n_eval=4096,
                      record_every=2, k_max=16)
        else:
            raise InputError(f"preset must be 'quick' or 'paper', got {name!r}")
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

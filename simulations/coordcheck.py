"""The muP coordinate check of the two-layer ReLU net (docs/paper-setups.md#relu-counterexample).

For each parametrisation ``param`` in {mup, sp}, width n in ``widths`` and seed, the net
``f(x) = m(n) sum_i a_i relu(<w_i, x> + b_i)`` is initialised (``simulations.relu_net``)
and trained for ``steps`` Adam steps at one scale-free learning rate nu (per-parameter
learning rates ``nu * lr_multipliers(n, param)``, ``simulations.mup``). At every
t = 0..steps (t = 0 at init, t = k after k updates) we record, on a fixed probe batch,

    l1 = mean |x|   for x = pre-activations <w_i, x> + b_i   (module "preact", (batch, n))
                            activations relu(preact)          (module "act",    (batch, n))
                            the output f(x)                   (module "output", (batch,))

Under muP every coordinate stays Theta(1) (the output even shrinks like n^-1/2 at init,
a CLT over n mean-zero terms divided by n); under the standard parametrisation an Adam
step moves every a_i by Theta(nu), so the output moves by Theta(n nu): it grows with
width from t = 1 on.

The criterion (:func:`slopes`, :func:`criterion`) is a pure function of the tidy table:
per (param, module, t) the least-squares slope s of log l1 against log n, fitted per
seed; the seeds give a mean slope and its standard error, hence a Student-t interval.

* muP passes when no slope is significantly positive: every interval's lower end is
  <= 0 (one-sided, Bonferroni over the (module, t) cells, so the family-wise false-
  alarm rate is ``alpha``).
* SP passes when the output's slope is clearly positive for every t >= 1: the lower
  end of its interval is > 0.
* A known answer guards the machinery: at t = 0 under muP the output slope is -1/2
  (CLT), and every pre-activation slope at t = 0 is 0 (the first layer's init does not
  depend on n): :func:`init_identities` tests both against their intervals.

Training batches are fresh each step (online), drawn from a key that depends on
(seed, t) only, so every width and both parametrisations see the same batches (common
random numbers: the width trend is not blurred by data noise); the probe batch is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MODULES: tuple[str, ...] = ("preact", "act", "output")
PARAMS: tuple[str, ...] = ("mup", "sp")
COLUMNS: tuple[str, ...] = ("param", "width", "t", "module", "l1")


@dataclass(frozen=True)
class CoordCheckConfig:
    """What the coordinate check runs.

    ``lr`` is the scale-free learning rate nu: a value that trains without diverging at
    every width (the check measures scales, not the optimum, so any stable nu will do);
    ``batch`` the training batch per Adam step,
    ``probe`` the size of the fixed batch on which l1 is measured.
    """

    widths: tuple[int, ...] = tuple(2**k for k in range(6, 13))
    steps: int = 5
    seeds: int = 6
    params: tuple[str, ...] = PARAMS
    d: int = 8
    batch: int = 256
    probe: int = 256
    lr: float = 0.03
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        from fasttransfer.errors import InputError

        if len(self.widths) < 3 or min(self.widths) < 1:
            raise InputError(f"widths: need at least 3 positive widths, got {self.widths}")
        if len(set(self.widths)) != len(self.widths):
            raise InputError(f"widths: repeated width in {self.widths}")
        if self.steps < 1:
            raise InputError(f"steps: need at least 1, got {self.steps}")
        if self.seeds < 2:
            raise InputError(
                f"seeds: need at least 2 (the tolerance comes from the seed "
                f"spread), got {self.seeds}"
            )
        bad = [p for p in self.params if p not in PARAMS]
        if bad or not self.params:
            raise InputError(f"params: expected a subset of {PARAMS}, got {self.params}")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype: expected float32 or float64, got {self.dtype!r}")
        if not self.lr > 0:
            raise InputError(f"lr: must be positive, got {self.lr}")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> CoordCheckConfig:
        """``quick``: widths 2^6..2^12, 6 seeds (2-core CPU, well under a minute);
        ``paper``: the same widths and steps with 32 seeds and larger batches."""
        from dataclasses import replace

        from fasttransfer.errors import InputError

        if name not in ("quick", "paper"):
            raise InputError(f"preset: expected quick or paper, got {name!r}")
        cfg = cls() if name == "quick" else cls(seeds=32, batch=1024, probe=4096)
        return replace(cfg, **overrides)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------- simulation

_FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _trajectory_fn(width: int, param: str, cfg: CoordCheckConfig):
    """A map seed keys (S, 2) -> l1 of shape (S, steps + 1, len(MODULES)) (not jitted).

    One Adam update per step with the per-parameter learning rates
    ``nu * lr_multipliers(width, param)``; l1 is recorded before each update and after
    the last one, so index t is "after t updates".
    """
    import jax
    import jax.numpy as jnp
    import optax

    from fasttransfer.simulations import mup, relu_net
    from fasttransfer.simulations.dtypes import jax_dtype

    dtype = jax_dtype(cfg.dtype)
    radius = relu_net.median_radius(cfg.d)
    mult = mup.lr_multipliers(width, param)
    # Adam's normalised direction; the per-parameter step -nu * multiplier is applied
    # below, leaf by leaf.
    adam = optax.scale_by_adam()

    def l1s(params, x_probe):
        out, acts = relu_net.forward_with_activations(params, x_probe, param)
        return jnp.stack(
            [
                jnp.mean(jnp.abs(acts["preact"])),
                jnp.mean(jnp.abs(acts["act"])),
                jnp.mean(jnp.abs(out)),
            ]
        )

    def one_seed(seed_key):
        init_key, data_key, probe_key = jax.random.split(seed_key, 3)
        # the init key also depends on the width, the data keys do not (common batches)
        params = relu_net.init_params(
            jax.random.fold_in(init_key, width), width, cfg.d, param, dtype
        )
        x_probe = relu_net.sample_inputs(probe_key, cfg.probe, cfg.d, dtype)
        state = adam.init(params)

        def step(carry, t):
            params, state = carry
            x = relu_net.sample_inputs(jax.random.fold_in(data_key, t), cfg.batch, cfg.d, dtype)
            y = relu_net.ball_target(x, radius)
            grads = jax.grad(relu_net.loss_fn)(params, x, y, param)
            # optax's bias correction raises a Python float to an int32 count: allowed
            # under standard promotion only (the tests run with strict promotion)
            with jax.numpy_dtype_promotion("standard"):
                direction, state = adam.update(grads, state, params)
            params = {
                k: params[k] - jnp.asarray(cfg.lr * mult[k], dtype) * direction[k] for k in params
            }
            return (params, state), l1s(params, x_probe)

        (_, _), after = jax.lax.scan(step, (params, state), jnp.arange(cfg.steps))
        return jnp.concatenate([l1s(params, x_probe)[None, :], after], axis=0)

    return jax.vmap(one_seed)


def _cell_fn(width: int, cfg: CoordCheckConfig):
    """One jitted program per width for every parametrisation of ``cfg``:
    seed keys (S, 2) -> l1 of shape (len(cfg.params), S, steps + 1, len(MODULES))."""
    import jax
    import jax.numpy as jnp

    fns = [_trajectory_fn(width, param, cfg) for param in cfg.params]
    # XLA's CPU backend at its default optimisation level spends 5-20 s compiling this
    # small program (LLVM passes over every fusion); level 0 compiles ~4x faster and the
    # run time at these sizes stays around a second. One program per width (not per
    # (width, param)) halves the number of compilations.
    return jax.jit(lambda keys: jnp.stack([f(keys) for f in fns]), compiler_options=_FAST_COMPILE)


def run_coordcheck(
    cfg: CoordCheckConfig, *, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """Run the coordinate check; tidy table with columns param, width, t, module, l1, seed.

    One jitted, seed-vmapped, step-scanned computation per width (both parametrisations
    inside); ``progress`` (optional) is called with a short label after each width.
    """
    import jax

    base = jax.random.PRNGKey(cfg.seed)
    seed_keys = jax.vmap(lambda s: jax.random.fold_in(base, s))(np.arange(cfg.seeds))
    frames = []
    for width in cfg.widths:
        l1_all = np.asarray(_cell_fn(width, cfg)(seed_keys), dtype=np.float64)
        for param, l1 in zip(cfg.params, l1_all, strict=False):
            seed, t, module = np.meshgrid(
                np.arange(cfg.seeds),
                np.arange(cfg.steps + 1),
                np.arange(len(MODULES)),
                indexing="ij",
            )
            frames.append(
                pd.DataFrame(
                    {
                        "param": param,
                        "width": width,
                        "t": t.ravel(),
                        "module": np.asarray(MODULES)[module.ravel()],
                        "seed": seed.ravel(),
                        "l1": l1.ravel(),
                    }
                )
            )
        if progress is not None:
            progress(f"n={width}")
    out = pd.concat(frames, ignore_index=True)
    order = {p: i for i, p in enumerate(cfg.params)}
    out = out.sort_values(
        ["param", "width", "seed", "t"],
        key=lambda c: c.map(order) if c.name == "param" else c,
        kind="stable",
    ).reset_index(drop=True)
    return out[[*list(COLUMNS), "seed"]]


def coordinate_check(
    init: Callable,
    apply: Callable,
    loss: Callable,
    data: Callable,
    x_probe,
    widths,
    *,
    optimizer: Callable,
    steps: int = 5,
    seeds: int = 3,
    key=None,
    label: str = "model",
) -> pd.DataFrame:
    """The coordinate check of ANY JAX model (microsoft/mup's, as pure functions).

    ``init(key, width) -> params`` (any pytree); ``apply(params, x) -> (out, acts)`` with
    ``acts`` a dict of named intermediate arrays; ``loss(out, y) -> scalar``;
    ``data(key, t) -> (x, y)`` the training batch of step t (the same for every width:
    common random numbers); ``x_probe`` the fixed batch on which l1 = mean |x| of every
    named activation and of the output is recorded at t = 0..steps (t = after t
    updates); ``optimizer(width) -> optax.GradientTransformation`` (muP: its per-layer
    learning rates depend on the width). Returns the tidy table param (= ``label``),
    width, t, module, l1, seed; :func:`slopes` and :func:`criterion` judge it,
    ``fasttransfer.paper_figures.coordcheck.plot`` draws it. One jitted, seed-vmapped,
    step-scanned program per width.
    """
    import jax
    import jax.numpy as jnp
    import optax

    if int(steps) < 0 or int(seeds) < 1 or not list(widths):
        from fasttransfer.errors import InputError

        raise InputError("coordinate_check: need steps >= 0, seeds >= 1 and some widths")
    key = jax.random.PRNGKey(0) if key is None else key
    frames = []
    for width in widths:
        opt = optimizer(width)

        def l1s(params):
            out, acts = apply(params, x_probe)
            named = {**acts, "output": out}
            return {k: jnp.mean(jnp.abs(v)) for k, v in named.items()}

        def one_seed(seed_key, opt=opt, width=width):
            init_key, data_key = jax.random.split(seed_key)
            params = init(jax.random.fold_in(init_key, width), width)
            state = opt.init(params)

            def step(carry, t):
                params, state = carry
                x, y = data(jax.random.fold_in(data_key, t), t)
                grads = jax.grad(lambda p: loss(apply(p, x)[0], y))(params)
                updates, state = opt.update(grads, state, params)
                params = optax.apply_updates(params, updates)
                return (params, state), l1s(params)

            (_, _), after = jax.lax.scan(step, (params, state), jnp.arange(steps))
            first = l1s(params)
            return {k: jnp.concatenate([first[k][None], after[k]]) for k in first}

        keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(seeds))
        # a few small steps: compile time dominates, so on a CPU compile fast (as below)
        opts = _FAST_COMPILE if jax.default_backend() == "cpu" else {}
        with jax.numpy_dtype_promotion("standard"):
            res = jax.jit(jax.vmap(one_seed), compiler_options=opts)(keys)  # {module: (S, T+1)}
        for module, arr in res.items():
            arr = np.asarray(arr, dtype=np.float64)
            # (named apart from the scan step's argument t inside one_seed above)
            seed_grid, t_grid = np.meshgrid(np.arange(seeds), np.arange(steps + 1), indexing="ij")
            frames.append(
                pd.DataFrame(
                    {
                        "param": label,
                        "width": int(width),
                        "t": t_grid.ravel(),
                        "module": module,
                        "l1": arr.ravel(),
                        "seed": seed_grid.ravel(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[[*list(COLUMNS), "seed"]]


def seed_mean(df: pd.DataFrame) -> pd.DataFrame:
    """The coordcheck.csv table (docs/paper-setups.md#command-line): columns param, width,
    t, module, l1 (l1 averaged over seeds)."""
    out = df.groupby(["param", "width", "t", "module"], sort=False, as_index=False)["l1"].mean()
    return out[list(COLUMNS)]


# ------------------------------------------------------------------------------ criterion


def slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Log-log slopes of l1 against width, per (param, module, t).

    ``df`` has columns param, width, t, module, l1 and ``seed`` (a table without ``seed``
    is one seed). Per seed, s = OLS slope of log l1 on log n; returns one row per
    (param, module, t) with ``slope`` (mean over seeds), ``se`` (standard error of that
    mean; NaN with one seed), ``n_seeds`` and ``n_widths``. Rows with l1 <= 0 or
    non-finite are dropped before the fit (log undefined); a cell with fewer than 2 widths
    left gets NaN.
    """
    need = {"param", "width", "t", "module", "l1"}
    missing = need - set(df.columns)
    if missing:
        from fasttransfer.errors import InputError

        raise InputError(f"coordcheck table: missing column(s) {sorted(missing)}")
    d = df.copy()
    if "seed" not in d.columns:
        d["seed"] = 0
    d = d[np.isfinite(d["l1"]) & (d["l1"] > 0)]
    d = d.assign(logn=np.log(d["width"].astype(float)), logl=np.log(d["l1"].astype(float)))

    def fit(g: pd.DataFrame) -> float:
        from fasttransfer.theory.fits import line_fit

        if g["width"].nunique() < 2:
            return np.nan
        return float(line_fit(g["logn"].to_numpy(), g["logl"].to_numpy()).slope)

    keys = ["param", "module", "t"]
    per_seed = (
        d.groupby([*keys, "seed"], sort=False)
        .apply(fit, include_groups=False)
        .rename("s")
        .reset_index()
    )
    widths = d.groupby(keys, sort=False)["width"].nunique().rename("n_widths")
    agg = (
        per_seed.groupby(keys, sort=False)["s"]
        .agg(slope="mean", sd="std", n_seeds="count")
        .reset_index()
    )
    agg["se"] = agg["sd"] / np.sqrt(agg["n_seeds"])
    agg = agg.drop(columns="sd").merge(widths.reset_index(), on=keys)
    order = {m: i for i, m in enumerate(MODULES)}
    agg = agg.sort_values(
        ["param", "t", "module"],
        key=lambda c: c.map(lambda m: order.get(m, len(order))) if c.name == "module" else c,
    )
    return agg[["param", "module", "t", "slope", "se", "n_seeds", "n_widths"]].reset_index(
        drop=True
    )


@dataclass(frozen=True)
class CoordCheckVerdict:
    """Outcome of :func:`criterion`.

    ``table`` is :func:`slopes` plus ``lo``/``hi`` (the simultaneous interval of each
    slope) and ``flag`` ("grows", "flat", "shrinks"); ``mup_ok``: no muP slope is
    significantly positive; ``sp_output_grows``: every SP output slope at t >= 1 is
    significantly positive; ``growing`` lists the offending muP cells.
    """

    table: pd.DataFrame
    mup_ok: bool | None
    sp_output_grows: bool | None
    growing: tuple[tuple[str, int], ...]
    alpha: float
    quantile: float


def criterion(slope_table: pd.DataFrame, *, alpha: float = 0.05) -> CoordCheckVerdict:
    """The coordinate-check criterion on a :func:`slopes` table (pure).

    The tolerance comes from the seed spread: a slope is "grows" when
    ``slope - q * se > 0`` and "shrinks" when ``slope + q * se < 0``, with q the
    one-sided Student-t quantile at level ``alpha / m`` (Bonferroni over the m cells of
    that parametrisation; n_seeds - 1 degrees of freedom), so a flat muP run raises a
    false alarm with probability <= alpha. muP passes when nothing grows; SP passes
    when its output grows at every t >= 1. A parametrisation absent from the table gives
    None.
    """
    from scipy import stats

    tab = slope_table.copy()
    if tab[["slope", "se"]].isna().any().any() or (tab["n_seeds"] < 2).any():
        from fasttransfer.errors import InputError

        raise InputError(
            "coordcheck slopes: every cell needs >= 2 seeds and >= 2 widths with positive l1"
        )
    m = tab.groupby("param")["slope"].transform("size").to_numpy()
    q = stats.t.ppf(1.0 - alpha / m, df=tab["n_seeds"].to_numpy() - 1)
    tab["lo"] = tab["slope"] - q * tab["se"]
    tab["hi"] = tab["slope"] + q * tab["se"]
    tab["flag"] = np.where(tab["lo"] > 0, "grows", np.where(tab["hi"] < 0, "shrinks", "flat"))

    mup = tab[tab["param"] == "mup"]
    growing = tuple((r.module, int(r.t)) for r in mup.itertuples() if r.flag == "grows")
    mup_ok = None if mup.empty else not growing
    sp_out = tab[(tab["param"] == "sp") & (tab["module"] == "output") & (tab["t"] >= 1)]
    sp_grows = None if sp_out.empty else bool((sp_out["flag"] == "grows").all())
    return CoordCheckVerdict(
        table=tab.reset_index(drop=True),
        mup_ok=mup_ok,
        sp_output_grows=sp_grows,
        growing=growing,
        alpha=alpha,
        quantile=float(np.max(q)) if len(q) else float("nan"),
    )


def init_identities(verdict: CoordCheckVerdict) -> dict[str, tuple[float, float, float, bool]]:
    """Known answers at t = 0: muP output slope -1/2 (CLT: n mean-zero terms over n) and
    pre-activation slope 0 (the first layer does not depend on n), for each param present.

    Returns name -> (expected, lo, hi, holds) with the simultaneous interval of
    :func:`criterion`.
    """
    tab = verdict.table
    out: dict[str, tuple[float, float, float, bool]] = {}
    checks = [("mup", "output", -0.5)] + [(p, "preact", 0.0) for p in PARAMS]
    for param, module, expected in checks:
        row = tab[(tab["param"] == param) & (tab["module"] == module) & (tab["t"] == 0)]
        if row.empty:
            continue
        lo, hi = float(row["lo"].iloc[0]), float(row["hi"].iloc[0])
        out[f"{param} {module} t=0"] = (expected, lo, hi, lo <= expected <= hi)
    return out


def slopes_markdown(verdict: CoordCheckVerdict) -> str:
    """The slopes table as markdown: one row per (param, module), one column per t."""
    tab = verdict.table
    ts = sorted(tab["t"].unique())
    rows = []
    for param in [p for p in PARAMS if p in set(tab["param"])]:
        for module in MODULES:
            cells = []
            for t in ts:
                r = tab[(tab["param"] == param) & (tab["module"] == module) & (tab["t"] == t)]
                if r.empty:
                    cells.append("-")
                    continue
                r = r.iloc[0]
                mark = {"grows": " ↑", "shrinks": " ↓", "flat": ""}[r["flag"]]
                cells.append(f"{r['slope']:+.3f} ± {r['se']:.3f}{mark}")
            rows.append([param, module, *cells])
    # fasttransfer.report.markdown_table's call (simulations may not import the command
    # line's side); these cells hold no "|" or newline to escape
    columns = ["param", "module", *(f"t={t}" for t in ts)]
    return pd.DataFrame(rows, columns=columns, dtype=object).to_markdown(
        index=False, disable_numparse=True
    )


# ---------------------------------------------------------------------------------- store

SEEDS_CSV = "coordcheck_seeds.csv"
MEAN_CSV = "coordcheck.csv"
SLOPES_CSV = "coordcheck_slopes.csv"


STUDY = "coordcheck"
# The code the stored numbers depend on (the results store's code version).
CODE_MODULES = (
    "fasttransfer.simulations.coordcheck",
    "fasttransfer.simulations.relu_net",
    "fasttransfer.simulations.mup",
)


def stored_coordcheck(
    root,
    cfg: CoordCheckConfig,
    preset: str,
    *,
    recompute: bool = False,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The per-seed table of ``cfg``'s coordinate check from the results store entry
    ``ROOT/coordcheck/<preset>/``: reused when stored with this configuration and code,
    else run and stored as coordcheck_seeds.csv (per seed), coordcheck.csv
    (param,width,t,module,l1: the seed mean) and coordcheck_slopes.csv (the
    criterion table)."""

    def run(entry):
        df = run_coordcheck(cfg, progress=progress)
        entry.write_csv(SEEDS_CSV, df, float_format="%.10g")
        entry.write_csv(MEAN_CSV, seed_mean(df), float_format="%.10g")
        entry.write_csv(SLOPES_CSV, criterion(slopes(df)).table, float_format="%.6g")

    from fasttransfer import store

    entry = store.reuse_or_run(
        root,
        STUDY,
        preset,
        config=cfg.to_dict(),
        modules=CODE_MODULES,
        run=run,
        recompute=recompute,
    )
    return entry.read_csv(SEEDS_CSV)

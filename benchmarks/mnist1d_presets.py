"""The measurement behind the MNIST-1D ``cpu`` presets.

For a setting's preset -- ``mlp`` (the muP MLP of :mod:`simulations.mlp_mnist1d`, Adam)
or ``mlp_sgd`` (the bias-free two-layer MLP of :mod:`simulations.mlp_sgd`, muP + SGD with
momentum 0.9) -- train every (width, learning rate, seed) WITHOUT the recorder (the
problem's optimiser, vmapped over learning rates and seeds as in
``topk_training.sweep_fn(problem, steps, config=None)``), time compilation and running
per width, and run the transfer analysis exactly as ``fasttransfer/checks/topk.py`` does
(``analyze_sweep(final[["width", "hp", "loss", "seed"]], bootstrap=200, seed=0,
window=5)``) on three versions of the final evaluation loss phi:

* ``raw``: phi(w_T) at the last iterate (the plain sweep's output);
* ``ema_const``: phi(wbar_T) for a constant EMA decay (the config's ``ema`` when it is a
  number, else 0.95, our earlier recorder variant);
* ``ema_paper``: phi(wbar_T) for the paper's warmed-up decay (recorder.ema_decay, 0.98
  to 0.9995 over 2000 updates, linear in the window 1/(1 - decay)).

The check analyses phi at the EMA point of the RECORDED run; which decay the recorder
uses there is the study's choice, so all three are reported. The EMA is carried along the
same plain training (one extra axpy per parameter and step), so it moves the timing by a
few percent; ``plain_s`` is the wall time of compile + run over all widths.

The seeds are the preset's transfer sweep: its recorded ``seeds`` and its unrecorded
``transfer_seeds``. ``--windows SIZE[:STEP]`` also analyses the paper-EMA loss on windows
of SIZE consecutive seeds (one every STEP): how many seeds the verdict needs. The
measurement behind the MLP's 48 seeds (2026-11-26)::

    python benchmarks/mnist1d_presets.py --setting mlp --set seeds=96 \
        --set transfer_seeds=[] --windows 12 --windows 24 --windows 48:12

``python benchmarks/mnist1d_presets.py [--setting mlp|mlp_sgd|both] [--preset cpu]
[--set KEY=VALUE ...] [--windows SIZE[:STEP] ...]``;
the LAST line printed is a JSON object {setting: {"preset", "plain_s", "compile_s",
"run_s", "per_width_s", "verdicts": {loss: {"verdict", "alpha", "beta",
"beta_minus_half_alpha", "hp_drift_slope", "reasons", "nu_star"}}, "windows":
{"SIZE:STEP": [{"seeds": [first, last], "verdict", ...}]}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np

LOSSES = ("raw", "ema_const", "ema_paper")
EMA_CONST = 0.95  # the constant decay of our earlier recorder variant (when cfg.ema is None)


def _config(setting: str, preset: str, overrides: dict):
    if setting == "mlp":
        from fasttransfer.simulations.mlp_mnist1d import MLPConfig

        return MLPConfig.from_preset(preset, **overrides)
    from fasttransfer.simulations.mlp_sgd import SGDMLPConfig

    return SGDMLPConfig.from_preset(preset, **overrides)


def _override(text: str) -> tuple[str, object]:
    """``key=value`` with a JSON value; lists become tuples (the configs are frozen);
    ``lrs=logspace(lo, hi, k)`` gives k log-spaced learning rates from 10^lo to 10^hi."""
    key, _, value = text.partition("=")
    if value.startswith("logspace("):
        lo, hi, k = (float(v) for v in value[len("logspace(") : -1].split(","))
        return key, tuple(float(x) for x in np.logspace(lo, hi, int(k)))
    if key == "seeds" and value.isdigit():
        return key, tuple(range(int(value)))
    parsed = json.loads(value)
    return key, tuple(parsed) if isinstance(parsed, list) else parsed


def _window(text: str) -> tuple[int, int]:
    size, _, step = text.partition(":")
    size = int(size)
    step = int(step) if step else size
    if size < 1 or step < 1:
        raise SystemExit(f"--windows wants SIZE[:STEP] with positive integers, got {text!r}")
    return size, step


def _problem(setting: str, width: int, cfg):
    if setting == "mlp":
        from fasttransfer.simulations.mlp_mnist1d import problem
    else:
        from fasttransfer.simulations.mlp_sgd import problem
    return problem(width, cfg)


def _sweep(problem, steps: int, ema_const: float):
    """jit(vmap lrs x vmap seeds) of: train ``steps`` steps (the problem's optimiser, the
    Problem's step rule and common random numbers of topk_training), carrying two EMAs
    of the parameters, both the recorder's own update (``TrajectoryRecorder.ema_update``);
    returns (phi(w_T), phi(wbar_T) constant, phi(wbar_T) paper)."""
    import jax

    from fasttransfer.simulations.recorder import RecorderConfig, TrajectoryRecorder

    # the training of topk_training (one implementation of the optimiser step and the EMA)
    from fasttransfer.simulations.topk_training import train_with_ema

    const = TrajectoryRecorder(problem.eval_loss, RecorderConfig(ema=ema_const))
    paper = TrajectoryRecorder(problem.eval_loss, RecorderConfig(ema=None))

    def lane(lr, seed):
        carry, (e_const, e_paper) = train_with_ema(
            problem, lr, seed, steps=steps, recorders=(const, paper)
        )
        return (
            problem.eval_loss(carry[0]),
            problem.eval_loss(e_const.ema),
            problem.eval_loss(e_paper.ema),
        )

    return jax.jit(jax.vmap(jax.vmap(lane, in_axes=(None, 0)), in_axes=(0, None)))


def measure(
    setting: str,
    preset: str,
    overrides: dict | None = None,
    *,
    csv: str | None = None,
    windows=(),
    log=print,
) -> dict:
    import jax
    import jax.numpy as jnp
    import pandas as pd

    from fasttransfer.simulations.dtypes import jax_dtype

    cfg = _config(setting, preset, overrides or {})
    dtype = jax_dtype(cfg.dtype)
    lrs = jnp.asarray(np.asarray(cfg.lrs), dtype)
    # the transfer sweep: the recorded seeds and the unrecorded ones (transfer_seeds)
    all_seeds = tuple(cfg.seeds) + tuple(getattr(cfg, "transfer_seeds", ()))
    seeds = jnp.asarray(all_seeds, jnp.int32)
    rows, per_width = [], {}
    log(
        f"[{setting}/{preset}] widths {cfg.widths}, {len(cfg.lrs)} LRs "
        f"[{cfg.lrs[0]:.3g}, {cfg.lrs[-1]:.3g}], {len(all_seeds)} seeds, {cfg.steps} steps, "
        f"batch {cfg.batch}, n_eval {cfg.n_eval}"
    )
    for width in cfg.widths:
        fn = _sweep(
            _problem(setting, width, cfg),
            cfg.steps,
            EMA_CONST if cfg.ema is None else float(cfg.ema),
        )
        t0 = time.perf_counter()
        compiled = fn.lower(lrs, seeds).compile()
        t1 = time.perf_counter()
        out = jax.block_until_ready(compiled(lrs, seeds))
        t2 = time.perf_counter()
        per_width[int(width)] = {"compile_s": t1 - t0, "run_s": t2 - t1}
        arrs = [np.asarray(o, dtype=np.float64) for o in out]  # each (n_lr, n_seed)
        for i, lr in enumerate(cfg.lrs):
            for j, s in enumerate(all_seeds):
                rows.append((int(width), float(np.log(lr)), int(s), *(a[i, j] for a in arrs)))
        curve = " ".join(f"{v:.3f}" for v in arrs[0].mean(1))
        log(
            f"  width {width}: compile {t1 - t0:.1f}s, run {t2 - t1:.1f}s; seed-mean raw loss "
            f"per LR: {curve}"
        )
    final = pd.DataFrame(rows, columns=["width", "hp", "seed", *LOSSES])
    if csv is not None:
        from pathlib import Path

        from fasttransfer.store import atomic_write_csv

        atomic_write_csv(Path(csv), final, float_format="%.10g")
    compile_s = sum(v["compile_s"] for v in per_width.values())
    run_s = sum(v["run_s"] for v in per_width.values())
    log(f"  plain sweep: {compile_s + run_s:.1f}s (compile {compile_s:.1f}s, run {run_s:.1f}s)")
    verdicts = {}
    for loss in LOSSES:
        verdicts[loss] = _verdict(final, loss, log)
    found = {}
    for size, step in windows:
        key, found[key] = f"{size}:{step}", []
        log(f"  [ema_paper] windows of {size} seeds, every {step}:")
        for at in range(0, len(all_seeds) - size + 1, step):
            chosen = all_seeds[at : at + size]
            v = _verdict(final[final["seed"].isin(chosen)], "ema_paper", lambda *_: None)
            v["seeds"] = [int(chosen[0]), int(chosen[-1])]
            found[key].append(v)
            if v["verdict"] == "error":
                log(f"    seeds {chosen[0]}-{chosen[-1]}: error: {v['reasons'][0]}")
                continue
            log(
                f"    seeds {chosen[0]}-{chosen[-1]}: {v['verdict']}, beta "
                f"{v['beta']['estimate']:.2f} [{v['beta']['ci'][0]:.2f}, "
                f"{v['beta']['ci'][1]:.2f}], drift {v['hp_drift_slope']['estimate']:.3f}"
            )
    return {
        "preset": preset,
        "plain_s": compile_s + run_s,
        "compile_s": compile_s,
        "run_s": run_s,
        "per_width_s": per_width,
        "verdicts": verdicts,
        "windows": found,
    }


def _verdict(final, loss: str, log) -> dict:
    """The transfer analysis of the check (analyze_sweep, bootstrap 200, window 5) on one
    version of the final loss, as a JSON-able dict (verdict "error" when unfittable)."""
    from fasttransfer.theory.rates import analyze_sweep

    sweep = final.rename(columns={loss: "loss"})[["width", "hp", "loss", "seed"]]
    try:
        an = analyze_sweep(sweep, bootstrap=200, seed=0, window=5)
    except Exception as err:
        log(f"  [{loss}] analysis error: {err}")
        return {"verdict": "error", "reasons": [str(err)]}
    est = lambda e: {"estimate": float(e.estimate), "ci": [float(e.ci[0]), float(e.ci[1])]}
    fmt = lambda e: f"{e.estimate:.3g} [{e.ci[0]:.3g}, {e.ci[1]:.3g}]"
    log(
        f"  [{loss}] {an.verdict}: alpha {fmt(an.alpha)}, beta {fmt(an.beta)}, "
        f"beta - alpha/2 {fmt(an.beta_minus_half_alpha)}, drift slope {fmt(an.hp_drift)}"
    )
    for reason in an.reasons:
        log(f"      {reason}")
    log(
        "      nu_star (se): "
        + ", ".join(
            f"{int(r.width)}: {r.nu_star:.3f} ({r.nu_star_se:.3f})"
            for r in an.per_width.itertuples()
        )
    )
    return {
        "verdict": an.verdict,
        "alpha": est(an.alpha),
        "beta": est(an.beta),
        "beta_minus_half_alpha": est(an.beta_minus_half_alpha),
        "hp_drift_slope": est(an.hp_drift),
        "reasons": list(an.reasons),
        "nu_star": {
            int(r.width): [float(r.nu_star), float(r.nu_star_se)] for r in an.per_width.itertuples()
        },
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", choices=("mlp", "mlp_sgd", "both"), default="both")
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--csv", default=None, help="write the final losses of every run here")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset field (JSON value; seeds=N for range(N); "
        "lrs=logspace(lo,hi,k)); exploration only",
    )
    ap.add_argument(
        "--windows",
        action="append",
        default=[],
        metavar="SIZE[:STEP]",
        help="also analyse the paper-EMA loss on windows of SIZE consecutive "
        "seeds of the sweep, one starting every STEP (default SIZE: "
        "disjoint sets): how many seeds the verdict needs",
    )
    args = ap.parse_args(argv)
    windows = [_window(w) for w in args.windows]
    settings = ("mlp", "mlp_sgd") if args.setting == "both" else (args.setting,)
    overrides = dict(_override(t) for t in args.set)
    result = {}
    for s in settings:
        csv = None if args.csv is None else args.csv.replace(".csv", f"_{s}.csv")
        result[s] = {
            **measure(s, args.preset, overrides, csv=csv, windows=windows),
            "overrides": {k: str(v) for k, v in overrides.items()},
        }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

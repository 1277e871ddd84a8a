"""The top-k trajectory decomposition study (SPEC §6) on its two
settings, the ReLU net of SPEC §5 ("relu") and the muP MLP on MNIST-1D ("mlp").

Per setting, a results-store entry ``ROOT/topk/<preset>/<setting>/`` (keyed on the
configuration and the code of :data:`CODE_MODULES`, see :mod:`theory.store`) with

* ``ema_tradeoff.csv`` (beta, faithfulness, lag): the EMA factor is CHOSEN from it before
  the sweep, beta* = argmin over the grid of max(faithfulness error, EMA lag), at the
  second-narrowest width and a large learning rate (where Adam oscillates most);
* ``cells/w<width>_{final,profile,curves}.csv`` + ``cells/w<width>.done`` (written last):
  one cell per width, each file atomic, so an interrupted run loses no finished width and
  a finished one is never recomputed;
* ``final.csv`` (width, hp, seed, loss, raw_loss, loss0, linearised, faithfulness),
  ``profile.csv`` (width, hp, seed, k, topk, residual), ``curves.csv`` (width, hp, seed,
  k, step, loss, linearised, topk, residual), ``sweep.csv`` (width, hp, loss, seed: what
  ``fasttransfer analyze`` reads);
* ``kappa.json`` (what the figures draw): Algorithm 1 as published
  (:func:`simulations.hypothesis1.algorithm1`, on the seed means of all seeds):
  ``kappa_hat`` {width: per-learning-rate list over ``kappa_hat_hp`` [width], or null
  for Fail}, the accepted ``tau`` pairs, the ``algorithm1`` constants, ``kappa`` (one k
  for the fixed-k figures: the median of all kappa_hat entries, K_max when Algorithm 1
  fails everywhere; ``fail_reason`` says how close its gates came), ``conv_err_total``
  (ConvErr of each width's total, finite cells), ``rank_bounded`` (residual at K_max
  identically zero) and the
  decomposition rate table ``rate`` (t_n, its k, J(kappa_hat), b_n from the grid argmins).
  The Hypothesis 1 statistics need the rate analysis and live in the check.

hp is the natural log of the scale-free learning rate nu.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fasttransfer.theory import store

if TYPE_CHECKING:
    import pandas as pd

SETTINGS = ("relu", "mlp")
STUDY = "topk"
# The code the stored numbers depend on (the results store's code version).
CODE_MODULES = ("fasttransfer.simulations.topk_study", "fasttransfer.simulations.recorder",
                "fasttransfer.simulations.topk_training", "fasttransfer.simulations.hypothesis1",
                "fasttransfer.simulations.mlp_mnist1d", "fasttransfer.simulations.relu_net",
                "fasttransfer.simulations.alignment", "fasttransfer.simulations.mup")
EMA_GRID = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
K_CURVES = (1, 4, 16, 60)


def configs(preset: str, *, widths=None, seeds=None, steps=None, n_lrs=None,
            dtype=None) -> dict:
    """The frozen configurations of both settings for a preset (flags override)."""
    import numpy as np

    from fasttransfer.simulations.mlp_mnist1d import MLPConfig
    from fasttransfer.simulations.topk_training import ReluTopkConfig

    out = {"relu": ReluTopkConfig.preset(preset), "mlp": MLPConfig.preset(preset)}
    for name, cfg in out.items():
        over = {}
        if widths is not None:
            over["widths"] = tuple(int(w) for w in widths)
        if seeds is not None:
            over["seeds"] = tuple(range(int(seeds)))
        if steps is not None:
            over["steps"] = int(steps) - int(steps) % cfg.record_every or cfg.record_every
        if dtype is not None:
            over["dtype"] = str(dtype)
        if n_lrs is not None:
            lo, hi = np.log10(cfg.lrs[0]), np.log10(cfg.lrs[-1])
            over["lrs"] = tuple(float(x) for x in np.logspace(lo, hi, int(n_lrs)))
        out[name] = replace(cfg, **over)
    return out


def problem_for(setting: str, width: int, cfg):
    if setting == "relu":
        from fasttransfer.simulations.topk_training import relu_problem

        return relu_problem(width, cfg)
    from fasttransfer.simulations.mlp_mnist1d import problem

    return problem(width, cfg)


def _recorder_config(cfg, beta: float, track_raw: bool = False):
    """The sweep skips the raw-iterate loss (a third of the evaluation cost); the EMA
    trade-off needs it for the lag."""
    from fasttransfer.simulations.recorder import RecorderConfig

    return RecorderConfig(ema=float(beta), k_max=cfg.k_max, record_every=cfg.record_every,
                          rule=cfg.rule, track_raw=track_raw)


def choose_ema(setting: str, cfg, entry: store.Entry, log=print) -> tuple[float, "pd.DataFrame"]:
    """beta* = argmin max(faithfulness, lag) on EMA_GRID (kept in the entry's
    ema_tradeoff.csv, so a resumed run does not redo it)."""
    import numpy as np

    from fasttransfer.simulations.topk_training import ema_tradeoff

    if entry.path("ema_tradeoff.csv").exists():
        df = entry.read_csv("ema_tradeoff.csv")
    else:
        width = cfg.widths[1] if len(cfg.widths) > 1 else cfg.widths[0]
        lr = cfg.lrs[max(len(cfg.lrs) - 3, 0)]
        log(f"  [{setting}] EMA factor: trade-off at width {width}, nu = {lr:.3g}")
        df = ema_tradeoff(problem_for(setting, width, cfg), lr, cfg.seeds[0], steps=cfg.steps,
                          betas=EMA_GRID, config=_recorder_config(cfg, cfg.ema, track_raw=True))
        entry.write_csv("ema_tradeoff.csv", df, float_format="%.10g")
    score = np.maximum(df["faithfulness"].to_numpy(), df["lag"].to_numpy())
    score = np.where(np.isfinite(score), score, np.inf)
    return float(df["beta"].to_numpy()[int(np.argmin(score))]), df


FRAMES = ("final", "profile", "curves")


def simulate_setting(setting: str, cfg, root: Path, preset: str, *, progress: bool = True,
                     recompute: bool = False, log=print, choose: bool = True) -> dict:
    """Run (or resume, or reuse) one setting in its store entry; returns its frames
    ({"final", "profile", "curves", "tradeoff"}), the chosen beta ("ema"), the
    configuration and Algorithm 1's output ("kappa": the content of kappa.json).

    choose=False skips the EMA trade-off and uses ``cfg.ema`` (tiny runs)."""
    import pandas as pd
    from tqdm import tqdm

    from fasttransfer.simulations.topk_training import run_width, tidy_results

    def run(entry: store.Entry) -> dict:
        if choose:
            beta, _ = choose_ema(setting, cfg, entry, log)
        else:
            beta = float(cfg.ema)
        rc = _recorder_config(cfg, beta)
        frames: dict[str, list] = {k: [] for k in FRAMES}
        for width in tqdm(cfg.widths, desc=f"topk {setting}", disable=not progress):
            names = {k: f"cells/w{width}_{k}.csv" for k in FRAMES}
            if entry.path(f"cells/w{width}.done").exists():
                for k, name in names.items():
                    frames[k].append(entry.read_csv(name))
                continue
            res = run_width(problem_for(setting, width, cfg), cfg.lrs, cfg.seeds,
                            steps=cfg.steps, config=rc)
            tidy = tidy_results(width, cfg.lrs, cfg.seeds, res, record_every=cfg.record_every,
                                k_curves=K_CURVES)
            for k, name in names.items():
                entry.write_csv(name, tidy[k], float_format="%.10g")
                frames[k].append(tidy[k])
            entry.write_text(f"cells/w{width}.done", "")
        result = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
        for k, df in result.items():
            entry.write_csv(f"{k}.csv", df, float_format="%.10g")
        entry.write_csv("sweep.csv", result["final"][["width", "hp", "loss", "seed"]],
                        float_format="%.10g")
        entry.write_json("kappa.json", kappa_summary(result["profile"], result["final"]))
        return {"ema_chosen": beta,
                "ema_rule": "argmin over beta of max(faithfulness error, EMA lag)"
                if choose else "the configuration's", "k_curves": list(K_CURVES)}

    entry = store.reuse_or_run(root, STUDY, preset, setting,
                               config={"setting": setting, **_jsonable(asdict(cfg)),
                                       "choose_ema": choose},
                               modules=CODE_MODULES, run=run, recompute=recompute, log=log)
    out = {k: entry.read_csv(f"{k}.csv") for k in FRAMES}
    out["tradeoff"] = (entry.read_csv("ema_tradeoff.csv") if entry.path("ema_tradeoff.csv").exists()
                       else pd.DataFrame(columns=["beta", "faithfulness", "lag"]))
    out["ema"] = float(entry.manifest["result"]["ema_chosen"])
    out["kappa"] = entry.read_json("kappa.json")
    out["config"] = cfg
    out["source"] = entry.describe()
    return out


def kappa_summary(profile, final) -> dict:
    """kappa.json's content (module docstring): Algorithm 1 on all seeds' means."""
    import numpy as np

    from fasttransfer.simulations.hypothesis1 import (Algorithm1Settings, algorithm1, conv_err,
                                                      grid_step, profiles, rank_bounded,
                                                      rate_bound)

    P = profiles(profile, final)
    settings = Algorithm1Settings()
    khat = algorithm1(P, settings)
    found = [k for kh in khat.values() if not kh.failed for k in kh.kappa]
    kappa = int(np.round(np.median(found))) if found else int(P.ks[-1])
    rate = rate_bound(P, khat)
    num = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731
    return {
        "kappa": kappa,
        "kappa_rule": "median of all kappa_hat entries" if found else "K_max (Algorithm 1 failed)",
        "kappa_hat": {str(n): None if kh.failed else list(kh.kappa) for n, kh in khat.items()},
        "kappa_hat_hp": {str(n): list(kh.hp) for n, kh in khat.items()},
        "tau": {str(n): None if kh.failed else list(kh.tau) for n, kh in khat.items()},
        "fail_reason": {str(n): kh.reason for n, kh in khat.items() if kh.failed},
        "conv_err_total": {str(int(n)): float(conv_err(P.hp[np.isfinite(t)], t[np.isfinite(t)]))
                           for n, t in zip(P.widths, P.total)},
        "algorithm1": settings.describe(grid_step(P.hp)),
        "rank_bounded": rank_bounded(P),
        "k_max": int(P.ks[-1]),
        "rate": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in rate.to_dict("records")],
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def simulate(root: Path, preset: str = "quick", *, settings=SETTINGS, progress: bool = True,
             recompute: bool = False, log=print, choose: bool = True, label: str | None = None,
             cfgs: dict | None = None, **overrides) -> dict:
    """Both settings (or the ones named) of ``preset`` with ``overrides`` (or the given
    ``cfgs``: {setting: configuration}), each in its entry ROOT/topk/<label>/<setting>
    (label: the preset's name unless given): {setting: frames} (:func:`simulate_setting`)."""
    cfgs = cfgs if cfgs is not None else configs(preset, **overrides)
    return {s: simulate_setting(s, cfgs[s], Path(root), label or preset, progress=progress,
                                recompute=recompute, log=log, choose=choose)
            for s in settings}

"""The top-k trajectory decomposition study (SPEC §6) on its two
settings, the ReLU net of SPEC §5 ("relu") and the muP MLP on MNIST-1D ("mlp").

Per setting, under ``--out DIR/<setting>/``:

* ``ema_tradeoff.csv`` (beta, faithfulness, lag): the EMA factor is CHOSEN from it before
  the sweep, beta* = argmin over the grid of max(faithfulness error, EMA lag), at the
  second-narrowest width and a large learning rate (where Adam oscillates most);
* ``cells/w<width>_{final,profile,curves}.csv`` + ``cells/w<width>.json`` (done marker with
  the cell's configuration): one cell per width, written atomically (temp file, then
  os.replace; the marker last), so an interrupted run loses no finished width and a
  finished one is never recomputed;
* ``final.csv`` (width, hp, seed, loss, raw_loss, loss0, linearised, faithfulness),
  ``profile.csv`` (width, hp, seed, k, topk, residual), ``curves.csv`` (width, hp, seed,
  k, step, loss, linearised, topk, residual), ``sweep.csv`` (width, hp, loss, seed: what
  ``fasttransfer analyze`` reads) and ``config.json``.

hp is the natural log of the scale-free learning rate nu.
"""

from __future__ import annotations

from fasttransfer.theory.atomic import atomic_write_csv, atomic_write_json

import json
from dataclasses import asdict, replace
from pathlib import Path

SETTINGS = ("relu", "mlp")
EMA_GRID = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
K_CURVES = (1, 4, 16, 60)


def configs(preset: str, *, widths=None, seeds=None, steps=None, n_lrs=None,
            dtype=None) -> dict:
    """The frozen configurations of both settings for a preset (flags override)."""
    import numpy as np

    from fasttransfer.simulations.mlp_mnist1d import MLPConfig
    from fasttransfer.simulations.trajectory import ReluTopkConfig

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
        from fasttransfer.simulations.trajectory import relu_problem

        return relu_problem(width, cfg)
    from fasttransfer.simulations.mlp_mnist1d import problem

    return problem(width, cfg)


def _atomic_csv(df, path: Path) -> None:
    atomic_write_csv(path, df, float_format="%.10g")


def _atomic_json(obj, path: Path) -> None:
    atomic_write_json(path, obj, sort_keys=True)


def _recorder_config(cfg, beta: float, track_raw: bool = False):
    """The sweep skips the raw-iterate loss (a third of the evaluation cost); the EMA
    trade-off needs it for the lag."""
    from fasttransfer.simulations.trajectory import RecorderConfig

    return RecorderConfig(ema=float(beta), k_max=cfg.k_max, record_every=cfg.record_every,
                          rule=cfg.rule, track_raw=track_raw)


def choose_ema(setting: str, cfg, d: Path, log=print) -> tuple[float, "pd.DataFrame"]:
    """beta* = argmin max(faithfulness, lag) on EMA_GRID (cached in ema_tradeoff.csv)."""
    import numpy as np
    import pandas as pd

    from fasttransfer.simulations.trajectory import ema_tradeoff

    path = d / "ema_tradeoff.csv"
    width = cfg.widths[1] if len(cfg.widths) > 1 else cfg.widths[0]
    lr = cfg.lrs[max(len(cfg.lrs) - 3, 0)]
    ident = {"width": width, "lr": lr, "steps": cfg.steps, "seed": cfg.seeds[0],
             "record_every": cfg.record_every, "rule": cfg.rule}
    meta = d / "ema_tradeoff.json"
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == ident:
        df = pd.read_csv(path)
    else:
        log(f"  [{setting}] EMA factor: trade-off at width {width}, nu = {lr:.3g}")
        df = ema_tradeoff(problem_for(setting, width, cfg), lr, cfg.seeds[0], steps=cfg.steps,
                          betas=EMA_GRID, config=_recorder_config(cfg, cfg.ema, track_raw=True))
        _atomic_csv(df, path)
        _atomic_json(ident, meta)
    score = np.maximum(df["faithfulness"].to_numpy(), df["lag"].to_numpy())
    score = np.where(np.isfinite(score), score, np.inf)
    return float(df["beta"].to_numpy()[int(np.argmin(score))]), df


def simulate_setting(setting: str, cfg, out: Path, *, progress: bool = True,
                     log=print, choose: bool = True) -> dict:
    """Run (or resume) one setting; returns its frames and the chosen beta.

    choose=False skips the EMA trade-off and uses ``cfg.ema`` (tiny figure runs)."""
    import pandas as pd
    from tqdm import tqdm

    from fasttransfer.simulations.trajectory import run_width, tidy_results

    d = out / setting
    cells = d / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    if choose:
        beta, tradeoff = choose_ema(setting, cfg, d, log)
    else:
        beta, tradeoff = float(cfg.ema), pd.DataFrame(columns=["beta", "faithfulness", "lag"])
    rc = _recorder_config(cfg, beta)
    frames: dict[str, list] = {"final": [], "profile": [], "curves": []}
    for width in tqdm(cfg.widths, desc=f"topk {setting}", disable=not progress):
        ident = {"setting": setting, "width": int(width), "config": _jsonable(asdict(cfg)),
                 "ema": beta}
        marker = cells / f"w{width}.json"
        paths = {k: cells / f"w{width}_{k}.csv" for k in frames}
        if marker.exists() and json.loads(marker.read_text()) == ident and all(
                p.exists() for p in paths.values()):
            for k, p in paths.items():
                frames[k].append(pd.read_csv(p))
            continue
        res = run_width(problem_for(setting, width, cfg), cfg.lrs, cfg.seeds, steps=cfg.steps,
                        config=rc)
        tidy = tidy_results(width, cfg.lrs, cfg.seeds, res, record_every=cfg.record_every,
                            k_curves=K_CURVES)
        for k, p in paths.items():
            _atomic_csv(tidy[k], p)
            frames[k].append(tidy[k])
        _atomic_json(ident, marker)
    result = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
    for k, df in result.items():
        _atomic_csv(df, d / f"{k}.csv")
    _atomic_csv(result["final"][["width", "hp", "loss", "seed"]], d / "sweep.csv")
    _atomic_json({"setting": setting, "config": _jsonable(asdict(cfg)), "ema_chosen": beta,
                  "ema_rule": "argmin over beta of max(faithfulness error, EMA lag)",
                  "k_curves": list(K_CURVES)}, d / "config.json")
    result["tradeoff"] = tradeoff
    result["ema"] = beta
    result["config"] = cfg
    return result


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def simulate(out: Path, preset: str = "quick", *, settings=SETTINGS, progress: bool = True,
             log=print, choose: bool = True, **overrides) -> dict:
    """Both settings (or the ones named): {setting: frames}."""
    cfgs = configs(preset, **overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return {s: simulate_setting(s, cfgs[s], out, progress=progress, log=log, choose=choose)
            for s in settings}


TINY = {"widths": (16, 32, 64), "seeds": 1, "steps": 40, "n_lrs": 5}


def tiny(out: Path, setting: str, log=print) -> dict:
    """A seconds-scale run of one setting (figure smoke tests): 3 widths, 5 rates."""
    return simulate(out, "quick", settings=(setting,), progress=False, log=log, choose=False,
                    **TINY)[setting]

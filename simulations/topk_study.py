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
* ``kappa.json``: Algorithm 1's kappa_hat(n), the kappa of the Hypothesis 1 statistics
  and which of its conditions hold (what the figures draw).

hp is the natural log of the scale-free learning rate nu.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from fasttransfer.theory import store

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
    configuration and Algorithm 1's output ("kappa": {"kappa", "kappa_hat"}).

    choose=False skips the EMA trade-off and uses ``cfg.ema`` (tiny runs)."""
    import pandas as pd
    from tqdm import tqdm

    from fasttransfer.simulations.hypothesis1 import hypothesis1, kappa_hat
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
        khat, _ = kappa_hat(result["profile"], result["final"], window=2)
        h1 = hypothesis1(result["profile"], result["final"], window=2)
        entry.write_json("kappa.json", {
            "kappa": int(h1.kappa), "kappa_hat": {str(w): k for w, k in khat.items()},
            "holds": {"convexity": bool(h1.convexity_pass),
                      "invariance": bool(h1.invariance_pass),
                      "flatness": bool(h1.flatness_pass)}})
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

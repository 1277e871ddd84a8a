"""The studies run on the ReLU engine (simulations.sweep) and where their results come
from: the configurations a claim needs at a preset, and the sweep of each, read from
the committed results bank (paper preset: made on a GPU, never simulated here) or from
the local store under a results folder (run, or reused when finished).

The checks get their data here; the figures read the same entries from the store
(paper_figures.stored) and never run anything.
"""

from __future__ import annotations

import math
from pathlib import Path

from fasttransfer import store
from fasttransfer.errors import InputError
from fasttransfer.simulations import relu_config, sweep

# The SP contrast is not part of the paper's runs: at the paper and pilot presets it is
# read from the quick preset (a CPU minute) and labelled so.
SP_PRESET = {"paper": "quick", "pilot": "quick"}
# Presets whose entries may come from the committed results bank: ``paper`` only from
# there (a GPU run), ``pilot`` from there or, when missing, run here (CPU minutes).
BANKED = ("paper", "pilot")
LATE_SHIFT_STUDIES = ("kindex", "kindex-layerwise")


def counterexample_configs(preset: str) -> dict:
    """{"mup": the ReLU counterexample at ``preset``, "sp": its SP contrast}."""
    return {
        "mup": relu_config.ReluSweepConfig.from_preset(preset, "mup", "relu"),
        "sp": relu_config.ReluSweepConfig.from_preset(SP_PRESET.get(preset, preset), "sp", "relu"),
    }


def late_shift_configs(preset: str) -> dict:
    """{"kindex": the k-index model at ``preset``, "kindex-layerwise": its variant}."""
    return {
        s: relu_config.ReluSweepConfig.from_preset(preset, "mup", s) for s in LATE_SHIFT_STUDIES
    }


def load_or_run(root: Path, cfg, *, recompute: bool = False, progress: bool = False):
    """(config, tidy DataFrame, source) for one configuration, from the store under
    ``root``: reused when a finished, current entry is there, else run (finished cells
    kept). The ``pilot`` and ``paper`` presets are read from ``root`` or the committed
    results bank first; a ``paper`` preset is never run here unless ``recompute`` (an
    :class:`InputError` naming the GPU script when neither has it). ``source`` says
    which, with device and date."""
    if cfg.preset in BANKED and not recompute:
        try:
            stored, df, entry = sweep.read_sweep([root, store.BANK], cfg)
            where = "results bank" if entry.dir.is_relative_to(store.BANK) else "reused"
            return stored, df[df.width.isin(cfg.widths)], f"{where}: {entry.describe()}"
        except store.MissingResult as err:
            if cfg.preset == "paper":
                raise InputError(
                    f"{cfg.study_label()}: the paper preset is in neither {root} nor the "
                    f"results bank ({err}); it needs a GPU: {missing_text(cfg)}"
                ) from None
    sweep.run_sweep(cfg, root, recompute=recompute, progress=progress)
    _, df, entry = sweep.read_sweep(root, cfg)
    return cfg, df[df.width.isin(cfg.widths)], f"store: {entry.describe()}"


def bank_variants(study: str, preset: str = "paper") -> dict:
    """{store key: (config, DataFrame, source)} of the results bank's entries of
    ``study`` at ``preset`` in another parametrisation than the paper's (e.g. our
    earlier base-width-128 convention, kept as evidence of how much it moves the
    numbers); each configuration is the one its manifest stores."""
    out = {}
    paper_key = relu_config.ReluSweepConfig.from_preset(preset, "mup", study).store_key()
    for manifest in sorted((store.BANK / study / preset).glob(f"*/{store.MANIFEST}")):
        key = manifest.parent.name
        if key == paper_key or key.startswith("sp"):
            continue
        entry = store.read_entry(store.BANK, study, preset, key)
        cfg = relu_config.ReluSweepConfig.from_json_dict({**entry.config, "preset": preset})
        stored, df, entry = sweep.read_sweep(store.BANK, cfg)
        out[key] = (stored, df, f"results bank: {entry.describe()}")
    return out


def load_all(root: Path, configs: dict, *, recompute: bool = False, progress: bool = False) -> dict:
    """{"sweeps": {key: DataFrame}, "configs": {key: config as stored}, "sources": {key:
    str}} for every configuration of ``configs`` (a dict key -> config)."""
    out = {"sweeps": {}, "configs": {}, "sources": {}}
    for key, cfg in configs.items():
        c, df, src = load_or_run(root, cfg, recompute=recompute, progress=progress)
        out["sweeps"][key], out["configs"][key], out["sources"][key] = df, c, src
    return out


def late_shift_data(root: Path, configs: dict, *, recompute: bool = False) -> dict:
    """:func:`load_all` plus "optima": {study: grid optima per width}
    (:func:`fasttransfer.theory.optimum_path.grid_optima`)."""
    from fasttransfer.theory.optimum_path import grid_optima

    out = load_all(root, configs, recompute=recompute)
    out["optima"] = {s: grid_optima(df) for s, df in out["sweeps"].items()}
    return out


def pilot_data(root: Path, study: str, *, recompute: bool = False) -> dict:
    """The pilot of ``study`` and its sensitivity runs (bank, store, or run here):
    {"config", "df", "source", "variants": {name: (config, df, source)}}."""
    cfg, df, src = load_or_run(
        root,
        relu_config.ReluSweepConfig.from_preset("pilot", "mup", study),
        recompute=recompute,
    )
    variants = {
        name: load_or_run(root, c, recompute=recompute)
        for name, c in relu_config.sensitivity_configs(study).items()
    }
    return {"config": cfg, "df": df, "source": src, "variants": variants}


def on_squared_scale(cfg, df):
    """``df`` with a half-squared loss doubled onto the squared loss's scale (other
    losses as they are), so that a run of the ``half_squared`` variant compares with
    the squared-loss runs and the paper."""
    return df.assign(loss=df.loss * 2.0) if cfg.loss == "half_squared" else df


def sensitivity_table(pilot_df, variants: dict, grid_octaves: float):
    """How far each unstated choice moves the optimum, beside the seed noise.

    ``pilot_df``: the pilot's sweep (the paper's reading of every choice); ``variants``:
    {name: (config, df)} of runs at one width with the pilot's first seeds and one choice
    changed. Per variant: the grid optimum log2 nu* and its loss phi* on the seed-mean
    curve (a half-squared loss is doubled, onto the squared loss's scale), the reference
    (the pilot's same width and seeds) and the differences. Seed noise: sigma, the std
    over all the pilot's seeds of the per-seed statistic at that width; the difference
    of two means of m seeds has std sigma sqrt(2/m) without common random numbers, so a
    choice "moves" a statistic when |difference| > 2 sigma sqrt(2/m) (and, for the LR,
    by more than one grid step: the argmin moves on the grid). Returns a DataFrame:
    variant, width, seeds, log2_lr_star, ref_log2_lr_star, d_log2_lr, loss_star,
    ref_loss_star, d_loss, sigma_log2_lr, sigma_loss, moves_lr, moves_loss."""
    import numpy as np
    import pandas as pd

    from fasttransfer.theory.relu_paper import sweep_summary as stats

    rows = []
    for name, (cfg, df) in variants.items():
        w = int(df.width.iloc[0])
        seeds = sorted(int(s) for s in df.seed.unique())
        ref_all = pilot_df[pilot_df.width == w]
        if ref_all.empty:
            continue
        ref = stats(ref_all[ref_all.seed.isin(seeds)])
        var = stats(on_squared_scale(cfg, df))
        per_seed = [stats(g) for _, g in ref_all.groupby("seed")]
        s_lr = float(np.std([p["log2_lr_star"] for p in per_seed], ddof=1))
        s_loss = float(np.std([p["loss_star"] for p in per_seed], ddof=1))
        k = 2.0 * math.sqrt(2.0 / len(seeds))
        d_lr = var["log2_lr_star"] - ref["log2_lr_star"]
        d_loss = var["loss_star"] - ref["loss_star"]
        rows.append(
            {
                "variant": name,
                "width": w,
                "seeds": len(seeds),
                "log2_lr_star": var["log2_lr_star"],
                "ref_log2_lr_star": ref["log2_lr_star"],
                "d_log2_lr": d_lr,
                "loss_star": var["loss_star"],
                "ref_loss_star": ref["loss_star"],
                "d_loss": d_loss,
                "sigma_log2_lr": s_lr,
                "sigma_loss": s_loss,
                "moves_lr": bool(abs(d_lr) > max(k * s_lr, grid_octaves)),
                "moves_loss": bool(abs(d_loss) > k * s_loss),
            }
        )
    return pd.DataFrame(rows)


# Seconds a cell adds beyond its steps (compilation and evaluation), from the bank's runs.
CELL_OVERHEAD_S = 3.0


def bank_rates(preset: str = "paper", bank: Path | None = None) -> dict:
    """{width: device seconds per configuration x width x step}, the fastest measured by
    any of the bank's GPU cells at ``preset``, pooled over the studies and their
    parametrisations (one engine, the same d and batch: neither the loss nor the
    parametrisation changes its cost); {} when the bank has none."""
    import json

    rates: dict = {}
    for manifest in sorted(Path(bank or store.BANK).glob(f"*/{preset}/*/{store.MANIFEST}")):
        cells_file = manifest.parent / sweep.CELLS_LOG
        if not cells_file.exists():
            continue
        cfg = json.loads(manifest.read_text(encoding="utf-8"))["config"]
        units = cfg["n_lrs"] * cfg["seeds"] * cfg["steps"]
        for w, cell in json.loads(cells_file.read_text(encoding="utf-8")).items():
            if "gpu" not in " ".join(cell.get("devices", [])).lower():
                continue
            # a cell of a pack (simulations.relu_pack) holds its share of the pack's
            # seconds, in proportion to its width; the overhead is the pack's, once
            n = sum(cell.get("pack", [int(w)]))
            pack_s = float(cell["seconds"]) * n / int(w)
            rate = max(pack_s - CELL_OVERHEAD_S, 0.0) / (units * n)
            rates[int(w)] = min(rates.get(int(w), math.inf), rate)
    return rates


def device_estimate(cfg, done=(), bank: Path | None = None) -> dict:
    """The device time the widths of ``cfg`` not in ``done`` need, from the bank's
    measured GPU throughput (:func:`bank_rates`; a width it has not measured takes the
    rate of the nearest measured one): {"missing": [widths], "seconds": {width: s},
    "total_s": float, "basis": str}; total_s is None when the bank has no rate."""
    rates = bank_rates(cfg.preset, bank)
    missing = [w for w in cfg.widths if w not in set(done)]
    if not rates:
        return {
            "missing": missing,
            "seconds": {},
            "total_s": None,
            "basis": "no GPU cell at this preset in the results bank",
        }
    known = sorted(rates)
    seconds = {}
    for w in missing:
        near = min(known, key=lambda k: abs(math.log(k / w)))
        seconds[w] = round(rates[near] * cfg.n_lrs * cfg.seeds * cfg.steps * w + CELL_OVERHEAD_S, 1)
    return {
        "missing": missing,
        "seconds": seconds,
        "total_s": round(sum(seconds.values()), 1),
        "basis": f"the fastest of the bank's H100 cells per width ({len(known)} widths "
        "measured; a width not measured takes its nearest neighbour's rate)",
    }


def stored_widths(cfg, bank: Path | None = None) -> list:
    """The widths of ``cfg``'s entry already in the results bank (none if it has no
    current entry)."""
    try:
        _, df, _ = sweep.read_sweep(bank or store.BANK, cfg)
    except (store.MissingResult, store.StaleResult):
        return []
    return sorted(int(w) for w in df.width.unique())


def missing_text(cfg) -> str:
    """What of ``cfg``'s paper-scale entry the bank lacks, the device time it needs and
    the command that makes it (for a missing row of ``verify --preset paper``)."""
    est = device_estimate(cfg, stored_widths(cfg))
    when = (
        "device time unknown"
        if est["total_s"] is None
        else f"about {est['total_s'] / 60:.0f} min of H100 time ({est['basis']})"
    )
    return (
        f"widths {est['missing']} missing, {when}; run `python benchmarks/gpu_queue.py "
        "--out $OUT --budget-s S` on the GPU, then `--import-to results_bank $OUT` here"
    )

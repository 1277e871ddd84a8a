"""The studies run on the ReLU engine (simulations.sweep) and where their results come
from: the configurations a claim needs at a preset, and the sweep of each, read from
the committed results bank (paper preset: made on a GPU, never simulated here) or from
the local store under a results folder (run, or reused when finished).

The checks and the figures both read their data here; figures only draw it.
"""

from __future__ import annotations

from pathlib import Path

from fasttransfer.simulations import sweep
from fasttransfer.theory.errors import InputError

# The SP contrast is not part of the paper's runs: at the paper preset it is read from
# the quick preset (a CPU minute) and labelled so.
SP_PRESET = {"paper": "quick"}
LATE_SHIFT_STUDIES = ("kindex", "kindex-layerwise")


def counterexample_configs(preset: str) -> dict:
    """{"mup": the ReLU counterexample at ``preset``, "sp": its SP contrast}."""
    return {"mup": sweep.preset(preset, "mup", "relu"),
            "sp": sweep.preset(SP_PRESET.get(preset, preset), "sp", "relu")}


def late_shift_configs(preset: str) -> dict:
    """{"kindex": the k-index model at ``preset``, "kindex-layerwise": its variant}."""
    return {s: sweep.preset(preset, "mup", s) for s in LATE_SHIFT_STUDIES}


def load_or_run(results_dir: Path, cfg, *, log=print, progress: bool = False):
    """(config, tidy DataFrame, source) for one configuration: the results bank for a
    ``paper`` preset (an :class:`InputError` naming the command that makes it when the
    bank has none), else the store under ``results_dir`` (run, or reused)."""
    if cfg.preset == "paper":
        bank = sweep.bank_dir(cfg)
        if bank is None:
            raise InputError(
                f"{cfg.study_label()}: the paper preset is not in the results bank "
                f"({sweep.store_dir(sweep.BANK_DIR, cfg)}); it needs a GPU: run "
                "benchmarks/relu_paper_gpu.py there and import it with --import-to")
        stored, df, _ = sweep.read_store(bank)
        return stored, df, f"results bank {bank.relative_to(sweep.BANK_DIR.parent)}"
    df = sweep.run_sweep(cfg, sweep.store_dir(results_dir, cfg), progress=progress, log=log)
    return cfg, df, "computed here"


def load_all(results_dir: Path, configs: dict, *, log=print, progress: bool = False) -> dict:
    """{"sweeps": {key: DataFrame}, "configs": {key: config as stored}, "sources": {key:
    str}} for every configuration of ``configs`` (a dict key -> config)."""
    out = {"sweeps": {}, "configs": {}, "sources": {}}
    for key, cfg in configs.items():
        c, df, src = load_or_run(results_dir, cfg, log=log, progress=progress)
        out["sweeps"][key], out["configs"][key], out["sources"][key] = df, c, src
    return out


def late_shift_data(results_dir: Path, configs: dict, *, log=print) -> dict:
    """:func:`load_all` plus "optima": {study: grid optima per width}
    (:func:`fasttransfer.theory.optimum_path.grid_optima`)."""
    from fasttransfer.theory.optimum_path import grid_optima

    out = load_all(results_dir, configs, log=log)
    out["optima"] = {s: grid_optima(df) for s, df in out["sweeps"].items()}
    return out

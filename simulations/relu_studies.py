"""The studies run on the ReLU engine (simulations.sweep) and where their results come
from: the configurations a claim needs at a preset, and the sweep of each, read from
the committed results bank (paper preset: made on a GPU, never simulated here) or from
the local store under a results folder (run, or reused when finished).

The checks get their data here; the figures read the same entries from the store
(paper_figures.stored) and never run anything.
"""

from __future__ import annotations

from pathlib import Path

from fasttransfer.simulations import relu_config, sweep
from fasttransfer.theory import store
from fasttransfer.theory.errors import InputError

# The SP contrast is not part of the paper's runs: at the paper preset it is read from
# the quick preset (a CPU minute) and labelled so.
SP_PRESET = {"paper": "quick"}
LATE_SHIFT_STUDIES = ("kindex", "kindex-layerwise")


def counterexample_configs(preset: str) -> dict:
    """{"mup": the ReLU counterexample at ``preset``, "sp": its SP contrast}."""
    return {"mup": relu_config.preset(preset, "mup", "relu"),
            "sp": relu_config.preset(SP_PRESET.get(preset, preset), "sp", "relu")}


def late_shift_configs(preset: str) -> dict:
    """{"kindex": the k-index model at ``preset``, "kindex-layerwise": its variant}."""
    return {s: relu_config.preset(preset, "mup", s) for s in LATE_SHIFT_STUDIES}


def load_or_run(root: Path, cfg, *, recompute: bool = False, log=print,
                progress: bool = False):
    """(config, tidy DataFrame, source) for one configuration, from the store under
    ``root``: reused when a finished, current entry is there, else run (finished cells
    kept). A ``paper`` preset is never run here unless ``recompute``: its entry is read
    from ``root`` or the committed results bank (an :class:`InputError` naming the GPU
    script when neither has it). ``source`` says which, with device and date."""
    if cfg.preset == "paper" and not recompute:
        try:
            stored, df, entry = sweep.read_sweep([root, store.BANK], cfg)
        except store.MissingResult as err:
            raise InputError(
                f"{cfg.study_label()}: the paper preset is in neither {root} nor the results "
                f"bank ({err}); it needs a GPU: run benchmarks/relu_paper_gpu.py there and "
                "import it with --import-to") from None
        where = "results bank" if entry.dir.is_relative_to(store.BANK) else "reused"
        return stored, df, f"{where}: {entry.describe()}"
    sweep.run_sweep(cfg, root, recompute=recompute, progress=progress, log=log)
    _, df, entry = sweep.read_sweep(root, cfg)
    return cfg, df[df.width.isin(cfg.widths)], f"store: {entry.describe()}"


def load_all(root: Path, configs: dict, *, recompute: bool = False, log=print,
             progress: bool = False) -> dict:
    """{"sweeps": {key: DataFrame}, "configs": {key: config as stored}, "sources": {key:
    str}} for every configuration of ``configs`` (a dict key -> config)."""
    out = {"sweeps": {}, "configs": {}, "sources": {}}
    for key, cfg in configs.items():
        c, df, src = load_or_run(root, cfg, recompute=recompute, log=log, progress=progress)
        out["sweeps"][key], out["configs"][key], out["sources"][key] = df, c, src
    return out


def late_shift_data(root: Path, configs: dict, *, recompute: bool = False, log=print) -> dict:
    """:func:`load_all` plus "optima": {study: grid optima per width}
    (:func:`fasttransfer.theory.optimum_path.grid_optima`)."""
    from fasttransfer.theory.optimum_path import grid_optima

    out = load_all(root, configs, recompute=recompute, log=log)
    out["optima"] = {s: grid_optima(df) for s, df in out["sweeps"].items()}
    return out

"""What the figures read: finished, current entries of the results store
(:mod:`fasttransfer.store`), under the results folder given or, failing that, in the committed
results bank. Figures are views: nothing here runs a simulation; a missing entry is a
:class:`~fasttransfer.store.MissingResult` that names the command which makes it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fasttransfer import store

# The command that fills each study's entries (for the error when they are missing).
_RELU = "fasttransfer simulate relu --study {study} --preset {preset} --out {root}"
_RFRR = "fasttransfer simulate rfrr --preset {preset} --out {root}"
MAKES = {
    "relu": _RELU,
    "kindex": _RELU,
    "kindex-layerwise": _RELU,
    "coordcheck": "fasttransfer coordcheck --preset {preset} --out {root}",
    "estimators": "fasttransfer verify --only estimators --preset {preset} --out {root}",
    "rfrr": _RFRR,
    "rfrr_constants": _RFRR,
}
DEFAULT_MAKE = "fasttransfer verify --preset {preset} --out {root}"


def entry(results_dir, study: str, preset: str, *key: str) -> store.Entry:
    """The entry ``study/preset/key`` from ``results_dir``, else from the results bank."""
    roots = [Path(results_dir)] if results_dir is not None else []
    try:
        return store.find_entry([*roots, store.BANK], study, preset, *key)
    except store.MissingResult as err:
        make = MAKES.get(study, DEFAULT_MAKE).format(
            study=study, preset=preset, root=results_dir or "results"
        )
        raise store.MissingResult(f"{err}; make it with `{make}`") from None


def sweep_config(e: store.Entry, df) -> SimpleNamespace:
    """A stored sweep's configuration as attributes (``cfg.steps``, ``cfg.preset``), its
    widths those of the stored rows."""
    return SimpleNamespace(
        **e.config,
        preset=e.manifest["preset"],
        widths=tuple(sorted(int(w) for w in df.width.unique())),
    )


def relu_sweeps(results_dir, wanted: dict) -> dict:
    """{"sweeps": {name: DataFrame}, "configs": {name: config}, "sources": {name: where
    it was made}} for ``wanted`` = {name: (study, [preset, fallback preset, ...], param)}:
    the first preset with a stored entry is used."""
    out = {"sweeps": {}, "configs": {}, "sources": {}}
    for name, (study, presets, param) in wanted.items():
        err = None
        for p in presets:
            try:
                e = entry(results_dir, study, p, param)
                break
            except store.MissingResult as missing:
                err = err or missing
        else:
            raise err
        df = e.read_csv("relu_sweep.csv")
        out["sweeps"][name], out["configs"][name] = df, sweep_config(e, df)
        out["sources"][name] = e.describe()
    return out

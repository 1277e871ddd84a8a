"""The ReLU sweep in the results store (:mod:`fasttransfer.store`): running a configuration
into its entry, and reading it back.

Entry: ``ROOT/<study>/<preset>/<key>/`` (study relu | kindex | kindex-layerwise,
:attr:`ReluSweepConfig.study`; key the parametrisation and its variant,
:meth:`ReluSweepConfig.store_key`: "mup" for the paper's, "mup__base_width-128" for
our earlier convention) with

* ``manifest.json`` -- the configuration's :meth:`~ReluSweepConfig.result_key` (every
  field that changes a number, not the widths), the code version of
  :data:`CODE_MODULES`, provenance;
* ``cells/width_<n>.csv`` -- one file per finished width (written atomically: a killed
  run loses no finished cell and leaves no half cell); the widths are the cells, so a
  later run with more widths adds cells to the same entry;
* ``relu_sweep.csv`` -- every finished cell (width, hp, loss, seed, val_se,
  val_se_next; hp = log nu), rewritten after each cell (a run that finds every cell
  done writes nothing);
* ``cells.json`` -- per cell: seconds, devices, engine knobs, JAX version, git commit
  (gathered from each cell's ``cells/width_<n>.json``).

The committed results bank (:data:`fasttransfer.store.BANK`) holds paper-scale entries made on
a GPU (benchmarks/relu_paper_gpu.py).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np

from fasttransfer import store
from fasttransfer.errors import InputError
from fasttransfer.simulations import relu_pack
from fasttransfer.simulations.relu_config import ReluSweepConfig
from fasttransfer.simulations.relu_engine import FRAME_COLUMNS, sweep_frame, train_widths

logger = logging.getLogger(__name__)

CSV_NAME = "relu_sweep.csv"
CELLS_DIR = "cells"
CELLS_LOG = "cells.json"
# The code the stored numbers depend on: the model and its tasks, the muP rules, the
# engine. (The configuration is keyed separately; reading and storing code is not here.)
CODE_MODULES = (
    "fasttransfer.simulations.relu_net",
    "fasttransfer.simulations.mup",
    "fasttransfer.simulations.relu_engine",
    "fasttransfer.simulations.relu_pack",
)


def entry_key(config: ReluSweepConfig) -> tuple[str, str, str]:
    """(study, preset, store key): where ``config``'s sweep lives under a store root."""
    return config.study, config.preset, config.store_key()


def entry_dir(root, config: ReluSweepConfig) -> Path:
    return store.entry_dir(root, *entry_key(config))


def cell_path(entry_dir_: Path, width: int) -> Path:
    return Path(entry_dir_) / CELLS_DIR / f"width_{width}.csv"


def finished_widths(entry_dir_: Path) -> list[int]:
    cells = Path(entry_dir_) / CELLS_DIR
    if not cells.is_dir():
        return []
    out = []
    for p in cells.glob("width_*.csv"):
        try:
            out.append(int(p.stem.split("_", 1)[1]))
        except ValueError:
            continue
    return sorted(out)


def _frame_csv(df) -> str:
    return df.to_csv(index=False, float_format="%.17g", na_rep="nan")


def _cells_frame(entry: store.Entry, widths=None):
    """The finished cells (all, or those among ``widths``) as one frame."""
    import pandas as pd

    done = [w for w in finished_widths(entry.dir) if widths is None or w in set(widths)]
    frames = [pd.read_csv(cell_path(entry.dir, w)) for w in done]
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=list(FRAME_COLUMNS))
    )


def _merge(entry: store.Entry, widths) -> object:
    """Rewrite relu_sweep.csv from every finished cell; the merged frame of ``widths``."""
    df = _cells_frame(entry)
    entry.write_text(CSV_NAME, _frame_csv(df))
    return df[df["width"].isin(list(widths))].reset_index(drop=True)


def _log_cell(
    entry: store.Entry,
    config: ReluSweepConfig,
    width: int,
    seconds: float,
    devices,
    pack: tuple[int, ...] = (),
) -> None:
    """Store one finished cell's record (when, where, with which code and knobs) beside
    its CSV, ``cells/width_<n>.json``: one file per cell, so processes sharing the entry
    never rewrite each other's records (:func:`_fold_cell_logs` gathers them). A cell
    trained in a pack of several widths records the pack, and as its seconds its share
    of the pack's (in proportion to its width)."""
    devs = list(jax.local_devices() if devices is None else devices)
    prov = store.provenance()
    record = {
        "seconds": round(seconds, 3),
        "finished_utc": prov["date_utc"],
        "devices": sorted({f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devs}),
        "n_devices": len(devs),
        "host": prov["host"],
        "jax": jax.__version__,
        "git": prov["git"],
        "engine": {
            k: config.to_json_dict()[k]
            for k in ("seed_block", "memory_mb", "formulation", "pack_neurons", "xla_options")
        },
    }
    if len(pack) > 1:
        record["pack"] = list(pack)
    entry.write_json(f"{CELLS_DIR}/width_{width}.json", record)


def _fold_cell_logs(entry: store.Entry) -> None:
    """Rewrite cells.json as the union of its records and every cell's own record (one
    writer: the process that merges)."""
    path = entry.path(CELLS_LOG)
    try:
        cells = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        cells = {}
    for rec in sorted((entry.dir / CELLS_DIR).glob("width_*.json")):
        cells[rec.stem.split("_", 1)[1]] = json.loads(rec.read_text(encoding="utf-8"))
    entry.write_json(CELLS_LOG, cells)


def open_sweep(config: ReluSweepConfig, root, *, recompute: bool = False) -> store.Entry:
    """The store entry of ``config`` under ``root`` (created, resumed, or
    :class:`~fasttransfer.store.StaleResult` when it holds another configuration or code)."""
    return store.open_entry(
        root,
        *entry_key(config),
        config=config.result_key(),
        modules=CODE_MODULES,
        recompute=recompute,
    )


def _open_shared(
    config: ReluSweepConfig, root, *, recompute: bool, n_proc: int, rank: int
) -> store.Entry:
    """:func:`open_sweep` for one of ``n_proc`` processes sharing ``root``: process 0
    creates (or recomputes) the entry and the others open it after a barrier, so no
    process sees a half-created folder."""
    if n_proc == 1:
        return open_sweep(config, root, recompute=recompute)
    from jax.experimental import multihost_utils

    entry = open_sweep(config, root, recompute=recompute) if rank == 0 else None
    multihost_utils.sync_global_devices("fasttransfer-relu-sweep-open")
    return entry if entry is not None else open_sweep(config, root)


def run_sweep(
    config: ReluSweepConfig,
    root,
    *,
    recompute: bool = False,
    progress: bool = True,
    devices=None,
    on_cell: Callable[[tuple[int, ...], float, list], None] | None = None,
):
    """Train every unfinished width cell of ``config`` into its entry under ``root`` and
    return the merged DataFrame (width, hp, loss, seed, val_se, val_se_next) of
    ``config.widths``. Finished cells are reused (and said so); an entry of another
    configuration or code version is an error unless ``recompute``.

    Under ``jax.distributed`` (process_count P > 1) process p takes the widths with
    index = p mod P (largest first, so the expensive cells spread over the processes),
    trains them on its local devices, and process 0 merges after a barrier.
    Widths are trained in packs of ``config.pack_neurons`` (:mod:`simulations.relu_pack`;
    one width each by default). ``on_cell(pack, seconds, segment_seconds)`` is called
    after each pack's cells are stored (``pack`` a tuple of widths; ``segment_seconds``
    as in :func:`~simulations.relu_engine.train_widths`).
    """
    n_proc, rank = jax.process_count(), jax.process_index()
    entry = _open_shared(config, root, recompute=recompute, n_proc=n_proc, rank=rank)
    done = set(finished_widths(entry.dir))
    order = sorted(config.widths, reverse=True)
    mine = [w for i, w in enumerate(order) if i % n_proc == rank]
    todo = sorted(w for w in mine if w not in done)
    skipped = sorted(w for w in mine if w in done)
    if skipped:
        logger.info(
            "relu sweep (%s): reused finished width(s) %s from %s",
            config.study_label(),
            skipped,
            entry.describe(),
        )
    wall = 0.0
    for pack in relu_pack.packs(todo, config.pack_neurons):
        label = "+".join(map(str, pack))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=config.steps * config.seeds,
                desc=f"{config.study_label()} n={label}",
                unit="step",
                unit_scale=True,
                leave=False,
                dynamic_ncols=True,
                disable=None,  # a bar on a terminal only
            )
        t0 = time.perf_counter()
        seg_times: list = []
        results = train_widths(
            config,
            pack,
            devices=devices,
            progress=(bar.update if bar is not None else None),
            segment_seconds=seg_times if on_cell is not None else None,
        )
        if bar is not None:
            bar.close()
        for width, result in results.items():
            entry.write_text(
                f"{CELLS_DIR}/width_{width}.csv", _frame_csv(sweep_frame(config, width, result))
            )
        seconds = time.perf_counter() - t0
        wall += seconds
        for width in pack:
            _log_cell(entry, config, width, seconds * width / sum(pack), devices, pack)
        n_nan = sum(int(np.isnan(r.loss).sum()) for r in results.values())
        logger.info(
            "relu sweep (%s): width %s done in %.1fs%s",
            config.study_label(),
            label,
            seconds,
            f", {n_nan} diverged run(s)" if n_nan else "",
        )
        if rank == 0:  # one writer of the merged files
            _fold_cell_logs(entry)
            _merge(entry, config.widths)
        if on_cell is not None:
            on_cell(pack, seconds, seg_times)
    if n_proc > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("fasttransfer-relu-sweep-done")
    if rank != 0 and n_proc > 1:
        return None
    if not todo and entry.complete:  # reused: reading never writes
        return _cells_frame(entry, config.widths)
    _fold_cell_logs(entry)
    df = _merge(entry, config.widths)
    store.finish(entry, wall_s=wall, widths=finished_widths(entry.dir))
    return df


def read_sweep(roots, config: ReluSweepConfig):
    """(configuration, tidy frame, entry) of ``config``'s finished entry under ``roots``
    (one store root, or several tried in order, e.g. an output folder then the bank);
    the configuration's widths are those of the stored cells (a subset of, or more than,
    ``config.widths``). Missing, unfinished or stale entries raise the store's errors."""
    roots = [roots] if isinstance(roots, (str, Path)) else list(roots)
    entry = store.find_entry(roots, *entry_key(config), config=config.result_key())
    df = entry.read_csv(CSV_NAME)
    missing = {"width", "hp", "loss", "seed"} - set(df.columns)
    if missing:
        raise InputError(f"{entry.path(CSV_NAME)}: missing column(s) {sorted(missing)}")
    widths = tuple(sorted(int(w) for w in df.width.unique()))
    return config.replace(widths=widths), df, entry

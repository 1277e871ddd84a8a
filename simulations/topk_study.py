"""The top-k trajectory decomposition study (the paper's Section 4) on its settings
(:data:`SETTING_CODE`): the ReLU net of the paper's Figure 5 ("relu"), the muP MLP on MNIST-1D with
Adam ("mlp"), the paper's CIFAR-like contrast on MNIST-1D (2-layer ReLU MLP without
biases, SGD with momentum: "mlp_sgd") and the muP Llama-style transformer under Adam
("transformer") and Muon ("transformer_muon"); :data:`PRESET_SETTINGS` says which a
preset runs.

Per setting, a results-store entry ``ROOT/topk/<preset>/<setting>/`` (keyed on the
configuration and the code of :data:`CODE_MODULES`, see :mod:`fasttransfer.store`) with

* ``variants.csv``: how much our recorder variants (trapezoid rule, constant decay 0.95,
  vectors decomposed, the other record interval) change one run's decomposition against
  the published one the sweep uses (:func:`variants_table`), at the
  second-narrowest width and a large learning rate (where Adam oscillates most);
* ``cells/w<width>_{final,profile,curves,transfer}.csv`` + ``cells/w<width>.done``
  (written last): one cell per width, each file atomic, so an interrupted run loses no
  finished width and a finished one is never recomputed; a width trained in parts (a
  GPU lease too short for it) holds ``cells/w<width>_part<j>_*`` until its last part,
  then they are merged into its cell (:func:`_train_width`);
* ``final.csv`` (width, hp, seed, loss, raw_loss, loss0, linearised, faithfulness),
  ``profile.csv`` (width, hp, seed, k, topk, residual), ``curves.csv`` (width, hp, seed,
  k, step, loss, linearised, topk, residual): the recorded seeds;
* ``transfer.csv`` (width, hp, seed, loss, raw_loss, recorded): the transfer sweep, the
  recorded seeds and the configuration's ``transfer_seeds`` (an optional field: seeds
  trained without records, :func:`transfer_frame`), and ``sweep.csv`` (its width, hp,
  loss, seed: what ``fasttransfer analyze`` reads and the transfer verdict uses);
Algorithm 1 (:func:`theory.algorithm1.kappa_summary`: kappa_hat per width and learning
rate, the fixed kappa of the figures, the decomposition rate table) and the Hypothesis 1
statistics are computed from these frames when they are read, never stored: the entry
holds what training produced, keyed on the code that produced it, so editing a statistic
leaves every entry (the transformers' GPU runs included) current.

hp is the natural log of the scale-free learning rate nu.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fasttransfer import store

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    import pandas as pd

STUDY = "topk"
# setting -> (configuration class, problem function, the modules its numbers depend on
# besides CODE_MODULES), as "module:attribute" paths, imported when used (the transformer
# pulls in nothing until asked for). Every configuration class has presets quick / cpu /
# paper and the fields widths, lrs, seeds, steps, dtype and the recorder's (optionally
# transfer_seeds: seeds trained without records for the transfer verdict, see transfer_frame).
_SIM = "fasttransfer.simulations."
SETTING_CODE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "relu": (
        _SIM + "topk_training:ReluTopkConfig",
        _SIM + "topk_training:relu_problem",
        (_SIM + "relu_net",),
    ),
    "mlp": (_SIM + "mlp_mnist1d:MLPConfig", _SIM + "mlp_mnist1d:problem", (_SIM + "mlp_mnist1d",)),
    "mlp_sgd": (
        _SIM + "mlp_sgd:SGDMLPConfig",
        _SIM + "mlp_sgd:problem",
        (_SIM + "mlp_sgd", _SIM + "mlp_mnist1d"),
    ),
    "transformer": (
        _SIM + "transformer:TransformerConfig",
        _SIM + "transformer:problem",
        (_SIM + "transformer", _SIM + "text_corpus"),
    ),
    "transformer_muon": (
        _SIM + "transformer:MuonTransformer",
        _SIM + "transformer:problem",
        (_SIM + "transformer", _SIM + "text_corpus"),
    ),
}
SETTINGS = tuple(SETTING_CODE)
# The settings a preset runs by default: the transformers' compilation alone takes minutes
# on a CPU, so the quick preset leaves them out (their smoke runs are tests); cpu leaves
# them out too: its 15 minutes go to the MNIST-1D MLP's 48 seeds, which its transfer
# verdict needs, while the transformer's cpu preset (3 min) is a reduced regime that
# decides nothing (``--settings transformer`` still runs it). The transformers run where
# they fit (a GPU).
PRESET_SETTINGS = {
    "quick": ("relu", "mlp", "mlp_sgd"),
    "cpu": ("relu", "mlp", "mlp_sgd"),
    "gpu": ("transformer", "transformer_muon"),  # about 8 min each, one H100
    "paper": SETTINGS,
}
# The code every setting's stored numbers depend on (the results store's code version).
CODE_MODULES = (
    _SIM + "topk_study",
    _SIM + "recorder",
    _SIM + "topk_training",
    _SIM + "alignment",
    _SIM + "mup",
)
K_CURVES = (1, 4, 16, 60)
# Where the recorder variants are measured: each variant is one more compiled run, which
# for the transformers costs about a minute on a CPU; the MLPs measure the recorder.
VARIANT_SETTINGS = frozenset({"relu", "mlp", "mlp_sgd"})


class Deferred(Exception):
    """A caller's ``lanes_now`` gave no lane to train (:func:`simulate_setting`): the
    entry stays unfinished, with every width and part finished so far."""


def finished_widths(entry_dir: Path) -> list[int]:
    """The widths whose cells an entry folder holds (``cells/w<width>.done``)."""
    return sorted(int(p.stem[1:]) for p in Path(entry_dir).glob("cells/w*.done"))


def _load(path: str):
    import importlib

    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def check_settings(settings) -> tuple[str, ...]:
    """``settings`` as a tuple, validated: a non-empty subset of :data:`SETTINGS`, each
    named once (:class:`InputError` otherwise)."""
    from fasttransfer.errors import InputError

    settings = tuple(settings)
    bad = [s for s in settings if s not in SETTING_CODE]
    if bad or not settings:
        raise InputError(
            f"settings must be a non-empty subset of {SETTINGS}, got {list(settings)}",
            param="settings",
        )
    twice = sorted({s for s in settings if settings.count(s) > 1})
    if twice:
        raise InputError(
            f"each setting at most once, got {', '.join(twice)} more than once", param="settings"
        )
    return settings


def configs(
    preset: str, *, settings=None, widths=None, seeds=None, steps=None, n_lrs=None, dtype=None
) -> dict:
    """The frozen configurations of the settings named (default: the preset's,
    :data:`PRESET_SETTINGS`) for a preset (flags override)."""
    import numpy as np

    settings = PRESET_SETTINGS.get(preset, SETTINGS) if settings is None else settings
    out = {s: _load(SETTING_CODE[s][0]).from_preset(preset) for s in check_settings(settings)}
    for name, cfg in out.items():
        over = {}
        if widths is not None:
            over["widths"] = tuple(int(w) for w in widths)
        if seeds is not None:
            over["seeds"] = tuple(range(int(seeds)))
            extra = len(getattr(cfg, "transfer_seeds", ()))
            if extra:  # as many unrecorded seeds as before, after the recorded ones
                over["transfer_seeds"] = tuple(range(int(seeds), int(seeds) + extra))
        if steps is not None:
            over["steps"] = int(steps)
        if dtype is not None:
            over["dtype"] = str(dtype)
        if n_lrs is not None:
            lo, hi = np.log10(cfg.lrs[0]), np.log10(cfg.lrs[-1])
            over["lrs"] = tuple(float(x) for x in np.logspace(lo, hi, int(n_lrs)))
        out[name] = replace(cfg, **over)
    return out


def problem_for(setting: str, width: int, cfg):
    """The setting's :class:`simulations.topk_training.Problem` at one width."""
    return _load(SETTING_CODE[check_settings([setting])[0]][1])(width, cfg)


def variants_table(setting: str, cfg, entry: store.Entry) -> pd.DataFrame:
    """How much our recorder variants change one run's decomposition
    (:func:`simulations.topk_training.variant_effects`: trapezoid rule, constant decay,
    vectors decomposed, the other interval), at the second-narrowest width and a large
    learning rate (the third-largest of the grid: where Adam oscillates most) with the
    first seed; kept in the entry's variants.csv, so a resumed run does not redo it."""
    from fasttransfer.simulations.topk_training import recorder_config, variant_effects

    if entry.path("variants.csv").exists():
        return entry.read_csv("variants.csv")
    width = cfg.widths[1] if len(cfg.widths) > 1 else cfg.widths[0]
    lr = cfg.lrs[max(len(cfg.lrs) - 3, 0)]
    logger.info("  [%s] recorder variants at width %s, nu = %.3g", setting, width, lr)
    df = variant_effects(
        problem_for(setting, width, cfg),
        lr,
        cfg.seeds[0],
        steps=cfg.steps,
        base=recorder_config(cfg),
    )
    df.insert(0, "width", width)
    df.insert(1, "lr", lr)
    entry.write_csv("variants.csv", df, float_format="%.10g")
    return df


FRAMES = ("final", "profile", "curves", "transfer")


def transfer_frame(width: int, cfg, final, prob, rc) -> pd.DataFrame:
    """One width's rows of the transfer sweep: the recorded seeds' final losses (from
    ``final``) and those of ``cfg.transfer_seeds`` (trained without records,
    :func:`simulations.topk_training.final_losses`; same training, so seed s is the same
    run either way). Columns width, hp, seed, loss (phi(wbar_T)), raw_loss (phi(w_T)),
    recorded (bool)."""
    import numpy as np
    import pandas as pd

    from fasttransfer.simulations.topk_training import final_losses

    cols = ["width", "hp", "seed", "loss", "raw_loss"]
    parts = [final[cols].assign(recorded=True)]
    extra = tuple(getattr(cfg, "transfer_seeds", ()))
    if extra:
        res = final_losses(prob, cfg.lrs, extra, steps=cfg.steps, config=rc)
        hp = np.log(np.asarray(cfg.lrs, float))
        parts.append(
            pd.DataFrame(
                {
                    "width": width,
                    "hp": np.repeat(hp, len(extra)),
                    "seed": np.tile(np.asarray(extra), len(hp)),
                    "loss": res["loss"].ravel(),
                    "raw_loss": res["final_raw"].ravel(),
                    "recorded": False,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def simulate_setting(
    setting: str,
    cfg,
    root: Path,
    preset: str,
    *,
    progress: bool = True,
    recompute: bool = False,
    variants: bool = True,
    stored_only: bool = False,
    lanes_now: Callable[[int, int], int] | None = None,
    on_part: Callable[[int, int, float], None] | None = None,
) -> dict:
    """Run (or resume, or reuse) one setting in its store entry; returns its frames
    ({"final", "profile", "curves", "transfer"}, "variants": the recorder variants' table
    or None),
    the recorder configuration used ("recorder"), the configuration and Algorithm 1's
    output ("kappa": :func:`theory.algorithm1.kappa_summary`, computed when read).

    variants=False skips the recorder-variants table (tiny runs); stored_only:
    never train, read the finished entry from ``root`` or the results bank (raises
    :class:`fasttransfer.store.MissingResult` or :class:`fasttransfer.store.StaleResult`).
    ``lanes_now(width, lanes_left)``, asked before each part of a width still to train,
    says how many of its (learning rate, seed) lanes to train now (default: all): a part
    (:func:`_train_width`); 0 stops the run with :class:`Deferred`, its entry unfinished,
    every finished width and part kept (a later call resumes it).
    ``on_part(width, lanes, seconds)`` is called after each part is stored (e.g. a GPU
    lease keeping its budget and packing its entry as it grows)."""
    import pandas as pd
    from tqdm import tqdm

    from fasttransfer.simulations.topk_training import recorder_config
    from fasttransfer.theory.algorithm1 import kappa_summary

    def run(entry: store.Entry) -> dict:
        if variants and setting in VARIANT_SETTINGS:
            variants_table(setting, cfg, entry)
        rc = recorder_config(cfg)
        frames: dict[str, list] = {k: [] for k in FRAMES}
        for width in tqdm(cfg.widths, desc=f"topk {setting}", disable=None if progress else True):
            names = {k: f"cells/w{width}_{k}.csv" for k in FRAMES}
            if entry.path(f"cells/w{width}.done").exists():
                for k, name in names.items():
                    frames[k].append(entry.read_csv(name))
                continue
            tidy, whole = _train_width(entry, setting, cfg, rc, width, lanes_now, on_part)
            for k, name in names.items():
                entry.write_csv(name, tidy[k], float_format="%.10g")
                frames[k].append(tidy[k])
            entry.write_text(f"cells/w{width}.done", "")
            for part in entry.dir.glob(f"cells/w{width}_part*"):  # merged into the cell
                part.unlink()
            if whole is not None and on_part is not None:  # told once the cell is stored
                on_part(width, *whole)
        result = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
        for k, df in result.items():
            entry.write_csv(f"{k}.csv", df, float_format="%.10g")
        entry.write_csv(
            "sweep.csv", result["transfer"][["width", "hp", "loss", "seed"]], float_format="%.10g"
        )
        made = {"recorder": _jsonable(asdict(rc)), "k_curves": list(K_CURVES)}
        if hasattr(cfg, "corpus"):  # the text depends on the Python that ships it
            from fasttransfer.simulations.text_corpus import corpus_info

            made["corpus"] = corpus_info(cfg.corpus)
        return made

    config = entry_config(setting, cfg, variants)
    if stored_only:  # e.g. the paper preset on a CPU: the store, then the bank, or nothing
        entry = store.find_entry([root, store.BANK], STUDY, preset, setting, config=config)
        logger.info("reused %s", entry.describe())
    else:
        entry = store.reuse_or_run(
            root,
            STUDY,
            preset,
            setting,
            config=config,
            modules=entry_modules(setting),
            run=run,
            recompute=recompute,
        )
    out = {k: entry.read_csv(f"{k}.csv") for k in FRAMES}
    out["variants"] = (
        entry.read_csv("variants.csv") if entry.path("variants.csv").exists() else None
    )
    out["recorder"] = entry.manifest["result"]["recorder"]
    out["kappa"] = kappa_summary(out["profile"], out["final"])  # computed when read
    out["config"] = cfg
    out["source"] = entry.describe()
    return out


def _train_width(entry: store.Entry, setting: str, cfg, rc, width: int, lanes_now, on_part):
    """One width's frames (final, profile, curves, transfer), trained in parts, and
    (lanes, seconds) when it was trained whole in this call (else None: each part was
    reported to ``on_part`` as it was stored).

    A part is a rectangle of the width's lanes, the (learning rate, seed) pairs: whole
    seeds (every learning rate), or a run of one seed's learning rates, in seed-major
    order; its size is ``lanes_now(width, lanes_left)`` (None: the whole width at once).
    Every lane is an independent run (vmapped), so the parts' rows are the whole width's,
    up to float rounding of differently batched products. Each part but a whole width
    is stored as ``cells/w<width>_part<j>_<frame>.csv`` with ``cells/w<width>_part<j>.json``
    (its lanes, written last), so a run stopped between parts resumes after the last."""
    import pandas as pd

    from fasttransfer.simulations.topk_training import run_width, tidy_results

    n_lr, n_seed = len(cfg.lrs), len(cfg.seeds)
    parts = _parts(entry.dir, width)
    done = lanes_done(entry.dir, width)
    prob, whole, t0 = None, False, time.perf_counter()
    while len(done) < n_lr * n_seed:
        left = [(s, i) for s in range(n_seed) for i in range(n_lr) if (s, i) not in done]
        k = len(left) if lanes_now is None else int(lanes_now(width, len(left)))
        if k <= 0:
            raise Deferred(f"topk {setting}: width {width} deferred, {entry.describe()}")
        seeds, lrs = _next_part(left, min(k, len(left)), n_lr)
        prob = prob or problem_for(setting, width, cfg)
        t0 = time.perf_counter()
        res = run_width(
            prob,
            [cfg.lrs[i] for i in lrs],
            [cfg.seeds[s] for s in seeds],
            steps=cfg.steps,
            config=rc,
        )
        tidy = tidy_results(
            width, [cfg.lrs[i] for i in lrs], [cfg.seeds[s] for s in seeds], res, k_curves=K_CURVES
        )
        whole = not done and len(seeds) * len(lrs) == n_lr * n_seed
        if whole:  # one part: nothing to merge
            final = tidy
            break
        j = len(parts)
        for name in ("final", "profile", "curves"):
            entry.write_csv(f"cells/w{width}_part{j}_{name}.csv", tidy[name], float_format="%.10g")
        marker = entry.dir / "cells" / f"w{width}_part{j}.json"
        store.atomic_write_json(marker, {"seeds": seeds, "lrs": lrs})
        parts.append(marker)
        done |= {(s, i) for s in seeds for i in lrs}
        if on_part is not None:
            on_part(width, len(seeds) * len(lrs), time.perf_counter() - t0)
    else:
        final = {
            name: _canonical(
                pd.concat(
                    [entry.read_csv(f"cells/{p.stem}_{name}.csv") for p in parts],
                    ignore_index=True,
                ),
                cfg,
            )
            for name in ("final", "profile", "curves")
        }
    timing = (n_lr * n_seed, time.perf_counter() - t0) if whole else None
    if getattr(cfg, "transfer_seeds", ()) and prob is None:
        prob = problem_for(setting, width, cfg)
    final["transfer"] = transfer_frame(width, cfg, final["final"], prob, rc)
    return final, timing


def _parts(entry_dir: Path, width: int) -> list[Path]:
    """The finished parts' markers of a width, in the order they were made."""
    found = Path(entry_dir).glob(f"cells/w{width}_part*.json")
    return sorted(found, key=lambda p: int(p.stem.split("_part")[1]))


def lanes_done(entry_dir: Path, width: int) -> set[tuple[int, int]]:
    """The (seed position, learning-rate position) lanes of a width that an unfinished
    entry's parts hold (:func:`_train_width`)."""
    import json

    done = set()
    for p in _parts(entry_dir, width):
        lanes = json.loads(p.read_text(encoding="utf-8"))
        done |= {(s, i) for s in lanes["seeds"] for i in lanes["lrs"]}
    return done


def _next_part(left: list[tuple[int, int]], k: int, n_lr: int) -> tuple[list, list]:
    """(seed positions, learning-rate positions) of the next part of at most k lanes from
    ``left`` (seed-major, learning rates ascending): whole seeds while k allows, else a
    run of the first seed's learning rates."""
    # the lanes are always taken from the front in this order, so every seed after the
    # first one left is whole
    s0 = left[0][0]
    first = [i for s, i in left if s == s0]
    if len(first) < n_lr or k < n_lr:
        return [s0], first[:k]
    return sorted({s for s, _ in left})[: k // n_lr], list(range(n_lr))


def _canonical(df, cfg):
    """A width's rows in the order one whole run gives them: learning rate, then seed
    (then k, or k first and step last for the curves)."""
    import numpy as np

    log_lrs = np.log(np.asarray(cfg.lrs, dtype=float))
    # the stored hp has 10 significant digits: the nearest grid point is its learning rate
    lr_pos = np.abs(df["hp"].to_numpy(float)[:, None] - log_lrs[None, :]).argmin(axis=1)
    seed = {int(s): i for i, s in enumerate(cfg.seeds)}
    keys = df.assign(_lr=lr_pos, _seed=df["seed"].map(seed))
    if "step" in df:
        order = ["k", "_lr", "_seed", "step"]
        keys["k"] = keys["k"].map({k: i for i, k in enumerate(K_CURVES)})
    else:
        order = ["_lr", "_seed", *(["k"] if "k" in df else [])]
    idx = keys.sort_values(order, kind="stable").index
    return df.loc[idx].reset_index(drop=True)


def entry_config(setting: str, cfg, variants: bool = True) -> dict:
    """The configuration a setting's store entry is keyed on."""
    return {"setting": setting, **_jsonable(asdict(cfg)), "variants": variants}


def entry_modules(setting: str) -> tuple[str, ...]:
    """The modules whose code a setting's stored numbers depend on."""
    return CODE_MODULES + SETTING_CODE[setting][2]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def simulate(
    root: Path,
    preset: str = "quick",
    *,
    settings=None,
    progress: bool = True,
    recompute: bool = False,
    variants: bool = True,
    label: str | None = None,
    cfgs: dict | None = None,
    stored_only: bool = False,
    **overrides,
) -> dict:
    """The settings named (default: the preset's, :data:`PRESET_SETTINGS`) of ``preset`` with ``overrides`` (or the given
    ``cfgs``: {setting: configuration}), each in its entry ROOT/topk/<label>/<setting>
    (label: the preset's name unless given): {setting: frames} (:func:`simulate_setting`)."""
    if cfgs is None:
        cfgs = configs(preset, settings=settings, **overrides)
    settings = check_settings(cfgs)
    return {
        s: simulate_setting(
            s,
            cfgs[s],
            Path(root),
            label or preset,
            progress=progress,
            recompute=recompute,
            variants=variants,
            stored_only=stored_only,
        )
        for s in settings
    }

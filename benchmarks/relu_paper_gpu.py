"""The paper-scale runs on one GPU, with the engine measured against the GPU's limits.

One prepared script for a lent accelerator (one short call):

1. the GPU's limits: float32 GEMM peak (8192^3, full f32 and TF32 for reference) and
   device-to-device copy bandwidth (bytes read + written);
2. the baseline: a sequential PyTorch loop (torch.optim.Adam, TF32 off) on the same GPU
   at widths 256, 1024, 4096, in the paper's regime (d = 64, BCE, batch 256);
3. the ``paper`` presets of ``simulations.relu_config`` in order of priority: ``relu`` (the
   ReLU counterexample, Figure 5), ``kindex`` (the late shift, Figure 2) and
   ``kindex-layerwise``; widths from small to large, each cell stored as it finishes.
   A width whose predicted time (from the throughput measured so far) would pass
   ``--budget-s`` is not started: the store is resumable, so a later run finishes it.
   Every cell records its segment times: the steady-state throughput (segments after
   the first, which compiles) gives config-steps/s, achieved GFLOP/s from the FLOP model
   of benchmarks/relu_sweep.py, its fraction of the measured GEMM peak, and the
   projected wall time of the whole preset.

Measured on an H100 (results_bank/runs/): keep XLA's GEMM autotuning on (the default).
Turned off (XLA_FLAGS=--xla_gpu_autotune_level=0, tried in the first run to save
compile time) a step at n = 4096 took 3.5x longer; ``--ab-width`` times the variants.

Everything it writes goes to ``--out`` (default $OUT), at most eight files as the device
tool returns: ``<study>.csv`` (the merged CSV of the study's store entry, rewritten
after every cell), ``runs.json`` (configurations, each entry's manifest and cell log,
timings, limits, baseline) and ``log.txt``. ``--import-to results_bank DIR`` merges such
a folder into the results bank's entries (``results_bank/<study>/paper/mup/``; the same
configuration and code version required), which ``verify`` re-analyses on any CPU.

    pip install --no-deps --no-build-isolation -e .    # once (else the folders are mapped)
    python benchmarks/relu_paper_gpu.py --out $OUT --budget-s 480
    python benchmarks/relu_paper_gpu.py --tiny --out /tmp/x     # CPU smoke test, seconds

The LAST line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/relu_sweep.py


def ensure_project_importable() -> None:
    """The folders are subpackages of fasttransfer once the project is installed. Where
    it is not (a lent GPU with no network, whose setuptools may be older than the build
    needs), map them as the editable install does: the repository root joins
    fasttransfer's package path, so ``fasttransfer.simulations`` is ``simulations/``."""
    if (
        importlib.util.find_spec("fasttransfer") is not None
        and importlib.util.find_spec("fasttransfer.simulations") is not None
    ):
        return
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    import fasttransfer

    fasttransfer.__path__.append(root)


ensure_project_importable()

STUDIES = ("relu", "kindex", "kindex-layerwise")
TORCH_WIDTHS = (256, 1024, 4096)
TINY_WIDTHS = (16, 32, 64)


_median = statistics.median_high  # a measured time, not an average of two


def _seconds(fn, *args, reps: int) -> float:
    """Median wall time of ``fn(*args)`` (a jitted call) after one warm-up call."""
    fn(*args).block_until_ready()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn(*args).block_until_ready()
        times.append(time.perf_counter() - t)
    return _median(times)


def gpu_limits(tiny: bool) -> dict:
    """Measured float32 GEMM rate (full f32 and TF32) and copy bandwidth, with JAX."""
    import jax
    import jax.numpy as jnp

    out = {}
    n, reps = (1024, 3) if tiny else (8192, 10)
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    # HIGHEST: full float32 products (the engine's setting); DEFAULT: what XLA picks
    # for float32 without a request (TF32 on recent NVIDIA GPUs), for reference
    for name, prec in (("f32", jax.lax.Precision.HIGHEST), ("default", jax.lax.Precision.DEFAULT)):
        f = jax.jit(lambda u, v, p=prec: jax.lax.dot(u, v, precision=p))
        out[f"gemm_{name}_gflops"] = 2 * n**3 / _seconds(f, a, b, reps=reps) / 1e9
    m = 2**20 if tiny else 2**28  # 1 GiB of float32
    x = jax.random.normal(jax.random.PRNGKey(2), (m,), jnp.float32)
    g = jax.jit(lambda v: v * 1.0001)
    out["copy_bandwidth_gbs"] = 2 * 4 * m / _seconds(g, x, reps=reps) / 1e9
    out["gemm_size"] = n
    out["gemm_peak_gflops"] = out["gemm_f32_gflops"]  # the engine runs full f32 products
    return out


def torch_baseline(cfg, tiny: bool, log) -> dict:
    """Sequential torch loop on the GPU (or the CPU when no GPU): config-steps/s."""
    try:
        import torch
    except ImportError as err:
        return {"skipped": f"torch not importable ({err})"}
    from relu_sweep import torch_loop

    device = "cuda" if torch.cuda.is_available() else "cpu"
    steps = 20 if tiny else 300
    out = {"device": device, "steps": steps}
    for w in (32, 64) if tiny else TORCH_WIDTHS:
        c = cfg.replace(steps=steps, test_size=min(cfg.test_size, 2**14))
        torch_loop(c.replace(steps=10), w, c.lrs()[:1], [0], device=device)  # warm-up
        sec, _ = torch_loop(c, w, c.lrs()[:1], [0], device=device)
        out[str(w)] = {"config_steps_per_s": steps / sec}
        log(f"torch {device} n={w}: {steps / sec:.0f} config-steps/s")
    return out


# Engine variants timed before the production cells (same numbers up to float rounding:
# the formulation of two contractions, and XLA's GEMM autotuning / Triton GEMMs); the
# fastest runs the cells. The TF32 row is timed for the record only (other numbers).
VARIANTS = (
    ("dot", (("xla_gpu_autotune_level", "0"),)),
    ("reduce", (("xla_gpu_autotune_level", "0"),)),
    ("dot", ()),
    ("reduce", ()),
    ("dot", (("xla_gpu_enable_triton_gemm", "false"),)),
    ("reduce", (("xla_gpu_enable_triton_gemm", "false"),)),
)


def time_variants(base, width: int, log, tiny: bool) -> list[dict]:
    """Seconds per step of each engine variant at ``width`` (median over segments after
    the compiling one), and the TF32 product precision for reference."""
    from fasttransfer.simulations import relu_engine

    cfg = base.replace(widths=(width,), steps=64 if tiny else 160, test_size=2**12)
    rows = []
    variants = [*list(VARIANTS), ("best-tf32", None)]
    for form, opts in variants:
        if form == "best-tf32":
            exact = [r for r in rows if "s_per_step" in r]
            if not exact:
                break
            best = min(exact, key=lambda r: r["s_per_step"])
            c = cfg.replace(
                formulation=best["formulation"],
                xla_options=tuple(best["xla_options"]),
                matmul_precision="tensorfloat32",
            )
        else:
            c = cfg.replace(formulation=form, xla_options=opts)
        seg: list = []
        t = time.perf_counter()
        try:
            relu_engine.train_width(c, width, segment_seconds=seg)
        except Exception as err:  # an option this XLA does not know: skip the variant
            rows.append(
                {
                    "formulation": c.formulation,
                    "xla_options": [list(o) for o in c.xla_options],
                    "precision": c.matmul_precision,
                    "error": f"{type(err).__name__}: {err}"[:300],
                }
            )
            log(
                f"variant {c.formulation} {dict(c.xla_options)} {c.matmul_precision}: failed ({err})"[
                    :400
                ]
            )
            continue
        total = time.perf_counter() - t
        per_step = _median(seg[1:-1]) / relu_engine._segment_length(c.steps)
        rows.append(
            {
                "formulation": c.formulation,
                "xla_options": [list(o) for o in c.xla_options],
                "precision": c.matmul_precision,
                "s_per_step": per_step,
                "first_segment_s": seg[0],
                "total_s": total,
            }
        )
        log(
            f"variant {c.formulation} {dict(c.xla_options)} {c.matmul_precision}: "
            f"{1e3 * per_step:.3f} ms/step at n={width} ({c.n_lrs * c.seeds} configs), "
            f"first segment {seg[0]:.1f}s"
        )
    return rows


def paper_config(study: str, tiny: bool = False):
    """The study's paper preset, or its tiny stand-in (a CPU smoke test: widths 16, 32
    and 64, the first two in one pack, 64 steps, 4 learning rates)."""
    from fasttransfer.simulations import relu_config

    cfg = relu_config.ReluSweepConfig.from_preset("paper", study=study)
    if not tiny:
        return cfg
    return cfg.replace(widths=TINY_WIDTHS, pack_neurons=48, steps=64, test_size=2**12, n_lrs=4)


def _cells(args, tiny: bool) -> list[tuple[str, int]]:
    """The (study, width) cells in order of priority: --cells, else every study's widths."""
    from fasttransfer.simulations import relu_config

    if args.cells:
        out = []
        for item in args.cells.split(","):
            study, _, w = item.partition(":")
            if study not in STUDIES or not w.isdigit():
                raise SystemExit(f"--cells: expected STUDY:WIDTH, got {item!r}")
            out.append((study, int(w)))
        return out
    return [
        (s, w)
        for s in args.studies
        for w in sorted(
            TINY_WIDTHS
            if tiny
            else relu_config.ReluSweepConfig.from_preset("paper", study=s).widths
        )
    ]


def _groups(cells, tiny: bool, engine: dict) -> list[tuple[str, tuple[int, ...]]]:
    """The cells as programs: consecutive cells of one study packed by its preset's
    ``pack_neurons`` (:func:`simulations.relu_pack.packs`), in order of priority."""
    from itertools import groupby

    from fasttransfer.simulations import relu_pack

    out = []
    for study, run_ in groupby(cells, key=lambda c: c[0]):
        cfg = paper_config(study, tiny).replace(**engine)
        out += [(study, p) for p in relu_pack.packs([w for _, w in run_], cfg.pack_neurons)]
    return out


def run(args) -> dict:
    import jax
    from relu_sweep import bytes_per_config_step, flops_per_config_step

    from fasttransfer import store as store_mod
    from fasttransfer.simulations import relu_config, relu_engine, sweep
    from fasttransfer.store import atomic_write_json

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logf = open(out / "log.txt", "a", encoding="utf-8")
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        line = f"[{time.perf_counter() - t_start:7.1f}s] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    devs = jax.devices()
    summary = {
        "devices": [f"{d.platform}:{getattr(d, 'device_kind', '?')}" for d in devs],
        "jax": jax.__version__,
        "budget_s": args.budget_s,
        "studies": {},
    }
    log(f"jax {jax.__version__} on {summary['devices']}")

    def save() -> None:
        atomic_write_json(out / "runs.json", summary)

    if args.limits_json:
        prev = json.loads(Path(args.limits_json).read_text())
        summary["limits"] = dict(prev["limits"], reused_from=str(args.limits_json))
        if "torch_loop" in prev:
            summary["torch_loop"] = dict(prev["torch_loop"], reused_from=str(args.limits_json))
    else:
        summary["limits"] = gpu_limits(args.tiny)
    log(f"limits: {json.dumps({k: v for k, v in summary['limits'].items()})}")
    save()
    if not args.skip_torch and "torch_loop" not in summary:
        summary["torch_loop"] = torch_baseline(
            relu_config.ReluSweepConfig.from_preset("paper"), args.tiny, log
        )
        save()
    peak = summary["limits"]["gemm_peak_gflops"]
    bw = summary["limits"]["copy_bandwidth_gbs"]
    engine = {}
    sec_per_unit = None  # seconds per (config * width * step), from the timings so far
    largest = [0]  # units of the cell that set sec_per_unit
    if args.ab_width:
        base = relu_config.ReluSweepConfig.from_preset("paper")
        if args.tiny:
            base = base.replace(n_lrs=4)
        summary["variants"] = time_variants(base, args.ab_width, log, args.tiny)
        exact = [
            r for r in summary["variants"] if "s_per_step" in r and r["precision"] == "float32"
        ]
        if exact:
            best = min(exact, key=lambda r: r["s_per_step"])
            engine = {
                "formulation": best["formulation"],
                "xla_options": tuple(tuple(o) for o in best["xla_options"]),
            }
            log(f"engine for the cells: {engine}")
            # first guess of the cells' cost, refined by every finished cell
            sec_per_unit = best["s_per_step"] / (base.n_lrs * base.seeds * args.ab_width)
        save()
    estimates = getattr(args, "estimates", None) or {}
    for study, pack in _groups(_cells(args, args.tiny), args.tiny, engine):
        cfg = paper_config(study, args.tiny).replace(**engine)
        store = Path(args.store)  # the store's root; the entry is <study>/paper/mup
        configs = cfg.n_lrs * cfg.seeds
        rec = summary["studies"].setdefault(
            study,
            {"config": cfg.to_json_dict(), "describe": cfg.describe(), "cells": {}, "skipped": []},
        )
        # the prediction: this run's measured rate once it has one, else the queue's
        # estimate from the bank's throughput (benchmarks/gpu_queue.py); a pack's is the
        # sum of its widths' (measured alone: an upper bound)
        if sec_per_unit is not None:
            pred = sec_per_unit * configs * sum(pack) * cfg.steps + 3.0
        elif all(estimates.get((study, w)) is not None for w in pack):
            pred = sum(estimates[(study, w)] for w in pack)
        else:
            pred = None
        label = "+".join(map(str, pack))
        if pred is not None and time.perf_counter() - t_start + pred > args.budget_s:
            rec["skipped"].extend(pack)
            log(f"{study} n={label}: skipped (predicted {pred:.0f}s, budget)")
            continue

        def on_cell(
            widths, seconds, seg, cfg=cfg, rec=rec, configs=configs, store=store, study=study
        ):
            nonlocal sec_per_unit
            seg_len = relu_engine._segment_length(cfg.steps)
            steady = _median(seg[1:-1]) if len(seg) > 2 else seg[0]
            tp = configs * seg_len / steady  # config-steps/s, steady state, of the pack
            fl = sum(flops_per_config_step(w, cfg.batch, cfg.d) for w in widths)
            by = sum(bytes_per_config_step(w, cfg.batch, cfg.d) for w in widths)
            timing = {
                "pack_seconds": round(seconds, 3),
                "first_segment_s": round(seg[0], 3),
                "eval_s": round(seg[-1], 3),
                "steady_config_steps_per_s": round(tp, 1),
                "gflops": round(tp * fl / 1e9, 1),
                "gemm_fraction": round(tp * fl / 1e9 / peak, 4),
                "bandwidth_fraction_of_least_bytes": round(tp * by / 1e9 / bw, 4),
                "engine": {
                    "formulation": cfg.formulation,
                    "xla_options": [list(o) for o in cfg.xla_options],
                    "pack_neurons": cfg.pack_neurons,
                },
            }
            for w in widths:  # a pack's time is shared in proportion to the widths
                rec["cells"][str(w)] = dict(
                    timing, seconds=round(seconds * w / sum(widths), 3), pack=list(widths)
                )
            # the rate of the largest program so far (configs x neurons x steps): small
            # ones are compile- and launch-bound, a pessimistic rate for a wide one
            units = configs * sum(widths) * cfg.steps
            if units >= largest[0]:
                largest[0] = units
                sec_per_unit = seconds / units
            # the entry's merged CSV, manifest and cell log in --out after every pack (in
            # <study>.csv and runs.json: the device tool returns at most 8 files, 2
            # folders down): what comes back even if the run is cut short
            entry = sweep.entry_dir(store, cfg)
            # every finished cell of the entry (the run's merged CSV holds only the
            # widths of the configuration it was given: this one)
            import pandas as pd

            frames = [pd.read_csv(sweep.cell_path(entry, x)) for x in sweep.finished_widths(entry)]
            store_mod.atomic_write_text(
                out / f"{study}.csv",
                pd.concat(frames).to_csv(index=False, float_format="%.17g", na_rep="nan"),
            )
            rec["manifest"] = json.loads((entry / "manifest.json").read_text())
            rec["cells_log"] = json.loads((entry / sweep.CELLS_LOG).read_text())
            save()
            log(
                f"{study} n={'+'.join(map(str, widths))}: {seconds:.1f}s "
                f"({timing['steady_config_steps_per_s']:.0f} config-steps/s, "
                f"{timing['gflops']:.0f} GFLOP/s = "
                f"{100 * timing['gemm_fraction']:.1f}% of f32 GEMM peak)"
            )

        sweep.run_sweep(cfg.replace(widths=pack), store, progress=False, on_cell=on_cell)
    for rec in summary["studies"].values():
        # projected wall time of the whole preset: measured cells + the skipped ones at
        # the last measured per-unit rate
        cfg = relu_config.ReluSweepConfig.from_json_dict(rec["config"])
        done = sum(c["seconds"] for c in rec["cells"].values())
        rest = sum(
            (sec_per_unit or 0.0) * cfg.n_lrs * cfg.seeds * w * cfg.steps for w in rec["skipped"]
        )
        rec["wall_s"] = round(done, 1)
        rec["projected_wall_s"] = round(done + rest, 1)
    save()
    summary["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    save()
    logf.close()
    return summary


def import_to(bank: Path, src: Path, run_id: str | None = None) -> list[Path]:
    """Add a finished GPU folder (runs.json and <study>.csv) to the results bank's
    entries. The configuration and code version must match the
    bank's entry (one measurement per configuration and code); cells already in the
    bank are kept; a width present in both is an error. The folder's runs.json and
    log.txt are kept as BANK/runs/<run_id>/ (default: the folder's name), and the run
    is recorded in the entry's manifest (provenance.runs)."""
    import pandas as pd

    from fasttransfer import store
    from fasttransfer.errors import InputError
    from fasttransfer.simulations import relu_config, sweep

    src = Path(src)
    run_id = run_id or src.name
    runs = json.loads((src / "runs.json").read_text())
    keep = Path(bank) / "runs" / run_id
    keep.mkdir(parents=True, exist_ok=True)
    for name in ("runs.json", "log.txt"):
        if (src / name).exists():
            shutil.copyfile(src / name, keep / name)
    written = []
    for study, rec in runs["studies"].items():
        cfg = relu_config.ReluSweepConfig.from_json_dict(rec["config"])
        dest = sweep.entry_dir(bank, cfg)
        csv = src / f"{study}.csv"
        if not csv.exists() or not rec.get("cells") or "manifest" not in rec:
            continue
        new_m, new, cells = rec["manifest"], pd.read_csv(csv), rec["cells_log"]
        cells = {w: dict(c, run=run_id, timing=rec["cells"].get(w)) for w, c in cells.items()}
        manifest = new_m
        if (dest / store.MANIFEST).exists():
            manifest = json.loads((dest / store.MANIFEST).read_text())
            if (manifest["config"], manifest["code_version"]) != (
                new_m["config"],
                new_m["code_version"],
            ):
                raise InputError(f"{dest}: the bank holds another configuration or code version")
            old = pd.read_csv(dest / sweep.CSV_NAME)
            both = sorted(set(old.width) & set(new.width))
            if both:
                raise InputError(f"{dest}: width(s) {both} already in the bank")
            new = pd.concat([old, new], ignore_index=True)
            cells = {**json.loads((dest / sweep.CELLS_LOG).read_text()), **cells}
        new = new.sort_values(["width", "hp", "seed"]).reset_index(drop=True)
        prov = manifest["provenance"]
        prov["finished_utc"] = max(c["finished_utc"] for c in cells.values())
        prov["wall_s"] = round(sum(float(c["seconds"]) for c in cells.values()), 3)
        prov.setdefault("runs", {})[run_id] = {
            "devices": runs["devices"],
            "jax": runs["jax"],
            "limits": runs["limits"],
            "widths": sorted(int(w) for w in rec["cells"]),
            "skipped_widths": rec["skipped"],
            "wall_s": rec.get("wall_s"),
            "variants": runs.get("variants"),
            "torch_loop": runs.get("torch_loop"),
            "made_by": "benchmarks/relu_paper_gpu.py",
            "log": f"runs/{run_id}/",
        }
        manifest["status"] = "complete"
        manifest["result"] = {"widths": sorted(int(w) for w in new.width.unique())}
        store.atomic_write_text(
            dest / sweep.CSV_NAME, new.to_csv(index=False, float_format="%.17g", na_rep="nan")
        )
        store.atomic_write_json(dest / sweep.CELLS_LOG, cells, sort_keys=True)
        store.atomic_write_json(dest / store.MANIFEST, manifest, sort_keys=True)
        written.append(dest)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "results/gpu"))
    p.add_argument(
        "--store",
        default="/tmp/fasttransfer_gpu_store",
        help="the resumable stores (outside --out: one file per cell)",
    )
    p.add_argument("--budget-s", type=float, default=480.0)
    p.add_argument("--studies", default=",".join(STUDIES))
    p.add_argument("--tiny", action="store_true", help="tiny sizes: a CPU smoke test")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument(
        "--import-to",
        nargs=2,
        metavar=("BANK", "DIR"),
        default=None,
        help="add a finished --out folder to the results bank and exit",
    )
    p.add_argument(
        "--limits-json",
        default=None,
        help="reuse the limits (and torch baseline) of an earlier runs.json",
    )
    p.add_argument(
        "--ab-width",
        type=int,
        default=0,
        help="time the engine variants at this width first and run the cells "
        "with the fastest exact one (0: no timing, the preset's engine)",
    )
    p.add_argument(
        "--cells",
        default=None,
        help="STUDY:WIDTH,... in order of priority (default: every width of --studies)",
    )
    args = p.parse_args(argv)
    if args.import_to:
        for d in import_to(Path(args.import_to[0]), Path(args.import_to[1])):
            print(f"wrote {d}")
        return 0
    args.studies = [s for s in args.studies.split(",") if s]
    bad = set(args.studies) - set(STUDIES)
    if bad:
        p.error(f"unknown studies {sorted(bad)}; choose from {STUDIES}")
    summary = run(args)
    short = {
        "devices": summary["devices"],
        "total_wall_s": summary["total_wall_s"],
        "gemm_peak_gflops": round(summary["limits"]["gemm_peak_gflops"], 1),
        "gemm_fraction": {
            s: {w: c["gemm_fraction"] for w, c in r["cells"].items()}
            for s, r in summary["studies"].items()
        },
        "projected_wall_s": {s: r.get("projected_wall_s") for s, r in summary["studies"].items()},
        "skipped": {s: r["skipped"] for s, r in summary["studies"].items()},
    }
    print(json.dumps(short))
    return 0


if __name__ == "__main__":
    sys.exit(main())

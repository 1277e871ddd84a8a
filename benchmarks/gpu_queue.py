"""The GPU queue: every paper-scale run the results bank still lacks, in priority order,
run within a device budget and resumable across leases.

A GPU is lent to this project now and then, for minutes. This script is the whole job
on the device: it prints the queue with each item's estimated device time, then runs
the items in order, storing each ReLU width cell as it finishes, and never starts an
item its prediction says will not finish inside ``--budget-s`` (the prediction: this
run's measured throughput once it has one, else the bank's, :mod:`simulations.relu_studies`
``device_estimate``). What the bank already holds (it travels with the working tree) is
never run again, so a later lease continues where this one stopped.

Priority: (1) ``relu`` paper preset (Figure 5, the paper's parametrisation), (2)
``kindex`` (Figure 2, tied LR), (3) ``kindex-layerwise`` (second-layer LR / 50), each
width from small to large; (4) the top-k transformer at its ``gpu`` preset (Adam) and
(5) its Muon contrast.

    python benchmarks/gpu_queue.py --dry-run                       # the queue, estimates
    python benchmarks/gpu_queue.py --out $OUT --budget-s 480       # on the device
    python benchmarks/gpu_queue.py --import-to results_bank $OUT   # here, afterwards
    python benchmarks/gpu_queue.py --tiny --out /tmp/q             # the CPU test (CI)

On the device the ReLU cells run through benchmarks/relu_paper_gpu.py's engine loop
(GEMM peak and copy bandwidth measured first, throughput per cell). Its output folder
holds ``<study>.csv``, ``runs.json`` and ``log.txt`` (what ``--import-to`` merges into
the bank's entries, configuration and code version checked) and, for each top-k
setting run, ``topk_<setting>.tar`` (its store entry; the import unpacks it into
``results_bank/topk/gpu/``, refusing any member outside that folder).
The last printed line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))  # relu_paper_gpu, relu_sweep

RELU_STUDIES = ("relu", "kindex", "kindex-layerwise")
TOPK_SETTINGS = ("transformer", "transformer_muon")
# The top-k transformer's throughput has not been measured on a GPU: its estimate is its
# matmul FLOPs at this fraction of the GEMM rate of float32 at XLA's default precision
# (the transformer sets none: TF32 products on an H100), an assumption said so in the
# queue; the rate is the bank's last measured value (results_bank/runs/).
TOPK_ASSUMED_PEAK_FRACTION = 0.3
GEMM_RATE_FALLBACK_GFLOPS = 8.0e4  # about the bank's H100 measurement, if none is stored


def _bank_gemm_gflops(bank: Path, key: str = "gemm_default_gflops") -> float:
    """A GEMM rate measured by the bank's last GPU run (runs/*/runs.json, ``limits``)."""
    rates = []
    for f in sorted(Path(bank).glob("runs/*/runs.json")):
        lim = json.loads(f.read_text(encoding="utf-8")).get("limits", {})
        if key in lim:
            rates.append(float(lim[key]))
    return rates[-1] if rates else GEMM_RATE_FALLBACK_GFLOPS


def topk_config(setting: str, tiny: bool):
    """The setting's ``gpu`` preset, or (tiny) its smoke preset ``quick``."""
    from fasttransfer.simulations import topk_study

    return topk_study.configs("quick" if tiny else "gpu", settings=(setting,))[setting]


def _topk_done(bank: Path, setting: str, tiny: bool) -> bool:
    from fasttransfer import store

    label = "tiny" if tiny else "gpu"
    m = Path(bank) / "topk" / label / setting / store.MANIFEST
    return m.exists() and json.loads(m.read_text(encoding="utf-8")).get("status") == "complete"


def queue(bank: Path, tiny: bool = False) -> list[dict]:
    """The missing items in priority order: {"kind": "relu" | "topk", "study"/"setting",
    "width", "estimate_s", "basis"}."""
    from relu_paper_gpu import paper_config

    from fasttransfer.simulations import relu_studies

    items = []
    for study in RELU_STUDIES:
        cfg = paper_config(study, tiny)
        est = relu_studies.device_estimate(cfg, relu_studies.stored_widths(cfg, bank), bank)
        for w in est["missing"]:
            items.append(
                {
                    "kind": "relu",
                    "study": study,
                    "width": w,
                    "estimate_s": est["seconds"].get(w),
                    "basis": est["basis"],
                }
            )
    peak = _bank_gemm_gflops(bank)
    for setting in TOPK_SETTINGS:
        if _topk_done(bank, setting, tiny):
            continue
        from fasttransfer.simulations.transformer import sweep_flops

        flops = sum(sweep_flops(topk_config(setting, tiny)).values())
        items.append(
            {
                "kind": "topk",
                "setting": setting,
                "width": None,
                "estimate_s": round(flops / (TOPK_ASSUMED_PEAK_FRACTION * peak * 1e9), 1),
                "basis": f"{flops:.2e} matmul FLOPs at an assumed "
                f"{TOPK_ASSUMED_PEAK_FRACTION:.0%} of {peak / 1e3:.0f} TFLOP/s "
                "(the bank's measured GEMM rate at XLA's default float32 "
                "precision; the transformer's own rate is not measured)",
            }
        )
    return items


def print_queue(items: list[dict], log=print) -> None:
    total = sum(i["estimate_s"] or 0.0 for i in items)
    log(
        f"GPU queue: {len(items)} item(s), about {total:.0f} s ({total / 60:.1f} min) of "
        "device time"
    )
    for k, i in enumerate(items, 1):
        what = f"{i['study']} n={i['width']}" if i["kind"] == "relu" else f"topk {i['setting']}"
        est = "?" if i["estimate_s"] is None else f"{i['estimate_s']:.0f} s"
        log(f"  {k:3d}. {what:28s} {est:>8s}")
    bases = sorted({i["basis"] for i in items})
    for b in bases:
        log(f"  estimate basis: {b}")


def _pack_topk(entry: Path, dest: Path) -> None:
    with tarfile.open(dest, "w") as tar:
        tar.add(entry, arcname=entry.name)


def _unpack_topk(tar_path: Path, into: Path) -> Path:
    """Unpack one ``topk_<setting>.tar`` into ``into`` (refusing absolute paths, ``..``,
    links and anything but files and folders); the unpacked entry's folder."""
    into = Path(into).resolve()
    with tarfile.open(tar_path) as tar:
        for m in tar.getmembers():
            target = (into / m.name).resolve()
            if not (m.isfile() or m.isdir()) or not target.is_relative_to(into):
                raise SystemExit(f"{tar_path}: refusing member {m.name!r}")
        tar.extractall(into, filter="data")
        top = {Path(m.name).parts[0] for m in tar.getmembers()}
    if len(top) != 1:
        raise SystemExit(f"{tar_path}: expected one entry folder, got {sorted(top)}")
    return into / top.pop()


def run(args) -> dict:
    import relu_paper_gpu

    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = queue(args.bank, args.tiny)
    print_queue(items)
    relu_items = [i for i in items if i["kind"] == "relu"]
    summary: dict = {"queue": items, "relu": None, "topk": {}}
    if relu_items:
        ns = SimpleNamespace(
            out=str(out),
            store=args.store,
            budget_s=args.budget_s,
            studies=RELU_STUDIES,
            tiny=args.tiny,
            skip_torch=True,
            limits_json=None,
            ab_width=0,
            cells=",".join(f"{i['study']}:{i['width']}" for i in relu_items),
            estimates={(i["study"], i["width"]): i["estimate_s"] for i in relu_items},
        )
        summary["relu"] = relu_paper_gpu.run(ns)
    from fasttransfer.simulations import topk_study

    for item in (i for i in items if i["kind"] == "topk"):
        left = args.budget_s - (time.perf_counter() - t0)
        if item["estimate_s"] is not None and item["estimate_s"] > left:
            summary["topk"][item["setting"]] = {
                "skipped": f"predicted {item['estimate_s']:.0f} s, {left:.0f} s left"
            }
            print(
                f"topk {item['setting']}: skipped (predicted {item['estimate_s']:.0f} s, "
                f"{left:.0f} s of budget left)",
                flush=True,
            )
            continue
        label = "tiny" if args.tiny else "gpu"
        s = item["setting"]
        t = time.perf_counter()
        topk_study.simulate(
            Path(args.store),
            label,
            cfgs={s: topk_config(s, args.tiny)},
            progress=False,
            variants=False,
        )
        entry = Path(args.store) / "topk" / label / s
        _pack_topk(entry, out / f"topk_{s}.tar")
        summary["topk"][s] = {"seconds": round(time.perf_counter() - t, 1)}
        print(f"topk {s}: {summary['topk'][s]['seconds']} s", flush=True)
    summary["total_wall_s"] = round(time.perf_counter() - t0, 1)
    return summary


def import_to(bank: Path, src: Path) -> list[str]:
    """Merge a queue run's output folder into the bank: the ReLU cells (relu_paper_gpu's
    import: configuration and code version checked, no width twice) and each top-k
    entry (unpacked into BANK/topk/<label>/, never over an existing entry)."""
    import shutil

    import relu_paper_gpu

    written = []
    if (Path(src) / "runs.json").exists():
        written += [str(p) for p in relu_paper_gpu.import_to(Path(bank), Path(src))]
    for tar_path in sorted(Path(src).glob("topk_*.tar")):
        setting = tar_path.stem[len("topk_") :]
        staging = Path(bank) / "topk" / ".import"
        entry = _unpack_topk(tar_path, staging)
        label = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))["preset"]
        dest = Path(bank) / "topk" / label / setting
        if dest.exists():
            shutil.rmtree(staging)
            raise SystemExit(f"{dest}: already in the bank")
        dest.parent.mkdir(parents=True, exist_ok=True)
        entry.rename(dest)
        shutil.rmtree(staging)
        written.append(str(dest))
    return written


def main(argv=None) -> int:
    from fasttransfer import store

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "results/gpu_queue"))
    p.add_argument(
        "--store",
        default="/tmp/fasttransfer_gpu_store",
        help="the run's resumable store (outside --out: one file per cell)",
    )
    p.add_argument(
        "--bank",
        type=Path,
        default=store.BANK,
        help="the results bank whose entries are not run again",
    )
    p.add_argument("--budget-s", type=float, default=480.0)
    p.add_argument("--dry-run", action="store_true", help="print the queue and exit")
    p.add_argument(
        "--tiny", action="store_true", help="tiny stand-ins of every item: the queue's CPU test"
    )
    p.add_argument(
        "--import-to",
        nargs=2,
        metavar=("BANK", "DIR"),
        default=None,
        help="merge a finished --out folder into the results bank and exit",
    )
    args = p.parse_args(argv)
    if args.import_to:
        written = import_to(Path(args.import_to[0]), Path(args.import_to[1]))
        print(json.dumps({"imported": written}))
        return 0
    if args.dry_run:
        items = queue(args.bank, args.tiny)
        print_queue(items)
        print(
            json.dumps(
                {"queue": items, "total_s": round(sum(i["estimate_s"] or 0 for i in items), 1)}
            )
        )
        return 0
    summary = run(args)
    print(
        json.dumps(
            {
                "total_wall_s": summary["total_wall_s"],
                "relu_cells": {
                    s: sorted(r["cells"])
                    for s, r in (summary["relu"] or {}).get("studies", {}).items()
                },
                "topk": summary["topk"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The GPU queue: every paper-scale run the results bank still lacks, in priority order,
run within a device budget and resumable across leases.

A GPU is lent to this project now and then, for minutes. This script is the whole job
on the device: it prints the queue with each item's estimated device time, then runs
the items in order, storing each width as it finishes, and never starts an item its
prediction says will not finish inside ``--budget-s`` (the prediction: this run's
measured throughput once it has one, else the bank's, :mod:`simulations.relu_studies`
``device_estimate``, or for the transformers their FLOPs at an assumed rate). What the
bank already holds (it travels with the working tree) is never run again, so a later
lease continues where this one stopped: the ReLU widths are cells of their entries, and
a top-k setting stopped between widths comes back as its unfinished entry, which the
import keeps and the next lease resumes.

Priority: (1) ``relu`` paper preset (Figure 5, the paper's parametrisation), (2)
``kindex`` (Figure 2, tied LR), (3) ``kindex-layerwise`` (second-layer LR / 50), each
width from small to large, the narrow ones in packs (one program,
:mod:`simulations.relu_pack`); (4) the top-k transformer at its ``gpu`` preset (Adam)
and (5) its Muon contrast, width by width.

    python benchmarks/gpu_queue.py --dry-run                       # the queue, estimates
    python benchmarks/gpu_queue.py --out $OUT --budget-s 480       # on the device
    python benchmarks/gpu_queue.py --import-to results_bank $OUT   # here, afterwards
    python benchmarks/gpu_queue.py --tiny --out /tmp/q             # the CPU test (CI)

On the device the ReLU cells run through benchmarks/relu_paper_gpu.py's engine loop
(GEMM peak and copy bandwidth measured first, throughput per cell). Its output folder
holds ``<study>.csv``, ``runs.json`` and ``log.txt`` (what ``--import-to`` merges into
the bank's entries, configuration and code version checked) and, for each top-k
setting run, ``topk_<setting>.tar`` (its store entry, packed after every width; the
import unpacks it into ``results_bank/topk/gpu/``, refusing any member outside that
folder, and replaces an unfinished entry only with its continuation).
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
import relu_paper_gpu  # (it also maps the folders when the project is not installed)

RELU_STUDIES = ("relu", "kindex", "kindex-layerwise")
TOPK_SETTINGS = ("transformer", "transformer_muon")
# The top-k transformer's throughput has not been measured on a GPU: its estimate is its
# matmul FLOPs at this fraction of the GEMM rate of float32 at XLA's default precision
# (the transformer sets none: TF32 products on an H100), an assumption said so in the
# queue; the rate is the bank's last measured value (results_bank/runs/).
TOPK_ASSUMED_PEAK_FRACTION = 0.3
GEMM_RATE_FALLBACK_GFLOPS = 8.0e4  # about the bank's H100 measurement, if none is stored
# The recorder's cost on the transformer (benchmarks/alignment.py --only transformer):
# five compiled programs at width 128 and a few timed steps. Not yet measured on a GPU,
# so this is a guess; on the 2-core CPU it took 124 s (2026-12-06, overhead 2.24x
# against a FLOP floor of 2.04x).
RECORDER_BENCH_S = 120.0
RECORDER_FILE = "recorder_cost.json"


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


def _recorder_measured(bank: Path) -> bool:
    """Whether the bank holds the recorder's cost measured on an accelerator."""
    for f in Path(bank).glob(f"runs/*/{RECORDER_FILE}"):
        device = json.loads(f.read_text(encoding="utf-8")).get("device", "cpu")
        if not device.startswith("cpu"):
            return True
    return False


def _recorder_bench() -> dict:
    """The top-k recorder's every-step cost on the transformer at its gpu preset's
    shapes, beside its FLOP floor (benchmarks/alignment.py), with provenance."""
    import alignment

    from fasttransfer import store

    return dict(
        alignment.transformer_summary(alignment.bench_transformer(quick=True)),
        provenance=store.provenance("benchmarks/gpu_queue.py"),
    )


def _label(tiny: bool) -> str:
    return "tiny" if tiny else "gpu"


def _topk_flops(setting: str, cfg) -> dict[int, float]:
    """{width: matmul FLOPs of the recorded sweep} (the transformers' count)."""
    from fasttransfer.simulations.transformer import sweep_flops

    return sweep_flops(cfg)


def _topk_in_bank(bank: Path, setting: str, tiny: bool) -> tuple[set[int], Path | None]:
    """What the bank holds of a top-k setting: (its finished widths, its unfinished entry
    to resume or None). A complete entry has every width; an unfinished one (an earlier
    lease stopped inside it) counts only if it holds this configuration and code (else
    nothing: it would be run again)."""
    from fasttransfer import store
    from fasttransfer.simulations import topk_study

    entry = Path(bank) / topk_study.STUDY / _label(tiny) / setting
    m = entry / store.MANIFEST
    if not m.exists():
        return set(), None
    if json.loads(m.read_text(encoding="utf-8")).get("status") == "complete":
        return set(topk_config(setting, tiny).widths), None
    if not _resumable(entry, setting, tiny):
        return set(), None
    return set(topk_study.finished_widths(entry)), entry


def _resumable(entry: Path, setting: str, tiny: bool) -> bool:
    """Whether an unfinished top-k entry holds this configuration and code."""
    from fasttransfer import store
    from fasttransfer.simulations import topk_study

    config = topk_study.entry_config(setting, topk_config(setting, tiny), variants=False)
    return store.stale_reason(entry, config, topk_study.entry_modules(setting)) is None


def queue(bank: Path, tiny: bool = False) -> list[dict]:
    """The missing items in priority order: {"kind": "relu" | "bench" | "topk",
    "study"/"name"/"setting", "width", "estimate_s", "basis"} (relu: "pack" too; topk:
    "lanes_left" too)."""
    paper_config = relu_paper_gpu.paper_config

    from fasttransfer.simulations import relu_pack, relu_studies, topk_study

    items = []
    for study in RELU_STUDIES:
        cfg = paper_config(study, tiny)
        est = relu_studies.device_estimate(cfg, relu_studies.stored_widths(cfg, bank), bank)
        for pack in relu_pack.packs(est["missing"], cfg.pack_neurons):
            for w in pack:
                items.append(
                    {
                        "kind": "relu",
                        "study": study,
                        "width": w,
                        "pack": list(pack),
                        "estimate_s": est["seconds"].get(w),
                        "basis": est["basis"],
                    }
                )
    # no tiny size: a measurement at the gpu preset's shapes or none (a test stands in)
    if not tiny and not _recorder_measured(bank):
        items.append(
            {
                "kind": "bench",
                "name": "recorder",
                "width": None,
                "estimate_s": RECORDER_BENCH_S,
                "basis": "the recorder's cost on the transformer: an assumed time (five "
                "compiled programs at width 128), not measured on a GPU yet",
            }
        )
    peak = _bank_gemm_gflops(bank)
    for setting in TOPK_SETTINGS:
        cfg = topk_config(setting, tiny)
        done, partial = _topk_in_bank(bank, setting, tiny)
        flops = _topk_flops(setting, cfg)
        n_lanes = len(cfg.lrs) * len(cfg.seeds)
        for w in (w for w in cfg.widths if w not in done):
            left = n_lanes - (len(topk_study.lanes_done(partial, w)) if partial else 0)
            items.append(
                {
                    "kind": "topk",
                    "setting": setting,
                    "width": w,
                    "lanes_left": left,
                    "estimate_s": round(
                        flops[w] * left / n_lanes / (TOPK_ASSUMED_PEAK_FRACTION * peak * 1e9), 1
                    ),
                    "basis": "the width's matmul FLOPs at an assumed "
                    f"{TOPK_ASSUMED_PEAK_FRACTION:.0%} of {peak / 1e3:.0f} TFLOP/s "
                    "(the bank's measured GEMM rate at XLA's default float32 "
                    "precision; the transformer's own rate is not measured)",
                }
            )
    return items


def relu_floors(items: list[dict], bank: Path, tiny: bool = False) -> dict:
    """Per ReLU study in the queue: its missing widths' model FLOPs
    (benchmarks/relu_sweep.py's count) and the seconds they take at 100% of the bank's
    measured float32 GEMM peak (the least device time any engine could need):
    {study: {"flops", "floor_s", "peak_gflops"}}."""
    paper_config = relu_paper_gpu.paper_config
    from relu_sweep import flops_per_config_step

    peak = _bank_gemm_gflops(bank, "gemm_peak_gflops")
    out = {}
    for study in dict.fromkeys(i["study"] for i in items if i["kind"] == "relu"):
        cfg = paper_config(study, tiny)
        per_width = cfg.n_lrs * cfg.seeds * cfg.steps
        flops = sum(
            per_width * flops_per_config_step(i["width"], cfg.batch, cfg.d)
            for i in items
            if i["kind"] == "relu" and i["study"] == study
        )
        out[study] = {"flops": flops, "floor_s": flops / (peak * 1e9), "peak_gflops": peak}
    return out


def print_queue(items: list[dict], budget_s: float, log=print, floors: dict | None = None) -> None:
    """The queue, one line per item: its estimate, the pack it runs in (ReLU widths
    trained together, :mod:`simulations.relu_pack`; their estimates were measured one
    width at a time, an upper bound), and whether it exceeds one lease's budget."""
    total = sum(i["estimate_s"] or 0.0 for i in items)
    log(
        f"GPU queue: {len(items)} item(s), about {total:.0f} s ({total / 60:.1f} min) of "
        f"device time; leases of {budget_s:.0f} s"
    )
    for k, i in enumerate(items, 1):
        what = (
            f"{i['study']} n={i['width']}"
            if i["kind"] == "relu"
            else f"topk {i['setting']} n={i['width']}"
            if i["kind"] == "topk"
            else f"{i['name']} (benchmark)"
        )
        est = "?" if i["estimate_s"] is None else f"{i['estimate_s']:.0f} s"
        notes = []
        if len(i.get("pack", ())) > 1:
            notes.append(f"in pack {i['pack'][0]}..{i['pack'][-1]}")
        if i["estimate_s"] is not None and i["estimate_s"] > budget_s:
            notes.append("over one lease's budget: in parts over several leases")
        log(f"  {k:3d}. {what:28s} {est:>8s}  {'; '.join(notes)}".rstrip())
    bases = sorted({i["basis"] for i in items})
    for b in bases:
        log(f"  estimate basis: {b}")
    for study, f in (floors or {}).items():
        est = sum(i["estimate_s"] or 0 for i in items if i.get("study") == study)
        log(
            f"  {study}: {f['flops']:.2e} model FLOPs, at least {f['floor_s']:.0f} s at 100% of "
            f"the measured float32 GEMM peak ({f['peak_gflops'] / 1e3:.1f} TFLOP/s); "
            f"estimate {est:.0f} s"
        )


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
    from fasttransfer import store

    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = queue(args.bank, args.tiny)
    print_queue(items, args.budget_s)
    relu_items = [i for i in items if i["kind"] == "relu"]
    summary: dict = {"queue": items, "relu": None, "recorder": None, "topk": {}}
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
    for item in (i for i in items if i["kind"] == "bench"):
        left = args.budget_s - (time.perf_counter() - t0)
        if item["estimate_s"] > left:
            summary["recorder"] = {
                "skipped": f"predicted {item['estimate_s']:.0f} s, {left:.0f} s left"
            }
            print(f"recorder benchmark: skipped ({summary['recorder']['skipped']})", flush=True)
            continue
        t = time.perf_counter()
        summary["recorder"] = _recorder_bench()
        summary["recorder"]["seconds"] = round(time.perf_counter() - t, 1)
        store.atomic_write_json(out / RECORDER_FILE, summary["recorder"])
        print(f"recorder benchmark: {summary['recorder']['seconds']} s", flush=True)
    topk_items = [i for i in items if i["kind"] == "topk"]
    for setting in dict.fromkeys(i["setting"] for i in topk_items):
        mine = {i["width"]: i["estimate_s"] for i in topk_items if i["setting"] == setting}
        summary["topk"][setting] = _run_topk(args, setting, mine, out, t0)
    summary["total_wall_s"] = round(time.perf_counter() - t0, 1)
    return summary


def _run_topk(args, setting: str, estimates: dict, out: Path, t0: float) -> dict:
    """Train the missing widths of one top-k setting, smallest first, in parts that fit
    what is left of the budget (:func:`simulations.topk_study.simulate_setting`'s
    lanes): as many of a width's (learning rate, seed) lanes as the prediction allows,
    from the measured FLOP rate of this run's last part once there is one (compilation
    included: pessimistic), else the queue's estimate; none, and the setting waits for
    the next lease. The entry is resumed from the bank's unfinished one if any, and
    packed into OUT/topk_<setting>.tar after every part, so a lease cut short keeps it."""
    import shutil

    from fasttransfer.simulations import topk_study

    cfg, label = topk_config(setting, args.tiny), _label(args.tiny)
    entry = Path(args.store) / topk_study.STUDY / label / setting
    partial = _topk_in_bank(Path(args.bank), setting, args.tiny)[1]
    if partial is not None and not entry.exists():
        shutil.copytree(partial, entry)
    flops = _topk_flops(setting, cfg)
    n_lanes = len(cfg.lrs) * len(cfg.seeds)
    rec: dict = {"parts": [], "deferred": None}
    rate: list = []  # FLOP/s of the parts trained here

    def lanes_now(width: int, lanes_left: int) -> int:
        left = args.budget_s - (time.perf_counter() - t0)
        # per lane: the measured rate, else the queue's estimate of the lanes left
        lane_s = (
            flops[width] / n_lanes / rate[-1]
            if rate
            else (estimates[width] / lanes_left if estimates.get(width) else None)
        )
        if lane_s is None:  # no estimate at all: the whole width
            return lanes_left
        k = min(lanes_left, int(left / max(lane_s, 1e-9)))
        if k < 1:
            rec["deferred"] = {
                "width": width,
                "lanes_left": lanes_left,
                "predicted_s_per_lane": round(lane_s, 1),
                "left_s": round(left, 1),
            }
            print(
                f"topk {setting} n={width}: deferred ({lanes_left} lanes left, "
                f"{lane_s:.0f} s each predicted, {left:.0f} s left)",
                flush=True,
            )
        return max(k, 0)

    def on_part(width: int, lanes: int, seconds: float) -> None:
        rate.append(flops[width] * lanes / n_lanes / max(seconds, 1e-9))
        rec["parts"].append(
            {
                "width": width,
                "lanes": lanes,
                "seconds": round(seconds, 1),
                "gflops": round(rate[-1] / 1e9, 1),
            }
        )
        _pack_topk(entry, out / f"topk_{setting}.tar")
        print(
            f"topk {setting} n={width}: {lanes} of {n_lanes} lanes in {seconds:.1f} s "
            f"({rate[-1] / 1e9:.1f} GFLOP/s)",
            flush=True,
        )

    try:
        topk_study.simulate_setting(
            setting,
            cfg,
            Path(args.store),
            label,
            progress=False,
            variants=False,
            lanes_now=lanes_now,
            on_part=on_part,
        )
        _pack_topk(entry, out / f"topk_{setting}.tar")  # complete: the merged frames too
        rec["complete"] = True
    except topk_study.Deferred:
        rec["complete"] = False
    return rec


def import_to(bank: Path, src: Path) -> list[str]:
    """Merge a queue run's output folder into the bank: the ReLU cells (relu_paper_gpu's
    import: configuration and code version checked, no width twice), the recorder's
    measured cost (BANK/runs/<folder name>/) and each top-k entry (unpacked into
    BANK/topk/<label>/; an unfinished entry is replaced only by its continuation, a
    complete one never)."""
    import shutil

    from fasttransfer.simulations import topk_study

    written = []
    if (Path(src) / "runs.json").exists():
        written += [str(p) for p in relu_paper_gpu.import_to(Path(bank), Path(src))]
    if (Path(src) / RECORDER_FILE).exists():
        keep = Path(bank) / "runs" / Path(src).name
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(src) / RECORDER_FILE, keep / RECORDER_FILE)
        written.append(str(keep / RECORDER_FILE))
    for tar_path in sorted(Path(src).glob("topk_*.tar")):
        setting = tar_path.stem[len("topk_") :]
        staging = Path(bank) / "topk" / ".import"
        entry = _unpack_topk(tar_path, staging)
        label = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))["preset"]
        dest = Path(bank) / "topk" / label / setting
        if dest.exists():
            # an unfinished entry of an earlier lease gives way to its continuation (the
            # same configuration and code, every width it held still there); a complete
            # one never does
            old = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
            new = json.loads((entry / "manifest.json").read_text(encoding="utf-8"))
            lost = set(topk_study.finished_widths(dest)) - set(topk_study.finished_widths(entry))
            why = (
                "already in the bank"
                if old.get("status") == "complete"
                else "another configuration or code version in the bank (remove it by hand)"
                if (old.get("config"), old.get("code_version"))
                != (new.get("config"), new.get("code_version"))
                else f"would drop the bank's width(s) {sorted(lost)}"
                if lost
                else None
            )
            if why:
                shutil.rmtree(staging)
                raise SystemExit(f"{dest}: {why}")
            shutil.rmtree(dest)
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
        floors = relu_floors(items, args.bank, args.tiny)
        print_queue(items, args.budget_s, floors=floors)
        bases = sorted({i["basis"] for i in items})
        print(
            json.dumps(
                {
                    "queue": [
                        {k: v for k, v in i.items() if k != "basis"}
                        | {"basis": bases.index(i["basis"])}
                        for i in items
                    ],
                    "bases": bases,
                    "total_s": round(sum(i["estimate_s"] or 0 for i in items), 1),
                    "relu_flop_floor_s": {s: round(f["floor_s"], 1) for s, f in floors.items()},
                }
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
                "recorder": summary["recorder"],
                "topk": summary["topk"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

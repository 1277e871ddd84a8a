"""benchmarks/gpu_queue.py at tiny size on the CPU: the queue's order, its refusal of
cells the measured throughput says will not fit the budget, resuming from what the bank
holds, and the import of a run's output (ReLU cells and top-k entries) into the bank."""

import json
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def gpu_queue():
    sys.path.insert(0, str(BENCH))
    try:
        import gpu_queue
    finally:
        sys.path.remove(str(BENCH))
    return gpu_queue


def _topk_done(bank: Path) -> None:
    """The bank holds finished top-k entries: the queue has only ReLU cells (a tiny
    queue has no recorder benchmark)."""
    for s in ("transformer", "transformer_muon"):
        d = bank / "topk" / "tiny" / s
        d.mkdir(parents=True)
        (d / "manifest.json").write_text(json.dumps({"status": "complete", "preset": "tiny"}))


def _recorder_done(bank: Path, device: str) -> None:
    (bank / "runs" / "earlier").mkdir(parents=True, exist_ok=True)
    (bank / "runs" / "earlier" / "recorder_cost.json").write_text(json.dumps({"device": device}))


def _queue(gpu_queue, bank):
    return [(i["study"], i["width"]) for i in gpu_queue.queue(bank, tiny=True)]


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_queue_runs_in_order_within_budget_and_resumes_from_the_bank(gpu_queue, tmp_path, capsys):
    bank = tmp_path / "bank"
    _topk_done(bank)
    first = _queue(gpu_queue, bank)
    assert first == [(s, w) for s in ("relu", "kindex", "kindex-layerwise") for w in (16, 32, 64)]
    # a budget the first program alone exhausts (widths 16 and 32, one pack): its
    # measured rate refuses every later cell
    out_a = tmp_path / "lease_a"
    assert (
        gpu_queue.main(
            [
                "--tiny",
                "--out",
                str(out_a),
                "--store",
                str(tmp_path / "sa"),
                "--bank",
                str(bank),
                "--budget-s",
                "0.5",
            ]
        )
        == 0
    )
    runs = json.loads((out_a / "runs.json").read_text())
    cells = runs["studies"]["relu"]["cells"]
    assert sorted(cells) == ["16", "32"] and cells["16"]["pack"] == [16, 32]
    assert runs["studies"]["relu"]["skipped"] == [64]
    assert gpu_queue.main(["--import-to", str(bank), str(out_a)]) == 0
    assert _queue(gpu_queue, bank) == first[2:]  # the imported cells are not run again
    # the next lease finishes the rest; after its import nothing is missing
    out_b = tmp_path / "lease_b"
    assert (
        gpu_queue.main(
            [
                "--tiny",
                "--out",
                str(out_b),
                "--store",
                str(tmp_path / "sb"),
                "--bank",
                str(bank),
                "--budget-s",
                "600",
            ]
        )
        == 0
    )
    assert gpu_queue.main(["--import-to", str(bank), str(out_b)]) == 0
    assert _queue(gpu_queue, bank) == []
    capsys.readouterr()
    assert gpu_queue.main(["--tiny", "--dry-run", "--bank", str(bank)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["queue"] == []
    # a width imported twice is refused: one measurement per configuration and code
    with pytest.raises(Exception, match="already in the bank"):
        gpu_queue.import_to(bank, out_b)


def test_dry_run_prints_the_papers_queue_with_estimates(gpu_queue, capsys):
    assert gpu_queue.main(["--dry-run"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    kinds = [(i["kind"], i.get("study") or i.get("setting")) for i in summary["queue"]]
    order = [k for i, k in enumerate(kinds) if k not in kinds[:i]]
    assert order[:3] == [("relu", "relu"), ("relu", "kindex"), ("relu", "kindex-layerwise")]
    assert all(i["estimate_s"] and i["estimate_s"] > 0 for i in summary["queue"])
    assert "GPU queue:" in out[0] and summary["total_s"] > 0


def test_topk_entries_are_unpacked_only_inside_the_bank(gpu_queue, tmp_path):
    entry = tmp_path / "store" / "transformer"
    (entry / "cells").mkdir(parents=True)
    (entry / "manifest.json").write_text(json.dumps({"status": "complete", "preset": "gpu"}))
    (entry / "cells" / "w16.done").write_text("")
    out = tmp_path / "out"
    out.mkdir()
    gpu_queue._pack_topk(entry, out / "topk_transformer.tar")
    bank = tmp_path / "bank"
    assert gpu_queue.import_to(bank, out) == [str(bank / "topk" / "gpu" / "transformer")]
    assert (bank / "topk" / "gpu" / "transformer" / "cells" / "w16.done").exists()
    evil = tmp_path / "evil"
    evil.mkdir()
    with tarfile.open(evil / "topk_transformer.tar", "w") as tar:
        tar.add(entry / "manifest.json", arcname="../outside.json")
    with pytest.raises(SystemExit, match="refusing"):
        gpu_queue.import_to(tmp_path / "bank2", evil)


def test_topk_settings_run_width_by_width_and_resume_across_leases(
    gpu_queue, tmp_path, monkeypatch, capsys
):
    """A top-k setting is queued width by width: a lease trains the widths its budget
    allows and packs the unfinished entry; the import keeps it in the bank and the next
    lease continues it (here the small ReLU top-k setting stands in for the transformers,
    whose CPU compilation takes minutes)."""
    from dataclasses import replace

    from fasttransfer.simulations import topk_study

    cfg = replace(
        topk_study.configs("quick", settings=("relu",))["relu"], widths=(16, 32), steps=40
    )
    flops = {16: 1e6, 32: 1e18}  # width 32: beyond any rate a CPU measures in 600 s
    monkeypatch.setattr(gpu_queue, "RELU_STUDIES", ())
    monkeypatch.setattr(gpu_queue, "TOPK_SETTINGS", ("relu",))
    monkeypatch.setattr(gpu_queue, "topk_config", lambda setting, tiny: cfg)
    monkeypatch.setattr(gpu_queue, "_topk_flops", lambda setting, c: flops)
    bank = tmp_path / "bank"

    def lease(name):
        argv = ["--tiny", "--out", str(tmp_path / name), "--store", str(tmp_path / f"s{name}")]
        assert gpu_queue.main([*argv, "--bank", str(bank), "--budget-s", "600"]) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["topk"]["relu"]

    def queued():
        return [(i["setting"], i["width"]) for i in gpu_queue.queue(bank, tiny=True)]

    assert queued() == [("relu", 16), ("relu", 32)]
    n_lanes = len(cfg.lrs) * len(cfg.seeds)
    first = lease("a")
    assert [(p["width"], p["lanes"]) for p in first["parts"]] == [(16, n_lanes)]
    assert first["deferred"]["width"] == 32 and first["complete"] is False
    assert gpu_queue.main(["--import-to", str(bank), str(tmp_path / "a")]) == 0
    entry = bank / "topk" / "tiny" / "relu"
    assert json.loads((entry / "manifest.json").read_text())["status"] == "running"
    assert topk_study.finished_widths(entry) == [16]
    assert queued() == [("relu", 32)]  # the bank's width is not run again
    flops[32] = 1e6  # the next lease can afford it
    second = lease("b")
    assert [(p["width"], p["lanes"]) for p in second["parts"]] == [(32, n_lanes)]
    assert second["complete"] is True
    assert gpu_queue.main(["--import-to", str(bank), str(tmp_path / "b")]) == 0
    assert json.loads((entry / "manifest.json").read_text())["status"] == "complete"
    assert topk_study.finished_widths(entry) == [16, 32] and queued() == []
    with pytest.raises(SystemExit, match="already in the bank"):
        gpu_queue.import_to(bank, tmp_path / "b")
    # an unfinished entry never gives way to one that lacks its widths
    (entry / "manifest.json").write_text(
        json.dumps({**json.loads((entry / "manifest.json").read_text()), "status": "running"})
    )
    with pytest.raises(SystemExit, match=r"drop the bank's width\(s\) \[32\]"):
        gpu_queue.import_to(bank, tmp_path / "a")


def test_the_recorder_benchmark_is_queued_until_an_accelerator_measured_it(
    gpu_queue, tmp_path, monkeypatch, capsys
):
    """The recorder's cost on the transformer is one queue item (after the ReLU studies):
    run once, written to OUT with provenance, imported into the bank's runs; a CPU
    measurement does not count for the paper-scale queue."""
    monkeypatch.setattr(gpu_queue, "RELU_STUDIES", ())
    monkeypatch.setattr(gpu_queue, "TOPK_SETTINGS", ())
    bank = tmp_path / "bank"
    _recorder_done(bank, device="cpu:cpu")

    def kinds(tiny):
        return [i["kind"] for i in gpu_queue.queue(bank, tiny=tiny)]

    assert kinds(False) == ["bench"] and kinds(True) == []
    # a stand-in for the measurement (the real one compiles five transformer programs)
    monkeypatch.setattr(
        gpu_queue, "_recorder_bench", lambda: {"device": "gpu:stand-in", "ratio": 2.0}
    )
    out = tmp_path / "lease"
    argv = ["--out", str(out), "--store", str(tmp_path / "s"), "--bank", str(bank)]
    assert gpu_queue.main([*argv, "--budget-s", "10"]) == 0
    assert "skipped" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["recorder"]
    assert gpu_queue.main([*argv, "--budget-s", "600"]) == 0
    stored = json.loads((out / "recorder_cost.json").read_text())
    assert stored["ratio"] == 2.0 and stored["seconds"] >= 0
    assert gpu_queue.main(["--import-to", str(bank), str(out)]) == 0
    assert (bank / "runs" / "lease" / "recorder_cost.json").exists()
    assert kinds(False) == []


def test_a_width_over_the_budget_runs_in_parts_across_leases(gpu_queue, tmp_path, monkeypatch):
    """A width whose lanes do not all fit what is left of a lease runs as many as fit;
    the unfinished entry goes to the bank with its parts, and the queue's estimate for
    the width counts only the lanes left."""
    from dataclasses import replace

    from fasttransfer.simulations import topk_study

    cfg = replace(topk_study.configs("quick", settings=("relu",))["relu"], widths=(16,), steps=40)
    n_lanes = len(cfg.lrs) * len(cfg.seeds)
    monkeypatch.setattr(gpu_queue, "RELU_STUDIES", ())
    monkeypatch.setattr(gpu_queue, "TOPK_SETTINGS", ("relu",))
    monkeypatch.setattr(gpu_queue, "topk_config", lambda setting, tiny: cfg)
    bank = tmp_path / "bank"
    # the queue's estimate says 1000 s per lane: a 5500 s lease starts 5 of them
    monkeypatch.setattr(gpu_queue, "_topk_flops", lambda setting, c: {16: 1000.0 * n_lanes})
    monkeypatch.setattr(gpu_queue, "_bank_gemm_gflops", lambda bank, key="": 1e-9 / 0.3)
    full = gpu_queue.queue(bank, tiny=True)[0]
    assert full["lanes_left"] == n_lanes
    assert full["estimate_s"] == pytest.approx(1000.0 * n_lanes)
    # ... and its clock then runs out (the CPU takes seconds, not 5000 s: the lease's
    # clock is moved on once the first part is stored)
    clock = {"offset": 0.0}
    real_pack, real_clock = gpu_queue._pack_topk, gpu_queue.time.perf_counter

    def pack_then_run_out(entry, dest):
        real_pack(entry, dest)
        clock["offset"] = 1e6

    monkeypatch.setattr(gpu_queue, "_pack_topk", pack_then_run_out)
    monkeypatch.setattr(
        gpu_queue, "time", SimpleNamespace(perf_counter=lambda: real_clock() + clock["offset"])
    )
    out = tmp_path / "lease"
    argv = ["--tiny", "--out", str(out), "--store", str(tmp_path / "s"), "--bank", str(bank)]
    assert gpu_queue.main([*argv, "--budget-s", "5500"]) == 0
    assert gpu_queue.main(["--import-to", str(bank), str(out)]) == 0
    entry = bank / "topk" / "tiny" / "relu"
    done = topk_study.lanes_done(entry, 16)
    assert done == {(0, i) for i in range(5)}
    left = gpu_queue.queue(bank, tiny=True)[0]
    assert left["lanes_left"] == n_lanes - len(done)
    assert left["estimate_s"] == pytest.approx(1000.0 * left["lanes_left"])

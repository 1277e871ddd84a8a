"""benchmarks/gpu_queue.py at tiny size on the CPU: the queue's order, its refusal of
cells the measured throughput says will not fit the budget, resuming from what the bank
holds, and the import of a run's output (ReLU cells and top-k entries) into the bank."""

import json
import sys
import tarfile
from pathlib import Path

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
    """The bank holds finished top-k entries: the queue has only ReLU cells."""
    for s in ("transformer", "transformer_muon"):
        d = bank / "topk" / "tiny" / s
        d.mkdir(parents=True)
        (d / "manifest.json").write_text(json.dumps({"status": "complete", "preset": "tiny"}))


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

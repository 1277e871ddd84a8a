"""benchmarks/relu_paper_gpu.py, the script that made the results bank: a tiny run on
the CPU writes at most eight files (what the device tool returns), and --import-to adds
it to a bank, merging runs and refusing a cell twice."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fasttransfer import store
from fasttransfer.simulations import relu_config, sweep

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "relu_paper_gpu.py"


def _run(*args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_tiny_run_and_import(tmp_path):
    out, store_root, bank = tmp_path / "out", tmp_path / "store", tmp_path / "bank"
    r = _run(
        "--tiny",
        "--skip-torch",
        "--out",
        str(out),
        "--store",
        str(store_root),
        "--cells",
        "relu:32,kindex:32",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary["gemm_fraction"]) == {"relu", "kindex"}
    files = sorted(p.name for p in out.iterdir())
    assert files == ["kindex.csv", "log.txt", "relu.csv", "runs.json"] and len(files) <= 8
    assert _run("--import-to", str(bank), str(out)).returncode == 0
    entry = bank / "relu" / "paper" / "mup"
    manifest = json.loads((entry / store.MANIFEST).read_text())
    cfg = relu_config.ReluSweepConfig.from_json_dict(manifest["config"]).replace(preset="paper")
    _, df, _e = sweep.read_sweep(bank, cfg)  # a complete, current entry
    assert set(df.width) == {32} and manifest["code_version"] == store.code_version(
        sweep.CODE_MODULES
    )
    cells = json.loads((entry / sweep.CELLS_LOG).read_text())
    assert cells["32"]["run"] == "out" and "out" in manifest["provenance"]["runs"]
    assert (bank / "runs" / "out" / "runs.json").exists()
    # the same cell twice is refused; a second run with another width is merged
    again = _run("--import-to", str(bank), str(out))
    assert again.returncode != 0 and "already in the bank" in again.stderr
    out2 = tmp_path / "out2"
    r = _run(
        "--tiny",
        "--skip-torch",
        "--out",
        str(out2),
        "--store",
        str(tmp_path / "s2"),
        "--cells",
        "relu:64",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert _run("--import-to", str(bank), str(out2)).returncode == 0
    merged = pd.read_csv(bank / "relu" / "paper" / "mup" / sweep.CSV_NAME)
    assert sorted(set(merged.width)) == [32, 64]
    manifest = json.loads((entry / store.MANIFEST).read_text())
    assert manifest["result"]["widths"] == [32, 64]
    assert set(manifest["provenance"]["runs"]) == {"out", "out2"}


def test_the_gpu_scripts_run_from_a_checkout_that_is_not_installed(tmp_path):
    """On a machine where the project is not installed (a lent GPU with an old
    setuptools), the scripts map the folders onto fasttransfer's subpackages themselves."""
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys\n"
        # drop the editable install's import hook: as if the project were not installed
        "sys.meta_path[:] = [f for f in sys.meta_path "
        "if not getattr(f, '__module__', '').startswith('__editable__')]\n"
        f"sys.path.insert(0, {str(root / 'benchmarks')!r})\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('fasttransfer') is None\n"
        "import gpu_queue\n"
        "from fasttransfer.simulations import relu_engine\n"
        "print(relu_engine.__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == root / "simulations" / "relu_engine.py"

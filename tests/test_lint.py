"""The linter on the whole tree, as part of the test command: pyflakes' rules (ruff F:
unused and undefined names, redefinitions, f-strings without fields), so dead imports
and typos fail CI."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    folders = [
        "fasttransfer",
        "theory",
        "simulations",
        "proofs_check",
        "paper_figures",
        "tests",
        "benchmarks",
    ]
    out = subprocess.run(
        [ruff, "check", "--select", "F", "--output-format", "concise", *folders],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr

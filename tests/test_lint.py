"""The linter and the formatter on the whole tree, as part of the test command: ruff
with the rules configured in pyproject.toml ([tool.ruff.lint]: pyflakes, pycodestyle,
import order, pyupgrade, bugbear, ruff's own), so dead imports, typos and late-binding
closures fail CI, and ``ruff format --check`` so the layout stays the formatter's."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


FOLDERS = [
    "fasttransfer",
    "theory",
    "simulations",
    "proofs_check",
    "paper_figures",
    "tests",
    "benchmarks",
]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    return subprocess.run([ruff, *args, *FOLDERS], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    out = _ruff("check", "--output-format", "concise")  # the rules of pyproject.toml
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_leaves_the_tree_as_is():
    out = _ruff("format", "--check")
    assert out.returncode == 0, out.stdout + out.stderr

"""mypy on the public API, as part of the test command: ``python -m mypy`` from the
repository root with the configuration of pyproject.toml ([tool.mypy]: fasttransfer's
__init__ with its TYPE_CHECKING imports and the modules that define the public names
and what they return) finds nothing. The subpackage folders reach mypy through the
symlinks in .typecheck/fasttransfer/ (see [tool.mypy])."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing_in_the_public_api():
    pytest.importorskip("mypy")
    for folder in ("theory", "simulations", "proofs_check", "paper_figures"):
        link = ROOT / ".typecheck" / "fasttransfer" / folder
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve(), link
    out = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found" in out.stdout

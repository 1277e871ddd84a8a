"""The repository is self-contained in its references: code, tests, benchmarks and docs
cite the paper (section, equation, figure) or our own docs pages
(docs/paper-setups.md), never a file outside the repository and never an issue number."""

import shutil
import subprocess
from pathlib import Path

import pytest
from test_lint import FOLDERS as CODE_FOLDERS  # the code folders ruff checks

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [*CODE_FOLDERS, "docs"]
# built from pieces so that this file does not match its own pattern
PATTERN = "|".join(["SP" + "EC", "PAPER" + r"\.md", "iss" + "ue [0-9]"])


def test_no_reference_outside_the_repository():
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not available")
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        pytest.skip("not a git checkout")
    out = subprocess.run(
        [git, "grep", "--untracked", "-nE", PATTERN, "--", *FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    # --untracked: new files count too (ignored ones do not)
    # git grep: 0 = found, 1 = nothing found, anything else = an error
    assert out.returncode in (0, 1), out.stderr
    assert out.stdout == "", "references outside the repository:\n" + out.stdout

"""The direction of imports (SPEC §8): fasttransfer -> paper_figures -> simulations ->
theory; proofs_check -> theory. Checked on the source with ast, so a lazy import inside a
function counts as much as a top-level one."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level names it must never import
FORBIDDEN = {
    "theory": {"jax", "jaxlib", "optax", "simulations", "paper_figures", "fasttransfer",
               "proofs_check"},
    "proofs_check": {"simulations", "paper_figures", "fasttransfer"},
    "simulations": {"paper_figures", "fasttransfer", "proofs_check"},
    "paper_figures": {"fasttransfer"},
}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package):
    bad = {}
    for path in sorted((ROOT / package).glob("**/*.py")):
        hits = _imported_roots(path) & FORBIDDEN[package]
        if hits:
            bad[str(path.relative_to(ROOT))] = sorted(hits)
    assert not bad, f"imports against the layout's direction: {bad}"

"""The direction of imports (docs/paper-setups.md#layout): fasttransfer -> paper_figures ->
theory (figures are views: they read stored results and import no simulation), fasttransfer
-> simulations -> theory; proofs_check -> theory; checks never import figures; the error
types and the results store (fasttransfer.errors, fasttransfer.store) under them all. Checked on the source with ast, so a lazy import inside a
function counts as much as a top-level one. The folders install as subpackages of one
package (fasttransfer.theory from theory/, ...): an import of fasttransfer.theory counts
as one of theory; any other fasttransfer module is the command line's side."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level names it must never import
FORBIDDEN = {
    "theory": {
        "jax",
        "jaxlib",
        "optax",
        "simulations",
        "paper_figures",
        "fasttransfer",
        "proofs_check",
    },
    "proofs_check": {"simulations", "paper_figures", "fasttransfer"},
    "simulations": {"paper_figures", "fasttransfer", "proofs_check"},
    # figures are views of stored results: no simulation engine, no JAX
    "paper_figures": {"fasttransfer", "simulations", "jax", "jaxlib", "optax"},
}


SUBPACKAGES = ("theory", "simulations", "paper_figures", "proofs_check")


BASE = ("errors", "store")  # fasttransfer.errors, fasttransfer.store: under every layer


def _layer(dotted: str) -> str:
    """The layer a dotted module name belongs to: a subpackage folder, "base" (the error
    types and the results store, which every layer may use), "fasttransfer" (the CLI,
    checks, report) or the third-party top-level name."""
    parts = dotted.split(".")
    if parts[0] == "fasttransfer" and len(parts) > 1 and parts[1] in SUBPACKAGES:
        return parts[1]
    if parts[0] == "fasttransfer" and len(parts) > 1 and parts[1] in BASE:
        return "base"
    return parts[0]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {_layer(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "fasttransfer":  # from fasttransfer import theory, ...
                roots |= {_layer(f"fasttransfer.{a.name}") for a in node.names}
            else:
                roots.add(_layer(node.module))
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package):
    bad = {}
    for path in sorted((ROOT / package).glob("**/*.py")):
        hits = _imported_roots(path) & FORBIDDEN[package]
        if hits:
            bad[str(path.relative_to(ROOT))] = sorted(hits)
    assert not bad, f"imports against the layout's direction: {bad}"


def test_the_base_layer_imports_nothing_of_ours_above_it():
    """errors and store sit under every subpackage: they import only each other."""
    for name in BASE:
        roots = _imported_roots(ROOT / "fasttransfer" / f"{name}.py")
        assert not roots & ({"fasttransfer"} | set(SUBPACKAGES)), (name, roots)


def test_the_layer_rule():
    assert _layer("fasttransfer.store") == "base" and _layer("fasttransfer.errors") == "base"
    assert _layer("fasttransfer.theory.rates") == "theory"
    assert _layer("fasttransfer.checks") == "fasttransfer" and _layer("numpy.linalg") == "numpy"


def test_one_namespace_installed():
    """pyproject maps every folder into fasttransfer: nothing else of ours is a package."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(p == "fasttransfer" or p.startswith("fasttransfer.") for p in conf["packages"])
    assert {conf["package-dir"][f"fasttransfer.{s}"] for s in SUBPACKAGES} == set(SUBPACKAGES)


def test_checks_never_draw():
    """Checks measure and store; ``verify`` draws their figures from the store."""
    bad = {
        str(p.relative_to(ROOT)): sorted(_imported_roots(p) & {"paper_figures"})
        for p in sorted((ROOT / "fasttransfer" / "checks").glob("*.py"))
    }
    assert not {k: v for k, v in bad.items() if v}, bad


def _imported_modules(path: Path) -> set[str]:
    """Every dotted module name ``path`` imports (lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_commands_form_no_cycle():
    """The command handlers (fasttransfer/cmd_*.py) sit under the parser: none imports
    the parser (fasttransfer.cli) or another handler, and only ``verify`` reaches into a
    check (the others share code through ordinary modules, e.g. overrides, rfrr_study)."""
    bad = {}
    for path in sorted((ROOT / "fasttransfer").glob("cmd_*.py")):
        mods = _imported_modules(path)
        hits = {m for m in mods if m == "fasttransfer.cli" or m.startswith("fasttransfer.cmd_")}
        if path.stem != "cmd_verify":
            hits |= {
                m
                for m in mods
                if m.startswith("fasttransfer.checks.") and m != "fasttransfer.checks.CheckContext"
            }
        if hits:
            bad[path.name] = sorted(hits)
    assert not bad, f"command handlers importing the parser, each other or a check: {bad}"


def _statements(node: ast.AST) -> int:
    """Statements in a module or function, nested ones included: a size that the
    formatter's line breaks do not change."""
    return sum(isinstance(n, ast.stmt) for n in ast.walk(node))


def test_rooms_stay_small():
    """One concept per module: no module over 350 statements in theory/ or checks/, and
    no function over 35 statements in checks/ (a check builds rows; the mathematics
    lives in theory/ and simulations/)."""
    big = {
        str(p.relative_to(ROOT)): n
        for folder in ("theory", "fasttransfer/checks")
        for p in sorted((ROOT / folder).glob("*.py"))
        if (n := _statements(ast.parse(p.read_text()))) > 350
    }
    assert not big, f"modules over 350 statements: {big}"
    long = {}
    for p in sorted((ROOT / "fasttransfer" / "checks").glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _statements(node) - 1
                if n > 35:
                    long[f"{p.name}:{node.name}"] = n
    assert not long, f"check functions over 35 statements: {long}"


def test_one_preset_convention():
    """Every configuration with presets spells them one way, ``Config.from_preset(name,
    **overrides)``: no ``preset``/``preset_config`` methods or module functions."""
    other = []
    for folder in ("theory", "simulations", "fasttransfer", "proofs_check", "paper_figures"):
        for p in sorted((ROOT / folder).glob("**/*.py")):
            for node in ast.walk(ast.parse(p.read_text())):
                if isinstance(node, ast.FunctionDef) and node.name in ("preset", "preset_config"):
                    other.append(f"{p.relative_to(ROOT)}:{node.name}")
                if isinstance(node, ast.FunctionDef) and node.name == "from_preset":
                    names = [a.arg for a in node.args.args]
                    assert node.args.kwarg is not None and "name" in names, (p, node.lineno)
    assert not other, f"presets spelled another way: {other}"

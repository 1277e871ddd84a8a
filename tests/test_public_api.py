"""The public API of ``fasttransfer`` (issue: one namespace, a thin API): every name in
__all__ resolves, importing the package loads neither JAX nor sympy, and the fixed
signatures of the RFRR and top-k APIs hold."""

import ast
import inspect
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fasttransfer as ft


def test_every_public_name_resolves():
    for name in ft.__all__:
        assert getattr(ft, name) is not None, name
    with pytest.raises(AttributeError):
        _ = ft.not_a_name


def test_import_is_light():
    code = (
        "import sys, fasttransfer; fasttransfer.read_sweep; "
        "print(sorted(m for m in ('jax', 'sympy', 'optax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _init_tables() -> tuple[dict, dict, list]:
    """From the source of fasttransfer/__init__.py (ast, nothing imported): the lazy
    table _API, the ``if TYPE_CHECKING:`` imports as {name: (module, attribute)}, and
    the literal __all__."""
    tree = ast.parse(Path(ft.__file__).read_text())
    api, checking, all_ = None, {}, None
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_API":
            api = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "__all__"
        ]:
            all_ = ast.literal_eval(node.value)
        elif isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 0, ast.dump(imp)
                for alias in imp.names:
                    checking[alias.asname or alias.name] = (imp.module, alias.name)
    assert api is not None and all_ is not None and checking
    return api, checking, all_


def test_type_checking_imports_match_the_lazy_table():
    """The TYPE_CHECKING imports (what editors and mypy see) name the same objects as the
    lazy table (what runs), and __all__ lists exactly those names and __version__."""
    api, checking, all_ = _init_tables()
    # a module entry (attribute None) is imported as ``from parent import module``
    wanted = {
        name: (module, attr) if attr is not None else tuple(module.rsplit(".", 1))
        for name, (module, attr) in api.items()
    }
    assert checking == wanted
    assert sorted(all_) == sorted([*api, "__version__"]) and len(set(all_)) == len(all_)
    assert ft.__all__ == all_


def test_rfrr_signatures_and_a_value():
    sig = inspect.signature(ft.rfrr.asymptotic_risk)
    assert list(sig.parameters)[:3] == ["psi1", "psi2", "lam"]
    assert {"F1", "Fs", "tau", "activation"} <= set(sig.parameters)
    lam, risk = ft.rfrr.optimal_lambda(math.inf, 2.0, F1=1.0, Fs=0.5, tau=0.5)
    # the optimum's risk is the smallest on a grid around it (exact to the optimiser)
    grid = [
        ft.rfrr.asymptotic_risk(math.inf, 2.0, lam * f, F1=1.0, Fs=0.5, tau=0.5) for f in (0.5, 2.0)
    ]
    assert risk <= min(grid)


def test_topk_change_is_the_sum_of_the_top_eigenvalues():
    rng = np.random.default_rng(0)
    G, dW = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    lam = np.asarray(ft.alignment_eigenvalues(G, dW))
    assert float(ft.topk_change(G, dW, 3)) == pytest.approx(float(lam[:3].sum()), rel=1e-12)
    # the full sum is <G, dW> (trace of the symmetrised alignment matrix)
    assert float(lam.sum()) == pytest.approx(float(np.sum(G * dW)), rel=1e-10)


def test_analyze_sweep_from_python(tmp_path, capsys):
    """A DataFrame or a path; the summary is the CLI's text; JSON and plot as the CLI's."""
    from fasttransfer.cli import main

    fam = ft.llama_family(beta=0.75)
    grid = fam.nu_inf + np.linspace(-1.5, 1.5, 21)
    df = ft.sample_sweep(fam, [128, 256, 512, 1024, 2048], grid, seeds=4, noise=1e-3, rng=1)
    path = tmp_path / "sweep.csv"
    df.to_csv(path, index=False)
    from_df = ft.analyze_sweep(df, bootstrap=50, seed=0)
    from_path = ft.analyze_sweep(path, bootstrap=50, seed=0)
    assert isinstance(from_df, ft.SweepResult) and from_df.verdict == from_path.verdict
    # one result type: the public result IS the estimator's, with the same JSON
    from fasttransfer.theory.rates import SweepAnalysis
    from fasttransfer.theory.rates import analyze_sweep as estimate

    assert isinstance(from_df, SweepAnalysis)
    assert from_df.to_json_dict() == estimate(from_df.sweep, bootstrap=50, seed=0).to_json_dict()
    assert from_df.alpha.estimate == pytest.approx(from_path.alpha.estimate, rel=1e-12)
    assert main(["analyze", str(path), "--bootstrap", "50"]) == 0
    assert capsys.readouterr().out.strip() == from_path.summary()
    assert set(from_df.to_json_dict()) >= {
        "alpha",
        "beta",
        "verdict",
        "per_width",
        "reasons",
        "hp_drift",
    }
    assert from_df.reasons and from_df.hp_drift.estimate < 0
    fig = from_df.plot()  # 5 widths: two panels and the colour bar of the widths
    assert [ax.get_label() for ax in fig.axes][-1] == "<colorbar>" and len(fig.axes) == 3
    raw = df.assign(hp=np.exp(df.hp))
    logged = ft.analyze_sweep(raw, log_hp=True, bootstrap=50, seed=0)
    assert logged.beta.estimate == pytest.approx(from_df.beta.estimate, rel=1e-9)
    from fasttransfer.errors import InputError

    with pytest.raises(InputError, match=r"^log_hp"):
        ft.analyze_sweep(df.assign(hp=-1.0), log_hp=True)
    # the analysis options reach the library: a one-seed sweep needs the independence
    # assertion for a verdict; the margin is settable
    one = ft.analyze_sweep(df[df.seed == 0], bootstrap=50, seed=0)
    assert one.verdict == "inconclusive" and "one seed" in one.reasons[0]
    wide = ft.analyze_sweep(df, bootstrap=50, seed=0, margin=5.0)
    assert wide.margin == 5.0 and wide.verdict != "fast"

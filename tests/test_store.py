"""fasttransfer.store: atomic writes; entries keyed on configuration and code; one mismatch
policy (refuse, naming recompute); provenance."""

import json
import os
import stat
import textwrap

import pandas as pd
import pytest

from fasttransfer import store
from fasttransfer.errors import InputError, cli_message
from fasttransfer.store import atomic_write_csv, atomic_write_json, atomic_write_text


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "f.csv"
    atomic_write_text(path, "old\n")
    with pytest.raises(TypeError):
        atomic_write_text(path, 12345)  # not text: the write fails midway
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.csv"]  # no temporary left


def test_json_and_csv_round_trip(tmp_path):
    atomic_write_json(tmp_path / "sub" / "a.json", {"b": 1, "a": [1.5]}, sort_keys=True)
    text = (tmp_path / "sub" / "a.json").read_text()
    assert json.loads(text) == {"a": [1.5], "b": 1} and text.endswith("\n")
    df = pd.DataFrame({"x": [1, 2], "y": [0.1, 0.2]})
    atomic_write_csv(tmp_path / "d.csv", df)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "d.csv"), df)


def test_written_files_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0600


def _module(tmp_path, monkeypatch, name, source):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_code_version_ignores_prose_and_tracks_code(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    mod = _module(
        pkg,
        monkeypatch,
        "mod_a",
        '''
        """Doc."""
        def f(x):
            """Square."""
            return x * x  # a comment
    ''',
    )
    v0 = store.code_version([mod])
    (pkg / "mod_a.py").write_text('"""Other doc."""\n\n\ndef f(x):\n    return x*x\n')
    assert store.code_version([mod]) == v0  # docstrings, comments, layout: same code
    (pkg / "mod_a.py").write_text("def f(x):\n    return x * x * 1.0\n")
    assert store.code_version([mod]) != v0
    with pytest.raises(InputError, match="no Python source"):
        store.code_version(["no_such_module_here"])


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A module the stored numbers depend on (its file, to edit)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "engine_mod.py").write_text("def step(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(src))
    return src / "engine_mod.py"


def test_entry_round_trip_reuse_and_provenance(tmp_path, engine):
    cfg = {"widths": (64, 128), "lr": 0.1}
    e = store.open_entry(
        tmp_path, "relu", "quick", "mup", config=cfg, modules=["engine_mod"], command="cmd"
    )
    assert e.dir == tmp_path / "relu" / "quick" / "mup" and not e.complete
    e.write_csv("a.csv", pd.DataFrame({"x": [1.0, float("nan")]}))
    e = store.finish(e, wall_s=2.5, rows=2)
    again = store.open_entry(tmp_path, "relu", "quick", "mup", config=cfg, modules=["engine_mod"])
    assert again.complete and again.manifest["result"] == {"rows": 2}
    prov = again.manifest["provenance"]
    assert prov["command"] == "cmd" and prov["wall_s"] == 2.5
    assert {"date_utc", "finished_utc", "host", "versions", "device", "git"} <= set(prov)
    assert {"kind", "count"} <= set(prov["device"]) and "numpy" in prov["versions"]
    import jax

    assert prov["jax_x64"] is bool(jax.config.jax_enable_x64)  # read again at finish
    r = store.read_entry(tmp_path, "relu", "quick", "mup", config=cfg)
    assert r.read_csv("a.csv").x.isna().sum() == 1
    assert f"code {store.code_version(['engine_mod'])}" in r.describe()


def test_changing_the_code_makes_an_entry_stale(tmp_path, engine):
    store.finish(store.open_entry(tmp_path, "s", "quick", config={}, modules=["engine_mod"]))
    assert store.read_entry(tmp_path, "s", "quick").complete
    engine.write_text("def step(x):\n    return 3 * x\n")  # the numbers would change
    for call in (
        lambda: store.read_entry(tmp_path, "s", "quick"),
        lambda: store.open_entry(tmp_path, "s", "quick", config={}, modules=["engine_mod"]),
    ):
        with pytest.raises(store.StaleResult, match="code version") as err:
            call()
        assert "recompute" in str(err.value) and err.value.param == "recompute"
    fresh = store.open_entry(
        tmp_path, "s", "quick", config={}, modules=["engine_mod"], recompute=True
    )
    assert not fresh.complete
    engine.unlink()  # a module the entry depends on is gone: stale, not a crash
    store.finish(fresh)
    with pytest.raises(store.StaleResult, match="modules gone"):
        store.read_entry(tmp_path, "s", "quick")


def test_another_configuration_is_stale_until_recomputed(tmp_path, engine):
    kw = {"config": {"widths": [64, 128], "lr": 0.1}, "modules": ["engine_mod"]}
    store.finish(store.open_entry(tmp_path, "s", "quick", **kw))
    new = {**kw, "config": {"widths": [64], "lr": 0.1}}
    with pytest.raises(store.StaleResult, match=r"configuration \(widths") as err:
        store.open_entry(tmp_path, "s", "quick", **new)
    assert cli_message(err.value) == str(err.value)  # names the flag in its text
    with pytest.raises(store.StaleResult):
        store.read_entry(tmp_path, "s", "quick", config=new["config"])
    assert not store.open_entry(tmp_path, "s", "quick", recompute=True, **new).complete


def test_find_entry_takes_the_first_current_root(tmp_path, engine):
    a, b = tmp_path / "a", tmp_path / "b"
    store.finish(store.open_entry(b, "s", "paper", config={}, modules=["engine_mod"]))
    assert store.find_entry([a, b], "s", "paper").dir == b / "s" / "paper"
    with pytest.raises(store.MissingResult):
        store.find_entry([a], "s", "paper")


def test_missing_unfinished_and_foreign_folders(tmp_path):
    with pytest.raises(store.MissingResult, match="no results"):
        store.read_entry(tmp_path, "s", "quick")
    store.open_entry(tmp_path, "s", "quick", config={}, modules=[])
    with pytest.raises(store.MissingResult, match="unfinished"):
        store.read_entry(tmp_path, "s", "quick")
    (tmp_path / "t" / "quick").mkdir(parents=True)
    (tmp_path / "t" / "quick" / "x.csv").write_text("1\n")
    with pytest.raises(InputError, match="not a results entry"):
        store.open_entry(tmp_path, "t", "quick", config={}, modules=[])
    (tmp_path / "t" / "quick" / store.MANIFEST).write_text("[1]")
    with pytest.raises(InputError, match="not a results manifest"):
        store.read_entry(tmp_path, "t", "quick")


def test_provenance_names_jax_x64_mode():
    """The x64 mode changes a run's numbers, so provenance records it (as JAX has it)."""
    import jax

    assert store.provenance("cmd")["jax_x64"] is bool(jax.config.jax_enable_x64)
    with jax.enable_x64(not jax.config.jax_enable_x64):
        assert store.provenance("cmd")["jax_x64"] is bool(jax.config.jax_enable_x64)

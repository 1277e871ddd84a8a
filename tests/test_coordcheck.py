"""The muP coordinate check (simulations/coordcheck.py): the tidy table, the pure
slope criterion on constructed inputs, the known answers, and the CLI."""

import json
import logging
import re

import numpy as np
import pandas as pd
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import coordcheck as cc


def _synthetic(
    slopes: dict, *, seeds=6, widths=(64, 128, 256, 512, 1024), steps=2, noise=0.05, seed=0
) -> pd.DataFrame:
    """l1 = C n^s exp(noise * z): exact power laws with log-normal seed noise.
    ``slopes`` maps (param, module) -> s (every t)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (param, module), s in slopes.items():
        for t in range(steps + 1):
            for sd in range(seeds):
                for n in widths:
                    rows.append(
                        (
                            param,
                            n,
                            t,
                            module,
                            sd,
                            0.7 * n**s * np.exp(noise * rng.standard_normal()),
                        )
                    )
    return pd.DataFrame(rows, columns=["param", "width", "t", "module", "seed", "l1"])


def _flat_mup_growing_sp(sp_out=1.0, mup_out=0.0, **kw):
    spec = {("mup", m): 0.0 for m in cc.MODULES}
    spec[("mup", "output")] = mup_out
    spec.update({("sp", m): 0.0 for m in cc.MODULES})
    spec[("sp", "output")] = sp_out
    return _synthetic(spec, **kw)


def test_slopes_recover_constructed_power_laws():
    df = _synthetic(
        {("mup", "preact"): 0.0, ("sp", "output"): 0.7, ("mup", "act"): -0.5}, noise=0.0
    )
    tab = cc.slopes(df)
    got = {(r.param, r.module): r.slope for r in tab.itertuples()}
    # noise-free power laws: the OLS slope is exact up to float rounding
    assert got[("mup", "preact")] == pytest.approx(0.0, abs=1e-12)
    assert got[("sp", "output")] == pytest.approx(0.7, abs=1e-12)
    assert got[("mup", "act")] == pytest.approx(-0.5, abs=1e-12)
    assert set(tab["n_seeds"]) == {6} and set(tab["n_widths"]) == {5}


def test_criterion_flat_passes_growing_fails():
    v = cc.criterion(cc.slopes(_flat_mup_growing_sp()))
    assert v.mup_ok is True and v.sp_output_grows is True and v.growing == ()
    # muP output growing like n^0.3: with noise sd 0.05 over a 16x width range the slope's
    # s.e. is ~0.05/(sqrt(6) * 1.1) ~ 0.02, so 0.3 is > 10 s.e.: must be flagged everywhere
    v = cc.criterion(cc.slopes(_flat_mup_growing_sp(mup_out=0.3)))
    assert v.mup_ok is False
    assert set(v.growing) == {("output", t) for t in range(3)}
    # an SP output that does not grow: the SP claim is not met
    v = cc.criterion(cc.slopes(_flat_mup_growing_sp(sp_out=0.0)))
    assert v.sp_output_grows is False


def test_criterion_tolerance_comes_from_seed_spread():
    # a slope of +0.05 is significant when the seed noise is tiny, not when it is large
    tiny = cc.criterion(cc.slopes(_flat_mup_growing_sp(mup_out=0.05, noise=0.001)))
    large = cc.criterion(cc.slopes(_flat_mup_growing_sp(mup_out=0.05, noise=0.5)))
    assert tiny.mup_ok is False and large.mup_ok is True
    # interval half-width = q * se, q the Bonferroni t-quantile (9 muP cells, 5 dof)
    from scipy import stats

    q = stats.t.ppf(1 - 0.05 / 9, df=5)
    row = large.table.iloc[0]
    assert row["hi"] - row["slope"] == pytest.approx(q * row["se"], rel=1e-12)


def test_criterion_rejects_single_seed_and_missing_columns():
    df = _flat_mup_growing_sp(seeds=1)
    with pytest.raises(InputError, match="seeds"):
        cc.criterion(cc.slopes(df))
    with pytest.raises(InputError, match="l1"):
        cc.slopes(df.drop(columns="l1"))


def test_config_validation():
    with pytest.raises(InputError, match="widths"):
        cc.CoordCheckConfig(widths=(64, 128))
    with pytest.raises(InputError, match="seeds"):
        cc.CoordCheckConfig(seeds=1)
    with pytest.raises(InputError, match="preset"):
        cc.CoordCheckConfig.from_preset("huge")


TINY = cc.CoordCheckConfig(widths=(64, 256, 1024), steps=2, seeds=4, batch=128, probe=128)


@pytest.fixture(scope="module")
def tiny_run():
    return cc.run_coordcheck(TINY)


def test_run_columns_and_values(tiny_run):
    df = tiny_run
    assert list(df.columns[:5]) == list(cc.COLUMNS) and "seed" in df.columns
    n_rows = len(TINY.params) * len(TINY.widths) * (TINY.steps + 1) * len(cc.MODULES) * TINY.seeds
    assert len(df) == n_rows
    assert set(df["t"]) == set(range(TINY.steps + 1))
    assert np.isfinite(df["l1"]).all() and (df["l1"] > 0).all()
    # relu(h) <= |h| elementwise, so mean |act| <= mean |preact| in every cell
    wide = df.pivot_table(index=["param", "width", "t", "seed"], columns="module", values="l1")
    assert (wide["act"] <= wide["preact"] + 1e-6).all()
    # the first layer's init does not depend on the parametrisation (same keys, same
    # std): pre-activations at t = 0 agree exactly between mup and sp
    pre0 = wide.xs(0, level="t")["preact"].unstack("param")
    np.testing.assert_array_equal(pre0["mup"].to_numpy(), pre0["sp"].to_numpy())
    # under sp, a = z / sqrt(n) and m = 1; under mup a = z and m = 1/n (same z): at init
    # f_mup = f_sp / sqrt(n) exactly (float32 rounding: rel 1e-5)
    out0 = wide.xs(0, level="t")["output"].unstack("param")
    n = out0.index.get_level_values("width").to_numpy().astype(float)
    np.testing.assert_allclose(
        out0["mup"].to_numpy(), out0["sp"].to_numpy() / np.sqrt(n), rtol=1e-5
    )


def test_mup_flat_sp_output_grows_at_tiny_size(tiny_run):
    v = cc.criterion(cc.slopes(tiny_run))
    tab = v.table.set_index(["param", "module", "t"])
    # SP: one Adam step moves every a_i by ~nu, so f moves by ~n nu: slope ~1 at t = 1
    # (measured +1.1 at full size); 0.5 leaves room for the 3-width fit at tiny size
    assert tab.loc[("sp", "output", 1), "slope"] > 0.5
    assert tab.loc[("sp", "output", 1), "flag"] == "grows"
    assert v.mup_ok, v.growing
    ids = cc.init_identities(v)
    assert all(ok for (_, _, _, ok) in ids.values()), ids


def test_store_roundtrip_reuse_and_cli(tmp_path, tiny_run, monkeypatch, caplog):
    from fasttransfer import store

    calls = []

    def fake_run(cfg, progress=None):
        calls.append(cfg)
        return tiny_run

    monkeypatch.setattr(cc, "run_coordcheck", fake_run)
    caplog.set_level(logging.INFO, logger="fasttransfer")
    back = cc.stored_coordcheck(tmp_path, TINY, "quick")
    entry = store.entry_dir(tmp_path, cc.STUDY, "quick")
    mean = pd.read_csv(entry / cc.MEAN_CSV)
    assert list(mean.columns) == list(cc.COLUMNS)  # the contract's exact columns
    assert len(mean) == len(tiny_run) // TINY.seeds
    pd.testing.assert_frame_equal(back, tiny_run, check_exact=False, rtol=1e-8)
    assert json.loads((entry / store.MANIFEST).read_text())["config"]["seeds"] == 4
    # the same configuration and code: reused (and said so); another: refused
    cc.stored_coordcheck(tmp_path, TINY, "quick")
    assert len(calls) == 1 and any(m.startswith("reused") for m in caplog.messages)
    with pytest.raises(store.StaleResult, match="seeds"):
        cc.stored_coordcheck(tmp_path, TINY.__class__(**{**TINY.to_dict(), "seeds": 5}), "quick")

    # the CLI reuses a stored result of its configuration (no recomputation)
    from dataclasses import replace

    from fasttransfer.cli import main

    cli_cfg = replace(
        cc.CoordCheckConfig.from_preset("quick"), widths=(64, 256, 1024), steps=2, seeds=4
    )
    cc.stored_coordcheck(tmp_path / "cli", cli_cfg, "quick")
    assert len(calls) == 2
    code = main(
        [
            "coordcheck",
            "--out",
            str(tmp_path / "cli"),
            "--widths",
            "64,256,1024",
            "--steps",
            "2",
            "--seeds",
            "4",
            "--no-progress",
        ]
    )
    assert code == 0 and len(calls) == 2
    assert (tmp_path / "cli" / "figures" / "coordcheck.png").exists()
    assert main(["coordcheck", "--out", str(tmp_path), "--seeds", "1"]) == 2
    # another configuration into the same folder: exit 2 naming --recompute
    assert (
        main(
            [
                "coordcheck",
                "--out",
                str(tmp_path / "cli"),
                "--widths",
                "64,256,1024",
                "--steps",
                "2",
                "--seeds",
                "3",
                "--no-progress",
            ]
        )
        == 2
    )


def test_verify_check_rows_and_reuse(tmp_path, monkeypatch, tiny_run):
    """The verify check at a tiny configuration: three rows, the figure, no "fail"
    (the known answers hold), and a stored result is reused."""
    from fasttransfer.checks import CheckContext
    from fasttransfer.checks import coordcheck as check

    monkeypatch.setattr(
        cc.CoordCheckConfig, "from_preset", classmethod(lambda cls, name, **o: TINY)
    )
    ctx = CheckContext(preset="quick", out=tmp_path)
    monkeypatch.setattr(cc, "run_coordcheck", lambda cfg, progress=None: tiny_run)
    rows = check.run(ctx)
    assert [r.check for r in rows] == ["coordcheck"] * 3
    assert rows[0].verdict == "pass"  # muP flat (asserted on this run above)
    assert rows[2].verdict == "pass"  # known answers at init
    assert rows[1].verdict in ("pass", "differs")  # SP at t = 2 is noisy at 3 widths
    assert rows[0].figures == ("figures/coordcheck.png",)  # verify draws it
    assert (tmp_path / "coordcheck" / "quick" / cc.SEEDS_CSV).exists()
    assert "| mup | output |" in re.sub(r" +\|", " |", rows[0].details)  # cells padded


# ---- the coordinate check of any JAX model (public API), on an MLP written as pure
# functions: muP for Adam (hidden and output LRs ~ 1/n, output init ~ 1/n) stays flat,
# the standard parametrisation's output grows with width once training starts.
def _mlp(param):
    """(init, apply, loss, data, x_probe, optimizer) of a 2-hidden-layer MLP."""
    import jax
    import jax.numpy as jnp
    import optax

    d, base = 8, 32

    def init(key, n):
        k1, k2, k3 = jax.random.split(key, 3)
        out_std = 1.0 / n if param == "mup" else n**-0.5
        return {
            "W1": jax.random.normal(k1, (d, n)) / d**0.5,
            "W2": jax.random.normal(k2, (n, n)) / n**0.5,
            "W3": jax.random.normal(k3, (n,)) * out_std,
        }

    def apply(p, x):
        h1 = jax.nn.relu(x @ p["W1"])
        h2 = jax.nn.relu(h1 @ p["W2"])
        return h2 @ p["W3"], {"h1": h1, "h2": h2}

    def optimizer(n, lr=1e-2):
        scale = base / n if param == "mup" else 1.0
        return optax.multi_transform(
            {"in": optax.adam(lr), "rest": optax.adam(lr * scale)},
            {"W1": "in", "W2": "rest", "W3": "rest"},
        )

    def data(key, t):
        x = jax.random.normal(key, (32, d))
        return x, jnp.sin(x[:, 0])

    x_probe = jax.random.normal(jax.random.PRNGKey(1), (64, d))
    return init, apply, (lambda out, y: jnp.mean((out - y) ** 2)), data, x_probe, optimizer


def test_coordinate_check_of_any_model():
    from scipy.stats import t as student

    import fasttransfer as ft

    seeds, steps = 3, 2
    q = student.ppf(0.975, seeds - 1)  # two-sided 95% t interval over the seeds
    tabs = {}
    for param in ("mup", "sp"):
        init, apply, loss, data, probe, opt = _mlp(param)
        df = ft.coordinate_check(
            init,
            apply,
            loss,
            data,
            probe,
            [32, 128, 512],
            optimizer=opt,
            steps=steps,
            seeds=seeds,
            label=param,
        )
        assert list(df.columns) == ["param", "width", "t", "module", "l1", "seed"]
        assert set(df.module) == {"h1", "h2", "output"} and set(df.t) == {0, 1, 2}
        tabs[param] = ft.coordinate_slopes(df).set_index(["module", "t"])
    mup, sp = tabs["mup"], tabs["sp"]
    for module in ("h1", "h2", "output"):
        for t in (1, 2):
            r = mup.loc[(module, t)]
            assert r.slope - q * r.se <= 0.0  # not significantly growing under muP
    for t in (1, 2):
        r = sp.loc[("output", t)]
        assert r.slope - q * r.se > 0.0  # grows with width under SP
    init, apply, loss, data, probe, opt = _mlp("mup")
    small = ft.coordinate_check(
        init, apply, loss, data, probe, [32, 64], optimizer=opt, steps=1, seeds=1, label="my model"
    )
    fig = ft.plot_coordinates(small)
    assert len(fig.axes) == 2 and "my model" in fig.axes[0].get_title()  # one panel per t
    with pytest.raises(InputError):
        ft.coordinate_check(init, apply, loss, data, probe, [], optimizer=opt)

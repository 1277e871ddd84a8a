"""The top-k figures: main() at tiny size on a tiny stored entry (the ReLU net, where
Algorithm 1 fails: the Fail / fixed-kappa paths), then the drawn content on constructed
profiles whose kappa_hat is known (tests/topk_profiles.py: the found paths)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from topk_profiles import HP, WIDTHS
from topk_profiles import frames as constructed_frames

from fasttransfer.paper_figures import (
    FIGURES,
    topk_curves,
    topk_final,
    topk_flatness,
    topk_kappa,
    topk_profile,
)

TINY = {"widths": (16, 32, 64), "seeds": 1, "steps": 40, "n_lrs": 5}
MODULES = (topk_curves, topk_final, topk_profile, topk_flatness, topk_kappa)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The tiny relu setting stored as `simulate topk` stores it, then figures drawn
    from the store (main() never simulates)."""
    from fasttransfer.simulations.topk_study import simulate

    d = tmp_path_factory.mktemp("topk_figs")
    simulate(
        d / "results",
        "quick",
        settings=("relu",),
        progress=False,
        variants=False,
        label="tiny",
        **TINY,
    )
    assert topk_curves.main(ARGS(d)) == 0
    return d


def ARGS(d):
    return [
        "--out",
        str(d),
        "--results",
        str(d / "results"),
        "--preset",
        "tiny",
        "--setting",
        "relu",
    ]


def stored(d):
    return topk_curves.load_setting(d / "results", "tiny", "relu")


def test_registered():
    for mod in MODULES:
        assert FIGURES[mod.NAME] == mod.__name__
        assert mod.CAPTION.endswith(".")
        for attr in ("load", "plot", "main"):
            assert callable(getattr(mod, attr))


def test_seed_mean_is_nan_where_a_seed_diverged():
    df = pd.DataFrame(
        {"width": [1, 1, 2, 2], "seed": [0, 1, 0, 1], "loss": [1.0, 3.0, 1.0, np.inf]}
    )
    m = topk_curves.seed_mean(df, ["width"], ["loss"])["loss"]
    assert m.loc[1] == 2.0 and math.isnan(m.loc[2])


# ------------------------------------------------------------ the tiny stored entry
def test_curves(out):
    assert (out / "topk_curves.png").exists() and (out / "topk_curves.pdf").exists()
    data = topk_curves.load(out / "results", "tiny", "relu")
    assert data["k"] == data["k_wanted"] == 60  # the paper's k, recorded by the study
    fig = topk_curves.plot(data)
    axes = fig.axes
    assert len(axes) == 3
    for ax in axes:
        curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
        assert len(curves) == 3  # one per width (16, 32, 64)
        assert ax.get_xlabel() == "step t"
    assert "top-k" in axes[1].get_title() and "residual" in axes[2].get_title()
    assert "k = 60" in axes[1].get_title()
    assert axes[0].get_ylabel() == "loss"
    assert not axes[1].texts  # no "not recorded" note
    # the drawn total is the stored seed-mean loss curve at each width's best LR
    frames = stored(out)
    best = topk_curves.best_hp(frames["final"])
    c = frames["curves"]
    sel = c[(c.width == 32) & (c.k == 60) & (c.hp == best[32])].sort_values("step")
    np.testing.assert_allclose(data["widths"][32]["loss"], sel["loss"].to_numpy())


def test_final(out):
    cells = out / "results" / "topk" / "tiny" / "relu" / "cells"
    before = {p.name: p.stat().st_mtime_ns for p in cells.iterdir()}
    assert len([n for n in before if n.endswith(".done")]) == 3  # one marker per width
    assert topk_final.main(ARGS(out)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in cells.iterdir()} == before  # read only
    assert (out / "topk_final.png").exists()
    data = topk_final.load(out / "results", "tiny", "relu")
    fig = topk_final.plot(data)
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log" and right.get_xscale() == "log"
    assert "learning rate" in right.get_xlabel()
    assert "total" in left.get_title() and "kappa_n" in right.get_title()
    for ax in (left, right):
        assert 3 <= len(ax.get_lines()) <= 6  # curves plus the argmin stars
    # Algorithm 1 fails on the rank-bounded ReLU net: every width is drawn at the stored
    # fixed kappa (= K_max), labelled as such
    frames = stored(out)
    kap = frames["kappa"]
    assert all(v is None for v in kap["kappa_hat"].values())
    labels = right.get_legend().get_texts()
    assert sum("Alg. 1 Fail" in t.get_text() for t in labels) == 3
    p = frames["profile"]
    for w in (16, 64):
        d = data["widths"][w]
        assert np.all(d["kappa"] == kap["kappa"])
        want = p[(p.width == w) & (p.k == kap["kappa"])].sort_values("hp")["topk"].to_numpy()
        np.testing.assert_allclose(d["topk"], want)


def test_profile(out):
    assert topk_profile.main(ARGS(out)) == 0
    assert (out / "topk_profile.png").exists()
    data = topk_profile.load(out / "results", "tiny", "relu")
    fig = topk_profile.plot(data)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("k") and "varphi_n^k" in ax.get_ylabel()
    curves = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(curves) == 3
    # every width at one LR, the grid argmin of n_max's total (where phi_n^k and
    # phi_nmax^k are compared)
    frames = stored(out)
    assert data["hp"] == topk_curves.best_hp(frames["final"])[64] and data["at_ref_optimum"]
    # no kappa_hat: NaN at n_max (the reference) and where Algorithm 1 failed (all here)
    assert all(math.isnan(data["widths"][w]["kappa_hat"]) for w in (16, 32, 64))
    assert data["widths"][16]["failed"] and not data["widths"][64]["failed"]
    # the ReLU net's spectra are rank-bounded (rank <= 2d = K_max): flagged when read;
    # Algorithm 1's output is computed from the frames, never stored in the entry
    kap = frames["kappa"]
    assert kap["rank_bounded"] is True and kap["k_max"] == 16
    assert not (out / "results" / "topk" / "tiny" / "relu" / "kappa.json").exists()


def test_flatness(out):
    assert topk_flatness.main(ARGS(out)) == 0
    assert (out / "topk_flatness.png").exists() and (out / "topk_flatness.pdf").exists()
    data = topk_flatness.load(out / "results", "tiny", "relu")
    assert sorted(data["panels"]) == [16, 32] and data["n_max"] == 64
    fig = topk_flatness.plot(data)
    drawn = [ax for ax in fig.axes if ax.get_visible()]
    assert len(drawn) == 2
    assert data["rank_bounded"] and "rank-bounded" in fig.get_suptitle()
    for ax, w in zip(drawn, (16, 32), strict=False):
        assert ax.get_xscale() == "log" and "residual" in ax.get_ylabel()
        assert f"n = {w}" in ax.get_title() and "Alg. 1 Fail" in ax.get_title()
    # fixed kappa = K_max on the ReLU net: the residual there is the stored one at k = 16
    kap, p = stored(out)["kappa"], stored(out)["profile"]
    want = p[(p.width == 64) & (p.k == kap["kappa"])].sort_values("hp")["residual"]
    np.testing.assert_allclose(data["panels"][16]["ref"]["residual"], want.to_numpy())


def test_kappa(out):
    assert topk_kappa.main(ARGS(out)) == 0
    assert (out / "topk_kappa.png").exists()
    data = topk_kappa.load(out / "results", "tiny", "relu")
    assert data["kappa_hat"] == {16: None, 32: None}
    fig = topk_kappa.plot(data)
    left, right = fig.axes[:2]
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert "n = 16: Fail" in labels and "n = 32: Fail" in labels
    assert any("Algorithm 1 Fail" in t.get_text() for t in left.texts)  # the reasons
    fails = [ln for ln in right.get_lines() if ln.get_label() == "Algorithm 1 Fail"]
    assert len(fails) == 1 and list(fails[0].get_xdata()) == [16, 32]
    assert right.get_xlabel() == "width n" and left.get_xscale() == "log"


# --------------------------------------------- constructed profiles, kappa_hat known
K0 = np.array([3, 3, 4, 4, 5, 5, 6, 6, 6])  # kappa_hat(n, nu_i) by construction


@pytest.fixture(scope="module")
def made():
    """Constructed frames (Algorithm 1 finds kappa_hat = K0 at every width; the residual
    at K0 is res_shift(n), flat in nu) with kappa.json as the study stores it."""
    from fasttransfer.theory.algorithm1 import kappa_summary

    profile, final = constructed_frames(
        K0, res_shift=lambda n: 0.1 / math.sqrt(n), shift=lambda n: 0.2 / n
    )
    fr = {"profile": profile, "final": final, "kappa": kappa_summary(profile, final)}
    for n in WIDTHS[:-1]:  # the precondition the drawn values are checked against
        assert fr["kappa"]["kappa_hat"][str(n)] == list(K0)
    return fr


@pytest.fixture(scope="module")
def made_store(made, tmp_path_factory) -> Path:
    """The constructed frames as a store entry topk/made/mlp (curves: a made-up two-step
    split per k, enough to draw), for main() on the found paths without a simulation."""
    from fasttransfer import store

    root = tmp_path_factory.mktemp("topk_made") / "results"
    prof, fin = made["profile"], made["final"]
    rows = []
    for k in (1, 4, 12):
        top = prof[prof.k == k].merge(fin, on=["width", "hp", "seed"])
        for step in (1, 2):
            rows.append(
                top.assign(step=step, loss=top["loss"] + 1.0 / step, topk=top["topk"] + 1.0 / step)
            )
    curves = pd.concat(rows, ignore_index=True)
    curves["residual"] = curves["loss"] - curves["topk"]

    def write(e):
        e.write_csv("profile.csv", prof)
        e.write_csv("final.csv", fin)
        e.write_csv(
            "curves.csv", curves[["width", "hp", "seed", "k", "step", "loss", "topk", "residual"]]
        )

    store.reuse_or_run(
        root,
        "topk",
        "made",
        "mlp",
        config={"made": True},
        modules=(),
        run=write,
    )
    return root


@pytest.mark.parametrize("mod", (topk_flatness, topk_kappa), ids=lambda m: m.NAME)
def test_main_draws_the_found_case(mod, made_store, tmp_path):
    argv = ["--out", str(tmp_path), "--results", str(made_store), "--preset", "made"]
    assert mod.main(argv) == 0  # --setting defaults to mlp, as verify draws it
    assert (tmp_path / f"{mod.NAME}.png").exists() and (tmp_path / f"{mod.NAME}.pdf").exists()


def test_curves_fall_back_to_the_nearest_recorded_k(made_store):
    frames = topk_curves.load_setting(made_store, "made", "mlp")  # k in (1, 4, 12)
    data = topk_curves.from_frames(frames, "made")
    assert data["k"] == 12 and data["k_wanted"] == 60
    fig = topk_curves.plot(data)
    assert "k = 12" in fig.axes[1].get_title()
    assert any("k = 60 not recorded" in t.get_text() for t in fig.axes[1].texts)
    d = data["widths"][64]
    np.testing.assert_allclose(d["loss"] - d["topk"], d["residual"])


def with_fail(fr, width=128):
    """The frames with Algorithm 1's answer at ``width`` replaced by a Fail."""
    kap = json.loads(json.dumps(fr["kappa"]))
    kap["kappa_hat"][str(width)] = None
    kap["fail_reason"][str(width)] = "no tau pair passes both gates (...: ConvErr 0.5)"
    return {**fr, "kappa": kap}


def test_flatness_draws_the_residual_at_kappa_hat(made):
    data = topk_flatness.from_frames(made, "made")
    ref = WIDTHS[-1]
    for n in WIDTHS[:-1]:
        d = data["panels"][n]
        np.testing.assert_array_equal(d["kappa"], K0)
        # residual at kappa_hat = res_shift, exactly flat; any other k adds a slope
        np.testing.assert_allclose(d["n"]["residual"], 0.1 / math.sqrt(n), atol=1e-12)
        np.testing.assert_allclose(d["ref"]["residual"], 0.1 / math.sqrt(ref), atol=1e-12)
        assert "hat" in d["kappa_label"]
    fig = topk_flatness.plot(data)
    ax = fig.axes[0]
    # markers: argmin of the top-kappa loss (v) and of the total (*), both at hp = 0
    marks = [ln for ln in ax.get_lines() if ln.get_marker() in ("v", "*")]
    assert len(marks) == 4  # n and n_max, two each
    assert all(np.isclose(ln.get_xdata()[0], 1.0) for ln in marks)  # nu = e^0
    assert "J(" in ax.get_title()  # the stored decomposition rate at kappa_hat

    failed = topk_flatness.from_frames(with_fail(made), "made")["panels"][128]
    k = made["kappa"]["kappa"]
    assert np.all(failed["kappa"] == k) and "Alg. 1 Fail" in failed["kappa_label"]
    # at the fixed kappa the residual is the constructed one at k, not the flat one
    want = (
        np.maximum(K0 - k, 0) * 0.5 * (1 + HP**2)
        + 0.1 / math.sqrt(128)
        - np.maximum(k - K0, 0) * (1 / 128 - 1 / WIDTHS[-1])
    )
    np.testing.assert_allclose(failed["n"]["residual"], want, atol=1e-12)


def test_final_draws_the_top_kappa_hat_loss(made):
    data = topk_final.from_frames(made, "made")
    p = made["profile"]
    for n in WIDTHS:
        d = data["widths"][n]
        np.testing.assert_array_equal(d["kappa"], K0)  # n_max: kappa_hat of 512
        want = [
            p[(p.width == n) & (p.hp == x) & (p.k == k)]["topk"].item()
            for x, k in zip(HP, K0, strict=False)
        ]
        np.testing.assert_allclose(d["topk"], want)
    assert "512" in data["widths"][WIDTHS[-1]]["kappa_label"]
    fig = topk_final.plot(data)
    stars = [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == "*"]
    assert len(stars) == len(WIDTHS) and all(np.isclose(s.get_xdata()[0], 1.0) for s in stars)


def test_profile_marks_kappa_hat_where_the_curves_peel_off(made):
    data = topk_profile.from_frames(made, "made")
    assert data["hp"] == 0.0  # the reference's optimum, the middle of the grid
    for n in WIDTHS[:-1]:
        assert data["widths"][n]["kappa_hat"] == K0[4]
    assert math.isnan(data["widths"][WIDTHS[-1]]["kappa_hat"])
    fig = topk_profile.plot(data)
    circles = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "o"]
    assert len(circles) == len(WIDTHS) - 1
    assert all(ln.get_xdata()[0] == K0[4] for ln in circles)
    assert fig.axes[0].get_xscale() == "symlog"


def test_kappa_figure_draws_kappa_hat_and_fail(made):
    data = topk_kappa.from_frames(with_fail(made), "made")
    # right panel's LRs: the reference's optimum (grid index 4) and 2 steps either side
    np.testing.assert_allclose(data["lrs"], HP[[2, 4, 6]])
    fig = topk_kappa.plot(data)
    left, right = fig.axes[:2]
    found = [ln for ln in left.get_lines() if ln.get_marker() == "o"]
    assert len(found) == len(WIDTHS) - 2  # 128 is a Fail
    for ln in found:
        np.testing.assert_array_equal(ln.get_ydata(), K0)
        np.testing.assert_allclose(ln.get_xdata(), np.exp(HP))
    assert "n = 128: Fail" in [t.get_text() for t in left.get_legend().get_texts()]
    per_lr = [ln for ln in right.get_lines() if ln.get_marker() == "o"]
    assert len(per_lr) == 3
    for ln, i in zip(per_lr, (2, 4, 6), strict=False):
        y = np.asarray(ln.get_ydata(), float)
        np.testing.assert_array_equal(y[[0, 2, 3]], K0[i])  # 64, 256, 512
        assert math.isnan(y[1])  # 128 failed: no value, a cross instead
    cross = [ln for ln in right.get_lines() if ln.get_label() == "Algorithm 1 Fail"]
    assert list(cross[0].get_xdata()) == [128]
    assert right.get_yscale() == "symlog" and right.get_xscale() == "log"

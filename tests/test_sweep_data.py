"""theory.sweep_data: reading and validating a sweep, and its padded arrays (the CLI's
one-line errors for every bad file are in tests/test_cli_analyze.py)."""

import numpy as np
import pandas as pd
import pytest

from fasttransfer.errors import InputError
from fasttransfer.theory.sweep_data import (
    DivergenceRule,
    densify,
    diverged_runs,
    read_sweep,
    validate_sweep,
)
from fasttransfer.theory.synthetic import llama_family

WIDTHS = 128 * 2 ** np.arange(4)


def sweep(rng=2, seeds=2):
    fam = llama_family(0.75)
    return fam.sample_sweep(
        WIDTHS, fam.nu_inf + np.linspace(-2, 2, 9), seeds=seeds, noise=1e-3, rng=rng
    )


def test_read_sweep_roundtrip(tmp_path):
    df = sweep()
    path = tmp_path / "s.csv"
    df.assign(hp=np.exp(df.hp), note="x").to_csv(path, index=False)
    back = read_sweep(path, log_hp=True)
    assert list(back.columns) == ["width", "hp", "loss", "seed"]
    assert np.allclose(np.sort(back.hp.to_numpy()), np.sort(df.hp.to_numpy()))
    assert isinstance(back, pd.DataFrame) and len(back) == len(df)


@pytest.mark.parametrize(
    "text, match",
    [
        ("width,hp\n1,2\n", "missing column"),
        ("width,hp,loss,hp\n", "duplicate column 'hp'"),
        ("width,hp,loss\n1,2\n", "line 2 has 2 fields"),
        ("width,hp,loss\n1,x,3\n", r"non-numeric or non-finite value 'x' in column 'hp' \(line 2"),
        ("width,hp,loss\n1,2,oops\n", "non-numeric value 'oops' in column 'loss'"),
        ("width,hp,loss\n-1,2,3\n", "'width' must be > 0"),
        (
            "width,hp,loss\n1,2,3\n1,2,4\n",
            "duplicate run width=1, hp=2 on lines 2, 3 .add a 'seed'",
        ),
        ("width,hp,loss\n", "a header but no rows"),
    ],
)
def test_read_sweep_one_line_errors(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        read_sweep(path)


def test_validate_sweep_structure():
    df = sweep()
    with pytest.raises(InputError, match="fewer than 3 widths"):
        validate_sweep(df[df.width < 300])
    few = df[~((df.width == 256) & (df.hp > df.hp.min() + 1.6))]
    with pytest.raises(InputError, match="width 256 has 4 HP values"):
        validate_sweep(few)
    out = validate_sweep(df.sample(frac=1.0, random_state=0).drop(columns="seed").iloc[::2])
    assert list(out.columns) == ["width", "hp", "loss", "seed"] and (out.seed == 0).all()


def test_densify_pads_missing_runs_and_flags_unshared_seeds():
    df = sweep(seeds=3)
    df = df[~((df.width == WIDTHS[1]) & (df.seed == 2))]  # one seed fewer
    df = df[~((df.width == WIDTHS[2]) & (df.hp == df.hp.max()))]  # one HP fewer
    df.loc[df.index[5], "loss"] = np.inf  # one diverged run
    d = densify(validate_sweep(df))
    assert d.loss.shape == (4, 9, 3) and d.hp.shape == (4, 9)
    assert list(d.n_seeds) == [3, 2, 3, 3] and list(d.n_hp) == [9, 9, 8, 9]
    assert not d.shared_seeds and d.diverged == 1
    assert np.isnan(d.hp[2, -1]) and np.isnan(d.loss[1, :, 2]).all()
    # the diverged run's cell (3 seeds) is excluded whole: the default max_fraction is 0
    assert d.finite.sum() == len(df) - 3 and list(d.excluded_cells) == [1, 0, 0, 0]
    assert densify(validate_sweep(sweep(seeds=2))).shared_seeds


def test_read_sweep_keeps_init_loss_and_can_leave_width_checks_to_the_analysis(tmp_path):
    df = sweep()
    df["init_loss"] = 7.5
    path = tmp_path / "s.csv"
    df[~((df.width == 256) & (df.hp > df.hp.min() + 1.6))].to_csv(path, index=False)
    with pytest.raises(InputError, match="width 256 has 4 HP values"):
        read_sweep(path)
    back = read_sweep(path, check_widths=False)
    assert list(back.columns) == ["width", "hp", "loss", "seed", "init_loss"]
    assert (back.init_loss == 7.5).all()


def test_divergence_rule_thresholds():
    """NaN/inf always; above factor x the width's best cell median; above an absolute
    threshold; an init_loss column replaces the factor rule."""
    df = pd.DataFrame(
        {
            "width": [1.0] * 6 + [2.0] * 6,
            "hp": [0, 1, 2, 3, 4, 5] * 2,
            "loss": [3.0, 3.3, np.nan, 6.5, 7.0, np.inf, 0.02, 0.05, 0.5, 2.0, 3.0, 0.03],
            "seed": 0,
        }
    )
    default = diverged_runs(df)
    # width 1: best 3.0 -> threshold 6.0 (its median cell, 4.9, lies below: a loss
    # bounded away from 0); width 2: a bowl rising from 0.02 (median cell 0.275 > 0.04),
    # where a multiple of the best would cut the bowl: only NaN/inf count
    assert default.tolist() == [False, False, True, True, True, True] + [False] * 6
    off = diverged_runs(df, DivergenceRule(factor=None))
    assert off.tolist() == [False, False, True, False, False, True] + [False] * 6
    above = diverged_runs(df, DivergenceRule(factor=None, above=6.8))
    assert above.tolist() == [False, False, True, False, True, True] + [False] * 6
    init = diverged_runs(df.assign(init_loss=[6.9] * 6 + [10.0] * 6))
    assert init.tolist() == [False, False, True, False, True, True] + [False] * 6
    with pytest.raises(InputError, match="max_diverged_fraction"):
        DivergenceRule(max_fraction=1.0)
    assert "any diverged seed" in DivergenceRule().describe()
    assert "loss at initialisation" in DivergenceRule().describe(has_init=True)


def test_densify_excludes_cells_by_the_fraction_of_diverged_seeds():
    df = sweep(seeds=4)
    cells = df[(df.width == WIDTHS[0]) & (df.hp == df.hp.min())].index
    df.loc[cells[:1], "loss"] = np.nan  # 1 of 4 seeds at the first cell
    cells2 = df[(df.width == WIDTHS[1]) & (df.hp == df.hp.max())].index
    df.loc[cells2[:3], "loss"] = np.inf  # 3 of 4 at another
    v = validate_sweep(df)
    strict = densify(v)
    assert list(strict.diverged_runs) == [1, 3, 0, 0] and list(strict.excluded_cells) == [
        1,
        1,
        0,
        0,
    ]
    assert not strict.finite[0, 0].any() and not strict.finite[1, -1].any()
    half = densify(v, DivergenceRule(max_fraction=0.5))
    assert list(half.excluded_cells) == [0, 1, 0, 0] and half.finite[0, 0].sum() == 3
    assert list(strict.runs) == [36, 36, 36, 36]
    sub = strict.take([0, 2])
    assert list(sub.widths) == [WIDTHS[0], WIDTHS[2]] and sub.diverged == 1
    assert sub.loss.shape == (2, 9, 4)


def test_log_of_hp_is_the_one_log_hp_rule():
    """The CSV reader and the Python entry point take the log through one function."""
    import math

    from fasttransfer.errors import InputError
    from fasttransfer.theory.sweep_data import log_of_hp

    np.testing.assert_allclose(log_of_hp([1.0, math.e]), [0.0, 1.0])
    with pytest.raises(InputError, match=r"line 3: -2\)"):
        log_of_hp([1.0, -2.0], lines=[2, 3])
    with pytest.raises(InputError, match=r"its log \(0\)"):
        log_of_hp([0.0])

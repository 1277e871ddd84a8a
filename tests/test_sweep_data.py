"""theory.sweep_data: reading and validating a sweep, and its padded arrays (the CLI's
one-line errors for every bad file are in tests/test_cli_analyze.py)."""

import numpy as np
import pandas as pd
import pytest

from fasttransfer.theory.errors import InputError
from fasttransfer.theory.sweep_data import densify, read_sweep, validate_sweep
from fasttransfer.theory.synthetic import llama_family

WIDTHS = 128 * 2 ** np.arange(4)


def sweep(rng=2, seeds=2):
    fam = llama_family(0.75)
    return fam.sample_sweep(WIDTHS, fam.nu_inf + np.linspace(-2, 2, 9), seeds=seeds,
                            noise=1e-3, rng=rng)


def test_read_sweep_roundtrip(tmp_path):
    df = sweep()
    path = tmp_path / "s.csv"
    df.assign(hp=np.exp(df.hp), note="x").to_csv(path, index=False)
    back = read_sweep(path, log_hp=True)
    assert list(back.columns) == ["width", "hp", "loss", "seed"]
    assert np.allclose(np.sort(back.hp.to_numpy()), np.sort(df.hp.to_numpy()))
    assert isinstance(back, pd.DataFrame) and len(back) == len(df)


@pytest.mark.parametrize("text, match", [
    ("width,hp\n1,2\n", "missing column"),
    ("width,hp,loss,hp\n", "duplicate column 'hp'"),
    ("width,hp,loss\n1,2\n", "line 2 has 2 fields"),
    ("width,hp,loss\n1,x,3\n", r"non-numeric or non-finite value 'x' in column 'hp' \(line 2"),
    ("width,hp,loss\n1,2,oops\n", "non-numeric value 'oops' in column 'loss'"),
    ("width,hp,loss\n-1,2,3\n", "'width' must be > 0"),
    ("width,hp,loss\n1,2,3\n1,2,4\n", "duplicate run width=1, hp=2 on lines 2, 3 .add a 'seed'"),
    ("width,hp,loss\n", "a header but no rows"),
])
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
    df = df[~((df.width == WIDTHS[1]) & (df.seed == 2))]               # one seed fewer
    df = df[~((df.width == WIDTHS[2]) & (df.hp == df.hp.max()))]        # one HP fewer
    df.loc[df.index[5], "loss"] = np.inf                                # one diverged run
    d = densify(validate_sweep(df))
    assert d.loss.shape == (4, 9, 3) and d.hp.shape == (4, 9)
    assert list(d.n_seeds) == [3, 2, 3, 3] and list(d.n_hp) == [9, 9, 8, 9]
    assert not d.shared_seeds and d.diverged == 1
    assert np.isnan(d.hp[2, -1]) and np.isnan(d.loss[1, :, 2]).all()
    assert d.finite.sum() == len(df) - 1
    assert densify(validate_sweep(sweep(seeds=2))).shared_seeds

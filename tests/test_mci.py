"""theory.mci: the Mean Component Index and the consistency of easy and hard samples."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fasttransfer.errors import InputError
from fasttransfer.theory import mci as SW


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=5, max_size=5),
        min_size=1,
        max_size=8,
    )
)
def test_mci_lies_between_one_and_r(rows):
    psi = np.asarray(rows)
    m = SW.mci(psi)
    nz = np.abs(psi).sum(axis=1) > 0
    assert np.all(np.isnan(m[~nz]))
    assert np.all((m[nz] >= 1 - 1e-12) & (m[nz] <= 5 + 1e-12))


def test_mci_exact_cases():
    psi = np.array([[3.0, 0, 0], [0, 0, -2.0], [1.0, -1.0, 0]])
    np.testing.assert_allclose(SW.mci(psi), [1.0, 3.0, 1.5])


def test_extremes_and_overlap():
    v = np.array([5.0, 1.0, np.nan, 3.0, 9.0, 2.0, 7.0, 4.0, 8.0, 6.0])
    low, high = SW.extremes(v, 0.2)
    assert low.tolist() == [1, 5] and high.tolist() == [4, 8]
    assert SW.overlap([1, 5], [5, 7]) == 0.5
    with pytest.raises(InputError):
        SW.extremes(v, 0.0)
    with pytest.raises(InputError):
        SW.overlap([1], [1, 2])


def test_easy_minus_hard_pairs_runs_disjointly():
    """Constructed MCIs: at each width seeds 0 and 1 share their 2 easiest samples and
    have disjoint 2 hardest, so d = 1 - 0 = 1 for the one disjoint pair per width (seed 2
    is the odd one out, never used)."""
    P, rows = 40, []
    for w in (8, 16):
        for s in (0, 1, 2):
            m = np.arange(P, dtype=float)
            if s == 1:  # samples 30, 31 become the hardest, 38, 39 move to the middle
                m[[30, 31]], m[[38, 39]] = [100.0, 101.0], [5.5, 6.5]
            rows.append(pd.DataFrame({"width": w, "seed": s, "sample": np.arange(P), "mci": m}))
    out = SW.easy_minus_hard(pd.concat(rows), frac=0.05)
    assert out["d"] == [(8, 0, 1, 1.0), (16, 0, 1, 1.0)]
    assert out["mean"] == 1.0 and out["ci"] == (1.0, 1.0)

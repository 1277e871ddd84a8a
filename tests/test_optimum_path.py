"""theory.optimum_path: modes of a curve and the largest shift of the grid optimum."""

import math

import numpy as np
import pandas as pd
import pytest

from fasttransfer.errors import InputError
from fasttransfer.theory.optimum_path import grid_optima, largest_shift, modes


def test_modes_exact_cases():
    assert modes(np.array([3.0, 2.0, 1.0, 2.0, 3.0])) == [2]
    # two dips of comparable depth separated by a 50% barrier: bimodal
    assert modes(np.array([3.0, 1.0, 2.0, 1.1, 3.0])) == [1, 3]
    # a 1% wiggle is not a mode (10% prominence), the global minimum always is
    assert modes(np.array([3.0, 1.0, 1.01, 1.005, 3.0])) == [1]
    # a minimum at the edge counts; a NaN (diverged) is a barrier
    assert modes(np.array([1.0, 2.0, 3.0])) == [0]
    assert modes(np.array([1.0, np.nan, 0.9, 2.0])) == [0, 2]
    assert modes(np.array([np.nan, np.nan])) == []


def _sweep(optimum_by_width):
    rows = []
    hp = np.log(2.0) * np.arange(-12, 0)
    for w, opt in optimum_by_width.items():
        for s in range(2):
            for h in hp:
                rows.append((w, h, 1.0 + (h - opt) ** 2 + 0.01 * s, s))
    return pd.DataFrame(rows, columns=["width", "hp", "loss", "seed"])


def test_grid_optima_and_a_late_jump():
    """The optimum sits at log nu = -4 ln 2 up to n = 4096 and jumps to -10 ln 2 at 8192:
    the largest shift is -6 ln 2 (1.81 decades) between 4096 and 8192."""
    opt = {
        1024: -4 * math.log(2),
        2048: -4 * math.log(2),
        4096: -4 * math.log(2),
        8192: -10 * math.log(2),
    }
    o = grid_optima(_sweep(opt))
    assert list(o.width) == [1024, 2048, 4096, 8192]
    np.testing.assert_allclose(o.hp_argmin, list(opt.values()), rtol=1e-12)
    assert (o.n_modes == 1).all() and not o.at_edge.any()
    j = largest_shift(o)
    assert (j["from_width"], j["to_width"]) == (4096, 8192)
    assert j["log_change"] == pytest.approx(-6 * math.log(2), rel=1e-12)
    assert j["decades"] == pytest.approx(-6 * math.log10(2), rel=1e-12)
    with pytest.raises(InputError):
        largest_shift(o.iloc[:1])
    with pytest.raises(InputError):
        grid_optima(pd.DataFrame({"width": [1], "hp": [0.0]}))

"""The path of the grid optimum across widths, and abrupt shifts along it (the paper's
Figure 2: the optimal learning rate of the k-index model jumps at one width).

A sweep frame has columns width, hp, loss[, seed] (hp = log nu). Per width the
seed-mean curve phi_n(nu_i) (diverged runs left out) gives the grid argmin nu_hat(n)
and the curve's modes: local minima whose prominence (the smaller rise, on either side,
to the higher of the curve's edge or a lower minimum) exceeds ``rel_prominence`` times
their own loss. A jump is the change of log nu_hat between consecutive widths.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fasttransfer.errors import InputError

DEFAULT_REL_PROMINENCE = 0.10  # a dip must rise 10% of its loss on both sides to count


def modes(loss: np.ndarray, rel_prominence: float = DEFAULT_REL_PROMINENCE) -> list[int]:
    """Indices of the prominent local minima of a curve loss (H,) (NaN = diverged, a
    barrier). The global minimum always counts; a minimum at the grid's edge counts when
    its inward rise is prominent (nothing is known beyond the edge)."""
    y = np.asarray(loss, dtype=float)
    H = len(y)
    finite = np.isfinite(y)
    if not finite.any():
        return []
    lowest = np.nanmin(y)
    out = []
    for i in range(H):
        if not finite[i]:
            continue
        left = y[i - 1] if i > 0 and finite[i - 1] else np.inf
        right = y[i + 1] if i < H - 1 and finite[i + 1] else np.inf
        if not ((y[i] <= left and y[i] < right) or (y[i] < left and y[i] <= right)):
            continue  # not a local minimum (a plateau's first and last points count)
        rises = []
        for step in (-1, 1):
            top, j = y[i], i + step
            if not 0 <= j < H:  # a minimum at the grid's edge: nothing beyond it
                rises.append(np.inf)
                continue
            while 0 <= j < H:
                if not finite[j]:
                    top = np.inf
                    break
                if y[j] < y[i]:
                    break
                top = max(top, y[j])
                j += step
            rises.append(top - y[i])
        if min(rises) > rel_prominence * abs(y[i]) or y[i] == lowest:
            out.append(i)
    return out


def grid_optima(df: pd.DataFrame, rel_prominence: float = DEFAULT_REL_PROMINENCE) -> pd.DataFrame:
    """Per width: hp_argmin (log nu_hat), loss_min, n_modes, hp_second (the hp of the
    lowest other mode, NaN if unimodal) and loss_second, from the seed-mean curves."""
    missing = {"width", "hp", "loss"} - set(df.columns)
    if missing:
        raise InputError(f"sweep frame lacks column(s) {sorted(missing)}")
    rows = []
    for w, g in df.groupby("width"):
        curve = g.groupby("hp")["loss"].mean().sort_index()
        hp, y = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
        if not np.isfinite(y).any():
            continue
        i = int(np.nanargmin(y))
        m = modes(y, rel_prominence)
        others = [j for j in m if j != i]
        k = min(others, key=lambda j: y[j]) if others else None
        rows.append(
            {
                "width": int(w),
                "hp_argmin": hp[i],
                "loss_min": y[i],
                "n_modes": len(m),
                "hp_second": hp[k] if k is not None else math.nan,
                "loss_second": y[k] if k is not None else math.nan,
                "at_edge": i in (0, len(y) - 1),
            }
        )
    return pd.DataFrame(rows).sort_values("width").reset_index(drop=True)


def largest_shift(optima: pd.DataFrame) -> dict:
    """The largest change of log nu_hat between consecutive widths: {"from_width",
    "to_width", "log_change" (natural log), "decades"}; the widths' optima are
    ``optima`` rows of :func:`grid_optima`."""
    if len(optima) < 2:
        raise InputError("need at least two widths to find a shift")
    d = np.diff(optima.hp_argmin.to_numpy(dtype=float))
    j = int(np.argmax(np.abs(d)))
    return {
        "from_width": int(optima.width.iloc[j]),
        "to_width": int(optima.width.iloc[j + 1]),
        "log_change": float(d[j]),
        "decades": float(d[j] / math.log(10.0)),
    }

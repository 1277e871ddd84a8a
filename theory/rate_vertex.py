"""The per-width optimum of a sweep (step 2 of :mod:`theory.rates`): seed-mean loss
curves over the HP grid, their grid argmin (a tie: the middle of the tied run) and a
least-squares quadratic on ``window`` grid points around it (:func:`fits.quadratic_vertex`),
vectorised over resamples: curves (R, W, H) -> vertex nu_star, value phi_star, curvature
(R, W). A width that cannot be fitted is named with the reason."""

from __future__ import annotations

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.theory.fits import quadratic_vertex
from fasttransfer.theory.sweep_data import MIN_HP, DenseSweep, fmt_value

DEFAULT_WINDOW = 7


def _mean_curves(d: DenseSweep, counts: np.ndarray) -> np.ndarray:
    """Seed-mean loss curves for seed multiplicities ``counts`` (R, W, S): (R, W, H),
    NaN where no selected seed has a run that counts."""
    fin = d.finite.astype(np.float64)
    num = np.einsum("rws,whs->rwh", counts, np.where(d.finite, d.loss, 0.0))
    den = np.einsum("rws,whs->rwh", counts, fin)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _vertices(x: np.ndarray, y: np.ndarray, m: np.ndarray):
    """:func:`fits.quadratic_vertex` on windows x, y, m (..., K): nu (vertex), phi (value
    at the vertex), curvature (NaN unless convex), ok (>= 3 points and convex)."""
    v = quadratic_vertex(x, y, m)
    return v.vertex, v.value, np.where(v.ok, v.curvature, np.nan), v.ok


def _tie_centre(curves: np.ndarray):
    """Grid argmin of each curve (R, W, H), a tie resolved to the middle of the tied run
    (losses equal to the minimum within 1e-12 relative, e.g. quantised losses).
    Returns the middle as a float index (R, W) and the first/last finite index."""
    H = curves.shape[-1]
    fin = np.isfinite(curves)
    vals = np.where(fin, curves, np.inf)
    i_first = np.argmin(vals, axis=-1)
    vmin = np.take_along_axis(vals, i_first[..., None], -1)
    tol = 1e-12 * np.maximum(np.abs(np.where(np.isfinite(vmin), vmin, 0.0)), 1e-300)
    idx = np.arange(H)
    breaks = (vals > vmin + tol) & (idx > i_first[..., None])
    end = np.where(breaks.any(-1), np.argmax(breaks, -1) - 1, H - 1)
    first = np.argmax(fin, axis=-1)
    last = H - 1 - np.argmax(fin[..., ::-1], axis=-1)
    return (i_first + end) / 2.0, first, last


def _windows(hp: np.ndarray, n_hp: np.ndarray, curves: np.ndarray, window: int):
    """The ``window`` grid points around each curve's grid argmin.
    hp (W, H), curves (R, W, H) -> dict of x, y, m (R, W, K) and flags (R, W):
    edge (the argmin is the first/last HP with a finite loss; a tie across two points
    is not), shifted (the window could not be centred on the argmin)."""
    R, W, H = curves.shape
    K = int(min(window, n_hp.min()))
    mid, first, last = _tie_centre(curves)
    edge = (mid == first) | (mid == last)
    # a half-integer middle rounds toward the inside of the finite range
    centre = np.where(mid - first < last - mid, np.ceil(mid), np.floor(mid)).astype(np.int64)
    i0 = np.clip(centre - K // 2, 0, (n_hp - K)[None, :])
    shifted = (i0 != centre - K // 2) | (centre - K // 2 < first) | (centre + K // 2 > last)
    idx = i0[..., None] + np.arange(K)  # (R, W, K)
    hpb = np.broadcast_to(hp, (R, W, H))
    x = np.take_along_axis(hpb, idx, axis=-1)
    y = np.take_along_axis(curves, idx, axis=-1)
    m = np.isfinite(y)
    return {
        "x": x,
        "y": y,
        "m": m,
        "edge": edge,
        "shifted": shifted,
        "hp_argmin": np.take_along_axis(hpb, centre[..., None], -1)[..., 0],
    }


def fit_vertex(hp, loss, *, window: int = DEFAULT_WINDOW, width: float | None = None):
    """``(nu_star, phi_star)`` of one loss curve: grid argmin, then a least-squares
    quadratic on the ``window`` (>= 5) grid points around it; exact on a parabola.

    hp, loss: shape (H,), any order; non-finite losses are ignored. Raises
    :class:`InputError` (naming ``width`` when given) when the argmin is on the grid's
    edge or the local fit is not convex."""
    hp = np.asarray(hp, dtype=np.float64).reshape(-1)
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    if hp.shape != loss.shape:
        raise InputError(f"fit_vertex: hp and loss differ in length ({hp.size} vs {loss.size})")
    if window < MIN_HP:
        raise InputError(f"window must be at least {MIN_HP} (got {window})", param="window")
    order = np.argsort(hp, kind="stable")
    hp, loss = hp[order], loss[order]
    if np.isfinite(loss).sum() < MIN_HP:
        raise InputError(f"{_where(width)}fewer than {MIN_HP} HP values with a finite loss")
    curves = np.where(np.isfinite(loss), loss, np.nan)[None, None, :]
    win = _windows(hp[None, :], np.array([hp.size]), curves, window)
    nu, phi, _, ok = _vertices(win["x"], win["y"], win["m"])
    problems = _fit_problems(win, ok, nu, np.array([np.nan if width is None else width]))
    if problems:
        raise InputError(problems[0][1])
    return float(nu[0, 0]), float(phi[0, 0])


def _where(width) -> str:
    return "" if width is None or not np.isfinite(width) else f"width {fmt_value(width)}: "


def _fit_problems(win: dict, ok: np.ndarray, nu: np.ndarray, widths: np.ndarray) -> list:
    """[(index, message)] of the widths whose point estimate (row 0) has no fitted
    optimum: argmin on the grid edge, not convex, vertex outside the window."""
    out = []
    for j, w in enumerate(widths):
        at = fmt_value(win["hp_argmin"][0, j])
        xs = win["x"][0, j][win["m"][0, j]]
        if win["edge"][0, j]:
            out.append(
                (
                    j,
                    f"{_where(w)}optimum on the grid edge (hp={at}); extend the HP grid "
                    "past the optimum",
                )
            )
        elif not ok[0, j]:
            out.append(
                (
                    j,
                    f"{_where(w)}the loss is not convex around its grid minimum (hp={at}); "
                    "no fitted optimum",
                )
            )
        elif not (xs.min() <= nu[0, j] <= xs.max()):
            out.append(
                (
                    j,
                    f"{_where(w)}fitted optimum hp={fmt_value(nu[0, j])} lies outside the "
                    f"fit window [{fmt_value(xs.min())}, {fmt_value(xs.max())}]; the "
                    "optimum is at the grid edge or the curve is too flat",
                )
            )
    return out

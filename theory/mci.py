"""Statistics of the Mean Component Index (the paper's Section 4.2.3): per-sample MCI from
the sample-wise decomposition psi (:mod:`simulations.samplewise`), the easiest and hardest
samples, and how consistently two runs pick them. Pure numpy; the sample-wise study's
place in the results store (its study, setting and presets) is named here so that the
figures read it without importing the simulations.

Shapes: ``psi`` (P, r) -> MCI (P,); MCI tables are long frames with columns width, seed,
sample, mci.
"""

from __future__ import annotations

import numpy as np

from fasttransfer.errors import InputError

__all__ = [
    "SETTING",
    "STUDY",
    "easy_minus_hard",
    "extremes",
    "mci",
    "overlap",
    "overlap_table",
    "reference_width",
    "study_preset",
]

STUDY = "samplewise"
SETTING = "mlp_sgd"


def study_preset(preset: str) -> str:
    """The study's preset for a run of ``preset``: ``cpu`` for cpu and paper (the study
    has no GPU scale; at the paper preset it runs its cpu size), else ``quick``."""
    return "cpu" if preset in ("cpu", "paper") else "quick"


def reference_width(widths) -> int:
    """The width reported and drawn in detail: 128 (the paper's) when run, else the
    widest."""
    widths = sorted(int(w) for w in widths)
    return 128 if 128 in widths else widths[-1]


def mci(psi) -> np.ndarray:
    """MCI_i = sum_j j p_ij with p_ij = |psi_ij| / sum_k |psi_ik| (j from 1); psi (P, r)
    -> (P,). A sample with psi = 0 throughout has no index (NaN)."""
    a = np.abs(np.asarray(psi, dtype=np.float64))
    tot = a.sum(axis=1)
    j = np.arange(1, a.shape[1] + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (a @ j) / tot, np.nan)


def extremes(values, frac: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest): the indices of the ceil(frac P) smallest and largest of
    ``values`` (P,) (ties by index); NaN values belong to neither."""
    if not 0 < frac <= 0.5:
        raise InputError(f"frac must lie in (0, 0.5], got {frac}", param="frac")
    v = np.asarray(values, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(v))
    k = int(np.ceil(frac * len(v)))
    order = ok[np.argsort(v[ok], kind="stable")]
    return np.sort(order[:k]), np.sort(order[::-1][:k])


def overlap(a, b) -> float:
    """|A & B| / |A| for two index sets of equal size (chance level: |A| / P)."""
    a, b = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    if len(a) != len(b) or not a:
        raise InputError("overlap needs two non-empty sets of the same size", param="a")
    return len(a & b) / len(a)


def overlap_table(mci_frame, frac: float = 0.05):
    """Every pair of runs (width_a, seed_a) < (width_b, seed_b): the overlap of their
    easiest (lowest-MCI) and hardest (highest-MCI) ``frac`` of the samples
    (:func:`extremes`, :func:`overlap`; chance level about ``frac``). Columns width_a,
    seed_a, width_b, seed_b, same_width, easy, hard."""
    import itertools

    import pandas as pd

    runs = {}
    for (w, s), g in mci_frame.groupby(["width", "seed"]):
        runs[(int(w), int(s))] = extremes(g.sort_values("sample")["mci"].to_numpy(), frac)
    out = []
    for a, b in itertools.combinations(sorted(runs), 2):
        out.append(
            {
                "width_a": a[0],
                "seed_a": a[1],
                "width_b": b[0],
                "seed_b": b[1],
                "same_width": a[0] == b[0],
                "easy": overlap(runs[a][0], runs[b][0]),
                "hard": overlap(runs[a][1], runs[b][1]),
            }
        )
    return pd.DataFrame(out)


def easy_minus_hard(mci_frame, frac: float = 0.05, level: float = 0.95) -> dict:
    """Are the easiest samples picked more consistently than the hardest (the paper's
    Section 4.2.3)? Independent units: at each width the seeds are paired disjointly in
    order ((s0, s1), (s2, s3), ...; an odd one out is unused), so no run enters twice;
    per pair d = overlap(easiest) - overlap(hardest) (:func:`extremes`, :func:`overlap`).
    Returns {"d": [(width, seed_a, seed_b, d)], "mean", "ci": Student-t interval of the
    mean at ``level`` (NaN with fewer than 2 pairs)}."""
    from scipy import stats

    rows = []
    for width, g in mci_frame.groupby("width"):
        seeds = sorted(int(s) for s in g["seed"].unique())
        for a, b in zip(seeds[0::2], seeds[1::2], strict=False):
            ea, ha = extremes(g[g["seed"] == a].sort_values("sample")["mci"].to_numpy(), frac)
            eb, hb = extremes(g[g["seed"] == b].sort_values("sample")["mci"].to_numpy(), frac)
            rows.append((int(width), a, b, overlap(ea, eb) - overlap(ha, hb)))
    d = np.array([r[3] for r in rows], dtype=np.float64)
    mean = float(d.mean()) if len(d) else float("nan")
    if len(d) < 2:
        return {"d": rows, "mean": mean, "ci": (float("nan"), float("nan"))}
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return {"d": rows, "mean": mean, "ci": (mean - half, mean + half)}

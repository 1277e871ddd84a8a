"""The paper's simulated loss-vs-LR curves at its smallest widths, read off its figures,
and the statistics that compare a curve with them: one implementation
(:func:`curve_summary`), applied to the paper's points and to ours alike.

Sources: the figure files of the paper's public LaTeX sources.

=================  =========================  ==========================================
study              figure                     the paper's grid (read from the markers)
=================  =========================  ==========================================
relu               Figure 5a                  29 LRs, geomspace(4e-4, 1.75e-2): 0.195 octave
kindex             Figure 2, left (tied LR)   27 LRs, 2.74e-4 .. 0.907: 0.45 octave
kindex-layerwise   Figure 2, right (LR / 50)  28 LRs, 1.28e-3 .. 5.78: 0.45 octave
=================  =========================  ==========================================

How they were read (by us, from the PNGs): each axis calibrated by a log-linear fit of
its tick marks' pixel positions (Figure 5a: 1193 px per decade of LR, 2236 px per
decade of loss, residual <= 0.2 px); each width's curve found by its exact viridis
colour; the hollow markers (the plotted seed means, not the smoothed line drawn through
them) located by template matching. Read-off error (:data:`READ_ERROR`): the LR to
+-0.002 decade, the loss to +-1 px: +-0.1% in Figure 5a, +-0.4% in Figure 2 (+-1.2% and
+-2% where a marker is partly hidden under the optimum's star, left and right panel).
NaN: a point above the plotted range (its loss exceeds the axis) or hidden.

:data:`STARS`: the paper's marked optima (Figure 5b; the red stars of Figure 2), the
minimum of its smoothed curve, which lies between grid points; our comparison uses the
grid points, as we do for our own curves.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from fasttransfer.errors import InputError
from fasttransfer.theory.optimum_path import modes

_LOG2_10 = math.log2(10.0)

# study -> {"log2_lr": read-off error of an LR in octaves, "loss_rel": relative error of
# a loss, "grid_octaves": the paper's grid step}
READ_ERROR: dict = {
    "relu": {"log2_lr": 0.002 * _LOG2_10, "loss_rel": 0.001, "grid_octaves": 0.195},
    "kindex": {"log2_lr": 0.002 * _LOG2_10, "loss_rel": 0.012, "grid_octaves": 0.45},
    "kindex-layerwise": {"log2_lr": 0.002 * _LOG2_10, "loss_rel": 0.02, "grid_octaves": 0.45},
}

# study -> width -> (LR, loss) of the paper's marked optimum (Figure 5b / Figure 2 stars)
STARS: dict = {
    "relu": {181: (4.54e-3, 0.2408), 256: (4.81e-3, 0.2134), 362: (5.19e-3, 0.1888)},
    "kindex": {128: (0.144, 9.59e-4), 181: (0.157, 7.79e-4), 256: (0.171, 5.88e-4)},
    "kindex-layerwise": {128: (1.311, 1.093e-3), 181: (1.258, 8.24e-4), 256: (1.207, 6.04e-4)},
}

READOFF_CSV = """\
study,width,lr,loss
relu,181,0.0004,nan
relu,181,0.00045779,0.56
relu,181,0.00052393,0.541
relu,181,0.00059962,0.515
relu,181,0.00068625,0.4914
relu,181,0.0007854,0.4677
relu,181,0.00089887,0.4433
relu,181,0.0010287,0.4189
relu,181,0.0011774,0.3942
relu,181,0.0013475,0.3694
relu,181,0.0015421,0.3455
relu,181,0.0017649,0.3228
relu,181,0.0020199,0.3022
relu,181,0.0023118,0.2841
relu,181,0.0026458,0.269
relu,181,0.003028,0.2566
relu,181,0.0034655,0.248
relu,181,0.0039661,0.2427
relu,181,0.0045391,0.2409
relu,181,0.0051949,0.242
relu,181,0.0059455,0.2445
relu,181,0.0068045,0.2516
relu,181,0.0077875,0.2625
relu,181,0.0089126,0.2778
relu,181,0.0102,0.2964
relu,181,0.011674,0.3179
relu,181,0.013361,0.334
relu,181,0.015291,0.3653
relu,181,0.0175,0.401
relu,256,0.0004,nan
relu,256,0.00045779,0.557
relu,256,0.00052393,0.536
relu,256,0.00059962,0.513
relu,256,0.00068625,0.4893
relu,256,0.0007854,0.4581
relu,256,0.00089887,0.4325
relu,256,0.0010287,0.4061
relu,256,0.0011774,0.3795
relu,256,0.0013475,0.3531
relu,256,0.0015421,0.3275
relu,256,0.0017649,0.3038
relu,256,0.0020199,0.2815
relu,256,0.0023118,0.2619
relu,256,0.0026458,0.2457
relu,256,0.003028,0.2327
relu,256,0.0034655,0.2233
relu,256,0.0039661,0.2167
relu,256,0.0045391,0.2136
relu,256,0.0051949,0.2136
relu,256,0.0059455,0.2152
relu,256,0.0068045,0.2217
relu,256,0.0077875,0.2298
relu,256,0.0089126,0.2422
relu,256,0.0102,0.2584
relu,256,0.011674,0.2769
relu,256,0.013361,0.3004
relu,256,0.015291,0.3255
relu,256,0.0175,0.349
relu,362,0.0004,nan
relu,362,0.00045779,0.556
relu,362,0.00052393,0.533
relu,362,0.00059962,0.509
relu,362,0.00068625,0.483
relu,362,0.0007854,0.452
relu,362,0.00089887,0.4285
relu,362,0.0010287,0.3962
relu,362,0.0011774,0.3681
relu,362,0.0013475,0.342
relu,362,0.0015421,0.3133
relu,362,0.0017649,0.2882
relu,362,0.0020199,0.2655
relu,362,0.0023118,0.2457
relu,362,0.0026458,0.2282
relu,362,0.003028,0.2141
relu,362,0.0034655,0.2031
relu,362,0.0039661,0.1959
relu,362,0.0045391,0.1907
relu,362,0.0051949,0.1889
relu,362,0.0059455,0.1903
relu,362,0.0068045,0.1949
relu,362,0.0077875,0.2023
relu,362,0.0089126,0.2116
relu,362,0.0102,0.2251
relu,362,0.011674,0.2397
relu,362,0.013361,0.2595
relu,362,0.015291,0.2812
relu,362,0.0175,0.31
kindex,128,0.00027353,nan
kindex,128,0.00037361,0.00799
kindex,128,0.00051032,0.00235
kindex,128,0.00069704,0.001735
kindex,128,0.00095209,0.001677
kindex,128,0.0013005,0.001633
kindex,128,0.0017763,0.001602
kindex,128,0.0024263,0.001566
kindex,128,0.003314,0.001537
kindex,128,0.0045267,0.001502
kindex,128,0.006183,0.001457
kindex,128,0.0084454,0.001392
kindex,128,0.011536,0.001301
kindex,128,0.015756,0.001165
kindex,128,0.021522,0.001032
kindex,128,0.029397,0.000977
kindex,128,0.040153,0.000968
kindex,128,0.054845,0.000986
kindex,128,0.074913,0.000986
kindex,128,0.10232,0.000971
kindex,128,0.13977,0.000953
kindex,128,0.19091,0.000946
kindex,128,0.26076,0.00104
kindex,128,0.35617,0.001032
kindex,128,0.4865,0.001122
kindex,128,0.66451,0.001325
kindex,128,0.90765,0.00145
kindex,181,0.00027353,nan
kindex,181,0.00037361,0.00659
kindex,181,0.00051032,0.001664
kindex,181,0.00069704,0.001305
kindex,181,0.00095209,0.001262
kindex,181,0.0013005,0.001233
kindex,181,0.0017763,0.00121
kindex,181,0.0024263,0.001192
kindex,181,0.003314,0.001174
kindex,181,0.0045267,0.001161
kindex,181,0.006183,0.001139
kindex,181,0.0084454,0.001113
kindex,181,0.011536,0.001068
kindex,181,0.015756,0.001001
kindex,181,0.021522,0.000907
kindex,181,0.029397,0.000844
kindex,181,0.040153,0.000844
kindex,181,0.054845,0.000832
kindex,181,0.074913,0.000816
kindex,181,0.10232,0.000813
kindex,181,0.13977,0.000765
kindex,181,0.19091,0.000765
kindex,181,0.26076,0.000841
kindex,181,0.35617,0.00087
kindex,181,0.4865,0.001009
kindex,181,0.66451,0.001224
kindex,181,0.90765,0.00139
kindex,256,0.00027353,nan
kindex,256,0.00037361,0.00542
kindex,256,0.00051032,0.001183
kindex,256,0.00069704,0.00095
kindex,256,0.00095209,0.000914
kindex,256,0.0013005,0.00089
kindex,256,0.0017763,0.000877
kindex,256,0.0024263,0.000867
kindex,256,0.003314,0.000864
kindex,256,0.0045267,0.00086
kindex,256,0.006183,0.000857
kindex,256,0.0084454,0.000841
kindex,256,0.011536,0.000816
kindex,256,0.015756,0.000798
kindex,256,0.021522,0.000751
kindex,256,0.029397,0.000699
kindex,256,0.040153,0.000662
kindex,256,0.054845,0.000645
kindex,256,0.074913,0.000628
kindex,256,0.10232,0.000619
kindex,256,0.13977,0.000594
kindex,256,0.19091,0.000571
kindex,256,0.26076,0.000621
kindex,256,0.35617,0.000774
kindex,256,0.4865,0.000914
kindex,256,0.66451,0.001101
kindex,256,0.90765,0.00134
kindex-layerwise,128,0.0012756,nan
kindex-layerwise,128,0.0017423,0.01041
kindex-layerwise,128,0.0023798,0.00459
kindex-layerwise,128,0.0032504,0.00225
kindex-layerwise,128,0.0044397,0.001949
kindex-layerwise,128,0.0060641,0.001888
kindex-layerwise,128,0.0082827,0.001866
kindex-layerwise,128,0.011313,0.001836
kindex-layerwise,128,0.015452,0.0018
kindex-layerwise,128,0.021106,0.001709
kindex-layerwise,128,0.028828,0.001656
kindex-layerwise,128,0.039375,0.001535
kindex-layerwise,128,0.053782,0.001412
kindex-layerwise,128,0.073459,0.001299
kindex-layerwise,128,0.10034,0.001199
kindex-layerwise,128,0.13704,0.001157
kindex-layerwise,128,0.18719,0.001134
kindex-layerwise,128,0.25567,0.001139
kindex-layerwise,128,0.34922,0.001143
kindex-layerwise,128,0.47698,0.001162
kindex-layerwise,128,0.6515,0.001157
kindex-layerwise,128,0.88986,0.001134
kindex-layerwise,128,1.2154,0.00107
kindex-layerwise,128,1.6601,0.001099
kindex-layerwise,128,2.2675,0.001166
kindex-layerwise,128,3.0972,0.001511
kindex-layerwise,128,4.2303,nan
kindex-layerwise,128,5.7781,0.0027
kindex-layerwise,181,0.0012756,nan
kindex-layerwise,181,0.0017423,0.00935
kindex-layerwise,181,0.0023798,0.00354
kindex-layerwise,181,0.0032504,0.001578
kindex-layerwise,181,0.0044397,0.001423
kindex-layerwise,181,0.0060641,0.001395
kindex-layerwise,181,0.0082827,0.001384
kindex-layerwise,181,0.011313,0.001379
kindex-layerwise,181,0.015452,0.001373
kindex-layerwise,181,0.021106,0.001335
kindex-layerwise,181,0.028828,0.001309
kindex-layerwise,181,0.039375,0.001248
kindex-layerwise,181,0.053782,0.001171
kindex-layerwise,181,0.073459,0.001099
kindex-layerwise,181,0.10034,0.00096
kindex-layerwise,181,0.13704,0.000897
kindex-layerwise,181,0.18719,0.000855
kindex-layerwise,181,0.25567,0.000838
kindex-layerwise,181,0.34922,0.000842
kindex-layerwise,181,0.47698,0.000859
kindex-layerwise,181,0.6515,0.000855
kindex-layerwise,181,0.88986,0.000845
kindex-layerwise,181,1.2154,0.000803
kindex-layerwise,181,1.6601,0.000832
kindex-layerwise,181,2.2675,0.000915
kindex-layerwise,181,3.0972,0.001223
kindex-layerwise,181,4.2303,nan
kindex-layerwise,181,5.7781,0.0023
kindex-layerwise,256,0.0012756,nan
kindex-layerwise,256,0.0017423,0.00837
kindex-layerwise,256,0.0023798,0.00272
kindex-layerwise,256,0.0032504,0.00111
kindex-layerwise,256,0.0044397,0.001011
kindex-layerwise,256,0.0060641,0.000999
kindex-layerwise,256,0.0082827,0.000983
kindex-layerwise,256,0.011313,0.000983
kindex-layerwise,256,0.015452,0.000991
kindex-layerwise,256,0.021106,0.000987
kindex-layerwise,256,0.028828,0.000983
kindex-layerwise,256,0.039375,0.00096
kindex-layerwise,256,0.053782,0.000926
kindex-layerwise,256,0.073459,0.000869
kindex-layerwise,256,0.10034,0.000799
kindex-layerwise,256,0.13704,0.000732
kindex-layerwise,256,0.18719,0.000695
kindex-layerwise,256,0.25567,0.000668
kindex-layerwise,256,0.34922,0.000632
kindex-layerwise,256,0.47698,0.000647
kindex-layerwise,256,0.6515,0.000642
kindex-layerwise,256,0.88986,0.000627
kindex-layerwise,256,1.2154,0.000582
kindex-layerwise,256,1.6601,0.000615
kindex-layerwise,256,2.2675,0.000709
kindex-layerwise,256,3.0972,0.000979
kindex-layerwise,256,4.2303,0.001384
kindex-layerwise,256,5.7781,0.00188
"""


def readoff(study: str | None = None) -> pd.DataFrame:
    """The read-off points: columns study, width, lr, loss (NaN: off-scale or hidden)."""
    df = pd.read_csv(io.StringIO(READOFF_CSV))
    if study is None:
        return df
    if study not in READ_ERROR:
        raise InputError(f"study must be one of {sorted(READ_ERROR)}, got {study!r}")
    return df[df.study == study].reset_index(drop=True)


def _interp_log2(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """y at log2 LR ``at`` by linear interpolation between the two neighbouring grid
    points (NaN outside the grid or next to a NaN)."""
    if not (x[0] <= at <= x[-1]):
        return math.nan
    j = int(np.searchsorted(x, at))
    if j == 0:
        return float(y[0])
    t = (at - x[j - 1]) / (x[j] - x[j - 1])
    return float((1 - t) * y[j - 1] + t * y[j])


SUMMARY_KEYS = (
    "log2_lr_star",
    "loss_star",
    "rise_half",
    "rise_double",
    "log2_lr_cliff",
    "n_modes",
    "log2_lr_second",
    "loss_second",
)


def curve_summary(lr, loss) -> dict:
    """Statistics of one loss-vs-LR curve (lr (H,) increasing, loss (H,), NaN allowed):

    * ``log2_lr_star``, ``loss_star``: the grid argmin and its loss;
    * ``rise_half``, ``rise_double``: phi(nu*/2)/phi* - 1 and phi(2 nu*)/phi* - 1, the rise
      one octave either side of the optimum (phi interpolated linearly in log2 nu; NaN
      where the octave leaves the grid);
    * ``log2_lr_cliff``: walking down from nu*, where the curve first reaches 2 phi*
      (log-log interpolation between the grid points around it; NaN if it never does):
      the left edge of the optimum's basin, the paper's "cliff" at low LR;
    * ``n_modes``, ``log2_lr_second``, ``loss_second``: the prominent local minima
      (:func:`~theory.optimum_path.modes`) and the lowest one besides the optimum.
    """
    x = np.log2(np.asarray(lr, dtype=float))
    y = np.asarray(loss, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2 or np.any(np.diff(x) <= 0):
        raise InputError("curve_summary needs matching 1-d lr (increasing) and loss arrays")
    out = dict.fromkeys(SUMMARY_KEYS, math.nan)
    if not np.isfinite(y).any():
        out["n_modes"] = 0
        return out
    i = int(np.nanargmin(y))
    star = float(y[i])
    out.update(
        log2_lr_star=float(x[i]),
        loss_star=star,
        rise_half=_interp_log2(x, y, x[i] - 1.0) / star - 1.0,
        rise_double=_interp_log2(x, y, x[i] + 1.0) / star - 1.0,
    )
    for j in range(i - 1, -1, -1):
        if not np.isfinite(y[j]) or y[j] >= 2 * star:
            if np.isfinite(y[j]):  # interpolate log phi linearly between j and j + 1
                t = (math.log(2 * star) - math.log(y[j + 1])) / (
                    math.log(y[j]) - math.log(y[j + 1])
                )
                out["log2_lr_cliff"] = float(x[j + 1] + t * (x[j] - x[j + 1]))
            else:  # off-scale (above the plot): the cliff is between j and j + 1
                out["log2_lr_cliff"] = float(0.5 * (x[j] + x[j + 1]))
            break
    m = modes(y)
    others = [j for j in m if j != i]
    out["n_modes"] = len(m)
    if others:
        k = min(others, key=lambda j: y[j])
        out["log2_lr_second"], out["loss_second"] = float(x[k]), float(y[k])
    return out


def sweep_summary(df: pd.DataFrame) -> dict:
    """:func:`curve_summary` of one width's rows of a sweep (columns hp = log nu, loss):
    the seed-mean curve over the seeds present (one seed: its own curve)."""
    curve = df.groupby("hp")["loss"].mean().sort_index()
    return curve_summary(np.exp(curve.index.to_numpy(dtype=float)), curve.to_numpy())


def paper_summary(study: str, width: int) -> dict:
    """:func:`curve_summary` of the paper's read-off curve of ``study`` at ``width``."""
    p = readoff(study)
    p = p[p.width == int(width)].sort_values("lr")
    return curve_summary(p.lr.to_numpy(), p.loss.to_numpy())


# quantities compared with the paper, and how their tolerance is built (compare())
LR_QUANTITIES = ("log2_lr_star", "log2_lr_cliff")
LOSS_QUANTITIES = ("loss_star",)
RISE_QUANTITIES = ("rise_half", "rise_double")
LISTED_QUANTITIES = ("n_modes", "log2_lr_second", "loss_second")  # shown, not judged


def compare(ours: pd.DataFrame, study: str, grid_octaves: float) -> pd.DataFrame:
    """Our sweep (columns width, hp = log nu, loss, seed) beside the paper's read-off
    curves, per width present in both and per quantity of :func:`curve_summary`.

    Ours: the statistic of the seed-mean curve, with the standard error of the same
    statistic over the seeds' own curves (std / sqrt(S)). Tolerance (fixed before any
    pilot was run): 2 SE plus the read-off error (:data:`READ_ERROR`), plus, for LRs,
    half of each grid's step (an argmin on a grid is off by up to half a step: ours
    ``grid_octaves``, the paper's) and, for rises (ratios of two read losses), twice
    the relative read-off error times (1 + rise). ``agree``: |ours - paper| <= tol.
    Rows: width, quantity, ours, se, paper, tol, agree (the modes, LISTED_QUANTITIES,
    are shown, not judged: NaN tol, agree None)."""
    err = READ_ERROR[study]
    paper = readoff(study)
    rows = []
    for w in sorted(set(ours.width.unique()) & set(paper.width.unique())):
        g = ours[ours.width == w]
        mine = sweep_summary(g)
        per_seed = [sweep_summary(s) for _, s in g.groupby("seed")]
        theirs = paper_summary(study, w)
        for q in LR_QUANTITIES + LOSS_QUANTITIES + RISE_QUANTITIES + LISTED_QUANTITIES:
            vals = np.array([s[q] for s in per_seed], dtype=float)
            vals = vals[np.isfinite(vals)]
            se = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else math.nan
            a, b = mine[q], theirs[q]
            if q in LR_QUANTITIES:
                tol = 2 * se + err["log2_lr"] + 0.5 * (grid_octaves + err["grid_octaves"])
            elif q in LOSS_QUANTITIES:
                tol = 2 * se + err["loss_rel"] * b
            elif q in RISE_QUANTITIES:
                tol = 2 * se + 2 * err["loss_rel"] * (1 + b)
            else:
                tol = math.nan
            agree = bool(abs(a - b) <= tol) if np.isfinite([a, b, tol]).all() else None
            rows.append(
                {
                    "width": int(w),
                    "quantity": q,
                    "ours": a,
                    "se": se,
                    "paper": b,
                    "tol": tol,
                    "agree": agree,
                }
            )
    return pd.DataFrame(rows, columns=["width", "quantity", "ours", "se", "paper", "tol", "agree"])

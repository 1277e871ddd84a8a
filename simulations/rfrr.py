"""The Theorem 3 study: what ``fasttransfer simulate rfrr`` and the ``theorem3``
check compute and store, per preset.

Main setting: the paper's Figure 4 (paper labels psi_1 = N/d samples, psi_2 = n/d
width, lam in the paper's units, see fasttransfer.theory.rfrr_paper): tanh features
normalised, normalised ReLU single-index target, psi_1 = 4, sigma_eps = 1/4, Gaussian
inputs. Secondary setting, ours: ReLU features on the sphere in Mei-Montanari's
conventions (psi1 = N/d width, psi2 = 2 samples, F1 = 1, Fs = tau = 0.5) and its boundary
contrast.

Stored results: one entry of the results store (fasttransfer.store),
ROOT/rfrr/<preset>/, keyed on the configuration and the code of CODE_MODULES, written and
read only through :func:`store_result` / :func:`load_result` (tidy CSV):

    paper_curves.csv     psi_2, lam, risk: excess risk vs lam (Figure 4a)
    paper_optima.csv     psi_2, lam_star, risk_star, at_boundary (Figure 4a's minima)
    paper_rates.csv      psi_2, lam_star, risk_star, a, b, b_log, c, a_psi, b_psi,
                         c_psi2, boundary, figure (Figure 4b; b on lam itself)
    paper_mc.csv         d, psi_2, lam, draw, risk (one row per draw)
    paper_mc_summary.csv psi_2, lam, d, mean, se, draws, asymptotic, rel_err, z,
                         asymptotic_alt, z_alt (d = inf: extrapolated in 1/d)
    ours_curves.csv, ours_optima.csv (psi1, lam...), ours_rates.csv (setting =
    interior|boundary), ours_mc.csv, ours_mc_summary.csv: the same for our setting

The sympy constants of the paper's setting have their own entry, ROOT/rfrr_constants/
<preset>/ (proofs_check/rfrr_constants.py, which simulations may not import).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.simulations.rfrr_montecarlo import (
    MonteCarloConfig,
    PaperMonteCarloConfig,
    extrapolate_in_d,
    monte_carlo_risk,
)
from fasttransfer.theory.rfrr_asymptotics import (
    RatesConfig,
    asymptotic_risk,
    optimal_lambda,
    rates_table,
)
from fasttransfer.theory.rfrr_paper import (
    PaperSetting,
    figure4_widths,
    paper_optimal_lambda,
    paper_rates,
    paper_risk,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CODE_MODULES",
    "PRESETS",
    "STUDY",
    "TABLES",
    "RFRRConfig",
    "load_result",
    "mc_summary",
    "read_study",
    "run_study",
    "store_result",
    "z_threshold",
]

PRESETS = ("quick", "paper")


def _inf_safe(values):
    return ["inf" if isinstance(v, float) and math.isinf(v) else v for v in values]


@dataclass(frozen=True)
class RFRRConfig:
    """Everything the study computes.

    The paper's setting (`paper`): risk curves curve_psi_2 x curve_lams (paper units,
    Figure 4a's range), their minima, the rates at rates_psi_2 (Figure 4b: 4..181 at
    sqrt(2) spacing) and limit_psi_2 (large widths for the slopes and the extrapolated
    constants), in mpmath at dps digits; Monte Carlo in the paper's model at the two
    dimensions mc_d (for the extrapolation in 1/d), widths mc_psi_2, penalties mc_lams,
    mc_repeats draws of mc_targets targets with mc_n_test test points.
    Ours: `ours` and `boundary` (RatesConfig), ours_curve_psi1 x ours_curve_lams, Monte
    Carlo (sphere model) at ours_mc_d x ours_mc_psi1 x ours_mc_lams.
    """

    preset: str = "quick"
    paper: PaperSetting = field(default_factory=PaperSetting)
    curve_psi_2: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, math.inf)
    curve_lams: tuple[float, ...] = tuple(np.geomspace(0.08, 1.0, 29).tolist())
    rates_psi_2: tuple[float, ...] = figure4_widths()
    limit_psi_2: tuple[float, ...] = (2.0**12, 2.0**13, 2.0**14, 2.0**15)
    dps: int = 30
    mc_d: tuple[int, int] = (40, 80)
    mc_psi_2: tuple[float, ...] = (4.0, 16.0)
    mc_lams: tuple[float, ...] = (0.1, 0.35, 1.0)
    mc_repeats: int = 16
    mc_targets: int = 8
    mc_n_test: int = 800
    ours: RatesConfig = field(default_factory=lambda: RatesConfig(dps=30))
    boundary: RatesConfig = field(default_factory=lambda: replace(RatesConfig.boundary(), dps=30))
    ours_curve_psi1: tuple[float, ...] = (1.0, 2.0, 4.0, 16.0, 64.0, math.inf)
    ours_curve_lams: tuple[float, ...] = tuple(np.geomspace(1e-4, 10.0, 41).tolist())
    ours_mc_d: tuple[int, int] = (40, 80)
    ours_mc_psi1: tuple[float, ...] = (0.5, 4.0)
    ours_mc_lams: tuple[float, ...] = (1e-2, 1e-1, 1.0)
    ours_mc_repeats: int = 12
    ours_mc_targets: int = 8
    ours_mc_n_test: int = 800
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("mc_d", "ours_mc_d"):
            d = getattr(self, name)
            if len(d) != 2 or not 0 < d[0] < d[1]:
                raise InputError(
                    f"{name}: two dimensions d1 < d2 (the extrapolation in 1/d), got {d}",
                    param=name,
                )

    @classmethod
    def from_preset(cls, name: str, **overrides) -> RFRRConfig:
        """quick: the paper's setting with a small Monte Carlo (about 15 s on 2 CPU cores);
        paper: the asymptotics at 50 digits and a larger Monte Carlo, d = 100 and 200, four
        widths (about 2 minutes on 2 CPU cores; no GPU needed)."""
        from dataclasses import replace

        return replace(cls._preset(name), **overrides)

    @staticmethod
    def _preset(name: str) -> RFRRConfig:
        if name == "quick":
            return RFRRConfig()
        if name == "paper":
            return RFRRConfig(
                preset="paper",
                curve_lams=tuple(np.geomspace(0.08, 1.0, 49).tolist()),
                dps=50,
                mc_d=(100, 200),
                mc_psi_2=(4.0, 8.0, 16.0, 32.0),
                mc_lams=(0.1, 0.2, 0.35, 0.6, 1.0),
                mc_repeats=32,
                mc_targets=16,
                mc_n_test=2000,
                ours=RatesConfig(dps=50),
                boundary=RatesConfig.boundary(),
                ours_mc_d=(100, 200),
                ours_mc_psi1=(0.5, 1.0, 4.0, 8.0),
                ours_mc_lams=(1e-3, 1e-2, 1e-1, 1.0),
                ours_mc_repeats=24,
                ours_mc_targets=16,
                ours_mc_n_test=2000,
            )
        raise InputError(f"preset: unknown {name!r} ({'|'.join(PRESETS)})", param="preset")

    @staticmethod
    def tiny() -> RFRRConfig:
        """A seconds-sized configuration for smoke tests (preset name "tiny")."""
        return RFRRConfig(
            preset="tiny",
            curve_psi_2=(4.0, 16.0, math.inf),
            curve_lams=(0.1, 0.2, 0.35, 0.6, 1.0),
            rates_psi_2=(4.0, 8.0, 16.0),
            limit_psi_2=(2.0**10, 2.0**11),
            dps=20,
            mc_d=(12, 24),
            mc_psi_2=(4.0,),
            mc_lams=(0.35, 1.0),
            mc_repeats=3,
            mc_targets=2,
            mc_n_test=200,
            ours=RatesConfig(psi1=(4.0, 8.0, 16.0), dps=20),
            boundary=RatesConfig(F1=1.0, Fs=0.3, tau=0.1, psi1=(4.0, 8.0), dps=20),
            ours_curve_psi1=(1.0, 4.0, math.inf),
            ours_curve_lams=(1e-3, 1e-2, 1e-1, 1.0),
            ours_mc_d=(12, 24),
            ours_mc_psi1=(4.0,),
            ours_mc_lams=(1e-1, 1.0),
            ours_mc_repeats=3,
            ours_mc_targets=2,
            ours_mc_n_test=200,
        )

    def to_json_dict(self) -> dict:
        out = asdict(self)
        for key, val in out.items():
            if isinstance(val, tuple):
                out[key] = _inf_safe(val)
        return json.loads(json.dumps(out))  # as stored: lists, not tuples


# --------------------------------------------------------------------------- storage

STUDY = "rfrr"
# the modules whose code the stored numbers depend on (the entry's code version)
CODE_MODULES = (
    "fasttransfer.theory.rfrr_asymptotics",
    "fasttransfer.theory.gaussian_coefficients",
    "fasttransfer.theory.rfrr_paper",
    "fasttransfer.simulations.rfrr_montecarlo",
    "fasttransfer.simulations.rfrr",
)


def store_result(entry, name: str, value) -> Path:
    """Write one result into the store entry: a DataFrame as CSV, anything else as JSON
    (atomic). The one place the study writes."""
    if name.endswith(".csv"):
        return entry.write_csv(name, value)
    return entry.write_json(name, value)


def load_result(entry, name: str):
    """One result of the store entry (DataFrame for .csv, the JSON value otherwise), or
    None when it is not there yet (a resumed run). The one place the study reads."""
    if not entry.path(name).exists():
        return None
    return entry.read_csv(name) if name.endswith(".csv") else entry.read_json(name)


# --------------------------------------------------------------------------- Monte Carlo summary


def z_threshold(m: int, level: float = 0.01) -> float:
    """Two-sided normal quantile for m simultaneous z-tests at family-wise `level`
    (Bonferroni): the |z| a correct formula exceeds somewhere with probability <= level."""
    from scipy.stats import norm

    return float(norm.isf(level / (2 * max(m, 1))))


def mc_summary(points, width: str, asymptotic, alternative=None):
    """Per (width, lam, d): mean, se (over draws), draws; plus a row d = inf per
    (width, lam) extrapolated in 1/d from the two dimensions (extrapolate_in_d).
    Columns asymptotic (the formula at that width and lam), rel_err, z = (mean -
    asymptotic)/se, and asymptotic_alt, z_alt for `alternative` (a deliberately wrong
    convention: the test can tell them apart) when given."""
    import pandas as pd

    g = points.groupby([width, "lam", "d"])["risk"]
    summ = g.agg(
        mean="mean", se=lambda v: v.std(ddof=1) / math.sqrt(len(v)), draws="count"
    ).reset_index()
    ds = sorted(summ.d.unique())
    if len(ds) != 2:
        raise InputError(f"d: the Monte Carlo needs exactly two dimensions, got {ds}", param="d")
    a = summ[summ.d == ds[0]].set_index([width, "lam"])
    b = summ[summ.d == ds[1]].set_index([width, "lam"]).loc[a.index]
    mean, se = extrapolate_in_d(
        ds[0],
        a["mean"].to_numpy(),
        a["se"].to_numpy(),
        ds[1],
        b["mean"].to_numpy(),
        b["se"].to_numpy(),
    )
    ext = pd.DataFrame(
        {
            width: [i[0] for i in a.index],
            "lam": [i[1] for i in a.index],
            "d": math.inf,
            "mean": mean,
            "se": se,
            "draws": np.minimum(a.draws.to_numpy(), b.draws.to_numpy()),
        }
    )
    summ = pd.concat([summ, ext], ignore_index=True)
    summ["asymptotic"] = [asymptotic(w, lam) for w, lam in zip(summ[width], summ.lam, strict=False)]
    summ["rel_err"] = (summ["mean"] - summ["asymptotic"]) / summ["asymptotic"]
    summ["z"] = (summ["mean"] - summ["asymptotic"]) / summ["se"]
    if alternative is not None:
        summ["asymptotic_alt"] = [
            alternative(w, lam) for w, lam in zip(summ[width], summ.lam, strict=False)
        ]
        summ["z_alt"] = (summ["mean"] - summ["asymptotic_alt"]) / summ["se"]
    return summ.sort_values([width, "lam", "d"]).reset_index(drop=True)


def _mc_points(entry, name, cells, run_cell, columns, progress):
    """Monte Carlo cells, resumable cell by cell: `cells` are (d, width) pairs,
    run_cell(i, d, width) -> DataFrame of that cell's rows, stored after each cell."""
    import pandas as pd
    from tqdm import tqdm

    points = load_result(entry, name)
    if points is None:
        points = pd.DataFrame(columns=columns)
    done = set(zip(points["d"].astype(int), points[columns[1]].astype(float), strict=False))
    todo = [(i, c) for i, c in enumerate(cells) if (int(c[0]), float(c[1])) not in done]
    for i, (d, w) in tqdm(
        todo,
        desc=f"rfrr Monte Carlo ({name})",
        disable=None if progress and todo else True,  # None: a bar on a terminal only
    ):
        cell = run_cell(i, d, w)
        points = cell if points.empty else pd.concat([points, cell], ignore_index=True)
        store_result(entry, name, points)
    return points


def _cell_frame(mc, d, width_col, width):
    import pandas as pd

    r_, l_ = np.meshgrid(np.arange(mc["risk"].shape[0]), mc["lams"], indexing="ij")
    return pd.DataFrame(
        {
            "d": d,
            width_col: width,
            "lam": l_.ravel(),
            "draw": r_.ravel(),
            "risk": mc["risk"].ravel(),
        }
    )


# --------------------------------------------------------------------------- the study

TABLES = (
    "paper_curves",
    "paper_optima",
    "paper_rates",
    "paper_mc",
    "paper_mc_summary",
    "ours_curves",
    "ours_optima",
    "ours_rates",
    "ours_mc",
    "ours_mc_summary",
)


def run_study(
    root,
    config: RFRRConfig = RFRRConfig(),
    *,
    recompute: bool = False,
    progress: bool = True,
):
    """The store entry ROOT/rfrr/<config.preset>/ with every result of the module
    docstring: reused when one of this configuration and code is stored (logged at
    INFO), resumed when a run of it was interrupted (finished tables and Monte Carlo
    cells are kept), refused when it holds another configuration or code unless
    `recompute`. Returns the entry (read it with :func:`read_study`)."""
    from fasttransfer import store

    return store.reuse_or_run(
        root,
        STUDY,
        config.preset,
        config=config.to_json_dict(),
        modules=CODE_MODULES,
        recompute=recompute,
        run=lambda entry: _fill(entry, config, progress),
    )


def read_study(entry) -> dict:
    """The study's tables by name (DataFrames)."""
    return {name: entry.read_csv(name + ".csv") for name in TABLES}


def _fill(entry, config: RFRRConfig, progress) -> None:
    import pandas as pd

    def table(name, compute):
        if load_result(entry, name + ".csv") is None:
            store_result(entry, name + ".csv", compute())

    P = config.paper
    # ---- the paper's setting
    table(
        "paper_curves",
        lambda: pd.DataFrame(
            [
                {"psi_2": w, "lam": lam, "risk": paper_risk(P, w, lam)}
                for w in config.curve_psi_2
                for lam in config.curve_lams
            ]
        ),
    )
    table(
        "paper_optima",
        lambda: pd.DataFrame(
            [
                dict(
                    zip(
                        ("psi_2", "lam_star", "risk_star", "at_boundary"),
                        (w, *paper_optimal_lambda(P, w)),
                        strict=False,
                    )
                )
                for w in config.curve_psi_2
            ]
        ),
    )

    def rates():
        logger.info("paper-setting rates: lam*, R*, a, b, c in mpmath")
        widths = tuple(config.rates_psi_2) + tuple(config.limit_psi_2)
        tab = paper_rates(P, widths, config.dps)
        return tab.assign(figure=tab.psi_2.isin(config.rates_psi_2) | ~np.isfinite(tab.psi_2))

    table("paper_rates", rates)

    def paper_cell(i, d, w):
        mc = monte_carlo_risk(
            PaperMonteCarloConfig(
                d=d,
                psi_1=P.psi_1,
                psi_2=w,
                sigma_eps=P.sigma_eps,
                lams=config.mc_lams,
                repeats=config.mc_repeats,
                n_test=config.mc_n_test,
                seed=config.seed + 1000 * i + 1,
                activation=P.activation,
                target=P.target,
                n_targets=config.mc_targets,
            )
        )
        return _cell_frame(mc, d, "psi_2", w)

    cells = [(d, w) for d in config.mc_d for w in config.mc_psi_2]
    pts = _mc_points(
        entry, "paper_mc.csv", cells, paper_cell, ["d", "psi_2", "lam", "draw", "risk"], progress
    )
    # the alternative: lam_MM = lam_paper (no factor psi_1)
    store_result(
        entry,
        "paper_mc_summary.csv",
        mc_summary(
            pts,
            "psi_2",
            lambda w, lam: paper_risk(P, w, lam),
            lambda w, lam: paper_risk(P, w, lam * P.psi_1),
        ),
    )

    # ---- ours (secondary)
    oc = config.ours
    kw = dict(F1=oc.F1, Fs=oc.Fs, tau=oc.tau, activation=oc.activation)
    table(
        "ours_curves",
        lambda: pd.DataFrame(
            [
                {"psi1": p1, "lam": lam, "risk": asymptotic_risk(p1, oc.psi2, lam, **kw)}
                for p1 in config.ours_curve_psi1
                for lam in config.ours_curve_lams
            ]
        ),
    )

    def ours_optima():
        rows = []
        for p1 in config.ours_curve_psi1:
            opt = optimal_lambda(p1, oc.psi2, **kw)
            rows.append(
                {
                    "psi1": p1,
                    "lam_star": opt.lam_star,
                    "risk_star": opt.risk_star,
                    "at_boundary": opt.at_boundary,
                }
            )
        return pd.DataFrame(rows)

    table("ours_optima", ours_optima)

    def ours_rates():
        logger.info("our-setting rates: lam*, R*, a, b, c in mpmath")
        return pd.concat(
            [
                rates_table(oc).assign(setting="interior"),
                rates_table(config.boundary).assign(setting="boundary"),
            ],
            ignore_index=True,
        )

    table("ours_rates", ours_rates)

    def ours_cell(i, d, p1):
        mc = monte_carlo_risk(
            MonteCarloConfig(
                d=d,
                psi1=p1,
                psi2=oc.psi2,
                F1=oc.F1,
                Fs=oc.Fs,
                tau=oc.tau,
                lams=config.ours_mc_lams,
                repeats=config.ours_mc_repeats,
                n_test=config.ours_mc_n_test,
                seed=config.seed + 1000 * i + 2,
                activation=oc.activation,
                n_targets=config.ours_mc_targets,
            )
        )
        return _cell_frame(mc, d, "psi1", p1)

    cells = [(d, p1) for d in config.ours_mc_d for p1 in config.ours_mc_psi1]
    pts = _mc_points(
        entry, "ours_mc.csv", cells, ours_cell, ["d", "psi1", "lam", "draw", "risk"], progress
    )
    # the alternative: the plain penalty lam'||a||^2 read as lam (forgetting N/d = psi1)
    store_result(
        entry,
        "ours_mc_summary.csv",
        mc_summary(
            pts,
            "psi1",
            lambda p1, lam: asymptotic_risk(p1, oc.psi2, lam, **kw),
            lambda p1, lam: asymptotic_risk(p1, oc.psi2, lam * p1, **kw),
        ),
    )

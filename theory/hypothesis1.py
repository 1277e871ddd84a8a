"""Algorithm 1 (the published kappa_hat(n)), the paper's decomposition rate J(kappa) and
its bound t_n >= b_n, and Hypothesis 1 statistics that can fail (SPEC §6; PAPER.md, top-k
section). Numpy/pandas on the final profiles of the top-k study
(:func:`simulations.topk_training.tidy_results`: ``profile`` rows width, hp, seed, k,
topk, residual; ``final`` rows width, hp, seed, loss).

Notation. hp = log nu on a grid nu_1..nu_g; phi_n(nu) the final loss (at the EMA point),
phi_n^k(nu) its top-k part, phi_n^-k = phi_n - phi_n^k the residual; a truncation vector
kappa = (kappa_1..kappa_g) takes phi_n^{kappa_i}(nu_i) at grid point i. n_max, the widest
width, is the infinite-width proxy (as in the paper). Functions on the grid are linearly
interpolated in hp (slopes and curvatures are per unit of log nu, the coordinate our
sweeps and the rate analysis use; PAPER.md does not name the paper's):
Lip(f) = max_i |f_{i+1} - f_i| / (hp_{i+1} - hp_i); the discrete curvature
is the three-point second divided difference
    f''_i = 2 [(f_{i+1} - f_i)/h_{i+1} - (f_i - f_{i-1})/h_i] / (h_i + h_{i+1}).

Algorithm 1, as published. J_proxy(kappa; tau) = (1/g) sum_i |phi_n^{kappa_i}(nu_i) -
phi_nmax^{kappa_i}(nu_i)| + tau_1 Lip(phi_n^-kappa) + tau_2 Lip(phi_nmax^-kappa) (Lip over
the whole grid). ConvErr(f) = fraction of interior grid points with f''_i < 0. For each
n < n_max the (tau_1, tau_2) pairs of the candidate list are tried in order of tau_1 +
tau_2 (ties: smaller tau_1 first); kappa <- MinimizeProxy(tau) and the first kappa with
    max(ConvErr(phi_n^kappa), ConvErr(phi_nmax^kappa)) <= eps_cvx   and
    max(|argmin phi_n^kappa - argmin phi_n|, |argmin phi_nmax^kappa - argmin phi_nmax|)
        <= eps_amin
is kappa_hat(n); if none passes, Fail (None). MinimizeProxy (Algorithm 2): coordinate
descent from kappa_i = n/2 (clipped to K_max, the largest recorded k), setting each
kappa_i in turn to the argmin over k of J_proxy, until a sweep changes nothing (a
coordinate moves only on a strict decrease, so the descent terminates).

The paper leaves the candidate taus, eps_cvx and eps_amin unstated; ours
(:class:`Algorithm1Settings`) were fixed before any of our sweeps was looked at, from
units alone: a tau multiplies a slope (loss per unit hp) and is added to a loss, so it is
an hp length; the grid step h (median spacing of hp) is the only hp length the
algorithm has, hence tau in {0} U {h/4, h/2, h, 2h, 4h, 8h} for each coordinate -- from
"invariance only" to a residual slope counted over the width of a typical fit window.
eps_amin = 1 grid step: the argmin of a grid function is resolved to one step, and a
one-step hop is the smallest disagreement a grid can show. eps_cvx = 1/4: a loss-vs-LR
curve on a 2.5-3 decade grid is convex near its optimum but may bend (concave) in its
tails, at the divergence plateau and where tiny LRs leave the loss at its initial value;
a quarter of the interior points allows those tails and no more.

Decomposition rate, as published: mu(f) = inf f'', Lip(f) = sup |f'|;
    eps_inv(n, k)  = sup |phi_n^k - phi_inf^k| / max(mu(phi_n^k), mu(phi_inf^k)),
    eps_flat(n, k) = Lip(phi_n^-k)/mu(phi_n) + Lip(phi_inf^-k)/mu(phi_inf),
    J(k) = 2 sqrt(eps_inv) + eps_flat,  t_n = min_k J(k) over the k with positive
    curvatures, and the bound t_n >= b_n = |nu*(n) - nu*(inf)|.
The paper's sup/inf run over the region the argument needs (strong convexity and
flatness near the optimum); ours: the grid points within ``window`` steps of the hull of
the two grid argmins of the totals (phi_n, phi_nmax), with mu the smallest three-point
curvature there (inf over the interior points of the region). Evaluated at each constant
k = 0..K_max and at Algorithm 1's vector kappa_hat(n).

Hypothesis 1 statistics (ours; sufficient conditions, each able to fail):
* held out: kappa_hat(n) is chosen by Algorithm 1 on the seed means of the SELECTION
  seeds; the statistics below use the other (TEST) seeds only. With one seed there is
  nothing to hold out (``held_out`` False, the caller reports that).
* convexity: at each n < n_max, phi_n^kappa and phi_nmax^kappa (kappa = kappa_hat(n))
  fitted by a quadratic on 2 window + 1 points around their argmin; holds iff
  mu - t_{df, 0.95} SE(mu) > 0 for all (one-sided 95% Student-t bound, df = points - 3).
* invariance: D_n = sup_nu |phi_n^kappa - phi_nmax^kappa| decays like n^-gamma (log-log
  OLS with a 95% t-interval); a gap that shrinks only as fast as the loss itself moves
  the top-kappa optimum by ~ sqrt(D_n / mu) ~ n^-gamma/2, i.e. weak transfer at best, so
  invariance that supports FAST transfer needs gamma > alpha (the loss law's exponent):
  holds iff the interval's lower end exceeds alpha.
* flatness: the residual moves the optimum by at most eps_flat(n) = Lip_W(phi_n^-kappa)
  / mu_n + Lip_W(phi_nmax^-kappa) / mu_nmax (HP units; Lip over the fit window W around
  the total's argmin, mu the quadratic-fit curvature of the total there); holds iff
  eps_flat(n) <= b_n + 2 SE(nu*(n)) at every n < n_max, with b_n the measured optimum
  shift: a residual allowed to move the optimum further than the shift actually seen
  carries the transfer, not the top-kappa part.
Hypothesis 1's conditions hold iff Algorithm 1 found kappa_hat(n) at every n < n_max and
all three hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Algorithm1Settings", "KappaHat", "Profiles", "profiles", "grid_step", "lip",
           "curvature3", "conv_err",
           "j_proxy", "minimize_proxy", "algorithm1", "decomposition_rate", "rate_bound",
           "rank_bounded", "seed_split", "Hypothesis1", "hypothesis1"]


# ------------------------------------------------------------------ the grid data
@dataclass(frozen=True)
class Profiles:
    """Seed means on the grid. hp (H,); widths (W,) ascending; ks (K+1,) = 0..K_max;
    total (W, H); topk, residual (W, H, K+1). A (width, hp) cell with a non-finite seed
    is NaN (diverged)."""

    hp: np.ndarray
    widths: np.ndarray
    ks: np.ndarray
    total: np.ndarray
    topk: np.ndarray
    residual: np.ndarray


def profiles(profile, final, seeds=None) -> Profiles:
    """:class:`Profiles` from the tidy frames, averaged over ``seeds`` (default all)."""
    import pandas as pd

    if seeds is not None:
        profile = profile[profile["seed"].isin(list(seeds))]
        final = final[final["seed"].isin(list(seeds))]
    widths = np.sort(profile["width"].unique())
    hp = np.sort(profile["hp"].unique())
    ks = np.sort(profile["k"].unique())
    mean = lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan  # noqa: E731
    p = profile.groupby(["width", "hp", "k"])[["topk", "residual"]].agg(mean)
    p = p.reindex(pd.MultiIndex.from_product([widths, hp, ks]))
    f = final.groupby(["width", "hp"])["loss"].agg(mean)
    tot = f.reindex(pd.MultiIndex.from_product([widths, hp])).to_numpy()
    shape = (len(widths), len(hp), len(ks))
    return Profiles(hp=hp.astype(float), widths=widths, ks=ks,
                    total=tot.reshape(shape[:2]).astype(float),
                    topk=p["topk"].to_numpy(float).reshape(shape),
                    residual=p["residual"].to_numpy(float).reshape(shape))


# ------------------------------------------------------------ grid-function tools
def lip(hp: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Lip(f) = max_i |f_{i+1} - f_i| / (hp_{i+1} - hp_i) of the linear interpolant;
    f (..., H) -> (...)."""
    return np.max(np.abs(np.diff(f, axis=-1)) / np.diff(hp), axis=-1)


def curvature3(hp: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Three-point second divided differences at the interior points: (..., H-2)."""
    h = np.diff(hp)
    s = np.diff(f, axis=-1) / h
    return 2.0 * np.diff(s, axis=-1) / (h[:-1] + h[1:])


def conv_err(hp: np.ndarray, f: np.ndarray) -> np.ndarray:
    """ConvErr(f): the fraction of interior grid points with negative curvature."""
    return np.mean(curvature3(hp, f) < 0, axis=-1)


def _take(arr: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """arr (..., H, K+1) at k = kappa_i in column i -> (..., H)."""
    return np.take_along_axis(arr, np.asarray(kappa)[..., None], axis=-1)[..., 0]


# ------------------------------------------------------------------- Algorithm 1
@dataclass(frozen=True)
class Algorithm1Settings:
    """The constants the paper leaves unstated (module docstring: why these values).
    ``tau_steps``: candidate tau_1 = tau_2 values in grid steps of hp; ``eps_cvx``: the
    largest ConvErr accepted; ``eps_amin_steps``: the largest argmin disagreement, in
    grid steps."""

    tau_steps: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    eps_cvx: float = 0.25
    eps_amin_steps: float = 1.0

    def tau_pairs(self, h: float) -> list[tuple[float, float]]:
        """(tau_1, tau_2) in hp units, in the published order: by tau_1 + tau_2, ties by
        tau_1."""
        vals = [t * h for t in self.tau_steps]
        return sorted(((a, b) for a in vals for b in vals), key=lambda p: (p[0] + p[1], p[0]))

    def describe(self, h: float) -> dict:
        return {"tau_candidates_grid_steps": list(self.tau_steps),
                "tau_candidates_hp": [t * h for t in self.tau_steps],
                "eps_cvx": self.eps_cvx, "eps_amin_grid_steps": self.eps_amin_steps,
                "eps_amin_hp": self.eps_amin_steps * h, "grid_step_hp": h}


def j_proxy(kappa, hp, top_n, top_m, res_n, res_m, tau) -> float:
    """J_proxy(kappa; tau) for kappa (H,) ints; top_*/res_* (H, K+1) (width n, n_max)."""
    kappa = np.asarray(kappa)
    inv = np.mean(np.abs(_take(top_n, kappa) - _take(top_m, kappa)))
    return float(inv + tau[0] * lip(hp, _take(res_n, kappa))
                 + tau[1] * lip(hp, _take(res_m, kappa)))


def minimize_proxy(hp, top_n, top_m, res_n, res_m, tau, start: int,
                   max_sweeps: int = 1000) -> np.ndarray:
    """Algorithm 2: coordinate descent on J_proxy(.; tau) from kappa_i = start; each
    kappa_i set to the argmin over k (moved only on a strict decrease) until a sweep
    changes nothing. Returns kappa (H,) ints."""
    H, K1 = top_n.shape
    kappa = np.full(H, int(min(max(start, 0), K1 - 1)))
    ks = np.arange(K1)
    for _ in range(max_sweeps):
        changed = False
        for i in range(H):
            cand = np.repeat(kappa[None, :], K1, axis=0)
            cand[:, i] = ks
            rows = np.arange(H)
            inv = np.mean(np.abs(top_n[rows, cand] - top_m[rows, cand]), axis=1)
            J = inv + tau[0] * lip(hp, res_n[rows, cand]) + tau[1] * lip(hp, res_m[rows, cand])
            best = int(np.argmin(J))
            if J[best] < J[kappa[i]]:
                kappa[i] = best
                changed = True
        if not changed:
            return kappa
    raise RuntimeError("MinimizeProxy did not converge")  # J strictly decreases: unreachable


@dataclass(frozen=True)
class KappaHat:
    """Algorithm 1 at one width: ``kappa`` (tuple over ``hp``, the grid columns used) or
    None (Fail); the accepted ``tau`` pair (hp units) and how many pairs were tried."""

    width: int
    hp: tuple[float, ...]
    kappa: tuple[int, ...] | None
    tau: tuple[float, float] | None
    tried: int
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.kappa is None

    def at(self, hp: float) -> float:
        """kappa_hat at grid point ``hp`` (NaN on Fail or off the grid used)."""
        if self.kappa is None:
            return math.nan
        i = int(np.argmin(np.abs(np.asarray(self.hp) - hp)))
        return float(self.kappa[i]) if abs(self.hp[i] - hp) < 1e-9 else math.nan


def _finite_columns(P: Profiles, wi: int) -> np.ndarray:
    """Grid columns where width wi and n_max are finite in total, top-k and residual."""
    ok = np.ones(len(P.hp), bool)
    for j in (wi, len(P.widths) - 1):
        ok &= np.isfinite(P.total[j]) & np.all(np.isfinite(P.topk[j]), -1) \
            & np.all(np.isfinite(P.residual[j]), -1)
    return ok


def grid_step(hp: np.ndarray) -> float:
    return float(np.median(np.diff(hp)))


def algorithm1(P: Profiles,
               settings: Algorithm1Settings = Algorithm1Settings()) -> dict[int, KappaHat]:
    """kappa_hat(n) for every width n < n_max (module docstring). Diverged grid columns
    (non-finite at n or n_max) are left out; fewer than 3 columns left: Fail."""
    h = grid_step(P.hp)
    eps_amin = settings.eps_amin_steps * h
    pairs = settings.tau_pairs(h)
    out = {}
    m = len(P.widths) - 1
    for wi, n in enumerate(P.widths[:-1]):
        cols = _finite_columns(P, wi)
        hp = P.hp[cols]
        if len(hp) < 3:
            out[int(n)] = KappaHat(int(n), tuple(hp), None, None, 0,
                                   "fewer than 3 finite grid points")
            continue
        tn, tm = P.topk[wi][cols], P.topk[m][cols]
        rn, rm = P.residual[wi][cols], P.residual[m][cols]
        am_n, am_m = hp[np.argmin(P.total[wi][cols])], hp[np.argmin(P.total[m][cols])]
        found, best_cvx, best_amin = None, math.inf, math.inf
        for t, tau in enumerate(pairs, start=1):
            kappa = minimize_proxy(hp, tn, tm, rn, rm, tau, start=int(n) // 2)
            fn, fm = _take(tn, kappa), _take(tm, kappa)
            cvx = max(conv_err(hp, fn), conv_err(hp, fm))
            amin = max(abs(hp[np.argmin(fn)] - am_n), abs(hp[np.argmin(fm)] - am_m))
            best_cvx, best_amin = min(best_cvx, cvx), min(best_amin, amin)
            if cvx <= settings.eps_cvx and amin <= eps_amin + 1e-12:
                found = KappaHat(int(n), tuple(float(x) for x in hp),
                                 tuple(int(k) for k in kappa), (float(tau[0]), float(tau[1])), t)
                break
        # on Fail, say how close the gates came (over all pairs, each gate on its own)
        out[int(n)] = found or KappaHat(
            int(n), tuple(float(x) for x in hp), None, None, len(pairs),
            f"no tau pair passes both gates (best of each gate on its own over the "
            f"{len(pairs)} pairs: ConvErr {best_cvx:.2f} vs eps_cvx {settings.eps_cvx:g}, "
            f"argmin gap {best_amin / h:.2f} vs {settings.eps_amin_steps:g} grid steps)")
    return out


# ---------------------------------------------------------- the decomposition rate
def _region(P: Profiles, wi: int, cols: np.ndarray, window: int) -> np.ndarray:
    """Indices into the finite columns: within ``window`` steps of the hull of the grid
    argmins of phi_n and phi_nmax."""
    tot_n, tot_m = P.total[wi][cols], P.total[-1][cols]
    a, b = sorted((int(np.argmin(tot_n)), int(np.argmin(tot_m))))
    return np.arange(max(a - window, 0), min(b + window, len(tot_n) - 1) + 1)


def decomposition_rate(P: Profiles, wi: int, kappa, *, window: int = 2) -> dict:
    """eps_inv, eps_flat, J = 2 sqrt(eps_inv) + eps_flat at width index wi against n_max
    for a constant k (int) or a vector kappa over the finite columns (module docstring;
    the region: ``window`` steps around the two argmins). J is inf when a curvature is
    not positive."""
    cols = _finite_columns(P, wi)
    r = _region(P, wi, cols, window)
    hp = P.hp[cols][r]
    kv = np.full(len(P.hp[cols]), int(kappa)) if np.ndim(kappa) == 0 else np.asarray(kappa)
    kv = kv[r]
    tn, tm = _take(P.topk[wi][cols][r], kv), _take(P.topk[-1][cols][r], kv)
    rn, rm = _take(P.residual[wi][cols][r], kv), _take(P.residual[-1][cols][r], kv)
    if len(hp) < 3:
        nan = math.nan
        return {"eps_inv": nan, "eps_flat": nan, "J": math.inf, "mu_topk": nan, "mu_total": nan}
    mu_tk = max(np.min(curvature3(hp, tn)), np.min(curvature3(hp, tm)))
    mu_n = np.min(curvature3(hp, P.total[wi][cols][r]))
    mu_m = np.min(curvature3(hp, P.total[-1][cols][r]))
    ok = mu_tk > 0 and mu_n > 0 and mu_m > 0
    eps_inv = float(np.max(np.abs(tn - tm)) / mu_tk) if mu_tk > 0 else math.inf
    eps_flat = float(lip(hp, rn) / mu_n + lip(hp, rm) / mu_m) if mu_n > 0 and mu_m > 0 else math.inf
    J = 2 * math.sqrt(eps_inv) + eps_flat if ok else math.inf
    return {"eps_inv": eps_inv, "eps_flat": eps_flat, "J": J, "mu_topk": float(mu_tk),
            "mu_total": float(min(mu_n, mu_m)), "region_hp": (float(hp[0]), float(hp[-1]))}


def rate_bound(P: Profiles, khat: dict[int, KappaHat] | None = None, *, b: dict | None = None,
               window: int = 2) -> "pd.DataFrame":
    """Per width n < n_max: t_n = min over constant k of J(k) (positive curvatures
    only; inf when no k qualifies), its k, J at kappa_hat(n), and b_n (given, or the
    grid-argmin shift |hp*(n) - hp*(n_max)|) with ``bound_holds`` = t_n >= b_n (None
    when t_n is undefined)."""
    import pandas as pd

    rows = []
    for wi, n in enumerate(P.widths[:-1]):
        Js = [decomposition_rate(P, wi, int(k), window=window)["J"] for k in P.ks]
        j = int(np.argmin(Js))
        t_n = float(Js[j])
        kh = (khat or {}).get(int(n))
        J_kh = math.nan
        if kh is not None and not kh.failed:
            kv = np.array([kh.at(x) for x in P.hp[_finite_columns(P, wi)]])
            if np.all(np.isfinite(kv)):  # kappa_hat defined on every column used here
                J_kh = decomposition_rate(P, wi, kv.astype(int), window=window)["J"]
        if b is not None and int(n) in b:
            bn = float(b[int(n)])
        else:
            cols = _finite_columns(P, wi)
            x = P.hp[cols]
            bn = abs(x[np.argmin(P.total[wi][cols])] - x[np.argmin(P.total[-1][cols])])
        rows.append({"width": int(n), "t_n": t_n,
                     "k_at_t_n": int(P.ks[j]) if np.isfinite(t_n) else -1,
                     "J_kappa_hat": J_kh, "b_n": bn,
                     # undefined (None) when no k has positive curvatures (t_n = inf)
                     "bound_holds": bool(t_n >= bn) if np.isfinite(t_n) else None})
    return pd.DataFrame(rows)


# --------------------------------------------------------------- Hypothesis 1
def rank_bounded(P: Profiles, rtol: float = 1e-5) -> bool:
    """True when the residual at k = K_max vanishes in every finite cell: the alignment
    spectra have at most K_max nonzero eigenvalues (e.g. the two-layer ReLU net, rank
    <= 2d), so a top-K_max split is the whole change and Hypothesis 1 is untestable.
    Tolerance: ``rtol`` x the largest |total - phi(w_0)| change: the float32 rounding of
    a running sum over R <= ~100 records, R x eps32 = 100 x 1.2e-7 ~ 1.2e-5 (a residual
    that is small but real, e.g. 4e-4 of the change at the MNIST-1D MLP's widest
    quick width, is not rank-bounded: Hypothesis 1 is tested at kappa_hat < K_max)."""
    res = P.residual[..., -1]
    scale = np.nanmax(np.abs(P.topk[..., -1] - P.topk[..., 0]))
    fin = np.isfinite(res)
    return bool(fin.any() and np.nanmax(np.abs(res[fin])) <= rtol * scale)


def seed_split(seeds) -> tuple[tuple, tuple]:
    """(selection, test): the first half of the sorted seeds (rounded up) chooses kappa,
    the rest tests it; one seed: ((s,), (s,)) -- nothing held out."""
    s = sorted(int(x) for x in seeds)
    if len(s) < 2:
        return tuple(s), tuple(s)
    half = (len(s) + 1) // 2
    return tuple(s[:half]), tuple(s[half:])


@dataclass(frozen=True)
class Hypothesis1:
    """Hypothesis 1's conditions on the test seeds at Algorithm 1's kappa_hat(n) from the
    selection seeds (module docstring). ``per_width``: one row per n < n_max."""

    kappa_hat: dict                     # width -> KappaHat (selection seeds)
    selection_seeds: tuple
    test_seeds: tuple
    per_width: Any
    convexity: bool
    invariance: bool
    flatness: bool
    gamma: tuple[float, float, float]   # decay exponent of D_n: estimate, lo, hi (95%)
    alpha: float
    alpha_source: str
    rate: Any                           # rate_bound() on the test seeds
    settings: dict
    reasons: tuple[str, ...] = ()
    rules: dict = field(default_factory=dict)

    @property
    def held_out(self) -> bool:
        return set(self.selection_seeds).isdisjoint(self.test_seeds)

    @property
    def found(self) -> bool:
        return all(not k.failed for k in self.kappa_hat.values())

    @property
    def holds(self) -> bool:
        return bool(self.found and self.convexity and self.invariance and self.flatness)


def _fit_window(hp, f, window):
    i = int(np.nanargmin(f))
    idx = np.arange(max(i - window, 0), min(i + window, len(f) - 1) + 1)
    return idx


def _curv_bound(hp, f, window) -> tuple[float, float, float]:
    """(curvature, SE, curvature - t_{df,0.95} SE) of a quadratic on the window around
    argmin f (df = points - 3; NaN bound when df < 1)."""
    from fasttransfer.theory.fits import quadratic_vertex, t_quantile

    idx = _fit_window(hp, f, window)
    fit = quadratic_vertex(hp[idx], f[idx])
    mu, se = float(fit.curvature), float(fit.curvature_se)
    t = float(t_quantile(len(idx) - 3, level=0.90))  # two-sided 90% = one-sided 95%
    return mu, se, mu - t * se


def hypothesis1(profile, final, *, seeds=None, alpha: float | None = None,
                b: dict | None = None, b_se: dict | None = None, window: int = 2,
                settings: Algorithm1Settings = Algorithm1Settings()) -> Hypothesis1:
    """Hypothesis 1's three conditions (module docstring). ``alpha``: the loss law's
    exponent (from ``analyze_sweep``; None: the log-log slope of the total's gap to
    n_max, same proxy as D_n); ``b``/``b_se``: width -> measured optimum shift and the
    SE of nu*(n) (None: grid-argmin shift, SE = half a grid step)."""
    import pandas as pd

    from fasttransfer.theory.fits import loglog_slope

    all_seeds = sorted(int(s) for s in final["seed"].unique()) if seeds is None else list(seeds)
    sel, test = seed_split(all_seeds)
    khat = algorithm1(profiles(profile, final, sel), settings)
    P = profiles(profile, final, test)
    h = grid_step(P.hp)
    m = len(P.widths) - 1
    rows = []
    for wi, n in enumerate(P.widths[:-1]):
        kh = khat[int(n)]
        cols = _finite_columns(P, wi)
        hp = P.hp[cols]
        row = {"width": int(n), "kappa_hat": None if kh.failed else list(kh.kappa)}
        if kh.failed or len(hp) < 3:
            rows.append(row)
            continue
        # kappa_hat lives on the selection seeds' columns; keep the common ones
        kv = np.array([kh.at(x) for x in hp])
        keep = np.isfinite(kv)
        hp, kv = hp[keep], kv[keep].astype(int)
        tn = _take(P.topk[wi][cols][keep], kv)
        tm = _take(P.topk[m][cols][keep], kv)
        rn = _take(P.residual[wi][cols][keep], kv)
        rm = _take(P.residual[m][cols][keep], kv)
        totn, totm = P.total[wi][cols][keep], P.total[m][cols][keep]
        mu_n, se_n, lo_n = _curv_bound(hp, tn, window)
        mu_m, se_m, lo_m = _curv_bound(hp, tm, window)
        W = _fit_window(hp, totn, window)
        Wm = _fit_window(hp, totm, window)
        cn, _, _ = _curv_bound(hp, totn, window)
        cm, _, _ = _curv_bound(hp, totm, window)
        eps_flat = (float(lip(hp[W], rn[W]) / cn + lip(hp[Wm], rm[Wm]) / cm)
                    if cn > 0 and cm > 0 else math.inf)
        bn = float(b[int(n)]) if b is not None and int(n) in b else \
            float(abs(hp[np.argmin(totn)] - hp[np.argmin(totm)]))
        sen = float(b_se[int(n)]) if b_se is not None and int(n) in b_se else h / 2
        row.update({"mu_topk": mu_n, "mu_topk_se": se_n, "mu_topk_lower": lo_n,
                    "mu_topk_nmax": mu_m, "mu_topk_nmax_lower": lo_m,
                    "D_n": float(np.max(np.abs(tn - tm))),
                    "total_gap": float(np.max(np.abs(totn - totm))),
                    "eps_flat": eps_flat, "b_n": bn, "b_n_se": sen,
                    "flat_ok": bool(eps_flat <= bn + 2 * sen)})
        rows.append(row)
    pw = pd.DataFrame(rows)
    reasons = []
    have = pw["D_n"].notna() if "D_n" in pw else pd.Series(False, index=pw.index)
    if not all(not k.failed for k in khat.values()):
        reasons.append("Algorithm 1 failed at widths " +
                       ", ".join(str(n) for n, k in khat.items() if k.failed))
    if set(sel) & set(test):
        reasons.append("one seed: kappa_hat is chosen and tested on the same seed")
    sub = pw[have]
    convexity = bool(len(sub) > 0 and np.all(sub["mu_topk_lower"] > 0)
                     and np.all(sub["mu_topk_nmax_lower"] > 0))
    fit = (loglog_slope(sub["width"].to_numpy(float), sub["D_n"].to_numpy(float))
           if len(sub) else None)
    if fit is not None and float(fit.df) >= 1:
        gamma = (-float(fit.slope), -float(fit.hi), -float(fit.lo))
    else:
        gamma = (math.nan, math.nan, math.nan)
        reasons.append("fewer than 3 widths with a kappa_hat below n_max: no rate for D_n")
    if alpha is not None and np.isfinite(alpha):
        a_src = "the loss law (analyze_sweep)"
    else:
        gfit = loglog_slope(sub["width"].to_numpy(float), sub["total_gap"].to_numpy(float)) \
            if len(sub) else None
        alpha = -float(gfit.slope) if gfit is not None and float(gfit.df) >= 0 else math.nan
        a_src = "log-log slope of sup |phi_n - phi_nmax| (no loss law given)"
    invariance = bool(np.isfinite(gamma[1]) and np.isfinite(alpha) and gamma[1] > alpha)
    flatness = bool(len(sub) > 0 and np.all(sub["flat_ok"]))
    rules = {
        "convexity": "quadratic curvature of phi_n^kappa and phi_nmax^kappa on "
                     f"{2 * window + 1} points around their argmin: mu - t_(df,0.95) SE > 0 "
                     "at every n < n_max (test seeds)",
        "invariance": "D_n = sup_nu |phi_n^kappa - phi_nmax^kappa| ~ n^-gamma: the 95% "
                      "interval of gamma lies above the loss exponent alpha",
        "flatness": "eps_flat(n) = Lip(phi_n^-kappa)/mu_n + Lip(phi_nmax^-kappa)/mu_nmax "
                    "(fit window around the optimum, HP units) <= b_n + 2 SE(nu*(n))",
    }
    return Hypothesis1(kappa_hat=khat, selection_seeds=tuple(sel), test_seeds=tuple(test),
                       per_width=pw, convexity=convexity, invariance=invariance,
                       flatness=flatness, gamma=gamma, alpha=float(alpha), alpha_source=a_src,
                       rate=rate_bound(P, khat, b=b, window=window),
                       settings=settings.describe(h), reasons=tuple(reasons), rules=rules)


def kappa_summary(profile, final) -> dict:
    """Algorithm 1 as published on all seeds' means, as the top-k check and figures read
    it: ``kappa_hat`` {width: per-learning-rate list over ``kappa_hat_hp`` [width], or None
    for Fail}, the accepted ``tau`` pairs, the ``algorithm1`` constants, ``kappa`` (one k
    for the fixed-k figures: the median of all kappa_hat entries, K_max when Algorithm 1
    fails everywhere; ``fail_reason`` says how close its gates came), ``conv_err_total``
    (ConvErr of each width's total, finite cells), ``rank_bounded`` (residual at K_max
    identically zero) and the decomposition rate table ``rate`` (t_n, its k,
    J(kappa_hat), b_n from the grid argmins). ``profile``/``final``: the top-k study's
    frames."""
    import numpy as np

    P = profiles(profile, final)
    settings = Algorithm1Settings()
    khat = algorithm1(P, settings)
    found = [k for kh in khat.values() if not kh.failed for k in kh.kappa]
    kappa = int(np.round(np.median(found))) if found else int(P.ks[-1])
    rate = rate_bound(P, khat)
    num = lambda x: float(x) if np.isfinite(x) else None  # noqa: E731
    return {
        "kappa": kappa,
        "kappa_rule": "median of all kappa_hat entries" if found else "K_max (Algorithm 1 failed)",
        "kappa_hat": {str(n): None if kh.failed else list(kh.kappa) for n, kh in khat.items()},
        "kappa_hat_hp": {str(n): list(kh.hp) for n, kh in khat.items()},
        "tau": {str(n): None if kh.failed else list(kh.tau) for n, kh in khat.items()},
        "fail_reason": {str(n): kh.reason for n, kh in khat.items() if kh.failed},
        "conv_err_total": {str(int(n)): float(conv_err(P.hp[np.isfinite(t)], t[np.isfinite(t)]))
                           for n, t in zip(P.widths, P.total)},
        "algorithm1": settings.describe(grid_step(P.hp)),
        "rank_bounded": rank_bounded(P),
        "k_max": int(P.ks[-1]),
        "rate": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in rate.to_dict("records")],
    }

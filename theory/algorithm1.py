"""Algorithm 1 (the published kappa_hat(n)), the paper's decomposition rate J(kappa) and
its bound t_n >= b_n (the paper's Appendices B.5 and C). Numpy/pandas on the final profiles
of the top-k study (:func:`simulations.topk_training.tidy_results`: ``profile`` rows width,
hp, seed, k, topk, residual; ``final`` rows width, hp, seed, loss).

Notation. hp = log nu on a grid nu_1..nu_g; phi_n(nu) the final loss (at the EMA point),
phi_n^k(nu) its top-k part, phi_n^-k = phi_n - phi_n^k the residual; a truncation vector
kappa = (kappa_1..kappa_g) takes phi_n^{kappa_i}(nu_i) at grid point i. n_max, the widest
width, is the infinite-width proxy (as in the paper). Functions on the grid are linearly
interpolated in hp (slopes and curvatures are per unit of log nu, the coordinate our
sweeps and the rate analysis use; the paper does not name its own):
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

The Hypothesis 1 statistics built on these: :mod:`theory.hypothesis1`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Algorithm1Settings",
    "KappaHat",
    "Profiles",
    "algorithm1",
    "conv_err",
    "curvature3",
    "decomposition_rate",
    "finite_columns",
    "grid_step",
    "j_proxy",
    "kappa_summary",
    "lip",
    "minimize_proxy",
    "profiles",
    "rank_bounded",
    "rate_bound",
    "take_kappa",
]


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
    mean = lambda s: s.mean() if np.all(np.isfinite(s)) else np.nan
    p = profile.groupby(["width", "hp", "k"])[["topk", "residual"]].agg(mean)
    p = p.reindex(pd.MultiIndex.from_product([widths, hp, ks]))
    f = final.groupby(["width", "hp"])["loss"].agg(mean)
    tot = f.reindex(pd.MultiIndex.from_product([widths, hp])).to_numpy()
    shape = (len(widths), len(hp), len(ks))
    return Profiles(
        hp=hp.astype(float),
        widths=widths,
        ks=ks,
        total=tot.reshape(shape[:2]).astype(float),
        topk=p["topk"].to_numpy(float).reshape(shape),
        residual=p["residual"].to_numpy(float).reshape(shape),
    )


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


def take_kappa(arr: np.ndarray, kappa: np.ndarray) -> np.ndarray:
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
        return {
            "tau_candidates_grid_steps": list(self.tau_steps),
            "tau_candidates_hp": [t * h for t in self.tau_steps],
            "eps_cvx": self.eps_cvx,
            "eps_amin_grid_steps": self.eps_amin_steps,
            "eps_amin_hp": self.eps_amin_steps * h,
            "grid_step_hp": h,
        }


def j_proxy(kappa, hp, top_n, top_m, res_n, res_m, tau) -> float:
    """J_proxy(kappa; tau) for kappa (H,) ints; top_*/res_* (H, K+1) (width n, n_max)."""
    kappa = np.asarray(kappa)
    inv = np.mean(np.abs(take_kappa(top_n, kappa) - take_kappa(top_m, kappa)))
    return float(
        inv
        + tau[0] * lip(hp, take_kappa(res_n, kappa))
        + tau[1] * lip(hp, take_kappa(res_m, kappa))
    )


def minimize_proxy(
    hp, top_n, top_m, res_n, res_m, tau, start: int, max_sweeps: int = 1000
) -> np.ndarray:
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


def finite_columns(P: Profiles, wi: int) -> np.ndarray:
    """Grid columns where width wi and n_max are finite in total, top-k and residual."""
    ok = np.ones(len(P.hp), bool)
    for j in (wi, len(P.widths) - 1):
        ok &= (
            np.isfinite(P.total[j])
            & np.all(np.isfinite(P.topk[j]), -1)
            & np.all(np.isfinite(P.residual[j]), -1)
        )
    return ok


def grid_step(hp: np.ndarray) -> float:
    return float(np.median(np.diff(hp)))


def algorithm1(
    P: Profiles, settings: Algorithm1Settings = Algorithm1Settings()
) -> dict[int, KappaHat]:
    """kappa_hat(n) for every width n < n_max (module docstring). Diverged grid columns
    (non-finite at n or n_max) are left out; fewer than 3 columns left: Fail."""
    h = grid_step(P.hp)
    eps_amin = settings.eps_amin_steps * h
    pairs = settings.tau_pairs(h)
    out = {}
    m = len(P.widths) - 1
    for wi, n in enumerate(P.widths[:-1]):
        cols = finite_columns(P, wi)
        hp = P.hp[cols]
        if len(hp) < 3:
            out[int(n)] = KappaHat(
                int(n), tuple(hp), None, None, 0, "fewer than 3 finite grid points"
            )
            continue
        tn, tm = P.topk[wi][cols], P.topk[m][cols]
        rn, rm = P.residual[wi][cols], P.residual[m][cols]
        am_n, am_m = hp[np.argmin(P.total[wi][cols])], hp[np.argmin(P.total[m][cols])]
        found, best_cvx, best_amin = None, math.inf, math.inf
        for t, tau in enumerate(pairs, start=1):
            kappa = minimize_proxy(hp, tn, tm, rn, rm, tau, start=int(n) // 2)
            fn, fm = take_kappa(tn, kappa), take_kappa(tm, kappa)
            cvx = max(conv_err(hp, fn), conv_err(hp, fm))
            amin = max(abs(hp[np.argmin(fn)] - am_n), abs(hp[np.argmin(fm)] - am_m))
            best_cvx, best_amin = min(best_cvx, cvx), min(best_amin, amin)
            if cvx <= settings.eps_cvx and amin <= eps_amin + 1e-12:
                found = KappaHat(
                    int(n),
                    tuple(float(x) for x in hp),
                    tuple(int(k) for k in kappa),
                    (float(tau[0]), float(tau[1])),
                    t,
                )
                break
        # on Fail, say how close the gates came (over all pairs, each gate on its own)
        out[int(n)] = found or KappaHat(
            int(n),
            tuple(float(x) for x in hp),
            None,
            None,
            len(pairs),
            f"no tau pair passes both gates (best of each gate on its own over the "
            f"{len(pairs)} pairs: ConvErr {best_cvx:.2f} vs eps_cvx {settings.eps_cvx:g}, "
            f"argmin gap {best_amin / h:.2f} vs {settings.eps_amin_steps:g} grid steps)",
        )
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
    cols = finite_columns(P, wi)
    r = _region(P, wi, cols, window)
    hp = P.hp[cols][r]
    kv = np.full(len(P.hp[cols]), int(kappa)) if np.ndim(kappa) == 0 else np.asarray(kappa)
    kv = kv[r]
    tn, tm = take_kappa(P.topk[wi][cols][r], kv), take_kappa(P.topk[-1][cols][r], kv)
    rn, rm = take_kappa(P.residual[wi][cols][r], kv), take_kappa(P.residual[-1][cols][r], kv)
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
    return {
        "eps_inv": eps_inv,
        "eps_flat": eps_flat,
        "J": J,
        "mu_topk": float(mu_tk),
        "mu_total": float(min(mu_n, mu_m)),
        "region_hp": (float(hp[0]), float(hp[-1])),
    }


def rate_bound(
    P: Profiles, khat: dict[int, KappaHat] | None = None, *, b: dict | None = None, window: int = 2
) -> pd.DataFrame:
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
            kv = np.array([kh.at(x) for x in P.hp[finite_columns(P, wi)]])
            if np.all(np.isfinite(kv)):  # kappa_hat defined on every column used here
                J_kh = decomposition_rate(P, wi, kv.astype(int), window=window)["J"]
        if b is not None and int(n) in b:
            bn = float(b[int(n)])
        else:
            cols = finite_columns(P, wi)
            x = P.hp[cols]
            bn = abs(x[np.argmin(P.total[wi][cols])] - x[np.argmin(P.total[-1][cols])])
        rows.append(
            {
                "width": int(n),
                "t_n": t_n,
                "k_at_t_n": int(P.ks[j]) if np.isfinite(t_n) else -1,
                "J_kappa_hat": J_kh,
                "b_n": bn,
                # undefined (None) when no k has positive curvatures (t_n = inf)
                "bound_holds": bool(t_n >= bn) if np.isfinite(t_n) else None,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------- rank bound
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
    num = lambda x: float(x) if np.isfinite(x) else None
    return {
        "kappa": kappa,
        "kappa_rule": "median of all kappa_hat entries" if found else "K_max (Algorithm 1 failed)",
        "kappa_hat": {str(n): None if kh.failed else list(kh.kappa) for n, kh in khat.items()},
        "kappa_hat_hp": {str(n): list(kh.hp) for n, kh in khat.items()},
        "tau": {str(n): None if kh.failed else list(kh.tau) for n, kh in khat.items()},
        "fail_reason": {str(n): kh.reason for n, kh in khat.items() if kh.failed},
        "conv_err_total": {
            str(int(n)): float(conv_err(P.hp[np.isfinite(t)], t[np.isfinite(t)]))
            for n, t in zip(P.widths, P.total, strict=False)
        },
        "algorithm1": settings.describe(grid_step(P.hp)),
        "rank_bounded": rank_bounded(P),
        "k_max": int(P.ks[-1]),
        "rate": [
            {k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
            for r in rate.to_dict("records")
        ],
    }

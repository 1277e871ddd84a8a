"""Constructed top-k profiles with known Algorithm 1 / Hypothesis 1 answers (shared by
tests/test_hypothesis1.py and tests/test_check_topk.py)."""

import numpy as np
import pandas as pd

HP = np.linspace(-2.0, 2.0, 9)  # grid step h = 0.5
WIDTHS = (64, 128, 256, 512, 2**20)
K = 12


def frames(
    k0,
    *,
    seeds=(0,),
    e=lambda n: 1.0 / n,
    shift=lambda n: 0.0,
    s=0.5,
    top_override=None,
    seed_extra=None,
    curv=1.0,
    res_shift=lambda n: 0.0,
):
    """Profiles obeying phi^k + phi^-k = phi for every k, with a known kappa_hat.

    Total T_n(nu) = curv hp^2 + shift(n) + res_shift(n). At grid point i the split is
        residual^k = (k0_i - k)_+ s g(hp) - (k - k0_i)_+ (e(n) - e(n_max)) + res_shift(n),
        g = 1 + hp^2,
        top^k      = T_n - residual^k,
    so |top_n^k - top_nmax^k| = |shift(n) - shift(nmax)| + (k - k0_i)_+ (e(n) - e(nmax)):
    flat in k up to k0_i, then growing; the residual's slope grows as k falls below k0_i.
    J_proxy(.; tau) is minimised exactly at kappa = k0 for any tau with tau_2 > 0; with
    tau = (0, 0) MinimizeProxy goes to kappa = 0, where top^0 = (curv - k0 s) hp^2 is
    concave (k0 s > curv) and the convexity gate rejects it. res_shift(n), flat in nu,
    adds a width-dependent loss gap that lives in the residual only.
    seed_extra(seed, hp) -> (added to the residual, added to the top part) per seed."""
    k0 = np.broadcast_to(np.asarray(k0), HP.shape)
    nmax = WIDTHS[-1]
    rows, frows = [], []
    for seed in seeds:
        for n in WIDTHS:
            for i, x in enumerate(HP):
                T = curv * x**2 + shift(n) + res_shift(n)
                xr, xt = seed_extra(seed, x) if seed_extra else (0.0, 0.0)
                for k in range(K + 1):
                    res = (
                        max(k0[i] - k, 0) * s * (1 + x**2)
                        + res_shift(n)
                        - max(k - k0[i], 0) * (e(n) - e(nmax))
                    )
                    top = T - res if top_override is None else top_override(n, x, k)
                    rows.append(
                        {
                            "width": n,
                            "hp": x,
                            "seed": seed,
                            "k": k,
                            "topk": top + xt,
                            "residual": res + xr,
                        }
                    )
                # phi = phi^K + phi^-K (the last row written, k = K)
                frows.append(
                    {
                        "width": n,
                        "hp": x,
                        "seed": seed,
                        "loss": rows[-1]["topk"] + rows[-1]["residual"],
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(frows)

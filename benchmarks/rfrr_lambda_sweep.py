"""Benchmark: the whole ridge-penalty sweep of random-feature ridge regression from ONE
eigendecomposition per draw vs one linear solve per lambda (the paper's Theorem 3).

Same draw, same process: `ridge_sweep_risk` (eigh of the smaller Gram matrix, then every
lambda is a diagonal rescaling) against `ridge_per_lambda_risk` (form Z^T Z once, then
solve (Z^T Z + r I) a = Z^T y for each of the 50 ridges: the headline ratio) and against
the cheaper dual per-lambda solve (Z Z^T + r I) alpha = y, a = Z^T alpha (reported beside).
All return the test risk at every lambda;
their agreement is reported too. Timings are the best of `--repeats` runs
(the machine is shared, so the minimum is the least-disturbed measurement).

The LAST printed line is a JSON object {"speedup_vs_per_lambda_solve": x, ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import time

# Single-threaded BLAS for both methods: the ratio then measures the algorithmic work,
# not thread contention on a shared machine (set the variables to override).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv=None) -> int:
    import numpy as np  # after the thread settings above

    from fasttransfer.simulations.rfrr_montecarlo import (
        draw_problem,
        ridge_per_lambda_risk,
        ridge_sweep_risk,
    )

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="d=100 (seconds); default d=200")
    p.add_argument("--d", type=int, default=None)
    p.add_argument("--psi1", type=float, default=4.0)
    p.add_argument("--psi2", type=float, default=2.0)
    p.add_argument("--lambdas", type=int, default=50)
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args(argv)
    d = args.d or (100 if args.quick else 200)
    repeats = args.repeats or (3 if args.quick else 5)
    N, n = round(args.psi1 * d), round(args.psi2 * d)
    rng = np.random.default_rng(0)
    prob = draw_problem(rng, d, N, n, 1000, F1=1.0, Fs=0.5, tau=0.5)
    lams = np.geomspace(1e-4, 10.0, args.lambdas)
    ridges = n * N * lams / d  # penalty (N lam/d)||a||^2 times n

    def best_of(fn):
        times, out = [], None
        for _ in range(repeats):
            t = time.perf_counter()
            out = fn(prob["Z"], prob["y"], prob["Z_test"], prob["f_test"], ridges)
            times.append(time.perf_counter() - t)
        return min(times), out

    def per_lambda_dual(Z, y, Z_test, f_test, ridges):
        # the cheaper per-lambda route when n < N: (Z Z^T + r I) alpha = y, a = Z^T alpha
        K = Z @ Z.T
        eye = np.eye(K.shape[0])
        return np.array(
            [
                np.mean((f_test - Z_test @ (Z.T @ np.linalg.solve(K + r * eye, y))) ** 2)
                for r in ridges
            ]
        )

    t_sweep, r_sweep = best_of(ridge_sweep_risk)
    t_solve, r_solve = best_of(ridge_per_lambda_risk)
    t_dual, r_dual = best_of(per_lambda_dual)
    rel = float(
        max(
            np.max(np.abs(r_sweep - r_solve) / np.abs(r_solve)),
            np.max(np.abs(r_dual - r_solve) / np.abs(r_solve)),
        )
    )
    print(f"d={d} N={N} n={n} lambdas={len(lams)} repeats={repeats}")
    print(
        f"one eigendecomposition: {t_sweep * 1e3:.1f} ms; per-lambda solves: {t_solve * 1e3:.1f} ms "
        f"(primal N x N), {t_dual * 1e3:.1f} ms (dual n x n)"
    )
    print(f"max relative difference of the risks: {rel:.2e}")
    print(
        json.dumps(
            {
                "speedup_vs_per_lambda_solve": round(t_solve / t_sweep, 2),
                "speedup_vs_per_lambda_dual_solve": round(t_dual / t_sweep, 2),
                "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                "sweep_s": t_sweep,
                "per_lambda_s": t_solve,
                "d": d,
                "N": N,
                "n": n,
                "lambdas": len(lams),
                "max_rel_diff": rel,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the ReLU sweep engine (simulations.relu_engine.train_width) against a
straightforward sequential PyTorch CPU loop, and against the machine's limits.

What is compared (same model, data distribution, batch, steps, dtype float32, Adam,
final evaluation on a test set of the same size):

* JAX: ``train_width(config, width)`` trains every (learning rate, seed) configuration
  of one width at once (the engine: vmap over LRs and seeds in cache-sized groups,
  lax.scan over steps, shared batches within a seed, YNNPACK fusions off). Timed on its second call (compiled); the first call's
  time (compile + run) is printed too.
* torch: one configuration after another, ``torch.optim.Adam``, a fresh batch per step,
  ``torch.set_num_threads`` = the cores JAX uses, and also 1 thread: the faster of the
  two is the baseline (on a machine shared with other work, OpenMP threads that wait on
  each other can make 2 threads slower than 1). Timed on a few configurations (a
  sequential loop costs the same per configuration), after one warm-up configuration;
  JAX and torch rounds alternate so a burst of outside load hits both.

Throughput is in config-steps per second (configurations x steps / wall time, the
final evaluation included). Achieved GFLOP/s uses the model's FLOP count per config-step
(forward + backward GEMMs and element-wise work + Adam) and per evaluation; it is set
against the measured GEMM peak (float32 matmul at a large size, numpy and JAX) and a
memory-bandwidth (roofline) bound from a measured streaming bandwidth.

The environment may set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to work around old
OpenBLAS builds; a current numpy then runs a slower kernel. The GEMM-peak measurement
alone runs in a subprocess with both variables removed, and says which kernel it ran;
nothing else is changed.

    python benchmarks/relu_sweep.py --quick     # a couple of minutes on 2 cores

The LAST line printed is a JSON object {"speedup_vs_torch_loop": {...}, "gflops": {...},
"gemm_peak_gflops": p, ...}. torch is a benchmark-only dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WIDTHS = (256, 1024, 4096)
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ------------------------------------------------------------------------ machine limits

_PEAK_CODE = r"""
import ctypes, glob, json, os, sys, time
import numpy as np
n, reps = int(sys.argv[1]), int(sys.argv[2])
out = {}
try:  # which OpenBLAS kernel numpy runs (numpy's bundled scipy-openblas)
    libdir = os.path.dirname(np.__file__) + ".libs"
    lib = ctypes.CDLL(glob.glob(os.path.join(libdir, "libscipy_openblas*"))[0])
    fn = lib.scipy_openblas_get_corename64_
    fn.restype = ctypes.c_char_p
    out["openblas_core"] = fn().decode()
except Exception as err:  # another BLAS build: say so rather than guess
    out["openblas_core"] = f"unknown ({type(err).__name__})"
rng = np.random.default_rng(0)
for name, dt in (("f32", np.float32), ("f64", np.float64)):
    a = rng.standard_normal((n, n)).astype(dt)
    b = rng.standard_normal((n, n)).astype(dt)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
    out[f"numpy_{name}_gflops"] = 2 * n**3 / best / 1e9
# streaming bandwidth: c = a + b over arrays well beyond the last-level cache
m = int(sys.argv[3])
a = np.ones(m, np.float32); b = np.ones(m, np.float32); c = np.empty(m, np.float32)
np.add(a, b, out=c)
best = float("inf")
for _ in range(reps):
    t = time.perf_counter(); np.add(a, b, out=c); best = min(best, time.perf_counter() - t)
out["triad_bandwidth_gbs"] = 3 * a.nbytes / best / 1e9
print(json.dumps(out))
"""


def machine_limits(quick: bool) -> dict:
    """GEMM peak (numpy in a subprocess without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
    and JAX here), float32 and float64, and the streaming bandwidth."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_ENV}
    removed = [k for k in BLAS_ENV if k in os.environ]
    n = 2048 if quick else 4096
    m = 64 * 2**20 if quick else 128 * 2**20  # 256 MiB / 512 MiB per array
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_CODE, str(n), "3" if quick else "5", str(m)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["blas_env_removed_for_peak"] = removed
    out["gemm_size"] = n

    import jax
    import jax.numpy as jnp

    for name, dt in (("f32", jnp.float32), ("f64", jnp.float64)):
        if dt == jnp.float64 and not jax.config.jax_enable_x64:
            continue
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dt)
        f = jax.jit(lambda u, v: u @ v)
        f(a, a).block_until_ready()
        best = float("inf")
        for _ in range(3 if quick else 5):
            t = time.perf_counter()
            f(a, a).block_until_ready()
            best = min(best, time.perf_counter() - t)
        out[f"jax_{name}_gflops"] = 2 * n**3 / best / 1e9
    out["gemm_peak_gflops"] = max(out["numpy_f32_gflops"], out.get("jax_f32_gflops", 0.0))
    return out


# ------------------------------------------------------------------------- the FLOP model


def flops_per_config_step(width: int, batch: int, d: int) -> float:
    """Model FLOPs of one Adam step of one configuration.

    forward x W^T (2 B n d), bias + relu + a-contraction (~4 B n); backward: grad a
    (2 B n), relu mask and grad b (~3 B n), grad W = dpre^T x (2 B n d); Adam ~12 per
    parameter, P = n (d + 2).
    """
    B, n = batch, width
    return 4.0 * B * n * d + 9.0 * B * n + 12.0 * n * (d + 2)


def flops_eval(width: int, test_size: int, d: int) -> float:
    """Forward pass on the test set: 2 M n d + ~4 M n."""
    return test_size * width * (2.0 * d + 4.0)


def bytes_per_config_step(width: int, batch: int, d: int, itemsize: int = 4) -> float:
    """Least memory traffic of one step when the (B, n) pre-activation does not stay in
    cache: written in the forward pass, read in the backward pass (everything else
    fused); Adam reads p, g, m, v and writes p, m, v (7 per parameter)."""
    return itemsize * (2.0 * batch * width + 7.0 * width * (d + 2))


# ------------------------------------------------------------------------------- torch


def torch_loop(
    config,
    width: int,
    lrs,
    seeds,
    *,
    threads: int | None = None,
    device: str = "cpu",
    chunk_rows: int = 4096,
) -> tuple[float, list[float]]:
    """Train the configurations (lr, seed) of ``config`` (a ReluSweepConfig: task, loss,
    d, batch, steps, Adam, validation-set size) one after another with
    ``torch.optim.Adam`` on ``device``; returns (seconds, validation losses). The same
    model and data law as the engine, with torch's own random numbers (so the losses
    agree in distribution, not bit for bit). float32, TF32 off (full f32 products, as
    the engine's matmul_precision="float32")."""
    import torch

    from fasttransfer.simulations import mup

    if threads is not None:
        torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device(device)
    d, batch, steps = config.d, config.batch, config.steps
    task = config.task_spec()
    std = mup.init_std(
        width, d, config.param, input_std=task.input_std, base_width=config.base_width
    )
    m = mup.output_multiplier(width, config.param)
    mult = dict(mup.lr_multipliers(width, config.param, config.base_width))
    mult["a"] *= config.out_lr_factor
    radius2 = task.target_radius() ** 2 if config.task == "ball" else None

    def target(x):
        if config.task == "ball":
            return ((x * x).sum(1) > radius2).float()
        return torch.sqrt((d / (4.0 * config.k)) * (x[:, : config.k] ** 2).sum(1))

    def loss_of(out, y):
        if config.loss == "bce":
            return torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none")
        return (out - y) ** 2

    gt = torch.Generator(device=dev).manual_seed(2**31 - 1)
    x_test = torch.randn(config.test_size, d, generator=gt, device=dev) * task.input_std
    y_test = target(x_test)
    losses = []
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for seed in seeds:
        for lr in lrs:
            g = torch.Generator(device=dev).manual_seed(int(seed))
            W = (torch.randn(width, d, generator=g, device=dev) * std["W"]).requires_grad_()
            b = (torch.randn(width, generator=g, device=dev) * std["b"]).requires_grad_()
            a = (torch.randn(width, generator=g, device=dev) * std["a"]).requires_grad_()
            opt = torch.optim.Adam(
                [
                    {"params": [W], "lr": lr * mult["W"]},
                    {"params": [b], "lr": lr * mult["b"]},
                    {"params": [a], "lr": lr * mult["a"]},
                ],
                betas=(config.b1, config.b2),
                eps=config.eps,
            )
            for _ in range(steps):
                x = torch.randn(batch, d, generator=g, device=dev) * task.input_std
                out = m * (torch.relu(x @ W.T + b) @ a)
                loss = loss_of(out, target(x)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            with torch.no_grad():
                total = 0.0
                for i in range(0, config.test_size, chunk_rows):
                    xb, yb = x_test[i : i + chunk_rows], y_test[i : i + chunk_rows]
                    total += float(loss_of(m * (torch.relu(xb @ W.T + b) @ a), yb).sum())
                losses.append(total / config.test_size)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, losses


# -------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    p.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    p.add_argument("--lrs", type=int, default=None, help="learning rates per sweep")
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--test-size", type=int, default=None)
    p.add_argument(
        "--torch-configs",
        type=int,
        default=None,
        help="configurations timed in the torch loop (after one warm-up)",
    )
    p.add_argument(
        "--xla-flags",
        default=None,
        help="extra XLA_FLAGS for this run (set before JAX starts), e.g. "
        "--xla_cpu_experimental_ynn_fusion_type= to turn off YNNPACK fusions",
    )
    args = p.parse_args(argv)
    if args.xla_flags:
        if "jax" in sys.modules:
            raise SystemExit("--xla-flags must be given before JAX is imported")
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + args.xla_flags).strip()
    quick = args.quick
    widths = tuple(int(w) for w in args.widths.split(","))
    n_lrs = args.lrs or (8 if quick else 13)
    seeds = args.seeds or (2 if quick else 8)
    steps = args.steps or (40 if quick else 200)
    test_size = args.test_size or (4096 if quick else 16384)
    torch_configs = args.torch_configs or (2 if quick else 4)

    import jax

    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load_start = os.getloadavg()[0]
    print(
        f"jax {jax.__version__} devices={jax.devices()} threads={threads} "
        f"load average {load_start:.1f}"
    )
    if load_start > 0.5 * threads:
        print(
            f"WARNING: load average {load_start:.1f} on {threads} cores: other processes "
            "share the CPU, absolute numbers are low and noisy (both sides are measured "
            "alternately, so the ratios are less affected)"
        )
    limits = machine_limits(quick)
    removed = limits["blas_env_removed_for_peak"]
    print(
        f"GEMM peak (n={limits['gemm_size']}): numpy f32 {limits['numpy_f32_gflops']:.1f}, "
        f"f64 {limits['numpy_f64_gflops']:.1f} GFLOP/s (OpenBLAS kernel "
        f"{limits['openblas_core']}; {', '.join(removed) if removed else 'no OPENBLAS_* variable'}"
        f" {'unset for this measurement only' if removed else 'was set'}); "
        f"jax f32 {limits.get('jax_f32_gflops', float('nan')):.1f}"
        + (f", f64 {limits['jax_f64_gflops']:.1f}" if "jax_f64_gflops" in limits else "")
        + f" GFLOP/s; streaming bandwidth {limits['triad_bandwidth_gbs']:.1f} GB/s"
    )

    from fasttransfer.simulations import relu_config

    # the paper's regime (d = 64, BCE, the outside-ball label, batch 256, Adam), float32
    base = relu_config.ReluSweepConfig.from_preset("paper").replace(
        n_lrs=n_lrs,
        seeds=seeds,
        steps=steps,
        batch=args.batch,
        test_size=test_size,
        memory_mb=1024,
        seed_block=4,
    )
    d = base.d
    rows = {}
    for width in widths:
        cfg = base.replace(widths=(width,))
        lrs = cfg.lrs()
        n_cfg = n_lrs * seeds
        # torch: the timed configurations are spread over the LR grid; one warm-up first
        pick = lrs[np.linspace(0, n_lrs - 1, torch_configs).round().astype(int)]
        # alternate the two sides (JAX compile+run, torch warm-up, then timed rounds
        # JAX / torch), keeping the best of each: a burst of load from other processes
        # then hits both sides rather than one
        from fasttransfer.simulations.relu_engine import train_width

        t = time.perf_counter()
        jl = train_width(cfg, width).loss
        first = time.perf_counter() - t
        # the torch baseline runs with the matched thread count and with 1 thread, and the
        # faster counts (on a loaded machine, 2 OpenMP threads can be slower than 1): a
        # conservative baseline for the speed-up
        thread_counts = sorted({1, threads})
        for th in thread_counts:
            torch_loop(cfg.replace(steps=min(steps, 20)), width, lrs[:1], [0], threads=th)
        best = float("inf")
        tsec_by = {th: float("inf") for th in thread_counts}
        for _ in range(1 if quick else 2):
            t = time.perf_counter()
            jl = train_width(cfg, width).loss
            best = min(best, time.perf_counter() - t)
            for th in thread_counts:
                sec, tl_th = torch_loop(cfg, width, pick, [0], threads=th)
                if sec < tsec_by[th]:
                    tsec_by[th] = sec
                    if th == threads:
                        tl = tl_th
        if threads not in tsec_by:
            tl = tl_th
        best_th = min(tsec_by, key=tsec_by.get)
        tsec = tsec_by[threads]  # the baseline: threads matched to JAX
        jax_tp = n_cfg * steps / best
        torch_tp = torch_configs * steps / tsec
        fl_step = flops_per_config_step(width, args.batch, d)
        fl_total = n_cfg * (steps * fl_step + flops_eval(width, test_size, d))
        jax_gflops = fl_total / best / 1e9
        torch_gflops = (
            torch_configs * (steps * fl_step + flops_eval(width, test_size, d)) / tsec / 1e9
        )
        intensity = fl_step / bytes_per_config_step(width, args.batch, d)
        bw_bound = intensity * limits["triad_bandwidth_gbs"]
        rows[width] = dict(
            jax_config_steps_per_s=jax_tp,
            torch_config_steps_per_s=torch_tp,
            speedup=jax_tp / torch_tp,
            jax_gflops=jax_gflops,
            torch_gflops=torch_gflops,
            jax_first_call_s=first,
            jax_steady_s=best,
            torch_s_per_config=tsec / torch_configs,
            intensity_flop_per_byte=intensity,
            bandwidth_bound_gflops=bw_bound,
            torch_best_threads=best_th,
            gemm_fraction=jax_gflops / limits["gemm_peak_gflops"],
            speedup_vs_best_torch=jax_tp / (torch_configs * steps / tsec_by[best_th]),
            torch_config_steps_per_s_by_threads={
                str(th): torch_configs * steps / v for th, v in tsec_by.items()
            },
            jax_median_loss=float(np.nanmedian(jl[np.isin(lrs, pick)])),
            torch_median_loss=float(np.nanmedian(tl)),
        )
        r = rows[width]
        print(
            f"n={width:5d}: jax {jax_tp:10.0f} cfg-steps/s ({n_cfg} configs, "
            f"{best:.2f} s; first call {first:.2f} s)  torch {torch_tp:8.0f} cfg-steps/s "
            f"({tsec / torch_configs:.2f} s/config at {threads} thread(s); "
            + ", ".join(
                f"{th} thr {v:.0f}" for th, v in r["torch_config_steps_per_s_by_threads"].items()
            )
            + f")  speedup {r['speedup']:.2f}x (vs best torch {r['speedup_vs_best_torch']:.2f}x)  "
            f"GFLOP/s jax {jax_gflops:.1f} torch {torch_gflops:.1f} "
            f"(peak {limits['gemm_peak_gflops']:.0f}: {100 * r['gemm_fraction']:.0f}%, "
            f"bandwidth bound {bw_bound:.0f})  "
            f"median validation loss jax {r['jax_median_loss']:.4f} torch {r['torch_median_loss']:.4f}",
            flush=True,
        )

    result = {
        "speedup_vs_torch_loop": {str(w): round(r["speedup"], 3) for w, r in rows.items()},
        "speedup_vs_best_torch": {
            str(w): round(r["speedup_vs_best_torch"], 3) for w, r in rows.items()
        },
        "gflops": {str(w): round(r["jax_gflops"], 2) for w, r in rows.items()},
        "gemm_fraction": {str(w): round(r["gemm_fraction"], 3) for w, r in rows.items()},
        "torch_gflops": {str(w): round(r["torch_gflops"], 2) for w, r in rows.items()},
        "config_steps_per_s": {
            str(w): {
                "jax": round(r["jax_config_steps_per_s"], 1),
                "torch": round(r["torch_config_steps_per_s"], 1),
                "torch_by_threads": {
                    k: round(v, 1) for k, v in r["torch_config_steps_per_s_by_threads"].items()
                },
            }
            for w, r in rows.items()
        },
        "bandwidth_bound_gflops": {
            str(w): round(r["bandwidth_bound_gflops"], 1) for w, r in rows.items()
        },
        "gemm_peak_gflops": round(limits["gemm_peak_gflops"], 1),
        "gemm": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in limits.items()},
        "load_average": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "setup": {
            "lrs": n_lrs,
            "seeds": seeds,
            "steps": steps,
            "batch": args.batch,
            "d": d,
            "test_size": test_size,
            "dtype": "float32",
            "threads": threads,
            "torch_configs_timed": torch_configs,
            "quick": quick,
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the top-k machinery (the paper's Section 4.1).

1. Alignment spectra: the exact 2r x 2r reduction (simulations.alignment) against a dense
   eigendecomposition of the n x n matrix S (numpy.linalg.eigh, what one would write
   first), float64, for a 32 x 3072 layer (reduction: QR of a 3072 x 64 matrix and a
   64 x 64 eigenproblem) and a 512 x 512 layer (2m >= n: no reduction is possible, our
   path is a dense eigenvalues-only LAPACK ?syevr, so the ratio there is values-only vs
   eigh with vectors).
2. Recorder overhead against a plain training step (K_max = 64, recording every step:
   tau = 1, our target "<= 3x"), both compiled and timed after a warm-up call,
   alternately, best of N (2 cores shared with other jobs: the least-disturbed run); the
   plain step is the setting's own, one learning rate and one seed vmapped as in a study
   lane (``topk_training.sweep_fn``).
   Headline (``recorder_overhead_every_step``): the paper's decomposition setting, the muP
   Llama-style transformer (``simulations.transformer``), at its gpu preset's shapes
   (batch 32 x context 128 tokens, the evaluation gradient on n_eval = 32 held-out
   sequences, Adam) and its narrowest width 128, remat off (the cheaper plain step, so the
   stricter ratio).
   The MNIST-1D muP MLP (``simulations.mlp_mnist1d``), whose ratio is bounded below by its
   FLOPs: its quick preset at width 256 (batch 32, but the evaluation gradient on
   n_eval = 256 examples: 7.6 plain steps of FLOPs before any spectrum, so no exact
   recorder meets 3x there), the same on the default schedule (tau = 2 -> 10 over 2000
   steps; in a run of a few hundred steps tau is still 2..3), its cpu preset at its widest
   width (the configuration of its decisive transfer study), the quick preset with the
   batch raised to n_eval (a plain step as large as the evaluation gradient), and the cpu
   preset's shapes with as many lanes vmapped together as its learning-rate grid has
   points (a study's lane batch: the per-record fixed costs, a host callback among them,
   are shared).
3. Where the time of an every-step record goes, next to its FLOP count, for the
   transformer and the MLP quick preset (measured: the plain lane, + the EMA update, + the
   recorder with its spectra switched off (evaluation value-and-gradient at the EMA
   point, dW, <G, dW>), + the device part of the spectra and the host callback with a
   no-op on the host, + the host LAPACK (the full recorder); each part timed in turn
   within each repetition; and the host LAPACK per layer shape, standalone). FLOPs: the
   plain step and the evaluation gradient by the setting's own count (transformer:
   ``transformer.step_flops``, matmuls; MLP: ~6 batch P + ~10 P for Adam, ~6 n_eval P),
   the EMA update 3P, the spectra by ``alignment.spectrum_flops``. Their sum over the
   plain step's is the FLOP floor: the overhead of a recorder that ran every part at the
   plain step's FLOP rate.

Threads: OPENBLAS_NUM_THREADS=1 (set here unless given): OpenBLAS's spinning workers on a
shared 2-core machine made the same call vary 10-30x. OPENBLAS_CORETYPE is left as the
environment has it (it is printed).

4. The sample-wise decomposition (:mod:`simulations.samplewise`, the paper's Section 4.2.3)
   of one SGD-MLP run at its study's cpu preset (width 128): the plain run, the EMA path
   it reads and the decomposition, beside the ratio of their counted FLOPs
   (:func:`samplewise_flops`, an upper count).

``python benchmarks/alignment.py [--quick] [--only samplewise]`` (--quick: about 5
minutes here); the LAST line printed is a JSON object {"samplewise": {...},
"speedup_vs_dense_eigh": {...},
"recorder_overhead_every_step": the transformer's ratio, "..._floor": its FLOP floor,
"plain_step_gflops" and "gemm_peak_gflops_f32": its plain step's FLOP rate and XLA's
measured float32 GEMM rate,
"recorder_overhead_every_step_by_setting": {every line above}, "flop_floor_by_setting":
{...}, "recorder_overhead": the MLP quick preset on the default schedule, "record_every":
that schedule, "plain_step": the headline's configuration, "breakdown_ms_per_step":
{"transformer": {...}, "mlp_quick": {...}}}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

K_MAX = 64


def _best_of(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)  # the least-disturbed run on a shared machine


def bench_spectra(m: int, n: int, reps: int) -> dict:
    from fasttransfer.simulations.alignment import alignment_eigenvalues

    rng = np.random.default_rng(0)
    G, dW = rng.normal(size=(m, n)), rng.normal(size=(m, n))

    def dense():
        A = G.T @ dW
        return np.linalg.eigh((A + A.T) / 2)

    ours = _best_of(lambda: alignment_eigenvalues(G, dW), reps)
    ref = _best_of(dense, max(1, reps // 2) if n > 2000 else reps)
    lam = np.sort(alignment_eigenvalues(G, dW))
    dense_lam = np.sort(dense()[0])
    full = np.sort(np.concatenate([lam, np.zeros(n - len(lam))]))
    return {
        "ours_s": ours,
        "dense_eigh_s": ref,
        "speedup": ref / ours,
        "max_abs_diff": float(np.max(np.abs(full - dense_lam))),
    }


def _block(x):
    import jax

    return jax.block_until_ready(x)


def bench_recorder(prob, steps: int, every, reps: int, lanes: int = 1, lr: float = 1e-2) -> dict:
    """ms per step of the plain lanes and of the recorded lanes of ``prob`` (a
    topk_training.Problem; K_max = 64, the default decomposition with interval ``every``),
    timed alternately (the same load for both). ``lanes`` seeds are vmapped together as in
    a study (one host callback per record serves them all)."""
    import jax.numpy as jnp

    from fasttransfer.simulations.recorder import RecorderConfig
    from fasttransfer.simulations.topk_training import sweep_fn

    fns = {
        "plain": sweep_fn(prob, steps=steps, config=None),
        "recorded": sweep_fn(prob, steps=steps, config=RecorderConfig(k_max=K_MAX, every=every)),
    }
    lrs, seeds = jnp.asarray([lr]), jnp.arange(lanes, dtype=jnp.int32)
    for fn in fns.values():
        _block(fn(lrs, seeds))  # compile
    best = {k: np.inf for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            best[k] = min(best[k], _best_of(lambda fn=fn: _block(fn(lrs, seeds)), 1))
    return {
        "plain_step_ms": 1e3 * best["plain"] / steps,
        "recorded_step_ms": 1e3 * best["recorded"] / steps,
        "overhead": best["recorded"] / best["plain"],
    }


@contextlib.contextmanager
def _patched(obj, name: str, value):
    """Temporarily replace obj.name (a stage of the breakdown switches one part off)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _ema_only(prob, steps: int):
    """Plain steps plus the recorder's EMA update (warm-up decay), as a study lane
    (``topk_training.train_with_ema``). Not ``sweep_fn(records=False)``: that one ends
    with two evaluation losses (about 8% of a 100-step lane here), which would be booked
    to the EMA; this lane ends with a sum."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations.recorder import RecorderConfig, TrajectoryRecorder
    from fasttransfer.simulations.topk_training import train_with_ema

    rec = TrajectoryRecorder(prob.eval_loss, RecorderConfig(k_max=K_MAX, every=1))

    def lane(lr, seed):
        _, (st,) = train_with_ema(prob, lr, seed, steps=steps, recorders=(rec,))
        return sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(st.ema))

    return jax.jit(jax.vmap(jax.vmap(lane, in_axes=(None, 0)), in_axes=(0, None)))


def _layer_costs(prob, reps: int) -> list[dict]:
    """Per shape of decomposed layer (oriented m x n, S acting on n; ``count`` layers of
    it): the host time of one spectrum as the recorder computes it (numpy/LAPACK: the
    eigenvalues of the device-formed S for a dense layer, QR + eigenvalues for a reducible
    one) and its FLOPs on the device and on the host (alignment.spectrum_flops)."""
    import jax

    from fasttransfer.simulations import alignment as al

    params = prob.init(jax.random.PRNGKey(0))
    shapes: dict[tuple, list[str]] = {}
    for name, p in params.items():
        if p.ndim >= 2:  # vectors="full": only matrices are decomposed
            shapes.setdefault((tuple(sorted(p.shape)), np.dtype(p.dtype).name), []).append(name)
    rng = np.random.default_rng(0)
    rows = []
    for ((m, n), dtype), names in shapes.items():  # side="auto": S on the larger dimension
        G, dW = rng.normal(size=(2, m, n)).astype(dtype)
        device, host = al.spectrum_flops(m, n)
        if al._dense(m, n):
            how = f"eig {n}x{n} (S formed on device)"
            M = al._small_matrix(G, dW, np)
            t = _best_of(lambda M=M: al._eigvalsh(M, np), reps)
        else:
            how = f"QR {n}x{2 * m} + eig {2 * m}x{2 * m}"
            t = _best_of(lambda G=G, dW=dW: al._eigs_oriented(G, dW, np), reps)
        rows.append(
            {
                "layer": names[0] if len(names) == 1 else f"{names[0]} (x{len(names)})",
                "count": len(names),
                "m": m,
                "n": n,
                "how": how,
                "ms": 1e3 * t,
                "mflop": host / 1e6,
                "device_mflop": device / 1e6,
            }
        )
    return rows


def breakdown(
    prob, steps: int, reps: int, plain_flops: float, grad_flops: float, lr: float = 1e-2
) -> dict:
    """Every-step recording of ``prob``, part by part (ms per step, best of reps, the parts
    timed in turn within each repetition) and its FLOP counts: ``plain_flops`` of a plain
    step, ``grad_flops`` of the evaluation value-and-gradient (the setting's own counts),
    3P for the EMA update and the spectra's (alignment.spectrum_flops). "floor": the
    every-step overhead by FLOP count (what an implementation running every part at the
    plain step's FLOP rate would measure)."""
    import jax.numpy as jnp

    from fasttransfer.simulations import alignment as al
    from fasttransfer.simulations.recorder import RecorderConfig, TrajectoryRecorder
    from fasttransfer.simulations.topk_training import sweep_fn

    rc = RecorderConfig(k_max=K_MAX, every=1)

    def no_spectra(self, gs, ds):  # zeros that depend on G and dW (no dead code)
        tot = sum(jnp.vdot(g, d) for g, d in zip(gs, ds, strict=False))
        return (
            jnp.zeros((len(gs), self.config.k_max), tot.dtype) + tot,
            jnp.zeros((len(gs),), tot.dtype),
        )

    def host_noop(layout, k_max, flat):
        flat = np.asarray(flat)
        return np.zeros((*flat.shape[:-1], len(layout), k_max + 1), flat.dtype)

    fns = {
        "plain": sweep_fn(prob, steps=steps, config=None),
        "ema": _ema_only(prob, steps),
        "grad": sweep_fn(prob, steps=steps, config=rc),
        "callback": sweep_fn(prob, steps=steps, config=rc),
        "full": sweep_fn(prob, steps=steps, config=rc),
    }
    # a part switched off while its stage is traced (jit traces at the first call; the
    # patch is kept for every call, which is harmless once compiled)
    patches = {
        "grad": (TrajectoryRecorder, "_spectra", no_spectra),
        "callback": (al, "_host_spectra", host_noop),
    }

    def call(name):
        with _patched(*patches[name]) if name in patches else contextlib.nullcontext():
            return _block(fns[name](lrs, seeds))

    lrs, seeds = jnp.asarray([lr]), jnp.asarray([0], dtype=jnp.int32)
    for name in fns:
        call(name)  # compile
    best = {name: np.inf for name in fns}
    for _ in range(reps):  # interleaved: every part sees the same load
        for name in fns:
            best[name] = min(best[name], _best_of(lambda name=name: call(name), 1))
    mflop = flop_counts(prob, plain_flops, grad_flops)
    ms = {k: 1e3 * v / steps for k, v in best.items()}
    return {
        "params": _n_params(prob),
        "ms": ms,
        "layers": _layer_costs(prob, 5 * reps),
        "mflop": mflop,
        "overhead": ms["full"] / ms["plain"],
        "floor": flop_floor(mflop),
    }


def gemm_peak_gflops(n: int = 2048, reps: int = 5) -> float:
    """Measured float32 GEMM rate of XLA on this backend (an n x n by n x n product, best
    of reps): the hardware limit the plain step's FLOP rate is read against."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    _block(f(a))
    return 2 * n**3 / _best_of(lambda: _block(f(a)), reps) / 1e9


def _n_params(prob) -> int:
    import jax

    return sum(
        int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(prob.init(jax.random.PRNGKey(0)))
    )


def flop_counts(prob, plain_flops: float, grad_flops: float) -> dict:
    """MFLOP per step of every-step recording, part by part: the plain step and the
    evaluation value-and-gradient (the setting's own counts, given), the EMA update (3P)
    and the spectra of the matrix leaves (``alignment.spectrum_flops``, S on the larger
    dimension as side="auto" puts it): "callback" their device part, "full" their host
    part (the keys name the breakdown's stages)."""
    import jax

    from fasttransfer.simulations.alignment import spectrum_flops

    leaves = jax.tree_util.tree_leaves(prob.init(jax.random.PRNGKey(0)))
    spectra = [spectrum_flops(*sorted(p.shape)) for p in leaves if p.ndim >= 2]
    return {
        "plain": plain_flops / 1e6,
        "ema": 3 * sum(p.size for p in leaves) / 1e6,
        "grad": grad_flops / 1e6,
        "callback": sum(d for d, _ in spectra) / 1e6,
        "full": sum(h for _, h in spectra) / 1e6,
    }


def flop_floor(mflop: dict) -> float:
    """The every-step overhead by FLOP count: all parts over the plain step's."""
    return sum(mflop.values()) / mflop["plain"]


def _mlp_flops(prob, cfg) -> dict:
    # plain step ~ 6 batch P (forward + backward) + ~10 P (Adam); evaluation ~ 6 n_eval P
    P = _n_params(prob)
    return flop_counts(prob, 6 * cfg.batch * P + 10 * P, 6 * cfg.n_eval * P)


def _print_breakdown(b: dict) -> None:
    ms, fl = b["ms"], b["mflop"]
    plain = ms["plain"]
    host = sum(r["count"] * r["ms"] for r in b["layers"])
    rows = [
        ("plain step (train grad + Adam)", ms["plain"], fl["plain"]),
        ("+ EMA update (warm-up decay)", ms["ema"] - ms["plain"], fl["ema"]),
        ("+ eval value+grad at the EMA point", ms["grad"] - ms["ema"], fl["grad"]),
        ("+ S on device, 1 host callback", ms["callback"] - ms["grad"], fl["callback"]),
        ("+ host LAPACK (full recorder)", ms["full"] - ms["callback"], fl["full"]),
    ]
    total_fl = sum(f for _, _, f in rows)
    print(
        f"  every-step breakdown (P = {b['params']} parameters; ms per step, each part "
        f"added in turn; x = / plain step; MFLOP per step, x = / plain step's):"
    )
    for name, t, f in rows:
        print(
            f"    {name:36s} {t:9.3f} ms {t / plain:6.2f}x   {f:10.2f} MFLOP "
            f"({f / fl['plain']:5.2f}x)"
        )
    print(
        f"    {'= full recorder, every step':36s} {ms['full']:9.3f} ms {b['overhead']:6.2f}x"
        f"   {total_fl:10.2f} MFLOP ({b['floor']:5.2f}x: the FLOP floor)"
    )
    print(
        f"  host LAPACK per record by layer shape, standalone (numpy, 1 thread; all layers "
        f"{host:.3f} ms = {host / plain:.2f} plain steps):"
    )
    for r in b["layers"]:
        print(
            f"    {r['layer']:16s} {r['m']:5d} x {r['n']:<5d} {r['how']:32s} {r['ms']:8.3f} ms "
            f"{r['mflop']:8.2f} MFLOP each"
        )


def samplewise_flops(width: int, steps: int, batch: int, n_eval: int, intervals: int) -> dict:
    """Matmul MFLOPs of one SGD-MLP run (W0: n x 40, W1: 10 x n; a step = forward and
    backward, 6 batch P) and of its sample-wise decomposition: per record interval the
    per-sample gradients (6 n_eval P), each layer's eigenvectors (thin QR of the n x 2m
    stack, 4 n (2m)^2, and the 2m x 2m eigh, ~9 (2m)^3; m = 40 and 10 after orientation,
    both reduced for n > 80) and the projections u_j^T G_i^T dW u_j (2 P_eval m n r +
    2 m n r + 2 P_eval m r, r = min(n, 2m)). An upper count: backprop skips the first
    layer's input gradient that 6 P counts, and 9 r^3 is a generous eigh constant."""
    params = (40 + 10) * width
    plain = steps * 6.0 * batch * params
    per = 6.0 * n_eval * params
    for m in (40, 10):
        r = min(width, 2 * m)
        per += 4.0 * width * r * r + 9.0 * r**3
        per += 2.0 * n_eval * m * width * r + 2.0 * m * width * r + 2.0 * n_eval * m * r
    return {"plain": plain / 1e6, "samplewise": intervals * per / 1e6}


def bench_samplewise(reps: int) -> dict:
    """The sample-wise decomposition (simulations.samplewise) of one run of the SGD MLP
    at the sample-wise study's cpu preset, width 128, against the plain run: each
    compiled, timed after a warm-up, best of ``reps``."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations import samplewise as sw
    from fasttransfer.simulations.dtypes import jax_dtype
    from fasttransfer.simulations.mlp_mnist1d import data
    from fasttransfer.simulations.mlp_sgd import loss_fn, problem
    from fasttransfer.simulations.recorder import TrajectoryRecorder, record_times
    from fasttransfer.simulations.topk_training import ema_path, recorder_config, train

    cfg = sw.SamplewiseConfig.from_preset("cpu")
    setting, width = cfg.setting(), 128
    prob = problem(width, setting)
    rc = recorder_config(setting)
    rec = TrajectoryRecorder(prob.eval_loss, rc)
    _, (x, y) = data(setting, jax_dtype(setting.dtype))
    times = record_times(rc.every, setting.steps)
    lr = jnp.asarray(cfg.lr, jax_dtype(setting.dtype))
    plain = jax.jit(lambda lr: train(prob, lr, 0, steps=setting.steps))
    path_fn = jax.jit(lambda lr: ema_path(prob, lr, 0, steps=setting.steps, recorder=rec))
    psi_fn = jax.jit(
        lambda path: sw.sample_psi(
            lambda p, xi, yi: loss_fn(p, xi[None], yi[None]), path, times, x, y, side=rc.side
        )
    )
    path = _block(path_fn(lr))
    _block(plain(lr))
    _block(psi_fn(path))
    t_plain = _best_of(lambda: _block(plain(lr)), reps)
    t_path = _best_of(lambda: _block(path_fn(lr)), reps)
    t_psi = _best_of(lambda: _block(psi_fn(path)), reps)
    fl = samplewise_flops(width, setting.steps, setting.batch, len(x), len(times))
    return {
        "width": width,
        "steps": setting.steps,
        "batch": setting.batch,
        "n_eval": len(x),
        "intervals": len(times),
        "plain_run_ms": 1e3 * t_plain,
        "ema_path_ms": 1e3 * t_path,
        "samplewise_ms": 1e3 * t_psi,
        "overhead": (t_path + t_psi) / t_plain,
        "flop_ratio_counted": 1.0 + fl["samplewise"] / fl["plain"],
        "mflop": fl,
    }


def _samplewise_json(r: dict) -> dict:
    """:func:`bench_samplewise`'s result for the JSON line (floats to 4 decimals)."""
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}


def _print_samplewise(r: dict) -> None:
    print(
        f"sample-wise decomposition (SGD MLP, samplewise cpu preset, width {r['width']}, "
        f"{r['steps']} steps at batch {r['batch']}, {r['intervals']} record intervals x "
        f"{r['n_eval']} samples): plain run {r['plain_run_ms']:.1f} ms, EMA path "
        f"{r['ema_path_ms']:.1f} ms, decomposition {r['samplewise_ms']:.1f} ms: "
        f"{r['overhead']:.2f}x the plain run (FLOPs counted: {r['flop_ratio_counted']:.2f}x, "
        "an upper count)",
        flush=True,
    )


def bench_transformer(quick: bool, threads: str = "") -> dict:
    """The headline: the paper's decomposition setting (its top-k runs are transformers),
    at the gpu preset's shapes and its narrowest width, remat off (the cheaper plain
    step, so the stricter ratio): the every-step record part by part (:func:`breakdown`)
    beside its FLOP floor, and the plain step's FLOP rate against this backend's float32
    GEMM rate. On a GPU the spectra run on the device (XLA's eigh, eigenvectors
    included); on a CPU on the host (LAPACK). Returns {"breakdown", "gemm_peak_gflops",
    "plain_step_gflops", "config", "width", "steps", "device"}."""
    from dataclasses import replace

    import jax

    from fasttransfer.simulations import transformer

    tcfg = transformer.TransformerConfig.from_preset("gpu", remat=False)
    t_width, t_steps, t_reps = min(tcfg.widths), (4 if quick else 8), (2 if quick else 4)
    tcfg = replace(tcfg, steps=t_steps)
    tprob = transformer.problem(t_width, tcfg)
    device = f"{jax.devices()[0].platform}:{getattr(jax.devices()[0], 'device_kind', '?')}"
    print(
        f"recorder vs plain step: muP Llama-style transformer, the gpu preset's shapes "
        f"(width {t_width}, depth {tcfg.depth}, {tcfg.heads} heads, batch {tcfg.batch} x "
        f"context {tcfg.context} tokens, n_eval {tcfg.n_eval} sequences, {tcfg.dtype}, "
        f"Adam, remat off), K_max {K_MAX}, every step, {t_steps} steps, best of {t_reps}; "
        f"{device}; {threads}",
        flush=True,
    )
    bt = breakdown(
        tprob,
        t_steps,
        t_reps,
        transformer.step_flops(t_width, tcfg),
        transformer.step_flops(t_width, tcfg, tcfg.n_eval),
        lr=4e-3,
    )
    _print_breakdown(bt)
    peak = gemm_peak_gflops()
    rate = bt["mflop"]["plain"] / bt["ms"]["plain"]  # MFLOP/ms = GFLOP/s
    print(
        f"recorder every step (transformer): overhead {bt['overhead']:.2f}x (target <= 3x; "
        f"FLOP floor {bt['floor']:.2f}x); its plain step runs at {rate:.1f} GFLOP/s, "
        f"{rate / peak:.0%} of the measured float32 GEMM rate {peak:.1f} GFLOP/s (XLA, "
        f"2048^3)",
        flush=True,
    )
    return {
        "breakdown": bt,
        "gemm_peak_gflops": peak,
        "plain_step_gflops": rate,
        "config": tcfg,
        "width": t_width,
        "steps": t_steps,
        "device": device,
    }


def transformer_summary(tr: dict) -> dict:
    """The JSON of :func:`bench_transformer`: ratios, rates and ms per step by part."""
    bt, c = tr["breakdown"], tr["config"]
    return {
        "device": tr["device"],
        "recorder_overhead_every_step": round(bt["overhead"], 3),
        "recorder_overhead_every_step_floor": round(bt["floor"], 3),
        "plain_step_gflops": round(tr["plain_step_gflops"], 2),
        "gemm_peak_gflops_f32": round(tr["gemm_peak_gflops"], 2),
        "breakdown_ms_per_step": {k: round(v, 3) for k, v in bt["ms"].items()},
        "plain_step": {
            "setting": "transformer",
            "width": tr["width"],
            "batch": c.batch,
            "context": c.context,
            "n_eval": c.n_eval,
            "dtype": c.dtype,
            "remat": c.remat,
            "k_max": K_MAX,
            "steps": tr["steps"],
        },
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions, shorter runs")
    p.add_argument(
        "--only",
        choices=("samplewise", "transformer"),
        default=None,
        help="run one lane alone (its JSON is the last line)",
    )
    args = p.parse_args(argv)
    reps = 3 if args.quick else 7
    steps = 100 if args.quick else 400
    if args.only == "transformer":
        print(json.dumps(transformer_summary(bench_transformer(args.quick))))
        return 0
    if args.only == "samplewise":
        r = bench_samplewise(reps)
        _print_samplewise(r)
        print(json.dumps({"samplewise": _samplewise_json(r)}))
        return 0

    from dataclasses import replace

    from fasttransfer.simulations import mlp_mnist1d
    from fasttransfer.simulations.recorder import RecorderConfig

    out = {}
    for m, n in [(32, 3072), (512, 512)]:
        r = bench_spectra(m, n, reps=reps + 1)
        out[f"{m}x{n}"] = r
        print(
            f"spectra {m}x{n}: reduction {r['ours_s'] * 1e3:.2f} ms, dense eigh "
            f"{r['dense_eigh_s'] * 1e3:.2f} ms, speedup {r['speedup']:.1f}x, "
            f"max |diff| {r['max_abs_diff']:.2e}",
            flush=True,
        )
    threads = (
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )

    tr = bench_transformer(args.quick, threads)
    bt, t_width = tr["breakdown"], tr["width"]
    headline = transformer_summary(tr)

    cfg, width = mlp_mnist1d.MLPConfig(), 256
    schedule = RecorderConfig().every
    prob = mlp_mnist1d.problem(width, cfg)
    print(
        f"recorder vs plain step: MNIST-1D muP MLP (MLPConfig quick preset) width {width}, "
        f"depth {cfg.depth}, batch {cfg.batch}, n_eval {cfg.n_eval}, {cfg.dtype}, Adam, "
        f"K_max {K_MAX}, {steps} steps, best of {reps}; {threads}",
        flush=True,
    )
    fl = _mlp_flops(prob, cfg)
    b = breakdown(prob, steps, reps, 1e6 * fl["plain"], 1e6 * fl["grad"])
    _print_breakdown(b)
    print(
        f"recorder every step (MLP quick): overhead {b['overhead']:.2f}x (FLOP floor "
        f"{b['floor']:.2f}x: its evaluation gradient on n_eval = {cfg.n_eval // cfg.batch} "
        f"batches alone is {b['mflop']['grad'] / b['mflop']['plain']:.2f}x)",
        flush=True,
    )
    rec = bench_recorder(prob, steps, schedule, reps)
    print(
        f"recorder on the schedule {schedule} ({steps} steps: tau 2..3 here): plain "
        f"{rec['plain_step_ms']:.3f} ms/step, recorded {rec['recorded_step_ms']:.3f} ms/step, "
        f"overhead {rec['overhead']:.2f}x",
        flush=True,
    )
    cpu = mlp_mnist1d.MLPConfig.from_preset("cpu")
    big = replace(cfg, batch=cfg.n_eval)
    lanes = len(cpu.lrs)
    lines = {  # key: (description, configuration, width, lanes)
        f"mlp_cpu_w{max(cpu.widths)}": (
            f"MLPConfig cpu preset at its widest width {max(cpu.widths)} (batch {cpu.batch}, "
            f"n_eval {cpu.n_eval})",
            cpu,
            max(cpu.widths),
            1,
        ),
        f"mlp_quick_w{width}_batch_n_eval": (
            f"MLP quick preset with batch {big.batch} (= n_eval)",
            big,
            width,
            1,
        ),
        f"mlp_cpu_w{max(cpu.widths)}_{lanes}_lanes": (
            f"the MLP cpu preset's shapes with {lanes} lanes vmapped together (as a study "
            f"runs its learning-rate grid)",
            cpu,
            max(cpu.widths),
            lanes,
        ),
    }
    overheads = {
        f"transformer_gpu_shapes_w{t_width}": bt["overhead"],
        f"mlp_quick_w{width}": b["overhead"],
    }
    floors = {f"transformer_gpu_shapes_w{t_width}": bt["floor"], f"mlp_quick_w{width}": b["floor"]}
    for key, (what, c, w, k) in lines.items():
        pr = mlp_mnist1d.problem(w, c)
        r = bench_recorder(pr, steps, 1, reps, lanes=k)
        overheads[key], floors[key] = r["overhead"], flop_floor(_mlp_flops(pr, c))
        print(
            f"{what}: recorder every step: plain {r['plain_step_ms']:.3f} ms/step, recorded "
            f"{r['recorded_step_ms']:.3f} ms/step, overhead {r['overhead']:.2f}x (FLOP "
            f"floor {floors[key]:.2f}x)",
            flush=True,
        )
    sw = bench_samplewise(reps)
    _print_samplewise(sw)
    print(
        json.dumps(
            {
                "samplewise": _samplewise_json(sw),
                "speedup_vs_dense_eigh": {k: round(v["speedup"], 3) for k, v in out.items()},
                **{
                    k: headline[k]
                    for k in (
                        "recorder_overhead_every_step",
                        "recorder_overhead_every_step_floor",
                        "plain_step_gflops",
                        "gemm_peak_gflops_f32",
                        "plain_step",
                    )
                },
                "recorder_overhead_every_step_by_setting": {
                    k: round(v, 3) for k, v in overheads.items()
                },
                "flop_floor_by_setting": {k: round(v, 3) for k, v in floors.items()},
                "recorder_overhead": round(rec["overhead"], 3),
                "record_every": list(schedule),
                "breakdown_ms_per_step": {
                    "transformer": headline["breakdown_ms_per_step"],
                    "mlp_quick": {k: round(v, 4) for k, v in b["ms"].items()},
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

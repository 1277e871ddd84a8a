"""Spectra of the alignment matrix S(G, dW) (the paper's eq. (2)).

For one weight matrix W of shape (m, n) = (out, in), a gradient G of the evaluation loss
at the EMA point and an EMA update dW (both (m, n)), the alignment matrix is

    S(G, dW) = (G^T dW + dW^T G) / 2            (n x n, symmetric),

with tr S = <G, dW> (the linearised loss change of the layer). Its eigenvalues, sorted by
|lambda| descending, split that change: the top-k change is lambda_1 + ... + lambda_k, the
residual the rest.

Exact reduction (no dense n x n eigh when the rank is small). With U = [G^T, dW^T]
(n x 2m) and J = [[0, I_m], [I_m, 0]],

    S = U J U^T / 2.

A thin QR, U = Q R (Q: n x 2m orthonormal columns, R: 2m x 2m), gives
S = Q (R J R^T / 2) Q^T, so the non-zero eigenvalues of S are those of the 2m x 2m
symmetric matrix M = R J R^T / 2 = sym(R_1 R_2^T) (R_1, R_2 the two column halves of R);
the other n - 2m eigenvalues are exactly zero. This is exact for any U (rank-deficient
or zero included: Householder QR still gives U = Q R). When 2m >= n the reduction does
not pay and S itself (n x n) is diagonalised. Either way the answer has
r = min(n, 2m) eigenvalues (zeros beyond the rank may be omitted).

Conventions
-----------
* ``side="in"`` (default, the paper's eq. (2)): S acts on the input dimension, as above.
  ``side="out"``: S acts on the output dimension, S' = (G dW^T + dW G^T) / 2
  (the same construction on the transposes). ``side="auto"``: the larger of the two
  dimensions (ties: "in"); used by the trajectory recorder so that S lives in the
  dimension that grows with width (a first layer W: n x d with fixed d would otherwise
  give a d x d matrix with no width-dependent tail).
* A 1-D parameter (bias, readout vector) v in R^n is treated as the 1 x n matrix (a
  readout row): S = (g dv^T + dv g^T)/2 has rank <= 2 and eigenvalues
  (<g, dv> +- |g| |dv|) / 2.
* Ties in |lambda| are broken by lambda ascending (the loss-decreasing one first), so the
  order, hence every top-k sum, is deterministic.
* numpy inputs are computed with numpy/LAPACK in their own precision (float32 stays
  float32, float64 stays float64 whatever JAX's x64 flag; other dtypes become float64):
  the eigenvalues come from LAPACK's ?syevr without eigenvectors (MRRR after the
  Householder tridiagonalisation, 4/3 r^3 flops; faster here than numpy's eigvalsh, which
  is ?syevd). JAX arrays or tracers use jax.numpy (jit- and vmap-able; the branch is chosen
  from static shapes; XLA's CPU eigh also computes eigenvectors, so on CPU the recorder
  sends the work to the host, :func:`spectra_on_host`).
* A LAPACK failure to converge gives NaN eigenvalues (as JAX's eigh does), not an error.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from fasttransfer.errors import InputError

if TYPE_CHECKING:
    import jax

__all__ = [
    "alignment_eigenvalues",
    "alignment_eigenvalues_batched",
    "alignment_eigenvectors",
    "alignment_matrix",
    "eigenvalues_on_host",
    "oriented",
    "spectra_on_host",
    "spectrum_flops",
    "split_topk",
    "topk_change",
    "transposed",
]

_SIDES = ("in", "out", "auto")


def _backend(*arrays: Any):
    """numpy when every input is a numpy array / Python data, jax.numpy otherwise."""
    if all(isinstance(a, (np.ndarray, np.generic, list, tuple, float, int)) for a in arrays):
        return np
    import jax.numpy as jnp

    return jnp


def _as_matrices(G, dW, side: str, xp):
    """Validate shapes and return (G, dW) oriented so that S acts on their columns."""
    G = xp.asarray(G)
    dW = xp.asarray(dW)
    if side not in _SIDES:
        raise InputError(f"side must be one of {_SIDES}, got {side!r}")
    if G.shape != dW.shape:
        raise InputError(f"G and dW must have the same shape, got {G.shape} and {dW.shape}")
    if G.ndim == 1:
        G, dW = G[None, :], dW[None, :]
    elif G.ndim != 2:
        raise InputError(f"G and dW must be 1-D or 2-D, got ndim={G.ndim}")
    if G.shape[0] == 0 or G.shape[1] == 0:
        raise InputError(f"G and dW must be non-empty, got shape {G.shape}")
    m, n = G.shape  # 2-D by now
    if transposed(m, n, side):
        G, dW = G.T, dW.T
    return G, dW


def transposed(m: int, n: int, side: str) -> bool:
    """Whether a (m, n) leaf is turned (n, m) so that S acts on its last axis: ``side``
    "out", or "auto" with m > n (the larger dimension; ties: "in")."""
    return side == "out" or (side == "auto" and m > n)


def alignment_matrix(G, dW, *, side: str = "in"):
    """The dense alignment matrix S(G, dW) (n x n; for tests and small layers)."""
    xp = _backend(G, dW)
    G, dW = _as_matrices(G, dW, side, xp)
    A = G.T @ dW
    return (A + A.T) / 2


def _magnitude_order(lam, xp):
    # lam comes ascending from eigvalsh; a STABLE sort on -|lambda| keeps that order among
    # equal magnitudes, i.e. ties are broken by lambda ascending. Batched over leading axes.
    if xp is np:
        return np.argsort(-np.abs(lam), axis=-1, kind="stable")
    return xp.argsort(-xp.abs(lam), axis=-1, stable=True)


def _sort_by_magnitude(lam, xp):
    return xp.take_along_axis(lam, _magnitude_order(lam, xp), axis=-1)


def _closed_form(m: int, n: int) -> bool:
    """A 1 x n row (n > 1): rank <= 2, eigenvalues in closed form."""
    return m == 1 and n > 1


def _dense(m: int, n: int) -> bool:
    """2m >= n: the reduction does not pay, S itself (n x n) is diagonalised."""
    return 2 * m >= n and not _closed_form(m, n)


def _small_matrix(G, dW, xp):
    """The symmetric M (..., r, r), r = min(n, 2m), whose eigenvalues are the non-zero
    eigenvalues of S (the module docstring): S itself when 2m >= n, else the reduction
    sym(R_1 R_2^T) of the thin QR of [G^T, dW^T]. G, dW oriented (..., m, n)."""
    m, n = G.shape[-2:]
    GT, dWT = xp.swapaxes(G, -1, -2), xp.swapaxes(dW, -1, -2)
    if 2 * m < n:
        U = xp.concatenate([GT, dWT], axis=-1)  # (..., n, 2m)
        return _reduced(xp.linalg.qr(U, mode="r"), m, xp)  # only R is needed
    A = GT @ dW
    return (A + xp.swapaxes(A, -1, -2)) / 2


def _reduced(R, m: int, xp):
    """sym(R_1 R_2^T) = R J R^T / 2 for the R (..., 2m, 2m) of [G^T, dW^T] = Q R."""
    A = R[..., :, :m] @ xp.swapaxes(R[..., :, m:], -1, -2)
    return (A + xp.swapaxes(A, -1, -2)) / 2


def alignment_eigenvectors(G, dW):
    """(lam (r,), U (n, r)): the r = min(n, 2m) eigenpairs of S(G, dW) for G, dW (m, n)
    already oriented (S acts on n), in :func:`alignment_eigenvalues`' order (|lam|
    descending, ties lam ascending); U's columns orthonormal. Through the same reduction
    (S = Q M Q^T with the thin QR of [G^T, dW^T], U = Q V) when 2m < n, else a dense eigh
    of S. Beyond the rank bound the eigenvectors are orthogonal to the rows of dW. JAX,
    jit-able."""
    import jax.numpy as jnp

    m, n = G.shape
    if 2 * m < n:
        Q, R = jnp.linalg.qr(jnp.concatenate([G.T, dW.T], axis=1))  # (n, 2m), (2m, 2m)
        lam, V = jnp.linalg.eigh(_reduced(R, m, jnp))
        U = Q @ V
    else:
        lam, U = jnp.linalg.eigh(_small_matrix(G, dW, jnp))
    order = _magnitude_order(lam, jnp)
    return lam[order], U[:, order]


def _eigs_oriented(G, dW, xp):
    """Eigenvalues of S for G, dW of shape (..., m, n), S acting on n; (..., min(n, 2m))."""
    m, n = G.shape[-2:]
    if _closed_form(m, n):
        # rank <= 2, closed form: S = (g d^T + d g^T)/2 has eigenvalues
        # (<g, d> +- |g| |d|)/2 (no factorisation needed: cheaper, and nothing to compile)
        g, d = G[..., 0, :], dW[..., 0, :]
        c = xp.sum(g * d, axis=-1)
        r = xp.sqrt(xp.sum(g * g, axis=-1)) * xp.sqrt(xp.sum(d * d, axis=-1))
        lam = xp.stack([(c - r) / 2, (c + r) / 2], axis=-1)
        return _sort_by_magnitude(lam, xp)
    return _sort_by_magnitude(_eigvalsh(_small_matrix(G, dW, xp), xp), xp)


def _eigvalsh(M, xp):
    """Eigenvalues (ascending) of the symmetric matrices M (..., r, r).

    numpy: LAPACK ?syevr, values only, in M's precision (float32 or float64; anything else
    as float64), one call per matrix; NaN where LAPACK reports a failure. jax: eigvalsh."""
    if xp is not np:
        return xp.linalg.eigvalsh(M)
    from scipy.linalg import lapack

    M = np.asarray(M)
    if M.dtype not in (np.float32, np.float64):
        M = M.astype(np.float64)
    (syevr,) = lapack.get_lapack_funcs(("syevr",), (M,))
    out = np.empty(M.shape[:-1], M.dtype)
    for idx in np.ndindex(M.shape[:-2]):
        w, _, found, _, info = syevr(M[idx], compute_v=0, lower=0)
        out[idx] = w[: M.shape[-1]] if info == 0 and found == M.shape[-1] else np.nan
    return out


def _host_eigs(G, dW):
    """numpy (host) version of :func:`_eigs_oriented` for stacked oriented inputs."""
    return _eigs_oriented(np.asarray(G), np.asarray(dW), np)


def _host_spectra(layout: tuple, k_max: int, flat):
    """Host side of :func:`spectra_on_host`. flat: (B..., total), per batch element the
    layers' blocks one after the other as ``layout`` says: ("M", r) an r x r symmetric
    matrix (formed on the device), ("GdW", m, n) an oriented G then dW. Returns
    (B..., L, k_max + 1): the kept eigenvalues, then the rest's sum. A block with a
    non-finite entry is not handed to LAPACK (a diverged run); its row is NaN."""
    flat = np.asarray(flat)
    batch = flat.shape[:-1]
    out = np.full((*batch, len(layout), k_max + 1), np.nan, flat.dtype)
    for idx in np.ndindex(batch):
        row, at = flat[idx], 0
        for i, block in enumerate(layout):
            size = block[1] ** 2 if block[0] == "M" else 2 * block[1] * block[2]
            x, at = row[at : at + size], at + size
            if not np.isfinite(x).all():
                continue
            if block[0] == "M":
                M = x.reshape(block[1], block[1])
                lam = _sort_by_magnitude(_eigvalsh(M, np), np)
            else:
                G, dW = x.reshape(2, block[1], block[2])
                lam = _eigs_oriented(G, dW, np)
            top, rest = split_topk(lam, k_max)
            out[(*idx, i, slice(None, k_max))] = top
            out[(*idx, i, k_max)] = rest
    return out


def eigenvalues_on_host(G, dW):
    """Sorted eigenvalues of S for ORIENTED JAX arrays (..., m, n) computed by numpy/LAPACK
    on the host through ``jax.pure_callback`` (jit-, vmap- and scan-able).

    Why: jax 0.10's CPU LAPACK kernels parallelise batched calls over XLA's intra-op pool,
    which deadlocked here (2 cores) for vmapped eigh inside a scan; numpy's LAPACK does the
    same arithmetic outside that pool. Used by the recorder on CPU.
    """
    import jax

    m, n = G.shape[-2:]
    r = 2 if _closed_form(m, n) else min(n, 2 * m)
    out = jax.ShapeDtypeStruct((*G.shape[:-2], r), G.dtype)
    return jax.pure_callback(_host_eigs, out, G, dW, vmap_method="broadcast_all")


def spectra_on_host(pairs, k_max: int):
    """Top-k split of the spectra of several layers (:func:`split_topk` of
    :func:`alignment_eigenvalues`) with ONE host callback: the trajectory recorder's eigen
    work on CPU.

    pairs: list of ORIENTED JAX (G, dW) pairs, G and dW of shape (..., m_l, n_l) with a
    common leading shape B and dtype. Returns top (B..., L, k_max) and rest (B..., L); a
    layer with a non-finite G or dW gets NaN (nothing non-finite reaches LAPACK).

    Division of labour, for speed (a callback, and each operand it carries, has a fixed
    cost: docs/benchmarks.md): a 1 x n row is done on the device (closed form, no LAPACK); a dense
    layer (2m >= n) has S = sym(G^T dW) formed on the device (XLA's GEMM) and only its
    eigenvalues computed on the host; a reducible layer (2m < n) sends G and dW (the QR
    runs on the host, in LAPACK). Everything that goes to the host travels as ONE flat
    operand, and the answer comes back as one.
    """
    import jax
    import jax.numpy as jnp

    batch = pairs[0][0].shape[:-2]
    dtype = pairs[0][0].dtype
    tops: list[Any] = [None] * len(pairs)  # per layer, filled below
    rests: list[Any] = [None] * len(pairs)
    parts: list[Any] = []
    layout: list[tuple] = []  # ("M", n) or ("GdW", m, n) per layer sent to the host
    on_host: list[int] = []
    for i, (G, dW) in enumerate(pairs):
        m, n = G.shape[-2:]
        if _closed_form(m, n):
            ok = jnp.isfinite(jnp.sum(G)) & jnp.isfinite(jnp.sum(dW))
            top, rest = split_topk(_eigs_oriented(G, dW, jnp), k_max)
            tops[i] = jnp.where(ok[..., None], top, jnp.nan)
            rests[i] = jnp.where(ok, rest, jnp.nan)
        elif _dense(m, n):
            parts.append(_small_matrix(G, dW, jnp).reshape((*batch, n * n)))
            layout.append(("M", n))
            on_host.append(i)
        else:
            parts.append(
                jnp.concatenate([G.reshape((*batch, m * n)), dW.reshape((*batch, m * n))], axis=-1)
            )
            layout.append(("GdW", m, n))
            on_host.append(i)
    if on_host:
        flat = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=-1)
        shape = jax.ShapeDtypeStruct((*batch, len(on_host), k_max + 1), dtype)
        res = jax.pure_callback(
            functools.partial(_host_spectra, tuple(layout), int(k_max)),
            shape,
            flat,
            vmap_method="broadcast_all",
        )
        for j, i in enumerate(on_host):
            tops[i], rests[i] = res[..., j, :k_max], res[..., j, k_max]
    return jnp.stack(tops, axis=-2), jnp.stack(rests, axis=-1)


def spectrum_flops(m: int, n: int) -> tuple[float, float]:
    """FLOPs of one layer's spectrum as the recorder computes it (:func:`spectra_on_host`'s
    division of labour; G, dW oriented m x n, S acting on n): (device, host).

    * 1 x n row (closed form): (6 n, 0): three length-n dot products, on the device.
    * dense (2m >= n): (2 m n^2, 4/3 n^3): S = sym(G^T dW) by GEMM on the device, then the
      Householder tridiagonalisation of the n x n S on the host (values only: the MRRR
      step after it is O(n^2) and not counted).
    * reducible (2m < n, r = 2m): (0, 2 r^2 (n - r/3) + 8 m^3 + 4/3 r^3): Householder QR of
      the n x r factor [G^T, dW^T] (R only), R_1 R_2^T (a 2m x m by m x 2m product), and the
      tridiagonalisation of the r x r matrix.

    A count of the dominant terms (2 per multiply-add), for the benchmark's FLOP floor."""
    m, n = int(m), int(n)
    if m < 1 or n < 1:
        raise InputError(f"m and n must be positive, got {m} x {n}")
    if _closed_form(m, n):
        return 6.0 * n, 0.0
    if _dense(m, n):
        return 2.0 * m * n * n, 4.0 / 3.0 * n**3
    r = 2 * m
    return 0.0, 2.0 * r * r * (n - r / 3.0) + 8.0 * m**3 + 4.0 / 3.0 * r**3


def oriented(G, dW, *, side: str = "in"):
    """(G, dW) validated and oriented so that S acts on the last axis (2-D results)."""
    xp = _backend(G, dW)
    return _as_matrices(G, dW, side, xp)


def alignment_eigenvalues(G, dW, *, side: str = "in") -> np.ndarray | jax.Array:
    """Eigenvalues of S(G, dW) = (G^T dW + dW^T G)/2 sorted by |lambda| descending.

    G, dW: arrays of shape (m, n) (out x in) or (n,) (a row vector), numpy or JAX.
    Returns r = min(n, 2m) eigenvalues (with ``side``, n and m are the dimensions after
    orientation, see the module docstring); all eigenvalues beyond them are exactly 0.
    Sum of the result = <G, dW> (trace identity).
    """
    xp = _backend(G, dW)
    G, dW = _as_matrices(G, dW, side, xp)
    return _eigs_oriented(G, dW, xp)


def alignment_eigenvalues_batched(G, dW, *, side: str = "in", host: bool | None = None):
    """:func:`alignment_eigenvalues` over a leading axis: (T, m, n) -> (T, r), in JAX.

    jit-able (shapes are static). host=None: on a CPU backend the LAPACK work runs through
    :func:`eigenvalues_on_host` (see there why), elsewhere as one batched XLA kernel.
    """
    import jax
    import jax.numpy as jnp

    G = jnp.asarray(G)
    dW = jnp.asarray(dW)
    if G.ndim not in (2, 3) or G.shape != dW.shape:
        raise InputError(
            f"batched G and dW must share a shape (T, m, n) or (T, n), got {G.shape}, {dW.shape}"
        )
    if host is None:
        host = jax.default_backend() == "cpu"
    if G.ndim == 2:
        G, dW = G[:, None, :], dW[:, None, :]
    if side not in _SIDES:
        raise InputError(f"side must be one of {_SIDES}, got {side!r}")
    m, n = G.shape[-2:]
    if transposed(m, n, side):
        G, dW = jnp.swapaxes(G, -1, -2), jnp.swapaxes(dW, -1, -2)
    if host:
        return eigenvalues_on_host(G, dW)
    return _eigs_oriented(G, dW, jnp)


def topk_change(G, dW, k: int, *, side: str = "in") -> np.floating | jax.Array:
    """Top-k change: sum of the k eigenvalues of S(G, dW) of largest |lambda|.

    k >= rank gives the whole change <G, dW>; k = 0 gives 0.
    """
    if int(k) != k or k < 0:
        raise InputError(f"k must be a non-negative integer, got {k!r}")
    xp = _backend(G, dW)
    lam = alignment_eigenvalues(G, dW, side=side)
    return xp.sum(lam[: int(k)])


def split_topk(lam, k_max: int):
    """Keep the first ``k_max`` sorted eigenvalues (zero-padded when fewer) and sum the rest.

    lam: (..., r) sorted by |lambda| descending. Returns (top (..., k_max), rest (...)).
    """
    xp = _backend(lam)
    r = lam.shape[-1]
    if r >= k_max:
        return lam[..., :k_max], xp.sum(lam[..., k_max:], axis=-1)
    pad = [(0, 0)] * (lam.ndim - 1) + [(0, k_max - r)]
    return xp.pad(lam, pad), xp.zeros(lam.shape[:-1], dtype=lam.dtype)

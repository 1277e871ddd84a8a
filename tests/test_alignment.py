"""simulations.alignment: exact eigenvalues of S(G, dW) through the 2r x 2r reduction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fasttransfer.errors import InputError
from fasttransfer.simulations import alignment as A
from fasttransfer.simulations.alignment import (
    alignment_eigenvalues,
    alignment_eigenvalues_batched,
    alignment_matrix,
    oriented,
    spectra_on_host,
    spectrum_flops,
    split_topk,
    topk_change,
)

EPS = np.finfo(np.float64).eps


def _tol(S: np.ndarray) -> float:
    # Backward-stable symmetric eigensolvers (and Householder QR) perturb each eigenvalue
    # by at most c * n * eps * ||S||_2; ||S||_2 <= ||S||_F, and c = 50 is generous for
    # LAPACK's constants. The floor covers the all-zero matrix.
    n = S.shape[0]
    return 50.0 * n * EPS * max(float(np.linalg.norm(S)), 1e-300)


def _dense_sorted(G, dW, side="in"):
    lam = np.linalg.eigvalsh(alignment_matrix(G, dW, side=side))
    return lam[np.lexsort((lam, -np.abs(lam)))]


def _pad(lam, n):
    return np.concatenate([np.asarray(lam), np.zeros(n - len(lam))])


def _assert_matches_dense(G, dW, side="in"):
    lam = np.asarray(alignment_eigenvalues(G, dW, side=side))
    dense = _dense_sorted(G, dW, side=side)
    S = alignment_matrix(G, dW, side=side)
    tol = _tol(S)
    # the omitted eigenvalues are exactly the zeros of the dense spectrum
    np.testing.assert_allclose(np.sort(_pad(lam, len(dense))), np.sort(dense), rtol=0, atol=tol)
    # sorted by |lambda| descending
    assert np.all(np.diff(np.abs(lam)) <= tol)
    # trace identity: sum(lambda) = tr S = <G, dW>
    G2 = np.atleast_2d(G)
    np.testing.assert_allclose(
        lam.sum(), np.vdot(G2, np.atleast_2d(dW)), rtol=0, atol=tol * len(dense)
    )
    return lam


def _pair(rng, m, n, rank=None):
    if rank is None:
        return rng.normal(size=(m, n)), rng.normal(size=(m, n))
    G = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    dW = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    return G, dW


@pytest.mark.parametrize("m,n", [(4, 50), (50, 4), (17, 17), (1, 30), (30, 1), (8, 16), (9, 16)])
def test_random_shapes_match_dense_eigh(m, n):
    rng = np.random.default_rng(m * 100 + n)
    G, dW = _pair(rng, m, n)
    lam = _assert_matches_dense(G, dW)
    assert len(lam) == min(n, 2 * m)


def test_rank_one_matches_closed_form():
    # G = u g^T, dW = u d^T with |u| = 1: S = (g d^T + d g^T)/2, eigenvalues
    # (<g, d> +- |g||d|)/2 and n - 2 zeros.
    rng = np.random.default_rng(1)
    u = rng.normal(size=6)
    u /= np.linalg.norm(u)
    g, d = rng.normal(size=40), rng.normal(size=40)
    lam = _assert_matches_dense(np.outer(u, g), np.outer(u, d))
    expected = (
        np.array(
            [
                np.dot(g, d) + np.linalg.norm(g) * np.linalg.norm(d),
                np.dot(g, d) - np.linalg.norm(g) * np.linalg.norm(d),
            ]
        )
        / 2
    )
    np.testing.assert_allclose(np.sort(lam[:2]), np.sort(expected), rtol=1e-12)
    np.testing.assert_allclose(lam[2:], 0.0, atol=1e-12 * np.abs(expected).max())


def test_vector_parameters_are_rows():
    rng = np.random.default_rng(2)
    g, d = rng.normal(size=25), rng.normal(size=25)
    lam = _assert_matches_dense(g, d)
    assert lam.shape == (2,)
    ng, nd = np.linalg.norm(g), np.linalg.norm(d)
    np.testing.assert_allclose(
        np.sort(lam), np.sort([(g @ d - ng * nd) / 2, (g @ d + ng * nd) / 2]), rtol=1e-12
    )


@pytest.mark.parametrize("m,n,rank", [(20, 60, 1), (60, 20, 2), (30, 30, 3), (5, 80, 1)])
def test_low_rank_factors(m, n, rank):
    rng = np.random.default_rng(m + n + rank)
    G, dW = _pair(rng, m, n, rank)
    lam = _assert_matches_dense(G, dW)
    # rank(S) <= 2 min(rank G, rank dW): everything beyond 2*rank is zero
    np.testing.assert_allclose(lam[2 * rank :], 0.0, atol=_tol(alignment_matrix(G, dW)))


@pytest.mark.parametrize("m,n", [(3, 12), (12, 3), (5, 5)])
def test_zero_matrices(m, n):
    rng = np.random.default_rng(3)
    for G, dW in [
        (np.zeros((m, n)), np.zeros((m, n))),
        (np.zeros((m, n)), rng.normal(size=(m, n))),
    ]:
        lam = alignment_eigenvalues(G, dW)
        np.testing.assert_array_equal(lam, np.zeros(min(n, 2 * m)))


@pytest.mark.parametrize("side", ["out", "auto"])
def test_sides(side):
    rng = np.random.default_rng(4)
    G, dW = _pair(rng, 40, 6)
    lam = _assert_matches_dense(G, dW, side=side)
    # auto picks the larger dimension (40 = out): S is 40 x 40 with rank <= 12
    assert len(lam) == 12


def test_topk_sums():
    rng = np.random.default_rng(5)
    G, dW = _pair(rng, 6, 30)
    dense = _dense_sorted(G, dW)
    tol = _tol(alignment_matrix(G, dW)) * 30
    for k in [0, 1, 3, 12, 30, 100]:
        np.testing.assert_allclose(topk_change(G, dW, k), dense[:k].sum(), rtol=0, atol=tol)
    # k >= rank recovers the whole linearised change
    np.testing.assert_allclose(topk_change(G, dW, 100), np.vdot(G, dW), rtol=0, atol=tol)
    top, rest = split_topk(alignment_eigenvalues(G, dW), 5)
    np.testing.assert_allclose(top.sum() + rest, np.vdot(G, dW), rtol=0, atol=tol)
    top, rest = split_topk(alignment_eigenvalues(G, dW), 20)  # more than r = 12: padded
    assert top.shape == (20,) and rest == 0.0
    with pytest.raises(InputError, match="k"):
        topk_change(G, dW, -1)


@pytest.mark.parametrize("host", [True, False])
@pytest.mark.parametrize("m,n", [(4, 20), (20, 20), (1, 20)])
def test_jax_matches_numpy_and_batched_jit(host, m, n):
    rng = np.random.default_rng(6)
    T = 5
    G, dW = rng.normal(size=(T, m, n)), rng.normal(size=(T, m, n))
    ref = np.stack([alignment_eigenvalues(G[t], dW[t]) for t in range(T)])
    fn = jax.jit(lambda a, b: alignment_eigenvalues_batched(a, b, host=host))
    out = fn(jnp.asarray(G), jnp.asarray(dW))
    assert out.dtype == jnp.float64
    tol = max(_tol(alignment_matrix(G[t], dW[t])) for t in range(T))
    np.testing.assert_allclose(np.asarray(out), ref, rtol=0, atol=tol)
    single = alignment_eigenvalues(jnp.asarray(G[0]), jnp.asarray(dW[0]))
    np.testing.assert_allclose(np.asarray(single), ref[0], rtol=0, atol=tol)


def test_bad_shapes():
    with pytest.raises(InputError, match="same shape"):
        alignment_eigenvalues(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(InputError, match="ndim"):
        alignment_eigenvalues(np.ones((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(InputError, match="side"):
        alignment_eigenvalues(np.ones((2, 3)), np.ones((2, 3)), side="sideways")


@given(
    m=st.integers(1, 12),
    n=st.integers(1, 24),
    rank=st.integers(0, 4),
    seed=st.integers(0, 2**31 - 1),
    side=st.sampled_from(["in", "out", "auto"]),
)
def test_hypothesis_shapes(m, n, rank, seed, side):
    rng = np.random.default_rng(seed)
    r = min(rank, m, n)
    G, dW = _pair(rng, m, n, None if rank == 0 else r)
    _assert_matches_dense(G, dW, side=side)


@pytest.mark.parametrize("m,n", [(4, 50), (17, 17), (1, 30)])
def test_float32_stays_float32(m, n):
    """float32 inputs are computed by single-precision LAPACK; they agree with the float64
    dense spectrum to float32 accuracy (backward stable: c n eps32 ||S||_F)."""
    rng = np.random.default_rng(7)
    G, dW = _pair(rng, m, n)
    lam = alignment_eigenvalues(G.astype(np.float32), dW.astype(np.float32))
    assert lam.dtype == np.float32
    S = alignment_matrix(G, dW)
    dense = _dense_sorted(G, dW)
    tol = 50.0 * n * np.finfo(np.float32).eps * float(np.linalg.norm(S))
    np.testing.assert_allclose(np.sort(_pad(lam, len(dense))), np.sort(dense), rtol=0, atol=tol)


def test_spectra_on_host_matches_per_layer_spectra():
    """One callback for layers of different shapes, under jit and vmap (a batch of 3):
    the top-k split of each layer's spectrum; a non-finite layer gives NaN, the others are
    unaffected."""
    rng = np.random.default_rng(8)
    shapes = [(6, 20), (9, 9), (1, 12)]
    B, K = 3, 5
    Gs = [rng.normal(size=(B, *s)) for s in shapes]
    dWs = [rng.normal(size=(B, *s)) for s in shapes]
    dWs[1][2, 0, 0] = np.nan  # layer 1 of batch element 2: a diverged run

    def f(*xs):
        pairs = [oriented(xs[2 * i], xs[2 * i + 1]) for i in range(len(shapes))]
        return spectra_on_host(pairs, K)

    flat = [jnp.asarray(x) for pair in zip(Gs, dWs, strict=False) for x in pair]
    top, rest = jax.jit(jax.vmap(f))(*flat)
    assert top.shape == (B, 3, K) and rest.shape == (B, 3)
    for b in range(B):
        for i in range(3):
            if b == 2 and i == 1:
                assert np.all(np.isnan(np.asarray(top[b, i]))) and np.isnan(float(rest[b, i]))
                continue
            G, dW = Gs[i][b], dWs[i][b]
            t, r = split_topk(alignment_eigenvalues(G, dW), K)
            tol = _tol(alignment_matrix(G, dW)) * G.shape[1]
            np.testing.assert_allclose(np.asarray(top[b, i]), t, rtol=0, atol=tol)
            np.testing.assert_allclose(float(rest[b, i]), r, rtol=0, atol=tol)


@pytest.mark.parametrize(
    "m, n, expected",
    [
        (1, 12, (72.0, 0.0)),  # a row: closed form on the device
        (9, 9, (2 * 9 * 81, 4 / 3 * 729)),  # dense: 2m >= n
        (6, 12, (2 * 6 * 144, 4 / 3 * 1728)),  # 2m = n: still dense
        (5, 12, (0.0, 2 * 100 * (12 - 10 / 3) + 8 * 125 + 4 / 3 * 1000)),  # reducible, r = 10
    ],
)
def test_spectrum_flops_closed_form_table(m, n, expected):
    """The FLOP count of each branch of the recorder's spectrum, against the formulas
    written out (the dense/reducible split is the one _small_matrix takes)."""
    assert spectrum_flops(m, n) == pytest.approx(expected, rel=1e-15)


def test_spectrum_flops_rejects_empty_shapes():
    with pytest.raises(InputError):
        spectrum_flops(0, 4)


@pytest.mark.parametrize("m,n", [(3, 10), (5, 7), (10, 4)])
def test_eigenvectors_diagonalise_the_alignment_matrix(m, n):
    """Reduced (2m < n) and dense paths: U^T S U = diag(lam), U orthonormal, and lam are
    alignment_eigenvalues (same order). float64: rounding bound 50 r eps ||S||."""
    rng = np.random.default_rng(m * 100 + n)
    G, dW = rng.normal(size=(m, n)), rng.normal(size=(m, n))
    lam, U = A.alignment_eigenvectors(jnp.asarray(G), jnp.asarray(dW))
    lam, U = np.asarray(lam), np.asarray(U)
    S = A.alignment_matrix(G, dW)
    tol = 50 * len(lam) * np.finfo(float).eps * np.linalg.norm(S, 2)
    np.testing.assert_allclose(U.T @ U, np.eye(len(lam)), atol=tol)
    np.testing.assert_allclose(U.T @ S @ U, np.diag(lam), atol=tol)
    np.testing.assert_allclose(lam, A.alignment_eigenvalues(G, dW), atol=tol)

"""simulations.samplewise: the sample-wise decomposition of the paper's Section 4.2.3."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fasttransfer.errors import InputError
from fasttransfer.simulations import alignment
from fasttransfer.simulations import samplewise as SW
from fasttransfer.theory.mci import overlap_table


def test_sample_changes_average_to_the_eigenvalues_and_sum_to_the_inner_products():
    """(1/P) sum_i (d psi)_ij = lambda_j and sum_j (d psi)_ij = <G_i, dW> (nothing beyond
    the rank bound), for a reduced layer (2m < n)."""
    rng = np.random.default_rng(0)
    P, m, n = 7, 3, 11
    G_i, dW = rng.normal(size=(P, m, n)), rng.normal(size=(m, n))
    G = G_i.mean(axis=0)
    d = np.asarray(SW.component_changes(jnp.asarray(G_i), jnp.asarray(G), jnp.asarray(dW)))
    assert d.shape == (P, 2 * m)
    tol = 1e-10 * np.abs(G_i).max() * np.abs(dW).max() * n
    np.testing.assert_allclose(d.mean(axis=0), alignment.alignment_eigenvalues(G, dW), atol=tol)
    np.testing.assert_allclose(d.sum(axis=1), np.einsum("pmn,mn->p", G_i, dW), atol=tol)


def test_sample_psi_sums_the_intervals_and_layers():
    """On a two-matrix model with a hand-made path: psi's row sums are the per-sample
    linearised changes sum_t <grad loss_i(wbar_a), wbar_b - wbar_a> over the intervals
    and both layers, and its column means the summed eigenvalues (index j aligned across
    layers, zero-padded)."""
    rng = np.random.default_rng(1)
    P, T = 6, 5
    path = {
        "A": jnp.asarray(rng.normal(size=(T + 1, 4, 9))),  # auto: S on 9, r = 8
        "B": jnp.asarray(rng.normal(size=(T + 1, 2, 4))),
    }  # auto: S on 4, r = 4
    x, y = jnp.asarray(rng.normal(size=(P, 9))), jnp.asarray(rng.normal(size=(P,)))

    def loss(p, xi, yi):
        return 0.5 * (jnp.sum(p["B"] @ jnp.tanh(p["A"] @ xi)) - yi) ** 2

    times = np.array([2, 3, 5])
    psi = np.asarray(SW.sample_psi(loss, path, times, x, y))
    assert psi.shape == (P, 8)
    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
    want_rows, want_lam = np.zeros(P), np.zeros(8)
    for a, b in zip([0, 2, 3], [2, 3, 5], strict=False):
        wa = {k: v[a] for k, v in path.items()}
        g = grads(wa, x, y)
        for k in path:
            dW = np.asarray(path[k][b] - path[k][a])
            want_rows += np.einsum("pmn,mn->p", np.asarray(g[k]), dW)
            lam = alignment.alignment_eigenvalues(np.asarray(g[k]).mean(0), dW, side="auto")
            want_lam[: len(lam)] += lam
    np.testing.assert_allclose(psi.sum(axis=1), want_rows, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(psi.mean(axis=0), want_lam, rtol=1e-9, atol=1e-9)
    with pytest.raises(InputError, match="times"):
        SW.sample_psi(loss, path, np.array([3, 2]), x, y)


def test_quick_study_is_stored_and_reused(tmp_path, caplog):
    """The quick preset into the store: one MCI per sample and run, extremes with their
    psi, the signals of the samples shown; a second call reuses the entry (no training)."""
    cfg = SW.SamplewiseConfig.from_preset("quick", widths=(16, 32), seeds=(0, 1), steps=20)
    res = SW.simulate(tmp_path, "quick", cfg, progress=False)
    mci = res["mci"]
    assert len(mci) == 2 * 2 * 256 and mci["mci"].between(1, 40).all()
    ext = res["extremes"]
    assert set(ext["kind"]) == {"easy", "hard"} and ext["j"].max() <= cfg.k_show
    assert set(ext["sample"]) <= set(res["signals"]["sample"])
    caplog.set_level(logging.INFO, logger="fasttransfer")
    again = SW.simulate(tmp_path, "quick", cfg, progress=False)
    assert caplog.messages and caplog.messages[0].startswith("reused")
    assert again["mci"].equals(mci)
    tab = overlap_table(mci, 0.05)
    assert len(tab) == 6 and tab[["easy", "hard"]].stack().between(0, 1).all()


def test_config_validation():
    with pytest.raises(InputError, match="preset"):
        SW.SamplewiseConfig.from_preset("paper")
    with pytest.raises(InputError, match="lr"):
        SW.SamplewiseConfig(lr=0.0)
    with pytest.raises(InputError, match="widths"):
        SW.SamplewiseConfig(widths=(32, 32))

"""A pack: several widths of the two-layer ReLU net side by side in one set of arrays, so
that one compiled program trains them all.

Widths n_1 < ... < n_K are laid out along one neuron axis of length N = n_1 + ... + n_K,
segment k holding width n_k's neurons (contiguous, in the order given):

    W (N, d), b (N,), a (N,);   f_k(x) = m(n_k) sum_{i in segment k} a_i relu(<w_i, x> + b_i)

Each width keeps its own output multiplier m(n_k) and its own loss; the parameters of
different widths never meet, so the gradient of the sum of the K losses is each width's
own gradient, and Adam (elementwise) moves each segment exactly as it would move that
width alone. Why: on an accelerator one narrow width is too small a product to fill the
chip (the step is bound by launch latency); a pack of the narrow widths of a sweep is
one product of N features. The readout sums and the broadcast of each width's output
gradient back to its neurons are taken segment by segment (slices), never through a
one-hot matrix: a diverged width (inf or NaN) must not leak into its neighbours
(0 * inf = NaN).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from fasttransfer.simulations import mup, relu_net


def packs(widths, max_neurons: int) -> list[tuple[int, ...]]:
    """The widths (in the order given) cut into packs: consecutive widths join one pack
    while its total N stays <= ``max_neurons``; a width at or above it is alone.
    ``max_neurons`` 0 (or < the narrowest width): one width per pack."""
    out: list[list[int]] = []
    total = 0
    for w in (int(v) for v in widths):
        if out and max_neurons and total + w <= max_neurons:
            out[-1].append(w)
            total += w
        else:
            out.append([w])
            total = w
    return [tuple(p) for p in out]


def bounds(widths: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(start, stop) of each width's segment on the neuron axis."""
    ends = np.cumsum(widths)
    return tuple((int(e - w), int(e)) for w, e in zip(widths, ends, strict=True))


def concat(parts: list[dict]) -> dict:
    """One pack's parameters from each width's {"W": (..., n_k, d), "b"/"a": (..., n_k)}
    (any leading axes, the same for every width)."""
    return {
        k: jnp.concatenate([p[k] for p in parts], axis=-2 if k == "W" else -1) for k in parts[0]
    }


def readout(am: jax.Array, act: jax.Array, widths: tuple[int, ...], formulation: str):
    """f_k without its multiplier: sum over segment k of am_i act_i, shape (L, K, B),
    from am (L, N) and act (L, N, B)."""
    outs = []
    for s, e in bounds(widths):
        if formulation == "dot":
            outs.append(jnp.einsum("ln,lnb->lb", am[:, s:e], act[:, s:e]))
        else:
            outs.append(jnp.sum(am[:, s:e, None] * act[:, s:e], axis=-2))
    return jnp.stack(outs, axis=-2)


def expand(g: jax.Array, widths: tuple[int, ...]) -> jax.Array:
    """Each width's row of g (L, K, B) repeated over its neurons: (L, N, B)."""
    return jnp.repeat(g, np.asarray(widths), axis=-2, total_repeat_length=int(sum(widths)))


def multipliers(widths: tuple[int, ...], param: str, dtype) -> jax.Array:
    """m(n_k) of each width, shape (K,) (:func:`simulations.mup.output_multiplier`)."""
    return jnp.asarray([mup.output_multiplier(w, param) for w in widths], dtype)


def forward(params: dict, x: jax.Array, widths: tuple[int, ...], param: str) -> jax.Array:
    """Every width's output f_k(x) for x (B, d): shape (B, K)."""
    act = jax.nn.relu(x @ params["W"].T + params["b"][None, :])  # (B, N)
    outs = [act[:, s:e] @ params["a"][s:e] for s, e in bounds(widths)]
    return jnp.stack(outs, axis=-1) * multipliers(widths, param, x.dtype)[None, :]


def chunked_sample_losses(
    params: dict, x: jax.Array, y: jax.Array, widths: tuple[int, ...], param: str, chunk: int, loss
) -> jax.Array:
    """Per-sample losses of every width on a large test set, shape (K, M), ``chunk``
    rows at a time (only a (chunk, N) block is live), as
    :func:`simulations.relu_net.chunked_sample_losses` is for one width."""

    def block(xb, yb):
        return relu_net.per_sample_loss(forward(params, xb, widths, param), yb[:, None], loss)

    return jnp.moveaxis(relu_net.map_row_chunks(block, x, y, chunk), -1, 0)

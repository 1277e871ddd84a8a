"""The two-layer ReLU net of SPEC §5: model, data stream, target and loss.

    f(x) = m(n) * sum_{i=1..n} a_i relu(<w_i, x> + b_i),   x ~ N(0, I_d),
    y(x) = 1{|x|^2 <= r^2},  r = median radius (so P(y = 1) = 1/2),
    loss = mean over the batch of (f(x) - y(x))^2.

Parameters are a dict {"W": (n, d), "b": (n,), "a": (n,)}; m(n) and the initial scales
come from :mod:`simulations.mup`. Batched inputs have shape (batch, d); outputs (batch,).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from simulations import mup


def median_radius(d: int) -> float:
    """r with P(|x|^2 <= r^2) = 1/2 for x ~ N(0, I_d): sqrt of the chi^2_d median."""
    from scipy.special import gammaincinv  # chi^2_d quantile = 2 * Gamma(d/2) quantile

    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    return float(math.sqrt(2.0 * gammaincinv(0.5 * d, 0.5)))


def sample_inputs(key: jax.Array, batch: int, d: int, dtype=jnp.float32) -> jax.Array:
    """x ~ N(0, I_d), shape (batch, d)."""
    return jax.random.normal(key, (batch, d), dtype=dtype)


def ball_target(x: jax.Array, radius: float) -> jax.Array:
    """y = 1{|x|^2 <= r^2}, shape (batch,), in x's dtype."""
    sq = jnp.sum(x * x, axis=-1)
    return (sq <= jnp.asarray(radius * radius, dtype=x.dtype)).astype(x.dtype)


def init_params(key: jax.Array, width: int, d: int, param: str, dtype=jnp.float32) -> dict:
    """Gaussian initialisation with the scales of :func:`simulations.mup.init_std`."""
    std = mup.init_std(width, d, param)
    kW, kb, ka = jax.random.split(key, 3)
    return {
        "W": jnp.asarray(std["W"], dtype) * jax.random.normal(kW, (width, d), dtype),
        "b": jnp.asarray(std["b"], dtype) * jax.random.normal(kb, (width,), dtype),
        "a": jnp.asarray(std["a"], dtype) * jax.random.normal(ka, (width,), dtype),
    }


def forward_with_activations(params: dict, x: jax.Array, param: str):
    """(f(x) of shape (batch,), {"preact": (batch, n), "act": (batch, n)})."""
    width = params["a"].shape[0]
    m = jnp.asarray(mup.output_multiplier(width, param), x.dtype)
    preact = x @ params["W"].T + params["b"][None, :]
    act = jax.nn.relu(preact)
    out = m * (act @ params["a"])
    return out, {"preact": preact, "act": act}


def forward(params: dict, x: jax.Array, param: str) -> jax.Array:
    """f(x) = m(n) sum_i a_i relu(<w_i, x> + b_i), shape (batch,)."""
    return forward_with_activations(params, x, param)[0]


def loss_fn(params: dict, x: jax.Array, y: jax.Array, param: str) -> jax.Array:
    """Mean squared error over the batch (a scalar)."""
    r = forward(params, x, param) - y
    return jnp.mean(r * r)


def chunked_loss(params: dict, x: jax.Array, y: jax.Array, param: str, chunk: int) -> jax.Array:
    """The same mean squared error on a large test set, evaluated ``chunk`` rows at a
    time (lax.map) so that only a (chunk, n) activation block is ever live.
    ``x.shape[0]`` must be a multiple of ``chunk``."""
    m_rows = x.shape[0]
    if m_rows % chunk:
        raise ValueError(f"test-set size {m_rows} is not a multiple of chunk {chunk}")
    xs = x.reshape(m_rows // chunk, chunk, x.shape[1])
    ys = y.reshape(m_rows // chunk, chunk)

    def block(args):
        xb, yb = args
        r = forward(params, xb, param) - yb
        return jnp.sum(r * r)

    return jnp.sum(jax.lax.map(block, (xs, ys))) / jnp.asarray(m_rows, x.dtype)

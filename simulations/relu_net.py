"""The two-layer ReLU net of the paper's Figures 2 and 5: model, tasks (input law and
target) and losses.

    f(x) = m(n) * sum_{i=1..n} a_i relu(<w_i, x> + b_i)

Parameters are a dict {"W": (n, d), "b": (n,), "a": (n,)}; m(n) and the initial scales
come from :mod:`simulations.mup` (mean-field form: m(n) = 1/n, a_i = O(1); this is the
paper's un-normalised f = sum_i a_i relu(...) with a_i = O(1/n), see mup.py).

Tasks (:class:`Task`), both from the paper (docs/paper-setups.md):
  ``ball``   x ~ N(0, I_d), y = 1{|x|^2 > r^2}, r^2 the median of chi^2_d (the paper's
             ReLU counterexample: classes exactly balanced, y = 1 OUTSIDE the ball);
  ``kindex`` x ~ N(0, (4/d) I_d), y = sqrt((d / (4k)) sum_{i<=k} x_i^2) (the paper's
             Gaussian k-index model of its Figure 2; y ~ 1).
Losses: ``bce`` (binary cross-entropy on the logit f: softplus(f) - y f), ``squared``
((f - y)^2) and ``half_squared`` ((f - y)^2 / 2: the other common convention; under Adam
it moves the reported level by a factor 2 and the steps only through eps). Batched inputs have shape (batch, d); outputs and targets (batch,).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from fasttransfer.simulations import mup

TASKS: tuple[str, ...] = ("ball", "kindex")
LOSSES: tuple[str, ...] = ("bce", "squared", "half_squared")
READOUT_INITS: tuple[str, ...] = ("normal", "zero")
FIRST_LAYER_INITS: tuple[str, ...] = ("gaussian", "torch")


def median_radius(d: int) -> float:
    """r with P(|x|^2 <= r^2) = 1/2 for x ~ N(0, I_d): sqrt of the chi^2_d median."""
    from scipy.special import gammaincinv  # chi^2_d quantile = 2 * Gamma(d/2) quantile

    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    return float(math.sqrt(2.0 * gammaincinv(0.5 * d, 0.5)))


def sample_inputs(
    key: jax.Array, batch: int, d: int, dtype=jnp.float32, std: float = 1.0
) -> jax.Array:
    """x ~ N(0, std^2 I_d), shape (batch, d)."""
    x = jax.random.normal(key, (batch, d), dtype=dtype)
    return x if std == 1.0 else jnp.asarray(std, dtype) * x


def ball_target(x: jax.Array, radius: float, side: str = "inside") -> jax.Array:
    """y = 1{|x|^2 <= r^2} (``side="inside"``) or 1{|x|^2 > r^2} (``"outside"``, the
    paper's label), shape (batch,), in x's dtype."""
    sq = jnp.sum(x * x, axis=-1)
    r2 = jnp.asarray(radius * radius, dtype=x.dtype)
    if side == "inside":
        return (sq <= r2).astype(x.dtype)
    if side == "outside":
        return (sq > r2).astype(x.dtype)
    raise ValueError(f"side must be 'inside' or 'outside', got {side!r}")


def kindex_target(x: jax.Array, k: int) -> jax.Array:
    """y = sqrt((d / (4k)) sum_{i<=k} x_i^2) for x of shape (batch, d), shape (batch,).
    With x ~ N(0, (4/d) I_d), y^2 ~ chi^2_k / k (mean 1)."""
    d = x.shape[-1]
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, d = {d}], got {k}")
    head = x[:, :k]
    return jnp.sqrt(jnp.asarray(d / (4.0 * k), x.dtype) * jnp.sum(head * head, axis=-1))


@dataclass(frozen=True)
class Task:
    """Input law and target. ``input_std`` is the per-coordinate std of x (1 for ball,
    2/sqrt(d) for kindex); :meth:`sample` draws one batch."""

    name: str = "ball"
    d: int = 64
    k: int = 15
    radius: float | None = None  # ball only; None = the median radius

    def __post_init__(self) -> None:
        if self.name not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.name!r}")
        if int(self.d) != self.d or self.d < 1:
            raise ValueError(f"d must be a positive integer, got {self.d!r}")
        if self.name == "kindex" and not 1 <= self.k <= self.d:
            raise ValueError(f"k must be in [1, d = {self.d}], got {self.k}")

    @property
    def input_std(self) -> float:
        return 1.0 if self.name == "ball" else 2.0 / math.sqrt(self.d)

    def target_radius(self) -> float:
        return median_radius(self.d) if self.radius is None else float(self.radius)

    def target(self, x: jax.Array) -> jax.Array:
        if self.name == "ball":
            return ball_target(x, self.target_radius(), side="outside")
        return kindex_target(x, self.k)

    def sample(self, key: jax.Array, batch: int, dtype) -> tuple[jax.Array, jax.Array]:
        """(x (batch, d), y (batch,))."""
        x = sample_inputs(key, batch, self.d, dtype, self.input_std)
        return x, self.target(x)


def torch_linear_bound(fan_in: int) -> float:
    """1/sqrt(fan_in): PyTorch's default ``nn.Linear`` initialisation draws weights and
    biases from U(-bound, bound) (std bound/sqrt(3); 0.072 at d = 64)."""
    if int(fan_in) != fan_in or fan_in < 1:
        raise ValueError(f"fan_in must be a positive integer, got {fan_in!r}")
    return 1.0 / math.sqrt(fan_in)


def init_params(
    key: jax.Array,
    width: int,
    d: int,
    param: str,
    dtype=jnp.float32,
    input_std: float = 1.0,
    base_width: int | None = None,
    readout_init: str = "normal",
    first_layer_init: str = "gaussian",
) -> dict:
    """The initial parameters {"W": (n, d), "b": (n,), "a": (n,)}.

    ``first_layer_init`` "gaussian": W and b Gaussian with the scales of
    :func:`simulations.mup.init_std`; "torch": W, b ~ U(-1/sqrt(d), 1/sqrt(d)) (PyTorch's
    ``nn.Linear`` default, :func:`torch_linear_bound`). ``readout_init`` "normal": a
    Gaussian with the std of :func:`simulations.mup.init_std`; "zero": a = 0 (a common
    muP choice for the readout). The same three keys are drawn in every case, so a
    seed's W draw does not depend on the readout's choice."""
    if readout_init not in READOUT_INITS:
        raise ValueError(f"readout_init must be one of {READOUT_INITS}, got {readout_init!r}")
    if first_layer_init not in FIRST_LAYER_INITS:
        raise ValueError(
            f"first_layer_init must be one of {FIRST_LAYER_INITS}, got {first_layer_init!r}"
        )
    std = mup.init_std(width, d, param, input_std=input_std, base_width=base_width)
    kW, kb, ka = jax.random.split(key, 3)
    if first_layer_init == "gaussian":
        W = jnp.asarray(std["W"], dtype) * jax.random.normal(kW, (width, d), dtype)
        b = jnp.asarray(std["b"], dtype) * jax.random.normal(kb, (width,), dtype)
    else:
        bound = torch_linear_bound(d)
        W = jax.random.uniform(kW, (width, d), dtype, -bound, bound)
        b = jax.random.uniform(kb, (width,), dtype, -bound, bound)
    if readout_init == "normal":
        a = jnp.asarray(std["a"], dtype) * jax.random.normal(ka, (width,), dtype)
    else:
        a = jnp.zeros((width,), dtype)
    return {"W": W, "b": b, "a": a}


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


def per_sample_loss(f: jax.Array, y: jax.Array, loss: str) -> jax.Array:
    """l(f, y) elementwise: bce = softplus(f) - y f = -y log s(f) - (1-y) log(1-s(f))
    (s the logistic function; stable for large |f|), squared = (f - y)^2,
    half_squared = (f - y)^2 / 2."""
    if loss == "bce":
        return jax.nn.softplus(f) - y * f
    if loss == "squared":
        r = f - y
        return r * r
    if loss == "half_squared":
        r = f - y
        return jnp.asarray(0.5, f.dtype) * (r * r)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def loss_derivative(f: jax.Array, y: jax.Array, loss: str) -> jax.Array:
    """dl/df elementwise: bce: s(f) - y; squared: 2 (f - y); half_squared: f - y."""
    if loss == "bce":
        return jax.nn.sigmoid(f) - y
    if loss == "squared":
        return jnp.asarray(2.0, f.dtype) * (f - y)
    if loss == "half_squared":
        return f - y
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def loss_fn(
    params: dict, x: jax.Array, y: jax.Array, param: str, loss: str = "squared"
) -> jax.Array:
    """Mean of :func:`per_sample_loss` over the batch (a scalar)."""
    return jnp.mean(per_sample_loss(forward(params, x, param), y, loss))


def map_row_chunks(fn, x: jax.Array, y: jax.Array, chunk: int) -> jax.Array:
    """``fn(x_block, y_block)`` over the rows of x (M, d) and y (M,) in blocks of
    ``chunk`` rows (lax.map: only one block's activations are ever live), the results
    stacked along the rows: shape (M, ...). ``M`` must be a multiple of ``chunk``."""
    m_rows = x.shape[0]
    if m_rows % chunk:
        raise ValueError(f"test-set size {m_rows} is not a multiple of chunk {chunk}")
    xs = x.reshape(m_rows // chunk, chunk, x.shape[1])
    ys = y.reshape(m_rows // chunk, chunk)
    out = jax.lax.map(lambda args: fn(*args), (xs, ys))
    return out.reshape((m_rows, *out.shape[2:]))


def chunked_sample_losses(
    params: dict, x: jax.Array, y: jax.Array, param: str, chunk: int, loss: str = "squared"
) -> jax.Array:
    """Per-sample losses on a large test set, shape (M,), evaluated ``chunk`` rows at a
    time (:func:`map_row_chunks`: only a (chunk, n) activation block is ever live)."""
    return map_row_chunks(
        lambda xb, yb: per_sample_loss(forward(params, xb, param), yb, loss), x, y, chunk
    )

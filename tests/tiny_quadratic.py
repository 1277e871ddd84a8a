"""A tiny quadratic training problem shared by the recorder and trainer tests.

phi(w) = 1/2 |A W B - C|^2 + 1/2 |v - c|^2 (float64), W (5, 7), v (7,); the training loss
adds a noise term <N, W> with N ~ N(0, 1) per batch, so the raw trajectory is rough and
the EMA smooth. On a quadratic the trapezoid rule is exact:
<(G_a + G_b)/2, b - a> = phi(b) - phi(a)."""

import jax
import jax.numpy as jnp
import numpy as np

from fasttransfer.simulations.topk_training import Problem

F64 = jnp.float64


def matrices():
    """(A (6, 5), B (7, 4), C (6, 4), c (7,)) as numpy float64 arrays."""
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(6, 5)),
        rng.normal(size=(7, 4)),
        rng.normal(size=(6, 4)),
        rng.normal(size=(7,)),
    )


def problem(mult_W: float = 1.0, mult_v: float = 1.0, dtype=F64) -> Problem:
    A, B, C, c = (jnp.asarray(x, dtype) for x in matrices())

    def eval_loss(p):
        r = A @ p["W"] @ B - C
        return 0.5 * jnp.sum(r * r) + 0.5 * jnp.sum((p["v"] - c) ** 2)

    def init(key):
        k1, k2 = jax.random.split(key)
        return {"W": jax.random.normal(k1, (5, 7), dtype), "v": jax.random.normal(k2, (7,), dtype)}

    def batch(key):
        return jax.random.normal(key, (5, 7), dtype)

    def loss(p, noise):
        return eval_loss(p) + jnp.sum(noise * p["W"])

    mult = {"W": jnp.asarray(mult_W, dtype), "v": jnp.asarray(mult_v, dtype)}
    return Problem(init, batch, loss, eval_loss, mult)


def numpy_grad(p: dict, noise: np.ndarray) -> dict:
    """Closed-form gradient of the training loss: W: A^T (A W B - C) B^T + N, v: v - c."""
    A, B, C, c = matrices()
    r = A @ p["W"] @ B - C
    return {"W": A.T @ r @ B.T + noise, "v": p["v"] - c}

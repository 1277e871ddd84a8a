"""The paper's CIFAR-10 setting carried to MNIST-1D: the contrast to the Adam MLP of
:mod:`simulations.mlp_mnist1d` (the paper's Section 4.2.3 and Appendix D.5: CIFAR-10, 2-layer
ReLU MLP without biases, SGD with momentum 0.9, batch 512, 100 epochs; widths 128..8192).

Data: MNIST-1D generated locally (:func:`simulations.mlp_mnist1d.load_mnist1d`: 4000
training sequences of length 40, 10 classes).

Model (one hidden layer of width n, ReLU, NO biases):

    logits = W1 relu(W0 x),    W0: (n, 40),  W1: (10, n),

loss: mean softmax cross-entropy. The evaluation loss phi is the same loss on a FIXED
subset of ``n_eval`` training sequences (the training loss, a fixed objective).

Optimiser: SGD with heavy-ball momentum 0.9, as ``optax.trace(decay=0.9)`` (no
Nesterov, no dampening): m_t = g_t + 0.9 m_{t-1} (m_{-1} = 0), and the step of leaf p is
p <- p - nu lr_mult[p] m_t (:class:`simulations.topk_training.Problem`), i.e. PyTorch's
``SGD(momentum=0.9)`` with a per-layer learning rate. Minibatches of ``batch`` sequences
drawn with replacement (a pure function of the step's key; the paper's epochs are
without replacement): ``steps`` = epochs x 4000 / batch.

muP for SGD relative to a base width n0 (:func:`simulations.mup.sgd_mlp_init_std`,
:func:`simulations.mup.sgd_mlp_lr_multipliers`; Tensor Programs V, Table 3, SGD column):

    layer        init std          SGD LR multiplier
    input W0     1/sqrt(40)        n/n0
    output W1    sqrt(n0)/n        n0/n

At n = n0 it is the standard-parametrisation net with one SGD learning rate nu (the
scale-free HP; ``hp = log nu``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from fasttransfer.errors import InputError
from fasttransfer.simulations.dtypes import jax_dtype
from fasttransfer.simulations.mlp_mnist1d import D_IN, N_CLASSES, cross_entropy, data
from fasttransfer.simulations.recorder import RecorderFields

__all__ = ["SGDMLPConfig", "epochs_to_steps", "forward", "init_params", "loss_fn", "problem"]

N_TRAIN = 4000  # MNIST-1D's default training split (5000 sequences, 80% train)


def epochs_to_steps(epochs: float, batch: int, n_train: int = N_TRAIN) -> int:
    """Optimiser steps for ``epochs`` passes over ``n_train`` sequences at ``batch`` per
    step: ceil(epochs n_train / batch)."""
    if not (epochs > 0 and batch >= 1 and n_train >= 1):
        raise InputError(
            f"epochs, batch and n_train must be positive, got {epochs}, {batch}, {n_train}",
            param="epochs",
        )
    return math.ceil(epochs * n_train / batch - 1e-9)


@dataclass(frozen=True)
class SGDMLPConfig(RecorderFields):
    """One sweep of the bias-free two-layer ReLU MLP under muP + SGD with momentum
    (presets ``quick``, ``cpu``, ``paper``; :meth:`from_preset` gives their values and why).

    The recorder fields (``every``, ``ema``, ``k_max``, ``rule``; read by
    ``topk_training.recorder_config``) are the paper's decomposition, as for
    ``topk_training.ReluTopkConfig``: left point, warmed-up EMA decay (``ema=None``),
    the subsampling schedule tau = 2 -> 10 over 2000 steps."""

    widths: tuple[int, ...] = (32, 64, 128)
    base_width: int = 32
    lrs: tuple[float, ...] = tuple(float(x) for x in np.logspace(-1.75, -0.25, 9))
    seeds: tuple[int, ...] = (0,)
    steps: int = 100
    batch: int = 128
    momentum: float = 0.9
    n_eval: int = 256
    dtype: str = "float32"
    num_samples: int = 5000

    def __post_init__(self) -> None:
        if not self.widths or min(self.widths) < 1 or self.base_width < 1:
            raise InputError(
                f"widths and base_width must be positive, got {self.widths}, {self.base_width}",
                param="widths",
            )
        if not 0.0 <= self.momentum < 1.0:
            raise InputError(f"momentum must lie in [0, 1), got {self.momentum}", param="momentum")
        if self.steps < 1 or self.batch < 1 or self.n_eval < 1:
            raise InputError(
                f"steps, batch and n_eval must be >= 1, got {self.steps}, "
                f"{self.batch}, {self.n_eval}",
                param="steps",
            )
        if not self.lrs or min(self.lrs) <= 0 or not self.seeds:
            raise InputError("lrs must be positive and seeds non-empty", param="lrs")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> SGDMLPConfig:
        """``quick``: CI-sized (one seed, 100 steps at batch 128, widths 32..128).
        ``cpu`` (``CPU_PRESET``, measured by benchmarks/mnist1d_presets.py): widths
        32..256 (base 32), the paper's batch 512 for 25 epochs (196 steps), 4 seeds, 8
        learning rates 10^-1.125..10^-0.25 (0.125 decades apart: SGD's loss rises
        steeply towards the stability edge just above 10^-0.25, where runs diverge).
        In plain training nu_star is flat across widths at the raw iterate, while at the
        EMA point of the paper's warmed-up decay the loss keeps falling up to the largest
        stable learning rate (measurements: docs/benchmarks.md). ``paper``: the paper's
        widths 128..8192, batch 512 and 100 epochs of MNIST-1D's 4000 training sequences
        (782 steps), base width 128; for a GPU."""
        if name == "quick":
            cfg = cls()
        elif name == "cpu":
            cfg = cls(**CPU_PRESET)
        elif name == "paper":
            cfg = cls(
                widths=tuple(2**k for k in range(7, 14)),
                base_width=128,
                lrs=tuple(float(x) for x in np.logspace(-2.0, 0.0, 17)),
                seeds=(0, 1, 2, 3),
                steps=epochs_to_steps(100, 512),
                batch=512,
                n_eval=4000,
            )
        else:
            raise InputError(
                f"preset must be 'quick', 'cpu' or 'paper', got {name!r}", param="preset"
            )
        return replace(cfg, **overrides)


# the cpu preset (values measured by benchmarks/mnist1d_presets.py; see its docstring)
CPU_PRESET: dict = dict(
    widths=(32, 64, 128, 256),
    base_width=32,
    lrs=tuple(float(x) for x in np.logspace(-1.125, -0.25, 8)),
    seeds=(0, 1, 2, 3),
    steps=epochs_to_steps(25, 512),
    batch=512,
    n_eval=512,
)


def init_params(key, width: int, base_width: int, dtype="float32") -> dict:
    """muP initialisation {"W0": (n, 40), "W1": (10, n)} (module docstring)."""
    import jax
    import jax.numpy as jnp

    from fasttransfer.simulations.mup import sgd_mlp_init_std

    std = sgd_mlp_init_std(width, 1, base_width, D_IN)
    # one standard-normal draw cut in two (each sampler is compiled separately)
    z = jax.random.normal(key, ((D_IN + N_CLASSES) * width,), dtype)
    return {
        "W0": jnp.asarray(std["W0"], dtype) * z[: D_IN * width].reshape(width, D_IN),
        "W1": jnp.asarray(std["W1"], dtype) * z[D_IN * width :].reshape(N_CLASSES, width),
    }


def forward(params, x):
    """Logits (batch, 10) = relu(x W0^T) W1^T for inputs x (batch, 40); no biases."""
    import jax.numpy as jnp

    return jnp.maximum(x @ params["W0"].T, 0) @ params["W1"].T


def loss_fn(params, x, y):
    """Mean softmax cross-entropy; y: (batch,) integer labels."""
    return cross_entropy(forward(params, x), y)


def problem(width: int, cfg: SGDMLPConfig):
    """The :class:`simulations.topk_training.Problem` of this setting at one width: muP
    SGD multipliers and the momentum direction ``optax.trace(decay=cfg.momentum)``."""
    import jax.numpy as jnp
    import optax

    from fasttransfer.simulations.mup import sgd_mlp_lr_multipliers
    from fasttransfer.simulations.topk_training import Problem

    dtype = jax_dtype(cfg.dtype)
    batch, (x_eval, y_eval) = data(cfg, dtype)
    mult = {
        k: jnp.asarray(v, dtype)
        for k, v in sgd_mlp_lr_multipliers(width, 1, cfg.base_width).items()
    }

    return Problem(
        init=lambda key: init_params(key, width, cfg.base_width, dtype),
        batch=batch,
        loss=lambda p, b: loss_fn(p, b[0], b[1]),
        eval_loss=lambda p: loss_fn(p, x_eval, y_eval),
        lr_mult=mult,
        direction=optax.trace(decay=cfg.momentum, nesterov=False),
    )

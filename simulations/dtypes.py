"""The one way a configuration's ``dtype`` becomes a JAX dtype.

float64 needs JAX's 64-bit mode. Without it JAX silently computes in float32 while the
stored results would say float64, so a float64 configuration in a process without x64
is an error that names the fix (the command line turns x64 on by itself).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from fasttransfer.errors import InputError

DTYPES: tuple[str, ...] = ("float32", "float64")


def jax_dtype(name: str):
    """``jnp.float32`` or ``jnp.float64`` for ``name``; float64 without x64 raises."""
    if name not in DTYPES:
        raise InputError(f"dtype must be one of {DTYPES}, got {name!r}", param="dtype")
    if name == "float64" and not jax.config.jax_enable_x64:
        raise InputError(
            "dtype float64 needs JAX's 64-bit mode: set JAX_ENABLE_X64=1 (the "
            "command line does) or jax.config.update('jax_enable_x64', True) "
            "before creating arrays",
            param="dtype",
        )
    return jnp.float64 if name == "float64" else jnp.float32

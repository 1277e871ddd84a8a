"""Test-wide settings.

* One BLAS thread per xdist worker (the workers share 2 cores).
* Two forced CPU devices, so every sharded code path runs on a real multi-device mesh
  (XLA reads the flag when JAX starts, hence before any import of jax).
* float64 available (theory checks need it); rank promotion and implicit dtype
  promotion are errors in tests, as in equinox's conftest: silent float32/float64
  mixing or broadcasting a (n,) against an (n, 1) should never pass unnoticed.
* Hypothesis profiles: ``ci`` (derandomised, no deadline since JAX compiles inside
  tests) is used when CI is set; ``dev`` otherwise; ``estimators`` (on top of either:
  200 examples in CI) for the rate estimators' properties.
"""

import contextlib
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one BLAS thread per xdist worker: -n 2 on 2 cores with multi-threaded BLAS in each
    # worker oversubscribes the machine (seen 10-20x slower Monte Carlo under contention)
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
settings.load_profile(_PROFILE)
# the estimator properties (tests/test_rates.py, test_fits.py, test_framework.py, ...):
# >= 200 derandomised examples each in CI, a quick 25 in development; they
# decorate themselves with @settings.get_profile("estimators")
settings.register_profile(
    "estimators",
    parent=settings.get_profile(_PROFILE),
    max_examples=200 if _PROFILE == "ci" else 25,
)


_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def _counting_compiles():
    count = [0]

    def listener(event, _duration, **_kw):
        if event == _COMPILE_EVENT:
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield lambda: count[0]
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def compile_count():
    """``with compile_count() as n: ...`` then ``n()``: the XLA compilations inside the
    block (JAX's own compile event, so every jitted program counts, ours or not)."""
    return _counting_compiles


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures a test draws (``plot`` returns them; only ``main`` saves and closes) are
    closed after it, so a worker does not accumulate open pyplot figures."""
    yield
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")

"""fast-hp-transfer: the executable version of "Understanding the Mechanisms of Fast
Hyperparameter Transfer" (Ghosh, Wu, Bietti, ICLR 2026) and rate estimation for your
own muP width sweeps.

The public API is what ``__all__`` lists (internals may change behind it); names load
lazily, so ``import fasttransfer`` costs neither JAX nor sympy:

* sweeps: :func:`read_sweep` (CSV -> validated DataFrame), :func:`analyze_sweep` (a
  DataFrame or a CSV path -> :class:`SweepResult`: alpha, beta, beta - alpha/2 with
  intervals, ``.verdict``, ``.summary()``, ``.to_json_dict()``, ``.plot()``), :func:`plan` (Theorem 2's
  compute-optimal proxy width, trials and target width);
* synthetic families with known rates: :class:`PowerLawFamily`, :class:`LateShiftFamily`,
  :func:`llama_family`, :func:`sample_sweep`;
* :mod:`fasttransfer.rfrr`: ``asymptotic_risk`` and ``optimal_lambda`` (random-feature
  ridge regression, SPEC §4);
* the top-k decomposition (SPEC §6): :func:`alignment_eigenvalues`, :func:`topk_change`,
  :class:`TrajectoryRecorder`, :class:`RecorderConfig`, :func:`scan_recorded`;
* :mod:`fasttransfer.mup`: the muP / SP rules of the two-layer ReLU net and of the deep
  MLP (Tensor Programs V, Table 3);
* the coordinate check of ANY JAX model: :func:`coordinate_check` (your per-width
  ``init`` and an ``apply`` returning named activations -> the tidy table param, width,
  t, module, l1), :func:`coordinate_slopes` (log-log slopes with intervals) and
  :func:`plot_coordinates` (the microsoft/mup-style figure).

The command line (``fasttransfer analyze|plan|verify|simulate|figures|coordcheck``)
parses, validates and calls these; it owns no math.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None = the module itself
_API: dict[str, tuple[str, str | None]] = {
    "read_sweep": ("fasttransfer.theory.sweep_data", "read_sweep"),
    "analyze_sweep": ("fasttransfer.analysis", "analyze_sweep"),
    "SweepResult": ("fasttransfer.analysis", "SweepResult"),
    "plan": ("fasttransfer.theory.grid_planner", "plan"),
    "PowerLawFamily": ("fasttransfer.theory.synthetic", "PowerLawFamily"),
    "LateShiftFamily": ("fasttransfer.theory.synthetic", "LateShiftFamily"),
    "llama_family": ("fasttransfer.theory.synthetic", "llama_family"),
    "sample_sweep": ("fasttransfer.theory.synthetic", "sample_sweep"),
    "alignment_eigenvalues": ("fasttransfer.simulations.alignment", "alignment_eigenvalues"),
    "topk_change": ("fasttransfer.simulations.alignment", "topk_change"),
    "TrajectoryRecorder": ("fasttransfer.simulations.recorder", "TrajectoryRecorder"),
    "RecorderConfig": ("fasttransfer.simulations.recorder", "RecorderConfig"),
    "scan_recorded": ("fasttransfer.simulations.recorder", "scan_recorded"),
    "coordinate_check": ("fasttransfer.simulations.coordcheck", "coordinate_check"),
    "coordinate_slopes": ("fasttransfer.simulations.coordcheck", "slopes"),
    "plot_coordinates": ("fasttransfer.coordinates", "plot_coordinates"),
    "rfrr": ("fasttransfer.rfrr", None),
    "mup": ("fasttransfer.simulations.mup", None),
}

__all__ = [*sorted(_API), "__version__"]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'fasttransfer' has no attribute {name!r}")
    module, attr = _API[name]
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))

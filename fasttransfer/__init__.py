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
  ridge regression, the paper's Theorem 3);
* the top-k decomposition (the paper's Section 4.1): :func:`alignment_eigenvalues`,
  :func:`topk_change`, :class:`TrajectoryRecorder`, :class:`RecorderConfig`, :func:`scan_recorded`;
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the lazy table below, spelled out for editors and type checkers
    from fasttransfer import rfrr as rfrr
    from fasttransfer.analysis import SweepResult as SweepResult
    from fasttransfer.analysis import analyze_sweep as analyze_sweep
    from fasttransfer.coordinates import plot_coordinates as plot_coordinates
    from fasttransfer.simulations import mup as mup
    from fasttransfer.simulations.alignment import alignment_eigenvalues as alignment_eigenvalues
    from fasttransfer.simulations.alignment import topk_change as topk_change
    from fasttransfer.simulations.coordcheck import coordinate_check as coordinate_check
    from fasttransfer.simulations.coordcheck import slopes as coordinate_slopes
    from fasttransfer.simulations.recorder import RecorderConfig as RecorderConfig
    from fasttransfer.simulations.recorder import TrajectoryRecorder as TrajectoryRecorder
    from fasttransfer.simulations.recorder import scan_recorded as scan_recorded
    from fasttransfer.theory.grid_planner import plan as plan
    from fasttransfer.theory.sweep_data import read_sweep as read_sweep
    from fasttransfer.theory.synthetic import LateShiftFamily as LateShiftFamily
    from fasttransfer.theory.synthetic import PowerLawFamily as PowerLawFamily
    from fasttransfer.theory.synthetic import llama_family as llama_family
    from fasttransfer.theory.synthetic import sample_sweep as sample_sweep

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

# the names of _API and __version__, spelled out so static tools read them
# (tests/test_public_api.py keeps this list, _API and the TYPE_CHECKING imports the same)
__all__ = [
    "LateShiftFamily",
    "PowerLawFamily",
    "RecorderConfig",
    "SweepResult",
    "TrajectoryRecorder",
    "__version__",
    "alignment_eigenvalues",
    "analyze_sweep",
    "coordinate_check",
    "coordinate_slopes",
    "llama_family",
    "mup",
    "plan",
    "plot_coordinates",
    "read_sweep",
    "rfrr",
    "sample_sweep",
    "scan_recorded",
    "topk_change",
]


if not TYPE_CHECKING:  # hidden from type checkers: they see the imports above, so a
    # misspelt fasttransfer.<name> is an error for them rather than an Any

    def __getattr__(name: str) -> object:
        if name not in _API:
            raise AttributeError(f"module 'fasttransfer' has no attribute {name!r}")
        module, attr = _API[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))

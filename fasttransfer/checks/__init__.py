"""The registry of ``fasttransfer verify`` checks.

A check is a module ``fasttransfer/checks/<name>.py`` that defines

    TITLE: str                       # one line, shown in progress and the report
    def run(ctx: CheckContext) -> list[CheckResult]

and is listed in :data:`CHECKS` (the order is the report's order). A check measures;
it never bends a measurement toward the paper. Its verdict is one of

* ``pass``    -- our measurement agrees with the paper's claim / the identity holds;
* ``differs`` -- measured honestly, and it disagrees with the paper's claim (reported in
  the "what differs" section; not an error);
* ``inconclusive`` -- measured in the claim's setting, but the evidence cannot decide
  it (the reasons are listed); not an error;
* ``reduced`` -- measured at a reduced preset (``quick``/``cpu``) of a claim whose setting
  is the paper's scale: reported as measured, no agreement or disagreement claimed;
* ``fail``    -- the check itself failed (an identity broken, an estimator off its
  known answer, a paper-scale result missing): ``verify`` exits 1.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Verdict = Literal["pass", "differs", "inconclusive", "reduced", "fail"]
VERDICTS: tuple[str, ...] = ("pass", "differs", "inconclusive", "reduced", "fail")

# name -> module; the report lists checks in this order.
CHECKS: dict[str, str] = {
    "estimators": "fasttransfer.checks.estimators",
    "theorem1": "fasttransfer.checks.theorem1",
    "theorem2": "fasttransfer.checks.theorem2",
    "theorem3": "fasttransfer.checks.theorem3",
    "relu": "fasttransfer.checks.relu",
    "coordcheck": "fasttransfer.checks.coordcheck",
    "topk": "fasttransfer.checks.topk",
}

PRESETS: tuple[str, ...] = ("quick", "pilot", "cpu", "paper")


@dataclass(frozen=True)
class CheckResult:
    """One row of the claims table.

    ``measured`` carries the number with its interval where there is one
    (e.g. ``"beta - alpha/2 = 0.21 [0.15, 0.27]"``); ``details`` is markdown shown under
    the table (derived formulas, per-width tables); ``figures`` are paths relative to the
    verify output directory; ``note`` says where our setup is a reconstruction or
    differs from the paper's; ``data`` is a structured, JSON-able summary of the claim
    for machine readers (claims.json; e.g. the topk check's per-setting conditions).
    """

    check: str
    claim: str
    paper: str
    measured: str
    verdict: Verdict
    details: str = ""
    figures: tuple[str, ...] = ()
    note: str = ""
    data: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class CheckContext:
    """What a check gets: the preset, where to write and whether to recompute stored
    results. A check reports progress through :mod:`logging` (its module's logger, at
    INFO), which ``fasttransfer verify`` shows on stderr.

    ``results_dir`` is the results store's root (``OUT/<study>/<preset>/...``, the layout
    ``simulate`` and ``figures`` share): results there of the same configuration and
    code are reused, others refused unless ``recompute``. A check never draws: it names
    its figures (``figures/<name>.png``) and ``verify`` draws them from the store.
    """

    preset: str
    out: Path
    recompute: bool = False

    @property
    def base_preset(self) -> str:
        """The preset for checks that have only quick and paper: ``cpu`` (the reduced
        regime of the simulations that have one) and ``pilot`` (the ReLU studies' own)
        run them at ``quick``."""
        return "quick" if self.preset in ("cpu", "pilot") else self.preset

    @property
    def results_dir(self) -> Path:
        return self.out

    @property
    def figures_dir(self) -> Path:
        return self.out / "figures"


def load_check(name: str):
    """The check module for ``name`` (raises KeyError for an unknown name)."""
    return importlib.import_module(CHECKS[name])

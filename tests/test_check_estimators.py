"""verify check ``estimators``: its data go through the results store (reused, never
silently overwritten), it names the figures verify draws, and its coverage scoring
counts what it says (the table of coverage and verdict rates per family)."""

import logging
import re

import numpy as np
import pytest

from fasttransfer import store
from fasttransfer.checks import CheckContext, estimators


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    sizes = dict(estimators.SIZES)
    estimators.SIZES["quick"] = {"draws": 1, "bootstrap": 20}
    logs = []  # the check's progress messages (logging, INFO)
    collect = logging.Handler(logging.INFO)
    collect.emit = lambda record: logs.append(record.getMessage())
    pkg = logging.getLogger("fasttransfer")
    level = pkg.level
    pkg.addHandler(collect)
    pkg.setLevel(logging.INFO)
    try:
        results = estimators.run(CheckContext(preset="quick", out=root))
        again = estimators.run(CheckContext(preset="quick", out=root))
    finally:
        pkg.removeHandler(collect)
        pkg.setLevel(level)
        estimators.SIZES.clear()
        estimators.SIZES.update(sizes)
    return root, results, again, logs


def test_the_check_stores_its_data_and_reuses_them(tiny):
    root, results, again, logs = tiny
    e = store.read_entry(root, "estimators", "quick")
    assert e.config == {"draws": 1, "bootstrap": 20}
    for name in (
        "coverage.json",
        "headline.json",
        "accuracy.json",
        "rate_framework.json",
        "late_shift.json",
    ):
        assert e.path(name).exists()
    assert any(line.startswith("reused") for line in logs)
    assert [r.measured for r in again] == [r.measured for r in results]
    # another configuration is refused, not overwritten
    with pytest.raises(store.StaleResult, match="recompute"):
        estimators.store_data(root, "quick", draws=2, bootstrap=20)


def test_the_check_names_its_figures_and_reports_every_family(tiny):
    _, results, _, _ = tiny
    assert len(results) == 5
    figs = {f for r in results for f in r.figures}
    assert figs == {"figures/rate_framework.png", "figures/late_shift.png"}
    cov = results[3]
    assert (
        "intervals cover the truth" in cov.claim and "Coverage of the 95% intervals" in cov.details
    )
    for case in (
        "fast",
        "weak",
        "crn",
        "single_seed",
        "small_gap",
        "cubic",
        "log_drift",
        "no_drift",
        "late_shift",
        "fast_underpowered",
    ):
        assert f"| {case} |" in re.sub(r" +\|", " |", cov.details)  # cells padded
    assert all(r.verdict in ("pass", "fail") for r in results)
    # the held-out acceptance checks hold at any size (they use 1000 resamples)
    assert [r.verdict for r in results[:3]] == ["pass"] * 3


def test_score_counts_coverage_and_verdicts():
    cov = {
        "x": {
            "truth": {"alpha": 0.5, "beta": None, "beta_minus_half_alpha": 0.0, "slope": None},
            "right": ["weak"],
            "estimates": {
                "alpha": [[0.5, 0.4, 0.6], [0.7, 0.65, 0.75], [0.5, 0.5, 0.5], [0.4, 0.3, 0.45]],
                "beta": [[0.2, 0.1, 0.3]] * 4,
                "beta_minus_half_alpha": [[0.0, -0.1, 0.1]] * 4,
                "slope": [[np.nan, np.nan, np.nan]] * 4,
            },
            "verdicts": ["weak", "fast", "inconclusive", "weak"],
        }
    }
    s = estimators.score(cov)["x"]
    assert s["coverage"]["alpha"]["coverage"] == 0.5  # 0.5 in [0.4, 0.6] and [0.5, 0.5]
    assert set(s["coverage"]) == {"alpha", "beta_minus_half_alpha"}  # no truth: not scored
    assert s["right"] == 0.5 and s["wrong"] == 0.25 and s["rates"]["inconclusive"] == 0.25
    cov_floor, wrong_ceiling = estimators._floors(100)
    assert cov_floor == pytest.approx(0.95 - 3 * np.sqrt(0.95 * 0.05 / 100))
    assert wrong_ceiling == pytest.approx(0.05 + 3 * np.sqrt(0.05 * 0.95 / 100))

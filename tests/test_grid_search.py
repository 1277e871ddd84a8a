"""theory.grid_search: brute force, planner and the slope study of Theorem 2."""

from dataclasses import replace

import numpy as np
import pytest

from fasttransfer.theory import grid_search as gs
from fasttransfer.theory.errors import InputError, cli_message


def _exhaustive_transfer(model, C):
    """Reference: every integer (n, m, K) with cost <= C (tiny C only)."""
    top = int(C ** (1 / model.rho)) + 1
    n = np.arange(1, top + 1, dtype=np.float64)[:, None]
    K = np.arange(1, int(C) + 1, dtype=np.float64)[None, :]
    best = np.inf
    for m in range(1, top + 1):  # reference only: one (n, K) plane per proxy width
        ok = (model.cost_transfer(n, float(m), K) <= C) & (n >= m)
        if np.any(ok):
            best = min(best, float(np.min(np.where(ok, model.excess_transfer(n, float(m), K), np.inf))))
    return best


def _exhaustive_direct(model, C):
    n = np.arange(1, int(C ** (1 / model.rho)) + 2, dtype=np.float64)[:, None]
    K = np.arange(1, int(C) + 1, dtype=np.float64)[None, :]
    ok = model.cost_direct(n, K) <= C
    return float(np.min(np.where(ok, model.excess_direct(n, K), np.inf)))


@pytest.mark.parametrize("params", [(0.5, 1.0, 1.0, 1.0), (1.0, 0.5, 1.5, 2.0), (0.8, 0.2, 1.0, 3.0)])
def test_brute_force_equals_exhaustive_search_on_small_budgets(params):
    a, b, r, hh = params
    model = gs.ExcessModel(alpha=a, beta=b, rho=r, h=hh, A=1.0, Bc=0.5, G=2.0)
    budgets = np.array([20.0, 90.0, 250.0])
    Ed = gs.brute_force_direct(model, budgets)[0]
    Et = gs.brute_force_transfer(model, budgets)[0]
    for C, ed, et in zip(budgets, Ed, Et):
        # below 256 every integer is a candidate: the search is exact
        assert ed == pytest.approx(_exhaustive_direct(model, C), rel=1e-12)
        assert et == pytest.approx(_exhaustive_transfer(model, C), rel=1e-12)


def test_integer_candidates():
    c = gs.integer_candidates(1e6, ratio=1.05)
    assert c[0] == 1 and c[-1] == 1e6 and np.all(np.diff(c) > 0)
    assert np.array_equal(c[:256], np.arange(1, 257))
    tail = c[255:]  # beyond the dense head: geometric cells, widened by at most the
    # floor() to integers (one unit: a relative 1/x)
    assert np.all(tail[1:] / tail[:-1] <= 1.05 + 1.0 / tail[:-1] + 1e-12)


@pytest.mark.parametrize("params", [(0.5, 0.5, 1.0, 1.0), (0.8, 0.2, 1.0, 1.0),
                                    (0.6, 0.9, 1.5, 3.0), (2.0, 0.1, 1.0, 1.0)])
def test_planner_is_affordable_and_matches_brute_force(params):
    a, b, r, hh = params
    model = gs.ExcessModel(alpha=a, beta=b, rho=r, h=hh)
    for C in (10.0, 1e4, 1e8):
        p = gs.plan(a, b, r, hh, C)
        assert model.cost_transfer(p.target_width, p.proxy_width, p.trials) <= C
        assert model.cost_direct(p.direct_width, p.direct_trials) <= C
        assert 1 <= p.proxy_width <= p.target_width and p.trials >= 1
        assert p.excess == pytest.approx(model.excess_transfer(p.target_width, p.proxy_width, p.trials))
        Et = gs.brute_force_transfer(model, [C], ratio=1.005)[0][0]
        Ed = gs.brute_force_direct(model, [C], ratio=1.005)[0][0]
        # the candidate grid (ratio 1.005) may miss the integer optimum by <~1% in
        # excess; the planner must be at least that good
        assert p.excess <= Et * 1.001
        assert p.direct_excess <= Ed * 1.001


@pytest.mark.parametrize("bad", [dict(alpha=0.0), dict(alpha=-1.0), dict(beta=-0.1), dict(rho=0.0),
                                 dict(h=0.5), dict(budget=1.0), dict(budget=0.5),
                                 dict(alpha="x"), dict(budget=float("inf"))])
def test_plan_rejects_bad_input(bad):
    kw = dict(alpha=0.5, beta=0.5, rho=1.0, h=1.0, budget=1e6) | bad
    with pytest.raises(InputError) as err:
        gs.plan(kw["alpha"], kw["beta"], kw["rho"], kw["h"], kw["budget"])
    name = next(iter(bad))
    # the library names the parameter; the command line writes it as the flag
    assert str(err.value).startswith(name) and err.value.param == name
    assert cli_message(err.value).startswith("--" + name)


def test_slopes_match_closed_forms_on_a_subset():
    names = {"fast, final run binds", "weak tie beta = alpha/2", "beta < alpha/2 (transfer worse)",
             "fast, both transfer terms tie"}
    cfg = replace(gs.SlopeStudyConfig(per_decade=1, ratio=1.05),
                  settings=tuple(s for s in gs.SETTINGS if s.name in names))
    tab = gs.slopes_table(gs.run_study(cfg), cfg)
    assert len(tab) == 8
    # 0.02: the tolerance; the fitted-vs-closed gaps are the C^-delta
    # corrections (delta >= 0.25 here) plus the grid's <= 5% excess error
    assert np.all(np.abs(tab.error) <= cfg.tolerance), tab
    assert np.all(np.abs(tab.top_error) <= cfg.tolerance), tab
    weak = tab[tab.setting == "weak tie beta = alpha/2"].set_index("strategy")
    assert weak.closed_form["direct"] == pytest.approx(weak.closed_form["transfer"])

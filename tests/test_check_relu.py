"""verify check ``relu``: the paper preset re-analyses the committed results bank on a
CPU (no simulation of the paper's sizes); reduced presets are labelled and claim
nothing; a missing bank entry is a failed check, not a silent pass."""

import json
import re

import pandas as pd
import pytest
import tiny_relu

from fasttransfer import store
from fasttransfer.checks import CheckContext, relu_pilot
from fasttransfer.checks import relu as check
from fasttransfer.simulations import relu_config, relu_studies, sweep


def _tiny_sp(monkeypatch):
    """The SP contrast at the paper preset comes from a CPU preset; tests use a tiny one."""
    real = relu_studies.counterexample_configs

    def configs_for(preset):
        out = real(preset)
        out["sp"] = tiny_relu.counterexample()["sp"]
        return out

    monkeypatch.setattr(relu_studies, "counterexample_configs", configs_for)


def test_paper_preset_reanalyses_the_banks_base_width_variant(tmp_path):
    """The bank's paper-scale runs in the base-width-128 convention are re-analysed by the
    same rows, each claim labelled as that variant, and never counted as the paper's own
    parametrisation (whose entries are missing until a GPU makes them)."""
    ctx = CheckContext(preset="paper", out=tmp_path)
    rows = check._bank_variant_rows(ctx)
    assert len(rows) == 3
    for r in rows:
        assert r.claim.startswith("[variant base_width-128, results bank]")
        assert r.verdict in ("pass", "differs", "inconclusive") and not r.figures
        assert "base width 128 (variant)" in r.note
    main = rows[0]
    assert main.measured.startswith("alpha = ") and "compare exponents" in main.details
    cfg, df, _ = relu_studies.bank_variants("relu")["mup__base_width-128"]
    from fasttransfer.theory.rates import analyze_sweep

    a = analyze_sweep(df, reference="extrapolate", bootstrap=1000, seed=0)
    assert main.verdict == check.weak_transfer_verdict(a, cfg.seeds)[0]


def test_missing_bank_is_a_failed_check(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    _tiny_sp(monkeypatch)
    ctx = CheckContext(preset="paper", out=tmp_path)
    (res,) = check._counterexample(ctx)
    assert res.verdict == "fail" and "results bank" in res.measured
    (res,) = check._late_shift(ctx)
    assert res.verdict == "fail"


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_reduced_preset_claims_nothing(tmp_path, monkeypatch):
    """A tiny stand-in for quick/cpu: every row of the paper's claims is 'reduced'."""
    tiny = tiny_relu.counterexample()
    monkeypatch.setattr(relu_studies, "counterexample_configs", lambda preset: tiny)
    ks = tiny_relu.late_shift()
    monkeypatch.setattr(relu_studies, "late_shift_configs", lambda preset: ks)
    ctx = CheckContext(preset="quick", out=tmp_path)
    rows = check.run(ctx)
    claims = {r.claim: r for r in rows}
    for claim in (check.PAPER_CLAIM, check.SHIFT_CLAIM, check.LAYERWISE_CLAIM):
        assert claims[claim].verdict == "reduced"
        assert "reduced regime" in claims[claim].measured
    assert claims[check.SP_CLAIM].verdict in ("pass", "differs")


def test_print_config_shows_the_papers_setup(capsys):
    from fasttransfer.cli import main

    assert main(["simulate", "relu", "--preset", "paper", "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["d"], cfg["batch"], cfg["steps"], cfg["loss"], cfg["task"]) == (
        64,
        256,
        16384,
        "bce",
        "ball",
    )
    assert cfg["widths"][0] == 181 and cfg["widths"][-1] == 16384 and len(cfg["widths"]) == 14
    assert "median of chi^2_64" in cfg["describe"] and cfg["out"].endswith("relu/paper/mup")
    assert (
        main(
            ["simulate", "relu", "--study", "kindex-layerwise", "--preset", "cpu", "--print-config"]
        )
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["out_lr_factor"] == pytest.approx(0.02) and cfg["study"] == "kindex-layerwise"
    # the pilot: the paper's parametrisation, one learning rate for both layers
    assert main(["simulate", "relu", "--preset", "pilot", "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["base_width"] is None and cfg["out_lr_factor"] == 1.0 and cfg["steps"] == 2**14
    assert "one Adam LR for both layers" in cfg["describe"] and cfg["out"].endswith(
        "relu/pilot/mup"
    )
    assert (
        main(["simulate", "relu", "--preset", "pilot", "--set", "base_width=128", "--print-config"])
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["out"].endswith("relu/pilot/mup__base_width-128")


def _paper_as_pilot(study: str, shift_octaves: float = 0.0) -> dict:
    """pilot_data's dict with the paper's own read-off points as our 3-seed sweep."""
    import numpy as np

    from fasttransfer.theory.relu_paper import readoff

    p = readoff(study)
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "width": p.width,
                    "hp": np.log(p.lr) + shift_octaves * np.log(2),
                    "loss": p.loss * (1 + 1e-3 * s),
                    "seed": s,
                }
            )
            for s in range(3)
        ],
        ignore_index=True,
    )
    return {
        "config": relu_config.ReluSweepConfig.from_preset("pilot", study=study),
        "df": df,
        "source": "test",
        "variants": {},
    }


@pytest.mark.parametrize("study", relu_config.STUDIES)
def test_pilot_row_compares_per_width_with_the_paper(study):
    row = relu_pilot.pilot_row(study, _paper_as_pilot(study))
    assert row.verdict == "pass" and "quantities agree" in row.measured
    assert "one Adam LR for both layers" in row.note
    assert "| width | quantity |" in re.sub(r" +\|", " |", row.details)  # cells padded
    off = relu_pilot.pilot_row(study, _paper_as_pilot(study, shift_octaves=2.0))
    assert off.verdict == "differs" and "Disagreeing" in off.details
    assert {r["quantity"] for r in off.data["comparison"]} >= {"log2_lr_star", "loss_star"}


class _Est:
    def __init__(self, lo, hi):
        self.estimate, self.ci = (lo + hi) / 2, (lo, hi)


class _Analysis:
    def __init__(self, verdict="weak", alpha=(0.5, 0.7), beta=(0.2, 0.6), warnings=()):
        self.verdict, self.alpha, self.beta = verdict, _Est(*alpha), _Est(*beta)
        self.warnings = tuple(warnings)


@pytest.mark.parametrize(
    "kw,seeds,verdict,reason",
    [
        ({}, 4, "pass", None),
        (dict(verdict="fast"), 4, "differs", "fast"),
        (dict(verdict="no-transfer"), 4, "differs", "no-transfer"),
        (dict(verdict="below-theory"), 4, "differs", "below-theory"),
        (dict(beta=(-0.1, 0.6)), 4, "inconclusive", "HP drift is not resolved"),  # no drift seen
        (dict(alpha=(-0.2, 1.0)), 4, "inconclusive", "loss gap is not resolved"),
        (dict(warnings=("no measurable HP drift",)), 4, "inconclusive", "warned"),
        ({}, 1, "inconclusive", "1 seed"),  # half the seeds and less
        (dict(verdict="inconclusive"), 4, "inconclusive", "'inconclusive'"),
    ],
)
def test_weak_transfer_needs_resolved_evidence(kw, seeds, verdict, reason):
    """'weak' by the interval rule alone is absence of evidence, not agreement."""
    got, reasons = check.weak_transfer_verdict(_Analysis(**kw), seeds)
    assert got == verdict
    assert (reason is None and reasons == []) or any(reason in r for r in reasons)


def test_one_seed_bimodal_late_shift_is_inconclusive():
    one_mode = pd.DataFrame({"n_modes": [1, 1]})
    two_modes = pd.DataFrame({"n_modes": [1, 2]})
    assert check._paper_verdict(True, False, 1, [two_modes]) == ("reduced", "")
    assert check._paper_verdict(False, True, 1, [two_modes])[0] == "inconclusive"
    assert check._paper_verdict(False, True, 1, [one_mode]) == ("differs", "")
    assert check._paper_verdict(True, True, 4, [two_modes]) == ("pass", "")


@pytest.mark.parametrize("study", relu_config.STUDIES)
def test_pilots_are_read_from_the_bank_in_seconds(study, tmp_path, monkeypatch):
    """The committed pilots and their sensitivity runs are current bank entries:
    `verify --preset pilot` re-analyses them without training anything."""

    def no_sim(*a, **k):
        raise AssertionError("a banked pilot must not be simulated")

    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    data = relu_studies.pilot_data(tmp_path, study)
    assert data["source"].startswith("results bank")
    assert set(data["variants"]) == set(relu_config.sensitivity_configs(study))
    row = relu_pilot.pilot_row(study, data)
    assert (
        row.verdict in ("pass", "differs") and "Sensitivity to each unstated choice" in row.details
    )
    assert len(row.data["sensitivity"]) == len(data["variants"])


def test_pilot_preset_runs_the_other_checks_at_quick(tmp_path):
    ctx = CheckContext(preset="pilot", out=tmp_path)
    assert ctx.base_preset == "quick"

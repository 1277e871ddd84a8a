"""verify check ``relu``: the paper preset re-analyses the committed results bank on a
CPU (no simulation of the paper's sizes); reduced presets are labelled and claim
nothing; a missing bank entry is a failed check, not a silent pass."""

import json

import pandas as pd
import pytest

import tiny_relu
from fasttransfer.checks import CheckContext
from fasttransfer.checks import relu as check
from fasttransfer.simulations import relu_config, relu_studies, sweep
from fasttransfer.theory import store


def _tiny_sp(monkeypatch):
    """The SP contrast at the paper preset comes from a CPU preset; tests use a tiny one."""
    real = relu_studies.counterexample_configs

    def configs_for(preset):
        out = real(preset)
        out["sp"] = tiny_relu.counterexample()["sp"]
        return out

    monkeypatch.setattr(relu_studies, "counterexample_configs", configs_for)


def _bank_has_paper_relu() -> bool:
    try:
        sweep.read_sweep(store.BANK, relu_config.preset("paper"))
        return True
    except (store.MissingResult, store.StaleResult):  # stale: tests/test_results_bank.py fails
        return False


@pytest.mark.skipif(not _bank_has_paper_relu(),
                    reason="no current paper-scale ReLU sweep in the results bank")
def test_paper_preset_reanalyses_the_bank(tmp_path, monkeypatch):
    _tiny_sp(monkeypatch)

    def no_sim(config, *a, **k):
        assert config.preset != "paper", "the paper preset must come from the bank"
        return real_run(config, *a, **k)

    real_run = sweep.run_sweep
    monkeypatch.setattr(sweep, "run_sweep", no_sim)
    ctx = CheckContext(preset="paper", out=tmp_path, log=lambda s: None)
    main, sp = check._counterexample(ctx)
    assert main.verdict in ("pass", "differs", "inconclusive")  # judged, not "reduced"
    assert main.measured.startswith("alpha = ") and "reduced" not in main.measured
    assert "0.742" in main.paper and "results bank" in main.note.lower()
    assert "stored entry" in main.details.lower() and "h100" in main.details.lower()
    assert "T = 16384" not in main.measured and "steps" in main.note
    assert set(main.figures) == {"figures/relu_transfer.png", "figures/relu_rates.png"}
    # the verdict is the rule's on the estimator's analysis of the bank
    cfg, df, _ = sweep.read_sweep(store.BANK, relu_config.preset("paper"))
    from fasttransfer.theory.rates import analyze_sweep

    a = analyze_sweep(df, reference="extrapolate", bootstrap=1000, seed=0)
    assert main.verdict == check.weak_transfer_verdict(a, cfg.seeds)[0]
    assert f"{a.beta.estimate:.3f}" in main.measured


def test_missing_bank_is_a_failed_check(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BANK", tmp_path / "no_bank")
    _tiny_sp(monkeypatch)
    ctx = CheckContext(preset="paper", out=tmp_path, log=lambda s: None)
    (res,) = check._counterexample(ctx)
    assert res.verdict == "fail" and "results bank" in res.measured
    (res,) = check._late_shift(ctx)
    assert res.verdict == "fail"


def test_reduced_preset_claims_nothing(tmp_path, monkeypatch):
    """A tiny stand-in for quick/cpu: every row of the paper's claims is 'reduced'."""
    tiny = tiny_relu.counterexample()
    monkeypatch.setattr(relu_studies, "counterexample_configs", lambda preset: tiny)
    ks = tiny_relu.late_shift()
    monkeypatch.setattr(relu_studies, "late_shift_configs", lambda preset: ks)
    ctx = CheckContext(preset="quick", out=tmp_path, log=lambda s: None)
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
    assert (cfg["d"], cfg["batch"], cfg["steps"], cfg["loss"], cfg["task"]) == \
        (64, 256, 16384, "bce", "ball")
    assert cfg["widths"][0] == 181 and cfg["widths"][-1] == 16384 and len(cfg["widths"]) == 14
    assert "median of chi^2_64" in cfg["describe"] and cfg["out"].endswith("relu/paper/mup")
    assert main(["simulate", "relu", "--study", "kindex-layerwise", "--preset", "cpu",
                 "--print-config"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["out_lr_factor"] == pytest.approx(0.02) and cfg["study"] == "kindex-layerwise"


class _Est:
    def __init__(self, lo, hi):
        self.estimate, self.ci = (lo + hi) / 2, (lo, hi)


class _Analysis:
    def __init__(self, verdict="weak", alpha=(0.5, 0.7), beta=(0.2, 0.6), warnings=()):
        self.verdict, self.alpha, self.beta = verdict, _Est(*alpha), _Est(*beta)
        self.warnings = tuple(warnings)


@pytest.mark.parametrize("kw,seeds,verdict,reason", [
    ({}, 4, "pass", None),
    (dict(verdict="fast"), 4, "differs", "fast"),
    (dict(verdict="no-transfer"), 4, "differs", "no-transfer"),
    (dict(verdict="below-theory"), 4, "differs", "below-theory"),
    (dict(beta=(-0.1, 0.6)), 4, "inconclusive", "HP drift is not resolved"),   # no drift seen
    (dict(alpha=(-0.2, 1.0)), 4, "inconclusive", "loss gap is not resolved"),
    (dict(warnings=("no measurable HP drift",)), 4, "inconclusive", "warned"),
    ({}, 1, "inconclusive", "1 seed"),                                          # half the seeds and less
    (dict(verdict="inconclusive"), 4, "inconclusive", "'inconclusive'"),
])
def test_weak_transfer_needs_resolved_evidence(kw, seeds, verdict, reason):
    """'weak' by the interval rule alone is absence of evidence, not agreement."""
    got, reasons = check.weak_transfer_verdict(_Analysis(**kw), seeds)
    assert got == verdict
    assert reason is None and reasons == [] or any(reason in r for r in reasons)


def test_one_seed_bimodal_late_shift_is_inconclusive():
    one_mode = pd.DataFrame({"n_modes": [1, 1]})
    two_modes = pd.DataFrame({"n_modes": [1, 2]})
    assert check._paper_verdict(True, False, 1, [two_modes]) == ("reduced", "")
    assert check._paper_verdict(False, True, 1, [two_modes])[0] == "inconclusive"
    assert check._paper_verdict(False, True, 1, [one_mode]) == ("differs", "")
    assert check._paper_verdict(True, True, 4, [two_modes]) == ("pass", "")

"""fasttransfer.checks.topk: the sufficient-condition verdict, the rank-bounded case and
the structured claims.json data, on constructed profiles (no training)."""

import json
import re
import types

import pandas as pd
import pytest
from topk_profiles import WIDTHS, K, frames

from fasttransfer.checks import topk
from fasttransfer.theory.algorithm1 import kappa_summary


@pytest.mark.parametrize(
    "applicable, held_out, holds, transfer, expected",
    [
        (False, True, True, "fast", "inconclusive"),  # rank-bounded: not applicable
        (True, True, True, "inconclusive", "inconclusive"),  # nothing to compare against
        (True, False, True, "fast", "inconclusive"),  # kappa not held out
        (True, True, True, "fast", "pass"),
        (True, True, True, "weak", "differs"),  # the only contradiction
        (True, True, True, "no-transfer", "differs"),
        (True, True, True, "below-theory", "differs"),
        (True, True, False, "fast", "inconclusive"),  # sufficient, not necessary
        (True, True, False, "weak", "inconclusive"),
    ],
)
def test_verdict_treats_the_conditions_as_sufficient(
    applicable, held_out, holds, transfer, expected
):
    verdict, why = topk.setting_verdict(applicable, held_out, holds, transfer)
    assert verdict == expected
    if not applicable:
        assert why == "not applicable (rank-bounded spectrum)"


def _res(prof, final, transfer=None):
    from dataclasses import asdict

    from fasttransfer.simulations.recorder import RecorderConfig

    variants = pd.DataFrame(
        {
            "width": [8, 8],
            "lr": [0.1, 0.1],
            "variant": ["default", "trapezoid"],
            "records": [10, 10],
            "faithfulness": [0.01, 0.002],
            "topk_1": [0.5, 0.49],
            "profile_diff": [0.0, 0.03],
        }
    )
    if transfer is None:  # the recorded seeds only
        transfer = final[["width", "hp", "seed", "loss"]].assign(recorded=True)
    return {
        "final": final,
        "profile": prof,
        "transfer": transfer,
        "kappa": kappa_summary(prof, final),
        "recorder": asdict(RecorderConfig()),
        "variants": variants,
        "config": types.SimpleNamespace(widths=WIDTHS),
    }


def test_row_carries_the_structured_data():
    # top-kappa gap ~ n^-2, the loss gap ~ n^-0.5 (carried by a flat residual)
    prof, final = frames(
        5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0, res_shift=lambda n: n**-0.5
    )
    row = topk._setting_row("mlp", _res(prof, final), (), "quick")
    d = row.data
    assert d["setting"] == "mlp" and d["preset"] == "quick" and d["applicable"] is True
    assert d["conditions"] == {"convexity": True, "invariance": True, "flatness": True}
    assert d["kappa_hat"] == {str(n): [5] * 9 for n in WIDTHS[:-1]}
    assert d["held_out"] is True
    # the recorder-variants table is reported beside the published decomposition
    table = re.sub(r" +\|", " |", row.details)  # the cells, without their padding
    assert "| trapezoid | 10 | 0.002 | 0.49 | 0.03 |" in table
    assert "left rule, EMA decay warmed up 0.98 -> 0.9995 over 2000 steps" in row.details
    assert row.verdict == topk.setting_verdict(True, True, True, d["transfer_verdict"])[0]
    json.dumps(d)  # JSON-able as written into claims.json


def test_rank_bounded_setting_is_not_applicable():
    prof, final = frames(5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0)
    prof = prof.assign(residual=prof["residual"].where(prof["k"] != K, 0.0))
    row = topk._setting_row("relu", _res(prof, final), (), "quick")
    assert row.data["applicable"] is False and row.verdict == "inconclusive"
    assert row.measured.startswith("not applicable (rank-bounded spectrum)")


def test_claims_json_has_the_data_field(tmp_path):
    from fasttransfer.report import write_report

    prof, final = frames(5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0)
    row = topk._setting_row("mlp", _res(prof, final), (), "quick")
    paths = write_report([row], tmp_path, preset="quick", timings={"topk": 0.0})
    claims = json.loads(paths["json"].read_text())["claims"]
    assert claims[0]["data"]["conditions"] == row.data["conditions"]


def test_the_transfer_verdict_reads_the_transfer_sweep():
    """The verdict's seeds are the transfer sweep's (recorded + unrecorded), and it is
    that sweep which is analysed: a transfer sweep without a usable width spread makes the
    transfer verdict inconclusive whatever the recorded seeds say."""
    prof, final = frames(
        5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0, res_shift=lambda n: n**-0.5
    )
    rec = final[["width", "hp", "seed", "loss"]].assign(recorded=True)
    more = rec.assign(seed=rec["seed"] + 10, recorded=False)
    row = topk._setting_row("mlp", _res(prof, final, pd.concat([rec, more])), (), "quick")
    assert "the decomposed loss (4 seeds, 2 of them recorded): " in row.measured
    # no raw_loss column: the last iterate's verdict says so instead of guessing
    assert row.data["transfer_verdict_last_iterate"] == "inconclusive"
    assert "at the last iterate w_T: inconclusive (no last-iterate losses stored)" in row.measured
    assert row.data["transfer_verdict"] == topk._analyze(pd.concat([rec, more]))[0].verdict
    one_width = rec[rec["width"] == WIDTHS[0]]
    row = topk._setting_row("mlp", _res(prof, final, one_width), (), "quick")
    assert row.data["transfer_verdict"] == "inconclusive"
    assert "the decomposed loss (2 seeds): inconclusive (" in row.measured
    assert "not a test of the paper's positive claim" in row.measured


def test_the_last_iterate_verdict_reads_raw_loss():
    """The last-iterate verdict is the same analysis on the raw_loss column: equal losses
    give equal verdicts, and a raw_loss whose optimum does not move (a width-free curve)
    gives that curve's own verdict, not the EMA point's."""
    prof, final = frames(
        5, seeds=(0, 1), shift=lambda n: 10.0 * n**-2.0, res_shift=lambda n: n**-0.5
    )
    rec = final[["width", "hp", "seed", "loss"]].assign(recorded=True)
    same = rec.assign(raw_loss=rec["loss"])
    row = topk._setting_row("mlp", _res(prof, final, same), (), "quick")
    assert row.data["transfer_verdict_last_iterate"] == row.data["transfer_verdict"]
    flat = rec.assign(raw_loss=(rec["hp"] - 0.3) ** 2 + 1.0)
    row = topk._setting_row("mlp", _res(prof, final, flat), (), "quick")
    expected = topk._analyze(flat.assign(loss=flat["raw_loss"]))
    word = expected[0].verdict if expected[0] is not None else "inconclusive"
    assert row.data["transfer_verdict_last_iterate"] == word
    text = topk._transfer_text(*expected)
    assert "at the last iterate w_T: " + text in row.measured
    assert text != topk._transfer_text(*topk._analyze(rec))  # the test can tell them apart


def test_samplewise_row_reads_its_study(tmp_path):
    """The sample-wise row at the quick preset: its verdict is the stated rule on the
    stored interval, its numbers are the stored study's, and it names its figure."""
    from fasttransfer.checks import CheckContext
    from fasttransfer.simulations import samplewise
    from fasttransfer.theory import mci as sw

    row = topk._samplewise_row(CheckContext(preset="quick", out=tmp_path))
    res = samplewise.simulate(tmp_path, "quick", progress=False)  # reused
    lo, hi = sw.easy_minus_hard(res["mci"], res["config"].frac)["ci"]
    assert row.data["easy_minus_hard"]["ci"] == pytest.approx([lo, hi], nan_ok=True)
    assert row.verdict == ("pass" if lo > 0 else "differs" if hi < 0 else "inconclusive")
    n = sw.reference_width(res["mci"]["width"].unique())
    m = res["mci"].loc[res["mci"]["width"] == n, "mci"]
    assert row.data["mean_mci"] == pytest.approx(m.mean())
    assert f"mean MCI {m.mean():.1f}" in row.measured
    assert row.figures == ("figures/samplewise_mci.png",)

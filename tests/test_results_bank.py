"""The committed results bank: every entry complete, current with the code its numbers
depend on (else `verify --preset paper` refuses it: after a refactor that keeps the
numbers, run benchmarks/restamp_bank.py), with its provenance; the golden CSVs that
restamping compares against are there."""

import json
import sys
from pathlib import Path

import pytest

from fasttransfer import store

ENTRIES = sorted(store.BANK.glob(f"*/*/*/{store.MANIFEST}"))
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("manifest", ENTRIES, ids=lambda p: "/".join(p.parts[-4:-1]))
def test_bank_entry_is_complete_current_and_documented(manifest):
    m = json.loads(manifest.read_text())
    entry = store.read_entry(store.BANK, m["study"], m["preset"], *m["key"])  # not stale
    assert entry.complete and m["code_modules"]
    prov = m["provenance"]
    if m["preset"] == "paper":  # made on a GPU, with the runs' logs
        assert "h100" in prov["device"]["kind"].lower() and prov["runs"]
    else:  # the pilots: the paper's setup at its smallest widths, on a CPU
        assert m["preset"] == "pilot" and prov["device"]["kind"] and prov["git"]
    assert (manifest.parent / "relu_sweep.csv").exists() and (
        manifest.parent / "cells.json"
    ).exists()


def test_the_bank_has_entries_and_golden_runs():
    assert len(ENTRIES) >= 3
    assert (store.BANK / "golden" / "relu_quick.csv").exists()
    assert (store.BANK / "golden" / "kindex_quick.csv").exists()


def test_restamp_rewrites_only_stale_entries(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import restamp_bank
    finally:
        sys.path.remove(str(BENCH))
    mods = ["fasttransfer.theory.fits"]
    for study, code in (("a", "0" * 16), ("b", store.code_version(mods))):
        d = tmp_path / study / "paper" / "mup"
        d.mkdir(parents=True)
        (d / store.MANIFEST).write_text(
            json.dumps(
                {
                    "study": study,
                    "preset": "paper",
                    "key": ["mup"],
                    "config": {},
                    "code_version": code,
                    "code_modules": mods,
                    "status": "complete",
                    "provenance": {},
                }
            )
        )
    changed = restamp_bank.restamp(tmp_path, log=lambda s: None)
    assert changed == [str(tmp_path / "a" / "paper" / "mup")]
    m = json.loads((tmp_path / "a" / "paper" / "mup" / store.MANIFEST).read_text())
    assert m["code_version"] == store.code_version(mods)
    assert m["provenance"]["restamps"][0]["from"] == "0" * 16


@pytest.mark.slow  # CI runs it (the README's second test command)
def test_base_width_variant_reproduces_the_golden_runs_bit_for_bit():
    """The base-width-128 convention that made the bank's paper entries is still the
    engine's, to the last bit: the golden quick runs (made by the code that made the
    bank, configuration stored beside them) are reproduced exactly."""
    sys.path.insert(0, str(BENCH))
    try:
        import restamp_bank
    finally:
        sys.path.remove(str(BENCH))
    cfg = restamp_bank.golden_config(store.BANK, "relu")
    assert cfg.base_width == 128 and cfg.store_key() == "mup__base_width-128"
    assert restamp_bank.golden_matches(store.BANK, log=lambda s: None) == {
        "relu": True,
        "kindex": True,
    }

"""Re-stamp the results bank's code version after a change that leaves the ReLU engine's
numbers as they were (a refactor, a new error message, a moved helper).

The bank's entries are keyed on the code of ``simulations.sweep.CODE_MODULES``; any edit
to those modules makes them stale (``verify --preset paper`` then refuses them, and
tests/test_results_bank.py fails). Paper-scale entries cannot be remade on a CPU, so
this script checks the claim "the numbers did not change" on what a CPU can run: the
``quick`` preset of ``relu`` and ``kindex`` as it was when the bank's first entries were
made (base width 128, the earlier grids), whose configurations (``<study>_quick.json``)
and CSVs (``<study>_quick.csv``) made by the code that made the bank are kept in
``results_bank/golden/``; the configuration is read from there, so later preset changes
do not move the comparison. A golden CSV is bit-exact only under the JAX/XLA build that
made it: ``golden/jax-<version>/`` holds the same runs made by the same code (commit
cff9071, whose numbers are the bank's) under another JAX version, and is used when that
version is installed (the relu run differs from the first golden by at most 1.1e-9 under
jax 0.10.2: XLA's float32 rounding, not the code). When the current code reproduces both bit for
bit, every bank entry gets the current code version and a line in its manifest's
``provenance.restamps``; otherwise nothing is written and the exit status is 1 (the
engine's numbers changed: the bank has to be remade on a GPU).

    python benchmarks/restamp_bank.py            # check, and re-stamp when identical
    python benchmarks/restamp_bank.py --check    # check only

The last printed line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

# The golden runs in results_bank/golden/: configuration (.json) and CSV made by the code
# that made the bank.
GOLDEN = {"relu": "relu_quick", "kindex": "kindex_quick"}


def golden_config(bank: Path, study: str):
    """The golden run's configuration, read from ``<bank>/golden/<name>.json``."""
    from fasttransfer.simulations.relu_config import ReluSweepConfig

    path = bank / "golden" / f"{GOLDEN[study]}.json"
    return ReluSweepConfig.from_json_dict(json.loads(path.read_text(encoding="utf-8")))


def golden_csv(bank: Path, study: str) -> Path:
    """The golden CSV for the installed JAX version (golden/jax-<version>/ when there is
    one, else golden/)."""
    import jax

    own = bank / "golden" / f"jax-{jax.__version__}" / f"{GOLDEN[study]}.csv"
    return own if own.exists() else bank / "golden" / f"{GOLDEN[study]}.csv"


def golden_matches(bank: Path, log=print) -> dict:
    """{study: True/False}: does the current code reproduce the golden CSV bit for bit?"""
    import os

    os.environ.setdefault("JAX_ENABLE_X64", "1")
    import pandas as pd

    from fasttransfer.simulations import sweep

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for study in GOLDEN:
            cfg = golden_config(bank, study)
            sweep.run_sweep(cfg, tmp, progress=False)
            old = pd.read_csv(golden_csv(bank, study))
            new = pd.read_csv(sweep.entry_dir(tmp, cfg) / sweep.CSV_NAME)
            key = ["width", "hp", "seed"]
            old, new = (d.sort_values(key).reset_index(drop=True) for d in (old, new))
            out[study] = bool(old.shape == new.shape and old.equals(new))
            log(
                f"{study} quick preset: {'bit-identical' if out[study] else 'DIFFERS'} "
                f"({len(new)} rows)"
            )
    return out


def restamp(bank: Path, log=print) -> list[str]:
    """Give every bank entry the current code version of its modules; returns the
    entries changed."""
    from fasttransfer import store

    changed = []
    for m in sorted(bank.glob(f"*/*/*/{store.MANIFEST}")):
        manifest = json.loads(m.read_text(encoding="utf-8"))
        new = store.code_version(manifest["code_modules"])
        if new == manifest["code_version"]:
            continue
        now = store.provenance()
        manifest["provenance"].setdefault("restamps", []).append(
            {
                "date_utc": now["date_utc"],
                "from": manifest["code_version"],
                "to": new,
                "git": now["git"],
                "evidence": "benchmarks/restamp_bank.py: the quick presets of relu and kindex "
                "reproduce results_bank/golden/ bit for bit",
            }
        )
        manifest["code_version"] = new
        store.atomic_write_json(m, manifest, sort_keys=True)
        changed.append(str(m.parent))
        log(f"re-stamped {m.parent}: {manifest['provenance']['restamps'][-1]['from']} -> {new}")
    return changed


def main(argv=None) -> int:
    from fasttransfer import store

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bank", type=Path, default=store.BANK)
    p.add_argument("--check", action="store_true", help="compare only; write nothing")
    args = p.parse_args(argv)
    same = golden_matches(args.bank)
    changed = restamp(args.bank) if all(same.values()) and not args.check else []
    print(json.dumps({"golden_identical": same, "restamped": changed}))
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""``fasttransfer simulate rfrr``: the Theorem 3 study (SPEC §4) in the paper's setting
(Figure 4: tanh features, normalised ReLU single-index target, psi_1 = 4, sigma_eps = 1/4)
and ours (ReLU features) -- risk curves and their minima, the rates table of lam*, R*,
a, b, c, Monte Carlo at two finite d -- into the store entry OUT/rfrr/<preset>/, and the
sympy constants of proofs_check/rfrr_constants.py into OUT/rfrr_constants/<preset>/;
reused when stored, resumable. The relu-only flags are ignored here."""

from __future__ import annotations

import argparse
import json


def run_all(root, config, *, recompute: bool = False, log=print, progress: bool = False):
    """The study entry and the constants entry of `config` (reused when stored):
    returns (study tables by name, constants.json as a dict)."""
    from fasttransfer.proofs_check.rfrr_constants import store_constants
    from fasttransfer.simulations.rfrr import read_study, run_study

    study = read_study(run_study(root, config, recompute=recompute, log=log,
                                 progress=progress))
    P = config.paper
    const = store_constants(root, config.preset, psi_1=P.psi_1, mu1_sq=P.mu1_sq,
                            target_mu1_sq=P.target_mu1_sq, sigma_eps=P.sigma_eps,
                            dps=max(config.dps, 30), recompute=recompute, log=log)
    return study, const.read_json("constants.json")


def run(args: argparse.Namespace) -> int:
    from fasttransfer.simulations.rfrr import RFRRConfig

    config = RFRRConfig.preset_config(args.preset)
    if getattr(args, "print_config", False):
        print(json.dumps(config.to_json_dict(), indent=2))
        return 0
    study, const = run_all(args.out, config, recompute=getattr(args, "recompute", False),
                           log=print, progress=not getattr(args, "no_progress", False))
    rates, v = study["paper_rates"], const["values"]
    print(f"paper setting: rates at {int(rates.figure.sum()) - 1} Figure 4b widths and "
          f"{int((~rates.figure).sum())} large widths, {len(study['paper_mc'])} Monte Carlo "
          f"risks; ours: {len(study['ours_mc'])} Monte Carlo risks")
    print(f"lam*(inf) = {v['lam_star_inf_derived']:.6g} (paper units), R*(inf) = "
          f"{v['risk_star_inf']:.6g}; C_eta derived {v['C_eta_derived']:.6g} vs printed "
          f"{v['C_eta_printed']:.6g}; C_lambda derived {v['C_lambda_derived']:.6g} vs "
          f"printed {v['C_lambda_printed']:.6g}")
    print(f"stored under {args.out}/rfrr/{config.preset}/ and "
          f"{args.out}/rfrr_constants/{config.preset}/")
    return 0

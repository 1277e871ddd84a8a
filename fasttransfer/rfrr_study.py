"""The random-feature ridge regression study (:mod:`simulations.rfrr`: asymptotics, rates,
Monte Carlo) and its symbolic constants (:mod:`proofs_check.rfrr_constants`), stored side
by side: the one place that joins the two subpackages, for ``simulate rfrr`` and the
``theorem3`` check alike."""

from __future__ import annotations

__all__ = ["study_and_constants"]


def study_and_constants(root, config, *, recompute: bool = False, progress: bool = False):
    """The study entry and the constants entry of ``config`` under ``root`` (reused when
    stored): (study tables by name, constants.json as a dict). ``simulate rfrr`` and the
    ``theorem3`` check run this."""
    from fasttransfer.proofs_check.rfrr_constants import store_constants
    from fasttransfer.simulations.rfrr import read_study, run_study

    study = read_study(run_study(root, config, recompute=recompute, progress=progress))
    P = config.paper
    const = store_constants(
        root,
        config.preset,
        psi_1=P.psi_1,
        mu1_sq=P.mu1_sq,
        target_mu1_sq=P.target_mu1_sq,
        sigma_eps=P.sigma_eps,
        dps=max(config.dps, 30),
        recompute=recompute,
    )
    return study, const.read_json("constants.json")

"""The paper's figures, one module per figure.

Each module in :data:`FIGURES` defines

    NAME: str                                  # file stem of the saved figure
    CAPTION: str                               # one sentence for the README gallery
    def load(results_dir: Path, preset: str)   # stored results -> data (never simulates;
                                               # a missing result is an error naming the
                                               # command that makes it)
    def plot(data) -> matplotlib.figure.Figure # pure: data -> figure
    def main(argv=None) -> int                 # draws the stored results, saves the figure

Figures are views and own no math: they draw what ``theory`` and ``simulations``
computed and the results store (:mod:`fasttransfer.store`, read through
:mod:`paper_figures.stored`) holds. A module may list ``PRESETS``, the presets its
study has (others are drawn at quick).
"""

FIGURES: dict[str, str] = {
    "rate_framework": "fasttransfer.paper_figures.rate_framework",
    "late_shift": "fasttransfer.paper_figures.late_shift",
    "theorem1_gaps": "fasttransfer.paper_figures.theorem1_gaps",
    "compute_optimal": "fasttransfer.paper_figures.compute_optimal",
    "rfrr_risk": "fasttransfer.paper_figures.rfrr_risk",
    "rfrr_rates": "fasttransfer.paper_figures.rfrr_rates",
    "relu_transfer": "fasttransfer.paper_figures.relu_transfer",
    "relu_rates": "fasttransfer.paper_figures.relu_rates",
    "kindex_late_shift": "fasttransfer.paper_figures.kindex_late_shift",
    "coordcheck": "fasttransfer.paper_figures.coordcheck",
    "topk_curves": "fasttransfer.paper_figures.topk_curves",
    "topk_final": "fasttransfer.paper_figures.topk_final",
    "topk_profile": "fasttransfer.paper_figures.topk_profile",
    "topk_flatness": "fasttransfer.paper_figures.topk_flatness",
    "topk_kappa": "fasttransfer.paper_figures.topk_kappa",
    "samplewise_mci": "fasttransfer.paper_figures.samplewise",
}


def draw(name: str, results_dir, out_dir, *, preset: str, fallback: str) -> str | None:
    """Draw figure ``name`` from the results stored under ``results_dir`` (then the
    bank) into ``out_dir`` as PNG and PDF, at ``preset`` where its study has it
    (``PRESETS`` in the module), else at ``fallback``. Figures are views: nothing is
    simulated; returns None when drawn, else why not (missing or stale results)."""
    import importlib

    from fasttransfer.paper_figures.style import save
    from fasttransfer.store import MissingResult, StaleResult

    module = importlib.import_module(FIGURES[name])
    at = preset if preset in getattr(module, "PRESETS", ()) else fallback
    try:
        save(module.plot(module.load(results_dir, at)), out_dir, name)
    except (MissingResult, StaleResult) as err:
        return str(err)
    return None

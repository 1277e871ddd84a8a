"""The paper's figures, one module per figure.

Each module in :data:`FIGURES` defines

    NAME: str                                  # file stem of the saved figure
    CAPTION: str                               # one sentence for the README gallery
    def load(results_dir: Path, preset: str)   # stored results -> data; runs the quick
                                               # simulation it needs when they are missing
    def plot(data) -> matplotlib.figure.Figure # pure: data -> figure
    def main(argv=None) -> int                 # tiny run, saves the figure (smoke tests)

Figures own no math: they draw what ``theory`` and ``simulations`` computed.
"""

FIGURES: dict[str, str] = {
    "rate_framework": "paper_figures.rate_framework",
    "late_shift": "paper_figures.late_shift",
    "theorem1_gaps": "paper_figures.theorem1_gaps",
    "compute_optimal": "paper_figures.compute_optimal",
    "rfrr_risk": "paper_figures.rfrr_risk",
    "rfrr_rates": "paper_figures.rfrr_rates",
    "relu_transfer": "paper_figures.relu_transfer",
    "relu_rates": "paper_figures.relu_rates",
    "kindex_late_shift": "paper_figures.kindex_late_shift",
    "coordcheck": "paper_figures.coordcheck",
    "topk_curves": "paper_figures.topk_curves",
    "topk_final": "paper_figures.topk_final",
    "topk_profile": "paper_figures.topk_profile",
}

"""paper_figures.samplewise: main() at tiny size, drawn from a stored study only."""

from fasttransfer.paper_figures import FIGURES
from fasttransfer.paper_figures import samplewise as fig
from fasttransfer.simulations import samplewise as sw


def test_main_draws_the_stored_study(tmp_path):
    cfg = sw.SamplewiseConfig.from_preset("quick", widths=(16, 32), seeds=(0, 1), steps=20)
    sw.simulate(tmp_path / "results", "quick", cfg, progress=False)
    assert FIGURES[fig.NAME] == fig.__name__ and fig.CAPTION.endswith(".")
    assert (
        fig.main(
            ["--results", str(tmp_path / "results"), "--preset", "quick", "--out", str(tmp_path)]
        )
        == 0
    )
    assert (tmp_path / f"{fig.NAME}.png").stat().st_size > 0
    data = fig.load(tmp_path / "results", "quick")
    assert set(data["overlap"]["width_a"]) <= {16, 32} and data["frac"] == cfg.frac

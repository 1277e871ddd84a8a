"""The coordinate check's figure for any model: the microsoft/mup-style plot of a tidy
table from :func:`fasttransfer.coordinate_check`, with its log-log slopes computed here
(:func:`simulations.coordcheck.slopes`) and drawn by :mod:`paper_figures.coordcheck`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_coordinates(table: pd.DataFrame) -> Figure:
    """A matplotlib Figure of ``table`` (columns param, width, t, module, l1[, seed]):
    one panel per (param, t), mean |x| against width per module, slopes in the legend."""
    from fasttransfer.paper_figures import coordcheck as figure
    from fasttransfer.simulations.coordcheck import slopes

    return figure.plot({"table": table, "slopes": slopes(table)})

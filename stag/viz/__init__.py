"""Figures for the book. One theme (:mod:`stag.viz.theme`); one module per topic.

Every plotting function takes data (arrays, DataFrames, dataclasses from the package), draws on
a given or new :class:`matplotlib.axes.Axes`/figure and returns it; none computes results.
"""

from stag.viz.theme import PALETTE, apply_theme, new_figure

__all__ = ["PALETTE", "apply_theme", "new_figure"]

"""The book's figure style: readable fonts, a colour-blind-safe palette, labelled axes."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
)
# Sequential and diverging colour maps that stay readable in grey and for colour-blind readers.
SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"


def apply_theme() -> None:
    """Set the matplotlib/seaborn style used by every figure in the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(PALETTE), font_scale=1.0)
    mpl.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "figure.figsize": (6.4, 4.0),
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9,
        "image.cmap": SEQUENTIAL_CMAP,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw):
    """``(fig, axes)`` with the theme applied; ``axes`` squeezed like :func:`plt.subplots`."""
    apply_theme()
    return plt.subplots(nrows, ncols, figsize=(width, height), **kw)

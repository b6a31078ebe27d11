"""The book's figure style and its class palette (the same class keeps its colour)."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

BOOK_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (8.0, 3.0),
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the shared style to every later figure (PNG output in notebooks)."""
    mpl.rcParams.update(BOOK_STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside IPython there is nothing to configure
        return
    set_matplotlib_formats("png")


def class_colors(labels) -> dict:
    """A fixed colour per label, in sorted label order.

    tab20 holds ten hues in dark/light pairs; taking the ten dark ones first keeps
    neighbouring classes apart (cycled past 20 classes).
    """
    cmap = mpl.colormaps["tab20"]
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    ordered = sorted(set(np.asarray(labels).tolist()), key=lambda v: (str(type(v)), v))
    return {label: cmap(order[i % 20]) for i, label in enumerate(ordered)}

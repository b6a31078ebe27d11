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


# colours 11-20, after tab10's ten: chosen far (CIELAB) from tab10 and from each other,
# so that no two classes of one figure share a hue (tab20's light twins did: a light blue
# eleventh class beside the dark blue first one)
EXTRA_COLORS = (
    "#000000",
    "#ffe119",
    "#000075",
    "#aaffc3",
    "#f032e6",
    "#dcbeff",
    "#bfef45",
    "#ffd8b1",
    "#469990",
    "#800000",
)


def class_colors(labels) -> dict:
    """A fixed colour per label, in sorted label order: tab10's ten, then
    :data:`EXTRA_COLORS` (cycled past 20 classes)."""
    palette = [mpl.colors.to_rgba(c) for c in (*mpl.colormaps["tab10"].colors, *EXTRA_COLORS)]
    ordered = sorted(set(np.asarray(labels).tolist()), key=lambda v: (str(type(v)), v))
    return {label: palette[i % len(palette)] for i, label in enumerate(ordered)}

"""Figures shared by the chapters: one style, one palette, segment bars, the
recognition chapters' curves, confusion matrix and t-SNE map, attention maps on one
colour scale.

Importing this package imports matplotlib; the rest of the library does not.
"""

from .attention import plot_attention_grid, uniform_attention
from .recognition import plot_confusion, plot_learning_curves, plot_tsne
from .segments import plot_segment_bars
from .style import class_colors, use_book_style

__all__ = [
    "class_colors",
    "plot_attention_grid",
    "plot_confusion",
    "plot_learning_curves",
    "plot_segment_bars",
    "plot_tsne",
    "uniform_attention",
    "use_book_style",
]

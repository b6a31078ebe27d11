"""Figures shared by the chapters: one style, one palette, segment bars.

Importing this package imports matplotlib; the rest of the library does not.
"""

from .segments import plot_segment_bars
from .style import class_colors, use_book_style

__all__ = ["class_colors", "plot_segment_bars", "use_book_style"]

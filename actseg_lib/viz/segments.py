"""Segment bars: label sequences drawn as coloured runs on a shared time axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from ..metrics import segments
from .style import class_colors


def plot_segment_bars(
    rows: dict, ax=None, colors: dict | None = None, class_names: dict | None = None, background=(), legend: bool = True
):
    """Draw one bar per labelled sequence, e.g. ``{"truth": y, "prediction": p}``.

    Args:
        rows: name -> 1-D frame labels; all rows share the time axis (frames).
        colors: label -> colour; defaults to :func:`class_colors` over all rows.
        class_names: label -> name shown in the legend.
        background: labels drawn in light grey (as the metrics ignore them).
    """
    if not rows:
        raise ValueError("rows: expected at least one labelled sequence")
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 0.45 * len(rows) + 0.8))
    all_labels = np.concatenate([np.asarray(v) for v in rows.values()])
    colors = colors or class_colors(all_labels)
    background = set(background)
    seen = []
    for i, labels in enumerate(rows.values()):
        segs = segments(labels)
        y = len(rows) - 1 - i  # first row on top
        for label, start, end in zip(segs.labels.tolist(), segs.starts, segs.ends):
            face = "#e6e6e6" if label in background else colors[label]
            ax.broken_barh([(start, end - start)], (y - 0.4, 0.8), facecolors=face)
            if label not in seen:
                seen.append(label)
    ax.set_yticks(range(len(rows)), list(rows)[::-1])
    ax.set_xlim(0, max(len(np.asarray(v)) for v in rows.values()))
    ax.set_xlabel("frame")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    if legend:
        names = class_names or {}
        handles = [
            Patch(color="#e6e6e6" if lab in background else colors[lab], label=str(names.get(lab, lab))) for lab in seen
        ]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return ax

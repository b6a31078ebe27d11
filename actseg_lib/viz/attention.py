"""Attention maps as a grid of images on one colour scale.

Every chapter draws attention weights (query x key) for several modules, heads, clips
or stages side by side. Compared by eye, the panels must share one colour scale, or the
same colour means different weights in two panels; one colour bar then reads for all
of them. :func:`plot_attention_grid` draws such a grid: column labels as titles of the
top row, row labels beside the first column, axis labels, optional tick labels, no
legend.

A learned map is read against what its geometry alone gives: which keys each query may
read (a mask, windows that overlap, groups of unequal size) shapes an average even when
every key weighs the same. :func:`uniform_attention` makes the copy of a module that
gives exactly that baseline.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import Normalize

from ..nn.attention import Attention


def uniform_attention(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` whose every attention weighs its keys alike.

    Each :class:`~actseg_lib.nn.attention.Attention` inside the copy gets a zero query
    projection, so every score q k^T is 0 and the softmax spreads each query's weight
    evenly over the keys it may read (its mask, its window, its half of the frames).
    Recorded on any input, the copy's maps show the geometry alone: the baseline against
    which a trained module's maps tell learned structure apart. ``module`` is untouched.
    """
    uniform = copy.deepcopy(module)
    found = 0
    with torch.no_grad():
        for m in uniform.modules():
            if isinstance(m, Attention):
                m.q.weight.zero_()
                if m.q.bias is not None:
                    m.q.bias.zero_()
                found += 1
    if not found:
        raise ValueError(f"uniform_attention: {type(module).__name__} holds no Attention module")
    return uniform


def _as_map(m) -> np.ndarray:
    if hasattr(m, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        m = m.detach().cpu().numpy()
    m = np.asarray(m, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"an attention map is 2-D (queries x keys), got shape {m.shape}")
    return m


def _is_array(x) -> bool:
    return hasattr(x, "detach") or isinstance(x, np.ndarray)


def _as_grid(maps) -> list[list[np.ndarray]]:
    """maps: one 2-D map, a row of them, or rows of them (arrays [C, Q, K] / [R, C, Q, K]
    too) -> rows of 2-D arrays, all rows of the same length."""
    if _is_array(maps):
        array = maps.detach().cpu().numpy() if hasattr(maps, "detach") else maps
        if array.ndim not in (2, 3, 4):
            raise ValueError(f"maps: 2-D (one map), 3-D (one row) or 4-D (rows x columns), got shape {array.shape}")
        array = array.reshape((1,) * (4 - array.ndim) + array.shape)
        return [[_as_map(m) for m in row] for row in array]
    if not isinstance(maps, Sequence) or not len(maps):
        raise ValueError(f"maps: an array or a non-empty sequence of maps (or of rows of maps), got {type(maps)}")
    first = maps[0]
    one_row = _is_array(first) and np.ndim(first.detach().cpu() if hasattr(first, "detach") else first) == 2
    rows = [list(maps)] if one_row else [list(row) for row in maps]
    if len({len(row) for row in rows}) != 1:
        raise ValueError(f"maps: every row needs the same number of maps, got {[len(row) for row in rows]}")
    return [[_as_map(m) for m in row] for row in rows]


def plot_attention_grid(
    maps,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    xlabel: str = "key",
    ylabel: str = "query",
    xticklabels: Sequence | None = None,
    yticklabels: Sequence | None = None,
    tick_step: int = 1,
    tick_fontsize: float | None = None,
    vmin: float = 0.0,
    vmax: float | None = None,
    vmax_quantile: float | None = None,
    cmap: str = "magma",
    colorbar_label: str = "attention weight",
    panel_size: tuple[float, float] = (3.0, 2.8),
    aspect: str = "auto",
    axes=None,
    colorbar_axes=None,
    title: str | None = None,
):
    """Draw ``maps`` (rows x columns of 2-D arrays [queries, keys]; a single row, a
    mapping name -> map (one row titled by the names) or a single map is accepted) on one colour scale with one colour bar. Returns (figure,
    axes), axes as a 2-D array [rows, columns].

    The scale runs from ``vmin`` to ``vmax``; by default ``vmax`` is the largest weight of
    all maps, or, with ``vmax_quantile`` (e.g. 0.995), that quantile of all weights
    together (a few large weights then do not wash out the rest; larger ones saturate).
    ``xticklabels`` / ``yticklabels``: one label per key / query (every ``tick_step``-th
    is shown, in ``tick_fontsize``); the maps must then all have that many keys / queries. ``axes``: an array
    [rows, columns] of existing axes to draw into (for figures with other panels);
    ``colorbar_axes``: the axes the colour bar takes its room from (default: the grid's),
    e.g. every panel of such a figure, so that all of them keep one width.
    """
    if isinstance(maps, Mapping):  # name -> map: one row, titled by the names
        col_labels = list(maps) if col_labels is None else col_labels
        maps = list(maps.values())
    grid = _as_grid(maps)
    n_rows, n_cols = len(grid), len(grid[0])
    for name, labels, size in (("row_labels", row_labels, n_rows), ("col_labels", col_labels, n_cols)):
        if labels is not None and len(labels) != size:
            raise ValueError(f"{name}: {len(labels)} labels for {size} {name.split('_')[0]}s of maps")
    for name, labels, axis in (("xticklabels", xticklabels, 1), ("yticklabels", yticklabels, 0)):
        if labels is not None:
            sizes = {m.shape[axis] for row in grid for m in row}
            if sizes != {len(labels)}:
                raise ValueError(f"{name}: {len(labels)} labels, but the maps have {sorted(sizes)} along that axis")
    if tick_step < 1:
        raise ValueError(f"tick_step: a positive integer, got {tick_step}")
    values = np.concatenate([m.ravel() for row in grid for m in row])
    if vmax is None:
        vmax = float(np.quantile(values, vmax_quantile)) if vmax_quantile is not None else float(values.max())
    if not vmax > vmin:
        vmax = vmin + 1.0  # all maps constant at vmin: any non-empty range draws them
    norm = Normalize(vmin=vmin, vmax=vmax)  # one scale for every panel

    if axes is None:
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(panel_size[0] * n_cols + 1.0, panel_size[1] * n_rows),
            squeeze=False,
            sharex=False,
            sharey=False,
        )
    else:
        axes = np.asarray(axes, dtype=object).reshape(n_rows, n_cols)
        fig = axes[0, 0].figure
    image = None
    for r, row in enumerate(grid):
        for c, m in enumerate(row):
            ax = axes[r, c]
            image = ax.imshow(m, cmap=cmap, norm=norm, aspect=aspect, interpolation="nearest")
            if xticklabels is not None:
                ticks = range(0, m.shape[1], tick_step)
                ax.set_xticks(list(ticks), [str(xticklabels[i]) for i in ticks], fontsize=tick_fontsize)
            if yticklabels is not None and c == 0:
                ticks = range(0, m.shape[0], tick_step)
                ax.set_yticks(list(ticks), [str(yticklabels[i]) for i in ticks], fontsize=tick_fontsize)
            elif yticklabels is not None:
                ax.tick_params(labelleft=False)  # (not set_yticks([]): axes may share y)
            if r == 0 and col_labels is not None:
                ax.set_title(str(col_labels[c]))
            if r == n_rows - 1:
                ax.set_xlabel(xlabel)
            if c == 0:
                label = [str(row_labels[r])] if row_labels is not None else []
                ax.set_ylabel("\n".join(label + ([ylabel] if ylabel else [])))
    room = axes.ravel().tolist() if colorbar_axes is None else list(np.ravel(np.asarray(colorbar_axes, dtype=object)))
    fig.colorbar(image, ax=room, shrink=0.8, label=colorbar_label)
    if title:
        fig.suptitle(title)
    return fig, axes

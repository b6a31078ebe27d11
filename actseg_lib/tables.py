"""Tables the chapters print: a header, rows of formatted cells, and a caption.

A :class:`Table` displays itself in a notebook as Markdown (``_repr_markdown_``), so a
chapter ends a cell with the table, or calls ``display(table)``, and the book renders
it as a table. The cells are kept as the strings the reader sees, so a test can check
a table without parsing Markdown; ``data`` keeps the numbers behind them (for
assertions), and is never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALIGNMENTS = {"left": "---", "right": "---:", "center": ":---:"}


@dataclass(frozen=True)
class Table:
    """Columns, rows of cells (strings) and an optional caption printed above them.

    ``align``: one of "left", "right", "center" per column (default: all left).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    align: tuple[str, ...] | None = None
    data: Mapping[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        columns = tuple(str(c) for c in self.columns)
        rows = tuple(tuple(str(cell) for cell in row) for row in self.rows)
        if not columns:
            raise ValueError("a table needs at least one column")
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                raise ValueError(f"row {i} has {len(row)} cells for {len(columns)} columns {columns}: {row}")
        align = tuple(self.align) if self.align is not None else ("left",) * len(columns)
        if len(align) != len(columns) or any(a not in ALIGNMENTS for a in align):
            raise ValueError(f"align: one of {sorted(ALIGNMENTS)} per column ({len(columns)}), got {align}")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "align", align)

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, top to bottom."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns: {self.columns}")
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def row(self, label: str) -> dict[str, str]:
        """The row whose first cell is ``label``, as column -> cell."""
        for row in self.rows:
            if row[0] == label:
                return dict(zip(self.columns, row))
        raise KeyError(f"no row {label!r}; rows: {[row[0] for row in self.rows]}")

    def markdown(self) -> str:
        """The caption (if any), a blank line, and the table in Markdown's pipe syntax."""
        lines = [
            _markdown_row(self.columns),
            "|" + "|".join(ALIGNMENTS[a] for a in self.align) + "|",
            *(_markdown_row(row) for row in self.rows),
        ]
        table = "\n".join(lines)
        return f"{self.caption}\n\n{table}" if self.caption else table

    def _repr_markdown_(self) -> str:  # IPython's display hook
        return self.markdown()

    def __str__(self) -> str:
        return self.markdown()


def _markdown_row(cells: Sequence[str]) -> str:
    # a "|" inside a cell would end it early; newlines would end the row
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

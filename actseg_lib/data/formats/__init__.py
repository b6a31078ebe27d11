"""Readers and writers for the real datasets' on-disk formats.

Each format lives in its own module with two functions::

    write(samples, root, **options) -> None    # SynthAct (or any Sample) -> the format
    read(root, **options) -> list[Sample]      # the format -> Samples

so ``read(fmt, write(fmt, samples))`` gives the samples back. Readers validate what they
read and raise :class:`FormatError` naming the file, the line and what was expected.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ._errors import FormatError

FORMATS = {
    "mstcn": "MS-TCN features (Breakfast, 50Salads, GTEA)",
    "dest": "DeST skeleton action segmentation (PKU-MMD, MCFS, LARa)",
    "pku": "PKU-MMD raw skeletons and labels",
    "ntu": "NTU RGB+D .skeleton files",
    "penn": "Penn Action .mat labels",
    "openpack": "OpenPack session folders",
    "ts": "UEA/UCR .ts time-series classification",
}


def _module(fmt: str):
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{fmt}")


def read(fmt: str, root, **options):
    """Read a dataset stored in format ``fmt`` under ``root``."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{fmt} data: {root} does not exist")
    return _module(fmt).read(root, **options)


def write(fmt: str, samples, root, **options) -> Path:
    """Write ``samples`` in format ``fmt`` under ``root`` (created if missing)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _module(fmt).write(samples, root, **options)
    return root


__all__ = ["FORMATS", "FormatError", "read", "write"]

"""Checks every reader shares: files that exist (symlink loops included), UTF-8 text,
numeric ``.npy`` arrays loaded without pickle, finite values. Each failure is a
one-line :class:`FormatError` naming the file, the place in it and what was expected."""

from __future__ import annotations

import errno
from collections import Counter
from pathlib import Path

import numpy as np

from ._errors import FormatError

NPY_MAGIC = b"\x93NUMPY"
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: what a reader turns into numbers


def existing_file(path, expected: str) -> Path:
    """``path`` when it is a readable regular file (through any links); otherwise a
    FormatError saying whether it is missing, a symlink loop or something else."""
    path = Path(path)
    try:
        target = path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        raise FormatError(path, expected, got="a symlink loop") from None
    except OSError as error:
        got = "a symlink loop" if error.errno == errno.ELOOP else "no such file"
        if error.errno not in (errno.ELOOP, errno.ENOENT, errno.ENOTDIR):
            got = error.strerror or type(error).__name__
        raise FormatError(path, expected, got=got) from None
    if not target.is_file():
        raise FormatError(path, expected, got="a folder" if target.is_dir() else "not a regular file")
    return path


def read_text(path, expected: str) -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark is dropped)."""
    data = existing_file(path, expected).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        got = f"the byte 0x{data[error.start]:02x} at column {column}, which is not UTF-8"
        raise FormatError(path, f"UTF-8 text ({expected})", line=line, got=got) from None


def load_npy(path, expected: str) -> np.ndarray:
    """A numeric array from a ``.npy`` file, never unpickling anything: object arrays,
    other file types and truncated files are a FormatError."""
    path = existing_file(path, expected)
    with open(path, "rb") as file:
        head = file.read(len(NPY_MAGIC))
    if not head:
        raise FormatError(path, f"a .npy file holding {expected}", got="an empty file")
    if head != NPY_MAGIC:
        raise FormatError(path, f"a .npy file holding {expected}", got="a file without the .npy header")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        # numpy's own message suggests unpickling, which a reader must never do
        got = "an object array" if "bject" in str(error) else "a truncated or damaged .npy file"
        raise FormatError(path, f"a numeric .npy array holding {expected}", got=got) from None
    except (EOFError, OSError):
        raise FormatError(path, f"a .npy file holding {expected}", got="a truncated or damaged .npy file") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise FormatError(path, f"a numeric array holding {expected}", got=f"dtype {array.dtype}")
    return array


def check_finite(path, array: np.ndarray, expected: str, axes=("frame",), lines=None) -> np.ndarray:
    """``array`` when every value is finite; otherwise a FormatError at the first NaN or
    infinity, its place given by ``axes`` (one name an axis, trailing axes unnamed are
    numbered) and its line by ``lines`` (the line of each index along axis 0)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fc":
        return array
    bad = ~np.isfinite(array)
    if not bad.any():
        return array
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    names = tuple(axes) + tuple(f"axis {k}" for k in range(len(axes), len(index)))
    where = ", ".join(f"{name} {i}" for name, i in zip(names, index))
    line = None if lines is None or not index else lines[index[0]]
    raise FormatError(path, f"finite numbers ({expected})", line=line, got=f"{array[index]} at {where}")


def usual(values: dict):
    """The value most keys share (the first seen among equals): what a file's shape is
    checked against, so the odd file is the one named."""
    counts = Counter(values.values())
    best = max(counts.values())
    return next(value for value in values.values() if counts[value] == best)

"""Writing a file so that readers see either the old or the new version, never half of one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

# temporary files are ".<name>.<random>.tmp" beside the target (hidden, and named for it)
TEMPORARY_SUFFIX = ".tmp"


@contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file beside ``path`` for writing; on a clean exit flush it to disk
    and rename it over ``path`` (then make the rename durable). On an error, or a
    KeyboardInterrupt, the temporary file is removed and ``path`` is left as it was.

    >>> with atomic_write("results.json", "w", encoding="utf-8") as f:
    ...     f.write("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # some filesystems (and Windows) cannot fsync a folder
        pass


def remove_leftovers(folder) -> list[Path]:
    """Remove the temporary files that writes killed mid-way (SIGKILL, a power cut) left
    in ``folder``; they are never read, only take space. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    leftovers = [p for p in folder.glob(f".*.*{TEMPORARY_SUFFIX}") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers

"""The one error type of the format readers: where it went wrong and what was expected."""

from __future__ import annotations

from pathlib import Path


class FormatError(ValueError):
    """A file does not follow its format. The message names file, line and expectation."""

    def __init__(self, path, expected: str, line: int | None = None, got: str | None = None):
        where = f"{Path(path)}" + (f", line {line}" if line is not None else "")
        message = f"{where}: expected {expected}"
        if got is not None:
            message += f", got {got}"
        # one line, whatever the parts hold (a library's message, a quoted field)
        super().__init__(" ".join(message.splitlines()))
        self.path, self.line, self.expected = Path(path), line, expected


def sample_split(sample, allowed, fmt: str) -> str:
    """The split a writer files ``sample`` under (``meta["split"]``, default train)."""
    split = sample.meta.get("split", "train")
    if split not in allowed:
        raise ValueError(f"{fmt}: sample {sample.name!r} has split {split!r}; expected one of {tuple(allowed)}")
    return split

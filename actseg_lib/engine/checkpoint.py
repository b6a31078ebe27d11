"""Checkpoints: written atomically, loaded without unpickling arbitrary objects.

A checkpoint is a dict of tensors and plain values. ``save_checkpoint`` writes it to a
temporary file in the same folder, flushes it to disk and renames it over the target,
so a crash (or a kill) during the write leaves the previous checkpoint intact.
``load_checkpoint`` uses ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .atomic import atomic_write

CHECKPOINT_FORMAT = 1


def save_checkpoint(state: dict, path) -> Path:
    with atomic_write(path) as f:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, f)
    return Path(path)


def load_checkpoint(path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        # torch's own message runs to many lines; the unpickler's error it wraps says what failed
        inner = error.__context__ if "Weights only load failed" in str(error) and error.__context__ else error
        reason = " ".join(str(inner).split()).partition(". Please use")[0] or type(inner).__name__
        raise ValueError(
            f"checkpoint {path}: cannot be read as a weights-only torch checkpoint ({reason[:200]}); "
            "is it a best.pt or last.pt written by actseg?"
        ) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"checkpoint {path}: expected an actseg checkpoint (format {CHECKPOINT_FORMAT}), "
            f"got {type(state).__name__} with format {state.get('format') if isinstance(state, dict) else None}"
        )
    return state

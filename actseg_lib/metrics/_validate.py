"""Input checks shared by the metrics: every bad input fails loudly, naming what it got."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_numpy(x, name: str) -> np.ndarray:
    """Array view of ``x``; accepts NumPy arrays, lists and (CPU or GPU) torch tensors."""
    if hasattr(x, "detach"):  # a torch tensor, possibly on a GPU; torch itself stays unimported
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name}: could not be read as an array ({err})") from None


def label_kind(arr: np.ndarray) -> str:
    """'int' or 'str': the two kinds of frame label the metrics accept."""
    if arr.dtype.kind in "iu":
        return "int"
    if arr.dtype.kind in "US":
        return "str"
    return "other"


def frame_labels(x, name: str) -> np.ndarray:
    """One video's frame labels as a non-empty 1-D integer or string array."""
    arr = to_numpy(x, name)
    if arr.dtype == object and arr.ndim == 1 and all(isinstance(v, str) for v in arr):
        arr = arr.astype(str)
    if arr.ndim != 1:
        hint = " (per-class scores? take the argmax over the class axis first)" if arr.ndim == 2 else ""
        raise ValueError(f"{name}: expected a 1-D array of frame labels, got shape {arr.shape}{hint}")
    if arr.size == 0:
        raise ValueError(f"{name}: the video has no frames")
    if label_kind(arr) == "other":
        hint = " (probabilities or logits? take the argmax first)" if arr.dtype.kind == "f" else ""
        raise TypeError(f"{name}: expected integer or string labels, got dtype {arr.dtype}{hint}")
    return arr


def video_list(videos, name: str) -> list:
    """The per-video sequence, refusing the easy mistake of passing one flat array.

    A 2-D array or tensor ``[B, T]`` (a padded batch) is read as B videos of T frames.
    """
    if hasattr(videos, "detach"):
        videos = to_numpy(videos, name)
    if isinstance(videos, (str, bytes)) or not isinstance(videos, Sequence | np.ndarray):
        raise TypeError(f"{name}: expected a list of per-video label arrays, got {type(videos).__name__}")
    if isinstance(videos, np.ndarray) and videos.ndim == 1 and videos.dtype != object:
        raise TypeError(
            f"{name}: expected a list of per-video label arrays, got one flat array of "
            f"{videos.size} labels; wrap a single video as [labels]"
        )
    if len(videos) == 0:
        raise ValueError(f"{name}: the list of videos is empty")
    return list(videos)


def paired_videos(predictions, targets) -> list[tuple[np.ndarray, np.ndarray]]:
    """Validated (prediction, target) label arrays, one pair per video."""
    preds = video_list(predictions, "predictions")
    trues = video_list(targets, "targets")
    if len(preds) != len(trues):
        raise ValueError(f"predictions has {len(preds)} videos but targets has {len(trues)}")
    pairs = []
    for i, (p, t) in enumerate(zip(preds, trues)):
        p = frame_labels(p, f"predictions[{i}]")
        t = frame_labels(t, f"targets[{i}]")
        if len(p) != len(t):
            raise ValueError(f"video {i}: predictions has {len(p)} frames but targets has {len(t)}")
        if label_kind(p) != label_kind(t):
            raise TypeError(
                f"video {i}: predictions are {p.dtype} labels but targets are {t.dtype}; "
                "use one kind (integers or strings) for both"
            )
        pairs.append((p, t))
    return pairs


def matching_labels(labels, kind: str, name: str) -> np.ndarray:
    """A set of labels (background classes, say) of the same kind as the frame labels."""
    arr = to_numpy(list(labels), name)
    if arr.size and label_kind(arr) != kind:
        raise TypeError(
            f"{name}={list(labels)!r} holds {arr.dtype} values but the frame labels are "
            f"{kind} labels; give them in the same kind"
        )
    return arr

"""Inference-time refinement of frame-wise predictions.

:func:`asrf_smoothing` is ASRF's boundary-based refinement (Ishikawa et al., WACV 2021),
which InterAct applies to its last stage: a model that predicts, besides each frame's
class, the probability that an action starts at that frame can cut the video at its
confident boundary peaks and give every piece between two cuts one label, the one most
of its frames predict. Over-segmentation (short spurious segments inside an action)
disappears wherever no boundary was predicted.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

__all__ = ["asrf_smoothing", "boundary_peaks"]


def boundary_peaks(boundary_prob: np.ndarray, threshold: float = 0.5, min_distance: int = 1) -> np.ndarray:
    """Frames where a segment starts: local maxima of ``boundary_prob`` [T] at or above
    ``threshold``, at least ``min_distance`` frames apart (the higher peak wins), via
    :func:`scipy.signal.find_peaks`."""
    prob = np.asarray(boundary_prob, dtype=np.float64)
    if prob.ndim != 1:
        raise ValueError(f"boundary_prob: expected a [T] vector, got shape {prob.shape}")
    if min_distance < 1:
        raise ValueError(f"min_distance: expected an int >= 1, got {min_distance}")
    # pad with -inf so a peak at the first or last frame counts as a local maximum
    peaks, _ = find_peaks(np.pad(prob, 1, constant_values=-np.inf), height=threshold, distance=min_distance)
    return peaks - 1


def asrf_smoothing(
    frame_labels: np.ndarray, boundary_prob: np.ndarray, threshold: float = 0.5, min_distance: int = 1
) -> np.ndarray:
    """``frame_labels`` [T] (per-frame predictions) relabelled so that every stretch between
    two consecutive kept boundaries (:func:`boundary_peaks`; the video's start and end
    bound the first and the last stretch) carries one label: the most frequent prediction
    in it (ties: the smallest id)."""
    labels = np.asarray(frame_labels)
    if labels.ndim != 1 or len(labels) != len(boundary_prob):
        raise ValueError(
            f"frame_labels {labels.shape} and boundary_prob {np.shape(boundary_prob)}: expected two "
            f"[T] vectors of the same length"
        )
    if labels.size and labels.min() < 0:
        raise ValueError("frame_labels: expected class ids >= 0")
    starts = np.union1d([0], boundary_peaks(boundary_prob, threshold, min_distance))
    out = labels.copy()
    for start, end in zip(starts, [*starts[1:], len(labels)]):
        if end > start:
            out[start:end] = np.bincount(labels[start:end]).argmax()
    return out

"""The OpenPack operation-segmentation metric: macro F1 on one-second slots.

The OpenPack challenge (Yoshimura et al.) scores operation recognition at 1 Hz:

1. predictions are resampled to one slot per second, keeping the **last** prediction
   that falls in each second (the ground truth is resampled the same way);
2. every ground-truth slot takes the prediction of the same second; a second with no
   prediction takes the previous one (forward fill); predictions outside the
   ground-truth seconds are ignored (cropping);
3. slots whose truth is Null (id 8100) are dropped;
4. precision and recall per operation class (zero where undefined), F1 per class,
   macro average over the 10 operation classes, computed on **all sessions pooled**.

The score is a fraction in [0, 1], as the challenge and the SigFormer paper report it
(the segmentation metrics of :mod:`.segmentation` are percentages).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from ..common.openpack import OPENPACK_NULL_ID, OPENPACK_OPERATIONS
from ._validate import to_numpy


def _stream(unixtime_ms, ids, name: str, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = to_numpy(unixtime_ms, f"{name}_unixtime_ms")
    y = to_numpy(ids, f"{name}_ids")
    if t.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{name}: expected 1-D arrays of times and ids, got shapes {t.shape} and {y.shape}")
    if len(t) != len(y):
        raise ValueError(f"{name}: {len(t)} timestamps but {len(y)} ids")
    if len(t) == 0:
        raise ValueError(f"{name}: the session has no samples")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}_unixtime_ms: expected integer unix times in milliseconds, got {t.dtype}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}_ids: expected integer operation ids, got {y.dtype}")
    if np.any(np.diff(t) < 0):
        raise ValueError(
            f"{name}_unixtime_ms: times go backwards; pass sessions that overlap in time as lists of per-session arrays"
        )
    unknown = np.setdiff1d(y, known)
    if unknown.size:
        raise ValueError(
            f"{name}_ids holds {unknown[:5].tolist()}, which are not OpenPack operation ids "
            f"({known.tolist()}); class indices must be mapped to ids first"
        )
    return t.astype(np.int64), y


def resample_1hz(unixtime_ms: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One slot per second holding the last id seen in it; times floored to the second."""
    seconds = unixtime_ms // 1000
    last_in_second = np.flatnonzero(np.r_[seconds[1:] != seconds[:-1], True])
    return seconds[last_in_second] * 1000, ids[last_in_second]


def _aligned_slots(pred_t, pred_y, true_t, true_y, null_id):
    pred_slots, pred_ids = resample_1hz(pred_t, pred_y)
    true_slots, true_ids = resample_1hz(true_t, true_y)
    source = np.searchsorted(pred_slots, true_slots, side="right") - 1  # forward fill
    # a truth second before the first prediction has nothing to fill from: a miss
    aligned = np.where(source >= 0, pred_ids[np.maximum(source, 0)], null_id)
    keep = true_ids != null_id
    return true_ids[keep], aligned[keep]


def _sessions(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def openpack_macro_f1(
    pred_unixtime_ms,
    pred_ids,
    true_unixtime_ms,
    true_ids,
    classes=tuple(OPENPACK_OPERATIONS),
    null_id: int = OPENPACK_NULL_ID,
) -> float:
    """Macro F1 (a fraction) of OpenPack operation predictions on 1-second slots.

    Each argument is a 1-D array for one session, or for several sessions concatenated
    in time order, or a list of per-session arrays (for sessions that overlap in time).
    Ids are OpenPack operation ids (100..1000) or ``null_id``.
    """
    classes = np.asarray(classes)
    known = np.union1d(classes, [null_id])
    sessions = [_sessions(a) for a in (pred_unixtime_ms, pred_ids, true_unixtime_ms, true_ids)]
    if len({len(s) for s in sessions}) != 1:
        raise ValueError(
            "pred_unixtime_ms, pred_ids, true_unixtime_ms and true_ids must hold the same "
            f"number of sessions, got {[len(s) for s in sessions]}"
        )
    truths, preds = [], []
    for i, (pt, py, tt, ty) in enumerate(zip(*sessions)):
        tag = f"session {i}: " if len(sessions[0]) > 1 else ""
        pred_t, pred_y = _stream(pt, py, f"{tag}pred", known)
        true_t, true_y = _stream(tt, ty, f"{tag}true", known)
        t, p = _aligned_slots(pred_t, pred_y, true_t, true_y, null_id)
        truths.append(t)
        preds.append(p)
    truth, pred = np.concatenate(truths), np.concatenate(preds)
    if truth.size == 0:
        raise ValueError("every ground-truth second is Null: nothing to score")
    _, _, f1, _ = precision_recall_fscore_support(truth, pred, labels=classes, average="macro", zero_division=0)
    return float(f1)
